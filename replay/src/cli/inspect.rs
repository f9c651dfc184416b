//! `replay inspect --tape T [--events A..B | --at TIME]`: what a tape holds.

use super::output::{NAME_CHARS, SOURCE_CHARS, Text, print_json, say};
use anyhow::{Context, Result, bail};
use lockstep_host::inspect_tape;
use lockstep_sdk::untrusted;
use std::path::Path;
use std::process::ExitCode;

/// Parses `A..B` (event indices, B exclusive).
fn range(text: &str) -> Result<(u64, u64)> {
    let Some((a, b)) = text.split_once("..") else {
        bail!("--events {text:?}: expected A..B (event indices, B exclusive), e.g. 0..20");
    };
    let a: u64 = a.trim().parse().with_context(|| format!("--events {text:?}: start"))?;
    let b: u64 = b.trim().parse().with_context(|| format!("--events {text:?}: end"))?;
    if b < a {
        bail!("--events {text:?}: the end is before the start");
    }
    Ok((a, b))
}

pub(crate) fn inspect(
    tape: &Path,
    events: Option<&str>,
    at: Option<i64>,
    json: bool,
) -> Result<ExitCode> {
    let sel = events.map(range).transpose()?;
    let report =
        inspect_tape(tape, sel, at).with_context(|| format!("--tape {}", tape.display()))?;
    if json {
        print_json(&report)?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut o = Text::default();
    say!(o, "tape {} (format version {})", report.tape, report.format_version);
    say!(o, "source: {}", untrusted(&report.source).max_chars(SOURCE_CHARS));
    say!(
        o,
        "{} events in {} chunks of up to {} ({} compression)",
        report.events,
        report.chunks,
        report.chunk_events,
        report.compression
    );
    for i in &report.instruments {
        say!(
            o,
            "instrument {}: {} on {}, tick {}, price scale {}, {} events",
            i.id,
            untrusted(&i.symbol).max_chars(NAME_CHARS),
            untrusted(&i.venue).max_chars(NAME_CHARS),
            i.tick_size,
            i.price_scale,
            i.events
        );
    }
    for (k, v) in &report.kinds {
        say!(o, "  {k}: {v}");
    }
    for (what, t) in [
        ("first local", &report.first_local),
        ("last local", &report.last_local),
        ("first exchange", &report.first_exchange),
        ("last exchange", &report.last_exchange),
    ] {
        if let Some(t) = t {
            say!(o, "{what}: {} ns ({})", t.ns, t.utc);
        }
    }
    if let Some(v) = &report.selected {
        for s in v {
            say!(
                o,
                "#{} ins {} local {} exch {}{}: {}",
                s.index,
                s.instrument,
                s.local_ns,
                s.exchange_ns,
                if s.more { " +" } else { "" },
                s.event
            );
        }
    }
    if let Some((t, tops)) = &report.at {
        say!(o, "book at {} ns ({}):", t.ns, t.utc);
        for b in tops {
            say!(
                o,
                "  {} {}: bid {} x {} / ask {} x {} ({} bid, {} ask levels)",
                b.instrument,
                untrusted(&b.symbol).max_chars(NAME_CHARS),
                b.bid_qty.as_deref().unwrap_or("-"),
                b.bid_px.as_deref().unwrap_or("-"),
                b.ask_px.as_deref().unwrap_or("-"),
                b.ask_qty.as_deref().unwrap_or("-"),
                b.bid_levels,
                b.ask_levels
            );
        }
    }
    o.emit()?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(range("3..7").unwrap(), (3, 7));
        assert!(range("7..3").is_err());
        assert!(range("7").is_err());
    }
}
