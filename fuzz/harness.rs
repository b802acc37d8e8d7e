//! The code under test for each fuzz target, shared by the libFuzzer targets in
//! `fuzz/fuzz_targets/` and by the corpus regression test `tests/it/fuzz_corpus.rs` (which
//! includes this file with `#[path]`), so both exercise exactly the same calls.
//!
//! Every function takes arbitrary bytes and must return without panicking, hanging or
//! allocating without bound; errors from the library are expected and ignored.

#![allow(dead_code)]

use dumpleak::analysis::DiffOptions;
use dumpleak::snapshot::{load_minidump_bytes, load_text, LoadOptions, Snapshot};
use dumpleak::symbols::locate::SymbolPath;
use dumpleak::symbols::Symbolizer;
use dumpleak_fixtures::writer::{
    DumpWriter, MiscInfo, Module, SystemInfo, HANDLE_OPERATION_LIST_STREAM, MISC1_PROCESS_ID,
};
use std::path::Path;

#[path = "render.rs"]
pub mod render;

/// One fuzz target's code.
pub type Target = fn(&[u8]);

/// The fuzz targets, by the name of their corpus directory.
pub const TARGETS: &[(&str, Target)] = &[
    ("load_minidump", load_minidump),
    ("handle_trace", handle_trace),
    ("text_inputs", text_inputs),
    ("symbol_path", symbol_path),
    ("render", render::fuzz),
];

/// Runs the symbolise and analyse stages on a loaded snapshot, offline (a default
/// [`Symbolizer`] only reads export tables from dump memory; nothing touches the network
/// or the file system).
fn analyse(snapshot: Snapshot) {
    let symbolizer = Symbolizer::default();
    let mut statuses = std::collections::BTreeMap::new();
    let _ = dumpleak::symbols::crash_stack(&snapshot, &symbolizer, 12, &mut statuses);
    let _ = dumpleak::show_input(snapshot, &symbolizer, &DiffOptions::default(), 12);
}

/// `load_minidump`: bytes as a whole minidump file.
pub fn load_minidump(data: &[u8]) {
    if let Ok(snapshot) = load_minidump_bytes(Path::new("fuzz.dmp"), data) {
        analyse(snapshot);
    }
}

/// The well-formed dump `handle_trace` wraps around the fuzzed HandleOperationListStream:
/// system info, a process id and one module so that stack addresses can land in an image.
pub fn trace_dump(stream: &[u8]) -> Vec<u8> {
    let mut writer = DumpWriter::with_directory_slots(4);
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
        base_of_image: 0x7ff6_0000_0000,
        size_of_image: 0x10_0000,
        checksum: 0,
        time_date_stamp: 0x5f00_0000,
        name: r"C:\app\leaky.exe".to_string(),
        file_version: [1, 2, 3, 4],
        product_version: [1, 2, 3, 4],
        is_dll: false,
        cv_record: None,
    }]);
    writer.add_stream(HANDLE_OPERATION_LIST_STREAM, stream);
    writer.finish()
}

/// `handle_trace`: bytes as the HandleOperationListStream (18) of an otherwise valid dump.
pub fn handle_trace(data: &[u8]) {
    load_minidump(&trace_dump(data));
}

/// `text_inputs`: bytes as a WinDbg/cdb log or handle.exe listing, parsed directly and
/// loaded as a snapshot (default options, then the first block / an arbitrary pid).
pub fn text_inputs(data: &[u8]) {
    let _ = dumpleak::snapshot::text::parse_bytes(data);
    let path = Path::new("fuzz.log");
    if let Ok(snapshot) = load_text(path, data, &LoadOptions::default()) {
        analyse(snapshot);
    }
    let _ = load_text(
        path,
        data,
        &LoadOptions {
            pid: Some(4),
            block: Some(0),
            ..Default::default()
        },
    );
}

/// `symbol_path`: bytes (lossy UTF-8) as an `_NT_SYMBOL_PATH` value.
pub fn symbol_path(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(path) = SymbolPath::parse(&text) {
        let _ = path.elements().len();
        let _ = path.notes().len();
    }
}
