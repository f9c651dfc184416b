//! # lockstep-strategies
//!
//! The built-in strategies by name: each one's WebAssembly module (compiled by this crate's
//! build script from the same source and embedded here) and its native build, so any strategy
//! runs natively and as Wasm over the same input. The `.wasm` files are also written to
//! `target/strategies/<name>.wasm` for shipping to a gateway ([`wasm_dir`]).
//!
//! The C strategies (`strategies/c/<id>.c`, named `<id>-c`) are built too when a clang that
//! targets wasm32 is present (see `build.rs`): their Wasm with clang, their native build with
//! the same clang, linked in and run through `c_native`, the crate's one `unsafe` module.
//! The AssemblyScript strategies (`strategies/assemblyscript/<id>.ts`, named `<id>-as`) are
//! built when `npm ci` has installed their compiler; they are WebAssembly only
//! ([`StrategyInfo::has_native`] is false).
#![deny(unsafe_code)]

mod c_native;

use core::fmt;
use lockstep_sdk::{InitError, NativeInstance, Strategy, StrategyRunner};

/// Builds a strategy's native version from its parameters.
type NativeBuild = fn(&str) -> Result<Box<dyn StrategyRunner>, InitError>;

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
    /// The native build; `None` for a strategy whose language only targets WebAssembly.
    native: Option<NativeBuild>,
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
    /// Whether the strategy has a native build (the Rust and C ones do; the AssemblyScript
    /// ones run as WebAssembly only).
    pub fn has_native(&self) -> bool {
        self.native.is_some()
    }

    /// Builds the native version with `params`.
    ///
    /// # Errors
    /// The strategy's [`InitError`], or [`InitError::Other`] when it has no native build.
    pub fn native(&self, params: &str) -> Result<Box<dyn StrategyRunner>, InitError> {
        match self.native {
            Some(build) => build(params),
            None => Err(InitError::Other(format!(
                "`{}` has no native build (its language compiles to WebAssembly only); run it \
                 on the interpreter or compiled tier instead",
                self.name
            ))),
        }
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
    (
        rust { $( $krate:ident :: $ty:ident => $file:literal ),* $(,)? }
        c { $( $id:ident => $cname:literal, $summary:literal, $defaults:literal,
               [ $( $param:literal ),* ] );* $(;)? }
        assemblyscript { $( $aname:literal, $asummary:literal, $adefaults:literal,
               [ $( $aparam:literal ),* ] );* $(;)? }
    ) => {
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
                native: Some(boxed::<$krate::$ty>),
            },)*
            $(StrategyInfo {
                name: $cname,
                summary: $summary,
                default_params: $defaults,
                params: &[$($param),*],
                wasm: include_bytes!(concat!(env!("OUT_DIR"), "/", $cname, ".wasm")),
                native: Some(c_native::$id::native),
            },)*
            $(StrategyInfo {
                name: $aname,
                summary: $asummary,
                default_params: $adefaults,
                params: &[$($aparam),*],
                wasm: include_bytes!(concat!(env!("OUT_DIR"), "/", $aname, ".wasm")),
                native: None,
            },)*
        ];
    };
}

// `catalog! { rust { strategy_noop::Exported => "noop", ... } c { microprice => ... }
// assemblyscript { "microprice-as", ... } }`, written by build.rs from this crate's
// `strategy-<name>` dependencies, `strategies/c` and `strategies/assemblyscript`.
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
