//! The engine's one `unsafe` module: the preallocated guest memory buffer and the two OS calls
//! a pinned worker needs (`sched_getcpu`, `mlockall`).
#![allow(unsafe_code)]

use std::ptr::NonNull;

/// A zeroed heap buffer handed to wasmi as `&'static mut [u8]` for `Memory::new_static`.
///
/// The heap rather than a fresh `mmap`: a recycled block is already resident, so clearing it
/// is a memset (about 20 µs per MiB here), while fresh anonymous pages each take a page fault
/// (about 0.75 µs per 4 KiB page on a VM) when first touched.
///
/// wasmi requires a `'static` buffer; this type owns the allocation and frees it on drop. The
/// owner (an [`Instance`](crate::Instance)) declares its wasmi `Store` *before* this field so the
/// store, the only holder of the `'static` slice, is dropped first.
pub(crate) struct StaticMemory {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: the buffer is plain bytes owned by this value; it moves between threads with the
// instance that owns it and is never shared.
unsafe impl Send for StaticMemory {}

impl StaticMemory {
    /// Allocates `len` zeroed bytes (`calloc`: untouched pages cost nothing until written).
    pub(crate) fn new(len: usize) -> Self {
        let boxed: Box<[u8]> = vec![0u8; len].into_boxed_slice();
        let raw = Box::into_raw(boxed);
        // SAFETY: `Box::into_raw` never returns null.
        let ptr = unsafe { NonNull::new_unchecked(raw.cast::<u8>()) };
        Self { ptr, len }
    }

    /// Writes one byte in every 4 KiB page so the OS commits them now, not on the hot path.
    pub(crate) fn pretouch(&mut self) {
        for off in (0..self.len).step_by(4096) {
            // SAFETY: `off < len` and the buffer is exclusively ours until `leak_static` is called
            // (pretouch is only called before that). Volatile so the write is not elided.
            unsafe { self.ptr.as_ptr().add(off).write_volatile(0) };
        }
    }

    /// The buffer as the `'static` slice wasmi wants. Call once, and hand the slice only to a
    /// wasmi `Store` that is dropped before `self`.
    pub(crate) fn leak_static(&mut self) -> &'static mut [u8] {
        // SAFETY: ptr/len describe a live allocation owned by `self`; the slice is given to a
        // store that the owning Instance drops before this value (field order), so the slice never
        // outlives the allocation, and no other reference to the bytes is created afterwards.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

impl Drop for StaticMemory {
    fn drop(&mut self) {
        let slice = std::ptr::slice_from_raw_parts_mut(self.ptr.as_ptr(), self.len);
        // SAFETY: reconstructs the Box created in `new` exactly once; the store that borrowed the
        // bytes was dropped earlier (see `leak_static`).
        drop(unsafe { Box::from_raw(slice) });
    }
}

/// The CPU the calling thread is running on, from `sched_getcpu(3)`.
pub(crate) fn current_cpu() -> Option<usize> {
    // SAFETY: sched_getcpu takes no arguments and has no preconditions.
    let cpu = unsafe { libc::sched_getcpu() };
    usize::try_from(cpu).ok()
}

/// Locks all current and future pages of the process in RAM (`mlockall`).
///
/// # Errors
/// The OS error text, e.g. when RLIMIT_MEMLOCK is too low or CAP_IPC_LOCK is missing.
pub(crate) fn lock_all_memory() -> Result<(), String> {
    // SAFETY: mlockall takes flags only and has no memory-safety preconditions.
    let rc = unsafe { libc::mlockall(libc::MCL_CURRENT | libc::MCL_FUTURE) };
    if rc == 0 { Ok(()) } else { Err(std::io::Error::last_os_error().to_string()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_memory_is_zeroed_writable_and_freed() {
        let mut m = StaticMemory::new(3 * 4096 + 17);
        m.pretouch();
        let s = m.leak_static();
        assert_eq!(s.len(), 3 * 4096 + 17);
        assert!(s.iter().all(|b| *b == 0));
        s[12_000] = 7;
        assert_eq!(s[12_000], 7);
        drop(m);
    }

    #[test]
    fn current_cpu_is_reported() {
        assert!(current_cpu().is_some());
    }
}
