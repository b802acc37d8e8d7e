//! One dump in depth (issue 15): the `handles` listing with filters and histories, thread
//! names, and frames in unloaded modules.

use crate::common::{dumpleak, json, testdata};
use dumpleak_fixtures::writer::{
    DescriptorVersion, DumpWriter, HandleDescriptor, HandleOperation, MiscInfo, Module, SystemInfo,
    HANDLE_OP_CLOSE, HANDLE_OP_OPEN, MISC1_PROCESS_ID,
};
use serde_json::Value;

const AFTER: &str = "testdata/incident/after.dmp";
const IMAGES: [&str; 2] = ["--symbols", "testdata/incident/images"];

fn handles(args: &[&str]) -> Value {
    let mut all = vec!["handles"];
    all.extend_from_slice(args);
    json(&all)
}

fn values(report: &Value) -> Vec<String> {
    report["handles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["handle"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn every_handle_with_its_facts_and_allocation_stack() {
    let report = handles(&[AFTER, IMAGES[0], IMAGES[1]]);
    assert_eq!(report["total"], 55);
    assert_eq!(report["handles"].as_array().unwrap().len(), 55);
    let row = report["handles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["handle"] == "0xbc")
        .unwrap();
    for key in [
        "handle",
        "type",
        "name",
        "attributes",
        "granted_access",
        "handle_count",
        "pointer_count",
        "object_info",
        "stack",
        "blamed_module",
        "blamed_version",
        "history",
    ] {
        assert!(row.get(key).is_some(), "{key} missing: {row}");
    }
    assert_eq!(row["type"], "Mutant");
    assert_eq!(row["granted_access"], "0x1f0001");
    assert_eq!(row["access_rights"][0], "MUTANT_ALL_ACCESS");
    assert_eq!(row["blamed_module"], "MSMAPI32.DLL");
    assert_eq!(row["blamed_version"], "11.0.5601.0");
    assert_eq!(row["stack"][2], "MSMAPI32!SzGPrev+0x293");
    assert_eq!(
        row["object_info"][1]["details"],
        "owner process 0x0, owner thread 0x0"
    );
    assert!(
        row["history"].as_array().unwrap().is_empty(),
        "only with --history"
    );
}

#[test]
fn filters_by_type_name_value_and_module() {
    let mutants = handles(&[AFTER, "--type", "mutant", "--type", "SECTION"]);
    assert_eq!(mutants["handles"].as_array().unwrap().len(), 11 + 8);
    let named = handles(&[AFTER, "--name", "spooler_lock"]);
    assert_eq!(named["handles"].as_array().unwrap().len(), 5);
    let chosen = handles(&[AFTER, "--handle", "0x38", "--handle", "bc"]);
    assert_eq!(values(&chosen), ["0x38", "0xbc"]);
    assert_eq!(chosen["filters"][0], "handle 0x38 or 0xbc");
    let through = handles(&[AFTER, "--module", "msmapi32"]);
    let through_values = values(&through);
    assert!(through_values.contains(&"0xbc".to_string()));
    assert!(through["handles"]
        .as_array()
        .unwrap()
        .iter()
        .all(|row| row["type"] == "Mutant" || row["type"] == "Section"));
    let none = handles(&[AFTER, "--module", "MapiHelper.dll"]);
    assert!(none["handles"].as_array().unwrap().is_empty());
    dumpleak()
        .args(["handles", AFTER, "--handle", "zz"])
        .assert()
        .code(2);
}

#[test]
fn history_lists_every_record_of_a_reused_value() {
    // testdata/reuse: values closed and reopened for other objects between the dumps.
    let report = handles(&["testdata/reuse/after.dmp", "--history"]);
    let with_history: Vec<&Value> = report["handles"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|row| row["history"].as_array().unwrap().len() > 1)
        .collect();
    assert!(!with_history.is_empty(), "{report}");
    let history = with_history[0]["history"].as_array().unwrap();
    assert_eq!(history[0]["operation"], "open", "newest first");
    assert!(history.iter().any(|entry| entry["operation"] == "close"));
    assert!(history[0]["thread_id"].as_str().unwrap().starts_with("0x"));
    let value = with_history[0]["handle"].as_str().unwrap();
    let output = dumpleak()
        .args([
            "handles",
            "testdata/reuse/after.dmp",
            "--history",
            "--handle",
            value,
        ])
        .output()
        .unwrap();
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(
        text.contains(&format!("Handle = {value} - OPEN - Thread ID = 0x")),
        "{text}"
    );
    assert!(
        text.contains(&format!("Handle = {value} - CLOSE")),
        "{text}"
    );
    let csv = dumpleak()
        .args([
            "handles",
            "testdata/reuse/after.dmp",
            "--history",
            "--format",
            "csv",
            "--table",
            "history",
        ])
        .output()
        .unwrap();
    let csv = String::from_utf8(csv.stdout).unwrap();
    assert!(
        csv.starts_with("Handle,Record,Operation,Thread,Thread name,Stack\n"),
        "{csv}"
    );
}

#[test]
fn the_real_dump_lists_its_147_handles_as_minidump_stackwalk_reads_them() {
    let expected: Value = serde_json::from_slice(
        &std::fs::read(testdata("real/expected-minidump-stackwalk.json")).unwrap(),
    )
    .unwrap();
    let expected = &expected["breakpad-tiny-cet-x64/tiny-exe-with-cet-xsave.dmp"]["handles"];
    let report = handles(&["testdata/real/breakpad-tiny-cet-x64/tiny-exe-with-cet-xsave.dmp"]);
    let mine: Vec<(u64, Value, Value)> = report["handles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            let value =
                u64::from_str_radix(row["handle"].as_str().unwrap().trim_start_matches("0x"), 16)
                    .unwrap();
            (value, row["type"].clone(), row["name"].clone())
        })
        .collect();
    let mut theirs: Vec<(u64, Value, Value)> = expected
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            (
                row["handle"].as_u64().unwrap(),
                row["type"].clone(),
                row["name"].clone(),
            )
        })
        .collect();
    theirs.sort_by_key(|row| row.0);
    assert_eq!(mine.len(), 147);
    assert_eq!(mine, theirs);
    // The dump has no handle trace: the listing says its stacks are unknown, not just blank.
    let codes: Vec<&str> = report["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|warning| warning["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["no-trace"]);
    let text = dumpleak()
        .args(["handles", "--offline", "--type", "Event"])
        .arg(testdata(
            "real/breakpad-tiny-cet-x64/tiny-exe-with-cet-xsave.dmp",
        ))
        .env("COLUMNS", "100")
        .output()
        .unwrap();
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(
        text.contains("no handle-trace records: allocation stacks and blamed modules are unknown"),
        "{text}"
    );
}

#[test]
fn thread_names_name_the_crashing_thread() {
    let dump = "testdata/real/breakpad-threadnames/thread_name_list.dmp";
    let report = json(&["show", dump]);
    assert_eq!(report["crash"]["thread_name"], "overflow thread");
    let text = dumpleak().args(["show", dump]).output().unwrap();
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(
        text.contains("Thread           0x2ae0 \"overflow thread\""),
        "{text}"
    );
}

#[test]
fn unloaded_modules_are_listed() {
    let dump = "testdata/real/breakpad-tiny-cet-x64/tiny-exe-with-cet-xsave.dmp";
    let report = json(&["show", dump, "--modules"]);
    let unloaded = report["unloaded_modules"].as_array().unwrap();
    assert_eq!(unloaded.len(), 1);
    assert_eq!(unloaded[0]["name"], "shcore.dll");
    assert_eq!(unloaded[0]["base"], "0x7ff90f450000");
    let text = dumpleak()
        .args(["show", dump, "--modules"])
        .output()
        .unwrap();
    assert!(String::from_utf8(text.stdout)
        .unwrap()
        .contains("Unloaded modules (1"));
}

/// A plugin that opened a handle and was unloaded: its frame reads
/// `<Unloaded_Plugin.dll>+0x120` and the handle is blamed on it.
#[test]
fn a_handle_opened_by_an_unloaded_plugin_is_blamed_on_it() {
    let mut writer = DumpWriter::with_directory_slots(8);
    writer.set_time_date_stamp(1_772_441_400);
    writer.add_system_info(&SystemInfo::windows_10_x64());
    writer.add_misc_info(&MiscInfo {
        flags1: MISC1_PROCESS_ID,
        process_id: 42,
        process_create_time: 0,
        process_user_time: 0,
        process_kernel_time: 0,
    });
    writer.add_module_list(&[Module {
        base_of_image: 0x1_4000_0000,
        size_of_image: 0x10_000,
        checksum: 0,
        time_date_stamp: 0x6000_0000,
        name: r"C:\App\Host.exe".to_string(),
        file_version: [1, 0, 0, 0],
        product_version: [1, 0, 0, 0],
        is_dll: false,
        cv_record: None,
    }]);
    // MINIDUMP_UNLOADED_MODULE_LIST: header 12 bytes, entries of 24.
    let name = writer.add_string(r"C:\App\plugins\Plugin.dll");
    let mut stream = Vec::new();
    for word in [12u32, 24, 1] {
        stream.extend(word.to_le_bytes());
    }
    stream.extend(0x7ff0_0000_0000u64.to_le_bytes());
    for word in [0x8000u32, 0, 0x5f00_0000, name] {
        stream.extend(word.to_le_bytes());
    }
    writer.add_stream(14, &stream);
    writer.add_handle_data(
        DescriptorVersion::V2,
        &[HandleDescriptor {
            handle: 0x44,
            type_name: Some("Event".to_string()),
            object_name: None,
            attributes: 0,
            granted_access: 0x1f0003,
            handle_count: 1,
            pointer_count: 1,
            object_info: Vec::new(),
        }],
    );
    let op = |operation_type, stack: Vec<u64>| HandleOperation {
        handle: 0x44,
        process_id: 42,
        thread_id: 0x1c,
        operation_type,
        spare0: 0,
        index: 1,
        stack,
    };
    writer.add_handle_operations(&[
        op(HANDLE_OP_OPEN, vec![0x7ff0_0000_0120, 0x1_4000_1234]),
        op(HANDLE_OP_CLOSE, vec![0x1_4000_1300]),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plugin.dmp");
    std::fs::write(&path, writer.finish()).unwrap();
    let report = json(&["handles", path.to_str().unwrap()]);
    let row = &report["handles"][0];
    assert_eq!(row["stack"][0], "<Unloaded_Plugin.dll>+0x120");
    assert_eq!(row["stack"][1], "Host+0x1234");
    assert_eq!(row["blamed_module"], "Plugin.dll");
}

#[test]
fn an_empty_listing_says_so_instead_of_drawing_an_empty_table() {
    let run = |args: &[&str]| {
        let output = dumpleak()
            .arg("handles")
            .args(args)
            .args(["--offline", "--color", "never"])
            .env("COLUMNS", "100")
            .output()
            .unwrap();
        String::from_utf8(output.stdout).unwrap()
    };
    let text = run(&["testdata/real/breakpad-minidump2/minidump2.dmp"]);
    assert!(
        text.contains("No handles to show.") && !text.contains('┌'),
        "{text}"
    );
    let real = "testdata/real/breakpad-tiny-cet-x64/tiny-exe-with-cet-xsave.dmp";
    let text = run(&[real, "--name", "no such object"]);
    assert!(
        text.contains("No handle matches the filters.") && !text.contains('┌'),
        "{text}"
    );
    // CSV keeps its header row.
    let csv = run(&[real, "--name", "no such object", "--format", "csv"]);
    assert!(csv.starts_with("Handle,Type,Name,"), "{csv}");
}

#[test]
fn an_input_without_modules_says_so_instead_of_drawing_an_empty_table() {
    let output = dumpleak()
        .args(["show", "testdata/logs/handle-after.txt", "--color", "never"])
        .env("COLUMNS", "100")
        .output()
        .unwrap();
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(
        text.contains("Modules: none (the input lists no modules)"),
        "{text}"
    );
    assert!(!text.contains("│ Module"), "{text}");
}
