//! # lockstep-strategies
//!
//! The built-in strategies by name: each one's WebAssembly module (compiled by this crate's
//! build script from the same source and embedded here) and its native build, so any strategy
//! runs natively and as Wasm over the same input. The `.wasm` files are also written to
//! `target/strategies/<name>.wasm` for shipping to a gateway ([`wasm_dir`]).
#![forbid(unsafe_code)]

use core::fmt;
use lockstep_sdk::{InitError, NativeInstance, Strategy, StrategyRunner};

/// One built-in strategy.
pub struct StrategyInfo {
    /// Catalog name, e.g. `"black-scholes"`.
    pub name: &'static str,
    /// One line on what it does.
    pub summary: &'static str,
    /// Parameters that suit the synthetic default market.
    pub default_params: &'static str,
    /// Parameter keys it accepts.
    pub params: &'static [&'static str],
    /// The compiled WebAssembly module.
    pub wasm: &'static [u8],
    native: fn(&str) -> Result<Box<dyn StrategyRunner>, InitError>,
}

impl fmt::Debug for StrategyInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StrategyInfo")
            .field("name", &self.name)
            .field("wasm_bytes", &self.wasm.len())
            .finish_non_exhaustive()
    }
}

impl StrategyInfo {
    /// Builds the native version with `params`.
    ///
    /// # Errors
    /// The strategy's [`InitError`].
    pub fn native(&self, params: &str) -> Result<Box<dyn StrategyRunner>, InitError> {
        (self.native)(params)
    }
}

/// Why a catalog lookup failed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CatalogError {
    /// No built-in strategy has this name.
    Unknown {
        /// The name asked for.
        name: String,
    },
    /// The strategy refused its parameters.
    Init {
        /// The strategy.
        name: &'static str,
        /// Its reason.
        error: InitError,
    },
}

impl fmt::Display for CatalogError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CatalogError::Unknown { name } => write!(
                f,
                "no built-in strategy is called `{name}`; choose one of: {}",
                names().collect::<Vec<_>>().join(", ")
            ),
            CatalogError::Init { name, error } => write!(f, "strategy `{name}`: {error}"),
        }
    }
}

impl std::error::Error for CatalogError {}

fn boxed<S: Strategy + Send + 'static>(params: &str) -> Result<Box<dyn StrategyRunner>, InitError> {
    Ok(Box::new(NativeInstance::<S>::new(params)?))
}

/// Whether two strings are equal, at compile time.
const fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

macro_rules! catalog {
    ($( $krate:ident :: $ty:ident => $file:literal ),* $(,)?) => {
        // Package `strategy-<name>` must call itself `<name>`: the file names follow it.
        $(const _: () = assert!(
            same($krate::NAME, $file),
            concat!("`", stringify!($krate), "::NAME` must be \"", $file, "\"")
        );)*
        static ALL: &[StrategyInfo] = &[
            $(StrategyInfo {
                name: $krate::NAME,
                summary: $krate::SUMMARY,
                default_params: $krate::DEFAULT_PARAMS,
                params: $krate::PARAMS,
                wasm: include_bytes!(concat!(env!("OUT_DIR"), "/", $file, ".wasm")),
                native: boxed::<$krate::$ty>,
            }),*
        ];
    };
}

// `catalog! { strategy_noop::Exported => "noop", ... }`, written by build.rs from this crate's
// `strategy-<name>` dependencies.
include!(concat!(env!("OUT_DIR"), "/catalog.rs"));

/// Every built-in strategy, in a fixed order.
pub fn all() -> &'static [StrategyInfo] {
    ALL
}

/// The names of the built-in strategies, in order.
pub fn names() -> impl Iterator<Item = &'static str> {
    ALL.iter().map(|s| s.name)
}

/// Looks a strategy up by name.
pub fn get(name: &str) -> Option<&'static StrategyInfo> {
    ALL.iter().find(|s| s.name == name)
}

/// Builds the native version of a named strategy.
///
/// # Errors
/// [`CatalogError::Unknown`] for an unknown name, [`CatalogError::Init`] for bad parameters.
pub fn native(name: &str, params: &str) -> Result<Box<dyn StrategyRunner>, CatalogError> {
    let info = get(name).ok_or_else(|| CatalogError::Unknown { name: name.to_owned() })?;
    info.native(params).map_err(|error| CatalogError::Init { name: info.name, error })
}

/// Where the build wrote the `.wasm` files (`<workspace>/target/strategies`).
pub fn wasm_dir() -> &'static str {
    env!("LOCKSTEP_WASM_DIR")
}
