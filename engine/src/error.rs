//! The engine's error type: every way a module can be refused or a strategy can fail.

use core::fmt;
use lockstep_sdk::{DispatchError, RunError, untrusted};

/// What kind of trap stopped a guest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TrapKind {
    /// `unreachable` executed (also what a Rust panic becomes with `panic = "abort"`).
    Unreachable,
    /// A load or store outside linear memory.
    MemoryOutOfBounds,
    /// Integer division or remainder by zero.
    DivisionByZero,
    /// Signed division overflow.
    IntegerOverflow,
    /// Float to integer conversion out of range.
    BadConversion,
    /// Call nesting or value stack beyond the configured limits.
    StackExhausted,
    /// An indirect call through a bad table slot or signature.
    BadIndirectCall,
    /// Any other trap (host error or unknown code).
    Other,
}

impl fmt::Display for TrapKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TrapKind::Unreachable => "unreachable executed",
            TrapKind::MemoryOutOfBounds => "out-of-bounds memory access",
            TrapKind::DivisionByZero => "integer division by zero",
            TrapKind::IntegerOverflow => "integer overflow",
            TrapKind::BadConversion => "invalid float-to-integer conversion",
            TrapKind::StackExhausted => "stack exhausted (recursion too deep)",
            TrapKind::BadIndirectCall => "bad indirect call",
            TrapKind::Other => "trap",
        })
    }
}

/// Where in a strategy's life an error happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Loading and validating the module (includes a trial instantiation).
    Load,
    /// Instantiation: the start function and `lockstep_init`.
    Init,
    /// Handling the event with this sequence number.
    Event(u64),
    /// A hot swap: the new version's `lockstep_migrate` taking over the old one's state.
    Migrate,
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Phase::Load => f.write_str("at load"),
            Phase::Init => f.write_str("during init"),
            Phase::Event(seq) => write!(f, "on event seq {seq}"),
            Phase::Migrate => f.write_str("while migrating the running version's state"),
        }
    }
}

/// Everything that can go wrong loading, instantiating or running a strategy.
///
/// Load errors refuse the module; runtime errors halt that one strategy instance, and the
/// host and every other instance carry on.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The module is larger than [`Config::max_module_bytes`](crate::Config::max_module_bytes).
    ModuleTooLarge {
        /// Size of the module.
        size: usize,
        /// The configured limit.
        limit: usize,
    },
    /// The bytes are not a valid WebAssembly module (or use a feature the engine disables).
    Malformed {
        /// wasmi's explanation.
        reason: String,
    },
    /// The module imports something the engine does not provide.
    ForbiddenImport {
        /// Import module name.
        module: String,
        /// Import field name.
        name: String,
    },
    /// The module does not import its memory as `lockstep.memory`.
    MissingMemoryImport,
    /// The module's declared minimum memory exceeds the configured limit.
    MemoryTooLarge {
        /// Pages the module asks for at minimum.
        declared_pages: u64,
        /// The configured limit in pages.
        limit_pages: u32,
    },
    /// A required ABI export is absent.
    MissingExport {
        /// The export's name.
        name: &'static str,
    },
    /// An ABI export or import has the wrong type.
    BadSignature {
        /// The item's name.
        name: &'static str,
        /// The type the ABI requires.
        expected: &'static str,
    },
    /// The module speaks a different ABI version.
    AbiVersion {
        /// Version the module reports.
        found: i64,
        /// Version this engine speaks.
        expected: u32,
    },
    /// The module uses what the two tiers cannot run alike (growing a table, a function with
    /// more locals than the interpreter takes): refused at load on every tier.
    Unportable {
        /// What and where.
        reason: String,
    },
    /// A hot swap's new version did not take over the running version's state: it exports no
    /// `lockstep_migrate`, its mutable globals differ from the old version's, or its
    /// `lockstep_migrate` refused (with its message). The running version is untouched.
    MigrationRefused {
        /// Why.
        reason: String,
    },
    /// The module's region descriptor is invalid (outside memory, overlapping, or too large).
    BadRegions {
        /// What is wrong.
        reason: String,
    },
    /// The parameter text does not fit in the guest's parameter region.
    ParamsTooLong {
        /// Length of the parameters.
        len: usize,
        /// Capacity of the region.
        cap: u32,
    },
    /// The strategy's `init` refused the parameters.
    InitRejected {
        /// The strategy's message.
        message: String,
    },
    /// The strategy used its whole fuel budget.
    OutOfFuel {
        /// Where.
        phase: Phase,
        /// The budget it ran out of.
        budget: u64,
    },
    /// The strategy tried to grow its memory beyond the preallocated limit.
    MemoryLimit {
        /// Where.
        phase: Phase,
        /// The configured limit in pages.
        limit_pages: u32,
    },
    /// The guest trapped.
    Trap {
        /// Where.
        phase: Phase,
        /// What kind of trap.
        kind: TrapKind,
    },
    /// The guest panicked and reported a message through `lockstep.fail`.
    GuestPanic {
        /// Where.
        phase: Phase,
        /// The guest's message.
        message: String,
    },
    /// The interpreter failed for a reason that is not a guest trap (a host or limit error).
    Host {
        /// Where.
        phase: Phase,
        /// wasmi's explanation.
        reason: String,
    },
    /// The guest returned a failure status or an impossible action count.
    Guest {
        /// Where.
        phase: Phase,
        /// What the guest said.
        error: GuestStatus,
    },
    /// An earlier error halted this instance; it takes no more events.
    Halted {
        /// The sequence number of the event that was refused.
        seq: u64,
    },
    /// A worker could not be placed on the requested core.
    Pinning {
        /// The core asked for.
        core: usize,
        /// Why it failed.
        reason: String,
    },
    /// A worker's input ring is full (the producer is faster than the strategies).
    RingFull,
    /// The worker thread is gone (it panicked or was shut down).
    WorkerGone,
    /// The engine cannot be built with this configuration on this host.
    Setup {
        /// What is wrong.
        reason: String,
    },
    /// A precompiled artefact was not produced by this engine build and configuration, or was
    /// damaged since.
    Artefact {
        /// What is wrong.
        reason: String,
    },
    /// Checkpoint bytes were refused; nothing was restored.
    Checkpoint(crate::checkpoint::CheckpointError),
    /// The operation needs an engine of another tier.
    WrongTier {
        /// The tier the operation needs.
        needs: crate::config::Tier,
        /// The engine's tier.
        engine: crate::config::Tier,
    },
}

/// A failure status returned by the guest itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum GuestStatus {
    /// A status code the SDK defines.
    Dispatch(DispatchError),
    /// The guest returned a status code the ABI does not define.
    UnknownStatus(i32),
    /// The guest claimed more actions than its action region holds.
    TooManyActions {
        /// The count returned.
        count: i32,
        /// The region capacity.
        cap: u32,
    },
}

impl fmt::Display for GuestStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GuestStatus::Dispatch(d) => d.fmt(f),
            GuestStatus::UnknownStatus(c) => write!(f, "guest returned undefined status {c}"),
            GuestStatus::TooManyActions { count, cap } => {
                write!(f, "guest reported {count} actions but its action region holds {cap}")
            }
        }
    }
}

impl Error {
    /// A stable numeric code for what went wrong, independent of the tier and of the wording
    /// of messages: digests hash this, never the text. The high byte names the variant, the low
    /// byte the trap kind or guest status. Codes never change meaning; new ones are appended.
    pub fn code(&self) -> u16 {
        let sub = |k: &TrapKind| match k {
            TrapKind::Unreachable => 1,
            TrapKind::MemoryOutOfBounds => 2,
            TrapKind::DivisionByZero => 3,
            TrapKind::IntegerOverflow => 4,
            TrapKind::BadConversion => 5,
            TrapKind::StackExhausted => 6,
            TrapKind::BadIndirectCall => 7,
            TrapKind::Other => 255,
        };
        let (variant, low): (u16, u16) = match self {
            Error::ModuleTooLarge { .. } => (1, 0),
            Error::Malformed { .. } => (2, 0),
            Error::ForbiddenImport { .. } => (3, 0),
            Error::MissingMemoryImport => (4, 0),
            Error::MemoryTooLarge { .. } => (5, 0),
            Error::MissingExport { .. } => (6, 0),
            Error::BadSignature { .. } => (7, 0),
            Error::AbiVersion { .. } => (8, 0),
            Error::BadRegions { .. } => (9, 0),
            Error::ParamsTooLong { .. } => (10, 0),
            Error::InitRejected { .. } => (11, 0),
            Error::OutOfFuel { .. } => (12, 0),
            Error::MemoryLimit { .. } => (13, 0),
            Error::Trap { kind, .. } => (14, sub(kind)),
            Error::GuestPanic { .. } => (15, 0),
            Error::Host { .. } => (16, 0),
            // One family with native builds: the SDK codes dispatch failures.
            Error::Guest { error, .. } => match error {
                GuestStatus::Dispatch(d) => return RunError::dispatch_code(d),
                GuestStatus::UnknownStatus(_) => (RunError::GUEST_FAMILY, 5),
                GuestStatus::TooManyActions { .. } => (RunError::GUEST_FAMILY, 6),
            },
            Error::Halted { .. } => (18, 0),
            Error::Pinning { .. } => (19, 0),
            Error::RingFull => (20, 0),
            Error::WorkerGone => (21, 0),
            Error::Setup { .. } => (22, 0),
            Error::Artefact { .. } => (23, 0),
            Error::WrongTier { .. } => (24, 0),
            Error::Checkpoint(c) => (25, c.sub_code()),
            Error::Unportable { .. } => (26, 0),
            Error::MigrationRefused { .. } => (27, 0),
        };
        variant << 8 | low
    }

    /// Whether this error halts the instance (every runtime failure except a host-side bad event).
    pub fn halts(&self) -> bool {
        !matches!(
            self,
            Error::Guest { error: GuestStatus::Dispatch(DispatchError::BadEvent(_)), .. }
                | Error::Halted { .. }
        )
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::ModuleTooLarge { size, limit } => write!(
                f,
                "module is {size} bytes, over the {limit}-byte limit; shrink it (opt-level, lto, strip) or raise Config::max_module_bytes"
            ),
            Error::Malformed { reason } => write!(
                f,
                "not a valid WebAssembly module for this engine: {}",
                untrusted(reason).max_chars(1000)
            ),
            Error::ForbiddenImport { module, name } => write!(
                f,
                "module imports `{}.{}`, which Lockstep does not provide; only `lockstep.memory` and `lockstep.fail` may be imported (no WASI, no clocks, no I/O)",
                untrusted(module),
                untrusted(name)
            ),
            Error::MissingMemoryImport => f.write_str(
                "module does not import its memory as `lockstep.memory`; link with --import-memory=lockstep,memory (see engine/ABI.md)",
            ),
            Error::MemoryTooLarge { declared_pages, limit_pages } => write!(
                f,
                "module declares at least {declared_pages} memory pages, over the limit of {limit_pages}; use less memory or raise Config::max_memory_pages"
            ),
            Error::MissingExport { name } => {
                write!(f, "module lacks the ABI export `{name}`; export it (see engine/ABI.md)")
            }
            Error::BadSignature { name, expected } => {
                write!(f, "`{name}` has the wrong type: the ABI requires {expected}")
            }
            Error::AbiVersion { found, expected } => write!(
                f,
                "module speaks Lockstep ABI v{found}, this engine speaks v{}..=v{expected}; rebuild the strategy against a matching lockstep-sdk",
                lockstep_sdk::MIN_ABI_VERSION
            ),
            Error::BadRegions { reason } => write!(f, "module's ABI regions are invalid: {reason}"),
            Error::MigrationRefused { reason } => write!(
                f,
                "the new version did not take over the running one's state: {reason}; the running version goes on (swap with a fresh start instead, or fix the migration)"
            ),
            Error::Unportable { reason } => write!(
                f,
                "module cannot run alike on both tiers: {reason}; size tables in their declaration and split the function"
            ),
            Error::ParamsTooLong { len, cap } => write!(
                f,
                "parameters are {len} bytes but the strategy's parameter region holds {cap}; pass fewer parameters"
            ),
            Error::InitRejected { message } => {
                write!(f, "strategy refused to start: {}", untrusted(message))
            }
            Error::OutOfFuel { phase, budget } => write!(
                f,
                "strategy ran out of fuel {phase} (budget {budget}); it is halted. Raise the fuel budget only if the work is legitimate"
            ),
            Error::MemoryLimit { phase, limit_pages } => write!(
                f,
                "strategy tried to grow memory past {limit_pages} pages {phase}; it is halted. Preallocate in init or raise Config::max_memory_pages"
            ),
            Error::Trap { phase, kind } => write!(f, "strategy trapped {phase}: {kind}; it is halted"),
            Error::GuestPanic { phase, message } => {
                write!(f, "strategy panicked {phase}: {}; it is halted", untrusted(message))
            }
            Error::Host { phase, reason } => write!(
                f,
                "strategy stopped {phase} by the engine: {}; it is halted",
                untrusted(reason).max_chars(1000)
            ),
            Error::Guest { phase, error } => write!(f, "strategy failed {phase}: {error}"),
            Error::Halted { seq } => write!(
                f,
                "event seq {seq} refused: the strategy was halted by an earlier error; reload it to continue"
            ),
            Error::Pinning { core, reason } => write!(f, "cannot run on core {core}: {reason}"),
            Error::RingFull => f.write_str(
                "worker input ring is full: the strategies fall behind the feed; drain results or enlarge the ring",
            ),
            Error::WorkerGone => f.write_str("the worker thread has stopped"),
            Error::Setup { reason } => write!(f, "cannot build the engine: {reason}"),
            Error::Artefact { reason } => write!(
                f,
                "precompiled module refused: {reason}; load the .wasm instead, or precompile it with this build"
            ),
            Error::Checkpoint(c) => write!(f, "cannot restore: {c}"),
            Error::WrongTier { needs, engine } => write!(
                f,
                "this needs an engine of the {needs} tier, but the engine is {engine}; set Config::tier"
            ),
        }
    }
}

impl std::error::Error for Error {}

/// An engine error as the SDK's runner interface reports it: the stable code, whether it
/// halts, and the message.
impl From<Error> for RunError {
    fn from(e: Error) -> Self {
        RunError::new(e.code(), e.halts(), e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lockstep_sdk::AbiError;

    #[test]
    fn only_host_side_bad_events_leave_the_instance_running() {
        let bad_event = Error::Guest {
            phase: Phase::Event(3),
            error: GuestStatus::Dispatch(DispatchError::BadEvent(AbiError::UnknownKind(9))),
        };
        assert!(!bad_event.halts());
        assert!(Error::OutOfFuel { phase: Phase::Event(3), budget: 10 }.halts());
        assert!(Error::Trap { phase: Phase::Event(3), kind: TrapKind::Unreachable }.halts());
    }

    #[test]
    fn messages_say_where_and_what_to_do() {
        let e = Error::OutOfFuel { phase: Phase::Event(42), budget: 1000 };
        let s = e.to_string();
        assert!(s.contains("event seq 42") && s.contains("budget 1000") && s.contains("halted"));
        let e = Error::ForbiddenImport {
            module: "wasi_snapshot_preview1".into(),
            name: "fd_write".into(),
        };
        assert!(e.to_string().contains("wasi_snapshot_preview1.fd_write"));
    }

    #[test]
    fn guest_text_is_escaped_and_capped() {
        let e = Error::GuestPanic {
            phase: Phase::Event(1),
            message: format!("\x1b[2J\ndigest: {}", "\0".repeat(5000)),
        };
        let s = e.to_string();
        assert!(!s.chars().any(char::is_control), "{s:?}");
        assert!(
            s.starts_with("strategy panicked on event seq 1: \\u{1b}[2J\\ndigest: \\u{0}"),
            "{s}"
        );
        assert!(s.ends_with("… (4813 more bytes); it is halted"), "{s}");
        let e =
            Error::ForbiddenImport { module: "lockstep".into(), name: "fail\n\x1b]0;x\x07".into() };
        assert!(e.to_string().contains("`lockstep.fail\\n\\u{1b}]0;x\\u{7}`"), "{e}");
        let e = Error::InitRejected { message: "no\r\nerror: forged".into() };
        assert_eq!(e.to_string(), "strategy refused to start: no\\r\\nerror: forged");
    }
}
