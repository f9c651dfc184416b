//! What the caller chooses for every importer: how the tape is stored, and the unit of a
//! capture's local timestamps where the data does not say.

use crate::spec::SpecOverrides;
use lockstep_sim::Compression;

/// Options shared by the importers.
#[derive(Clone, Debug, Default)]
pub struct ImportOptions {
    /// How to store chunks.
    pub compression: Compression,
    /// Events per chunk (0: the default).
    pub chunk_events: u32,
    /// Unit of the local timestamps of collector captures (`None`: detected from the data).
    pub local_ts_unit: Option<LocalTsUnit>,
    /// Instrument specifications stated by the caller, over what the data says.
    pub spec: SpecOverrides,
}

/// The unit of a capture's local timestamps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub enum LocalTsUnit {
    /// Nanoseconds since the epoch (19 digits today).
    Nanos,
    /// Microseconds (16 digits).
    Micros,
    /// Milliseconds (13 digits).
    Millis,
}

impl LocalTsUnit {
    /// Every unit, finest first.
    pub(crate) const ALL: [LocalTsUnit; 3] =
        [LocalTsUnit::Nanos, LocalTsUnit::Micros, LocalTsUnit::Millis];

    /// Nanoseconds per unit.
    pub fn ns(self) -> i64 {
        match self {
            LocalTsUnit::Nanos => 1,
            LocalTsUnit::Micros => 1_000,
            LocalTsUnit::Millis => 1_000_000,
        }
    }

    /// `ns`, `us` or `ms`.
    pub fn name(self) -> &'static str {
        match self {
            LocalTsUnit::Nanos => "ns",
            LocalTsUnit::Micros => "us",
            LocalTsUnit::Millis => "ms",
        }
    }
}
