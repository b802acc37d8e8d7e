//! Layout of a `handles` report: a table of the handles, then each handle's details (object
//! information, allocation stack, history) as `!handle <h> f` and `!htrace <h>` print them.

use super::document::{Block, Document, Rows, Table, Tone};
use super::layout::process_line;
use crate::analysis::handles::{HandleRow, HandlesReport};
use crate::analysis::model::hex;

/// Handle rows shown in terminal and Markdown tables (CSV and JSON keep all, HTML
/// [`super::document::MAX_PAGE_ROWS`]).
const SHOWN_ROWS: usize = 100;
/// Handles whose details are written out in terminal and Markdown output.
const DETAILED_HANDLES: usize = 50;

/// Lays out a `handles` report. Tables: `handles` (default for CSV), `history`.
pub fn handles_document(report: &HandlesReport) -> Document {
    handles_document_for(report, Rows::All)
}

/// [`handles_document`] holding the rows a format shows (see [`Rows`]): the terminal and
/// Markdown the first 100 handles, HTML 10,000, CSV the rows of its one table.
pub fn handles_document_for(report: &HandlesReport, rows: Rows) -> Document {
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
        doc.hidden.push(handle_table(report, &rows.for_hidden()));
        doc.push(Block::Text(if report.total > 0 {
            "No handle matches the filters.".to_string()
        } else {
            "No handles to show.".to_string()
        }));
    } else {
        doc.push(Block::Table(handle_table(report, &rows)));
    }
    let mut detailed = report.handles.iter().filter(|row| {
        !row.stack.is_empty() || !row.history.is_empty() || !row.object_info.is_empty()
    });
    for row in detailed.by_ref().take(DETAILED_HANDLES) {
        push_details(&mut doc, row);
    }
    let more = detailed.count();
    if more > 0 {
        doc.push(Block::Text(format!(
            "… details of {more} more handles not shown (narrow with --type/--name/--handle/--module, or --format json lists all)"
        )));
    }
    doc.hidden.push(history_table(report, &rows.for_hidden()));
    doc.push_notes(&report.warnings);
    doc
}

fn handle_table(report: &HandlesReport, rows: &Rows) -> Table {
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
    )
    .show_at_most(SHOWN_ROWS)
    .holding(rows);
    table.highlight(7, Tone::Blame);
    table.highlight(8, Tone::Blame);
    let text = |text: &Option<std::sync::Arc<str>>| text.as_deref().unwrap_or_default().to_string();
    for row in &report.handles {
        table.row(vec![
            hex(row.handle),
            type_label(row).to_string(),
            text(&row.name),
            row.granted_access
                .map(|mask| format!("{mask:#x}"))
                .unwrap_or_default(),
            row.access_rights.join(" | "),
            row.handle_count.map(|n| n.to_string()).unwrap_or_default(),
            row.pointer_count.map(|n| n.to_string()).unwrap_or_default(),
            text(&row.blamed_module),
            text(&row.blamed_version),
        ]);
    }
    table
}

fn type_label(row: &HandleRow) -> &str {
    row.type_name.as_deref().unwrap_or(crate::snapshot::NO_TYPE)
}

fn history_table(report: &HandlesReport, rows: &Rows) -> Table {
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
    )
    .holding(rows);
    for row in &report.handles {
        for (index, entry) in row.history.iter().enumerate() {
            table.row(vec![
                hex(row.handle),
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
        hex(row.handle),
        type_label(row),
        row.name
            .as_deref()
            .map_or(String::new(), |name| format!(" {name}"))
    )));
    let mut fields = Vec::new();
    if let Some(attributes) = row.attributes {
        let flags = if row.attribute_flags.is_empty() {
            String::new()
        } else {
            format!(" ({})", row.attribute_flags.join(" | "))
        };
        fields.push(("Attributes".to_string(), format!("{attributes:#x}{flags}")));
    }
    if let Some(access) = row.granted_access {
        fields.push((
            "GrantedAccess".to_string(),
            format!("{access:#x} ({})", row.access_rights.join(" | ")),
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
            format!("Handle = {} - OPEN", hex(row.handle)),
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
                hex(row.handle),
                entry.operation.to_uppercase()
            ),
            &entry.stack,
        );
    }
}
