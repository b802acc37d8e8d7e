//! A small, deterministic minidump writer.
//!
//! Layout produced by [`DumpWriter::finish`]:
//! `MINIDUMP_HEADER` (32 bytes) at offset 0, then (if slots were reserved with
//! [`DumpWriter::with_directory_slots`] and they suffice) the stream directory right after the
//! header, as Windows does, then every blob in the order it was added (each 4-byte aligned,
//! padding is zero). If the reserved slots do not suffice (or none were reserved) the directory is
//! appended at the end of the file. All RVAs are absolute file offsets.

use std::collections::BTreeMap;

/// `'MDMP'` little-endian.
pub const MINIDUMP_SIGNATURE: u32 = 0x504d_444d;
/// Low 16 bits of `MINIDUMP_HEADER::Version`.
pub const MINIDUMP_VERSION: u32 = 0xa793;

pub const THREAD_LIST_STREAM: u32 = 3;
pub const MODULE_LIST_STREAM: u32 = 4;
pub const MEMORY_LIST_STREAM: u32 = 5;
pub const EXCEPTION_STREAM: u32 = 6;
pub const SYSTEM_INFO_STREAM: u32 = 7;
pub const MEMORY64_LIST_STREAM: u32 = 9;
pub const HANDLE_DATA_STREAM: u32 = 12;
pub const MISC_INFO_STREAM: u32 = 15;
pub const HANDLE_OPERATION_LIST_STREAM: u32 = 18;

/// `MINIDUMP_TYPE` flags used by the fixtures.
pub const MINIDUMP_WITH_FULL_MEMORY: u64 = 0x2;
pub const MINIDUMP_WITH_HANDLE_DATA: u64 = 0x4;

/// `sizeof(CONTEXT)` on AMD64.
pub const CONTEXT_AMD64_SIZE: usize = 1232;
pub const CONTEXT_AMD64: u32 = 0x0010_0000;
pub const CONTEXT_AMD64_CONTROL: u32 = CONTEXT_AMD64 | 0x1;
pub const CONTEXT_AMD64_INTEGER: u32 = CONTEXT_AMD64 | 0x2;
pub const CONTEXT_AMD64_SEGMENTS: u32 = CONTEXT_AMD64 | 0x4;
pub const CONTEXT_AMD64_FLOATING_POINT: u32 = CONTEXT_AMD64 | 0x8;
pub const CONTEXT_AMD64_DEBUG_REGISTERS: u32 = CONTEXT_AMD64 | 0x10;
/// `CONTEXT_ALL` for AMD64 (0x10001f).
pub const CONTEXT_AMD64_ALL: u32 = CONTEXT_AMD64_CONTROL
    | CONTEXT_AMD64_INTEGER
    | CONTEXT_AMD64_SEGMENTS
    | CONTEXT_AMD64_FLOATING_POINT
    | CONTEXT_AMD64_DEBUG_REGISTERS;
pub const EXCEPTION_ACCESS_VIOLATION: u32 = 0xC000_0005;
/// `STATUS_NO_MEMORY`.
pub const STATUS_NO_MEMORY: u32 = 0xC000_0017;
/// `sizeof(CONTEXT)` on x86 (with the 512-byte `ExtendedRegisters`).
pub const CONTEXT_X86_SIZE: usize = 716;
pub const CONTEXT_X86: u32 = 0x0001_0000;
/// `CONTEXT_ALL` for x86: control, integer, segments, floating point, debug and extended
/// registers (0x1003f).
pub const CONTEXT_X86_ALL: u32 = CONTEXT_X86 | 0x3f;
/// `EXCEPTION_NONCONTINUABLE`.
pub const EXCEPTION_NONCONTINUABLE: u32 = 0x1;

pub const PROCESSOR_ARCHITECTURE_INTEL: u16 = 0;
pub const PROCESSOR_ARCHITECTURE_AMD64: u16 = 9;
pub const VER_PLATFORM_WIN32_NT: u32 = 2;

pub const MISC1_PROCESS_ID: u32 = 1;
pub const MISC1_PROCESS_TIMES: u32 = 2;

pub const HANDLE_OP_OPEN: u32 = 1;
pub const HANDLE_OP_CLOSE: u32 = 2;
pub const HANDLE_OP_BAD_REF: u32 = 3;

/// Size of `AVRF_HANDLE_OPERATION`.
pub const AVRF_HANDLE_OPERATION_SIZE: u32 = 288;
/// `AVRF_MAX_TRACES`.
pub const AVRF_MAX_TRACES: usize = 32;

/// `MINIDUMP_LOCATION_DESCRIPTOR`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Location {
    pub data_size: u32,
    pub rva: u32,
}

/// Low-level writer: raw blobs, strings and directory entries.
#[derive(Debug, Clone)]
pub struct DumpWriter {
    buf: Vec<u8>,
    dir: Vec<(u32, Location)>,
    dir_slots: usize,
    time_date_stamp: u32,
    flags: u64,
    version: u32,
    checksum: u32,
    strings: BTreeMap<String, u32>,
}

impl Default for DumpWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl DumpWriter {
    /// A writer that puts the stream directory at the end of the file.
    pub fn new() -> Self {
        Self::with_directory_slots(0)
    }

    /// A writer that reserves `slots` directory entries right after the header (Windows layout).
    pub fn with_directory_slots(slots: usize) -> Self {
        DumpWriter {
            buf: vec![0; 32 + 12 * slots],
            dir: Vec::new(),
            dir_slots: slots,
            time_date_stamp: 0,
            flags: 0,
            version: MINIDUMP_VERSION,
            checksum: 0,
            strings: BTreeMap::new(),
        }
    }

    /// Header `TimeDateStamp` (capture time, seconds since 1970).
    pub fn set_time_date_stamp(&mut self, t: u32) -> &mut Self {
        self.time_date_stamp = t;
        self
    }

    /// Header `Flags` (`MINIDUMP_TYPE`).
    pub fn set_flags(&mut self, flags: u64) -> &mut Self {
        self.flags = flags;
        self
    }

    /// Whole header `Version` field (default `0xa793`; the high 16 bits are implementation-specific).
    pub fn set_version(&mut self, version: u32) -> &mut Self {
        self.version = version;
        self
    }

    /// Header `CheckSum` (default 0).
    pub fn set_checksum(&mut self, checksum: u32) -> &mut Self {
        self.checksum = checksum;
        self
    }

    /// Current end of file (the RVA the next blob would get before alignment).
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Always false: the header is always present.
    pub fn is_empty(&self) -> bool {
        false
    }

    fn align(&mut self, align: usize) {
        assert!(align.is_power_of_two(), "alignment must be a power of two");
        while self.buf.len() & (align - 1) != 0 {
            self.buf.push(0);
        }
    }

    /// Append raw bytes (4-byte aligned) and return their RVA.
    pub fn add_blob(&mut self, bytes: &[u8]) -> u32 {
        self.add_blob_aligned(bytes, 4)
    }

    /// Append raw bytes at the given alignment (a power of two; 0 means 1) and return their RVA.
    pub fn add_blob_aligned(&mut self, bytes: &[u8], align: usize) -> u32 {
        self.align(align.max(1));
        let rva = u32::try_from(self.buf.len()).expect("dump larger than 4 GiB");
        self.buf.extend_from_slice(bytes);
        rva
    }

    /// Reserve `len` zero bytes (4-byte aligned) to be filled later with [`DumpWriter::patch`].
    pub fn reserve(&mut self, len: usize) -> u32 {
        self.add_blob(&vec![0; len])
    }

    /// Overwrite bytes at an absolute offset (must lie inside what was already written).
    pub fn patch(&mut self, rva: u32, bytes: &[u8]) {
        let start = rva as usize;
        self.buf[start..start + bytes.len()].copy_from_slice(bytes);
    }

    /// Append a `MINIDUMP_STRING` (u32 byte length, UTF-16LE, NUL u16), shared with any identical
    /// string added before through this method.
    pub fn add_string(&mut self, s: &str) -> u32 {
        if let Some(&rva) = self.strings.get(s) {
            return rva;
        }
        let rva = self.add_string_unique(s);
        self.strings.insert(s.to_owned(), rva);
        rva
    }

    /// Append a `MINIDUMP_STRING` that is never shared.
    pub fn add_string_unique(&mut self, s: &str) -> u32 {
        self.add_blob(&minidump_string(s))
    }

    /// Append `bytes` and add a directory entry for them.
    pub fn add_stream(&mut self, stream_type: u32, bytes: &[u8]) -> Location {
        let rva = self.add_blob(bytes);
        let loc = Location {
            data_size: bytes.len() as u32,
            rva,
        };
        self.add_directory_entry(stream_type, loc);
        loc
    }

    /// Add a raw directory entry (any location, even a bogus one).
    pub fn add_directory_entry(&mut self, stream_type: u32, loc: Location) {
        self.dir.push((stream_type, loc));
    }

    /// Assemble the file.
    pub fn finish(mut self) -> Vec<u8> {
        let n = self.dir.len();
        let mut dir_bytes = Vec::with_capacity(n * 12);
        for (ty, loc) in &self.dir {
            put_u32(&mut dir_bytes, *ty);
            put_u32(&mut dir_bytes, loc.data_size);
            put_u32(&mut dir_bytes, loc.rva);
        }
        let dir_rva = if n <= self.dir_slots {
            self.patch(32, &dir_bytes);
            32
        } else {
            self.add_blob(&dir_bytes)
        };
        let mut hdr = Vec::with_capacity(32);
        put_u32(&mut hdr, MINIDUMP_SIGNATURE);
        put_u32(&mut hdr, self.version);
        put_u32(&mut hdr, n as u32);
        put_u32(&mut hdr, dir_rva);
        put_u32(&mut hdr, self.checksum);
        put_u32(&mut hdr, self.time_date_stamp);
        put_u64(&mut hdr, self.flags);
        self.patch(0, &hdr);
        self.buf
    }

    // ------------------------------------------------------------------ typed streams

    /// SystemInfoStream (7): 56-byte `MINIDUMP_SYSTEM_INFO` + CSD string.
    pub fn add_system_info(&mut self, si: &SystemInfo) -> Location {
        let csd = self.add_string(&si.csd_version);
        let mut b = Vec::with_capacity(56);
        put_u16(&mut b, si.processor_architecture);
        put_u16(&mut b, si.processor_level);
        put_u16(&mut b, si.processor_revision);
        b.push(si.number_of_processors);
        b.push(si.product_type);
        put_u32(&mut b, si.major_version);
        put_u32(&mut b, si.minor_version);
        put_u32(&mut b, si.build_number);
        put_u32(&mut b, si.platform_id);
        put_u32(&mut b, csd);
        put_u16(&mut b, si.suite_mask);
        put_u16(&mut b, 0);
        if si.processor_architecture == PROCESSOR_ARCHITECTURE_INTEL {
            // X86CpuInfo: VendorId[3], VersionInformation, FeatureInformation, AMDExtendedCpuFeatures
            b.extend_from_slice(b"GenuineIntel");
            put_u32(&mut b, 0x0000_0f29);
            put_u32(&mut b, 0xbfeb_fbff);
            put_u32(&mut b, 0);
        } else {
            // OtherCpuInfo: ProcessorFeatures[2]
            put_u64(&mut b, 0x0000_0000_0107_6fb9);
            put_u64(&mut b, 0);
            put_u64(&mut b, 0);
        }
        debug_assert_eq!(b.len(), 56);
        self.add_stream(SYSTEM_INFO_STREAM, &b)
    }

    /// MiscInfoStream (15): 24-byte `MINIDUMP_MISC_INFO`.
    pub fn add_misc_info(&mut self, mi: &MiscInfo) -> Location {
        let mut b = Vec::with_capacity(24);
        put_u32(&mut b, 24);
        put_u32(&mut b, mi.flags1);
        put_u32(&mut b, mi.process_id);
        put_u32(&mut b, mi.process_create_time);
        put_u32(&mut b, mi.process_user_time);
        put_u32(&mut b, mi.process_kernel_time);
        self.add_stream(MISC_INFO_STREAM, &b)
    }

    /// ModuleListStream (4): u32 count + 108-byte `MINIDUMP_MODULE` each.
    pub fn add_module_list(&mut self, modules: &[Module]) -> Location {
        let mut b = Vec::with_capacity(4 + 108 * modules.len());
        put_u32(&mut b, modules.len() as u32);
        for m in modules {
            let name_rva = self.add_string_unique(&m.name);
            let cv = match &m.cv_record {
                Some(cv) => {
                    let bytes = cv.to_bytes();
                    Location {
                        data_size: bytes.len() as u32,
                        rva: self.add_blob(&bytes),
                    }
                }
                None => Location::default(),
            };
            put_u64(&mut b, m.base_of_image);
            put_u32(&mut b, m.size_of_image);
            put_u32(&mut b, m.checksum);
            put_u32(&mut b, m.time_date_stamp);
            put_u32(&mut b, name_rva);
            // VS_FIXEDFILEINFO
            let fv = m.file_version;
            let pv = m.product_version;
            put_u32(&mut b, 0xFEEF_04BD);
            put_u32(&mut b, 0x0001_0000);
            put_u32(&mut b, (u32::from(fv[0]) << 16) | u32::from(fv[1]));
            put_u32(&mut b, (u32::from(fv[2]) << 16) | u32::from(fv[3]));
            put_u32(&mut b, (u32::from(pv[0]) << 16) | u32::from(pv[1]));
            put_u32(&mut b, (u32::from(pv[2]) << 16) | u32::from(pv[3]));
            put_u32(&mut b, 0x3f); // FileFlagsMask
            put_u32(&mut b, 0); // FileFlags
            put_u32(&mut b, 0x0004_0004); // FileOS = VOS_NT_WINDOWS32
            put_u32(&mut b, if m.is_dll { 2 } else { 1 }); // VFT_DLL / VFT_APP
            put_u32(&mut b, 0); // FileSubtype
            put_u32(&mut b, 0); // FileDateMS
            put_u32(&mut b, 0); // FileDateLS
            put_u32(&mut b, cv.data_size);
            put_u32(&mut b, cv.rva);
            put_u32(&mut b, 0); // MiscRecord
            put_u32(&mut b, 0);
            put_u64(&mut b, 0); // Reserved0
            put_u64(&mut b, 0); // Reserved1
        }
        debug_assert_eq!(b.len(), 4 + 108 * modules.len());
        self.add_stream(MODULE_LIST_STREAM, &b)
    }

    /// HandleDataStream (12). Type names are shared; object names are shared when identical.
    /// Object-information chains (v2 only) are written as linked `MINIDUMP_HANDLE_OBJECT_INFORMATION`
    /// blobs, `SizeOfInfo` = number of bytes after the 12-byte header (per the SDK).
    pub fn add_handle_data(
        &mut self,
        version: DescriptorVersion,
        handles: &[HandleDescriptor],
    ) -> Location {
        let size = version.size();
        let mut b = Vec::with_capacity(16 + size as usize * handles.len());
        put_u32(&mut b, 16);
        put_u32(&mut b, size);
        put_u32(&mut b, handles.len() as u32);
        put_u32(&mut b, 0);
        for h in handles {
            let type_rva = h.type_name.as_deref().map_or(0, |s| self.add_string(s));
            let name_rva = h.object_name.as_deref().map_or(0, |s| self.add_string(s));
            let info_rva = if version == DescriptorVersion::V2 {
                self.add_object_info_chain(&h.object_info)
            } else {
                0
            };
            put_u64(&mut b, h.handle);
            put_u32(&mut b, type_rva);
            put_u32(&mut b, name_rva);
            put_u32(&mut b, h.attributes);
            put_u32(&mut b, h.granted_access);
            put_u32(&mut b, h.handle_count);
            put_u32(&mut b, h.pointer_count);
            if version == DescriptorVersion::V2 {
                put_u32(&mut b, info_rva);
                put_u32(&mut b, 0);
            }
        }
        self.add_stream(HANDLE_DATA_STREAM, &b)
    }

    /// Write an object-information chain; returns the RVA of the first element (0 if empty).
    pub fn add_object_info_chain(&mut self, chain: &[ObjectInfo]) -> u32 {
        // Written back to front so each element can point at the next one.
        let mut next = 0u32;
        for info in chain.iter().rev() {
            let mut b = Vec::with_capacity(12 + info.data.len());
            put_u32(&mut b, next);
            put_u32(&mut b, info.info_type);
            put_u32(&mut b, info.data.len() as u32);
            b.extend_from_slice(&info.data);
            next = self.add_blob(&b);
        }
        next
    }

    /// HandleOperationListStream (18): 16-byte header + 288-byte `AVRF_HANDLE_OPERATION` each,
    /// in the order given.
    pub fn add_handle_operations(&mut self, ops: &[HandleOperation]) -> Location {
        let mut b = Vec::with_capacity(16 + 288 * ops.len());
        put_u32(&mut b, 16);
        put_u32(&mut b, AVRF_HANDLE_OPERATION_SIZE);
        put_u32(&mut b, ops.len() as u32);
        put_u32(&mut b, 0);
        for op in ops {
            b.extend_from_slice(&op.to_bytes());
        }
        self.add_stream(HANDLE_OPERATION_LIST_STREAM, &b)
    }

    /// ThreadListStream (3): minimal `MINIDUMP_THREAD` entries (48 bytes): no stack memory,
    /// no context (both locations zero).
    pub fn add_thread_list(&mut self, threads: &[Thread]) -> Location {
        let mut b = Vec::with_capacity(4 + 48 * threads.len());
        put_u32(&mut b, threads.len() as u32);
        for t in threads {
            put_u32(&mut b, t.thread_id);
            put_u32(&mut b, t.suspend_count);
            put_u32(&mut b, t.priority_class);
            put_u32(&mut b, t.priority);
            put_u64(&mut b, t.teb);
            put_u64(&mut b, t.stack_start); // Stack.StartOfMemoryRange
            put_u32(&mut b, 0); // Stack.Memory.DataSize
            put_u32(&mut b, 0); // Stack.Memory.Rva
            put_u32(&mut b, 0); // ThreadContext.DataSize
            put_u32(&mut b, 0); // ThreadContext.Rva
        }
        self.add_stream(THREAD_LIST_STREAM, &b)
    }

    /// Append a thread context (e.g. [`ContextAmd64::to_bytes`]) 16-byte aligned and return its
    /// location, for [`ThreadEx::context`] and [`ExceptionInfo`]'s thread context.
    pub fn add_context(&mut self, bytes: &[u8]) -> Location {
        let rva = self.add_blob_aligned(bytes, 16);
        Location {
            data_size: bytes.len() as u32,
            rva,
        }
    }

    /// Append a block of captured memory (16-byte aligned) and return its location, e.g. a
    /// thread's stack, referenced by [`ThreadEx::stack`] and [`DumpWriter::add_memory_list_at`].
    pub fn add_memory_bytes(&mut self, bytes: &[u8]) -> Location {
        let rva = self.add_blob_aligned(bytes, 16);
        Location {
            data_size: bytes.len() as u32,
            rva,
        }
    }

    /// ThreadListStream (3) with stack memory and context locations (written beforehand with
    /// [`DumpWriter::add_memory_bytes`] / [`DumpWriter::add_context`]).
    pub fn add_thread_list_ex(&mut self, threads: &[ThreadEx]) -> Location {
        let mut b = Vec::with_capacity(4 + 48 * threads.len());
        put_u32(&mut b, threads.len() as u32);
        for t in threads {
            let (start, mem) = t
                .stack
                .unwrap_or((t.thread.stack_start, Location::default()));
            put_u32(&mut b, t.thread.thread_id);
            put_u32(&mut b, t.thread.suspend_count);
            put_u32(&mut b, t.thread.priority_class);
            put_u32(&mut b, t.thread.priority);
            put_u64(&mut b, t.thread.teb);
            put_u64(&mut b, start);
            put_u32(&mut b, mem.data_size);
            put_u32(&mut b, mem.rva);
            put_u32(&mut b, t.context.data_size);
            put_u32(&mut b, t.context.rva);
        }
        self.add_stream(THREAD_LIST_STREAM, &b)
    }

    /// ExceptionStream (6): `MINIDUMP_EXCEPTION_STREAM` (168 bytes).
    pub fn add_exception(&mut self, e: &ExceptionInfo) -> Location {
        let mut b = Vec::with_capacity(168);
        put_u32(&mut b, e.thread_id);
        put_u32(&mut b, 0); // __alignment
        put_u32(&mut b, e.code);
        put_u32(&mut b, e.flags);
        put_u64(&mut b, e.record);
        put_u64(&mut b, e.address);
        assert!(e.parameters.len() <= 15, "at most 15 exception parameters");
        put_u32(&mut b, e.parameters.len() as u32);
        put_u32(&mut b, 0); // __unusedAlignment
        for i in 0..15 {
            put_u64(&mut b, e.parameters.get(i).copied().unwrap_or(0));
        }
        put_u32(&mut b, e.thread_context.data_size);
        put_u32(&mut b, e.thread_context.rva);
        debug_assert_eq!(b.len(), 168);
        self.add_stream(EXCEPTION_STREAM, &b)
    }

    /// MemoryListStream (5) over bytes already written (e.g. a thread stack shared with the
    /// thread record, as Windows does): `(StartOfMemoryRange, location)` each.
    pub fn add_memory_list_at(&mut self, ranges: &[(u64, Location)]) -> Location {
        let mut b = Vec::with_capacity(4 + 16 * ranges.len());
        put_u32(&mut b, ranges.len() as u32);
        for (start, loc) in ranges {
            put_u64(&mut b, *start);
            put_u32(&mut b, loc.data_size);
            put_u32(&mut b, loc.rva);
        }
        self.add_stream(MEMORY_LIST_STREAM, &b)
    }

    /// Memory64ListStream (9): `MINIDUMP_MEMORY64_LIST` (NumberOfMemoryRanges u64, BaseRva u64,
    /// then `MINIDUMP_MEMORY_DESCRIPTOR64` {StartOfMemoryRange u64, DataSize u64} each). The
    /// stream is written first; the bytes of all ranges follow it contiguously from `BaseRva`
    /// (16-byte aligned, no padding between ranges), as in a full-memory dump.
    pub fn add_memory64_list(&mut self, ranges: &[MemoryRange]) -> Location {
        let mut b = Vec::with_capacity(16 + 16 * ranges.len());
        put_u64(&mut b, ranges.len() as u64);
        put_u64(&mut b, 0); // BaseRva, patched below
        for r in ranges {
            put_u64(&mut b, r.start);
            put_u64(&mut b, r.bytes.len() as u64);
        }
        let loc = self.add_stream(MEMORY64_LIST_STREAM, &b);
        self.align(16);
        let base = self.buf.len() as u64;
        for r in ranges {
            self.buf.extend_from_slice(&r.bytes);
        }
        self.patch(loc.rva + 8, &base.to_le_bytes());
        loc
    }

    /// Memory64ListStream (9) descriptors only, for a dump whose memory is written by the caller
    /// (a sparse multi-GiB file): `ranges` are `(StartOfMemoryRange, DataSize)`. `BaseRva` is left
    /// 0; after [`DumpWriter::finish`] the caller stores the offset of the first range's bytes at
    /// `location.rva + 8` (see [`set_memory64_base`]) and writes the bytes there, contiguously.
    pub fn add_memory64_descriptors(&mut self, ranges: &[(u64, u64)]) -> Location {
        let mut b = Vec::with_capacity(16 + 16 * ranges.len());
        put_u64(&mut b, ranges.len() as u64);
        put_u64(&mut b, 0);
        for &(start, size) in ranges {
            put_u64(&mut b, start);
            put_u64(&mut b, size);
        }
        self.add_stream(MEMORY64_LIST_STREAM, &b)
    }

    /// MemoryListStream (5): u32 count + `MINIDUMP_MEMORY_DESCRIPTOR` (16 bytes) each; the bytes of
    /// each range are written before the stream.
    pub fn add_memory_list(&mut self, ranges: &[MemoryRange]) -> Location {
        let mut b = Vec::with_capacity(4 + 16 * ranges.len());
        put_u32(&mut b, ranges.len() as u32);
        for r in ranges {
            let rva = self.add_blob_aligned(&r.bytes, 16);
            put_u64(&mut b, r.start);
            put_u32(&mut b, r.bytes.len() as u32);
            put_u32(&mut b, rva);
        }
        self.add_stream(MEMORY_LIST_STREAM, &b)
    }
}

/// Store `BaseRva` into a finished dump's Memory64ListStream written by
/// [`DumpWriter::add_memory64_descriptors`] at `location`.
pub fn set_memory64_base(dump: &mut [u8], location: Location, base_rva: u64) {
    let at = location.rva as usize + 8;
    dump[at..at + 8].copy_from_slice(&base_rva.to_le_bytes());
}

/// Encode a `MINIDUMP_STRING`.
pub fn minidump_string(s: &str) -> Vec<u8> {
    let units: Vec<u16> = s.encode_utf16().collect();
    let mut b = Vec::with_capacity(4 + 2 * units.len() + 2);
    put_u32(&mut b, (units.len() * 2) as u32);
    for u in units {
        put_u16(&mut b, u);
    }
    put_u16(&mut b, 0);
    b
}

pub fn put_u16(b: &mut Vec<u8>, v: u16) {
    b.extend_from_slice(&v.to_le_bytes());
}
pub fn put_u32(b: &mut Vec<u8>, v: u32) {
    b.extend_from_slice(&v.to_le_bytes());
}
pub fn put_u64(b: &mut Vec<u8>, v: u64) {
    b.extend_from_slice(&v.to_le_bytes());
}

/// Input for [`DumpWriter::add_system_info`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemInfo {
    pub processor_architecture: u16,
    pub processor_level: u16,
    pub processor_revision: u16,
    pub number_of_processors: u8,
    /// 1 = VER_NT_WORKSTATION
    pub product_type: u8,
    pub major_version: u32,
    pub minor_version: u32,
    pub build_number: u32,
    pub platform_id: u32,
    pub csd_version: String,
    pub suite_mask: u16,
}

impl SystemInfo {
    /// Windows XP SP2 (5.1.2600), x86.
    pub fn windows_xp_sp2_x86() -> Self {
        SystemInfo {
            processor_architecture: PROCESSOR_ARCHITECTURE_INTEL,
            processor_level: 15,
            processor_revision: 0x0209,
            number_of_processors: 2,
            product_type: 1,
            major_version: 5,
            minor_version: 1,
            build_number: 2600,
            platform_id: VER_PLATFORM_WIN32_NT,
            csd_version: "Service Pack 2".into(),
            suite_mask: 0x0100,
        }
    }

    /// Windows 10 22H2 (10.0.19045), AMD64.
    pub fn windows_10_x64() -> Self {
        SystemInfo {
            processor_architecture: PROCESSOR_ARCHITECTURE_AMD64,
            processor_level: 6,
            processor_revision: 0x9e0a,
            number_of_processors: 8,
            product_type: 1,
            major_version: 10,
            minor_version: 0,
            build_number: 19045,
            platform_id: VER_PLATFORM_WIN32_NT,
            csd_version: String::new(),
            suite_mask: 0x0300,
        }
    }
}

/// Input for [`DumpWriter::add_misc_info`] (`MINIDUMP_MISC_INFO`, 24 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MiscInfo {
    pub flags1: u32,
    pub process_id: u32,
    pub process_create_time: u32,
    pub process_user_time: u32,
    pub process_kernel_time: u32,
}

/// CodeView record referenced by `MINIDUMP_MODULE::CvRecord`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CvRecord {
    /// `RSDS` + GUID (Data1 u32, Data2 u16, Data3 u16, Data4 [u8; 8]) + age + UTF-8 path + NUL.
    Rsds {
        guid: Guid,
        age: u32,
        pdb_name: String,
    },
    /// `NB10` + offset + signature + age + path + NUL.
    Nb10 {
        signature: u32,
        age: u32,
        pdb_name: String,
    },
}

/// A GUID in its Windows in-memory layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Guid {
    pub data1: u32,
    pub data2: u16,
    pub data3: u16,
    pub data4: [u8; 8],
}

impl Guid {
    /// SymSrv form: 32 upper-case hex digits (Data1-3 as integers, then Data4 bytes).
    pub fn symsrv(&self) -> String {
        let mut s = format!("{:08X}{:04X}{:04X}", self.data1, self.data2, self.data3);
        for b in self.data4 {
            s.push_str(&format!("{b:02X}"));
        }
        s
    }
}

impl CvRecord {
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut b = Vec::new();
        match self {
            CvRecord::Rsds {
                guid,
                age,
                pdb_name,
            } => {
                b.extend_from_slice(b"RSDS");
                put_u32(&mut b, guid.data1);
                put_u16(&mut b, guid.data2);
                put_u16(&mut b, guid.data3);
                b.extend_from_slice(&guid.data4);
                put_u32(&mut b, *age);
                b.extend_from_slice(pdb_name.as_bytes());
                b.push(0);
            }
            CvRecord::Nb10 {
                signature,
                age,
                pdb_name,
            } => {
                b.extend_from_slice(b"NB10");
                put_u32(&mut b, 0);
                put_u32(&mut b, *signature);
                put_u32(&mut b, *age);
                b.extend_from_slice(pdb_name.as_bytes());
                b.push(0);
            }
        }
        b
    }
}

/// Input for [`DumpWriter::add_module_list`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Module {
    pub base_of_image: u64,
    pub size_of_image: u32,
    pub checksum: u32,
    pub time_date_stamp: u32,
    /// Full path, e.g. `C:\WINDOWS\system32\ntdll.dll`.
    pub name: String,
    pub file_version: [u16; 4],
    pub product_version: [u16; 4],
    pub is_dll: bool,
    pub cv_record: Option<CvRecord>,
}

/// `MINIDUMP_HANDLE_DESCRIPTOR` (v1, 32 bytes) or `_2` (v2, 40 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DescriptorVersion {
    V1,
    V2,
}

impl DescriptorVersion {
    pub fn size(self) -> u32 {
        match self {
            DescriptorVersion::V1 => 32,
            DescriptorVersion::V2 => 40,
        }
    }
}

/// One element of an object-information chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    /// `MINIDUMP_HANDLE_OBJECT_INFORMATION_TYPE`: 1 thread, 2/3 mutant, 4/5 process, 6 event,
    /// 7 section, 8 semaphore.
    pub info_type: u32,
    pub data: Vec<u8>,
}

/// Input for [`DumpWriter::add_handle_data`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandleDescriptor {
    pub handle: u64,
    pub type_name: Option<String>,
    pub object_name: Option<String>,
    pub attributes: u32,
    pub granted_access: u32,
    pub handle_count: u32,
    pub pointer_count: u32,
    /// Ignored for v1 descriptors.
    pub object_info: Vec<ObjectInfo>,
}

/// `AVRF_HANDLE_OPERATION` (288 bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandleOperation {
    pub handle: u64,
    pub process_id: u32,
    pub thread_id: u32,
    /// 1 OPEN, 2 CLOSE, 3 BAD_REF.
    pub operation_type: u32,
    pub spare0: u32,
    /// `AVRF_BACKTRACE_INFORMATION::Index`.
    pub index: u32,
    /// Return addresses, innermost first; `Depth` = `min(len, 32)`, unused slots zero.
    pub stack: Vec<u64>,
}

impl HandleOperation {
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(288);
        put_u64(&mut b, self.handle);
        put_u32(&mut b, self.process_id);
        put_u32(&mut b, self.thread_id);
        put_u32(&mut b, self.operation_type);
        put_u32(&mut b, self.spare0);
        let depth = self.stack.len().min(AVRF_MAX_TRACES);
        put_u32(&mut b, depth as u32);
        put_u32(&mut b, self.index);
        for i in 0..AVRF_MAX_TRACES {
            put_u64(&mut b, if i < depth { self.stack[i] } else { 0 });
        }
        debug_assert_eq!(b.len(), 288);
        b
    }
}

/// Input for [`DumpWriter::add_thread_list`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Thread {
    pub thread_id: u32,
    pub suspend_count: u32,
    pub priority_class: u32,
    pub priority: u32,
    pub teb: u64,
    pub stack_start: u64,
}

/// Input for [`DumpWriter::add_memory_list`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryRange {
    pub start: u64,
    pub bytes: Vec<u8>,
}

/// Input for [`DumpWriter::add_thread_list_ex`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ThreadEx {
    pub thread: Thread,
    /// `(StartOfMemoryRange, bytes)` of the captured stack; `None`: no stack memory (then
    /// `thread.stack_start` is written as the start).
    pub stack: Option<(u64, Location)>,
    /// Location of the thread's CONTEXT (zero: none).
    pub context: Location,
}

/// Input for [`DumpWriter::add_exception`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExceptionInfo {
    pub thread_id: u32,
    pub code: u32,
    pub flags: u32,
    /// `ExceptionRecord` (address of a chained record; 0 = none).
    pub record: u64,
    pub address: u64,
    /// `ExceptionInformation[..NumberParameters]` (at most 15).
    pub parameters: Vec<u64>,
    pub thread_context: Location,
}

/// The general-purpose registers of an AMD64 `CONTEXT`; [`ContextAmd64::to_bytes`] renders the
/// full 1232-byte structure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ContextAmd64 {
    pub context_flags: u32,
    pub eflags: u32,
    pub rax: u64,
    pub rcx: u64,
    pub rdx: u64,
    pub rbx: u64,
    pub rsp: u64,
    pub rbp: u64,
    pub rsi: u64,
    pub rdi: u64,
    pub r8: u64,
    pub r9: u64,
    pub r10: u64,
    pub r11: u64,
    pub r12: u64,
    pub r13: u64,
    pub r14: u64,
    pub r15: u64,
    pub rip: u64,
}

impl ContextAmd64 {
    /// The 1232-byte `CONTEXT` (P1Home..P6Home zero; user-mode segment selectors
    /// cs 0x33, ds/es/gs/ss 0x2b, fs 0x53; MxCsr 0x1f80; FltSave ControlWord 0x27f).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(CONTEXT_AMD64_SIZE);
        b.extend_from_slice(&[0; 0x30]); // P1Home..P6Home
        put_u32(&mut b, self.context_flags);
        put_u32(&mut b, 0x1f80); // MxCsr
        for seg in [0x33u16, 0x2b, 0x2b, 0x53, 0x2b, 0x2b] {
            put_u16(&mut b, seg); // SegCs, SegDs, SegEs, SegFs, SegGs, SegSs
        }
        put_u32(&mut b, self.eflags);
        b.extend_from_slice(&[0; 6 * 8]); // Dr0-Dr3, Dr6, Dr7
        for r in [
            self.rax, self.rcx, self.rdx, self.rbx, self.rsp, self.rbp, self.rsi, self.rdi,
            self.r8, self.r9, self.r10, self.r11, self.r12, self.r13, self.r14, self.r15, self.rip,
        ] {
            put_u64(&mut b, r);
        }
        debug_assert_eq!(b.len(), 0x100);
        // FltSave (XMM_SAVE_AREA32, 512 bytes): ControlWord 0x27f, MxCsr 0x1f80, MxCsr_Mask 0xffff.
        let mut flt = [0u8; 512];
        flt[0..2].copy_from_slice(&0x027fu16.to_le_bytes());
        flt[24..28].copy_from_slice(&0x1f80u32.to_le_bytes());
        flt[28..32].copy_from_slice(&0xffffu32.to_le_bytes());
        b.extend_from_slice(&flt);
        // VectorRegister[26], VectorControl, DebugControl, LastBranch*/LastException*.
        b.resize(CONTEXT_AMD64_SIZE, 0);
        b
    }
}

/// The integer and control registers of an x86 `CONTEXT`; [`ContextX86::to_bytes`] renders the
/// full 716-byte structure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ContextX86 {
    pub context_flags: u32,
    pub eflags: u32,
    pub edi: u32,
    pub esi: u32,
    pub ebx: u32,
    pub edx: u32,
    pub ecx: u32,
    pub eax: u32,
    pub ebp: u32,
    pub eip: u32,
    pub esp: u32,
}

impl ContextX86 {
    /// The 716-byte `CONTEXT`: ContextFlags, Dr0-Dr3/Dr6/Dr7 zero, FloatSave (112 bytes,
    /// ControlWord 0x27f, TagWord 0xffff), user-mode selectors gs 0, fs 0x3b, es/ds/ss 0x23,
    /// cs 0x1b, then ExtendedRegisters (FXSAVE area: ControlWord 0x27f, MxCsr 0x1f80).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(CONTEXT_X86_SIZE);
        put_u32(&mut b, self.context_flags);
        b.extend_from_slice(&[0; 6 * 4]); // Dr0-Dr3, Dr6, Dr7
        let mut fsave = [0u8; 112];
        fsave[0..4].copy_from_slice(&0x027fu32.to_le_bytes()); // ControlWord
        fsave[8..12].copy_from_slice(&0xffffu32.to_le_bytes()); // TagWord
        b.extend_from_slice(&fsave);
        for seg in [0u32, 0x3b, 0x23, 0x23] {
            put_u32(&mut b, seg); // SegGs, SegFs, SegEs, SegDs
        }
        for r in [
            self.edi, self.esi, self.ebx, self.edx, self.ecx, self.eax, self.ebp, self.eip,
        ] {
            put_u32(&mut b, r);
        }
        put_u32(&mut b, 0x1b); // SegCs
        put_u32(&mut b, self.eflags);
        put_u32(&mut b, self.esp);
        put_u32(&mut b, 0x23); // SegSs
        debug_assert_eq!(b.len(), 204);
        let mut ext = [0u8; 512];
        ext[0..2].copy_from_slice(&0x027fu16.to_le_bytes());
        ext[24..28].copy_from_slice(&0x1f80u32.to_le_bytes());
        ext[28..32].copy_from_slice(&0xffffu32.to_le_bytes());
        b.extend_from_slice(&ext);
        debug_assert_eq!(b.len(), CONTEXT_X86_SIZE);
        b
    }
}
