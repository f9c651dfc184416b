//! The exported C functions: the crate's only `unsafe` code. Each one turns its pointers into
//! references and slices (`None` for null), calls the safe function of the same name in `api`
//! inside the panic guard of `status`, and hands handles back as raw pointers.
//!
//! Every pointer contract below is the caller's, stated in each function's `# Safety`.
#![allow(unsafe_code, reason = "the C boundary: raw pointers in, raw pointers out, nothing else")]

use crate::api::{self, EventOut};
use crate::status::{run, run_quiet, status_name};
use crate::types::{
    LS_ACTION_SIZE, LS_BOOK_SIZE, LS_ERR_PANIC, LS_EVENT_SIZE, ls_action, ls_config, ls_engine,
    ls_event, ls_instance, ls_level, ls_module,
};
use core::ffi::c_char;

/// `ptr[..len]`, or `None` when `ptr` is null.
///
/// # Safety
/// `ptr` is null or valid for reads of `len` values of `T` for `'a`, and aligned.
unsafe fn slice<'a, T>(ptr: *const T, len: usize) -> Option<&'a [T]> {
    // SAFETY: non-null here; validity, alignment and lifetime are this function's contract.
    (!ptr.is_null()).then(|| unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// Like [`slice`], but an empty slice when `len` is 0 (then `ptr` may be null).
///
/// # Safety
/// As [`slice`].
unsafe fn slice_or_empty<'a, T>(ptr: *const T, len: usize) -> Option<&'a [T]> {
    // SAFETY: forwarded contract.
    if len == 0 { Some(&[]) } else { unsafe { slice(ptr, len) } }
}

/// `ptr[..len]` writable; an empty slice when `len` is 0 (a size query), `None` when `ptr` is
/// null and `len` is not 0.
///
/// # Safety
/// `ptr` is null or valid for writes of `len` bytes for `'a`, and not aliased.
unsafe fn out_bytes<'a>(ptr: *mut u8, len: usize) -> Option<&'a mut [u8]> {
    if len == 0 {
        return Some(&mut []);
    }
    // SAFETY: non-null here; validity and exclusivity are this function's contract.
    (!ptr.is_null()).then(|| unsafe { std::slice::from_raw_parts_mut(ptr, len) })
}

/// The caller's error buffer, `None` when `err` is null or `err_cap` is 0.
///
/// # Safety
/// `err` is null or valid for writes of `err_cap` bytes for `'a`.
unsafe fn err_buf<'a>(err: *mut c_char, err_cap: usize) -> Option<&'a mut [u8]> {
    // SAFETY: forwarded contract (`c_char` and `u8` have the same layout).
    unsafe { out_bytes(err.cast::<u8>(), err_cap) }.filter(|b| !b.is_empty())
}

/// A fixed-size array at `ptr`, or `None` when null.
///
/// # Safety
/// `ptr` is null or valid for reads of `N` bytes for `'a`.
unsafe fn array<'a, const N: usize>(ptr: *const u8) -> Option<&'a [u8; N]> {
    // SAFETY: `[u8; N]` has alignment 1; validity is this function's contract.
    unsafe { ptr.cast::<[u8; N]>().as_ref() }
}

/// Frees a handle made by `Box::into_raw`, if not null.
///
/// # Safety
/// `ptr` is null or a live handle from this library of type `T`, not used afterwards.
unsafe fn free<T>(ptr: *mut T) {
    if !ptr.is_null() {
        // SAFETY: this function's contract: the pointer came from `Box::into_raw` (`api::put`).
        drop(unsafe { Box::from_raw(ptr) });
    }
}

/// Fills `*config` with the engine's defaults: the interpreter tier, 10,000,000 fuel per
/// event, 100,000,000 init fuel, 16 memory pages. Returns `LS_OK`, or `LS_ERR_NULL`.
///
/// Thread safety: any thread.
///
/// # Safety
/// `config` is null or points to a writable `ls_config`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ls_config_default(config: *mut ls_config) -> i32 {
    // SAFETY: the caller passes null or a writable, exclusive `ls_config`.
    run(|| None, || api::config_default(unsafe { config.as_mut() }))
}

/// Builds an engine of `config->tier` and stores it in `*out` (null on failure).
///
/// Ownership: the caller owns `*out` and frees it with `ls_engine_free`. Modules and instances
/// made from it keep what they need, so it may be freed before them.
/// Thread safety: an engine may be used from several threads at once (the Rust `Engine` is
/// `Send + Sync`); one engine per pinned worker thread avoids contention.
/// Errors: `LS_ERR_NULL`, `LS_ERR_INVALID_ARGUMENT` (unknown tier), an `LS_CODE_SETUP` code.
/// The message goes to `err` (NUL-terminated, truncated to `err_cap`) when `err` is not null.
///
/// # Safety
/// `config` is null or points to an `ls_config`; `out` is null or writable; `err` is null or
/// writable for `err_cap` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ls_engine_new(
    config: *const ls_config,
    out: *mut *mut ls_engine,
    err: *mut c_char,
    err_cap: usize,
) -> i32 {
    run(
        // SAFETY: the caller's contract on `err`.
        || unsafe { err_buf(err, err_cap) },
        // SAFETY: the caller's contract on `config` and `out`.
        || api::engine_new(unsafe { config.as_ref() }, unsafe { out.as_mut() }),
    )
}

/// Frees an engine. Null is accepted and ignored.
///
/// # Safety
/// `engine` is null or from `ls_engine_new`, not freed before, and unused by other threads.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ls_engine_free(engine: *mut ls_engine) {
    // SAFETY: the caller's contract.
    run_quiet((), || unsafe { free(engine) });
}

/// Validates and compiles `wasm[0..len]` for the engine's tier (sandbox and ABI checks, then a
/// trial link) and stores the module in `*out` (null on failure). The bytes are copied.
///
/// Ownership: the caller owns `*out` and frees it with `ls_module_free`; instances made from it
/// keep what they need, so it may be freed before them.
/// Thread safety: a module may be shared by several threads to instantiate or restore (the Rust
/// `StrategyModule` is `Send + Sync`); load it on the thread that will run it (memory is
/// allocated there). The engine may be used concurrently.
/// Errors: `LS_ERR_NULL`, or an engine code: `LS_CODE_MALFORMED`, `LS_CODE_FORBIDDEN_IMPORT`,
/// `LS_CODE_MISSING_EXPORT`, ... (see `ls_status_name`).
///
/// # Safety
/// `engine` is null or a live engine; `wasm` is null or readable for `len` bytes; `out` is null
/// or writable; `err` is null or writable for `err_cap` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ls_module_load(
    engine: *const ls_engine,
    wasm: *const u8,
    len: usize,
    out: *mut *mut ls_module,
    err: *mut c_char,
    err_cap: usize,
) -> i32 {
    run(
        // SAFETY: the caller's contract on `err`.
        || unsafe { err_buf(err, err_cap) },
        // SAFETY: the caller's contract on `engine`, `wasm` and `out`.
        || unsafe { api::module_load(engine.as_ref(), slice(wasm, len), out.as_mut()) },
    )
}

/// Compiles `wasm[0..len]` ahead of time (compiled tier only) into an artefact for
/// `ls_module_load_precompiled`, written into `out[0..cap]`. Two-call pattern: `*written` is
/// always set to the artefact's size; when `cap` is smaller (pass `out = NULL, cap = 0` to ask)
/// the status is `LS_ERR_BUFFER_TOO_SMALL` and nothing is copied. Each call compiles anew, so
/// a generous first buffer saves a compilation.
///
/// Ownership: the caller owns `out`. Thread safety: as `ls_module_load`.
/// Errors: `LS_ERR_NULL`, `LS_ERR_BUFFER_TOO_SMALL`, `LS_CODE_WRONG_TIER` on an interpreter
/// engine, or any code of `ls_module_load`.
///
/// # Safety
/// `engine` is null or live; `wasm` is null or readable for `len` bytes; `out` is null or
/// writable for `cap` bytes; `written` is null or writable; `err` is null or writable for
/// `err_cap` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ls_module_precompile(
    engine: *const ls_engine,
    wasm: *const u8,
    len: usize,
    out: *mut u8,
    cap: usize,
    written: *mut usize,
    err: *mut c_char,
    err_cap: usize,
) -> i32 {
    run(
        // SAFETY: the caller's contract on `err`.
        || unsafe { err_buf(err, err_cap) },
        // SAFETY: the caller's contract on every pointer.
        || unsafe {
            api::module_precompile(
                engine.as_ref(),
                slice(wasm, len),
                out_bytes(out, cap),
                written.as_mut(),
            )
        },
    )
}

/// Loads an artefact of `ls_module_precompile` (same library build, same compiled-tier
/// configuration) without running Cranelift, and stores the module in `*out` (null on
/// failure). Artefacts contain native code: load only your own.
///
/// Ownership and thread safety: as `ls_module_load`.
/// Errors: `LS_ERR_NULL`, `LS_CODE_WRONG_TIER`, `LS_CODE_ARTEFACT`, or a load code.
///
/// # Safety
/// `engine` is null or live; `artefact` is null or readable for `len` bytes; `out` is null or
/// writable; `err` is null or writable for `err_cap` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ls_module_load_precompiled(
    engine: *const ls_engine,
    artefact: *const u8,
    len: usize,
    out: *mut *mut ls_module,
    err: *mut c_char,
    err_cap: usize,
) -> i32 {
    run(
        // SAFETY: the caller's contract on `err`.
        || unsafe { err_buf(err, err_cap) },
        // SAFETY: the caller's contract on `engine`, `artefact` and `out`.
        || unsafe {
            api::module_load_precompiled(engine.as_ref(), slice(artefact, len), out.as_mut())
        },
    )
}

/// Writes the SHA-256 of the module's `.wasm` bytes (for a precompiled module, of the `.wasm`
/// it was compiled from) into `out[0..LS_SHA256_SIZE]`: what checkpoints are bound to.
/// Returns `LS_OK` or `LS_ERR_NULL`. Thread safety: any thread.
///
/// # Safety
/// `module` is null or live; `out` is null or writable for 32 bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ls_module_sha256(module: *const ls_module, out: *mut u8) -> i32 {
    // SAFETY: the caller's contract (`[u8; 32]` has alignment 1).
    run(|| None, || unsafe { api::module_sha256(module.as_ref(), out.cast::<[u8; 32]>().as_mut()) })
}

/// Frees a module. Null is accepted and ignored. Instances made from it stay valid.
///
/// # Safety
/// `module` is null or from this library, not freed before, and unused by other threads.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ls_module_free(module: *mut ls_module) {
    // SAFETY: the caller's contract.
    run_quiet((), || unsafe { free(module) });
}

/// Instantiates the module and runs the strategy's init with `params[0..params_len]` (UTF-8,
/// not NUL-terminated; `params` may be null when `params_len` is 0), storing the instance in
/// `*out` (null on failure).
///
/// Ownership: the caller owns `*out` and frees it with `ls_instance_free`; it does not borrow
/// the module or engine.
/// Thread safety: an instance is used by one thread at a time; it may be moved to another
/// thread between calls (the Rust `Instance` is `Send`). Instantiate on the thread that runs it.
/// Errors: `LS_ERR_NULL`, `LS_ERR_INVALID_ARGUMENT` (params not UTF-8),
/// `LS_CODE_PARAMS_TOO_LONG`, `LS_CODE_INIT_REJECTED` (the message is the strategy's), or a
/// runtime code (fuel, trap).
///
/// # Safety
/// `module` is null or live; `params` is null or readable for `params_len` bytes; `out` is null
/// or writable; `err` is null or writable for `err_cap` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ls_instance_new(
    module: *const ls_module,
    params: *const c_char,
    params_len: usize,
    out: *mut *mut ls_instance,
    err: *mut c_char,
    err_cap: usize,
) -> i32 {
    run(
        // SAFETY: the caller's contract on `err`.
        || unsafe { err_buf(err, err_cap) },
        // SAFETY: the caller's contract on `module`, `params` and `out`.
        || unsafe {
            let params = slice_or_empty(params.cast::<u8>(), params_len);
            api::instance_new(module.as_ref(), params, out.as_mut())
        },
    )
}

/// Handles one event: `event` is an `LS_EVENT_SIZE`-byte record (`ls_event_encode`), `book` an
/// `LS_BOOK_SIZE`-byte L2 view (`ls_book_write`) for `LS_EVENT_BOOK` events, else null. On
/// `LS_OK`, `*actions` points at `*count` records of `LS_ACTION_SIZE` bytes (decode each with
/// `ls_action_decode`); on failure `*actions` is null and `*count` 0. `*fuel` (if `fuel` is not
/// null) receives the fuel the call used, also on failure.
///
/// Ownership: the action records belong to the instance and stay valid until the next call on
/// it (or `ls_instance_free`); do not free them.
/// Thread safety: one thread at a time per instance.
/// Errors: `LS_ERR_NULL`, or a runtime code: `LS_CODE_OUT_OF_FUEL`, `LS_CODE_TRAP`,
/// `LS_CODE_GUEST_PANIC`, `LS_CODE_GUEST`, ... All but `LS_CODE_GUEST | 3` (a bad event record)
/// halt the instance; then every call returns `LS_CODE_HALTED`.
///
/// # Safety
/// `instance` is null or live and not used concurrently; `event` is null or readable for
/// `LS_EVENT_SIZE` bytes; `book` is null or readable for `LS_BOOK_SIZE` bytes; `actions`,
/// `count` and `fuel` are null or writable; `err` is null or writable for `err_cap` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ls_instance_on_event(
    instance: *mut ls_instance,
    event: *const u8,
    book: *const u8,
    actions: *mut *const u8,
    count: *mut usize,
    fuel: *mut u64,
    err: *mut c_char,
    err_cap: usize,
) -> i32 {
    run(
        // SAFETY: the caller's contract on `err`.
        || unsafe { err_buf(err, err_cap) },
        // SAFETY: the caller's contract on every pointer.
        || unsafe {
            let out =
                EventOut { actions: actions.as_mut(), count: count.as_mut(), fuel: fuel.as_mut() };
            api::instance_on_event(
                instance.as_mut(),
                array::<LS_EVENT_SIZE>(event),
                array::<LS_BOOK_SIZE>(book),
                out,
            )
        },
    )
}

/// Whether an error has halted the instance: 1 halted, 0 running, `LS_ERR_NULL` for null.
/// Thread safety: one thread at a time per instance.
///
/// # Safety
/// `instance` is null or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ls_instance_is_halted(instance: *const ls_instance) -> i32 {
    // SAFETY: the caller's contract.
    run_quiet(LS_ERR_PANIC, || api::instance_is_halted(unsafe { instance.as_ref() }))
}

/// Writes the strategy's whole state (memory, globals, halted flag; see `engine/ABI.md`) into
/// `out[0..cap]`, between events. Two-call pattern: `*written` is always set to the
/// checkpoint's size; when `cap` is smaller (pass `out = NULL, cap = 0` to ask) the status is
/// `LS_ERR_BUFFER_TOO_SMALL` and nothing is copied. The bytes restore on either tier.
///
/// Ownership: the caller owns `out`. Thread safety: one thread at a time per instance.
/// Errors: `LS_ERR_NULL`, `LS_ERR_BUFFER_TOO_SMALL`.
///
/// # Safety
/// `instance` is null or live and not used concurrently; `out` is null or writable for `cap`
/// bytes; `written` is null or writable; `err` is null or writable for `err_cap` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ls_instance_checkpoint(
    instance: *mut ls_instance,
    out: *mut u8,
    cap: usize,
    written: *mut usize,
    err: *mut c_char,
    err_cap: usize,
) -> i32 {
    run(
        // SAFETY: the caller's contract on `err`.
        || unsafe { err_buf(err, err_cap) },
        // SAFETY: the caller's contract on `instance`, `out` and `written`.
        || unsafe {
            api::instance_checkpoint(instance.as_mut(), out_bytes(out, cap), written.as_mut())
        },
    )
}

/// Restores a checkpoint (`ls_instance_checkpoint`, from either tier) into a fresh instance of
/// `module` (init does not run again) and stores it in `*out` (null on failure).
///
/// Ownership and thread safety: as `ls_instance_new`.
/// Errors: `LS_ERR_NULL`, an `LS_CODE_CHECKPOINT` code (low byte: 1 not a checkpoint, 2 format
/// version, 3 truncated, 4 corrupt, 5 another module, 6 memory too large) or
/// `LS_CODE_ABI_VERSION`.
///
/// # Safety
/// `module` is null or live; `checkpoint` is null or readable for `len` bytes; `out` is null or
/// writable; `err` is null or writable for `err_cap` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ls_instance_restore(
    module: *const ls_module,
    checkpoint: *const u8,
    len: usize,
    out: *mut *mut ls_instance,
    err: *mut c_char,
    err_cap: usize,
) -> i32 {
    run(
        // SAFETY: the caller's contract on `err`.
        || unsafe { err_buf(err, err_cap) },
        // SAFETY: the caller's contract on `module`, `checkpoint` and `out`.
        || unsafe { api::instance_restore(module.as_ref(), slice(checkpoint, len), out.as_mut()) },
    )
}

/// Hot swap: prepares `module`, a new version of the strategy `running` runs, to take over
/// from it, and stores the new instance in `*out` (null on failure). With `migrate` 0 it
/// starts afresh with `params` (`lockstep_init`); otherwise it carries `running`'s state over
/// through the new version's `lockstep_migrate` (`params` is ignored and may be null). Switch
/// by using `*out` instead of `running` from the next event on, then free `running`.
///
/// Ownership: the caller owns `*out` (free it with `ls_instance_free`); `running` stays the
/// caller's and is untouched whatever the result.
/// Thread safety: as `ls_instance_on_event` for `running`; call it between two events.
/// Errors: `LS_ERR_NULL`, `LS_ERR_INVALID_ARGUMENT` (params not UTF-8),
/// `LS_CODE_MIGRATION_REFUSED` (no `lockstep_migrate`, other mutable globals, a halted
/// `running`, or the migration refused), a runtime code from `lockstep_migrate` (fuel, trap),
/// or what `ls_instance_new` returns.
///
/// # Safety
/// `module` is null or live; `running` is null or live and not used concurrently; `params` is
/// null or readable for `params_len` bytes; `out` is null or writable; `err` is null or
/// writable for `err_cap` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ls_instance_take_over(
    module: *const ls_module,
    running: *mut ls_instance,
    params: *const c_char,
    params_len: usize,
    migrate: i32,
    out: *mut *mut ls_instance,
    err: *mut c_char,
    err_cap: usize,
) -> i32 {
    run(
        // SAFETY: the caller's contract on `err`.
        || unsafe { err_buf(err, err_cap) },
        // SAFETY: the caller's contract on `module`, `running`, `params` and `out`.
        || unsafe {
            let params = slice_or_empty(params.cast::<u8>(), params_len);
            api::instance_take_over(
                module.as_ref(),
                running.as_mut(),
                params,
                migrate != 0,
                out.as_mut(),
            )
        },
    )
}

/// Frees an instance and its action records. Null is accepted and ignored.
///
/// # Safety
/// `instance` is null or from this library, not freed before, and unused by other threads.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ls_instance_free(instance: *mut ls_instance) {
    // SAFETY: the caller's contract.
    run_quiet((), || unsafe { free(instance) });
}

/// Encodes `*event` into its `LS_EVENT_SIZE`-byte record at `out`.
/// Returns `LS_OK`, `LS_ERR_NULL`, or `LS_ERR_INVALID_ARGUMENT` (unknown kind, bad side).
/// Thread safety: any thread.
///
/// # Safety
/// `event` is null or points to an `ls_event`; `out` is null or writable for `LS_EVENT_SIZE`
/// bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ls_event_encode(event: *const ls_event, out: *mut u8) -> i32 {
    // SAFETY: the caller's contract (`[u8; N]` has alignment 1).
    run(
        || None,
        || unsafe { api::event_encode(event.as_ref(), out.cast::<[u8; LS_EVENT_SIZE]>().as_mut()) },
    )
}

/// Writes an L2 book view into the `LS_BOOK_SIZE`-byte record at `out`: `bids[0..nbids]` and
/// `asks[0..nasks]`, best first; at most `LS_BOOK_LEVELS` per side are kept. `bids`/`asks`
/// may be null when their count is 0. Returns `LS_OK` or `LS_ERR_NULL`. Thread safety: any.
///
/// # Safety
/// `out` is null or writable for `LS_BOOK_SIZE` bytes; `bids`/`asks` are null or readable for
/// `nbids`/`nasks` levels.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ls_book_write(
    out: *mut u8,
    instrument: u16,
    bids: *const ls_level,
    nbids: usize,
    asks: *const ls_level,
    nasks: usize,
) -> i32 {
    // SAFETY: the caller's contract on every pointer.
    run(
        || None,
        || unsafe {
            let out = out.cast::<[u8; LS_BOOK_SIZE]>().as_mut();
            api::book_write(
                out,
                instrument,
                slice_or_empty(bids, nbids),
                slice_or_empty(asks, nasks),
            )
        },
    )
}

/// Decodes the `LS_ACTION_SIZE`-byte action record at `record` into `*out`.
/// Returns `LS_OK`, `LS_ERR_NULL`, or `LS_ERR_INVALID_ARGUMENT` (unknown kind or side).
/// Thread safety: any thread.
///
/// # Safety
/// `record` is null or readable for `LS_ACTION_SIZE` bytes; `out` is null or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ls_action_decode(record: *const u8, out: *mut ls_action) -> i32 {
    // SAFETY: the caller's contract.
    run(|| None, || unsafe { api::action_decode(array::<LS_ACTION_SIZE>(record), out.as_mut()) })
}

/// A short static description of a status code: "ok", "null pointer argument", ..., or the
/// engine error family of a positive code. Never null; do not free it. Thread safety: any.
#[unsafe(no_mangle)]
pub extern "C" fn ls_status_name(status: i32) -> *const c_char {
    run_quiet(c"internal panic", || status_name(status)).as_ptr()
}
