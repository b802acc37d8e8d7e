//! Layout of a series report.

use super::document::{Block, Chart, Document, Table};
use super::layout::{process_line, type_counts};
use crate::analysis::series::{SeriesReport, TrendClass, TypeTrend};
use crate::time::duration;

/// Most per-dump count columns shown in the terminal and Markdown (CSV has them all).
const MAX_COUNT_COLUMNS: usize = 10;
/// Most types drawn in the chart.
const MAX_CHART_SERIES: usize = 12;

/// Lays out a series report. Tables: `types` (all counts), `retained`, `dumps`, `modules`.
pub fn series_document(report: &SeriesReport) -> Document {
    let dumps = &report.dumps;
    let first = &dumps[0].summary;
    let last = &dumps[dumps.len() - 1].summary;
    let mut doc = Document::new(format!(
        "dumpleak series: {} dumps of {}",
        dumps.len(),
        first.process.as_deref().unwrap_or("(unknown process)")
    ));
    doc.push_alerts(&report.warnings);
    let mut fields = vec![
        ("Process".to_string(), process_line(last)),
        (
            "Dumps".to_string(),
            format!(
                "{} → {} ({} dumps{})",
                first.captured_at.as_deref().unwrap_or("?"),
                last.captured_at.as_deref().unwrap_or("?"),
                dumps.len(),
                if report.excluded.is_empty() {
                    String::new()
                } else {
                    format!(", {} inputs left out", report.excluded.len())
                }
            ),
        ),
        (
            "Handles".to_string(),
            format!(
                "{} → {} ({:+.1}/cycle, {})",
                report.total.counts[0],
                report.total.counts[report.total.counts.len() - 1],
                report.total.growth_per_cycle,
                report.total.class
            ),
        ),
    ];
    fields.push((
        "Exhaustion".to_string(),
        match &report.exhaustion {
            Some(exhaustion) => format!(
                "{} handles reached at {} ({} after the last dump, at {:+.1} handles/hour)",
                exhaustion.limit,
                exhaustion.reached_at,
                duration((exhaustion.hours_left * 3600.0).min(u64::MAX as f64 / 2.0) as u64),
                exhaustion.growth_per_hour
            ),
            None => format!(
                "the total does not grow: {} handles are not reached",
                report.limit
            ),
        },
    ));
    doc.push(Block::Fields(fields));

    let growing: Vec<String> = report
        .modules
        .iter()
        .filter(|module| module.growth_per_cycle > 0.0)
        .map(|module| module.headline.clone())
        .collect();
    doc.push_list("Retained growth by module", growing);

    doc.push(Block::Heading(
        "Handles per type across the dumps".to_string(),
    ));
    let n = dumps.len();
    let shown: Vec<usize> = if n <= MAX_COUNT_COLUMNS {
        (0..n).collect()
    } else {
        (0..MAX_COUNT_COLUMNS / 2)
            .chain(n - MAX_COUNT_COLUMNS / 2..n)
            .collect()
    };
    let mut headers: Vec<String> = vec!["Type".to_string()];
    for (position, index) in shown.iter().enumerate() {
        if position > 0 && shown[position - 1] + 1 != *index {
            headers.push("…".to_string());
        }
        headers.push(format!("#{index}#"));
    }
    headers.extend([
        "Trend".to_string(),
        "Growth/cycle#".to_string(),
        "Class".to_string(),
    ]);
    let header_refs: Vec<&str> = headers.iter().map(String::as_str).collect();
    let mut table = Table::new("types-shown", &header_refs);
    let row = |trend: &TypeTrend| {
        let mut cells = vec![trend.type_name.clone()];
        for (position, index) in shown.iter().enumerate() {
            if position > 0 && shown[position - 1] + 1 != *index {
                cells.push("…".to_string());
            }
            cells.push(trend.counts[*index].to_string());
        }
        cells.push(trend.sparkline.clone());
        cells.push(format!("{:+.2}", trend.growth_per_cycle));
        cells.push(trend.class.to_string());
        cells
    };
    table.row(row(&report.total));
    for trend in &report.types {
        table.row(row(trend));
    }
    doc.push(Block::Table(table));
    let notable: Vec<String> = report
        .types
        .iter()
        .filter(|trend| trend.class != TrendClass::Stable)
        .map(|trend| format!("{} — {}: {}", trend.type_name, trend.class, trend.reason))
        .collect();
    if !notable.is_empty() {
        doc.push(Block::Bullets(notable));
    }

    let charted: Vec<(String, Vec<f64>)> = report
        .types
        .iter()
        .filter(|trend| trend.class != TrendClass::Stable)
        .take(MAX_CHART_SERIES)
        .map(|trend| {
            (
                format!("{} ({})", trend.type_name, trend.class),
                trend.counts.iter().map(|&count| count as f64).collect(),
            )
        })
        .collect();
    if !charted.is_empty() {
        doc.push(Block::Chart(Chart {
            title: "Handles per type (types that change)".to_string(),
            x_labels: super::layout::time_labels(
                &dumps
                    .iter()
                    .map(|dump| dump.summary.captured_at.as_deref())
                    .collect::<Vec<_>>(),
            ),
            axes: (
                "dump (capture time, UTC)".to_string(),
                "handles".to_string(),
            ),
            series: charted,
        }));
    }

    doc.push(Block::Heading(format!(
        "Retained handles by allocation stack: {} stacks",
        report.retained.len()
    )));
    if report.retained.is_empty() {
        doc.push(Block::Text(
            "no handle opened after the first dump stayed open to the last".to_string(),
        ));
    }
    let mut retained = Table::new(
        "retained",
        &[
            "Stack#",
            "Growth/cycle#",
            "Types",
            "Blamed module",
            "Version",
            "Retained per dump",
            "Frames",
        ],
    );
    for stack in &report.retained {
        let types = type_counts(&stack.types);
        let blamed = match (&stack.blamed_module, &stack.blamed_version) {
            (Some(module), Some(version)) => format!("{module} {version}"),
            (Some(module), None) => module.clone(),
            (None, _) if stack.frames.is_empty() => "no trace record".to_string(),
            (None, _) => "no module outside the system modules".to_string(),
        };
        let per_dump = stack
            .retained_per_dump
            .iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join(" ");
        doc.push_stack(
            format!(
                "#{}  {:+.2}/cycle ({types})  blamed: {blamed}",
                stack.id, stack.growth_per_cycle
            ),
            format!("retained per dump: {per_dump}"),
            &stack.frames,
        );
        retained.row(vec![
            stack.id.to_string(),
            format!("{:.2}", stack.growth_per_cycle),
            types,
            stack.blamed_module.clone().unwrap_or_default(),
            stack.blamed_version.clone().unwrap_or_default(),
            per_dump,
            stack.frames.join(" <- "),
        ]);
    }
    doc.hidden.push(retained);

    let mut all_counts = Table::new(
        "types",
        &std::iter::once("Type".to_string())
            .chain((0..n).map(|index| format!("#{index}#")))
            .chain([
                "Growth/cycle#".to_string(),
                "Fit#".to_string(),
                "Class".to_string(),
            ])
            .collect::<Vec<_>>()
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    for trend in std::iter::once(&report.total).chain(&report.types) {
        all_counts.row(
            std::iter::once(trend.type_name.clone())
                .chain(trend.counts.iter().map(usize::to_string))
                .chain([
                    format!("{:.4}", trend.growth_per_cycle),
                    format!("{:.4}", trend.fit),
                    trend.class.to_string(),
                ])
                .collect(),
        );
    }
    doc.hidden.push(all_counts);
    let mut dump_table = Table::new(
        "dumps",
        &["Dump#", "File", "Captured", "Handles#", "Trace records#"],
    );
    for dump in dumps {
        dump_table.row(vec![
            dump.index.to_string(),
            dump.summary.path.clone(),
            dump.summary.captured_at.clone().unwrap_or_default(),
            dump.summary.handle_count.to_string(),
            dump.summary
                .trace_records
                .map_or(String::new(), |records| records.to_string()),
        ]);
    }
    doc.push(Block::Heading("Dumps in time order".to_string()));
    doc.push(Block::Table(dump_table));
    let mut modules = Table::new(
        "modules",
        &[
            "Module",
            "Version",
            "Growth/cycle#",
            "Stacks#",
            "Retained in#",
            "Headline",
        ],
    );
    for module in &report.modules {
        modules.row(vec![
            module.module.clone().unwrap_or_default(),
            module.version.clone().unwrap_or_default(),
            format!("{:.2}", module.growth_per_cycle),
            module.stacks.to_string(),
            module.retained_in.to_string(),
            module.headline.clone(),
        ]);
    }
    doc.hidden.push(modules);

    doc.push_list(
        "Left out",
        report
            .excluded
            .iter()
            .map(|input| format!("{}: {}", input.path, input.reason))
            .collect(),
    );
    doc.push_notes(&report.warnings);
    doc
}
