//! Confidently wrong answers an audit of issues 13 and 19 found, end to end: a rise that
//! reversed called a leak, a capture time of 0 taken as real, inputs of another program left
//! out without a word, and a `--limit` already exceeded reported as "reached".

use serde_json::Value;

use crate::common::{column, dumpleak, json, stdout};

/// Writes one handle.exe listing per cycle into `dir` (`l00.txt`, `l01.txt`, …) with
/// `counts[i]` Event handles in listing `i`, and returns their paths in order.
fn event_listings(dir: &std::path::Path, counts: &[usize]) -> Vec<String> {
    counts
        .iter()
        .enumerate()
        .map(|(cycle, &count)| {
            let mut text = String::from(
                "\nNthandle v5.0 - Handle viewer\nCopyright (C) 1997-2022 Mark Russinovich\n\
                 Sysinternals - www.sysinternals.com\n\n------------------------------------\
                 ------------------------------------------\nSvc.exe pid: 4242 CONTOSO\\svc\n",
            );
            for handle in 0..count {
                text.push_str(&format!("{:5X}: Event\n", 4 + 4 * handle));
            }
            let path = dir.join(format!("l{cycle:02}.txt"));
            std::fs::write(&path, text).unwrap();
            path.to_str().unwrap().to_string()
        })
        .collect()
}

fn series_args(paths: &[String], extra: &[&str]) -> Vec<String> {
    let mut args = vec!["series".to_string()];
    args.extend(paths.iter().cloned());
    args.extend(extra.iter().map(|arg| arg.to_string()));
    args
}

#[test]
fn a_rise_that_reversed_is_no_leak_and_does_not_fail_the_gate() {
    let dir = tempfile::tempdir().unwrap();
    let counts = [10, 12, 14, 16, 18, 20, 22, 24, 26, 22, 18, 14];
    let paths = event_listings(dir.path(), &counts);
    let args = series_args(&paths, &["--fail-on-leak"]);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let text = stdout(&refs, 0);
    assert!(
        text.contains("Handles     10 → 14 (+2/cycle): churn"),
        "{text}"
    );
    assert!(
        text.contains("rose to ~26 by dump 8, then fell to ~18 over the last 3 dumps"),
        "{text}"
    );
    let report = json(&refs);
    let segment = &report["segments"][0];
    assert_eq!(segment["total"]["class"], "churn");
    assert_eq!(column(&segment["types"], "class"), ["churn"]);
    assert_eq!(segment["exhaustion"], Value::Null);
    // Still rising at the end: a leak, and the gate trips.
    let rising = event_listings(
        dir.path(),
        &[10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32],
    );
    let args = series_args(&rising, &["--fail-on-leak"]);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = dumpleak().args(&refs).output().unwrap();
    assert_eq!(output.status.code(), Some(3));
}
