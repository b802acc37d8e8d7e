//! Layout of a diff report.

use super::document::{abbreviated, cell, Block, Document, Rows, Table, Tone};
use super::layout::{plural, process_line, type_counts};
use crate::analysis::diff::{DiffReport, DumpSummary, HandleChange};
use crate::analysis::model::hex;
use crate::time::duration;

/// Handle values listed per stack or duplicate group in prose.
const LISTED_VALUES: usize = 16;
/// Rows of the per-handle table shown in terminal and Markdown output.
const SHOWN_HANDLE_ROWS: usize = 100;

/// Lays out a diff report. Tables: `types`, `stacks`, `modules`, `handles` (new and closed).
pub fn diff_document(report: &DiffReport) -> Document {
    diff_document_for(report, Rows::All)
}

/// [`diff_document`] holding the rows and stacks a format shows (see [`Rows`]): the terminal
/// and Markdown show the first 100 rows of the per-handle table and the first 1,000 stacks,
/// HTML 10,000 rows and 1,000 stacks, CSV the rows of its one table.
pub fn diff_document_for(report: &DiffReport, rows: Rows) -> Document {
    let mut doc = Document::new(format!(
        "dumpleak diff: {} -> {}",
        report.before.path, report.after.path
    ));
    doc.holding_stacks(&rows);
    doc.push_alerts(&report.warnings);
    for row in report.modules.iter().filter(|row| row.blamed > 0) {
        doc.mark(
            blamed_text(Some(&row.name), row.version.as_deref()),
            Tone::Blame,
        );
    }
    doc.push(Block::Fields(vec![
        ("Process".to_string(), process_line(&report.after)),
        ("Before".to_string(), dump_line(&report.before)),
        ("After".to_string(), dump_line(&report.after)),
        ("Growth".to_string(), growth_line(report)),
    ]));
    let blamed: Vec<String> = report
        .modules
        .iter()
        .filter(|row| row.blamed > 0)
        .map(|row| {
            format!(
                "{} {}: {} of {} ({}) in {} of {}",
                row.name,
                row.version.as_deref().unwrap_or("(no version)"),
                row.blamed,
                plural(report.new_handles.len(), "new handle"),
                type_counts(&row.blamed_types),
                row.blamed_stacks,
                plural(report.stacks.len(), "stack"),
            )
        })
        .collect();
    doc.push_list("Blamed modules", blamed);

    doc.push(Block::Heading("Handles by type".to_string()));
    let mut types = Table::new("types", &["Type", "Before#", "After#", "Delta#"]).holding(&rows);
    for row in &report.by_type {
        types.row(vec![
            row.type_name.clone(),
            row.before.to_string(),
            row.after.to_string(),
            signed(row.delta),
        ]);
    }
    doc.push(Block::Table(types));

    let stacked: usize = report.stacks.iter().map(|stack| stack.count).sum();
    doc.push(Block::Heading(format!(
        "Outstanding allocation stacks: {stacked} of {} in {}",
        plural(report.new_handles.len(), "new handle"),
        plural(report.stacks.len(), "stack")
    )));
    if report.stacks.is_empty() {
        doc.push(Block::Text(if report.new_handles.is_empty() {
            "no new handles".to_string()
        } else {
            "no allocation stacks for the new handles (see notes)".to_string()
        }));
    }
    let mut stacks = Table::new(
        "stacks",
        &[
            "Stack#",
            "Handles#",
            "Types",
            "Blamed module",
            "Version",
            "Frames",
        ],
    )
    .holding(&rows.for_hidden());
    stacks.highlight(3, Tone::Blame);
    stacks.highlight(4, Tone::Blame);
    for stack in &report.stacks {
        let types = type_counts(stack.types.iter());
        doc.push_stack(
            format!(
                "#{}  +{} ({types})  blamed: {}",
                stack.id,
                plural(stack.count, "handle"),
                if stack.frames.is_empty() {
                    "no frames recorded".to_string()
                } else {
                    blamed_text(
                        stack.blamed_module.as_deref(),
                        stack.blamed_version.as_deref(),
                    )
                },
            ),
            format!("handles {}", listed_values(&stack.handles)),
            &stack.frames,
        );
        stacks.row(vec![
            stack.id.to_string(),
            stack.count.to_string(),
            types,
            cell(stack.blamed_module.as_deref().unwrap_or_default()),
            cell(stack.blamed_version.as_deref().unwrap_or_default()),
            cell(&stack.frames.join(" <- ")),
        ]);
    }
    doc.end_stacks();

    if !report.modules.is_empty() {
        doc.push(Block::Heading("Modules in outstanding stacks".to_string()));
        let mut modules = Table::new(
            "modules",
            &[
                "Module",
                "Version",
                "Blamed#",
                "In stacks#",
                "Stacks#",
                "Symbols",
                "Path@~",
                "Timestamp~",
                "PDB~",
            ],
        )
        .holding(&rows);
        for row in &report.modules {
            modules.row(vec![
                if row.system {
                    format!("{} (system)", row.name)
                } else {
                    row.name.clone()
                },
                row.version.clone().unwrap_or_default(),
                row.blamed.to_string(),
                row.inclusive.to_string(),
                row.stacks.to_string(),
                row.symbols.to_string(),
                row.path.clone().unwrap_or_default(),
                row.timestamp.clone().unwrap_or_default(),
                row.pdb.clone().unwrap_or_default(),
            ]);
            if row.blamed > 0 {
                modules.mark(0, Tone::Blame);
                modules.mark(1, Tone::Blame);
            }
        }
        doc.push(Block::Table(modules));
    }
    // The stack blocks above show the same content; the table form is for CSV only.
    doc.hidden.push(stacks);

    doc.push_list(
        "Suspects",
        report
            .suspects
            .iter()
            .map(|row| row.verdict.clone())
            .collect(),
    );

    doc.push_list(
        "Duplicated handles (several handles to one object)",
        report
            .duplicates
            .iter()
            .map(|group| {
                format!(
                    "{} {}: {} handles, {} new ({})",
                    cell(&group.type_name),
                    cell(&group.name),
                    group.handles.len(),
                    group.new,
                    abbreviated(&group.handles, LISTED_VALUES)
                )
            })
            .collect(),
    );

    doc.push(Block::Heading(format!(
        "New handles: {}, closed handles: {}",
        report.new_handles.len(),
        report.closed_handles.len()
    )));
    let mut handles = Table::new(
        "handles",
        &[
            "Change",
            "Handle",
            "Type",
            "Name",
            "Same object as",
            "Stack",
            "Blamed module",
            "Version",
            "Trace",
        ],
    )
    .show_at_most(SHOWN_HANDLE_ROWS)
    .holding(&rows);
    handles.highlight(6, Tone::Blame);
    handles.highlight(7, Tone::Blame);
    for (change, list) in [
        ("new", &report.new_handles),
        ("closed", &report.closed_handles),
    ] {
        for handle in list {
            handles.row(handle_row(change, handle));
        }
    }
    doc.push(Block::Table(handles));

    doc.push_notes(&report.warnings);
    doc
}

fn handle_row(change: &str, handle: &HandleChange) -> Vec<String> {
    vec![
        change.to_string(),
        hex(handle.handle),
        if handle.type_inferred {
            format!("{} (inferred)", cell(&handle.type_name))
        } else {
            cell(&handle.type_name)
        },
        cell(handle.name.as_deref().unwrap_or_default()),
        handle.same_object_as.map(hex).unwrap_or_default(),
        handle
            .stack_id
            .map(|id| format!("#{id}"))
            .unwrap_or_default(),
        cell(handle.blamed_module.as_deref().unwrap_or_default()),
        cell(handle.blamed_version.as_deref().unwrap_or_default()),
        handle.trace.unwrap_or_default().to_string(),
    ]
}

/// The first [`LISTED_VALUES`] handle values in hex and the number of the others, as
/// [`abbreviated`] lists them.
fn listed_values(values: &[u64]) -> String {
    let listed: Vec<String> = values.iter().take(LISTED_VALUES).map(|v| hex(*v)).collect();
    match values.len() - listed.len() {
        0 => listed.join(" "),
        more => format!("{} … (+{more} more)", listed.join(" ")),
    }
}

fn blamed_text(module: Option<&str>, version: Option<&str>) -> String {
    match (module, version) {
        (Some(module), Some(version)) => format!("{module} {version}"),
        (Some(module), None) => format!("{module} (no version)"),
        (None, _) => "no module outside the system modules".to_string(),
    }
}

fn signed(value: i64) -> String {
    if value > 0 {
        format!("+{value}")
    } else {
        value.to_string()
    }
}

fn dump_line(dump: &DumpSummary) -> String {
    let trace = match dump.trace_records {
        Some(records) => plural(records, "trace record"),
        None => "no handle trace".to_string(),
    };
    format!(
        "{}  {}  {}, {trace}",
        dump.path,
        dump.captured_at.as_deref().unwrap_or("(no capture time)"),
        dump.handle_count
            .map_or("no count of handles".to_string(), |count| plural(
                count, "handle"
            ))
    )
}

fn growth_line(report: &DiffReport) -> String {
    let duplicates = report.new_handles.len() - report.new_objects;
    let mut line = if duplicates > 0 {
        format!(
            "{} handles ({} new: {} to new objects, {} more handles to objects already open; {} closed)",
            signed(report.total_delta),
            report.new_handles.len(),
            report.new_objects,
            duplicates,
            report.closed_handles.len()
        )
    } else {
        format!(
            "{} handles ({} new, {} closed)",
            signed(report.total_delta),
            report.new_handles.len(),
            report.closed_handles.len()
        )
    };
    if let Some(seconds) = report.elapsed_seconds.filter(|seconds| *seconds > 0) {
        line.push_str(&format!(" in {}", duration(seconds as u64)));
    }
    line
}
