//! Scenarios G (pdb/), H (incident-fullmem/), I (pdb/crash.dmp) and the symbol stores (§5 of
//! the README): the committed files agree with leakylib.dll, parse with rust-minidump, and
//! minidump-processor unwinds the crash.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::PathBuf;

use dumpleak_fixtures::leaky::{self, Widget};
use dumpleak_fixtures::pe::PeImage;
use dumpleak_fixtures::scenarios::{KERNEL32_DLL, MSMAPI32_DLL, NTDLL_DLL};
use dumpleak_fixtures::{default_testdata_dir, CvRecord};
use minidump::{
    Minidump, MinidumpException, MinidumpHandleDataStream, MinidumpMemory64List,
    MinidumpMemoryList, MinidumpModuleList, MinidumpThreadList, Module,
};

const PDB_ID: &str = "4F5704A7F90205594C4C44205044422E1";
const DLL_ID: &str = "A3E750526000";

fn td(rel: &str) -> PathBuf {
    default_testdata_dir().join(rel)
}

fn read(rel: &str) -> Vec<u8> {
    std::fs::read(td(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn u32_at(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes(b[o..o + 4].try_into().unwrap())
}

#[test]
fn leakylib_identity_and_call_sites() {
    let img = PeImage::parse(leaky::LEAKYLIB_DLL).unwrap();
    assert_eq!(img.machine, 0x8664);
    assert_eq!(img.image_base, 0x1_8000_0000);
    assert_eq!(
        format!("{:08X}{:x}", img.time_date_stamp, img.size_of_image),
        DLL_ID
    );
    match img.codeview.as_ref().unwrap() {
        CvRecord::Rsds {
            guid,
            age,
            pdb_name,
        } => {
            assert_eq!(format!("{}{age:x}", guid.symsrv()), PDB_ID);
            assert_eq!(pdb_name, "leakylib.pdb");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        img.export_rva("LeakyOpenSession"),
        Some(leaky::RVA_LEAKY_OPEN_SESSION)
    );
    let m = img.map(leaky::LEAKYLIB_DLL).unwrap();
    // call rax (through imp_CreateEventW) right before the open_pool return address.
    let r = leaky::RVA_RET_OPEN_POOL as usize;
    assert_eq!(&m[r - 2..r], &[0xff, 0xd0]);
    // call rel32 open_pool / session_init.
    for (ret, target) in [
        (leaky::RVA_RET_SESSION_INIT, leaky::RVA_OPEN_POOL),
        (leaky::RVA_RET_LEAKY_OPEN_SESSION, leaky::RVA_SESSION_INIT),
    ] {
        let r = ret as usize;
        assert_eq!(m[r - 5], 0xe8, "call at {:#x}", r - 5);
        let rel = u32_at(&m, r - 4) as i32;
        assert_eq!((ret as i64 + rel as i64) as u32, target);
    }
    // mov ebx, dword ptr [rcx+0x100] at the crash address.
    let c = leaky::RVA_CRASH as usize;
    assert_eq!(&m[c..c + 6], &[0x8b, 0x99, 0x00, 0x01, 0x00, 0x00]);
    // The expected symbolizer output lists every one of them.
    let expected = String::from_utf8(read("pdb/symbolizer-expected.txt")).unwrap();
    for rva in [
        leaky::RVA_RET_OPEN_POOL,
        leaky::RVA_RET_SESSION_INIT,
        leaky::RVA_RET_LEAKY_OPEN_SESSION,
        leaky::RVA_CRASH,
    ] {
        assert!(
            expected.contains(&format!("ADDRESS {rva:#x}\n")),
            "{rva:#x}"
        );
    }
}

fn leakylib_module(dump: &Minidump<'_, Vec<u8>>) -> minidump::MinidumpModule {
    let modules = dump.get_stream::<MinidumpModuleList>().unwrap();
    let m = modules
        .iter()
        .find(|m| m.code_file().ends_with("leakylib.dll"))
        .unwrap()
        .clone();
    m
}

#[test]
fn pdb_dumps_leak_two_events_through_leakylib() {
    let before = Minidump::read(read("pdb/before.dmp")).unwrap();
    let after = Minidump::read(read("pdb/after.dmp")).unwrap();
    let space = Widget::start().unwrap().space;
    let want_stack = leaky::widget_leak_stack(&space);
    let base = 0x1_8000_0000u64;
    assert_eq!(
        &want_stack[2..5],
        &[base + 0x10bb, base + 0x1064, base + 0x102d]
    );
    for dump in [&before, &after] {
        let m = leakylib_module(dump);
        assert_eq!(m.base_address(), base);
        assert_eq!(m.size(), 0x6000);
        // rust-minidump prints the code id in lower case.
        assert!(m
            .code_identifier()
            .unwrap()
            .as_str()
            .eq_ignore_ascii_case(DLL_ID));
        assert_eq!(m.debug_identifier().unwrap().breakpad().to_string(), PDB_ID);
        assert_eq!(m.debug_file().unwrap(), "leakylib.pdb");
        assert_eq!(m.version().unwrap(), "1.4.2.0");
    }
    let events = |d: &Minidump<'_, Vec<u8>>| {
        let hd = d.get_stream::<MinidumpHandleDataStream>().unwrap();
        let mut by: BTreeMap<u64, String> = BTreeMap::new();
        for h in hd.iter() {
            by.insert(*h.raw.handle().unwrap(), h.type_name.clone().unwrap());
        }
        by
    };
    let (b, a) = (events(&before), events(&after));
    let new: Vec<_> = a.iter().filter(|(h, _)| !b.contains_key(h)).collect();
    assert_eq!(new.len(), 2);
    assert!(new.iter().all(|(_, t)| t.as_str() == "Event"));
    assert!(b.keys().all(|h| a.contains_key(h)), "nothing closed");
    // Every trace record is an OPEN with the leaking stack.
    let raw = after.get_raw_stream(18).unwrap();
    let n = u32_at(raw, 8) as usize;
    assert_eq!(n, 3);
    for i in 0..n {
        let e = 16 + 288 * i;
        assert_eq!(u32_at(raw, e + 16), 1);
        let depth = u32_at(raw, e + 24) as usize;
        let stack: Vec<u64> = (0..depth)
            .map(|j| u64::from_le_bytes(raw[e + 32 + 8 * j..e + 40 + 8 * j].try_into().unwrap()))
            .collect();
        assert_eq!(stack, want_stack);
    }
}

/// Resolve `addr` to (export, offset) using only the dump's memory at `base`.
fn export_from_memory(
    read: &dyn Fn(u64, usize) -> Option<Vec<u8>>,
    base: u64,
    addr: u64,
) -> (String, u32) {
    let hdr = read(base, 0x400).expect("header page");
    assert_eq!(&hdr[0..2], b"MZ");
    let pe = u32_at(&hdr, 0x3c) as usize;
    assert_eq!(&hdr[pe..pe + 4], b"PE\0\0");
    let opt = pe + 24;
    let dirs = if u16::from_le_bytes([hdr[opt], hdr[opt + 1]]) == 0x10b {
        opt + 96
    } else {
        opt + 112
    };
    let erva = u64::from(u32_at(&hdr, dirs));
    let dir = read(base + erva, 40).expect("export directory");
    let n_names = u32_at(&dir, 24) as usize;
    let funcs = u64::from(u32_at(&dir, 28));
    let names = u64::from(u32_at(&dir, 32));
    let ords = u64::from(u32_at(&dir, 36));
    let name_rvas = read(base + names, 4 * n_names).unwrap();
    let ordinals = read(base + ords, 2 * n_names).unwrap();
    let rva = (addr - base) as u32;
    let mut best: Option<(String, u32)> = None;
    for i in 0..n_names {
        let nrva = u64::from(u32_at(&name_rvas, 4 * i));
        let s = read(base + nrva, 32).unwrap();
        let name =
            String::from_utf8_lossy(&s[..s.iter().position(|&c| c == 0).unwrap()]).into_owned();
        let ord = u16::from_le_bytes([ordinals[2 * i], ordinals[2 * i + 1]]) as u64;
        let f = u32_at(&read(base + funcs + 4 * ord, 4).unwrap(), 0);
        if f <= rva && best.as_ref().is_none_or(|(_, b)| rva - f < *b) {
            best = Some((name, rva - f));
        }
    }
    best.unwrap()
}

#[test]
fn fullmem_dumps_hold_the_mapped_export_tables() {
    let images = [NTDLL_DLL, KERNEL32_DLL, MSMAPI32_DLL];
    for rel in [
        "incident-fullmem/before.dmp",
        "incident-fullmem/after.dmp",
        "incident-fullmem/after-mem64.dmp",
    ] {
        let dump = Minidump::read(read(rel)).unwrap();
        let mut ranges: Vec<(u64, Vec<u8>)> = Vec::new();
        if rel.ends_with("mem64.dmp") {
            assert!(dump.get_stream::<MinidumpMemoryList>().is_err());
            let ml = dump.get_stream::<MinidumpMemory64List>().unwrap();
            for m in ml.iter() {
                ranges.push((m.base_address, m.bytes.to_vec()));
            }
        } else {
            let ml = dump.get_stream::<MinidumpMemoryList>().unwrap();
            for m in ml.iter() {
                ranges.push((m.base_address, m.bytes.to_vec()));
            }
        }
        assert_eq!(ranges.len(), 6, "{rel}: header + export page per image");
        let mem = |addr: u64, len: usize| -> Option<Vec<u8>> {
            ranges.iter().find_map(|(b, bytes)| {
                let off = addr.checked_sub(*b)? as usize;
                bytes.get(off..off + len).map(<[u8]>::to_vec)
            })
        };
        // Every captured byte is the mapped image.
        for img in images {
            let pe = PeImage::parse(img).unwrap();
            let mapped = pe.map(img).unwrap();
            for (b, bytes) in &ranges {
                if (pe.image_base..pe.image_base + u64::from(pe.size_of_image)).contains(b) {
                    let off = (b - pe.image_base) as usize;
                    assert_eq!(&mapped[off..off + bytes.len()], &bytes[..], "{rel} {b:#x}");
                }
            }
        }
        let sym = |addr: u64, base: u64| export_from_memory(&mem, base, addr);
        assert_eq!(sym(0x35f0_2a93, 0x35f0_0000), ("SzGPrev".into(), 0x293));
        assert_eq!(
            sym(0x35f0_121a, 0x35f0_0000),
            ("MAPIInitialize".into(), 0x21a)
        );
        assert_eq!(sym(0x7c80_2e65, 0x7c80_0000), ("CreateMutexA".into(), 0x65));
        assert_eq!(
            sym(0x7c90_220c, 0x7c90_0000),
            ("NtCreateMutant".into(), 0xc)
        );
    }
    // Apart from the memory, the same streams as the incident dumps.
    for (a, b) in [
        ("incident/before.dmp", "incident-fullmem/before.dmp"),
        ("incident/after.dmp", "incident-fullmem/after.dmp"),
        ("incident/after.dmp", "incident-fullmem/after-mem64.dmp"),
    ] {
        let (x, y) = (
            Minidump::read(read(a)).unwrap(),
            Minidump::read(read(b)).unwrap(),
        );
        for st in [4u32, 12, 15, 18] {
            let (sx, sy) = (x.get_raw_stream(st).unwrap(), y.get_raw_stream(st).unwrap());
            assert_eq!(sx.len(), sy.len(), "{b} stream {st}");
            if st == 15 || st == 18 {
                assert_eq!(sx, sy, "{b} stream {st}");
            }
        }
        assert_eq!(x.header.time_date_stamp, y.header.time_date_stamp);
    }
}

#[test]
fn crash_dump_parses() {
    let dump = Minidump::read(read("pdb/crash.dmp")).unwrap();
    let ex = dump.get_stream::<MinidumpException>().unwrap();
    assert_eq!(ex.get_crashing_thread_id(), leaky::WIDGET_TID);
    assert_eq!(ex.raw.exception_record.exception_code, 0xC000_0005);
    let rip = 0x1_8000_0000 + u64::from(leaky::RVA_CRASH);
    assert_eq!(ex.raw.exception_record.exception_address, rip);
    let threads = dump.get_stream::<MinidumpThreadList>().unwrap();
    let t = &threads.threads[0];
    assert_eq!(t.raw.thread_id, leaky::WIDGET_TID);
    let mem = dump.get_memory().unwrap_or_default();
    let stack = t.stack_memory(&mem).unwrap();
    assert_eq!(stack.base_address(), leaky::CRASH_RSP);
    let sys = dump.get_stream::<minidump::MinidumpSystemInfo>().unwrap();
    let ctx = t.context(&sys, None).unwrap();
    assert_eq!(
        ctx.get_instruction_pointer(),
        0x1_8000_0000 + u64::from(leaky::RVA_CRASH)
    );
    assert_eq!(ctx.get_stack_pointer(), leaky::CRASH_RSP);
    let at = |off: u64| -> u64 { stack.get_memory_at_address(leaky::CRASH_RSP + off).unwrap() };
    assert_eq!(at(0x38), 0x1_8000_1064);
    assert_eq!(at(0x68), 0x1_8000_102d);
    assert_eq!(at(0x98), 0x7ff6_1001_e2f7);
}

/// `pdb/crash-fullmem.dmp` is `pdb/crash.dmp` plus a Memory64ListStream holding leakylib.dll
/// as the loader maps it (every byte of its SizeOfImage) and the crashing thread's stack.
#[test]
fn crash_fullmem_dump_holds_the_mapped_image() {
    let (plain, full) = (read("pdb/crash.dmp"), read("pdb/crash-fullmem.dmp"));
    let (plain, full) = (
        Minidump::read(&plain[..]).unwrap(),
        Minidump::read(&full[..]).unwrap(),
    );
    for stream in [3, 4, 5, 6, 7, 12, 15, 18] {
        let (a, b) = (
            plain.get_raw_stream(stream).unwrap(),
            full.get_raw_stream(stream).unwrap(),
        );
        assert_eq!(a.len(), b.len(), "stream {stream}");
    }
    assert!(plain.get_raw_stream(9).is_err());
    let mem = full.get_stream::<MinidumpMemory64List>().unwrap();
    let ranges: Vec<(u64, u64)> = mem.iter().map(|m| (m.base_address, m.size)).collect();
    assert_eq!(
        ranges,
        [
            (0x1_8000_0000, 0x6000),
            (leaky::CRASH_RSP, leaky::CRASH_STACK_BASE - leaky::CRASH_RSP)
        ]
    );
    let img = PeImage::parse(leaky::LEAKYLIB_DLL).unwrap();
    let mapped = img.map(leaky::LEAKYLIB_DLL).unwrap();
    let image = mem.memory_at_address(0x1_8000_0000).unwrap();
    assert!(image.bytes == &mapped[..], "the mapped leakylib.dll");
    // The exception directory (.pdata) is where the image says, with its three functions.
    let pdata = image.bytes.get(0x4000..0x4024).unwrap();
    let begins: Vec<u32> = pdata.chunks(12).map(|f| u32_at(f, 0)).collect();
    assert_eq!(begins, [0x1020, 0x1050, 0x1090]);
}

/// What minidump-processor 0.27 makes of the crash, without and with the Breakpad symbols of
/// `testdata/symstore`. Printed with `--nocapture`; the README quotes it.
#[test]
fn crash_dump_unwinds_with_minidump_processor() {
    use minidump_processor::process_minidump;
    use minidump_unwind::{simple_symbol_supplier, Symbolizer};
    let dump = Minidump::read(read("pdb/crash.dmp")).unwrap();
    let rip = 0x1_8000_0000 + u64::from(leaky::RVA_CRASH);
    for (label, paths) in [
        ("no symbols", vec![]),
        ("breakpad symbols", vec![td("symstore")]),
    ] {
        let provider = Symbolizer::new(simple_symbol_supplier(paths));
        let state = pollster::block_on(process_minidump(&dump, &provider)).unwrap();
        let crash = state.exception_info.as_ref().unwrap();
        assert_eq!(crash.address.0, 0x108, "{label}: read address");
        let t = &state.threads[state.requesting_thread.unwrap()];
        assert_eq!(t.thread_id, leaky::WIDGET_TID);
        println!("== {label}");
        for (i, f) in t.frames.iter().enumerate() {
            println!(
                "{i:2} {:#018x} {:?} {} {}",
                f.instruction,
                f.trust,
                f.module.as_ref().map_or("?".to_owned(), |m| m
                    .code_file()
                    .rsplit('\\')
                    .next()
                    .unwrap()
                    .to_owned()),
                f.function_name.as_deref().unwrap_or("")
            );
        }
        let f0 = &t.frames[0];
        assert_eq!(f0.instruction, rip, "{label}");
        assert!(f0
            .module
            .as_ref()
            .unwrap()
            .code_file()
            .ends_with("leakylib.dll"));
        let ips: Vec<u64> = t.frames.iter().map(|f| f.instruction).collect();
        // Caller frames: rust-minidump reports `instruction` = return address - 1.
        assert_eq!(
            ips,
            [
                rip,
                0x1_8000_1064 - 1,
                0x1_8000_102d - 1,
                0x7ff6_1001_e2f7 - 1,
                0x7ff6_1001_b0a4 - 1,
                0x7ff6_1003_a9e0 - 1
            ],
            "{label}"
        );
        if label == "breakpad symbols" {
            let inl: Vec<_> = t.frames[0]
                .inlines
                .iter()
                .map(|i| (i.function_name.clone(), i.source_line))
                .collect();
            println!(
                "   frame 0 inlines: {inl:?}, line {:?}",
                t.frames[0].source_line
            );
            assert_eq!(inl, [("acquire_slot(pool*)".to_owned(), Some(52))]);
            assert_eq!(t.frames[0].source_line, Some(61));
            let names: Vec<_> = t.frames[..3]
                .iter()
                .map(|f| f.function_name.clone().unwrap_or_default())
                .collect();
            assert_eq!(
                names,
                [
                    "open_pool(pool*, unsigned int)",
                    "session_init(session_ctx*, unsigned int)",
                    "LeakyOpenSession(session_ctx*, unsigned int)"
                ]
            );
        }
    }
}

#[test]
fn symbol_stores() {
    let pdb = read("pdb/leakylib.pdb");
    // Compressed PDB: a CAB holding exactly leakylib.pdb.
    let f =
        std::fs::File::open(td(&format!("symstore/leakylib.pdb/{PDB_ID}/leakylib.pd_"))).unwrap();
    let mut cabinet = cab::Cabinet::new(f).unwrap();
    let names: Vec<String> = cabinet
        .folder_entries()
        .flat_map(|f| {
            f.file_entries()
                .map(|e| e.name().to_owned())
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(names, ["leakylib.pdb"]);
    let mut out = Vec::new();
    cabinet
        .read_file("leakylib.pdb")
        .unwrap()
        .read_to_end(&mut out)
        .unwrap();
    assert!(
        out == pdb,
        "the .pd_ decompresses to testdata/pdb/leakylib.pdb"
    );
    assert_eq!(
        read(&format!("symstore/leakylib.dll/{DLL_ID}/leakylib.dll")),
        leaky::LEAKYLIB_DLL
    );
    let sym = String::from_utf8(read(&format!(
        "symstore/leakylib.pdb/{PDB_ID}/leakylib.sym"
    )))
    .unwrap();
    assert!(sym.starts_with(&format!("MODULE windows x86_64 {PDB_ID} leakylib.pdb\n")));
    assert!(sym.contains(&format!("INFO CODE_ID {DLL_ID} leakylib.dll\n")));
    assert!(sym.contains("INLINE_ORIGIN 0 acquire_slot(pool*)\n"));
    assert!(td("symstore-2tier/index2.txt").is_file());
    assert_eq!(
        read(&format!(
            "symstore-2tier/le/leakylib.pdb/{PDB_ID}/leakylib.pdb"
        )),
        pdb
    );
    let ptr = read(&format!("symstore-ptr/leakylib.pdb/{PDB_ID}/file.ptr"));
    assert_eq!(ptr, b"PATH:testdata/pdb/leakylib.pdb");
    // Relative to the repository root.
    assert_eq!(
        std::fs::read(
            default_testdata_dir()
                .parent()
                .unwrap()
                .join("testdata/pdb/leakylib.pdb")
        )
        .unwrap(),
        pdb
    );
}
