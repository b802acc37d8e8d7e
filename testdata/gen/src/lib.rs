//! Deterministic fixture generator for dumpleak: a small minidump writer ([`writer`]), a tiny PE
//! export reader ([`pe`]), a process/handle-table/htrace simulator ([`sim`]) and the scenarios
//! documented in `testdata/README.md` ([`scenarios`], [`leaky`], [`series`], [`noisy`],
//! [`batch`]), built on the modules and startup handles they share ([`baseline`]).

pub mod baseline;
pub mod batch;
pub mod large;
pub mod leaky;
pub mod noisy;
pub mod pe;
pub mod scenarios;
pub mod series;
pub mod sim;
pub mod trend_corpus;
pub mod writer;

pub use scenarios::{all_fixtures, write_all, Fixture};
pub use sim::{AddressSpace, LoadedModule, OpenSpec, Process, TraceOrder};
pub use writer::{
    ContextAmd64, CvRecord, DescriptorVersion, DumpWriter, ExceptionInfo, Guid, HandleDescriptor,
    HandleOperation, Location, MemoryRange, MiscInfo, Module, ObjectInfo, SystemInfo, Thread,
    ThreadEx,
};

/// The testdata directory this crate lives in (`<repo>/testdata`).
pub fn default_testdata_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("crate lives in testdata/gen")
        .to_path_buf()
}
