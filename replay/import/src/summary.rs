//! What an import produced: the counts, and the facts each format reports about its input.

use crate::tick::TickChoice;
use lockstep_sim::TapeHeader;
use std::collections::BTreeMap;

/// What an import produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportSummary {
    /// The tape header as written (with the final event count).
    pub header: TapeHeader,
    /// Input rows read (data rows, not headers).
    pub rows: u64,
    /// Events written.
    pub events: u64,
    /// Size of the tape file in bytes.
    pub tape_bytes: u64,
    /// Things the importer noticed and handled, each with a count (e.g. depth updates already
    /// covered by a snapshot, sequence gaps).
    pub notes: Vec<(String, u64)>,
    /// Input rows or records read and not turned into events, by reason (e.g. `stream
    /// markPrice@1s`), in name order.
    pub skipped: BTreeMap<String, u64>,
    /// Breaks in the source's own sequence numbers, where the format has them (`None`: the
    /// format has none).
    pub sequence_gaps: Option<u64>,
    /// The unit of the input's local timestamps and how it was chosen, where the format does
    /// not fix it (e.g. `ns` detected from the exchange times).
    pub local_ts_unit: Option<TsUnitChoice>,
    /// Median of local minus exchange time over the messages carrying both (feed latency plus
    /// clock skew; negative when the receiver's clock runs behind the exchange's).
    pub clock_offset_ns: Option<i64>,
    /// Local time of the first and of the last event written (`None` for an empty tape).
    pub start_ns: Option<i64>,
    /// See `start_ns`.
    pub end_ns: Option<i64>,
    /// Each instrument's tick size and how it was chosen, by instrument id (empty where the
    /// importer does not say).
    pub ticks: Vec<TickChoice>,
}

/// The unit chosen for an input's local timestamps, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TsUnitChoice {
    /// `ns`, `us` or `ms` (several, comma-separated, when files differ).
    pub unit: String,
    /// How it was chosen: `given`, `exchange times` or `magnitude`.
    pub how: String,
}

impl ImportSummary {
    /// A summary with nothing but the counts (for sources other than the importers).
    pub fn plain(header: TapeHeader, rows: u64, events: u64, tape_bytes: u64) -> Self {
        Self {
            header,
            rows,
            events,
            tape_bytes,
            notes: Vec::new(),
            skipped: BTreeMap::new(),
            sequence_gaps: None,
            local_ts_unit: None,
            clock_offset_ns: None,
            start_ns: None,
            end_ns: None,
            ticks: Vec::new(),
        }
    }
}
