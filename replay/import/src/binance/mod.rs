//! Binance raw WebSocket captures in the hftbacktest `collector` format: one message per line,
//! `<local receive time> <raw JSON of the combined stream>`, usually gzipped; spot, USD-M and
//! COIN-M futures.
//!
//! **Local time unit.** Collectors write the receive time in nanoseconds, microseconds or
//! milliseconds since the epoch, and nothing in the line says which. Each file's unit is
//! detected from the data: the unit under which the median of (local − exchange time `E`/`T`)
//! is smallest wins; a file without exchange times is judged by magnitude (the unit that puts
//! its first time between 2000 and 2100). `--local-ts-unit` overrides the detection. Either
//! way a unit under which that median is more than [`MAX_CLOCK_OFFSET_NS`] either way is
//! refused: feed latency plus clock skew is milliseconds to seconds (the shared USD-M capture
//! runs 1.27 s *behind* the exchange), never hours.
//!
//! **Continuity.** Spot diffs chain by `U == previous u + 1`; futures diffs (they carry `pu`)
//! by `pu == previous u`. After a snapshot the first applied diff must straddle it (spot:
//! `U <= lastUpdateId + 1`; futures: `U <= lastUpdateId` or `pu == lastUpdateId`). Breaks are
//! counted as sequence gaps.
//!
//! **Streams.** Streams the tape does not use (`markPrice`, `forceOrder`, klines, partial book
//! depth `depth5/10/20`, tickers, …) and non-stream messages (subscription answers) are
//! skipped and counted by name in the import report. Several files are merged by local time,
//! the file given first going first on equal times.
//!
//! Streams: `<sym>@depth[@100ms]` diffs (absolute level sizes, 0 deletes), `<sym>@bookTicker`
//! quotes, `<sym>@trade` and `<sym>@aggTrade` prints, and REST depth snapshots
//! (`{"lastUpdateId":…,"bids":…,"asks":…}`) the collector interleaves. A snapshot clears the
//! book and sets every level; diffs it already covers (`u` ≤ `lastUpdateId`) are skipped, and
//! diffs newer than it that arrived before it are applied again after it, as Binance documents
//! for rebuilding a local book. Diffs before the first snapshot are applied to a partial book.
//!
//! The files: [`record`] reads lines and fields, [`unit`](mod@unit) chooses the local time unit,
//! [`load`] is the first pass (symbols, decimals, units) and [`stream`] the second.

mod load;
mod record;
mod stream;
mod unit;

pub use unit::MAX_CLOCK_OFFSET_NS;

use crate::error::ImportError;
use crate::importer::{Importer, Streamed, run};
use crate::options::{ImportOptions, LocalTsUnit};
use crate::sink::Sink;
use crate::summary::ImportSummary;
use lockstep_sim::InstrumentInfo;
use std::path::{Path, PathBuf};

/// Imports hftbacktest collector captures of Binance streams (spot, USD-M and COIN-M futures;
/// plain or gzip) into one tape.
///
/// Local time is the collector's receive time, in the unit detected per file (see the module
/// documentation) or given in `opts.local_ts_unit`; exchange time is the message's `E` (event
/// time; `T` for trades) in milliseconds, or the local time where the message carries none.
/// Several files are merged by local time, the file given first going first on equal times.
///
/// # Errors
/// [`ImportError`] naming the file and line of the first malformed message, or the file whose
/// local timestamps fit no plausible unit.
pub fn import_binance(
    files: &[PathBuf],
    out: &Path,
    opts: &ImportOptions,
) -> Result<ImportSummary, ImportError> {
    run(&mut Binance { files, given: opts.local_ts_unit }, out, opts)
}

/// Collector captures of Binance streams.
struct Binance<'a> {
    files: &'a [PathBuf],
    /// The unit of the local timestamps, where given.
    given: Option<LocalTsUnit>,
}

impl Importer for Binance<'_> {
    type Scan = load::Scan;

    fn files(&self) -> &[PathBuf] {
        self.files
    }

    fn scan(&mut self) -> Result<load::Scan, ImportError> {
        load::scan(self.files, self.given)
    }

    fn nothing_found(&self, scan: &load::Scan) -> Option<&'static str> {
        scan.listing.is_empty().then_some("no depth, bookTicker or trade stream messages found")
    }

    fn describe(&self, _: &load::Scan) -> &'static str {
        "Binance capture (hftbacktest collector)"
    }

    fn instruments(&self, scan: &load::Scan) -> Vec<InstrumentInfo> {
        scan.listing.infos()
    }

    fn stream(&mut self, scan: load::Scan, sink: &mut Sink) -> Result<Streamed, ImportError> {
        stream::stream(scan, self.files, sink)
    }
}
