//! Replays the fuzz corpora (`fuzz/corpus/<target>/`) and the kept crash inputs
//! (`fuzz/regressions/<target>/`) through the same calls as the fuzz targets, without
//! libFuzzer: every input must give a snapshot or an error, never a panic.

#[path = "../../fuzz/harness.rs"]
pub mod harness;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

type PanicHook = Box<dyn Fn(&std::panic::PanicHookInfo<'_>) + Sync + Send + 'static>;

/// Where the last panic happened (the hook below records it; the payload lacks it).
static LAST_PANIC: Mutex<Option<String>> = Mutex::new(None);

fn inputs(target: &str) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    for dir in ["corpus", "regressions"] {
        assert!(root.join(dir).is_dir(), "fuzz/{dir} is missing (renamed?)");
    }
    let mut files = Vec::new();
    for dir in ["corpus", "regressions"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir).join(target)) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_file() {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

#[test]
fn fuzz_corpora_and_regressions_never_panic() {
    // Keep the default hook's messages out of the test output; failures are listed below.
    // The hook is process-wide and other tests of this binary run on other threads: their
    // panics still go to the previous hook.
    let previous: Arc<PanicHook> = Arc::new(std::panic::take_hook());
    let replaying = std::thread::current().id();
    let others = Arc::clone(&previous);
    std::panic::set_hook(Box::new(move |info| {
        if std::thread::current().id() == replaying {
            let location = info.location().map(ToString::to_string);
            *LAST_PANIC.lock().unwrap_or_else(|e| e.into_inner()) = location;
        } else {
            others(info);
        }
    }));
    let mut failures = Vec::new();
    let mut replayed = 0;
    for (target, run) in harness::TARGETS {
        let files = inputs(target);
        assert!(
            !files.is_empty() || *target == "handle_trace",
            "no corpus for fuzz target {target}"
        );
        for path in files {
            // A running `cargo fuzz` may delete corpus files it has reduced: skip those.
            let Ok(bytes) = std::fs::read(&path) else {
                continue;
            };
            replayed += 1;
            if let Err(panic) = catch_unwind(AssertUnwindSafe(|| run(&bytes))) {
                let message = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                let location = LAST_PANIC
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .take()
                    .unwrap_or_default();
                failures.push(format!(
                    "{target}: {}: {message} at {location}",
                    path.display()
                ));
            }
        }
    }
    // Dropping this test's hook drops its reference to the previous one.
    drop(std::panic::take_hook());
    match Arc::try_unwrap(previous) {
        Ok(previous) => std::panic::set_hook(previous),
        Err(shared) => std::panic::set_hook(Box::new(move |info| shared(info))),
    }
    assert!(replayed > 0, "no fuzz inputs found");
    assert!(
        failures.is_empty(),
        "{} of {replayed} fuzz inputs panicked:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
