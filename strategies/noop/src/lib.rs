//! The no-op strategy: receives every event and emits nothing. It measures what the engine and
//! the replay harness cost by themselves.
#![deny(unsafe_code)]

use lockstep_sdk::{Actions, InitError, Params, Strategy};

/// Does nothing, on purpose.
#[derive(Debug, Default)]
pub struct Noop;

impl Strategy for Noop {
    fn init(params: &Params<'_>, _out: &mut Actions<'_>) -> Result<Self, InitError> {
        params.check_known(&[])?;
        Ok(Noop)
    }
}

lockstep_sdk::export_strategy!(Noop);
