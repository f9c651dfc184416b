//! `replay import ...`

use super::json::TapeJson;
use super::output::{NAME_CHARS, SOURCE_CHARS, Text, print_json, rate, say};
use super::{ImportCommon, ImportSource};
use anyhow::{Context, Result, bail};
use lockstep_host::Stopwatch;
use lockstep_import::{
    ImportOptions, ImportSummary, LobsterInput, SpecOverrides, TickSource, import_binance,
    import_csv, import_databento, import_lobster, import_tardis,
};
use lockstep_io::refuse_overwriting_inputs;
use lockstep_sdk::{Price, Qty, untrusted};
use lockstep_sim::{Compression, EventSource, Synth, SynthConfig};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The importers' options from the shared flags (the local time unit left to detection).
fn options(c: &ImportCommon) -> Result<ImportOptions> {
    let amount = |flag: &str, text: &Option<String>| -> Result<Option<Qty>> {
        let Some(t) = text else { return Ok(None) };
        match Qty::parse(t) {
            Some(q) if q.0 > 0 => Ok(Some(q)),
            _ => bail!("{flag} {t:?} is not a decimal above 0 with at most 8 places"),
        }
    };
    Ok(ImportOptions {
        compression: if c.compress { Compression::Deflate } else { Compression::None },
        chunk_events: c.chunk_events,
        local_ts_unit: None,
        spec: SpecOverrides {
            lot: amount("--lot", &c.lot)?,
            multiplier: amount("--multiplier", &c.multiplier)?,
            inverse: c.inverse.then_some(true),
            currency: c.currency.clone(),
            time_zone: c.time_zone.clone(),
        },
    })
}

/// One note of an import report.
#[derive(Serialize)]
struct Note<'a> {
    note: &'a str,
    count: u64,
}

/// An instrument's tick in an import report, and how it was chosen.
#[derive(Serialize)]
struct Tick<'a> {
    instrument: u16,
    symbol: &'a str,
    tick_size: String,
    tick_source: &'static str,
    /// Prices the choice looked at (inferred ticks).
    prices: u64,
}

/// `import ... --json`.
#[derive(Serialize)]
struct ImportReport<'a> {
    command: &'static str,
    format: &'a str,
    tape: String,
    rows: u64,
    events: u64,
    bytes: u64,
    header: TapeJson<'a>,
    notes: Vec<Note<'a>>,
    skipped: &'a BTreeMap<String, u64>,
    sequence_gaps: Option<u64>,
    local_ts_unit: Option<&'a str>,
    local_ts_unit_chosen_by: Option<&'a str>,
    clock_offset_ns: Option<i64>,
    start_ns: Option<i64>,
    end_ns: Option<i64>,
    ticks: Vec<Tick<'a>>,
    input_bytes: u64,
    elapsed_ns: u64,
    events_per_sec: f64,
    rows_per_sec: f64,
    input_mb_per_sec: f64,
}

/// Writes `events` of the synthetic market (seed `seed`) to `--out`.
fn synth(events: u64, seed: u64, c: &ImportCommon) -> Result<ImportSummary> {
    let mut s = Synth::new(SynthConfig { events, seed });
    let mut header = s.header().clone();
    header.chunk_events = c.chunk_events;
    let opts = options(c)?;
    for ins in &mut header.instruments {
        opts.spec.apply(ins);
    }
    lockstep_sim::check_instruments(&header.instruments).map_err(anyhow::Error::msg)?;
    let mut w = lockstep_io::TapeFile::create(&c.out, header, opts.compression)?;
    let mut buf = Vec::new();
    while s.next_chunk(&mut buf)? {
        for e in &buf {
            w.push(e)?;
        }
    }
    let (header, tape_bytes) = w.finish()?;
    let (rows, events) = (header.event_count, header.event_count);
    Ok(ImportSummary::plain(header, rows, events, tape_bytes))
}

/// The input files of an import.
fn inputs(src: &ImportSource) -> Vec<&Path> {
    match src {
        ImportSource::Lobster { message, orderbook, .. } => {
            message.iter().chain(orderbook).map(PathBuf::as_path).collect()
        }
        ImportSource::Tardis { files, .. }
        | ImportSource::Binance { files, .. }
        | ImportSource::Csv { files, .. }
        | ImportSource::Databento { files, .. } => files.iter().map(PathBuf::as_path).collect(),
        ImportSource::Synth { .. } => Vec::new(),
    }
}

/// Pairs `import lobster`'s repeated flags: orderbook files none or one per message file in
/// the same order; symbols and ticks none, one for all, or one per message file.
fn lobster_inputs(
    message: &[PathBuf],
    orderbook: &[PathBuf],
    symbol: &[String],
    tick: &[Price],
) -> Result<Vec<LobsterInput>> {
    let n = message.len();
    if !orderbook.is_empty() && orderbook.len() != n {
        bail!(
            "{} --orderbook for {n} --message: give one orderbook file per message file, in \
             the same order, or none",
            orderbook.len()
        );
    }
    for (flag, count) in [("--symbol", symbol.len()), ("--tick", tick.len())] {
        if count > 1 && count != n {
            bail!(
                "{count} {flag} for {n} --message: give one {flag} for all message files or one \
                 per message file, in the same order"
            );
        }
    }
    let pick = |k: usize, len: usize| if len == 1 { 0 } else { k };
    Ok(message
        .iter()
        .enumerate()
        .map(|(k, m)| LobsterInput {
            message: m.clone(),
            orderbook: orderbook.get(k).cloned(),
            symbol: symbol.get(pick(k, symbol.len())).cloned(),
            tick: tick.get(pick(k, tick.len())).copied(),
        })
        .collect())
}

pub(crate) fn import(src: ImportSource, json: bool) -> Result<ExitCode> {
    let mut o = Text::default();
    let common = common(&src);
    refuse_overwriting_inputs(&common.out, &inputs(&src)).context("--out")?;
    let clock = Stopwatch::start();
    let (kind, summary) = write_tape(&src)?;
    let elapsed = clock.elapsed_ns().max(1);
    let input_bytes: u64 =
        inputs(&src).iter().filter_map(|p| std::fs::metadata(p).ok()).map(|m| m.len()).sum();
    if json {
        print_json(&ImportReport::new(kind, common, &summary, input_bytes, elapsed))?;
    } else {
        say_summary(&mut o, common, &summary, elapsed);
    }
    o.emit()?;
    Ok(ExitCode::SUCCESS)
}

/// The options every import source shares (`--out`, compression, chunk size).
fn common(src: &ImportSource) -> &ImportCommon {
    match src {
        ImportSource::Lobster { common, .. }
        | ImportSource::Tardis { common, .. }
        | ImportSource::Binance { common, .. }
        | ImportSource::Csv { common, .. }
        | ImportSource::Databento { common, .. }
        | ImportSource::Synth { common, .. } => common,
    }
}

/// Runs the importer `src` names into its `--out` tape; returns the format's name and what
/// the import found.
fn write_tape(src: &ImportSource) -> Result<(&'static str, ImportSummary)> {
    Ok(match src {
        ImportSource::Lobster { message, orderbook, symbol, tick, common } => (
            "lobster",
            import_lobster(
                &lobster_inputs(message, orderbook, symbol, tick)?,
                &common.out,
                &options(common)?,
            )?,
        ),
        ImportSource::Tardis { files, common } => {
            ("tardis", import_tardis(files, &common.out, &options(common)?)?)
        }
        ImportSource::Binance { files, local_ts_unit, common } => {
            let opts =
                ImportOptions { local_ts_unit: local_ts_unit.map(Into::into), ..options(common)? };
            ("binance", import_binance(files, &common.out, &opts)?)
        }
        ImportSource::Databento { files, common } => {
            ("databento", import_databento(files, &common.out, &options(common)?)?)
        }
        ImportSource::Csv { files, ts_unit, common } => {
            ("csv", import_csv(files, &common.out, (*ts_unit).into(), &options(common)?)?)
        }
        ImportSource::Synth { events, seed, common } => ("synth", {
            synth(*events, *seed, common)
                .with_context(|| format!("writing {}", common.out.display()))?
        }),
    })
}

impl<'a> ImportReport<'a> {
    /// `import --json` of an import of `kind` that read `input_bytes` in `elapsed` ns.
    fn new(
        kind: &'a str,
        common: &ImportCommon,
        summary: &'a ImportSummary,
        input_bytes: u64,
        elapsed: u64,
    ) -> Self {
        let unit = summary.local_ts_unit.as_ref();
        let per_sec = summary.events as f64 * 1e9 / elapsed as f64;
        Self {
            command: "import",
            format: kind,
            tape: common.out.display().to_string(),
            rows: summary.rows,
            events: summary.events,
            bytes: summary.tape_bytes,
            header: TapeJson::new(&summary.header),
            notes: summary.notes.iter().map(|(k, v)| Note { note: k, count: *v }).collect(),
            skipped: &summary.skipped,
            sequence_gaps: summary.sequence_gaps,
            local_ts_unit: unit.map(|u| u.unit.as_str()),
            local_ts_unit_chosen_by: unit.map(|u| u.how.as_str()),
            clock_offset_ns: summary.clock_offset_ns,
            start_ns: summary.start_ns,
            end_ns: summary.end_ns,
            ticks: summary
                .ticks
                .iter()
                .map(|t| Tick {
                    instrument: t.instrument,
                    symbol: summary
                        .header
                        .instruments
                        .get(usize::from(t.instrument))
                        .map_or("", |i| i.symbol.as_str()),
                    tick_size: t.tick.to_string(),
                    tick_source: t.source.name(),
                    prices: t.prices,
                })
                .collect(),
            input_bytes,
            elapsed_ns: elapsed,
            events_per_sec: per_sec.round(),
            rows_per_sec: (summary.rows as f64 * 1e9 / elapsed as f64).round(),
            input_mb_per_sec: (input_bytes as f64 * 1e3 / elapsed as f64 * 100.0).round() / 100.0,
        }
    }
}

/// An instrument's contract, currency and zone in words, with how to state an unknown
/// currency.
fn terms(i: &lockstep_sim::InstrumentInfo) -> String {
    let kind = if i.contract.inverse { "inverse, " } else { "" };
    let currency = untrusted(&i.currency).max_chars(NAME_CHARS);
    let unknown = if i.currency == lockstep_import::UNKNOWN_CURRENCY {
        " (unknown: state it with --currency)"
    } else {
        ""
    };
    format!(
        "{kind}multiplier {}, currency {currency}{unknown}, time zone {}",
        i.contract.multiplier,
        untrusted(&i.time_zone).max_chars(NAME_CHARS)
    )
}

/// The text output of an import: the tape, each instrument and its tick, the rate, then
/// the notes, skipped rows, gaps and the local clock.
fn say_summary(o: &mut Text, common: &ImportCommon, summary: &ImportSummary, elapsed: u64) {
    let per_sec = summary.events as f64 * 1e9 / elapsed as f64;
    say!(o, "wrote {} ({} bytes)", common.out.display(), summary.tape_bytes);
    say!(o, "source: {}", untrusted(&summary.header.source).max_chars(SOURCE_CHARS));
    for i in &summary.header.instruments {
        let how = match summary.ticks.iter().find(|t| t.instrument == i.id) {
            Some(t) if t.source == TickSource::Inferred => {
                format!(" (inferred: the greatest common divisor of {} prices)", t.prices)
            }
            Some(t) => format!(" ({})", t.source),
            None => String::new(),
        };
        say!(
            o,
            "instrument {}: {} on {}, tick {}{how}, lot {}, {}",
            i.id,
            untrusted(&i.symbol).max_chars(NAME_CHARS),
            untrusted(&i.venue).max_chars(NAME_CHARS),
            i.tick_size,
            i.lot_size,
            terms(i)
        );
    }
    say!(
        o,
        "{} rows -> {} events in {:.1} ms ({})",
        summary.rows,
        summary.events,
        elapsed as f64 / 1e6,
        rate(per_sec)
    );
    for (k, v) in &summary.notes {
        say!(o, "  {}: {v}", untrusted(k));
    }
    for (k, v) in &summary.skipped {
        say!(o, "  skipped, {}: {v}", untrusted(k));
    }
    if let Some(g) = summary.sequence_gaps {
        say!(o, "sequence gaps: {g}");
    }
    if let Some(u) = &summary.local_ts_unit {
        say!(o, "local timestamps in {} ({})", u.unit, u.how);
    }
    if let Some(off) = summary.clock_offset_ns {
        say!(
            o,
            "local minus exchange time (median): {:.3} ms{}",
            off as f64 / 1e6,
            if off < 0 { " (the receiver's clock runs behind the exchange's)" } else { "" }
        );
    }
}
