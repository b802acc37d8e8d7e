//! Builds without the `crash` feature: no stack walker, so a crash is reported as missing with
//! the reason.

use super::{records_exception, CrashStack};
use crate::snapshot::Snapshot;
use crate::symbols::{ModuleSymbolStatus, Symbolizer};
use std::collections::BTreeMap;

/// `None` when the dump records no exception; otherwise why there is no stack (this build
/// leaves the stack walker out). Same signature as the walker's.
pub fn crash_stack(
    snapshot: &Snapshot,
    _symbolizer: &Symbolizer,
    _max_frames: usize,
    _modules: &mut BTreeMap<String, ModuleSymbolStatus>,
) -> Option<Result<CrashStack, String>> {
    records_exception(snapshot).then(|| {
        Err("dumpleak was built without its `crash` feature (the stack walker)".to_string())
    })
}

#[cfg(test)]
mod tests {
    use crate::analysis::Attribution;
    use crate::symbols::Symbolizer;
    use std::path::Path;

    fn show_warnings(name: &str) -> Vec<String> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("testdata/batch")
            .join(name);
        let snapshot = crate::snapshot::load(&path).unwrap();
        let report = crate::show_snapshot(
            &snapshot,
            &Symbolizer::default(),
            &Attribution::default(),
            12,
        );
        assert!(report.crash.is_none());
        report
            .warnings
            .into_iter()
            .map(|warning| warning.message)
            .collect()
    }

    #[test]
    fn a_crash_dump_says_why_it_has_no_stack() {
        let warnings = show_warnings("cust-e45b.dmp");
        assert!(
            warnings.iter().any(|warning| warning
                == "the crash stack could not be walked: dumpleak was built without its \
                    `crash` feature (the stack walker)"),
            "{warnings:?}"
        );
    }

    #[test]
    fn a_dump_without_an_exception_gets_no_note() {
        let warnings = show_warnings("cust-0c91.dmp");
        assert!(
            !warnings.iter().any(|warning| warning.contains("crash")),
            "{warnings:?}"
        );
    }
}
