//! Status codes and messages: what every fallible call returns, how its message reaches the
//! caller's buffer, and the guard that keeps panics from crossing the C boundary.

use crate::types::{
    LS_CODE_ABI_VERSION, LS_CODE_ARTEFACT, LS_CODE_BAD_REGIONS, LS_CODE_BAD_SIGNATURE,
    LS_CODE_CHECKPOINT, LS_CODE_FORBIDDEN_IMPORT, LS_CODE_GUEST, LS_CODE_GUEST_PANIC,
    LS_CODE_HALTED, LS_CODE_HOST, LS_CODE_INIT_REJECTED, LS_CODE_MALFORMED, LS_CODE_MEMORY_LIMIT,
    LS_CODE_MEMORY_TOO_LARGE, LS_CODE_MIGRATION_REFUSED, LS_CODE_MISSING_EXPORT,
    LS_CODE_MISSING_MEMORY_IMPORT, LS_CODE_MODULE_TOO_LARGE, LS_CODE_OUT_OF_FUEL,
    LS_CODE_PARAMS_TOO_LONG, LS_CODE_SETUP, LS_CODE_TRAP, LS_CODE_UNPORTABLE, LS_CODE_WRONG_TIER,
    LS_ERR_BUFFER_TOO_SMALL, LS_ERR_INVALID_ARGUMENT, LS_ERR_NULL, LS_ERR_PANIC, LS_OK,
};
use core::fmt;
use lockstep_engine::Error;
use std::any::Any;
use std::ffi::CStr;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// Why a call failed: an API misuse (negative status) or the engine's error (its code).
#[derive(Debug)]
pub(crate) enum ApiError {
    /// A required pointer argument was null; names the argument.
    Null(&'static str),
    /// An output buffer is too small.
    BufferTooSmall {
        /// What the buffer was for.
        what: &'static str,
        /// Bytes needed.
        needed: usize,
        /// Bytes given.
        cap: usize,
    },
    /// An argument is out of range.
    Invalid(String),
    /// The engine refused.
    Engine(Error),
    /// A panic was caught; its message.
    Panic(String),
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError::Engine(e)
    }
}

impl ApiError {
    /// The status code returned to C.
    pub(crate) fn status(&self) -> i32 {
        match self {
            ApiError::Null(_) => LS_ERR_NULL,
            ApiError::BufferTooSmall { .. } => LS_ERR_BUFFER_TOO_SMALL,
            ApiError::Invalid(_) => LS_ERR_INVALID_ARGUMENT,
            ApiError::Engine(e) => i32::from(e.code()),
            ApiError::Panic(_) => LS_ERR_PANIC,
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApiError::Null(arg) => write!(f, "argument `{arg}` is null"),
            ApiError::BufferTooSmall { what, needed, cap } => write!(
                f,
                "the {what} needs {needed} bytes but the buffer holds {cap}; call again with a buffer of at least *written bytes"
            ),
            ApiError::Invalid(reason) => f.write_str(reason),
            ApiError::Engine(e) => e.fmt(f),
            ApiError::Panic(msg) => write!(
                f,
                "liblockstep panicked (a bug: please report it): {}",
                lockstep_engine::sdk::untrusted(msg).max_chars(500)
            ),
        }
    }
}

/// The result of a call's logic.
pub(crate) type ApiResult = Result<(), ApiError>;

/// Runs a call: `body` inside `catch_unwind`, then its message written into the buffer `err`
/// returns (asked for only now, also inside the guard). Returns the status for C.
pub(crate) fn run<'a>(
    err: impl FnOnce() -> Option<&'a mut [u8]>,
    body: impl FnOnce() -> ApiResult,
) -> i32 {
    let guarded = catch_unwind(AssertUnwindSafe(|| {
        let outcome = catch_unwind(AssertUnwindSafe(body))
            .unwrap_or_else(|payload| Err(ApiError::Panic(panic_text(payload.as_ref()))));
        let (status, message) = match outcome {
            Ok(()) => (LS_OK, String::new()),
            Err(e) => (e.status(), e.to_string()),
        };
        write_message(err(), &message);
        status
    }));
    guarded.unwrap_or(LS_ERR_PANIC)
}

/// Runs a call that reports no message (helpers and `free`s), inside `catch_unwind`.
pub(crate) fn run_quiet<T>(fallback: T, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(fallback)
}

/// The text of a panic payload (`panic!` gives a `&str` or a `String`).
fn panic_text(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_owned()
    }
}

/// Writes `message` NUL-terminated into `buf`, truncated to `buf.len() - 1` bytes at a UTF-8
/// character boundary. Does nothing for a missing or empty buffer.
pub(crate) fn write_message(buf: Option<&mut [u8]>, message: &str) {
    let Some(buf) = buf else { return };
    let Some(room) = buf.len().checked_sub(1) else { return };
    let n = message.floor_char_boundary(room.min(message.len()));
    buf[..n].copy_from_slice(&message.as_bytes()[..n]);
    buf[n] = 0;
}

/// A short, static description of a status (`ls_status_name`).
pub(crate) fn status_name(status: i32) -> &'static CStr {
    match status {
        LS_OK => c"ok",
        LS_ERR_NULL => c"null pointer argument",
        LS_ERR_BUFFER_TOO_SMALL => c"buffer too small",
        LS_ERR_INVALID_ARGUMENT => c"invalid argument",
        LS_ERR_PANIC => c"internal panic",
        s if s > 0 => family_name(s & !0xff),
        _ => c"unknown status",
    }
}

/// The name of an engine error family (`status & ~0xff`).
fn family_name(family: i32) -> &'static CStr {
    match family {
        LS_CODE_MODULE_TOO_LARGE => c"module too large",
        LS_CODE_MALFORMED => c"malformed module",
        LS_CODE_FORBIDDEN_IMPORT => c"forbidden import",
        LS_CODE_MISSING_MEMORY_IMPORT => c"missing memory import",
        LS_CODE_MEMORY_TOO_LARGE => c"module memory too large",
        LS_CODE_MISSING_EXPORT => c"missing export",
        LS_CODE_BAD_SIGNATURE => c"bad signature",
        LS_CODE_ABI_VERSION => c"ABI version mismatch",
        LS_CODE_BAD_REGIONS => c"bad regions",
        LS_CODE_PARAMS_TOO_LONG => c"params too long",
        LS_CODE_INIT_REJECTED => c"init rejected",
        LS_CODE_OUT_OF_FUEL => c"out of fuel",
        LS_CODE_MEMORY_LIMIT => c"memory limit",
        LS_CODE_TRAP => c"trap",
        LS_CODE_GUEST_PANIC => c"strategy panicked",
        LS_CODE_HOST => c"host error",
        LS_CODE_GUEST => c"strategy failure status",
        LS_CODE_HALTED => c"halted",
        LS_CODE_SETUP => c"engine setup",
        LS_CODE_ARTEFACT => c"bad precompiled artefact",
        LS_CODE_WRONG_TIER => c"wrong tier",
        LS_CODE_CHECKPOINT => c"checkpoint refused",
        LS_CODE_UNPORTABLE => c"module not portable across tiers",
        LS_CODE_MIGRATION_REFUSED => c"migration refused",
        _ => c"engine error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lockstep_engine::{CheckpointError, Phase, Tier, TrapKind};

    #[test]
    fn messages_are_truncated_and_nul_terminated() {
        let mut buf = [0xAAu8; 8];
        write_message(Some(&mut buf), "0123456789");
        assert_eq!(&buf, b"0123456\0");
        let mut buf = [0xAAu8; 1];
        write_message(Some(&mut buf), "abc");
        assert_eq!(buf, [0]);
        let mut empty: [u8; 0] = [];
        write_message(Some(&mut empty), "abc");
        write_message(None, "abc");
        // A multi-byte character is never cut in half.
        let mut buf = [0xAAu8; 4];
        write_message(Some(&mut buf), "aé€");
        assert_eq!(&buf[..4], b"a\xc3\xa9\0");
        let mut buf = [0xAAu8; 16];
        write_message(Some(&mut buf), "short");
        assert_eq!(&buf[..6], b"short\0");
    }

    #[test]
    fn panics_become_a_status_and_a_message() {
        let mut buf = [0u8; 128];
        let status = run(|| Some(&mut buf[..]), || panic!("boom {}", 42));
        assert_eq!(status, LS_ERR_PANIC);
        let text = CStr::from_bytes_until_nul(&buf).unwrap().to_str().unwrap();
        assert!(text.contains("panicked") && text.contains("boom 42"), "{text}");
        assert_eq!(run(|| None, || panic!("static")), LS_ERR_PANIC);
        // A panic while the error buffer is produced is caught too.
        assert_eq!(run(|| panic!("in err"), || Ok(())), LS_ERR_PANIC);
        assert_eq!(run_quiet(7, || -> i32 { panic!("quiet") }), 7);
    }

    #[test]
    fn success_clears_the_message_and_errors_map_to_codes() {
        let mut buf = [b'x'; 8];
        assert_eq!(run(|| Some(&mut buf[..]), || Ok(())), LS_OK);
        assert_eq!(buf[0], 0);
        let malformed = ApiError::from(Error::Malformed { reason: "x".into() });
        assert_eq!(malformed.status(), LS_CODE_MALFORMED);
        assert_eq!(ApiError::Null("out").status(), LS_ERR_NULL);
        assert_eq!(ApiError::Invalid(String::new()).status(), LS_ERR_INVALID_ARGUMENT);
    }

    #[test]
    fn families_match_the_engine_codes() {
        let cases = [
            (Error::ModuleTooLarge { size: 1, limit: 0 }, LS_CODE_MODULE_TOO_LARGE),
            (Error::Malformed { reason: String::new() }, LS_CODE_MALFORMED),
            (
                Error::ForbiddenImport { module: String::new(), name: String::new() },
                LS_CODE_FORBIDDEN_IMPORT,
            ),
            (Error::MissingMemoryImport, LS_CODE_MISSING_MEMORY_IMPORT),
            (Error::MemoryTooLarge { declared_pages: 1, limit_pages: 0 }, LS_CODE_MEMORY_TOO_LARGE),
            (Error::MissingExport { name: "x" }, LS_CODE_MISSING_EXPORT),
            (Error::BadSignature { name: "x", expected: "y" }, LS_CODE_BAD_SIGNATURE),
            (Error::AbiVersion { found: 2, expected: 1 }, LS_CODE_ABI_VERSION),
            (Error::BadRegions { reason: String::new() }, LS_CODE_BAD_REGIONS),
            (Error::ParamsTooLong { len: 2, cap: 1 }, LS_CODE_PARAMS_TOO_LONG),
            (Error::InitRejected { message: String::new() }, LS_CODE_INIT_REJECTED),
            (Error::OutOfFuel { phase: Phase::Init, budget: 1 }, LS_CODE_OUT_OF_FUEL),
            (Error::MemoryLimit { phase: Phase::Init, limit_pages: 1 }, LS_CODE_MEMORY_LIMIT),
            (Error::Trap { phase: Phase::Init, kind: TrapKind::Unreachable }, LS_CODE_TRAP),
            (Error::GuestPanic { phase: Phase::Init, message: String::new() }, LS_CODE_GUEST_PANIC),
            (Error::Host { phase: Phase::Init, reason: String::new() }, LS_CODE_HOST),
            (Error::Halted { seq: 1 }, LS_CODE_HALTED),
            (Error::Setup { reason: String::new() }, LS_CODE_SETUP),
            (Error::Artefact { reason: String::new() }, LS_CODE_ARTEFACT),
            (
                Error::WrongTier { needs: Tier::Compiled, engine: Tier::Interpreter },
                LS_CODE_WRONG_TIER,
            ),
            (Error::Checkpoint(CheckpointError::NotACheckpoint), LS_CODE_CHECKPOINT),
            (Error::Unportable { reason: String::new() }, LS_CODE_UNPORTABLE),
            (Error::MigrationRefused { reason: String::new() }, LS_CODE_MIGRATION_REFUSED),
        ];
        for (error, family) in cases {
            let status = ApiError::from(error.clone()).status();
            assert_eq!(status & !0xff, family, "{error:?}");
            assert_ne!(status_name(status), c"engine error", "{error:?}");
        }
        assert_eq!(i32::from(lockstep_engine::sdk::RunError::GUEST_FAMILY) << 8, LS_CODE_GUEST);
        assert_eq!(status_name(LS_CODE_GUEST | 3), c"strategy failure status");
        assert_eq!(status_name(-99), c"unknown status");
        assert_eq!(status_name(LS_OK), c"ok");
    }
}
