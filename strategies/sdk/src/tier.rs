//! The engine's execution tiers, named where every harness can see them.

use core::fmt;

/// Which execution tier of the engine (`lockstep-engine`) runs a WebAssembly strategy: here
/// so that harnesses can name it in reports without depending on the engine.
///
/// Both tiers take the same `.wasm` modules through the same sandbox checks and produce the same
/// actions and the same fuel (the module meters its own fuel, written into it at load).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tier {
    /// The wasmi interpreter: the reference. Instant load, no code generation, deterministic
    /// fuel; use it to backtest and certify.
    #[default]
    Interpreter,
    /// Cranelift-compiled native code (wasmtime) with fuel metering and canonical NaNs: several
    /// times faster; for deployment once the interpreter has certified the strategy.
    Compiled,
}

impl Tier {
    /// Every tier, the reference first.
    pub const ALL: [Tier; 2] = [Tier::Interpreter, Tier::Compiled];

    /// The tier's name as the command lines spell it.
    pub fn name(self) -> &'static str {
        match self {
            Tier::Interpreter => "interpreter",
            Tier::Compiled => "compiled",
        }
    }
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A tier name that is neither `interpreter` nor `compiled`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownTier(pub String);

impl fmt::Display for UnknownTier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown tier `{}`: use `interpreter` or `compiled`", self.0)
    }
}

impl std::error::Error for UnknownTier {}

impl std::str::FromStr for Tier {
    type Err = UnknownTier;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Tier::ALL.into_iter().find(|t| t.name() == s).ok_or_else(|| UnknownTier(s.to_owned()))
    }
}
