//! One interface for everything that runs a strategy: a native build ([`NativeInstance`]), an
//! engine instance on either tier, or a module in a browser's WebAssembly engine. Harnesses
//! (the engine's worker, the replay session, benchmarks) drive any of them through
//! [`StrategyRunner`], and a failure reaches them as a [`RunError`] with a stable code.

use crate::abi::{ActionRecord, BookRecord, EventRecord};
use crate::strategy::{DispatchError, NativeInstance, Strategy};
use core::fmt;

/// What one event produced: the actions, read once from the strategy, and the fuel it used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Step<'a> {
    /// The actions, valid until the next call.
    pub actions: &'a [ActionRecord],
    /// Fuel the event used; `None` for runners nothing meters (native builds, browsers).
    pub fuel: Option<u64>,
}

/// Why a runner refused an event: a stable code (what digests hash), whether the strategy is
/// stopped for good, a message for people, and the fuel the event burnt before it failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunError {
    code: u16,
    halts: bool,
    message: String,
    fuel: Option<u64>,
}

impl RunError {
    /// A failure with the engine's stable `code` (see `lockstep_engine::Error::code`).
    pub fn new(code: u16, halts: bool, message: impl Into<String>) -> Self {
        Self { code, halts, message: message.into(), fuel: None }
    }

    /// The same failure, with the fuel the event used before it failed (metered runners).
    #[must_use]
    pub fn with_fuel(mut self, fuel: u64) -> Self {
        self.fuel = Some(fuel);
        self
    }

    /// The failure of a strategy's dispatch on event `seq`, coded as the engine codes it.
    pub fn dispatch(seq: u64, error: &DispatchError) -> Self {
        Self::new(
            Self::dispatch_code(error),
            !matches!(error, DispatchError::BadEvent(_)),
            format!("strategy failed on event seq {seq}: {error}"),
        )
    }

    /// The stable code of a dispatch failure: family 17, the low byte naming the failure. The
    /// engine codes a Wasm guest's dispatch failures with this, so tiers and native agree.
    pub fn dispatch_code(error: &DispatchError) -> u16 {
        let low = match error {
            DispatchError::ActionOverflow { .. } => 1,
            DispatchError::NotInitialized => 2,
            DispatchError::BadEvent(_) => 3,
        };
        Self::GUEST_FAMILY << 8 | low
    }

    /// The high byte of every code for a failure the guest itself reported.
    pub const GUEST_FAMILY: u16 = 17;

    /// The stable code; digests hash this, never the message.
    pub fn code(&self) -> u16 {
        self.code
    }

    /// Whether the strategy is stopped for the rest of the run (otherwise only this event was
    /// refused).
    pub fn halts(&self) -> bool {
        self.halts
    }

    /// What happened, for reports.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Fuel the failed event used (a fuel-out uses its whole budget); `None` where nothing
    /// meters the runner. Fuel digests count it like any other event's.
    pub fn fuel(&self) -> Option<u64> {
        self.fuel
    }
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for RunError {}

/// Anything that takes events and yields actions, so a harness runs a native build, either
/// engine tier or a browser's engine through one interface.
pub trait StrategyRunner: Send {
    /// Handles one event (with the L2 view for `BOOK` events): the actions and fuel together.
    ///
    /// # Errors
    /// [`RunError`]: the event was refused, or the strategy stopped ([`RunError::halts`]).
    fn on_event(
        &mut self,
        ev: &EventRecord,
        book: Option<&BookRecord>,
    ) -> Result<Step<'_>, RunError>;

    /// Actions of the last call: `init`'s right after the runner is built, then the last
    /// event's (the same slice [`Step::actions`] gave).
    fn actions(&self) -> &[ActionRecord];

    /// Writes the strategy's whole state into `out` (cleared first) for a checkpoint, between
    /// events; `false` when this runner cannot be checkpointed (a native build: its state is
    /// Rust memory, not a sandbox's).
    fn checkpoint(&mut self, out: &mut Vec<u8>) -> bool {
        out.clear();
        false
    }

    /// The ABI version the strategy's action records are written for (see
    /// [`crate::ActionRecord::decode_for`]): a sandboxed module's own; 1 unless a runner says.
    fn abi_version(&self) -> u32 {
        1
    }
}

impl<R: StrategyRunner + ?Sized> StrategyRunner for Box<R> {
    #[inline]
    fn on_event(
        &mut self,
        ev: &EventRecord,
        book: Option<&BookRecord>,
    ) -> Result<Step<'_>, RunError> {
        (**self).on_event(ev, book)
    }

    fn actions(&self) -> &[ActionRecord] {
        (**self).actions()
    }

    fn checkpoint(&mut self, out: &mut Vec<u8>) -> bool {
        (**self).checkpoint(out)
    }

    fn abi_version(&self) -> u32 {
        (**self).abi_version()
    }
}

impl<S: Strategy + Send> StrategyRunner for NativeInstance<S> {
    #[inline]
    fn on_event(
        &mut self,
        ev: &EventRecord,
        book: Option<&BookRecord>,
    ) -> Result<Step<'_>, RunError> {
        let seq = ev.seq();
        match NativeInstance::on_event(self, ev, book) {
            Ok(actions) => Ok(Step { actions, fuel: None }),
            Err(d) => Err(RunError::dispatch(seq, &d)),
        }
    }

    fn actions(&self) -> &[ActionRecord] {
        NativeInstance::actions(self)
    }

    fn abi_version(&self) -> u32 {
        crate::ABI_VERSION
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::AbiError;

    #[test]
    fn dispatch_codes_are_stable_and_bad_events_do_not_halt() {
        let overflow = RunError::dispatch(4, &DispatchError::ActionOverflow { cap: 8 });
        assert_eq!(overflow.code(), 0x1101);
        assert!(overflow.halts());
        assert!(overflow.message().contains("seq 4"), "{overflow}");
        let bad = RunError::dispatch(5, &DispatchError::BadEvent(AbiError::UnknownKind(9)));
        assert_eq!(bad.code(), 0x1103);
        assert!(!bad.halts());
        assert_eq!(RunError::dispatch_code(&DispatchError::NotInitialized), 0x1102);
    }
}
