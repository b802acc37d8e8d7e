//! Layout of a `show` report.

use super::document::{Block, Document, Table};
use super::layout::{exception, process_line};
use crate::analysis::show::ShowReport;

/// Lays out a `show` report; `all_modules` lists system modules too. Tables: `types`,
/// `modules`.
pub fn show_document(report: &ShowReport, all_modules: bool) -> Document {
    let dump = &report.dump;
    let mut doc = Document::new(format!("dumpleak show: {}", dump.path));
    doc.push_alerts(&report.warnings);
    let mut fields = vec![
        ("Process".to_string(), process_line(dump)),
        (
            "Image".to_string(),
            report.process_path.clone().unwrap_or_default(),
        ),
        (
            "Captured".to_string(),
            dump.captured_at
                .clone()
                .unwrap_or_else(|| "(unknown)".to_string()),
        ),
        (
            "Dump flags".to_string(),
            report
                .dump_flags
                .clone()
                .unwrap_or_else(|| "(not a dump)".to_string()),
        ),
        (
            "Handles".to_string(),
            match (dump.handle_count, &report.dump_flags) {
                (Some(count), _) => format!("{count} in {} types", report.by_type.len()),
                (None, Some(_)) => "no handle data in this dump".to_string(),
                (None, None) => "no handle data in this input".to_string(),
            },
        ),
    ];
    fields.push((
        "Handle tracing".to_string(),
        match &report.trace {
            Some(trace) => format!(
                "{} records ({} open, {} close, {} bad-ref; {}); {} open handles have an allocation stack, {} have no record",
                trace.records,
                trace.opens,
                trace.closes,
                trace.bad_refs,
                match trace.order {
                    crate::snapshot::TraceOrder::NewestFirst => "stored newest first",
                    crate::snapshot::TraceOrder::OldestFirst => "stored oldest first",
                    crate::snapshot::TraceOrder::AssumedNewestFirst => "order assumed newest first",
                },
                trace.open_handles_with_stack,
                trace.open_handles_without_record
            ),
            None => "not present".to_string(),
        },
    ));
    doc.push(Block::Fields(fields));

    if let Some(crash) = &report.crash {
        doc.push(Block::Heading(format!(
            "Crash: {}",
            exception(&crash.reason, crash.code.as_deref())
        )));
        let mut fields = vec![("Address".to_string(), crash.address.clone())];
        if let Some(module) = &crash.faulting_module {
            fields.push(("Faulting module".to_string(), module.clone()));
        }
        if let Some(thread) = crash.thread_id {
            let name = crash
                .thread_name
                .as_deref()
                .map_or(String::new(), |name| format!(" \"{name}\""));
            fields.push(("Thread".to_string(), format!("{thread:#x}{name}")));
        }
        doc.push(Block::Fields(fields));
        let mut lines: Vec<String> = crash
            .frames
            .iter()
            .enumerate()
            .flat_map(|(index, frame)| {
                frame
                    .lines
                    .iter()
                    .map(move |line| format!("{index:02} {line}  ({})", frame.trust))
            })
            .collect();
        match (&crash.walk_stopped, crash.more_frames) {
            (Some(reason), more) => lines.push(format!(
                "… {more} more frames, and more: the walk stopped {reason}"
            )),
            (None, 0) => {}
            (None, more) => lines.push(format!("… {more} more frames")),
        }
        doc.push(Block::Code(lines));
    }

    let mut types = Table::new("types", &["Type", "Count#"]);
    for row in &report.by_type {
        types.row(vec![row.type_name.clone(), row.count.to_string()]);
    }
    if report.handle_data {
        doc.push(Block::Heading("Handles by type".to_string()));
        doc.push(Block::Table(types));
    } else {
        doc.hidden.push(types);
    }

    let shown: Vec<_> = report
        .modules
        .iter()
        .filter(|module| all_modules || !module.system)
        .collect();
    doc.push(Block::Heading(if report.modules.is_empty() {
        "Modules: none (the input lists no modules)".to_string()
    } else if all_modules {
        format!("Modules ({})", report.modules.len())
    } else {
        format!(
            "Modules: {} of {} (system modules hidden; --modules lists all)",
            shown.len(),
            report.modules.len()
        )
    }));
    let mut modules = Table::new(
        "modules",
        &[
            "Module",
            "Version",
            "Base",
            "Size",
            "Timestamp~",
            "Path@~",
            "PDB~",
        ],
    );
    for module in shown {
        modules.row(vec![
            module.name.clone(),
            module.version.clone().unwrap_or_default(),
            module.base.clone(),
            module.size.clone().unwrap_or_default(),
            module.timestamp.clone().unwrap_or_default(),
            module.path.clone(),
            module.pdb.clone().unwrap_or_default(),
        ]);
    }
    if report.modules.is_empty() {
        doc.hidden.push(modules);
    } else {
        doc.push(Block::Table(modules));
    }
    if all_modules && !report.unloaded_modules.is_empty() {
        doc.push(Block::Heading(format!(
            "Unloaded modules ({}; their frames read <Unloaded_NAME>+0xoff)",
            report.unloaded_modules.len()
        )));
        let mut unloaded = Table::new("unloaded", &["Module", "Base", "Size", "Timestamp", "Path"]);
        for module in &report.unloaded_modules {
            unloaded.row(vec![
                module.name.clone(),
                module.base.clone(),
                module.size.clone(),
                module.timestamp.clone(),
                module.path.clone(),
            ]);
        }
        doc.push(Block::Table(unloaded));
    }

    doc.push_notes(&report.warnings);
    doc
}
