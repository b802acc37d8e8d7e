//! Layout of a batch report.

use super::document::{Block, Document, Table};
use super::layout::{exception, type_counts};
use crate::analysis::batch::{BatchReport, DumpRow};

/// Module versions shown in the terminal and Markdown (CSV has them all).
const SHOWN_MODULE_VERSIONS: usize = 15;

fn counts(types: &[crate::analysis::TypeCount]) -> String {
    type_counts(types.iter().map(|entry| (&entry.type_name, &entry.count)))
}

fn number(value: f64) -> String {
    if value.fract() == 0.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.1}")
    }
}

/// Lays out a batch report. Tables: `dumps` (default for CSV), `modules`, `failures`.
pub fn batch_document(report: &BatchReport) -> Document {
    let aggregate = &report.aggregate;
    let mut doc = Document::new(format!(
        "dumpleak batch: {} dumps processed, {} failed",
        aggregate.processed, aggregate.failed
    ));
    if let Some(top) = aggregate
        .modules
        .first()
        .filter(|row| row.ratio.unwrap_or(0.0) > 1.0)
    {
        doc.push(Block::Fields(vec![(
            "Strongest association".to_string(),
            format!(
                "{} {}: median {} handles in the {} dumps that load it vs {} in the {} that do not ({}×); dominated by {}",
                top.module,
                top.version.as_deref().unwrap_or("(no version)"),
                number(top.median_handles),
                top.dumps,
                top.median_without.map_or("?".to_string(), number),
                top.dumps_without,
                top.ratio.map_or("?".to_string(), |ratio| format!("{ratio:.1}")),
                counts(&top.dominant_types)
            ),
        )]));
    }

    doc.push(Block::Heading(
        "Module versions ranked by how much higher the handle counts are where they are loaded"
            .to_string(),
    ));
    let headers = [
        "Rank#",
        "Module",
        "Version",
        "Dumps#",
        "Median handles#",
        "Max#",
        "Without: dumps#",
        "Without: median#",
        "Ratio#",
        "Dominant types",
    ];
    let mut shown = Table::new("modules-shown", &headers);
    let mut all = Table::new("modules", &headers);
    for row in &aggregate.modules {
        let cells = vec![
            row.rank.to_string(),
            row.module.clone(),
            row.version.clone().unwrap_or_default(),
            row.dumps.to_string(),
            number(row.median_handles),
            row.max_handles.to_string(),
            row.dumps_without.to_string(),
            row.median_without.map(number).unwrap_or_default(),
            row.ratio
                .map(|ratio| format!("{ratio:.2}"))
                .unwrap_or_default(),
            counts(&row.dominant_types),
        ];
        if row.rank <= SHOWN_MODULE_VERSIONS {
            shown.row(cells.clone());
        }
        all.row(cells);
    }
    doc.push(Block::Table(shown));
    if aggregate.modules.len() > SHOWN_MODULE_VERSIONS {
        doc.push(Block::Text(format!(
            "… {} more module versions (--format csv --table modules lists all)",
            aggregate.modules.len() - SHOWN_MODULE_VERSIONS
        )));
    }
    doc.hidden.push(all);

    doc.push_list(
        "Known issues and crashes",
        aggregate
            .known_issues
            .iter()
            .map(|(label, dumps)| format!("{label}: {dumps} dumps"))
            .chain(
                aggregate
                    .crashes
                    .iter()
                    .map(|(reason, dumps)| format!("crash {reason}: {dumps} dumps")),
            )
            .collect(),
    );

    doc.push(Block::Heading("Dumps".to_string()));
    let mut dumps = Table::new(
        "dumps",
        &[
            "File",
            "Process",
            "Version",
            "PID#",
            "Captured",
            "Handles#",
            "Top types",
            "Trace",
            "Crash",
            "Blamed modules",
            "Known issues",
        ],
    );
    for row in &report.dumps {
        dumps.row(dump_cells(row));
    }
    doc.push(Block::Table(dumps));

    for row in report.dumps.iter().filter(|row| row.crash.is_some()) {
        if let Some(crash) = &row.crash {
            doc.push(Block::Text(format!(
                "{}: {} in {}",
                row.file,
                exception(&crash.reason, crash.code.as_deref()),
                crash.faulting_module.as_deref().unwrap_or("(no module)")
            )));
            doc.push(Block::Code(crash.frames.clone()));
        }
    }

    let mut failures = Table::new("failures", &["File", "Error"]);
    for failure in &report.failures {
        failures.row(vec![failure.file.clone(), failure.error.clone()]);
    }
    doc.push_list(
        format!(
            "Failed: {} inputs (the rest of the batch went on)",
            report.failures.len()
        ),
        report
            .failures
            .iter()
            .map(|failure| {
                // Load errors already name the file.
                if failure.error.starts_with(&failure.file) {
                    failure.error.clone()
                } else {
                    format!("{}: {}", failure.file, failure.error)
                }
            })
            .collect(),
    );
    doc.hidden.push(failures);
    doc
}

fn dump_cells(row: &DumpRow) -> Vec<String> {
    vec![
        row.file.clone(),
        row.process.clone().unwrap_or_default(),
        row.process_version.clone().unwrap_or_default(),
        row.pid.map(|pid| pid.to_string()).unwrap_or_default(),
        row.captured_at.clone().unwrap_or_default(),
        row.handle_count.to_string(),
        counts(&row.top_types),
        row.trace_records
            .map_or("no".to_string(), |records| format!("{records} records")),
        row.crash
            .as_ref()
            .map(|crash| {
                format!(
                    "{} in {}",
                    crash.reason,
                    crash.faulting_module.as_deref().unwrap_or("?")
                )
            })
            .unwrap_or_default(),
        row.blamed
            .iter()
            .map(|blamed| {
                format!(
                    "{} {} ({})",
                    blamed.module,
                    blamed.version.as_deref().unwrap_or(""),
                    blamed.handles
                )
            })
            .collect::<Vec<_>>()
            .join("; "),
        row.known_issues
            .iter()
            .map(|issue| issue.label.clone())
            .collect::<Vec<_>>()
            .join("; "),
    ]
}
