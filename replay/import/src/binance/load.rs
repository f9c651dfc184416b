//! The first pass over captures: the symbols of the streams the tape uses, with the finest
//! decimals of their prices, and each file's local-timestamp unit.

use super::record::{StreamKind, raw_local, split, stream_kind, stream_symbol};
use super::unit::{MAX_SAMPLES, UnitChoice, choose_unit};
use crate::error::ImportError;
use crate::instruments::Listing;
use crate::lines::Lines;
use crate::number::decimals;
use crate::options::LocalTsUnit;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The venue of every instrument of a capture.
pub(crate) const VENUE: &str = "binance";

/// What the first pass finds.
pub(crate) struct Scan {
    /// The symbols in order of first appearance.
    pub(crate) listing: Listing,
    /// Each file's local-timestamp unit.
    pub(crate) units: Vec<UnitChoice>,
}

/// First pass: symbols in order of first appearance with their finest price decimals, and
/// each file's local-timestamp unit (`given`, or detected).
pub(crate) fn scan(paths: &[PathBuf], given: Option<LocalTsUnit>) -> Result<Scan, ImportError> {
    let mut listing = Listing::default();
    let mut units = Vec::with_capacity(paths.len());
    for p in paths {
        units.push(scan_file(p, given, &mut listing)?);
    }
    Ok(Scan { listing, units })
}

/// Adds the symbols of the file `p` to `listing`; returns the file's unit.
fn scan_file(
    p: &Path,
    given: Option<LocalTsUnit>,
    listing: &mut Listing,
) -> Result<UnitChoice, ImportError> {
    let mut lines = Lines::open(p)?;
    let mut samples: Vec<(i64, i64)> = Vec::new();
    let mut first: Option<i64> = None;
    while lines.next_row()? {
        let Some((ts, json)) = split(lines.text()) else {
            return Err(lines.err("expected `<local timestamp> <json>`"));
        };
        let local = raw_local(&lines, ts)?;
        first.get_or_insert(local);
        let v: Value =
            serde_json::from_str(json).map_err(|e| lines.err(format!("invalid JSON: {e}")))?;
        let data = v.get("data").unwrap_or(&v);
        if samples.len() < MAX_SAMPLES
            && let Some(ms) = ["E", "T"].iter().find_map(|k| data.get(*k)).and_then(Value::as_i64)
            && let Some(ns) = ms.checked_mul(1_000_000)
        {
            samples.push((local, ns));
        }
        let Some(stream) = v.get("stream").and_then(Value::as_str) else { continue };
        let Some((sym, kind)) = stream_symbol(stream) else { continue };
        if stream_kind(kind) == StreamKind::Other {
            continue;
        }
        // The most decimals among the text fields `keys` of the message.
        let finest = |keys: [&str; 3]| {
            keys.iter()
                .filter_map(|k| data.get(*k))
                .filter_map(|x| x.as_str())
                .map(decimals)
                .max()
                .unwrap_or(0)
        };
        // Prices: `p`, `b`, `a`; quantities: trades' `q`, the book ticker's `B` and `A` (depth
        // levels are pairs, and the ticker and trades give the lot).
        let (d, qd) = (finest(["p", "b", "a"]), finest(["q", "B", "A"]));
        listing.observe(&lines, VENUE, &sym.to_ascii_uppercase(), d, qd)?;
    }
    choose_unit(p, &samples, first, given)
}
