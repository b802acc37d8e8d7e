//! `dumpleak series` end to end on the committed series fixtures.

use serde_json::Value;

use crate::common::{column, dumpleak, find, fixture, json, stdout};

fn trend<'a>(report: &'a Value, type_name: &str) -> &'a Value {
    find(&report["types"], "type", type_name)
}

/// Segment `index` of a series report.
fn segment(report: &Value, index: usize) -> &Value {
    &report["segments"][index]
}

#[test]
fn incident_series_names_msmapi32_growth_per_cycle() {
    let report = json(&[
        "series",
        "testdata/incident/series",
        "--symbols",
        "testdata/incident/images",
    ]);
    assert_eq!(report["order"], "time");
    assert_eq!(report["segments"].as_array().unwrap().len(), 1);
    let series = segment(&report, 0);
    assert_eq!(series["dumps"].as_array().unwrap().len(), 7);
    assert_eq!(series["pid"], 3856);
    assert_eq!(series["total"]["counts"][0], 43);
    assert_eq!(series["total"]["counts"][6], 61);
    assert_eq!(trend(series, "Mutant")["class"], "leak");
    assert_eq!(trend(series, "Mutant")["slope_per_cycle"], 2.0);
    assert_eq!(trend(series, "Mutant")["slope_per_hour"], 12.0);
    assert_eq!(trend(series, "Section")["class"], "leak");
    assert_eq!(trend(series, "Event")["class"], "stable");
    let module = &series["modules"][0];
    assert_eq!(
        module["headline"],
        "MSMAPI32.DLL 11.0.5601.0: +3.0 handles/cycle (2 Mutant, 1 Section) from 3 stacks, \
         retained in all 6 later dumps — leak, +18/hour"
    );
    assert_eq!(module["class"], "leak");
    assert_eq!(module["slope_per_cycle"], 3.0);
    assert_eq!(
        module["retained_per_dump"],
        serde_json::json!([0, 3, 6, 9, 12, 15, 18])
    );
    assert_eq!(module["retained_in"], 6);
    let retained = series["retained"].as_array().unwrap();
    assert_eq!(retained.len(), 3);
    for stack in retained {
        assert_eq!(stack["class"], "leak");
        assert_eq!(stack["slope_per_cycle"], 1.0);
        assert_eq!(
            stack["retained_per_dump"],
            serde_json::json!([0, 1, 2, 3, 4, 5, 6])
        );
        assert_eq!(stack["blamed_module"], "MSMAPI32.DLL");
    }
    assert!(retained
        .iter()
        .any(|stack| stack["frames"][2] == "MSMAPI32!SzGPrev+0x293"));
    // 3 handles per 10 minutes: 18 per hour; 16.7 million handles are decades away.
    let exhaustion = &series["exhaustion"];
    assert_eq!(exhaustion["growth_per_hour"], 18.0);
    assert_eq!(exhaustion["current"], 61);
    assert_eq!(exhaustion["within_horizon"], false);
    assert_eq!(exhaustion["reached_at"], Value::Null);
    let text = stdout(
        &[
            "series",
            "testdata/incident/series",
            "--symbols",
            "testdata/incident/images",
        ],
        0,
    );
    assert!(
        text.contains("Exhaustion  16777216 handles: not within 10 years at this rate (+18/hour)"),
        "{text}"
    );
    assert!(!text.contains("9999"));
}

#[test]
fn order_follows_capture_time_and_limit_sets_the_horizon() {
    // Inputs given newest first still come out in time order.
    let mut args = vec!["series".to_string()];
    for cycle in (0..7).rev() {
        args.push(format!("testdata/incident/series/cycle-{cycle}.dmp"));
    }
    args.extend(["--limit".to_string(), "79".to_string()]);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let report = json(&refs);
    let series = segment(&report, 0);
    let paths = column(&series["dumps"], "path");
    assert!(paths[0].ends_with("cycle-0.dmp") && paths[6].ends_with("cycle-6.dmp"));
    // 61 now, +18/hour, limit 79: one hour after the last dump (09:10).
    assert_eq!(series["exhaustion"]["reached_at"], "2026-03-02T10:10:00Z");
    assert_eq!(series["exhaustion"]["hours_left"], 1.0);
    assert_eq!(series["exhaustion"]["cycles_left"], 6.0);
}

#[test]
fn a_bad_file_is_left_out_and_too_few_dumps_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.dmp");
    let bytes = fixture("incident/series/cycle-3.dmp");
    std::fs::write(&broken, &bytes[..bytes.len() / 2]).unwrap();
    let report = json(&[
        "series",
        "testdata/incident/series/cycle-0.dmp",
        "testdata/incident/series/cycle-1.dmp",
        "testdata/incident/series/cycle-2.dmp",
        broken.to_str().unwrap(),
    ]);
    assert_eq!(segment(&report, 0)["dumps"].as_array().unwrap().len(), 3);
    assert!(report["excluded"][0]["path"]
        .as_str()
        .unwrap()
        .ends_with("broken.dmp"));
    dumpleak()
        .args([
            "series",
            "testdata/incident/series/cycle-0.dmp",
            broken.to_str().unwrap(),
        ])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("at least two dumps"));
}

#[test]
fn table_and_csv_outputs() {
    let text = stdout(&["series", "testdata/incident/series"], 0);
    let mutant = text
        .lines()
        .find(|line| line.contains(" Mutant "))
        .unwrap_or_else(|| panic!("no Mutant row: {text}"));
    assert!(
        mutant.contains("▁▂▃▄▅▆█") && mutant.contains("leak"),
        "{mutant}"
    );
    let csv = stdout(
        &["series", "testdata/incident/series", "--format", "csv"],
        0,
    );
    let mut lines = csv.lines();
    assert_eq!(
        lines.next().unwrap(),
        "Type,#0,#1,#2,#3,#4,#5,#6,Per cycle,Per hour,p-value,Change point,Class"
    );
    assert_eq!(
        lines.next().unwrap(),
        "total,43,46,49,52,55,58,61,3.0000,18.0000,0.0027,,leak"
    );
}

#[test]
fn indexer_series_tells_leak_plateau_and_churn_apart() {
    let report = json(&["series", "testdata/series"]);
    // Eight dumps in capture-time order, whatever their names.
    let series = segment(&report, 0);
    let times = column(&series["dumps"], "captured_at");
    assert_eq!(times.len(), 8);
    assert_eq!(times[0], "2026-03-02T15:15:00Z");
    assert_eq!(times[7], "2026-03-02T17:00:00Z");
    assert!(times.windows(2).all(|pair| pair[0] < pair[1]));
    assert!(series["dumps"][0]["path"]
        .as_str()
        .unwrap()
        .ends_with("indexer-7f3a9c.dmp"));
    // The other process and the truncated copy are named and left out.
    let excluded: Vec<(&str, &str)> = report["excluded"]
        .as_array()
        .unwrap()
        .iter()
        .map(|input| {
            (
                input["path"].as_str().unwrap(),
                input["reason"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(excluded.len(), 2);
    assert!(excluded
        .iter()
        .any(|(path, reason)| path.ends_with("zz-other-process.dmp")
            && reason.contains("pid 7301")
            && reason.contains("running at the same time")));
    assert!(excluded
        .iter()
        .any(|(path, reason)| path.ends_with("broken.dmp") && reason.contains("HandleDataStream")));

    let section = trend(series, "Section");
    assert_eq!(section["class"], "leak");
    assert_eq!(section["slope_per_cycle"], 1.0);
    assert_eq!(section["slope_per_hour"], 4.0);
    assert_eq!(
        section["counts"],
        serde_json::json!([3, 4, 5, 6, 7, 8, 9, 10])
    );
    let file = trend(series, "File");
    assert_eq!(file["class"], "plateau");
    assert_eq!(
        file["change_point"],
        serde_json::json!({"index": 3, "level": 12.0})
    );
    assert_eq!(
        file["counts"],
        serde_json::json!([6, 9, 11, 12, 12, 12, 12, 12])
    );
    let thread = trend(series, "Thread");
    assert_eq!(thread["class"], "churn");
    assert!(thread["slope_per_cycle"].as_f64().unwrap().abs() < 0.2);
    for trend in series["types"].as_array().unwrap() {
        if !["Section", "File", "Thread"].contains(&trend["type"].as_str().unwrap()) {
            assert_eq!(trend["class"], "stable", "{trend}");
        }
    }

    let leak = &series["modules"][0];
    assert_eq!(leak["module"], "FeedSync.dll");
    assert_eq!(leak["version"], "7.3.1.0");
    assert_eq!(leak["class"], "leak");
    assert_eq!(leak["slope_per_cycle"], 1.0);
    assert_eq!(
        leak["headline"],
        "FeedSync.dll 7.3.1.0: +1.0 handles/cycle (1 Section) from 1 stack, retained in all 7 \
         later dumps — leak, +4/hour"
    );
    let leak_stack = &series["retained"][0];
    assert_eq!(leak_stack["blamed_module"], "FeedSync.dll");
    assert_eq!(
        leak_stack["retained_per_dump"],
        serde_json::json!([0, 1, 2, 3, 4, 5, 6, 7])
    );
    let cache = find(&series["modules"], "module", "ShardCache.dll");
    assert_eq!(cache["types"]["File"], 6);
    assert_eq!(cache["class"], "plateau");
    assert_eq!(
        cache["headline"],
        "ShardCache.dll 2.1.0.5: 6 retained handles (6 File) from 1 stack, retained in 3 of 7 \
         later dumps — plateau: levelled off at ~6 from dump 3 (2026-03-02 16:00 UTC)"
    );
    let pool = find(&series["modules"], "module", "WorkPool.dll");
    assert_eq!(
        pool["class"], "stable",
        "3 threads retained in the last dump only"
    );
    assert_eq!(
        cache["retained_in"], 3,
        "the cache stops gaining after dump 3"
    );
}

#[test]
fn html_report_is_one_self_contained_page_with_the_chart() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("report.html");
    dumpleak()
        .args([
            "series",
            "testdata/series",
            "-q",
            "--format",
            "html",
            "--output",
        ])
        .arg(&page)
        .assert()
        .success();
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert_eq!(html.matches("role=\"img\"").count(), 1, "one chart");
    for name in ["Section (leak)", "File (plateau)", "Thread (churn)"] {
        assert!(html.contains(name), "{name} in the legend");
    }
    assert!(html.contains("FeedSync.dll 7.3.1.0: +1.0 handles/cycle"));
    assert!(html.contains("leak, +4/hour"));
    for external in ["http://", "https://", "src=", "<script", "<link"] {
        assert!(
            !html.contains(external),
            "{external} in a self-contained page"
        );
    }
}
