//! Layout of a `handles` report: a table of the handles, then each handle's details (object
//! information, allocation stack, history) as `!handle <h> f` and `!htrace <h>` print them.

use super::document::{Block, Document, Table, Tone};
use super::layout::process_line;
use crate::analysis::handles::{HandleRow, HandlesReport};

/// Handle rows shown in terminal and Markdown tables (CSV, JSON and HTML keep all).
const SHOWN_ROWS: usize = 100;
/// Handles whose details are written out in terminal and Markdown output.
const DETAILED_HANDLES: usize = 50;

/// Lays out a `handles` report. Tables: `handles` (default for CSV), `history`.
pub fn handles_document(report: &HandlesReport) -> Document {
    let mut doc = Document::new(format!("dumpleak handles: {}", report.dump.path));
    doc.push_alerts(&report.warnings);
    let shown = if report.filters.is_empty() {
        format!("{} handles", report.handles.len())
    } else {
        format!(
            "{} of {} handles ({})",
            report.handles.len(),
            report.total,
            report.filters.join(", ")
        )
    };
    doc.push(Block::Fields(vec![
        ("Process".to_string(), process_line(&report.dump)),
        ("Handles".to_string(), shown),
    ]));
    if report.handles.is_empty() {
        // An empty table says less than a sentence; CSV still gets the header row.
        doc.hidden.push(handle_table(report));
        doc.push(Block::Text(if report.total > 0 {
            "No handle matches the filters.".to_string()
        } else {
            "No handles to show.".to_string()
        }));
    } else {
        doc.push(Block::Table(handle_table(report).show_at_most(SHOWN_ROWS)));
    }
    let detailed: Vec<&HandleRow> = report
        .handles
        .iter()
        .filter(|row| {
            !row.stack.is_empty() || !row.history.is_empty() || !row.object_info.is_empty()
        })
        .collect();
    for row in detailed.iter().take(DETAILED_HANDLES) {
        push_details(&mut doc, row);
    }
    if detailed.len() > DETAILED_HANDLES {
        doc.push(Block::Text(format!(
            "… details of {} more handles not shown (narrow with --type/--name/--handle/--module, or --format json/html lists all)",
            detailed.len() - DETAILED_HANDLES
        )));
    }
    doc.hidden.push(history_table(report));
    doc.push_notes(&report.warnings);
    doc
}

fn handle_table(report: &HandlesReport) -> Table {
    let mut table = Table::new(
        "handles",
        &[
            "Handle",
            "Type",
            "Name",
            "Access",
            "Rights",
            "Handles#",
            "Pointers#",
            "Blamed module",
            "Version",
        ],
    );
    table.highlight(7, Tone::Blame);
    table.highlight(8, Tone::Blame);
    for row in &report.handles {
        table.row(vec![
            row.handle.clone(),
            type_label(row),
            row.name.clone().unwrap_or_default(),
            row.granted_access.clone().unwrap_or_default(),
            row.access_rights.join(" | "),
            row.handle_count.map(|n| n.to_string()).unwrap_or_default(),
            row.pointer_count.map(|n| n.to_string()).unwrap_or_default(),
            row.blamed_module.clone().unwrap_or_default(),
            row.blamed_version.clone().unwrap_or_default(),
        ]);
    }
    table
}

fn type_label(row: &HandleRow) -> String {
    row.type_name
        .clone()
        .unwrap_or_else(|| crate::snapshot::NO_TYPE.to_string())
}

fn history_table(report: &HandlesReport) -> Table {
    let mut table = Table::new(
        "history",
        &[
            "Handle",
            "Record#",
            "Operation",
            "Thread",
            "Thread name",
            "Stack",
        ],
    );
    for row in &report.handles {
        for (index, entry) in row.history.iter().enumerate() {
            table.row(vec![
                row.handle.clone(),
                (index + 1).to_string(),
                entry.operation.clone(),
                entry.thread_id.clone(),
                entry.thread_name.clone().unwrap_or_default(),
                entry.stack.join(" / "),
            ]);
        }
    }
    table
}

fn push_details(doc: &mut Document, row: &HandleRow) {
    doc.push(Block::Heading(format!(
        "Handle {}: {}{}",
        row.handle,
        type_label(row),
        row.name
            .as_deref()
            .map_or(String::new(), |name| format!(" {name}"))
    )));
    let mut fields = Vec::new();
    if let Some(attributes) = &row.attributes {
        let flags = if row.attribute_flags.is_empty() {
            String::new()
        } else {
            format!(" ({})", row.attribute_flags.join(" | "))
        };
        fields.push(("Attributes".to_string(), format!("{attributes}{flags}")));
    }
    if let Some(access) = &row.granted_access {
        fields.push((
            "GrantedAccess".to_string(),
            format!("{access} ({})", row.access_rights.join(" | ")),
        ));
    }
    for info in &row.object_info {
        fields.push((format!("Object info, {}", info.kind), info.details.clone()));
    }
    if let Some(module) = &row.blamed_module {
        if let Some(version) = &row.blamed_version {
            doc.mark(format!("{module} {version}"), Tone::Blame);
        }
        fields.push((
            "Blamed".to_string(),
            format!(
                "{module} {}",
                row.blamed_version.as_deref().unwrap_or("(no version)")
            ),
        ));
    }
    if !fields.is_empty() {
        doc.push(Block::Fields(fields));
    }
    if row.history.is_empty() && !row.stack.is_empty() {
        doc.push_stack(
            "Allocation stack (newest OPEN record)".to_string(),
            format!("Handle = {} - OPEN", row.handle),
            &row.stack,
        );
    }
    for (index, entry) in row.history.iter().enumerate() {
        let thread = match &entry.thread_name {
            Some(name) => format!("Thread ID = {} \"{name}\"", entry.thread_id),
            None => format!("Thread ID = {}", entry.thread_id),
        };
        doc.push_stack(
            format!("Record {} of {}", index + 1, row.history.len()),
            format!(
                "Handle = {} - {} - {thread}",
                row.handle,
                entry.operation.to_uppercase()
            ),
            &entry.stack,
        );
    }
}
