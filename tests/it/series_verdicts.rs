//! Issue 19 end to end: the verdicts of `dumpleak series` on the noisy hourly series of one
//! service without handle tracing (`testdata/series-noisy/`, 12 dumps from 08:00 UTC), whose
//! slow leak, warm-up plateau and steady decline the old absolute thresholds all called churn;
//! too few dumps; the documented overrides; the verdict fields of the JSON contract; rates and
//! exhaustion from the robust slope.

use serde_json::Value;

use crate::common::{dumpleak, find, json, stdout};

const NOISY: &str = "testdata/series-noisy";

fn noisy(extra: &[&str]) -> Value {
    let mut args = vec!["series", NOISY];
    args.extend(extra);
    json(&args)
}

fn trend<'a>(report: &'a Value, type_name: &str) -> &'a Value {
    find(&report["segments"][0]["types"], "type", type_name)
}

#[test]
fn a_slow_monotone_leak_is_a_leak_with_its_rate_per_hour_and_per_day() {
    let report = noisy(&[]);
    let event = trend(&report, "Event");
    assert_eq!(
        event["counts"],
        serde_json::json!([30, 30, 31, 31, 32, 32, 33, 33, 34, 34, 35, 35])
    );
    assert_eq!(event["class"], "leak");
    assert_eq!(event["slope_per_cycle"], 0.5);
    assert_eq!(event["slope_per_hour"], 0.5);
    assert!(event["p_value"].as_f64().unwrap() < 0.001);
    assert_eq!(event["change_point"], Value::Null);
    let text = stdout(&["series", NOISY], 0);
    assert!(
        text.contains("Event — leak: grows +0.5/cycle, +0.5/hour (Mann–Kendall p < 0.0001)"),
        "{text}"
    );
    let row = text.lines().find(|line| line.contains(" Event ")).unwrap();
    assert!(row.contains("+0.50") && row.contains("leak"), "{row}");
}

#[test]
fn a_warm_up_plateau_says_where_it_levelled_off() {
    let report = noisy(&[]);
    let key = trend(&report, "Key");
    assert_eq!(key["class"], "plateau");
    assert_eq!(
        key["change_point"],
        serde_json::json!({"index": 4, "level": 40.0})
    );
    assert_eq!(key["slope_per_cycle"], 0.0);
    assert!(key["reason"]
        .as_str()
        .unwrap()
        .starts_with("levelled off at ~40 from dump 4 (2026-03-02 12:00 UTC): rose by 20"));
    let markdown = stdout(&["series", NOISY, "--format", "markdown"], 0);
    // Markdown escapes the tilde (one or two make strikethrough on GitHub).
    assert!(markdown.contains("levelled off at \\~40 from dump 4 (2026-03-02 12:00 UTC)"));
}

#[test]
fn a_steady_decrease_is_a_decline() {
    let report = noisy(&[]);
    let section = trend(&report, "Section");
    assert_eq!(section["class"], "decline");
    assert_eq!(section["slope_per_cycle"], -2.0);
    assert_eq!(section["slope_per_hour"], -2.0);
    assert_eq!(section["change"], -22.0);
    // The other three of the six: churn, and two stable counts.
    assert_eq!(trend(&report, "Thread")["class"], "churn");
    assert_eq!(trend(&report, "Mutant")["class"], "stable");
    assert_eq!(trend(&report, "File")["class"], "stable");
    // Leaks first, then plateaus, declines, churn, stable.
    let order: Vec<&str> = report["segments"][0]["types"]
        .as_array()
        .unwrap()
        .iter()
        .map(|trend| trend["class"].as_str().unwrap())
        .collect();
    assert_eq!(
        order,
        ["leak", "plateau", "decline", "churn", "stable", "stable"]
    );
}

#[test]
fn too_few_dumps_give_the_raw_change_and_no_class() {
    let first_four: Vec<String> = ["0800", "0900", "1000", "1100"]
        .iter()
        .map(|hour| format!("{NOISY}/reportsvc-{hour}.dmp"))
        .collect();
    let mut args = vec!["series"];
    args.extend(first_four.iter().map(String::as_str));
    let report = json(&args);
    let key = trend(&report, "Key");
    assert_eq!(key["class"], Value::Null);
    assert_eq!(key["too_few"], true);
    assert_eq!(key["p_value"], Value::Null);
    assert_eq!(key["change"], 15.0);
    assert_eq!(
        key["reason"],
        "too few dumps for a verdict (4 of the 5 needed): 20 → 35 (+15)"
    );
    assert_eq!(report["segments"][0]["exhaustion"], Value::Null);
    let text = stdout(&args, 0);
    assert!(
        text.contains("too few dumps for a verdict (4 of the 5 needed)"),
        "{text}"
    );
    let row = text.lines().find(|line| line.contains(" Key ")).unwrap();
    assert!(row.contains("too few"), "{row}");
}

#[test]
fn the_old_thresholds_are_overrides() {
    let report = noisy(&[]);
    let rules = &report["rules"];
    assert_eq!(rules["min_growth"], 0.0);
    assert_eq!(rules["tolerance"], Value::Null);
    assert_eq!(rules["min_fit"], Value::Null);
    assert_eq!(rules["alpha"], 0.05);
    assert_eq!(rules["min_dumps"], 5);

    // --min-growth: trends slower than it are stable.
    let report = noisy(&["--min-growth", "1"]);
    assert_eq!(report["rules"]["min_growth"], 1.0);
    assert_eq!(trend(&report, "Event")["class"], "stable");
    assert!(trend(&report, "Event")["reason"]
        .as_str()
        .unwrap()
        .contains("slower than --min-growth 1"));
    assert_eq!(trend(&report, "Section")["class"], "decline");

    // --tolerance: a wider stable band turns the churning pool stable.
    let report = noisy(&["--tolerance", "10"]);
    assert_eq!(trend(&report, "Thread")["class"], "stable");
    assert_eq!(trend(&report, "Thread")["tolerance"], 10.0);

    // --min-fit: the staircase of the slow leak has R² 0.98 (as in the issue), short of 0.99.
    let report = noisy(&["--min-fit", "0.99"]);
    assert_ne!(trend(&report, "Event")["class"], "leak");
    assert_eq!(trend(&report, "Section")["class"], "decline");
    let report = noisy(&["--min-fit", "0.9"]);
    assert_eq!(trend(&report, "Event")["class"], "leak");
    assert!(trend(&report, "Event")["reason"]
        .as_str()
        .unwrap()
        .contains("R² 0.98"));

    for (flag, value) in [
        ("--min-growth", "-1"),
        ("--min-growth", "NaN"),
        ("--tolerance", "inf"),
        ("--min-fit", "1.5"),
    ] {
        dumpleak()
            .args(["series", NOISY, &format!("{flag}={value}")])
            .assert()
            .code(2)
            .stderr(predicates::str::contains(flag));
    }
}

#[test]
fn exhaustion_comes_from_the_robust_rate_and_reads_sanely() {
    // The total of the noisy series does not leak (the leak and the decline cancel out).
    let report = noisy(&[]);
    let series = &report["segments"][0];
    assert_eq!(series["total"]["class"], "stable");
    assert_eq!(series["exhaustion"], Value::Null);
    let text = stdout(&["series", NOISY], 0);
    assert!(text.contains("Exhaustion  no estimate: the total is stable, not a leak"));

    // The incident: +18/hour; with a quota of 100 handles, 39 to go: 2h 10m after 09:10.
    let args = ["series", "testdata/incident/series", "--limit", "100"];
    let report = json(&args);
    let exhaustion = &report["segments"][0]["exhaustion"];
    assert_eq!(exhaustion["growth_per_cycle"], 3.0);
    assert_eq!(exhaustion["cycles_left"], 13.0);
    assert_eq!(exhaustion["within_horizon"], true);
    assert_eq!(exhaustion["reached_at"], "2026-03-02T11:20:00Z");
    let text = stdout(&args, 0);
    assert!(
        text.contains(
            "100 handles reached at 2026-03-02T11:20:00Z (2h 10m after the last dump, at +18/hour)"
        ),
        "{text}"
    );
}

#[test]
fn every_verdict_field_of_the_contract_is_present() {
    let report = noisy(&[]);
    let series = &report["segments"][0];
    let verdicts = std::iter::once(&series["total"])
        .chain(series["types"].as_array().unwrap())
        .chain(series["retained"].as_array().unwrap());
    for verdict in verdicts {
        for field in [
            "class",
            "slope_per_cycle",
            "slope_per_hour",
            "p_value",
            "change_point",
            "change",
            "noise",
            "tolerance",
            "reason",
            "too_few",
        ] {
            assert!(verdict.get(field).is_some(), "{field} missing in {verdict}");
        }
    }
}
