//! Synthetic inputs: small dumps, little-endian words and a deterministic generator for
//! mutations. Also compiled into `tests/bounded_memory.rs` (with `#[path]`), which has to be
//! a test binary of its own.

use dumpleak_fixtures::writer::{DumpWriter, MiscInfo, SystemInfo, MISC1_PROCESS_ID};

/// A dump of at most 4 KiB: system info, process id 42, plus whatever `extra` adds.
pub fn small_dump(extra: impl FnOnce(&mut DumpWriter)) -> Vec<u8> {
    let mut writer = DumpWriter::with_directory_slots(6);
    writer.set_time_date_stamp(1_772_441_400);
    writer.add_system_info(&SystemInfo::windows_10_x64());
    writer.add_misc_info(&MiscInfo {
        flags1: MISC1_PROCESS_ID,
        process_id: 42,
        process_create_time: 0,
        process_user_time: 0,
        process_kernel_time: 0,
    });
    extra(&mut writer);
    let dump = writer.finish();
    assert!(dump.len() <= 4096, "{} bytes", dump.len());
    dump
}

/// `values` as little-endian 32-bit words.
pub fn words(values: &[u32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// Where the first stream of `stream_type` in a dump is: `(offset, size)`.
pub fn stream_location(dump: &[u8], stream_type: u32) -> (usize, usize) {
    let word = |at: usize| u32::from_le_bytes(dump[at..at + 4].try_into().unwrap()) as usize;
    let (count, directory) = (word(8), word(12));
    (0..count)
        .map(|index| directory + 12 * index)
        .find(|&entry| word(entry) == stream_type as usize)
        .map(|entry| (word(entry + 8), word(entry + 4)))
        .expect("stream present")
}

/// A xorshift generator: deterministic, no dependency.
pub struct Rng(pub u64);

impl Rng {
    /// The next state.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// `testdata/pdb/crash-fullmem.dmp` with leakylib.dll's SizeOfImage set to `size` in its
/// ModuleList entry and in the PE header of its image in memory (of which the dump holds
/// 0x6000 bytes): a module claiming far more image than the dump captured.
pub fn fullmem_crash_claiming(size: u32) -> Vec<u8> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut dump = std::fs::read(root.join("testdata/pdb/crash-fullmem.dmp")).unwrap();
    let dll = std::fs::read(root.join("testdata/pdb/leakylib.dll")).unwrap();
    let find = |dump: &[u8], pattern: &[u8]| {
        dump.windows(pattern.len())
            .position(|window| window == pattern)
            .expect("leakylib.dll in crash-fullmem.dmp")
    };
    // ModuleList entry: BaseOfImage, SizeOfImage, CheckSum, TimeDateStamp.
    let mut entry = 0x1_8000_0000u64.to_le_bytes().to_vec();
    entry.extend(words(&[0x6000, 0, 0xa3e7_5052]));
    let module = find(&dump, &entry);
    dump[module + 8..module + 12].copy_from_slice(&size.to_le_bytes());
    // The captured headers: SizeOfImage at PE header + 24 (optional header) + 56.
    let image = find(&dump, &dll[..0x200]);
    let nt =
        image + u32::from_le_bytes(dump[image + 0x3c..image + 0x40].try_into().unwrap()) as usize;
    dump[nt + 80..nt + 84].copy_from_slice(&size.to_le_bytes());
    dump
}
