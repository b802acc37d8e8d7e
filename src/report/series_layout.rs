//! Layout of a series report: the warnings that change the conclusion first, the summary, then
//! each segment (one unless the process restarted) with its verdicts, retained stacks and
//! dumps.

use super::document::{Block, Chart, Document, Table, Tone};
use super::layout::{process_line, type_counts};
use crate::analysis::series::words::{class_cell, per_time, signed, verdict_words};
use crate::analysis::series::{
    Exhaustion, OrderUsed, SeriesReport, SeriesSegment, TypeTrend, EXHAUSTION_HORIZON_HOURS,
};
use crate::analysis::trend::{Class, Verdict};
use crate::time::duration;

/// Most per-dump count columns shown in the terminal and Markdown (CSV has them all).
const MAX_COUNT_COLUMNS: usize = 10;
/// Most types drawn in a chart.
const MAX_CHART_SERIES: usize = 12;

/// Lays out a series report. Tables for CSV: `types` (all counts), `retained`, `dumps`,
/// `modules`; with several segments each has a leading `Segment` column.
pub fn series_document(report: &SeriesReport) -> Document {
    let segments = &report.segments;
    if segments.iter().any(|segment| segment.dumps.is_empty()) || segments.is_empty() {
        // Not made by the pipeline, which needs two dumps of one process.
        let mut doc = Document::new("dumpleak series: no dumps");
        doc.push_notes(&report.warnings);
        return doc;
    }
    let dumps: usize = segments.iter().map(|segment| segment.dumps.len()).sum();
    let first = &segments[0].dumps[0].summary;
    let last_segment = &segments[segments.len() - 1];
    let last = &last_segment.dumps[last_segment.dumps.len() - 1].summary;
    let mut doc = Document::new(format!(
        "dumpleak series: {dumps} dumps of {}",
        first.process.as_deref().unwrap_or("(unknown process)")
    ));
    doc.push_alerts(&report.warnings);
    mark_verdicts(&mut doc, report);
    let order = match report.order {
        OrderUsed::Time => "by capture time",
        OrderUsed::Given => "in the order given",
        OrderUsed::Name => "in file-name order",
    };
    let mut fields = vec![
        ("Process".to_string(), process_line(last)),
        (
            "Dumps".to_string(),
            format!(
                "{}{dumps} dumps {order}{})",
                match (&first.captured_at, &last.captured_at) {
                    (Some(first), Some(last)) => format!("{first} → {last} ("),
                    _ => "(no capture times: ".to_string(),
                },
                match report.excluded.len() {
                    0 => String::new(),
                    1 => ", 1 input left out".to_string(),
                    n => format!(", {n} inputs left out"),
                }
            ),
        ),
    ];
    if segments.len() > 1 {
        fields.push((
            "Segments".to_string(),
            format!(
                "{}: the process restarted; each segment is analysed on its own",
                segments.len()
            ),
        ));
        doc.push(Block::Fields(fields));
    } else {
        fields.extend(segment_fields(&segments[0], report));
        doc.push(Block::Fields(fields));
    }
    for segment in segments {
        if segments.len() > 1 {
            doc.push(Block::Heading(segment_heading(segment, segments.len())));
            doc.push(Block::Fields(segment_fields(segment, report)));
        }
        push_segment(&mut doc, segment, report);
    }
    doc.push_list(
        "Left out",
        report
            .excluded
            .iter()
            .map(|input| format!("{}: {}", input.path, input.reason))
            .collect(),
    );
    // The warnings that change the conclusion are alerts at the top; the rest are notes.
    let notes: Vec<_> = report
        .warnings
        .iter()
        .filter(|warning| !warning.shown_first())
        .cloned()
        .collect();
    doc.push_notes(&notes);
    hidden_tables(&mut doc, report);
    doc
}

/// Highlights for the terminal: the verdict words as the prose puts them (`— leak`, `): leak`,
/// `#2  plateau`), and the blamed modules with their versions.
fn mark_verdicts(doc: &mut Document, report: &SeriesReport) {
    for class in [Class::Leak, Class::Plateau, Class::Decline, Class::Churn] {
        let word = class.to_string();
        let Some(tone) = Tone::of_class(&word) else {
            continue;
        };
        doc.mark(format!("— {word}"), tone);
        doc.mark(format!("): {word}"), tone);
        for segment in &report.segments {
            for stack in &segment.retained {
                if stack.verdict.class == Some(class) {
                    doc.mark(format!("#{}  {word}", stack.id), tone);
                }
            }
        }
    }
    for segment in &report.segments {
        for stack in &segment.retained {
            if let (Some(module), Some(version)) = (&stack.blamed_module, &stack.blamed_version) {
                doc.mark(format!("{module} {version}"), Tone::Blame);
            }
        }
    }
}

/// `Segment 2 of 2: pid 5120 started 2026-03-02T10:00:00Z, 1 dump`.
fn segment_heading(segment: &SeriesSegment, of: usize) -> String {
    let n = segment.dumps.len();
    format!(
        "Segment {} of {of}: pid {} started {}, {n} dump{}",
        segment.index + 1,
        segment.pid.map_or("?".to_string(), |pid| pid.to_string()),
        segment.process_started_at.as_deref().unwrap_or("?"),
        if n == 1 { "" } else { "s" }
    )
}

/// ` (2026-03-02 16:00 UTC)`: the capture time of dump `index` of the segment, if known.
fn when(segment: &SeriesSegment, index: usize) -> String {
    segment
        .dumps
        .get(index)
        .and_then(|dump| dump.summary.captured_at.as_deref())
        .and_then(|time| Some(format!(" ({} {} UTC)", time.get(..10)?, time.get(11..16)?)))
        .unwrap_or_default()
}

/// The verdict of the segment in words ([`verdict_words`]).
fn words(verdict: &Verdict, segment: &SeriesSegment, report: &SeriesReport) -> String {
    verdict_words(
        verdict,
        segment.dumps.len(),
        report.rules.min_dumps,
        &|index| when(segment, index),
    )
}

/// `+3/cycle, +18/hour`: the verdict's rates.
fn rates(verdict: &Verdict) -> String {
    crate::analysis::series::words::rates(verdict.slope_per_cycle, verdict.slope_per_hour)
}

/// Handles and Exhaustion of a segment.
fn segment_fields(segment: &SeriesSegment, report: &SeriesReport) -> Vec<(String, String)> {
    let total = &segment.total;
    let counts = &total.counts;
    vec![
        (
            "Handles".to_string(),
            format!(
                "{} → {} ({}): {}",
                counts[0],
                counts[counts.len() - 1],
                rates(&total.verdict),
                match total.verdict.class {
                    // The rates are already there.
                    Some(class @ (Class::Leak | Class::Decline)) => class.to_string(),
                    _ => words(&total.verdict, segment, report),
                }
            ),
        ),
        (
            "Exhaustion".to_string(),
            match &segment.exhaustion {
                Some(exhaustion) => exhaustion_text(exhaustion),
                None => match total.verdict.class {
                    Some(class) => format!("no estimate: the total is {class}, not a leak"),
                    None => "no estimate: too few dumps for a verdict".to_string(),
                },
            },
        ),
    ]
}

/// `16777216 handles reached at … (1h after the last dump, at +18/hour)`, `… not within 10
/// years at this rate (+7/hour)` or, without capture times, `… in ~5592400 cycles at +3/cycle`;
/// `50 handles already exceeded: 61 in the last dump, …` when the last dump is past the limit.
fn exhaustion_text(exhaustion: &Exhaustion) -> String {
    let limit = exhaustion.limit;
    let current = exhaustion.current as u64;
    if current >= limit {
        let rate = match exhaustion.growth_per_hour {
            Some(per_hour) => per_time(per_hour),
            None => format!("{}/cycle", signed(exhaustion.growth_per_cycle)),
        };
        let already = if current > limit {
            "exceeded"
        } else {
            "reached"
        };
        return format!(
            "{limit} handles already {already}: {current} in the last dump, still growing at \
             {rate}"
        );
    }
    match (
        &exhaustion.reached_at,
        exhaustion.hours_left,
        exhaustion.growth_per_hour,
    ) {
        (Some(at), Some(hours), Some(per_hour)) => format!(
            "{limit} handles reached at {at} ({} after the last dump, at {})",
            duration((hours * 3600.0).round() as u64),
            per_time(per_hour)
        ),
        (None, Some(_), Some(per_hour)) => format!(
            "{limit} handles: not within {} years at this rate ({})",
            EXHAUSTION_HORIZON_HOURS / (365.25 * 24.0),
            per_time(per_hour)
        ),
        _ => format!(
            "{limit} handles in ~{:.0} cycles at {}/cycle (no capture times, so no date)",
            exhaustion.cycles_left.ceil(),
            signed(exhaustion.growth_per_cycle)
        ),
    }
}

/// Whether a verdict is worth a line of its own: anything but stable, and without a verdict
/// only when the count changed.
fn notable(verdict: &Verdict) -> bool {
    match verdict.class {
        Some(class) => class != Class::Stable,
        None => verdict.change != 0.0,
    }
}

/// Headlines, the type table with its reasons and chart, the retained stacks and the dumps of
/// one segment.
fn push_segment(doc: &mut Document, segment: &SeriesSegment, report: &SeriesReport) {
    let growing: Vec<String> = segment
        .modules
        .iter()
        .filter(|module| notable(&module.verdict))
        .map(|module| module.headline.clone())
        .collect();
    doc.push_list("Retained growth by module", growing);
    push_types(doc, segment, report);
    push_retained(doc, segment);
    let mut dump_table = Table::new(
        "dumps-shown",
        &["Dump#", "File@", "Captured", "Handles#", "Trace records#"],
    );
    for row in dump_rows(segment) {
        dump_table.row(row);
    }
    doc.push(Block::Heading(match report.order {
        OrderUsed::Time => "Dumps in time order".to_string(),
        OrderUsed::Given => "Dumps in the order given".to_string(),
        OrderUsed::Name => "Dumps in file-name order".to_string(),
    }));
    doc.push(Block::Table(dump_table));
}

/// Which dumps get a count column: all, or the first and last few.
fn shown_columns(n: usize) -> Vec<usize> {
    if n <= MAX_COUNT_COLUMNS {
        (0..n).collect()
    } else {
        (0..MAX_COUNT_COLUMNS / 2)
            .chain(n - MAX_COUNT_COLUMNS / 2..n)
            .collect()
    }
}

fn push_types(doc: &mut Document, segment: &SeriesSegment, report: &SeriesReport) {
    doc.push(Block::Heading(
        "Handles per type across the dumps".to_string(),
    ));
    let shown = shown_columns(segment.dumps.len());
    let per_hour = segment.total.verdict.slope_per_hour.is_some();
    let mut headers: Vec<String> = vec!["Type".to_string()];
    for (position, index) in shown.iter().enumerate() {
        if position > 0 && shown[position - 1] + 1 != *index {
            headers.push("…?".to_string());
        }
        // A narrow terminal may leave the counts out: the sparkline shows their course.
        headers.push(format!("#{index}#?"));
    }
    headers.extend(["Trend".to_string(), "Per cycle#".to_string()]);
    if per_hour {
        headers.push("Per hour#".to_string());
    }
    headers.push("Class".to_string());
    let header_refs: Vec<&str> = headers.iter().map(String::as_str).collect();
    let mut table = Table::new("types-shown", &header_refs);
    for trend in std::iter::once(&segment.total).chain(&segment.types) {
        let mut cells = vec![trend.type_name.clone()];
        for (position, index) in shown.iter().enumerate() {
            if position > 0 && shown[position - 1] + 1 != *index {
                cells.push("…".to_string());
            }
            cells.push(trend.counts[*index].to_string());
        }
        cells.push(trend.sparkline.clone());
        cells.push(format!("{:+.2}", trend.verdict.slope_per_cycle));
        if per_hour {
            cells.push(
                trend
                    .verdict
                    .slope_per_hour
                    .map_or(String::new(), |rate| format!("{rate:+.2}")),
            );
        }
        let class = class_cell(&trend.verdict);
        let tone = Tone::of_class(&class);
        cells.push(class);
        let last = cells.len() - 1;
        table.row(cells);
        if let Some(tone) = tone {
            table.mark(last, tone);
        }
    }
    doc.push(Block::Table(table));
    let changing: Vec<&TypeTrend> = segment
        .types
        .iter()
        .filter(|trend| notable(&trend.verdict))
        .collect();
    if !changing.is_empty() {
        doc.push(Block::Bullets(
            changing
                .iter()
                .map(|trend| {
                    format!(
                        "{} — {}: {}",
                        trend.type_name,
                        class_cell(&trend.verdict),
                        trend.verdict.reason
                    )
                })
                .collect(),
        ));
        push_chart(doc, segment, &changing, report);
    }
}

fn push_chart(
    doc: &mut Document,
    segment: &SeriesSegment,
    changing: &[&TypeTrend],
    report: &SeriesReport,
) {
    let series = changing
        .iter()
        .take(MAX_CHART_SERIES)
        .map(|trend| {
            (
                format!("{} ({})", trend.type_name, class_cell(&trend.verdict)),
                trend.counts.iter().map(|&count| count as f64).collect(),
            )
        })
        .collect();
    let timed = report.order == OrderUsed::Time;
    doc.push(Block::Chart(Chart {
        title: "Handles per type (types that change)".to_string(),
        x_labels: super::layout::numbered_time_labels(segment.dumps.iter().map(|dump| {
            (
                dump.index,
                dump.summary.captured_at.as_deref().filter(|_| timed),
            )
        })),
        axes: (
            if timed {
                "dump (capture time, UTC)".to_string()
            } else {
                "dump".to_string()
            },
            "handles".to_string(),
        ),
        series,
    }));
}

fn push_retained(doc: &mut Document, segment: &SeriesSegment) {
    let n = segment.retained.len();
    doc.push(Block::Heading(format!(
        "Retained handles by allocation stack: {n} stack{}",
        if n == 1 { "" } else { "s" }
    )));
    if segment.retained.is_empty() {
        doc.push(Block::Text(
            "no handle opened after the first dump stayed open to the last".to_string(),
        ));
    }
    for stack in &segment.retained {
        let blamed = match (&stack.blamed_module, &stack.blamed_version) {
            (Some(module), Some(version)) => format!("{module} {version}"),
            (Some(module), None) => module.clone(),
            (None, _) if stack.frames.is_empty() => "no trace record".to_string(),
            (None, _) => "no module outside the system modules".to_string(),
        };
        doc.push_stack(
            format!(
                "#{}  {}, {:+.2}/cycle ({})  blamed: {blamed}",
                stack.id,
                class_cell(&stack.verdict),
                stack.verdict.slope_per_cycle,
                type_counts(&stack.types)
            ),
            format!("retained per dump: {}", joined(&stack.retained_per_dump)),
            &stack.frames,
        );
    }
}

fn joined(values: &[usize]) -> String {
    values
        .iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join(" ")
}

fn dump_rows(segment: &SeriesSegment) -> Vec<Vec<String>> {
    segment
        .dumps
        .iter()
        .map(|dump| {
            vec![
                dump.index.to_string(),
                dump.summary.path.clone(),
                dump.summary.captured_at.clone().unwrap_or_default(),
                dump.summary
                    .handle_count
                    .map_or(String::new(), |count| count.to_string()),
                dump.summary
                    .trace_records
                    .map_or(String::new(), |records| records.to_string()),
            ]
        })
        .collect()
}

fn optional(value: Option<f64>, digits: usize) -> String {
    value.map_or(String::new(), |value| format!("{value:.digits$}"))
}

/// The CSV tables, over every segment (a leading `Segment` column when there are several).
fn hidden_tables(doc: &mut Document, report: &SeriesReport) {
    let several = report.segments.len() > 1;
    let longest = report
        .segments
        .iter()
        .map(|segment| segment.dumps.len())
        .max()
        .unwrap_or(0);
    let table = |id: &'static str, headers: Vec<String>| {
        let headers: Vec<String> = several
            .then(|| "Segment#".to_string())
            .into_iter()
            .chain(headers)
            .collect();
        Table::new(id, &headers.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let own = |headers: &[&str]| headers.iter().map(|h| h.to_string()).collect::<Vec<_>>();
    let mut types = table(
        "types",
        std::iter::once("Type".to_string())
            .chain((0..longest).map(|index| format!("#{index}#")))
            .chain(own(&[
                "Per cycle#",
                "Per hour#",
                "p-value#",
                "Change point#",
                "Class",
            ]))
            .collect(),
    );
    let mut retained = table(
        "retained",
        own(&[
            "Stack#",
            "Per cycle#",
            "Class",
            "Types",
            "Blamed module",
            "Version",
            "Retained per dump",
            "Frames",
        ]),
    );
    let mut modules = table(
        "modules",
        own(&[
            "Module",
            "Version",
            "Per cycle#",
            "Per hour#",
            "Class",
            "Stacks#",
            "Retained in#",
            "Headline",
        ]),
    );
    let mut dumps = table(
        "dumps",
        own(&["Dump#", "File", "Captured", "Handles#", "Trace records#"]),
    );
    for segment in &report.segments {
        let lead: Vec<String> = several
            .then(|| (segment.index + 1).to_string())
            .into_iter()
            .collect();
        let row = |cells: Vec<String>| lead.iter().cloned().chain(cells).collect::<Vec<_>>();
        for trend in std::iter::once(&segment.total).chain(&segment.types) {
            let verdict = &trend.verdict;
            let mut cells = vec![trend.type_name.clone()];
            cells.extend(trend.counts.iter().map(usize::to_string));
            cells.resize(1 + longest, String::new());
            cells.extend([
                format!("{:.4}", verdict.slope_per_cycle),
                optional(verdict.slope_per_hour, 4),
                optional(verdict.p_value, 4),
                verdict
                    .change_point
                    .map_or(String::new(), |point| point.index.to_string()),
                class_cell(verdict),
            ]);
            types.row(row(cells));
        }
        for stack in &segment.retained {
            retained.row(row(vec![
                stack.id.to_string(),
                format!("{:.2}", stack.verdict.slope_per_cycle),
                class_cell(&stack.verdict),
                type_counts(&stack.types),
                stack.blamed_module.clone().unwrap_or_default(),
                stack.blamed_version.clone().unwrap_or_default(),
                joined(&stack.retained_per_dump),
                stack.frames.join(" <- "),
            ]));
        }
        for module in &segment.modules {
            modules.row(row(vec![
                module.module.clone().unwrap_or_default(),
                module.version.clone().unwrap_or_default(),
                format!("{:.2}", module.verdict.slope_per_cycle),
                optional(module.verdict.slope_per_hour, 2),
                class_cell(&module.verdict),
                module.stacks.to_string(),
                module.retained_in.to_string(),
                module.headline.clone(),
            ]));
        }
        for cells in dump_rows(segment) {
            dumps.row(row(cells));
        }
    }
    doc.hidden.extend([types, retained, dumps, modules]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::trend::Rules;

    #[test]
    fn a_report_without_dumps_is_laid_out_without_panicking() {
        let report = SeriesReport {
            schema_version: 2,
            order: OrderUsed::Time,
            segments: Vec::new(),
            excluded: Vec::new(),
            rules: Rules::default(),
            limit: 1,
            warnings: Vec::new(),
        };
        assert_eq!(series_document(&report).title, "dumpleak series: no dumps");
    }
}
