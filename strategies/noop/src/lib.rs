//! The no-op strategy: receives every event and emits nothing. It measures what the engine and
//! the replay harness cost by themselves.
#![deny(unsafe_code)]

use lockstep_sdk::{Actions, InitError, Params, Strategy};

/// Catalog name.
pub const NAME: &str = "noop";
/// One line on what it does.
pub const SUMMARY: &str = "does nothing: measures the engine and replay overhead";
/// Parameters for the synthetic default market (none).
pub const DEFAULT_PARAMS: &str = "";
/// Accepted parameter keys (none).
pub const PARAMS: &[&str] = &[];

/// Does nothing, on purpose.
#[derive(Debug, Default)]
pub struct Noop;

impl Strategy for Noop {
    fn init(params: &Params<'_>, _out: &mut Actions<'_>) -> Result<Self, InitError> {
        params.check_known(PARAMS)?;
        Ok(Noop)
    }
}

lockstep_sdk::export_strategy!(Noop);
