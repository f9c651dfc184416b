//! The engine's one `unsafe` module: the preallocated guest memory of both tiers, loading a
//! precompiled module, the two OS calls a pinned worker needs (`sched_getcpu`, `mlockall`), and
//! the counting allocator that proves the hot path allocates nothing.
#![allow(unsafe_code, reason = "the engine's unsafe code lives here, each block with its SAFETY")]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::mem::ManuallyDrop;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, Ordering};

/// A zeroed heap buffer handed to wasmi as `&'static mut [u8]` for `Memory::new_static`.
///
/// The heap rather than a fresh `mmap`: a recycled block is already resident, so clearing it
/// is a memset (about 20 µs per MiB here), while fresh anonymous pages each take a page fault
/// (about 0.75 µs per 4 KiB page on a VM) when first touched.
///
/// wasmi requires a `'static` buffer; this type owns the allocation and frees it on drop. The
/// only way to hand the bytes out is [`WithStaticMemory`], which drops their holder first.
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
            // SAFETY: `off < len` and the buffer is exclusively ours: `&mut self`, and the bytes
            // are handed out only by consuming `self` (`WithStaticMemory::new`). Volatile so
            // the write is not elided.
            unsafe { self.ptr.as_ptr().add(off).write_volatile(0) };
        }
    }

    /// The buffer as the `'static` slice wasmi wants.
    ///
    /// # Safety
    /// Call at most once, and drop everything the slice is given to before `self` is dropped
    /// (the slice does not really live for `'static`). [`WithStaticMemory`] does both.
    unsafe fn leak_static(&mut self) -> &'static mut [u8] {
        // SAFETY: ptr/len describe a live allocation owned by `self`; by this function's
        // contract the slice is the only reference to the bytes from now on and is gone
        // before the allocation is freed.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

/// A value that holds a [`StaticMemory`]'s bytes as `'static` (the interpreter's wasmi
/// store), owned together with that memory and dropped before it: the pairing that makes the
/// `'static` slice sound, in a type, instead of in a struct's field order.
pub(crate) struct WithStaticMemory<T> {
    value: ManuallyDrop<T>,
    memory: StaticMemory,
}

impl<T> WithStaticMemory<T> {
    /// Builds the holder from `memory`'s bytes. When `build` fails, whatever it gave the
    /// slice to is dropped inside it, before `memory` is freed here.
    ///
    /// # Errors
    /// What `build` returns.
    pub(crate) fn new<E>(
        mut memory: StaticMemory,
        build: impl FnOnce(&'static mut [u8]) -> Result<T, E>,
    ) -> Result<Self, E> {
        // SAFETY: called once on a memory this function owns; the slice goes only to `build`,
        // whose result is dropped before `memory` (`Drop` below), and on failure it was
        // dropped inside `build` already.
        let bytes = unsafe { memory.leak_static() };
        let value = build(bytes)?;
        Ok(Self { value: ManuallyDrop::new(value), memory })
    }

    /// Bytes preallocated.
    pub(crate) fn memory_len(&self) -> usize {
        self.memory.len
    }
}

impl<T> std::ops::Deref for WithStaticMemory<T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T> std::ops::DerefMut for WithStaticMemory<T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        &mut self.value
    }
}

impl<T> Drop for WithStaticMemory<T> {
    fn drop(&mut self) {
        // SAFETY: `value` is dropped exactly once, here; `memory`, whose bytes it holds, is a
        // later field and is dropped only after this function returns.
        unsafe { ManuallyDrop::drop(&mut self.value) }
    }
}

impl Drop for StaticMemory {
    fn drop(&mut self) {
        let slice = std::ptr::slice_from_raw_parts_mut(self.ptr.as_ptr(), self.len);
        // SAFETY: reconstructs the Box created in `new` exactly once; whatever held the bytes
        // was dropped earlier (see `WithStaticMemory`).
        drop(unsafe { Box::from_raw(slice) });
    }
}

/// Supplies the compiled tier's linear memories: mapped, committed and pre-faulted up to the
/// configured limit when created, so neither instantiation's first touches nor a later
/// `memory.grow` page-faults on the hot path.
pub(crate) struct GuestMemoryCreator {
    /// The most memory any guest may have, in bytes.
    pub(crate) limit_bytes: usize,
    /// Whether to write every page at creation.
    pub(crate) pretouch: bool,
}

const OS_PAGE: usize = 4096;

// SAFETY: every memory this creator returns honours the `LinearMemory` contract (see
// `GuestMemory`): it reserves `reserved_size_in_bytes` plus `guard_size_in_bytes` when asked,
// never moves, and keeps every byte past `byte_size` inaccessible.
unsafe impl wasmtime::MemoryCreator for GuestMemoryCreator {
    fn new_memory(
        &self,
        _ty: wasmtime::MemoryType,
        minimum: usize,
        maximum: Option<usize>,
        reserved_size_in_bytes: Option<usize>,
        guard_size_in_bytes: usize,
    ) -> Result<Box<dyn wasmtime::LinearMemory>, String> {
        let capacity = maximum.unwrap_or(self.limit_bytes).min(self.limit_bytes);
        if minimum > capacity {
            return Err(format!(
                "the module needs {minimum} bytes of memory, over the {capacity}-byte limit"
            ));
        }
        let reserve = reserved_size_in_bytes.unwrap_or(capacity).max(capacity);
        GuestMemory::new(minimum, capacity, reserve, guard_size_in_bytes, self.pretouch)
            .map(|m| Box::new(m) as Box<dyn wasmtime::LinearMemory>)
            .map_err(|e| format!("cannot map guest memory: {e}"))
    }
}

/// One compiled-tier linear memory: `reserve + guard` bytes of address space, of which the
/// first `size` are readable and writable and the rest inaccessible, so Cranelift's elided
/// bounds checks trap exactly where the interpreter's explicit checks do. Pages up to
/// `capacity` are committed and written once at creation.
struct GuestMemory {
    base: NonNull<u8>,
    mapped: usize,
    size: usize,
    capacity: usize,
}

// SAFETY: the mapping is owned by this value alone; wasmtime accesses it from the thread that
// runs the store, and the value only moves between threads with that store.
unsafe impl Send for GuestMemory {}
// SAFETY: `&GuestMemory` gives access to no bytes, only to the sizes and base address.
unsafe impl Sync for GuestMemory {}

fn round_up(n: usize) -> usize {
    n.div_ceil(OS_PAGE) * OS_PAGE
}

impl GuestMemory {
    fn new(
        size: usize,
        capacity: usize,
        reserve: usize,
        guard: usize,
        pretouch: bool,
    ) -> std::io::Result<Self> {
        let mapped = round_up(reserve)
            .checked_add(round_up(guard))
            .ok_or_else(|| std::io::Error::other("reservation overflows the address space"))?;
        // SAFETY: a fresh private anonymous mapping with no access; no existing memory is touched.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                mapped,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        let Some(base) = NonNull::new(ptr.cast::<u8>()) else {
            return Err(std::io::Error::other("mmap returned null"));
        };
        let mut this = Self { base, mapped, size: 0, capacity: round_up(capacity) };
        if pretouch && this.capacity > 0 {
            this.protect(0, this.capacity, libc::PROT_READ | libc::PROT_WRITE)?;
            for off in (0..this.capacity).step_by(OS_PAGE) {
                // SAFETY: `off < capacity`, inside the mapping, now readable and writable; the
                // write stores the zero already there, so the page becomes resident unchanged.
                unsafe { this.base.as_ptr().add(off).write_volatile(0) };
            }
            this.protect(0, this.capacity, libc::PROT_NONE)?;
        }
        this.grow_to_len(size)?;
        Ok(this)
    }

    fn protect(&self, from: usize, to: usize, prot: libc::c_int) -> std::io::Result<()> {
        if to <= from {
            return Ok(());
        }
        // SAFETY: `from..to` lies inside our own mapping (callers keep `to <= capacity <=
        // mapped`) and `from` is page-aligned; changing its protection affects no other memory.
        let rc = unsafe {
            libc::mprotect(self.base.as_ptr().add(from).cast(), round_up(to - from), prot)
        };
        if rc == 0 { Ok(()) } else { Err(std::io::Error::last_os_error()) }
    }

    fn grow_to_len(&mut self, new_size: usize) -> std::io::Result<()> {
        if new_size > self.capacity {
            return Err(std::io::Error::other(format!(
                "{new_size} bytes exceed the preallocated {} bytes",
                self.capacity
            )));
        }
        let from = round_up(self.size);
        self.protect(from, round_up(new_size), libc::PROT_READ | libc::PROT_WRITE)?;
        self.size = self.size.max(new_size);
        Ok(())
    }
}

// SAFETY: `as_ptr` is stable for the value's life (the mapping never moves); exactly
// `byte_size()` bytes from it are accessible and `reserve + guard` are reserved behind it;
// growth never exceeds `byte_capacity()`.
unsafe impl wasmtime::LinearMemory for GuestMemory {
    fn byte_size(&self) -> usize {
        self.size
    }
    fn byte_capacity(&self) -> usize {
        self.capacity
    }
    fn grow_to(&mut self, new_size: usize) -> wasmtime::Result<()> {
        self.grow_to_len(new_size).map_err(wasmtime::Error::msg)
    }
    fn as_ptr(&self) -> *mut u8 {
        self.base.as_ptr()
    }
}

impl Drop for GuestMemory {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping made in `new`; wasmtime drops a memory only after
        // the last code that could touch it.
        unsafe { libc::munmap(self.base.as_ptr().cast(), self.mapped) };
    }
}

/// Loads a wasmtime module from bytes produced by `wasmtime::Module::serialize`.
///
/// The caller has checked the Lockstep envelope: a fingerprint of this engine build and
/// configuration, and a SHA-256 of exactly these bytes. `Module::deserialize` requires bytes
/// that wasmtime itself produced, since native code runs from them; wasmtime then checks its own
/// version and settings header too. Artefacts are trusted build outputs, like shared libraries.
pub(crate) fn deserialize_module(
    engine: &wasmtime::Engine,
    payload: &[u8],
) -> wasmtime::Result<wasmtime::Module> {
    // SAFETY: the envelope checks show these bytes are unchanged `serialize` output of an engine
    // built and configured like this one.
    unsafe { wasmtime::Module::deserialize(engine, payload) }
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

/// A global allocator that counts heap allocations (reallocations included) and forwards every
/// call to the system allocator: install it to prove a path allocates nothing per event.
///
/// ```
/// use lockstep_engine::CountingAlloc;
///
/// #[global_allocator]
/// static ALLOC: CountingAlloc = CountingAlloc::new();
///
/// fn main() {
///     let mut sum = 0u64;
///     let allocations = ALLOC.count_during(|| sum = (1..=100).sum()); // the hot loop under test
///     assert_eq!((sum, allocations), (5050, 0));
///     assert_eq!(ALLOC.count_during(|| drop(std::hint::black_box(vec![1u8]))), 1);
/// }
/// ```
///
/// Counts are kept process-wide ([`CountingAlloc::allocations`]) and per thread
/// ([`CountingAlloc::thread_allocations`], [`CountingAlloc::count_during`]), so tests running
/// in parallel threads do not disturb each other. Nothing is counted unless the value is the
/// `#[global_allocator]`; install one per program.
#[derive(Debug)]
pub struct CountingAlloc {
    allocations: AtomicU64,
}

thread_local! {
    /// Allocations the current thread has made through a [`CountingAlloc`].
    static THREAD_ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

impl CountingAlloc {
    /// A counter at zero, for a `static` marked `#[global_allocator]`.
    pub const fn new() -> Self {
        Self { allocations: AtomicU64::new(0) }
    }

    /// Allocations made so far by every thread of the program.
    pub fn allocations(&self) -> u64 {
        self.allocations.load(Ordering::Relaxed)
    }

    /// Allocations made so far by the calling thread.
    pub fn thread_allocations(&self) -> u64 {
        THREAD_ALLOCATIONS.try_with(Cell::get).unwrap_or(0)
    }

    /// Runs `f` and returns how many allocations the calling thread made during it (other
    /// threads' allocations are not counted).
    pub fn count_during(&self, f: impl FnOnce()) -> u64 {
        let before = self.thread_allocations();
        f();
        self.thread_allocations() - before
    }

    #[inline]
    fn count(&self) {
        self.allocations.fetch_add(1, Ordering::Relaxed);
        // Without a destructor the thread-local is never torn down, but a thread exiting may
        // still allocate after: `try_with` never panics inside the allocator.
        let _ = THREAD_ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
    }
}

impl Default for CountingAlloc {
    fn default() -> Self {
        Self::new()
    }
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so the
// `GlobalAlloc` contract holds exactly as it does for `System`. Counting touches only an atomic
// and a const-initialised thread-local `Cell`, neither of which allocates or unwinds.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        self.count();
        // SAFETY: forwarded unchanged; the caller upholds `alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        self.count();
        // SAFETY: forwarded unchanged; the caller upholds `alloc_zeroed`'s contract.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System` through this allocator, with this `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        self.count();
        // SAFETY: forwarded unchanged; `ptr` came from `System` and the caller upholds
        // `realloc`'s contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_memory_is_zeroed_writable_and_freed() {
        let mut m = StaticMemory::new(3 * 4096 + 17);
        m.pretouch();
        let mut held = WithStaticMemory::new(m, Ok::<_, ()>).unwrap();
        assert_eq!(held.len(), 3 * 4096 + 17);
        assert!(held.iter().all(|b| *b == 0));
        held[12_000] = 7;
        assert_eq!(held[12_000], 7);
        assert_eq!(held.memory_len(), 3 * 4096 + 17);
        drop(held);
    }

    #[test]
    fn current_cpu_is_reported() {
        assert!(current_cpu().is_some());
    }
}
