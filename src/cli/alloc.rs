//! The command line's allocator: the system allocator, with large blocks backed by
//! transparent huge pages on Linux.
//!
//! Loading a large dump allocates a few blocks of several MiB (the handle table, the trace
//! records, sort buffers). Each 4 KiB page of a fresh block costs a page fault when first
//! written: about 5,000 faults for a `diff` of two 100k-handle dumps, a third of its system
//! time. Asking for huge pages on those blocks (`MADV_HUGEPAGE`, honoured when
//! `/sys/kernel/mm/transparent_hugepage/enabled` is `always` or `madvise`) makes that one fault
//! per 2 MiB. Only a hint: where the kernel refuses it, nothing changes.

use std::alloc::{GlobalAlloc, Layout, System};

/// Blocks from this size on are advised to use huge pages.
#[cfg(target_os = "linux")]
const HUGE_FROM: usize = 2 << 20;
/// The size of a transparent huge page on x86-64 and most arm64 kernels.
#[cfg(target_os = "linux")]
const HUGE_PAGE: usize = 2 << 20;

/// [`System`], advising huge pages for blocks of [`HUGE_FROM`] bytes and more.
pub struct HugePageAlloc;

#[global_allocator]
static ALLOCATOR: HugePageAlloc = HugePageAlloc;

impl HugePageAlloc {
    /// Advises huge pages for the whole 2 MiB pages inside `len` bytes at `ptr`.
    #[inline]
    fn advise(ptr: *mut u8, len: usize) {
        #[cfg(target_os = "linux")]
        if !ptr.is_null() && len >= HUGE_FROM {
            let start = (ptr as usize).next_multiple_of(HUGE_PAGE);
            let end = (ptr as usize + len) / HUGE_PAGE * HUGE_PAGE;
            if end > start {
                // SAFETY: the range lies inside a block the allocator just handed out;
                // MADV_HUGEPAGE changes neither its contents nor its mapping.
                unsafe {
                    libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
                }
            }
        }
        #[cfg(not(target_os = "linux"))]
        let _ = (ptr, len);
    }
}

// SAFETY: every call is forwarded to `System` unchanged; `advise` only gives the kernel a hint
// about memory already allocated.
unsafe impl GlobalAlloc for HugePageAlloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = System.alloc(layout);
        Self::advise(ptr, layout.size());
        ptr
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let ptr = System.alloc_zeroed(layout);
        Self::advise(ptr, layout.size());
        ptr
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let ptr = System.realloc(ptr, layout, new_size);
        Self::advise(ptr, new_size);
        ptr
    }
}
