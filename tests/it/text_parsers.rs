//! Text inputs: WinDbg/cdb logs and Sysinternals handle.exe output, through the public API.

use dumpleak::snapshot::text::{
    api_object_type, decode, infer_type, infer_type_from_texts, normalize_frame_text, parse_bytes,
    parse_frame_text, parse_handle_exe, parse_text, parse_windbg_log, sniff, split_prompt,
    HandleExeOutput, InputKind, TextEncoding, TextFrame, TextInput, WindbgLog, SUPPORTED_FORMATS,
};
use dumpleak::snapshot::{Operation, TraceOrder};
use std::path::Path;

use crate::common::fixture;
use crate::common::synth::Rng;

fn sample_bytes(name: &str) -> Vec<u8> {
    fixture(&format!("logs/{name}"))
}

fn sample(name: &str) -> String {
    decode(&sample_bytes(name)).text
}

fn windbg(name: &str) -> WindbgLog {
    match parse_bytes(&sample_bytes(name)).unwrap() {
        TextInput::Windbg(log) => log,
        other => panic!("{name}: expected a WinDbg log, got {other:?}"),
    }
}

fn handle_exe(name: &str) -> HandleExeOutput {
    match parse_bytes(&sample_bytes(name)).unwrap() {
        TextInput::HandleExe(output) => output,
        other => panic!("{name}: expected handle.exe output, got {other:?}"),
    }
}

/// The facts every variant of the shared WinDbg sample must give.
fn check_outstanding_handles(name: &str, log: &WindbgLog) {
    let block = log
        .select_block(None)
        .unwrap_or_else(|| panic!("{name}: no htrace block"));
    assert!(block.diff, "{name}: last block is not a -diff block");
    let values: Vec<u64> = block.records.iter().map(|r| r.handle).collect();
    assert_eq!(values, [0x498, 0x4a0, 0x4b4], "{name}");
    for record in &block.records {
        assert_eq!(record.operation, Operation::Open, "{name}");
        assert_eq!(record.process_id, 0x1f3c, "{name}");
    }
    assert_eq!(block.records[0].thread_id, 0x2e6c, "{name}");
    assert_eq!(block.records[2].thread_id, 0x3310, "{name}");
    assert_eq!(block.records[0].inferred_type(), Some("Event"), "{name}");
    assert_eq!(block.records[1].inferred_type(), Some("Event"), "{name}");
    assert_eq!(block.records[2].inferred_type(), Some("File"), "{name}");
    for record in &block.records[..2] {
        let texts: Vec<String> = record.frames.iter().map(TextFrame::display).collect();
        assert_eq!(texts[1], "KERNELBASE!CreateEventW+0x6e", "{name}");
        assert_eq!(
            texts[2], "AcmeNet!AcmeConnectionPool::Acquire+0xb1",
            "{name}"
        );
    }
    let file_frames: Vec<String> = block.records[2]
        .frames
        .iter()
        .map(TextFrame::display)
        .collect();
    assert!(
        file_frames[0].starts_with("ntdll!NtCreateFile+0x"),
        "{name}"
    );
    assert!(
        file_frames
            .iter()
            .any(|f| f.starts_with("KERNELBASE!CreateFi")),
        "{name}"
    );
    assert_eq!(log.process_id, Some(0x1f3c), "{name}");
    assert_eq!(log.image_name.as_deref(), Some("OrderSync.exe"), "{name}");
}

fn check_acmenet(name: &str, log: &WindbgLog, base: u64, with_version: bool) {
    let acme = log
        .module_named("AcmeNet")
        .unwrap_or_else(|| panic!("{name}: no AcmeNet module"));
    assert_eq!(acme.name, "AcmeNet.dll", "{name}");
    assert_eq!(acme.base, base, "{name}");
    assert_eq!(acme.size, 0x51000, "{name}");
    assert!(
        acme.path.ends_with(r"\Acme\AcmeNet.dll"),
        "{name}: {}",
        acme.path
    );
    if with_version {
        assert_eq!(acme.file_version.as_deref(), Some("4.2.17.0"), "{name}");
        assert_eq!(acme.product_version.as_deref(), Some("4.2.17.0"), "{name}");
        assert_eq!(acme.timestamp, 0x67C6_D1CC, "{name}");
        assert_eq!(acme.checksum, 0x0005_A3E1, "{name}");
    } else {
        assert_eq!(acme.file_version, None, "{name}");
        assert_eq!(acme.timestamp, 0, "{name}");
    }
}

fn check_summary(name: &str, log: &WindbgLog) {
    let summary = log
        .last_summary()
        .unwrap_or_else(|| panic!("{name}: no !handle summary"));
    assert_eq!(summary.total, Some(0x1c2), "{name}");
    assert_eq!(summary.total, Some(450), "{name}");
    assert_eq!(summary.get("Event"), 214, "{name}");
    assert_eq!(summary.get("ALPC Port"), 3, "{name}");
    assert_eq!(summary.get("WaitCompletionPacket"), 7, "{name}");
    assert_eq!(summary.get("None"), 4, "{name}");
    assert_eq!(summary.counts.len(), 15, "{name}");
}

#[test]
fn shared_sample_has_three_outstanding_handles_modules_and_summary() {
    let log = windbg("windbg-htrace-diff.log");
    check_outstanding_handles("sample", &log);
    check_acmenet("sample", &log, 0x7ffa_f4a1_0000, true);
    assert_eq!(
        log.module_named("AcmeNet").unwrap().base + 0x51000,
        0x7ffa_f4a6_1000
    );
    check_summary("sample", &log);
    assert_eq!(log.htrace_blocks.len(), 1);
    let block = &log.htrace_blocks[0];
    assert_eq!(block.displayed, Some(3));
    assert!(block.complete);
    assert_eq!(block.command.as_deref(), Some("!htrace -diff"));
    assert!(log.notes.is_empty(), "{:?}", log.notes);
    assert_eq!(
        log.command_line.as_deref(),
        Some(r"C:\svc\OrderSync.exe -console")
    );
    assert_eq!(log.image_path.as_deref(), Some(r"C:\svc\OrderSync.exe"));
    let names: Vec<&str> = log.modules.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "OrderSync.exe",
            "AcmeNet.dll",
            "KERNELBASE.dll",
            "msvcrt.dll",
            "KERNEL32.DLL",
            "ntdll.dll"
        ]
    );
    assert!(log.modules.windows(2).all(|w| w[0].base < w[1].base));
    let ntdll = log.module_named("ntdll").unwrap();
    assert_eq!((ntdll.base, ntdll.size), (0x7ffb_0a8f_0000, 0x1f_8000));
}

#[test]
fn shared_sample_converts_to_a_snapshot_with_the_diff_trace() {
    let log = windbg("windbg-htrace-diff.log");
    let snapshot = log.to_snapshot(Path::new("windbg-htrace-diff.log"), None);
    assert_eq!(snapshot.process.pid, Some(0x1f3c));
    assert_eq!(
        snapshot.process.image_name.as_deref(),
        Some("OrderSync.exe")
    );
    // The log prints no `!handle … f` blocks: the handles are those the block shows open,
    // typed from their creating API (the same reading as every command's).
    let handles = snapshot.handles.as_ref().unwrap();
    let typed: Vec<(u64, Option<&str>, bool)> = handles
        .iter()
        .map(|h| (h.value, h.type_name.as_deref(), h.type_inferred))
        .collect();
    assert_eq!(
        typed,
        [
            (0x498, Some("Event"), true),
            (0x4a0, Some("Event"), true),
            (0x4b4, Some("File"), true)
        ]
    );
    let trace = snapshot.trace.as_ref().unwrap();
    assert_eq!(trace.order, TraceOrder::NewestFirst);
    assert_eq!(trace.records.len(), 3);
    assert_eq!(trace.records[0].stack[0], 0x7ffb_0a98_e1d4);
    assert_eq!(
        snapshot
            .module_at(0x7ffa_f4a1_d2a1)
            .map(|m| m.name.as_str()),
        Some("AcmeNet.dll")
    );
    let symbols = log.frame_symbols();
    assert_eq!(
        symbols.get(&0x7ffa_f4a1_d2a1).map(String::as_str),
        Some("AcmeNet!AcmeConnectionPool::Acquire+0xb1")
    );
    let summary = log.to_summary(Path::new("x.log")).unwrap();
    assert_eq!(summary.counts.get("Event"), 214);
}

#[test]
fn every_windbg_variant_gives_the_same_facts() {
    for (name, acme_base, with_version) in [
        ("windbg-htrace-diff.log", 0x7ffa_f4a1_0000, true),
        ("windbg-htrace-diff-utf16.log", 0x7ffa_f4a1_0000, true),
        ("windbg-two-diffs.log", 0x7ffa_f4a1_0000, true),
        ("windbg-no-lmv.log", 0x7ffa_f4a1_0000, false),
        ("windbg-x86.log", 0x6f2a_0000, true),
        ("windbg-truncated.log", 0x7ffa_f4a1_0000, false),
    ] {
        let log = windbg(name);
        check_outstanding_handles(name, &log);
        check_acmenet(name, &log, acme_base, with_version);
        if name != "windbg-truncated.log" {
            check_summary(name, &log);
        }
    }
}

#[test]
fn utf16_crlf_variant_equals_the_utf8_sample() {
    let bytes = sample_bytes("windbg-htrace-diff-utf16.log");
    let decoded = decode(&bytes);
    assert_eq!(decoded.encoding, TextEncoding::Utf16Le);
    assert!(decoded.bom && !decoded.lossy);
    assert!(!decoded.text.contains('\r'));
    assert_eq!(decoded.text, sample("windbg-htrace-diff.log"));
    let log = windbg("windbg-htrace-diff-utf16.log");
    assert!(log.notes.is_empty(), "{:?}", log.notes);
}

#[test]
fn x86_log_reads_8_digit_addresses_and_plain_htrace_blocks() {
    let log = windbg("windbg-x86.log");
    let ntdll = log.module_named("ntdll.dll").unwrap();
    assert_eq!((ntdll.base, ntdll.size), (0x77a1_0000, 0x18_c000));
    assert_eq!(log.image_path.as_deref(), Some(r"C:\svc x86\OrderSync.exe"));
    assert_eq!(log.htrace_blocks.len(), 2);
    let plain = &log.htrace_blocks[0];
    assert!(!plain.diff && plain.complete);
    assert_eq!(plain.displayed, Some(2));
    assert_eq!(plain.records[0].operation, Operation::Close);
    assert_eq!(plain.records[1].operation, Operation::Open);
    let open = &plain.records[1];
    assert_eq!(open.frames[0].address, 0x77a5_f1c4);
    assert_eq!(
        open.frames[0].text.as_deref(),
        Some("ntdll!NtCreateMutant+0x0000000c")
    );
    assert_eq!(open.frames[0].display(), "ntdll!NtCreateMutant+0xc");
    assert_eq!(open.inferred_type(), Some("Mutant"));
    assert_eq!(open.frames[3].display(), "OrderSync+0xf00d");
    assert_eq!(open.frames[4].address, 0x1e3f_0010);
    assert_eq!(open.frames[4].text, None);
    assert_eq!(open.frames[4].display(), "0x1e3f0010");
    // The close record's innermost API is NtClose: no type.
    assert_eq!(plain.records[0].inferred_type(), None);
    assert_eq!(log.select_block(Some(0)).unwrap().records.len(), 2);
    assert!(log.notes.is_empty(), "{:?}", log.notes);
}

#[test]
fn two_diff_blocks_in_order_and_the_last_is_selected() {
    let log = windbg("windbg-two-diffs.log");
    assert_eq!(log.htrace_blocks.len(), 2);
    let first = &log.htrace_blocks[0];
    assert!(first.diff && first.complete);
    let values: Vec<u64> = first.records.iter().map(|r| r.handle).collect();
    assert_eq!(values, [0x3f0, 0x3f4]);
    assert_eq!(first.records[0].inferred_type(), Some("Key"));
    assert_eq!(first.records[1].inferred_type(), Some("Thread"));
    assert_eq!(log.select_block(None).unwrap().records.len(), 3);
    assert_eq!(log.select_block(Some(0)).unwrap().records.len(), 2);
    assert!(log.select_block(Some(2)).is_none());
    assert!(log.notes.is_empty(), "{:?}", log.notes);
}

#[test]
fn handle_f_blocks_become_crate_handles() {
    let log = windbg("windbg-two-diffs.log");
    assert_eq!(log.handles.len(), 2);
    let event = &log.handles[0];
    assert_eq!(event.value, 0x4a0);
    assert_eq!(event.type_name.as_deref(), Some("Event"));
    assert_eq!(event.object_name, None);
    assert_eq!(event.granted_access, 0x1f0003);
    assert_eq!((event.handle_count, event.pointer_count), (2, 65537));
    let file = &log.handles[1];
    assert_eq!(
        (file.value, file.type_name.as_deref()),
        (0x4b4, Some("File"))
    );
    assert_eq!(file.granted_access, 0x120196);
    let snapshot = log.to_snapshot(Path::new("two.log"), None);
    assert_eq!(snapshot.handles.as_ref().map(Vec::len), Some(2));
}

#[test]
fn lm_rows_merge_with_modload_lines_and_skip_unloaded_modules() {
    let log = windbg("windbg-two-diffs.log");
    assert_eq!(log.modules.len(), 6, "{:?}", log.modules);
    assert!(log.module_named("AcmeTemp").is_none());
    let kernel32 = log.module_named("kernel32").unwrap();
    assert_eq!(kernel32.path, r"C:\Windows\System32\KERNEL32.DLL");
    let acme = log.module_named("AcmeNet").unwrap();
    let debug_file = acme.debug_file.as_ref().unwrap();
    assert_eq!(
        debug_file.id.uuid().hyphenated().to_string().to_uppercase(),
        "3F1A0C2B-9D4E-4B7A-8C1D-2E3F4A5B6C7D"
    );
    assert_eq!(debug_file.id.appendix(), 1);
}

#[test]
fn truncated_log_keeps_what_it_has_and_notes_the_cut() {
    let log = windbg("windbg-truncated.log");
    let block = log.select_block(None).unwrap();
    assert!(!block.complete);
    assert_eq!(block.displayed, None);
    assert_eq!(block.records.len(), 3);
    assert_eq!(block.records[2].frames.len(), 3);
    assert!(
        log.notes
            .iter()
            .any(|note| note.message.contains("cut off")),
        "{:?}",
        log.notes
    );
    assert!(log.handle_summaries.is_empty());
}

#[test]
fn handle_before_and_after_parse_to_the_expected_handles() {
    let before = handle_exe("handle-before.txt");
    let after = handle_exe("handle-after.txt");
    assert_eq!(before.version.as_deref(), Some("5.0"));
    for output in [&before, &after] {
        assert_eq!(output.processes.len(), 1);
        let process = &output.processes[0];
        assert_eq!(process.image_name, "PrintApp.exe");
        assert_eq!(process.pid, 5520);
        assert_eq!(process.user.as_deref(), Some(r"CONTOSO\kmeyer"));
        assert!(output.notes.is_empty(), "{:?}", output.notes);
        assert!(output.summary.is_none());
    }
    let before = &before.processes[0];
    let after = &after.processes[0];
    assert_eq!(before.handles.len(), 25);
    assert_eq!(after.handles.len(), 29);
    let find = |handles: &[dumpleak::snapshot::text::HandleExeEntry], value: u64| {
        handles.iter().find(|h| h.value == value).cloned()
    };
    let e68 = find(&before.handles, 0x68).unwrap();
    assert_eq!((&*e68.type_name, e68.name.as_deref()), ("Event", None));
    assert!(find(&after.handles, 0x68).is_none());
    for value in [0x6c, 0x74, 0x78] {
        let mutant = find(&after.handles, value).unwrap();
        assert_eq!(&*mutant.type_name, "Mutant");
        assert_eq!(
            mutant.name.as_deref(),
            Some(r"\Sessions\1\BaseNamedObjects\CSPMUTX")
        );
        assert_eq!(mutant.share, None);
    }
    let file = find(&after.handles, 0x70).unwrap();
    assert_eq!(&*file.type_name, "File");
    assert_eq!(file.share.as_deref(), Some("RW-"));
    assert_eq!(
        file.name.as_deref(),
        Some(r"C:\ProgramData\PrintApp\spool\job-0001.tmp")
    );
    assert_eq!(&*find(&after.handles, 0x7c).unwrap().type_name, "Event");
    let program = find(&before.handles, 0x40).unwrap();
    assert_eq!(program.name.as_deref(), Some(r"C:\Program Files\PrintApp"));
    let alpc = find(&before.handles, 0x4c).unwrap();
    assert_eq!(
        (&*alpc.type_name, alpc.name.as_deref()),
        ("ALPC Port", None)
    );
    let thread = find(&before.handles, 0x5c).unwrap();
    assert_eq!(thread.name.as_deref(), Some("PrintApp.exe(5520): 6012"));
    let wcp = find(&before.handles, 0x8).unwrap();
    assert_eq!(&*wcp.type_name, "WaitCompletionPacket");
}

#[test]
fn handle_exe_listing_converts_to_a_snapshot() {
    let output = handle_exe("handle-after.txt");
    let snapshots = output.to_snapshots(Path::new("handle-after.txt"));
    assert_eq!(snapshots.len(), 1);
    let snapshot = &snapshots[0];
    assert_eq!(snapshot.process.pid, Some(5520));
    assert_eq!(snapshot.process.image_name.as_deref(), Some("PrintApp.exe"));
    assert!(snapshot.modules.is_empty() && snapshot.trace.is_none());
    let handles = snapshot.handles.as_ref().unwrap();
    assert_eq!(handles.len(), 29);
    let file = handles.iter().find(|h| h.value == 0x70).unwrap();
    assert_eq!(file.type_name.as_deref(), Some("File"));
    assert_eq!(
        file.object_name.as_deref(),
        Some(r"C:\ProgramData\PrintApp\spool\job-0001.tmp")
    );
    assert_eq!(snapshot.file_name(), "handle-after.txt");
}

#[test]
fn handle_exe_listing_with_two_processes() {
    let output = handle_exe("handle-two-processes.txt");
    assert!(output.notes.is_empty(), "{:?}", output.notes);
    assert_eq!(output.processes.len(), 2);
    assert!(output.process(None).is_none(), "ambiguous without a pid");
    let helper = output.process(Some(7124)).unwrap();
    assert_eq!(helper.image_name, "Print Helper.exe");
    assert_eq!(helper.user.as_deref(), Some(r"NT AUTHORITY\SYSTEM"));
    assert_eq!(helper.handles.len(), 6);
    let key = &helper.handles[1];
    assert_eq!(
        key.name.as_deref(),
        Some(r"HKLM\SOFTWARE\Contoso\Print Helper")
    );
    let file = &helper.handles[2];
    assert_eq!(file.share.as_deref(), Some("R-D"));
    assert_eq!(
        file.name.as_deref(),
        Some(r"C:\Program Files\PrintApp\Print Helper.exe")
    );
    let alpc = &helper.handles[3];
    assert_eq!(&*alpc.type_name, "ALPC Port");
    assert_eq!(alpc.name.as_deref(), Some(r"\RPC Control\OLE4A2B"));
    assert_eq!(helper.handles[4].value, 0x1a8);
    let snapshots = output.to_snapshots(Path::new("two.txt"));
    assert_eq!(snapshots.len(), 2);
    assert_eq!(snapshots[1].process.pid, Some(7124));
    assert_eq!(output.process(Some(5520)).unwrap().handles.len(), 8);
}

#[test]
fn handle_s_summary_gives_type_counts_only() {
    let output = handle_exe("handle-summary.txt");
    assert!(output.processes.is_empty());
    assert!(output.notes.is_empty(), "{:?}", output.notes);
    let summary = output.summary.as_ref().unwrap();
    assert_eq!(summary.total, Some(360));
    assert_eq!(summary.sum(), 360);
    assert_eq!(summary.get("Event"), 214);
    assert_eq!(summary.get("ALPC Port"), 3);
    assert_eq!(summary.get("WaitCompletionPacket"), 7);
    let converted = output.to_summary(Path::new("handle-summary.txt")).unwrap();
    assert_eq!(converted.counts.counts.len(), 15);
    assert!(output.to_snapshots(Path::new("x")).is_empty());
    assert!(handle_exe("handle-after.txt")
        .to_summary(Path::new("x"))
        .is_none());
}

#[test]
fn sniffing_tells_the_formats_apart() {
    for name in [
        "windbg-htrace-diff.log",
        "windbg-htrace-diff-utf16.log",
        "windbg-no-lmv.log",
        "windbg-x86.log",
        "windbg-two-diffs.log",
        "windbg-truncated.log",
    ] {
        assert_eq!(sniff(&sample(name)), InputKind::WindbgLog, "{name}");
    }
    for name in [
        "handle-before.txt",
        "handle-after.txt",
        "handle-summary.txt",
        "handle-two-processes.txt",
    ] {
        assert_eq!(sniff(&sample(name)), InputKind::HandleExe, "{name}");
    }
    // Without banners, by structure alone.
    let windbg_text = sample("windbg-htrace-diff.log");
    let body = &windbg_text[windbg_text.find("0:008> !htrace -diff").unwrap()..];
    assert_eq!(sniff(body), InputKind::WindbgLog);
    let handle_text = sample("handle-after.txt");
    let body = &handle_text[handle_text.find("PrintApp.exe pid").unwrap()..];
    assert_eq!(sniff(body), InputKind::HandleExe);
    let listing_only = "   4C: ALPC Port\n   50: Semaphore     \\x\n   54: Key           HKLM\n";
    assert_eq!(sniff(listing_only), InputKind::HandleExe);
}

#[test]
fn unknown_text_is_an_error_that_lists_the_supported_formats() {
    for text in [
        "",
        "hello world\nthis is a shopping list\n",
        "{\"json\": true}",
        "PID\tTYPE\n1\t2\n",
    ] {
        assert_eq!(sniff(text), InputKind::Unknown, "{text:?}");
        let error = parse_text(text).unwrap_err();
        let message = error.to_string();
        assert!(
            message.contains("not a minidump, debugger log or handle.exe output"),
            "{message}"
        );
    }
    let error = parse_text("password=hunter2 hello world\n").unwrap_err();
    assert!(!error.binary);
    assert!(
        !error.to_string().contains("hunter2"),
        "content is never quoted"
    );
    assert!(parse_text("MZ\0\0\u{3}\0binary").unwrap_err().binary);
    assert!(SUPPORTED_FORMATS.contains("handle.exe"));
    assert!(SUPPORTED_FORMATS.contains("!htrace"));
}

#[test]
fn decode_handles_boms_bomless_utf16_and_bad_bytes() {
    let plain = decode(b"a\r\nb\rc\n");
    assert_eq!(plain.text, "a\nb\nc\n");
    assert_eq!(plain.encoding, TextEncoding::Utf8);
    let bom = decode(b"\xEF\xBB\xBFModLoad: x\r\n");
    assert!(bom.bom);
    assert_eq!(bom.text, "ModLoad: x\n");
    let utf16: Vec<u8> = "0:008> !htrace -diff\r\n"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    let guessed = decode(&utf16);
    assert_eq!(guessed.encoding, TextEncoding::Utf16Le);
    assert!(!guessed.bom);
    assert_eq!(guessed.text, "0:008> !htrace -diff\n");
    let mut be: Vec<u8> = vec![0xFE, 0xFF];
    be.extend("Handle".encode_utf16().flat_map(u16::to_be_bytes));
    assert_eq!(decode(&be).text, "Handle");
    let bad = decode(b"caf\xE9 \xFF\xFE\xFD");
    assert!(bad.lossy);
    assert!(bad.text.starts_with("caf"));
    let odd = decode(b"\xFF\xFEa\x00b");
    assert!(odd.lossy);
    assert_eq!(odd.text, "a");
    let lone_surrogate = decode(b"\xFF\xFE\x00\xD8a\x00");
    assert!(lone_surrogate.lossy);
    assert_eq!(decode(b"").text, "");
}

#[test]
fn frame_text_is_normalised_and_split() {
    assert_eq!(
        normalize_frame_text("KERNELBASE!CreateEventW+0x000000000000006e"),
        "KERNELBASE!CreateEventW+0x6e"
    );
    assert_eq!(
        normalize_frame_text("ntdll!NtCreateMutant+0x0000000C"),
        "ntdll!NtCreateMutant+0xc"
    );
    assert_eq!(normalize_frame_text("foo!bar+0x0000"), "foo!bar+0x0");
    assert_eq!(
        normalize_frame_text("  OrderSync+0x00001234 "),
        "OrderSync+0x1234"
    );
    assert_eq!(normalize_frame_text("foo!operator+"), "foo!operator+");
    assert_eq!(normalize_frame_text("foo!x+0x"), "foo!x+0x");
    assert_eq!(
        normalize_frame_text(r"a!b+0x0010 [c:\src\a.cpp @ 12]"),
        r"a!b+0x10 [c:\src\a.cpp @ 12]"
    );

    let parts = parse_frame_text("AcmeNet!AcmeConnectionPool::Acquire+0x00000000000000b1");
    assert_eq!(parts.module.as_deref(), Some("AcmeNet"));
    assert_eq!(parts.symbol.as_deref(), Some("AcmeConnectionPool::Acquire"));
    assert_eq!(parts.offset, Some(0xb1));
    let parts = parse_frame_text(r"a!b+0x10 [c:\src\a.cpp @ 12]");
    assert_eq!(parts.source.as_deref(), Some(r"c:\src\a.cpp @ 12"));
    let rva = parse_frame_text("OrderSync+0xf00d");
    assert_eq!(
        (rva.module.as_deref(), rva.symbol, rva.offset),
        (Some("OrderSync"), None, Some(0xf00d))
    );
    let bare = parse_frame_text("kernel32!CreateMutexA");
    assert_eq!(bare.symbol.as_deref(), Some("CreateMutexA"));
    assert_eq!(bare.offset, None);
    let address = parse_frame_text("00007ffb`0a98e1d4");
    assert_eq!(address.address, Some(0x7ffb_0a98_e1d4));
    assert_eq!(parse_frame_text("0x1e3f0010").address, Some(0x1e3f_0010));
    assert_eq!(parse_frame_text(""), Default::default());
    let op = parse_frame_text("foo!Vec::operator+=+0x12");
    assert_eq!(op.symbol.as_deref(), Some("Vec::operator+="));
    assert_eq!(op.offset, Some(0x12));
}

#[test]
fn api_names_map_to_object_types() {
    let cases = [
        ("CreateMutexW", Some("Mutant")),
        ("CreateMutexExA", Some("Mutant")),
        ("OpenMutexW", Some("Mutant")),
        ("NtCreateMutant", Some("Mutant")),
        ("ZwOpenMutant", Some("Mutant")),
        ("_NtCreateMutant@16", Some("Mutant")),
        ("CreateFileMappingW", Some("Section")),
        ("OpenFileMappingA", Some("Section")),
        ("NtCreateSection", Some("Section")),
        ("CreateEventW", Some("Event")),
        ("CreateEventExW", Some("Event")),
        ("CreateEventWStub", Some("Event")),
        ("NtCreateEvent", Some("Event")),
        ("OpenEventLogW", None),
        ("CreateSemaphoreExW", Some("Semaphore")),
        ("CreateFileW", Some("File")),
        ("CreateFile2", Some("File")),
        ("FindFirstFileExW", Some("File")),
        ("CreateNamedPipeW", Some("File")),
        ("NtCreateFile", Some("File")),
        ("NtOpenFile", Some("File")),
        ("RegCreateKeyExW", Some("Key")),
        ("RegOpenKeyExA", Some("Key")),
        ("NtOpenKey", Some("Key")),
        ("NtCreateKey", Some("Key")),
        ("CreateThread", Some("Thread")),
        ("CreateRemoteThreadEx", Some("Thread")),
        ("_beginthreadex", Some("Thread")),
        ("NtCreateThreadEx", Some("Thread")),
        ("CreateThreadpoolWork", None),
        ("OpenProcess", Some("Process")),
        ("CreateProcessW", Some("Process")),
        ("CreateProcessInternalW", Some("Process")),
        ("NtOpenProcess", Some("Process")),
        ("OpenProcessToken", Some("Token")),
        ("OpenThreadToken", Some("Token")),
        ("DuplicateTokenEx", Some("Token")),
        ("NtOpenProcessTokenEx", Some("Token")),
        ("CreateWaitableTimerExW", Some("Timer")),
        ("NtCreateTimer", Some("Timer")),
        ("CreateIoCompletionPort", Some("IoCompletion")),
        ("NtCreateIoCompletion", Some("IoCompletion")),
        ("NtClose", None),
        ("AcmeConnectionPool::Acquire", None),
        ("", None),
    ];
    for (name, expected) in cases {
        assert_eq!(api_object_type(name), expected, "{name}");
    }
    let frames = [
        TextFrame {
            address: 1,
            text: None,
        },
        TextFrame {
            address: 2,
            text: Some("ntdll!NtDuplicateObject+0x14".into()),
        },
        TextFrame {
            address: 3,
            text: Some("KERNELBASE!OpenProcessToken+0x20".into()),
        },
        TextFrame {
            address: 4,
            text: Some("KERNELBASE!CreateEventW+0x20".into()),
        },
    ];
    assert_eq!(infer_type(&frames), Some("Token"));
    assert_eq!(infer_type(&frames[..2]), None);
    assert_eq!(
        infer_type_from_texts(["AcmeNet!Foo+0x1", "KERNELBASE!CreateFileW+0x66"]),
        Some("File")
    );
}

#[test]
fn prompts_are_recognised() {
    assert_eq!(
        split_prompt("0:008> !htrace -diff"),
        Some(("!htrace -diff", None))
    );
    assert_eq!(
        split_prompt("1:023:x86> lmvm AcmeNet"),
        Some(("lmvm AcmeNet", Some("x86")))
    );
    assert_eq!(split_prompt("0:000>"), Some(("", None)));
    assert_eq!(split_prompt("kd> !handle 0 0"), Some(("!handle 0 0", None)));
    assert_eq!(split_prompt("0: kd> !htrace"), Some(("!htrace", None)));
    assert_eq!(
        split_prompt("0x77a5f1c4: foo!std::vector<int>::push+0x1"),
        None
    );
    assert_eq!(split_prompt("a > b"), None);

    // A WOW64 session prompt and a Windows version line set the architecture.
    let log = parse_windbg_log("1:023:x86> !htrace -diff\nOutstanding handles opened since the previous snapshot:\nHandle = 0x10 - OPEN\nThread ID = 0x1, Process ID = 0x2\n\n0x77a5f1c4: ntdll!NtCreateMutant+0x0000000c\nDisplayed 0x1 stack traces for outstanding handles opened since the previous snapshot.\n");
    assert_eq!(log.arch.as_deref(), Some("x86"));
    assert_eq!(log.htrace_blocks.len(), 1);
    assert_eq!(
        log.htrace_blocks[0].records[0].inferred_type(),
        Some("Mutant")
    );
    let log = parse_windbg_log("Windows 10 Version 19041 MP (8 procs) Free x64\n");
    assert_eq!(log.arch.as_deref(), Some("amd64"));
}

#[test]
fn output_without_prompts_kernel_style_records_and_wrapped_frames() {
    let text = "\
--------------------------------------
Handle 0x7CC - CLOSE:
0x8018FCB9: ntoskrnl!ExDestroyHandle+0x103
--------------------------------------
Handle = 0x00000b08 - *** BAD REFERENCE ***
Thread ID = 0x00000170, Process ID = 0x00000228

0x77e6c1fe: KERNEL32!CloseHandle+0x0000
0044
0x008f49c9: vfbasics!AVrfpCloseHandle+0x00000089
--------------------------------------
Parsed 0x2 stack traces.
Dumped 0x2 stack traces.
";
    let log = parse_windbg_log(text);
    assert_eq!(log.htrace_blocks.len(), 1, "{:?}", log);
    let block = &log.htrace_blocks[0];
    assert!(block.complete && !block.diff);
    assert_eq!(block.records[0].handle, 0x7cc);
    assert_eq!(block.records[0].operation, Operation::Close);
    assert_eq!(block.records[1].operation, Operation::BadRef);
    assert_eq!(block.records[1].frames.len(), 2);
    assert_eq!(
        block.records[1].frames[0].display(),
        "KERNEL32!CloseHandle+0x44"
    );
    assert!(log.notes.is_empty(), "{:?}", log.notes);
}

fn parse_everything(bytes: &[u8]) {
    let text = decode(bytes).text;
    let _ = sniff(&text);
    let _ = parse_text(&text);
    let log = parse_windbg_log(&text);
    let _ = log.to_snapshot(Path::new("fuzz"), None);
    let _ = log.to_snapshot(Path::new("fuzz"), Some(3));
    let _ = log.frame_symbols();
    for block in &log.htrace_blocks {
        for record in &block.records {
            let _ = record.inferred_type();
        }
    }
    let output = parse_handle_exe(&text);
    let _ = output.to_snapshots(Path::new("fuzz"));
    let _ = output.to_summary(Path::new("fuzz"));
    for line in text.lines().take(50) {
        let _ = normalize_frame_text(line);
        let _ = parse_frame_text(line);
        let _ = split_prompt(line);
    }
}

#[test]
fn mutated_samples_and_random_bytes_never_panic() {
    let names = [
        "windbg-htrace-diff.log",
        "windbg-htrace-diff-utf16.log",
        "windbg-x86.log",
        "windbg-two-diffs.log",
        "handle-after.txt",
        "handle-summary.txt",
        "handle-two-processes.txt",
    ];
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let interesting: &[u8] = b"\0\r\n\t :!+`()-0xX>=";
    for name in names {
        let original = sample_bytes(name);
        for round in 0..300 {
            let mut bytes = original.clone();
            let edits = 1 + rng.next() % 8;
            for _ in 0..edits {
                let at = (rng.next() % bytes.len() as u64) as usize;
                match rng.next() % 4 {
                    0 => bytes[at] ^= (rng.next() >> 24) as u8 | 1,
                    1 => bytes[at] = interesting[(rng.next() % interesting.len() as u64) as usize],
                    2 => {
                        bytes.remove(at);
                    }
                    _ => bytes.insert(at, (rng.next() >> 40) as u8),
                }
                if bytes.is_empty() {
                    break;
                }
            }
            if round % 10 == 0 {
                let cut = (rng.next() % (bytes.len() as u64 + 1)) as usize;
                bytes.truncate(cut);
            }
            parse_everything(&bytes);
            if bytes.is_empty() {
                bytes.push(0);
            }
        }
    }
    for length in [0usize, 1, 2, 3, 7, 64, 1000, 4097] {
        for _ in 0..20 {
            let bytes: Vec<u8> = (0..length).map(|_| (rng.next() >> 32) as u8).collect();
            parse_everything(&bytes);
        }
    }
}

#[test]
fn empty_diff_blocks_relocated_modules_and_noisy_listings() {
    let text = "\
ModLoad: 00007ffa`f4a10000 00007ffa`f4a61000   C:\\Program Files\\Acme\\AcmeNet.dll
0:001> !htrace -diff
Handle tracing information snapshot successfully taken.
0x0 new stack traces since the previous snapshot.
Ignoring handles that were already closed...
Outstanding handles opened since the previous snapshot:
Displayed 0x0 stack traces for outstanding handles opened since the previous snapshot.
0:001> lmDvmAcmeNet
start             end                 module name
00007ffa`f5a10000 00007ffa`f5a61000   AcmeNet    (deferred)
    Image path: C:\\Program Files\\Acme\\AcmeNet.dll
    File version:     4.2.18.0
";
    let log = parse_windbg_log(text);
    assert_eq!(log.htrace_blocks.len(), 1);
    let block = &log.htrace_blocks[0];
    assert!(block.diff && block.complete && block.records.is_empty());
    assert_eq!(block.displayed, Some(0));
    assert_eq!(log.modules.len(), 1, "{:?}", log.modules);
    let acme = &log.modules[0];
    assert_eq!(acme.name, "AcmeNet.dll");
    assert_eq!(acme.base, 0x7ffa_f5a1_0000);
    assert_eq!(acme.file_version.as_deref(), Some("4.2.18.0"));
    assert!(log.notes.is_empty(), "{:?}", log.notes);

    let mut noisy = String::from(
        "Nthandle v5.0 - Handle viewer\nPrintApp.exe pid: 1 \\<unable to open process>\n",
    );
    for i in 0..100 {
        noisy.push_str(&format!("garbage line {i}\n"));
    }
    let output = parse_handle_exe(&noisy);
    assert_eq!(output.processes.len(), 1);
    assert_eq!(output.processes[0].user, None);
    assert!(output.notes.len() <= 21, "{}", output.notes.len());
    assert!(output.notes.last().unwrap().contains("80 more"));
}
