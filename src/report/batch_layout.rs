//! Layout of a batch report.

use super::document::{Block, Document, StripChart, Table, Tone};
use super::layout::{exception, plural, type_counts};
use crate::analysis::batch::{
    dumps_text, p_text, strongest_association, Aggregate, BatchReport, DumpRow, ModuleVersionRow,
    SkippedInput, TopCheck, VersionComparison, IDENTICAL_TO, MIN_GROUP_DUMPS,
};

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

/// Lays out a batch report. Tables: `dumps` (default for CSV), `modules`, `versions`,
/// `failures`, `skipped`.
pub fn batch_document(report: &BatchReport) -> Document {
    let aggregate = &report.aggregate;
    let mut doc = Document::new(format!(
        "dumpleak batch: {} processed, {} failed, {} skipped",
        dumps_text(aggregate.processed),
        aggregate.failed,
        aggregate.skipped
    ));
    if !aggregate.notes.is_empty() {
        doc.push(Block::Alert(aggregate.notes.clone()));
    }
    let headlines: Vec<&ModuleVersionRow> = if aggregate.programs.is_empty() {
        strongest_association(&aggregate.modules)
            .into_iter()
            .collect()
    } else {
        aggregate
            .programs
            .iter()
            .filter_map(|program| strongest_association(&program.modules))
            .collect()
    };
    for top in headlines {
        let version = top.version.as_deref().unwrap_or("(no version)");
        doc.mark(format!("{} {version}", top.module), Tone::Blame);
    }
    let fields = if aggregate.programs.is_empty() {
        association_fields(&aggregate.modules, aggregate.top_check.as_ref())
    } else {
        Some(vec![(
            "Strongest association".to_string(),
            format!(
                "none over all dumps: they are of {} programs, each ranked on its own below",
                aggregate.programs.len()
            ),
        )])
    };
    if let Some(fields) = fields {
        doc.push(Block::Fields(fields));
    }
    push_versions(&mut doc, &aggregate.version_comparisons, "versions");
    push_ranking(&mut doc, aggregate);
    for program in &aggregate.programs {
        doc.push(Block::Heading(format!(
            "{}: {} ({} with handle data)",
            program.program,
            dumps_text(program.dumps),
            program.with_handle_data
        )));
        if let Some(fields) = association_fields(&program.modules, None) {
            doc.push(Block::Fields(fields));
        }
        doc.push(Block::Bullets(
            program
                .version_comparisons
                .iter()
                .map(|comparison| comparison.verdict.clone())
                .collect(),
        ));
    }
    doc.push_list(
        "Known issues and crashes",
        aggregate
            .known_issues
            .iter()
            .map(|(label, dumps)| format!("{label}: {}", plural(*dumps, "dump")))
            .chain(
                aggregate
                    .crashes
                    .iter()
                    .map(|(reason, dumps)| format!("crash {reason}: {}", plural(*dumps, "dump"))),
            )
            .collect(),
    );
    push_dumps(&mut doc, report);
    push_failures(&mut doc, report);
    doc.push_list(
        crate::report::document::NOTES_HEADING,
        aggregate.caveats.clone(),
    );
    doc
}

/// `Strongest association` and what the next candidates show without it.
fn association_fields(
    modules: &[ModuleVersionRow],
    check: Option<&TopCheck>,
) -> Option<Vec<(String, String)>> {
    let Some(top) = strongest_association(modules) else {
        // Higher counts where some module version is loaded, or too few dumps to compare at
        // all, but none with enough dumps on both sides.
        return modules
            .iter()
            .any(|row| {
                row.ratio.unwrap_or(0.0) > 1.0
                    || row.dumps + row.dumps_without < 2 * MIN_GROUP_DUMPS
            })
            .then(|| {
                vec![(
                    "Strongest association".to_string(),
                    format!(
                        "too few dumps to associate a module with high handle counts (at least {MIN_GROUP_DUMPS} dumps that load a module version and {MIN_GROUP_DUMPS} that do not)"
                    ),
                )]
            });
    };
    let above = if top.rank > 1 {
        format!(
            " (rank {}: those ranked above it are loaded in, or missing from, fewer than {MIN_GROUP_DUMPS} dumps)",
            top.rank
        )
    } else {
        String::new()
    };
    let mut fields = vec![(
        "Strongest association".to_string(),
        format!(
            "{} {}: median {} handles in the {} dumps that load it vs {} in the {} that do not ({}×); dominated by {}{above}",
            top.module,
            top.version.as_deref().unwrap_or("(no version)"),
            number(top.median_handles),
            top.dumps,
            top.median_without.map_or("?".to_string(), number),
            top.dumps_without,
            top.ratio.map_or("?".to_string(), |ratio| format!("{ratio:.1}")),
            counts(&top.dominant_types)
        ) + &blame_text(top),
    )];
    if let Some(check) = check.filter(|check| !check.candidates.is_empty()) {
        let candidates = check
            .candidates
            .iter()
            .map(|candidate| {
                format!(
                    "{} {}: {}{}",
                    candidate.module,
                    candidate.version.as_deref().unwrap_or("(no version)"),
                    candidate.verdict,
                    match (candidate.ratio, candidate.p_value) {
                        (Some(ratio), Some(p)) => format!(" ({ratio:.1}×, {})", p_text(p)),
                        _ => String::new(),
                    }
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
        fields.push((
            format!("Without {}", check.module),
            format!("next candidates: {candidates}"),
        ));
    }
    Some(fields)
}

/// What the trace records say of the headline module and of those loaded with it.
fn blame_text(top: &ModuleVersionRow) -> String {
    let mut text = String::new();
    if top.blamed_handles > 0 {
        text += &format!(
            "; the trace records of {} of them blame {} on it",
            top.blamed_dumps,
            plural(top.blamed_handles, "open handle")
        );
    }
    if !top.loaded_with.is_empty() {
        let others = top
            .loaded_with
            .iter()
            .map(|other| {
                format!(
                    "{} {}",
                    other.module,
                    other.version.as_deref().unwrap_or("")
                )
            })
            .map(|name| name.trim_end().to_string())
            .collect::<Vec<_>>()
            .join(", ");
        let blamed_others = top
            .loaded_with
            .iter()
            .map(|other| other.blamed_handles)
            .max();
        let verdict = match blamed_others {
            _ if top.blamed_handles == 0 && blamed_others == Some(0) => {
                "and no trace record blames any of them"
            }
            Some(most) if top.blamed_handles > most => "the trace records blame this one most",
            _ => "nor do the trace records",
        };
        text += &format!(
            "; loaded in (nearly) the same dumps as {others}: their presence cannot tell them apart, {verdict}"
        );
    }
    text
}

/// Version comparisons drawn (HTML) for at most this many modules.
const CHARTED_MODULES: usize = 3;

fn push_versions(doc: &mut Document, comparisons: &[VersionComparison], id: &'static str) {
    if comparisons.is_empty() {
        return;
    }
    let groups: Vec<(String, Vec<f64>)> = comparisons
        .iter()
        .take(CHARTED_MODULES)
        .flat_map(|comparison| {
            comparison.versions.iter().map(|version| {
                (
                    format!(
                        "{} {}",
                        crate::snapshot::module_stem(&comparison.module),
                        version.version.as_deref().unwrap_or("?")
                    ),
                    version.counts.iter().map(|count| *count as f64).collect(),
                )
            })
        })
        .collect();
    doc.push(Block::Strip(StripChart {
        title: "Handle counts per dump, by module version (bar: median)".to_string(),
        axes: (
            "Module version".to_string(),
            "Handles in the dump".to_string(),
        ),
        groups,
    }));
    doc.push_list(
        "Versions of one module compared (Mann–Whitney U, two-sided)",
        comparisons
            .iter()
            .map(|comparison| comparison.verdict.clone())
            .collect(),
    );
    let mut table = Table::new(
        id,
        &[
            "Module",
            "Version",
            "Dumps#",
            "Median#",
            "Q1#",
            "Q3#",
            "Max#",
            "Stands out",
        ],
    );
    for comparison in comparisons {
        for version in &comparison.versions {
            let label = version.version.clone().unwrap_or_default();
            let stands_out = comparison.high_version.as_deref() == Some(label.as_str());
            table.row(vec![
                comparison.module.clone(),
                label,
                version.dumps.to_string(),
                number(version.median_handles),
                number(version.q1),
                number(version.q3),
                version.max.to_string(),
                if stands_out { "yes" } else { "" }.to_string(),
            ]);
        }
    }
    doc.hidden.push(table);
}

fn push_ranking(doc: &mut Document, aggregate: &Aggregate) {
    let modules = &aggregate.modules;
    doc.push(Block::Heading(format!(
        "Module versions ranked by how much higher the handle counts are where they are loaded ({})",
        if aggregate.system_modules_included {
            "system modules included"
        } else {
            "system modules left out unless --include-system-modules"
        }
    )));
    let headers = [
        "Rank#",
        "Module",
        "Version",
        "Dumps#",
        "Median handles#",
        "Max#~",
        "Without: dumps#~",
        "Without: median#",
        "Ratio#",
        "Blamed#~",
        "Dominant types~",
        "Loaded with",
    ];
    let mut shown = Table::new("modules-shown", &headers);
    let mut all = Table::new("modules", &headers);
    for row in modules {
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
            row.blamed_handles.to_string(),
            counts(&row.dominant_types),
            row.loaded_with
                .iter()
                .map(|other| {
                    format!(
                        "{} {} ({} of {}{})",
                        other.module,
                        other.version.as_deref().unwrap_or(""),
                        other.together,
                        other.dumps,
                        if other.blamed_handles > 0 {
                            format!(", {} blamed", other.blamed_handles)
                        } else {
                            String::new()
                        }
                    )
                })
                .collect::<Vec<_>>()
                .join("; "),
        ];
        if row.rank <= SHOWN_MODULE_VERSIONS {
            shown.row(cells.clone());
        }
        all.row(cells);
    }
    if modules.is_empty() {
        // An empty table says less than a sentence; CSV still gets the header row.
        doc.push(Block::Text(no_ranking(aggregate)));
    } else {
        doc.push(Block::Table(shown));
    }
    if modules.len() > SHOWN_MODULE_VERSIONS {
        doc.push(Block::Text(format!(
            "… {} more module versions (--format csv --table modules lists all)",
            modules.len() - SHOWN_MODULE_VERSIONS
        )));
    }
    doc.hidden.push(all);
}

/// Why the ranking is empty.
fn no_ranking(aggregate: &Aggregate) -> String {
    if aggregate.processed == aggregate.without_handle_data {
        "No module version is ranked: no dump has handle data.".to_string()
    } else if aggregate.system_modules_included {
        "No module version is ranked: the dumps with handle data list no modules.".to_string()
    } else {
        "No module version is ranked: the dumps with handle data list no modules besides system modules (--include-system-modules ranks those).".to_string()
    }
}

fn push_dumps(doc: &mut Document, report: &BatchReport) {
    doc.push(Block::Heading("Dumps".to_string()));
    let mut dumps = Table::new(
        "dumps",
        &[
            "File@",
            "Process",
            "Version",
            "PID#~",
            "Captured~",
            "Handles#",
            "Top types~",
            "Trace",
            "Crash~",
            "Blamed modules",
            "Known issues",
        ],
    );
    dumps.highlight(9, Tone::Blame);
    for row in &report.dumps {
        dumps.row(dump_cells(row));
    }
    doc.push(Block::Table(dumps));
    for row in &report.dumps {
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
}

fn push_failures(doc: &mut Document, report: &BatchReport) {
    let mut failures = Table::new("failures", &["File@", "Error"]);
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
                // Shards of earlier versions name the file in the error too.
                if failure.error.starts_with(&format!("{}: ", failure.file)) {
                    failure.error.clone()
                } else {
                    format!("{}: {}", failure.file, failure.error)
                }
            })
            .collect(),
    );
    doc.hidden.push(failures);
    if !report.failures.is_empty() {
        doc.push(Block::Text(format!(
            "dumpleak reads {}",
            crate::snapshot::text::SUPPORTED_FORMATS
        )));
    }
    let mut skipped = Table::new("skipped", &["File@", "Reason"]);
    for input in &report.skipped {
        skipped.row(vec![input.file.clone(), input.reason.clone()]);
    }
    doc.push_list(
        skipped_heading(&report.skipped),
        report
            .skipped
            .iter()
            .map(|input| format!("{}: {}", input.file, input.reason))
            .collect(),
    );
    doc.hidden.push(skipped);
}

/// `Skipped: 2 files that are not dumps, logs or listings`, and how many are copies.
fn skipped_heading(skipped: &[SkippedInput]) -> String {
    let copies = skipped
        .iter()
        .filter(|input| input.reason.starts_with(IDENTICAL_TO))
        .count();
    let others = skipped.len() - copies;
    let others_text = if others == 1 {
        "1 file that is not a dump, log or listing".to_string()
    } else {
        format!("{others} files that are not dumps, logs or listings")
    };
    let copies_text = if copies == 1 {
        "1 file identical to another input".to_string()
    } else {
        format!("{copies} files identical to other inputs")
    };
    match (others, copies) {
        (_, 0) => format!("Skipped: {others_text}"),
        (0, _) => format!("Skipped: {copies_text}"),
        _ => format!("Skipped: {others_text}; {copies_text}"),
    }
}

fn dump_cells(row: &DumpRow) -> Vec<String> {
    vec![
        row.file.clone(),
        row.process.clone().unwrap_or_default(),
        row.process_version.clone().unwrap_or_default(),
        row.pid.map(|pid| pid.to_string()).unwrap_or_default(),
        row.captured_at.clone().unwrap_or_default(),
        row.handle_count
            .map_or("n/a".to_string(), |count| count.to_string()),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::batch::LoadedTogether;

    fn row(blamed: usize, folded: &[(&str, usize)]) -> ModuleVersionRow {
        ModuleVersionRow {
            rank: 1,
            module: "Leaky.dll".to_string(),
            version: Some("2.0".to_string()),
            dumps: 6,
            median_handles: 900.0,
            max_handles: 950,
            dumps_without: 6,
            median_without: Some(100.0),
            ratio: Some(9.0),
            dominant_types: Vec::new(),
            blamed_handles: blamed,
            blamed_dumps: usize::from(blamed > 0) * 2,
            loaded_with: folded
                .iter()
                .map(|(module, blamed)| LoadedTogether {
                    module: module.to_string(),
                    version: None,
                    together: 6,
                    dumps: 6,
                    blamed_handles: *blamed,
                })
                .collect(),
        }
    }

    #[test]
    fn the_headline_says_what_the_traces_tell_of_modules_loaded_together() {
        assert_eq!(blame_text(&row(0, &[])), "");
        assert_eq!(
            blame_text(&row(80, &[])),
            "; the trace records of 2 of them blame 80 open handles on it"
        );
        assert_eq!(
            blame_text(&row(0, &[("LeakyUi.dll", 0)])),
            "; loaded in (nearly) the same dumps as LeakyUi.dll: their presence cannot tell them \
             apart, and no trace record blames any of them"
        );
        assert_eq!(
            blame_text(&row(80, &[("LeakyUi.dll", 3)])),
            "; the trace records of 2 of them blame 80 open handles on it; loaded in (nearly) the \
             same dumps as LeakyUi.dll: their presence cannot tell them apart, the trace records \
             blame this one most"
        );
        assert!(blame_text(&row(5, &[("LeakyUi.dll", 5)])).ends_with("nor do the trace records"));
    }
}
