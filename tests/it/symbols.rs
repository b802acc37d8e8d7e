//! Symbolisation end to end: a real DLL and PDB built by clang/lld-link (testdata/pdb), symbol
//! stores (flat, two-tier, compressed, file.ptr), Breakpad files, the on-disk SymCache cache,
//! export tables read from dump memory, crash stacks, and an HTTP symbol server on loopback.

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use tiny_http::Response;

use crate::common::server::TestServer;
use crate::common::{
    assert_warning, dumpleak, find, fixture, json as run, stdout, strings, testdata, warnings,
};

const PDB_ID: &str = "4F5704A7F90205594C4C44205044422E1";

fn pdb_diff(extra: &[&str]) -> Value {
    let mut args = vec!["diff", "testdata/pdb/before.dmp", "testdata/pdb/after.dmp"];
    args.extend_from_slice(extra);
    run(&args)
}

fn frames(report: &Value) -> Vec<String> {
    strings(&report["stacks"][0]["frames"])
}

fn status<'a>(report: &'a Value, module: &str) -> &'a Value {
    find(&report["symbols"], "module", module)
}

/// `symbolizer-expected.txt`: rva → frames (function, file, line) innermost first, as
/// llvm-symbolizer printed them when the fixture was built.
fn llvm_symbolizer_expected() -> BTreeMap<u64, Vec<(String, String, u32)>> {
    let text = std::fs::read_to_string(testdata("pdb/symbolizer-expected.txt")).unwrap();
    let mut expected: BTreeMap<u64, Vec<(String, String, u32)>> = BTreeMap::new();
    let mut current = None;
    let mut lines = text.lines().filter(|line| !line.starts_with('#'));
    while let Some(line) = lines.next() {
        if let Some(address) = line.strip_prefix("ADDRESS 0x") {
            let rva = u64::from_str_radix(address, 16).unwrap();
            expected.insert(rva, Vec::new());
            current = Some(rva);
        } else if let Some(rva) = current {
            let location = lines.next().unwrap();
            let mut parts = location.rsplitn(3, ':');
            let _column = parts.next();
            let line_number = parts.next().unwrap().parse().unwrap();
            let file = parts.next().unwrap().to_string();
            expected
                .get_mut(&rva)
                .unwrap()
                .push((line.to_string(), file, line_number));
        }
    }
    expected
}

#[test]
fn pdb_frames_agree_with_llvm_symbolizer() {
    let cache = tempfile::tempdir().unwrap();
    let report = pdb_diff(&[
        "--symbols",
        "testdata/pdb",
        "--cache-dir",
        cache.path().to_str().unwrap(),
    ]);
    let expected = llvm_symbolizer_expected();
    let details = report["stacks"][0]["frame_details"].as_array().unwrap();
    // Return addresses are looked up at the call (address - 1), as debuggers do; the recorded
    // llvm-symbolizer output holds both the return addresses and the call sites.
    let mut checked = 0;
    for detail in details {
        let address = detail["address"].as_u64().unwrap();
        if detail["module"] != "leakylib.dll" {
            continue;
        }
        let rva = address - 0x1_8000_0000;
        let call_site = &expected[&(rva - 1)];
        let (outer_function, outer_file, outer_line) = call_site.last().unwrap();
        assert_eq!(detail["symbol"], outer_function.as_str(), "{detail}");
        assert_eq!(detail["origin"], "pdb");
        assert_eq!(detail["source_line"]["file"], outer_file.as_str());
        assert_eq!(detail["source_line"]["line"], *outer_line, "{detail}");
        // The function is the same whether asked at the return address or the call site.
        assert_eq!(expected[&rva].last().unwrap().0, *outer_function);
        let inlined = detail["inlined"].as_array().unwrap();
        assert_eq!(inlined.len(), call_site.len() - 1, "{detail}");
        for (inline, (function, file, _)) in inlined.iter().zip(call_site) {
            assert_eq!(inline["symbol"], function.as_str());
            assert_eq!(inline["source_line"]["file"], file.as_str());
        }
        checked += 1;
    }
    assert_eq!(checked, 3);
    assert_eq!(
        frames(&report)[2..6],
        [
            // llvm-symbolizer 14 says line 54 for the inlined call; the line table and
            // dump_syms say 53, the line of the call itself (testdata/README.md, section G).
            "leakylib!acquire_slot (inline) [C:\\build\\leakylib\\leakylib.c @ 53]",
            "leakylib!open_pool+0x2b [C:\\build\\leakylib\\leakylib.c @ 61]",
            "leakylib!session_init+0x14 [C:\\build\\leakylib\\leakylib.c @ 69]",
            "leakylib!LeakyOpenSession+0xd [C:\\build\\leakylib\\leakylib.c @ 76]",
        ]
    );
    assert_eq!(report["stacks"][0]["blamed_module"], "leakylib.dll");
    assert_eq!(report["stacks"][0]["blamed_version"], "1.4.2.0");
    let leakylib = status(&report, "leakylib.dll");
    assert_eq!(leakylib["origin"], "pdb");
    assert_eq!(leakylib["mismatched"], false);
    assert!(leakylib["file"].as_str().unwrap().ends_with("leakylib.pdb"));
}

#[test]
fn second_run_is_served_from_the_symcache() {
    let cache = tempfile::tempdir().unwrap();
    let args = [
        "--symbols",
        "testdata/pdb",
        "--cache-dir",
        cache.path().to_str().unwrap(),
    ];
    let first = pdb_diff(&args);
    assert_eq!(status(&first, "leakylib.dll")["from_cache"], false);
    let cached = cache
        .path()
        .join("symcache/leakylib.pdb")
        .join(PDB_ID)
        .join("pdb-v8.symcache");
    assert!(cached.is_file(), "SymCache written to {}", cached.display());
    let second = pdb_diff(&args);
    assert_eq!(status(&second, "leakylib.dll")["from_cache"], true);
    assert_eq!(frames(&first), frames(&second));
}

#[test]
fn compressed_two_tier_and_pointer_stores() {
    for store in [
        "testdata/symstore",
        "testdata/symstore-2tier",
        "testdata/symstore-ptr",
    ] {
        let cache = tempfile::tempdir().unwrap();
        let report = pdb_diff(&[
            "--symbol-path",
            store,
            "--cache-dir",
            cache.path().to_str().unwrap(),
        ]);
        assert_eq!(
            frames(&report)[3],
            "leakylib!open_pool+0x2b [C:\\build\\leakylib\\leakylib.c @ 61]",
            "{store}"
        );
        assert_eq!(status(&report, "leakylib.dll")["origin"], "pdb", "{store}");
    }
}

#[test]
fn breakpad_symbols_are_used_when_there_is_no_pdb() {
    let store = tempfile::tempdir().unwrap();
    let dir = store.path().join("leakylib.sym").join(PDB_ID);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(
        testdata("symstore/leakylib.pdb")
            .join(PDB_ID)
            .join("leakylib.sym"),
        dir.join("leakylib.sym"),
    )
    .unwrap();
    let cache = tempfile::tempdir().unwrap();
    let report = pdb_diff(&[
        "--symbols",
        store.path().to_str().unwrap(),
        "--cache-dir",
        cache.path().to_str().unwrap(),
    ]);
    assert_eq!(status(&report, "leakylib.dll")["origin"], "breakpad");
    let frames = frames(&report);
    assert!(
        frames
            .iter()
            .any(|f| f.starts_with("leakylib!session_init+0x14 [")),
        "{frames:?}"
    );
    assert!(frames
        .iter()
        .any(|f| f.starts_with("leakylib!LeakyOpenSession+0xd [")));
}

/// A copy of pdb/after.dmp whose leakylib.dll CodeView GUID differs from the PDB's.
fn dump_with_other_pdb_guid(dir: &Path) -> PathBuf {
    let mut bytes = std::fs::read(testdata("pdb/after.dmp")).unwrap();
    let guid = [0xA7u8, 0x04, 0x57, 0x4F];
    let at = bytes
        .windows(8)
        .position(|window| window[..4] == *b"RSDS" && window[4..8] == guid)
        .expect("leakylib's RSDS record");
    bytes[at + 8] ^= 0xff;
    let path = dir.join("after-other-build.dmp");
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn mismatched_pdb_is_refused_unless_allowed_and_then_marked() {
    let dir = tempfile::tempdir().unwrap();
    let after = dump_with_other_pdb_guid(dir.path());
    let cache = tempfile::tempdir().unwrap();
    let args = |extra: &[&str]| {
        let mut args = vec![
            "diff",
            "testdata/pdb/before.dmp",
            after.to_str().unwrap(),
            "--symbols",
            "testdata/pdb",
            "--cache-dir",
            cache.path().to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        args.iter().map(|s| s.to_string()).collect::<Vec<_>>()
    };
    let refused = run(&args(&[]).iter().map(String::as_str).collect::<Vec<_>>());
    assert_ne!(status(&refused, "leakylib.dll")["origin"], "pdb");
    assert_warning(&refused, |w| {
        w.contains("differs from the module's") && w.contains("--allow-mismatched")
    });
    let allowed = run(&args(&["--allow-mismatched"])
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>());
    let leakylib = status(&allowed, "leakylib.dll");
    assert_eq!(leakylib["origin"], "pdb");
    assert_eq!(leakylib["mismatched"], true);
    assert_warning(&allowed, |w| {
        w.contains("do not match the module's identity")
    });
    // A mismatched PDB is never written to the cache under the module's identity.
    assert!(
        !cache
            .path()
            .join("symcache/leakylib.pdb")
            .join(PDB_ID)
            .exists()
            || !cache
                .path()
                .join("symcache/leakylib.pdb")
                .join(PDB_ID)
                .join("pdb-v8.symcache")
                .exists()
    );
}

#[test]
fn export_tables_are_read_from_dump_memory() {
    for after in [
        "testdata/incident-fullmem/after.dmp",
        "testdata/incident-fullmem/after-mem64.dmp",
    ] {
        let report = run(&["diff", "testdata/incident-fullmem/before.dmp", after]);
        let all: Vec<String> = report["stacks"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|stack| stack["frames"].as_array().unwrap().clone())
            .map(|f| f.as_str().unwrap().to_string())
            .collect();
        for frame in [
            "MSMAPI32!SzGPrev+0x293",
            "MSMAPI32!MAPIInitialize+0x21a",
            "kernel32!CreateMutexA+0x65",
            "ntdll!NtCreateMutant+0xc",
        ] {
            assert!(
                all.iter().any(|f| f == frame),
                "{after}: {frame} in {all:?}"
            );
        }
        let msmapi = status(&report, "MSMAPI32.DLL");
        assert_eq!(msmapi["origin"], "exports");
        assert_eq!(msmapi["file"], "dump memory at 0x35f00000");
    }
}

#[test]
fn no_symbols_at_hand_leaves_frames_unnamed() {
    let report = pdb_diff(&[]);
    assert_eq!(frames(&report)[2], "leakylib+0x10bb");
    assert_eq!(status(&report, "leakylib.dll")["origin"], "none");
}

#[test]
fn crash_stack_is_symbolised_with_the_same_sources() {
    let cache = tempfile::tempdir().unwrap();
    let report = run(&[
        "show",
        "testdata/pdb/crash.dmp",
        "--symbols",
        "testdata/pdb",
        "--cache-dir",
        cache.path().to_str().unwrap(),
    ]);
    let crash = &report["crash"];
    assert_eq!(crash["reason"], "EXCEPTION_ACCESS_VIOLATION_READ");
    assert_eq!(crash["code"], "0xc0000005");
    assert_eq!(crash["thread_id"], 0x1a2c);
    assert_eq!(crash["faulting_module"], "leakylib.dll");
    let top: Vec<Vec<String>> = crash["frames"]
        .as_array()
        .unwrap()
        .iter()
        .map(|frame| {
            frame["lines"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l.as_str().unwrap().to_string())
                .collect()
        })
        .collect();
    // Frame 0 is the exact instruction pointer, not a return address: line 52.
    assert_eq!(
        top[0],
        [
            "leakylib!acquire_slot (inline) [C:\\build\\leakylib\\leakylib.c @ 52]",
            "leakylib!open_pool+0xc [C:\\build\\leakylib\\leakylib.c @ 61]"
        ]
    );
    assert_eq!(crash["frames"][0]["trust"], "context");
    assert!(top[1][0].starts_with("leakylib!session_init+0x14 "));
    assert!(top[2][0].starts_with("leakylib!LeakyOpenSession+0xd "));
    assert_eq!(top[3][0], "Widget+0x1e2f7");

    let text = stdout(&["show", "testdata/pdb/crash.dmp"], 0);
    assert!(
        text.contains("Crash: EXCEPTION_ACCESS_VIOLATION_READ (0xc0000005)"),
        "{text}"
    );
    assert!(text.contains("00 leakylib+0x109c  (context)"), "{text}");
}

/// The symbol store testdata/symstore over HTTP; with `garbage`, every answer is an HTML page.
fn serve(garbage: bool) -> TestServer {
    TestServer::start(&testdata("symstore"), move |_| {
        garbage.then(|| Response::from_data(b"<html>not a symbol file</html>".to_vec()).boxed())
    })
}

#[test]
fn symbols_are_downloaded_from_a_server_once() {
    let server = serve(false);
    let cache = tempfile::tempdir().unwrap();
    let path = format!("srv*{}*{}", cache.path().display(), server.url());
    let symcaches = tempfile::tempdir().unwrap();
    let symcaches = symcaches.path().to_str().unwrap();
    let first = pdb_diff(&["--symbol-path", &path, "--cache-dir", symcaches]);
    assert_eq!(status(&first, "leakylib.dll")["origin"], "pdb");
    assert_eq!(status(&first, "leakylib.dll")["from_cache"], false);
    assert_eq!(
        frames(&first)[4],
        "leakylib!session_init+0x14 [C:\\build\\leakylib\\leakylib.c @ 69]"
    );
    assert!(server.requests() > 0);
    // The compressed PDB was downloaded and unpacked into the cache's store layout.
    assert!(cache
        .path()
        .join("leakylib.pdb")
        .join(PDB_ID)
        .join("leakylib.pdb")
        .is_file());
    let before_second = server.requests();
    let second = pdb_diff(&["--symbol-path", &path, "--cache-dir", symcaches]);
    assert_eq!(frames(&first), frames(&second));
    assert_eq!(status(&second, "leakylib.dll")["from_cache"], true);
    // Only modules without symbols anywhere may ask again; leakylib is served locally.
    let asked_again = server.requests() - before_second;
    assert!(asked_again <= before_second, "{asked_again} new requests");
}

#[test]
fn a_server_that_is_down_or_returns_garbage_is_a_warning() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let down = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let garbage = serve(true);
    for url in [down, garbage.url()] {
        let cache = tempfile::tempdir().unwrap();
        let path = format!("srv*{}*{url}", cache.path().display());
        let report = pdb_diff(&["--symbol-path", &path]);
        assert_eq!(frames(&report)[2], "leakylib+0x10bb", "{url}");
        assert!(
            warnings(&report)
                .iter()
                // Said once for every module it concerns.
                .any(|w| w.starts_with("symbols for ")
                    && w.contains("leakylib.dll")
                    && w.contains(&url)),
            "{url}: {:?}",
            warnings(&report)
        );
    }
}

#[test]
fn offline_never_asks_the_server() {
    let server = serve(false);
    let cache = tempfile::tempdir().unwrap();
    let path = format!("srv*{}*{}", cache.path().display(), server.url());
    let report = pdb_diff(&["--symbol-path", &path, "--offline"]);
    assert_eq!(server.requests(), 0);
    assert_eq!(frames(&report)[2], "leakylib+0x10bb");
    assert_warning(&report, |w| w.contains("offline"));
}

#[test]
fn nt_symbol_path_is_used_when_no_option_is_given() {
    let cache = tempfile::tempdir().unwrap();
    let output = dumpleak()
        .env("_NT_SYMBOL_PATH", "testdata/symstore")
        .args([
            "diff",
            "testdata/pdb/before.dmp",
            "testdata/pdb/after.dmp",
            "--cache-dir",
            cache.path().to_str().unwrap(),
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(status(&report, "leakylib.dll")["origin"], "pdb");
}

/// The incident's "after" dump with the images of MSMAPI32.DLL, ntdll and kernel32 in memory
/// (testdata/incident-fullmem/after.dmp), with each `(old, new)` export name (same length)
/// replaced in that memory.
fn fullmem_dump(renamed: &[(&str, &str)]) -> Vec<u8> {
    use dumpleak_fixtures::leaky::{incident_image_memory, render_ex, Extras};
    use dumpleak_fixtures::scenarios::{
        Incident, INCIDENT_CREATE_TIME, INCIDENT_PID, INCIDENT_RING,
    };
    let mut memory = incident_image_memory().unwrap();
    for (old, new) in renamed {
        assert_eq!(old.len(), new.len());
        let (old, new) = (format!("{old}\0"), format!("{new}\0"));
        let mut replaced = 0;
        for range in &mut memory {
            while let Some(at) = range
                .bytes
                .windows(old.len())
                .position(|window| window == old.as_bytes())
            {
                range.bytes[at..at + new.len()].copy_from_slice(new.as_bytes());
                replaced += 1;
            }
        }
        assert_eq!(replaced, 1, "{old:?}");
    }
    let mut incident = Incident::start(INCIDENT_PID, INCIDENT_CREATE_TIME, INCIDENT_RING).unwrap();
    for _ in 0..5 {
        incident.run_cycle();
    }
    let spec = incident.spec(dumpleak_fixtures::TraceOrder::NewestFirst, true);
    let extras = Extras {
        memory: &memory,
        ..Extras::default()
    };
    render_ex(&spec, &extras)
}

#[test]
fn export_names_read_from_one_dump_never_name_another_dumps_frames() {
    let original = fullmem_dump(&[]);
    assert_eq!(original, fixture("incident-fullmem/after.dmp"));
    let renamed = fullmem_dump(&[("SzGPrev", "SzGNext"), ("MAPIInitialize", "MAPIOtherEntry")]);
    // The same module list (name, TimeDateStamp, SizeOfImage), other names in memory.
    for (first, second) in [(&original, &renamed), (&renamed, &original)] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.dmp"), first).unwrap();
        std::fs::write(dir.path().join("b.dmp"), second).unwrap();
        let report = run(&[
            "batch",
            dir.path().to_str().unwrap(),
            "--jobs",
            "1",
            "--known",
            "testdata/known-issues.toml",
        ]);
        for name in ["a.dmp", "b.dmp"] {
            let path = dir.path().join(name);
            let dump = find(&report["dumps"], "file", path.to_str().unwrap());
            let frames: Vec<String> = dump["stacks"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|stack| strings(&stack["frames"]))
                .collect();
            let labels: Vec<&str> = dump["known_issues"]
                .as_array()
                .unwrap()
                .iter()
                .map(|issue| issue["label"].as_str().unwrap())
                .collect();
            let is_original = std::fs::read(&path).unwrap() == original;
            let (expected, foreign) = if is_original {
                (
                    ["MSMAPI32!SzGPrev+0x293", "MSMAPI32!MAPIInitialize+0x21a"],
                    "Next",
                )
            } else {
                (
                    ["MSMAPI32!SzGNext+0x293", "MSMAPI32!MAPIOtherEntry+0x21a"],
                    "Prev",
                )
            };
            for frame in expected {
                assert!(
                    frames.iter().any(|f| f == frame),
                    "{name}: {frame} in {frames:?}"
                );
            }
            assert!(
                !frames.iter().any(|f| f.contains(foreign)),
                "{name}: {frames:?}"
            );
            let matched = labels.iter().any(|label| label.contains("SzGPrev"));
            assert_eq!(matched, is_original, "{name}: {labels:?}");
        }
    }
}

#[test]
fn symbols_found_for_one_dumps_module_never_name_another_build_of_it() {
    // Two dumps loading leakylib.dll with the same name, TimeDateStamp and SizeOfImage, but
    // CodeView records naming different PDBs: only one has its PDB at hand.
    let other = tempfile::tempdir().unwrap();
    let other = std::fs::read(dump_with_other_pdb_guid(other.path())).unwrap();
    let original = fixture("pdb/after.dmp");
    for (first, second) in [(&original, &other), (&other, &original)] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.dmp"), first).unwrap();
        std::fs::write(dir.path().join("b.dmp"), second).unwrap();
        let cache = tempfile::tempdir().unwrap();
        let report = run(&[
            "batch",
            dir.path().to_str().unwrap(),
            "--jobs",
            "1",
            "--symbols",
            "testdata/pdb",
            "--cache-dir",
            cache.path().to_str().unwrap(),
        ]);
        for name in ["a.dmp", "b.dmp"] {
            let path = dir.path().join(name);
            let dump = find(&report["dumps"], "file", path.to_str().unwrap());
            let frames: Vec<String> = dump["stacks"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|stack| strings(&stack["frames"]))
                .collect();
            // Source lines come from the PDB (the other build gets the image's exports).
            let from_pdb = frames.iter().any(|f| f.contains("leakylib.c @ "));
            let is_original = std::fs::read(&path).unwrap() == original;
            assert_eq!(from_pdb, is_original, "{name}: {frames:?}");
        }
    }
}
