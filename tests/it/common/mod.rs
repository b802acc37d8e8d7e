//! Helpers shared by the end-to-end tests.
#![allow(dead_code)]

use assert_cmd::Command;
use serde_json::Value;

/// The binary in the repository root, with no symbol path from the environment and a
/// per-user cache of its own (no run sees another's SymCaches).
pub fn dumpleak() -> Command {
    let home = tempfile::tempdir().unwrap().keep();
    let mut command = Command::cargo_bin("dumpleak").expect("binary built");
    command
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("_NT_SYMBOL_PATH")
        .env("XDG_CACHE_HOME", home.join("cache"))
        .env("HOME", &home);
    command
}

/// Runs dumpleak with `args` plus `--format json`; it must succeed.
pub fn json(args: &[&str]) -> Value {
    let output = dumpleak()
        .args(args)
        .args(["--format", "json"])
        .output()
        .expect("runs");
    assert!(
        output.status.success(),
        "dumpleak {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("valid JSON")
}
