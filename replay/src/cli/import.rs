//! `replay import ...`

use super::output::{Text, header_json, print_json, rate, say};
use super::{ImportCommon, ImportSource};
use anyhow::{Context, Result};
use lockstep_replay::{
    Compression, EventSource, ImportOptions, ImportSummary, Stopwatch, Synth, SynthConfig,
    TapeWriter, import_binance, import_csv, import_lobster, import_tardis,
    refuse_overwriting_inputs,
};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn options(c: &ImportCommon) -> ImportOptions {
    ImportOptions {
        compression: if c.compress { Compression::Deflate } else { Compression::None },
        chunk_events: c.chunk_events,
    }
}

fn synth(events: u64, seed: u64, c: &ImportCommon) -> Result<ImportSummary> {
    let mut s = Synth::new(SynthConfig { events, seed });
    let mut header = s.header().clone();
    header.chunk_events = c.chunk_events;
    let mut w = TapeWriter::create(&c.out, header, options(c).compression)?;
    let mut buf = Vec::new();
    while s.next_chunk(&mut buf)? {
        for e in &buf {
            w.push(e)?;
        }
    }
    let (header, tape_bytes) = w.finish()?;
    Ok(ImportSummary {
        rows: header.event_count,
        events: header.event_count,
        header,
        tape_bytes,
        notes: Vec::new(),
    })
}

/// The input files of an import.
fn inputs(src: &ImportSource) -> Vec<&Path> {
    match src {
        ImportSource::Lobster { message, orderbook, .. } => {
            std::iter::once(message.as_path()).chain(orderbook.as_deref()).collect()
        }
        ImportSource::Tardis { files, .. } | ImportSource::Binance { files, .. } => {
            files.iter().map(PathBuf::as_path).collect()
        }
        ImportSource::Csv { file, .. } => vec![file.as_path()],
        ImportSource::Synth { .. } => Vec::new(),
    }
}

pub(crate) fn import(src: ImportSource, json: bool) -> Result<ExitCode> {
    let mut o = Text::default();
    let out = match &src {
        ImportSource::Lobster { common, .. }
        | ImportSource::Tardis { common, .. }
        | ImportSource::Binance { common, .. }
        | ImportSource::Csv { common, .. }
        | ImportSource::Synth { common, .. } => &common.out,
    };
    refuse_overwriting_inputs(out, &inputs(&src)).context("--out")?;
    let clock = Stopwatch::start();
    let (kind, common, summary) = match &src {
        ImportSource::Lobster { message, orderbook, symbol, common } => (
            "lobster",
            common,
            import_lobster(
                message,
                orderbook.as_deref(),
                &common.out,
                symbol.as_deref(),
                &options(common),
            )?,
        ),
        ImportSource::Tardis { files, common } => {
            ("tardis", common, import_tardis(files, &common.out, &options(common))?)
        }
        ImportSource::Binance { files, common } => {
            ("binance", common, import_binance(files, &common.out, &options(common))?)
        }
        ImportSource::Csv { file, ts_unit, common } => {
            ("csv", common, import_csv(file, &common.out, (*ts_unit).into(), &options(common))?)
        }
        ImportSource::Synth { events, seed, common } => ("synth", common, {
            synth(*events, *seed, common)
                .with_context(|| format!("writing {}", common.out.display()))?
        }),
    };
    let elapsed = clock.elapsed_ns().max(1);
    let per_sec = summary.events as f64 * 1e9 / elapsed as f64;
    if json {
        print_json(&json!({
            "command": "import",
            "format": kind,
            "tape": common.out.display().to_string(),
            "rows": summary.rows,
            "events": summary.events,
            "bytes": summary.tape_bytes,
            "header": header_json(&summary.header),
            "notes": summary.notes.iter().map(|(k, v)| json!({ "note": k, "count": v })).collect::<Vec<_>>(),
            "elapsed_ns": elapsed,
            "events_per_sec": per_sec.round(),
        }))?;
    } else {
        say!(o, "wrote {} ({} bytes)", common.out.display(), summary.tape_bytes);
        say!(o, "source: {}", summary.header.source);
        for i in &summary.header.instruments {
            say!(o, "instrument {}: {} on {}, tick {}", i.id, i.symbol, i.venue, i.tick_size);
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
            say!(o, "  {k}: {v}");
        }
    }
    o.emit()?;
    Ok(ExitCode::SUCCESS)
}
