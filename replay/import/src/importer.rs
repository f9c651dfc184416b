//! The one shape of every import: a first pass over the inputs (instruments, tick facts,
//! units), a tape header from it, a second pass streaming events into the tape, and a summary.
//! Each format implements [`Importer`]; [`run`] drives it.

use crate::error::{ImportError, file_name};
use crate::options::ImportOptions;
use crate::sink::Sink;
use crate::summary::{ImportSummary, TsUnitChoice};
use crate::tick::{TickChoice, decimal_ticks};
use lockstep_sim::{InstrumentInfo, TapeHeader};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A format's two passes over its input files.
pub(crate) trait Importer {
    /// What the first pass finds: instruments, tick and scale facts, units.
    type Scan;

    /// The refusal of an empty list of files.
    const NO_FILES: &'static str = "no input files given";

    /// The input files, in the order given (LOBSTER: its message files).
    fn files(&self) -> &[PathBuf];

    /// The first pass.
    fn scan(&mut self) -> Result<Self::Scan, ImportError>;

    /// The format's refusal of a first pass that found nothing to put on a tape (reported at
    /// the first file); `None` when it found something.
    fn nothing_found(&self, scan: &Self::Scan) -> Option<&'static str>;

    /// What the files are, the start of the tape's source line (`Tardis`).
    fn describe(&self, scan: &Self::Scan) -> &'static str;

    /// The tape's source line: [`Importer::describe`] and the files' names.
    fn source(&self, scan: &Self::Scan) -> String {
        source_name(self.describe(scan), self.files())
    }

    /// The tape's instruments, by id.
    fn instruments(&self, scan: &Self::Scan) -> Vec<InstrumentInfo>;

    /// The day whose local midnight the times count from, for a format whose times are
    /// times of day (LOBSTER); `None`: Unix time.
    fn local_midnight(&self, _scan: &Self::Scan) -> Option<String> {
        None
    }

    /// How each instrument's tick was chosen; by default ten to the minus the most decimals of
    /// its prices, as [`Importer::instruments`] gave it.
    fn ticks(&self, _scan: &Self::Scan, instruments: &[InstrumentInfo]) -> Vec<TickChoice> {
        decimal_ticks(instruments)
    }

    /// The second pass: every event into `sink`, the inputs merged by local time (see
    /// [`crate::merge::merge`]).
    fn stream(&mut self, scan: Self::Scan, sink: &mut Sink) -> Result<Streamed, ImportError>;
}

/// What a second pass reports besides its events: the summary's format-specific facts (see
/// [`ImportSummary`]; each is empty or `None` where the format has none).
#[derive(Debug, Default)]
pub(crate) struct Streamed {
    pub(crate) rows: u64,
    pub(crate) notes: Vec<(String, u64)>,
    pub(crate) skipped: BTreeMap<String, u64>,
    pub(crate) sequence_gaps: Option<u64>,
    pub(crate) local_ts_unit: Option<TsUnitChoice>,
    pub(crate) clock_offset_ns: Option<i64>,
}

/// Imports the files of `importer` into the tape `out`.
pub(crate) fn run<I: Importer>(
    importer: &mut I,
    out: &Path,
    opts: &ImportOptions,
) -> Result<ImportSummary, ImportError> {
    let Some(first) = importer.files().first().cloned() else {
        return Err(ImportError::Format { file: out.to_path_buf(), reason: I::NO_FILES.into() });
    };
    let scan = importer.scan()?;
    if let Some(reason) = importer.nothing_found(&scan) {
        return Err(ImportError::Format { file: first, reason: reason.into() });
    }
    let mut instruments = importer.instruments(&scan);
    for ins in &mut instruments {
        opts.spec.apply(ins);
    }
    lockstep_sim::check_instruments(&instruments)
        .map_err(|reason| ImportError::Format { file: first.clone(), reason })?;
    let ticks = importer.ticks(&scan, &instruments);
    let mut header = TapeHeader::new(importer.source(&scan), instruments);
    header.local_midnight = importer.local_midnight(&scan);
    lockstep_sim::check_local_midnight(header.local_midnight.as_deref()).map_err(|reason| {
        ImportError::Format {
            file: first.clone(),
            reason: format!("the file name's day: {reason}"),
        }
    })?;
    let mut sink = Sink::create(out, header, opts)?;
    let streamed = importer.stream(scan, &mut sink)?;
    let mut summary = sink.finish(streamed.rows, streamed.notes)?;
    summary.ticks = ticks;
    summary.skipped = streamed.skipped;
    summary.sequence_gaps = streamed.sequence_gaps;
    summary.local_ts_unit = streamed.local_ts_unit;
    summary.clock_offset_ns = streamed.clock_offset_ns;
    Ok(summary)
}

/// A tape's source line: `what` and the input files' names joined by ` + `.
pub(crate) fn source_name(what: &str, files: &[PathBuf]) -> String {
    let names: Vec<&str> = files.iter().map(|p| file_name(p)).collect();
    format!("{what} {}", names.join(" + "))
}
