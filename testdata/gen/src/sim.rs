//! A deterministic model of a Windows process handle table plus the htrace ring buffer.
//!
//! Handle values: multiples of 4 starting at 4 (configurable with
//! [`Process::set_next_handle_value`]). **Rule: an open takes the lowest freed value if any,
//! otherwise the next never-used value.** (Windows' real free list is LIFO; "lowest first" is
//! simpler to reason about and gives the same kind of value reuse.)
//!
//! Objects: every unnamed open creates a new object. A named open of a `(type, name)` that is still
//! referenced by a handle returns a new handle to the *same* object (like `CreateMutex` on an
//! existing name), except for File, Key, Process, Thread and Token, where every open creates a
//! new object ([`shares_named_objects`]). `HandleCount` of an object = number of open handles to it,
//! `PointerCount` = `HandleCount + extra_pointers` (1 for named objects, 0 otherwise, plus what
//! the caller asked for).
//!
//! Trace: once enabled with [`Process::enable_trace`], every open/close appends one record;
//! with more than `capacity` records the oldest fall off.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use crate::pe::PeImage;
use crate::writer::{
    HandleDescriptor, HandleOperation, Module, ObjectInfo, HANDLE_OP_CLOSE, HANDLE_OP_OPEN,
};

/// Order in which trace records are written to the dump.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TraceOrder {
    /// Newest record first (what WinDbg's `!htrace` prints). The default.
    NewestFirst,
    OldestFirst,
}

#[derive(Debug, Clone)]
struct Object {
    type_name: String,
    name: Option<String>,
    extra_pointers: u32,
    info: Vec<ObjectInfo>,
    handles: u32,
}

#[derive(Debug, Clone)]
struct Entry {
    object: usize,
    attributes: u32,
    granted_access: u32,
}

/// What to open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenSpec {
    pub type_name: String,
    pub name: Option<String>,
    pub granted_access: u32,
    pub attributes: u32,
    /// Extra kernel references beyond the handles (added to PointerCount).
    pub extra_pointers: u32,
    /// Object-information chain for v2 descriptors (only used when the object is created).
    pub info: Vec<ObjectInfo>,
}

impl OpenSpec {
    /// A spec with the usual access mask for the type ([`default_access`]) and, for `Mutant`
    /// objects only, the default object-information chain [`mutant_info`]; other types get none.
    pub fn new(type_name: &str, name: Option<&str>) -> OpenSpec {
        let granted_access = default_access(type_name);
        OpenSpec {
            type_name: type_name.to_owned(),
            name: name.map(str::to_owned),
            granted_access,
            attributes: 0,
            extra_pointers: 0,
            info: if type_name == "Mutant" {
                mutant_info()
            } else {
                Vec::new()
            },
        }
    }

    pub fn with_info(mut self, info: Vec<ObjectInfo>) -> Self {
        self.info = info;
        self
    }

    pub fn with_access(mut self, access: u32) -> Self {
        self.granted_access = access;
        self
    }
}

/// Object-information chain of an unowned mutant: `MiniMutantInformation1` (type 2, 8 bytes:
/// CurrentCount i32 = 1, OwnedByCaller u8 = 0, AbandonedState u8 = 0, 2 bytes padding) then
/// `MiniMutantInformation2` (type 3, 8 bytes: OwnerProcessId u32 = 0, OwnerThreadId u32 = 0).
pub fn mutant_info() -> Vec<ObjectInfo> {
    vec![
        ObjectInfo {
            info_type: 2,
            data: vec![1, 0, 0, 0, 0, 0, 0, 0],
        },
        ObjectInfo {
            info_type: 3,
            data: vec![0; 8],
        },
    ]
}

/// Whether opening an existing name of this type yields another handle to the same object
/// (object-manager namespace objects: Mutant, Event, Section, Semaphore, Directory, WindowStation,
/// ...). File, Key, Process, Thread and Token opens always create a new object.
pub fn shares_named_objects(type_name: &str) -> bool {
    !matches!(type_name, "File" | "Key" | "Process" | "Thread" | "Token")
}

/// Typical GrantedAccess values per object type.
pub fn default_access(type_name: &str) -> u32 {
    match type_name {
        "Mutant" => 0x001F_0001,
        "Section" => 0x000F_001F,
        "Event" => 0x001F_0003,
        "Semaphore" => 0x001F_0003,
        "File" => 0x0012_019F,
        "Key" => 0x000F_003F,
        "Thread" => 0x001F_03FF,
        "Process" => 0x001F_0FFF,
        "Directory" => 0x0000_0003,
        "KeyedEvent" => 0x000F_0003,
        "WindowStation" => 0x000F_037F,
        "Desktop" => 0x000F_01FF,
        "Port" | "ALPC Port" => 0x001F_0001,
        "IoCompletion" => 0x001F_0003,
        "Timer" => 0x001F_0003,
        "Token" => 0x0000_0008,
        _ => 0x0002_0000,
    }
}

/// A simulated process: handle table, objects and the htrace ring.
#[derive(Debug, Clone)]
pub struct Process {
    pub pid: u32,
    objects: Vec<Object>,
    named: BTreeMap<(String, String), usize>,
    handles: BTreeMap<u64, Entry>,
    free: BTreeSet<u64>,
    next_value: u64,
    trace: Option<(usize, VecDeque<HandleOperation>)>,
    stack_ids: BTreeMap<Vec<u64>, u32>,
}

impl Process {
    pub fn new(pid: u32) -> Process {
        Process {
            pid,
            objects: Vec::new(),
            named: BTreeMap::new(),
            handles: BTreeMap::new(),
            free: BTreeSet::new(),
            next_value: 4,
            trace: None,
            stack_ids: BTreeMap::new(),
        }
    }

    /// Set the next never-used handle value (must be a multiple of 4 above every used value).
    pub fn set_next_handle_value(&mut self, v: u64) {
        assert!(v & 3 == 0 && v >= self.next_value, "bad next handle value");
        self.next_value = v;
    }

    /// Start tracing with a ring of `capacity` records (clears any previous trace).
    pub fn enable_trace(&mut self, capacity: usize) {
        self.trace = Some((capacity, VecDeque::new()));
    }

    pub fn tracing(&self) -> bool {
        self.trace.is_some()
    }

    fn alloc_value(&mut self) -> u64 {
        if let Some(v) = self.free.pop_first() {
            v
        } else {
            let v = self.next_value;
            self.next_value += 4;
            v
        }
    }

    fn record(&mut self, handle: u64, tid: u32, op: u32, stack: &[u64]) {
        if self.trace.is_none() {
            return;
        }
        let next_id = self.stack_ids.len() as u32 + 1;
        let index = *self.stack_ids.entry(stack.to_vec()).or_insert(next_id);
        let rec = HandleOperation {
            handle,
            process_id: self.pid,
            thread_id: tid,
            operation_type: op,
            spare0: 0,
            index,
            stack: stack.to_vec(),
        };
        let (cap, ring) = self.trace.as_mut().expect("tracing");
        ring.push_back(rec);
        while ring.len() > *cap {
            ring.pop_front();
        }
    }

    /// Open a handle; returns its value.
    pub fn open(&mut self, tid: u32, spec: &OpenSpec, stack: &[u64]) -> u64 {
        let key = spec
            .name
            .as_ref()
            .filter(|_| shares_named_objects(&spec.type_name))
            .map(|n| (spec.type_name.clone(), n.clone()));
        let object = match key.as_ref().and_then(|k| self.named.get(k)) {
            Some(&o) => o,
            None => {
                let o = self.objects.len();
                self.objects.push(Object {
                    type_name: spec.type_name.clone(),
                    name: spec.name.clone(),
                    extra_pointers: spec.extra_pointers + u32::from(spec.name.is_some()),
                    info: spec.info.clone(),
                    handles: 0,
                });
                if let Some(k) = key {
                    self.named.insert(k, o);
                }
                o
            }
        };
        self.objects[object].handles += 1;
        let value = self.alloc_value();
        self.handles.insert(
            value,
            Entry {
                object,
                attributes: spec.attributes,
                granted_access: spec.granted_access,
            },
        );
        self.record(value, tid, HANDLE_OP_OPEN, stack);
        value
    }

    /// Shorthand for `open(tid, &OpenSpec::new(type_name, name), stack)`.
    pub fn open_simple(
        &mut self,
        tid: u32,
        type_name: &str,
        name: Option<&str>,
        stack: &[u64],
    ) -> u64 {
        self.open(tid, &OpenSpec::new(type_name, name), stack)
    }

    /// Close a handle. Panics if it is not open (a generator bug).
    pub fn close(&mut self, tid: u32, handle: u64, stack: &[u64]) {
        let e = self
            .handles
            .remove(&handle)
            .unwrap_or_else(|| panic!("close of handle {handle:#x} that is not open"));
        let obj = &mut self.objects[e.object];
        obj.handles -= 1;
        if obj.handles == 0 {
            if let Some(n) = obj.name.clone() {
                self.named.remove(&(obj.type_name.clone(), n));
            }
        }
        self.free.insert(handle);
        self.record(handle, tid, HANDLE_OP_CLOSE, stack);
    }

    pub fn is_open(&self, handle: u64) -> bool {
        self.handles.contains_key(&handle)
    }

    /// `(type, name)` of an open handle.
    pub fn describe(&self, handle: u64) -> Option<(&str, Option<&str>)> {
        self.handles.get(&handle).map(|e| {
            let o = &self.objects[e.object];
            (o.type_name.as_str(), o.name.as_deref())
        })
    }

    /// Number of open handles.
    pub fn handle_count(&self) -> usize {
        self.handles.len()
    }

    /// Open handle values, ascending.
    pub fn handle_values(&self) -> Vec<u64> {
        self.handles.keys().copied().collect()
    }

    /// Open handles per type name.
    pub fn counts_by_type(&self) -> BTreeMap<String, usize> {
        let mut m = BTreeMap::new();
        for e in self.handles.values() {
            *m.entry(self.objects[e.object].type_name.clone())
                .or_insert(0) += 1;
        }
        m
    }

    /// Snapshot of the handle table in ascending handle order.
    pub fn handle_descriptors(&self) -> Vec<HandleDescriptor> {
        self.handles
            .iter()
            .map(|(&value, e)| {
                let o = &self.objects[e.object];
                HandleDescriptor {
                    handle: value,
                    type_name: Some(o.type_name.clone()),
                    object_name: o.name.clone(),
                    attributes: e.attributes,
                    granted_access: e.granted_access,
                    handle_count: o.handles,
                    pointer_count: o.handles + o.extra_pointers,
                    object_info: o.info.clone(),
                }
            })
            .collect()
    }

    /// Trace records currently in the ring, in the requested order (empty if not tracing).
    pub fn trace_records(&self, order: TraceOrder) -> Vec<HandleOperation> {
        let Some((_, ring)) = &self.trace else {
            return Vec::new();
        };
        match order {
            TraceOrder::OldestFirst => ring.iter().cloned().collect(),
            TraceOrder::NewestFirst => ring.iter().rev().cloned().collect(),
        }
    }
}

/// A loaded module for address computation, optionally backed by a PE image's exports.
#[derive(Debug, Clone)]
pub struct LoadedModule {
    pub module: Module,
    pub image: Option<PeImage>,
}

impl LoadedModule {
    /// WinDbg module name: file name without extension (`MSMAPI32`, `OrderMailer`).
    pub fn short_name(&self) -> &str {
        let file = self
            .module
            .name
            .rsplit(['\\', '/'])
            .next()
            .unwrap_or(&self.module.name);
        file.rsplit_once('.').map_or(file, |(stem, _)| stem)
    }
}

/// The modules of a process; turns WinDbg-notation frames into return addresses.
#[derive(Debug, Clone, Default)]
pub struct AddressSpace {
    pub modules: Vec<LoadedModule>,
}

impl AddressSpace {
    pub fn module(&self, short: &str) -> &LoadedModule {
        self.modules
            .iter()
            .find(|m| m.short_name().eq_ignore_ascii_case(short))
            .unwrap_or_else(|| panic!("no module {short}"))
    }

    /// Address of one frame, written `module!Export+0xoff` (module must have an image, and the
    /// export must be the nearest preceding one for the result) or `module+0xrva` (module
    /// without an image). Panics on anything that would not symbolize back to the same text.
    pub fn addr(&self, frame: &str) -> u64 {
        let (lhs, off) = match frame.rsplit_once("+0x") {
            Some((l, o)) => (l, u32::from_str_radix(o, 16).expect("hex offset")),
            None => (frame, 0),
        };
        if let Some((module, export)) = lhs.split_once('!') {
            let m = self.module(module);
            let img = m
                .image
                .as_ref()
                .unwrap_or_else(|| panic!("{module} has no image for {frame}"));
            let rva = img
                .export_rva(export)
                .unwrap_or_else(|| panic!("{module} has no export {export}"))
                + off;
            assert!(rva < m.module.size_of_image, "{frame} beyond image");
            assert_eq!(
                img.nearest_export(rva),
                Some((export, off)),
                "{frame} would not symbolize to itself"
            );
            m.module.base_of_image + u64::from(rva)
        } else {
            let m = self.module(lhs);
            assert!(
                m.image.is_none(),
                "{frame}: raw frame into a module with exports"
            );
            assert!(off < m.module.size_of_image, "{frame} beyond module");
            m.module.base_of_image + u64::from(off)
        }
    }

    /// Addresses of a stack given innermost first.
    pub fn stack(&self, frames: &[&str]) -> Vec<u64> {
        frames.iter().map(|f| self.addr(f)).collect()
    }

    /// The `MINIDUMP_MODULE`s, in load order.
    pub fn module_list(&self) -> Vec<Module> {
        self.modules.iter().map(|m| m.module.clone()).collect()
    }
}
