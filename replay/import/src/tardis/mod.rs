//! Tardis.dev normalized CSV: `trades`, `quote`, `incremental_book_L2` and
//! `book_snapshot_N` files, recognised by their header row. Timestamps are microseconds since
//! the Unix epoch (`timestamp`: exchange, `local_timestamp`: receive). Several files are
//! merged by local time; for equal times the file given first goes first, and within a file
//! file order is kept.
//!
//! The files: [`record`] reads headers and rows, [`load`] is the first pass (instruments,
//! decimals) and [`stream`] the second.

mod load;
mod record;
mod stream;

use crate::error::ImportError;
use crate::importer::{Importer, Streamed, run};
use crate::instruments::Listing;
use crate::options::ImportOptions;
use crate::sink::Sink;
use crate::summary::ImportSummary;
use lockstep_sim::InstrumentInfo;
use std::path::{Path, PathBuf};

/// Imports one or more Tardis CSV files (plain or gzip) into one tape, merged by local time.
///
/// Each distinct `exchange:symbol` becomes an instrument, in order of first appearance. The
/// tick size is inferred as the finest price increment present in the data.
///
/// # Errors
/// [`ImportError`] naming the file and line of the first malformed row, or an unknown header.
pub fn import_tardis(
    files: &[PathBuf],
    out: &Path,
    opts: &ImportOptions,
) -> Result<ImportSummary, ImportError> {
    run(&mut Tardis { files }, out, opts)
}

/// Tardis.dev normalized CSV files.
struct Tardis<'a> {
    files: &'a [PathBuf],
}

impl Importer for Tardis<'_> {
    type Scan = Listing;

    fn files(&self) -> &[PathBuf] {
        self.files
    }

    fn scan(&mut self) -> Result<Listing, ImportError> {
        load::scan(self.files)
    }

    fn nothing_found(&self, scan: &Listing) -> Option<&'static str> {
        scan.is_empty().then_some("no data rows")
    }

    fn describe(&self, _: &Listing) -> &'static str {
        "Tardis"
    }

    fn instruments(&self, scan: &Listing) -> Vec<InstrumentInfo> {
        scan.infos()
    }

    fn stream(&mut self, scan: Listing, sink: &mut Sink) -> Result<Streamed, ImportError> {
        stream::stream(&scan, self.files, sink)
    }
}
