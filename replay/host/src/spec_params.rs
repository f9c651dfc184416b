//! A built-in strategy's instrument parameters from the tape: its `tick` and `lot` are the
//! instrument's unless the caller gives them, and a given one (or an `order_qty`) that
//! contradicts the tape's instrument is refused before the run starts.

use lockstep_sdk::{Price, Qty};
use lockstep_sim::{InstrumentInfo, TapeHeader};
use std::fmt;

/// Keys the tape fills in when a built-in accepts them and the caller does not give them.
pub(crate) const INSTRUMENT_KEYS: [&str; 2] = ["tick", "lot"];

/// A parameter that contradicts the tape's instrument.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Contradiction {
    /// The parameter.
    pub key: &'static str,
    /// Its value as given.
    pub given: String,
    /// The instrument's symbol.
    pub symbol: String,
    /// What the tape says: the instrument's tick or lot.
    pub tape: String,
    /// `tick` or `lot`.
    pub what: &'static str,
}

impl fmt::Display for Contradiction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Contradiction { key, given, symbol, tape, what } = self;
        let symbol = lockstep_sdk::untrusted(symbol).max_chars(64);
        let given = lockstep_sdk::untrusted(given).max_chars(32);
        write!(
            f,
            "{key}={given} contradicts the tape: {symbol}'s {what} is {tape}, and the venue \
             refuses orders off it; "
        )?;
        if INSTRUMENT_KEYS.contains(key) {
            write!(f, "leave {key} out to take the tape's, or give a multiple of {tape}")
        } else {
            write!(f, "give a multiple of {tape}")
        }
    }
}

/// The value of `key` in the parameter text, as the strategies' own parser reads it.
fn value<'a>(params: &'a str, key: &str) -> Option<&'a str> {
    lockstep_sdk::Params::new(params).get(key)
}

/// `params` with the value of `key` replaced by `value` where it is given, in place (so text
/// that already says the same thing stays byte for byte the same).
fn replaced(params: &str, key: &str, value: &str) -> String {
    params
        .split(';')
        .map(|kv| match kv.split_once('=') {
            Some((k, _)) if k.trim() == key => format!("{key}={value}"),
            _ => kv.to_owned(),
        })
        .collect::<Vec<_>>()
        .join(";")
}

/// Whether `given` (decimal text) is a whole multiple of `unit`; `None` when it is not a
/// number above 0 (the strategy's own check says so, in its words).
fn multiple(given: &str, unit: i64) -> Option<bool> {
    let v = Price::parse(given)?.0;
    (v > 0).then_some(unit > 0 && v % unit == 0)
}

/// `params` for a built-in accepting `accepted` keys, run on `header`: the tape's tick and lot
/// added where accepted and not given (with `defaults`, the built-in's default parameters,
/// put in place of theirs, which suit only the synthetic market); a given tick or lot that is
/// not a multiple of the instrument's, or an `order_qty` that is not whole lots, refused.
///
/// # Errors
/// The [`Contradiction`].
pub(crate) fn with_instrument(
    params: &str,
    accepted: &[&str],
    header: &TapeHeader,
    defaults: bool,
) -> Result<String, Contradiction> {
    let id = value(params, "instrument").and_then(|v| v.parse::<usize>().ok()).unwrap_or(0);
    let Some(ins) = header.instruments.get(id) else { return Ok(params.to_owned()) };
    let mut out = params.trim_end_matches(';').to_owned();
    for key in INSTRUMENT_KEYS {
        if !accepted.contains(&key) {
            continue;
        }
        let (unit, shown) = unit_of(ins, key);
        match value(params, key) {
            Some(_) if defaults => out = replaced(&out, key, &shown),
            Some(given) => check(ins, key, given, unit, &shown)?,
            None => {
                if !out.is_empty() {
                    out.push(';');
                }
                out.push_str(&format!("{key}={shown}"));
            }
        }
    }
    if accepted.contains(&"order_qty")
        && let Some(given) = value(params, "order_qty")
    {
        check(ins, "order_qty", given, ins.lot_size.0, &ins.lot_size.to_string())?;
    }
    Ok(out)
}

/// The instrument's tick or lot, raw and as text.
fn unit_of(ins: &InstrumentInfo, key: &str) -> (i64, String) {
    if key == "tick" {
        (ins.tick_size.0, ins.tick_size.to_string())
    } else {
        (ins.lot_size.0, Qty(ins.lot_size.0).to_string())
    }
}

fn check(
    ins: &InstrumentInfo,
    key: &'static str,
    given: &str,
    unit: i64,
    shown: &str,
) -> Result<(), Contradiction> {
    if multiple(given, unit) == Some(false) {
        return Err(Contradiction {
            key,
            given: given.to_owned(),
            symbol: ins.symbol.clone(),
            tape: shown.to_owned(),
            what: if key == "tick" { "tick" } else { "lot" },
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use lockstep_sdk::ONE;

    fn header(tick: i64, lot: i64) -> TapeHeader {
        let ins =
            InstrumentInfo::spot(0, "BTCUSDT", "binance", Price(tick), Qty(lot), "USDT", "UTC");
        TapeHeader::new("t", vec![ins])
    }

    fn with_instrument_(p: &str, a: &[&str], h: &TapeHeader) -> Result<String, Contradiction> {
        with_instrument(p, a, h, false)
    }

    const MICRO: [&str; 6] =
        ["instrument", "levels", "tick", "half_spread_ticks", "order_qty", "max_inventory"];

    #[test]
    fn the_tapes_tick_fills_in_and_a_contradiction_is_refused() {
        let h = header(ONE / 10, ONE / 1000);
        assert_eq!(with_instrument_("levels=3", &MICRO, &h).unwrap(), "levels=3;tick=0.1");
        assert_eq!(with_instrument_("", &MICRO, &h).unwrap(), "tick=0.1");
        assert_eq!(with_instrument_("tick=0.5;", &MICRO, &h).unwrap(), "tick=0.5");
        let e = with_instrument_("tick=0.01", &MICRO, &h).unwrap_err();
        assert_eq!(
            e.to_string(),
            "tick=0.01 contradicts the tape: BTCUSDT's tick is 0.1, and the venue refuses \
             orders off it; leave tick out to take the tape's, or give a multiple of 0.1"
        );
        let e = with_instrument_("order_qty=0.0005", &MICRO, &h).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("order_qty=0.0005 contradicts the tape: BTCUSDT's lot is 0.001"),
            "{e}"
        );
        assert!(with_instrument_("order_qty=0.002", &MICRO, &h).is_ok());
        // Not a number: left to the strategy's own message.
        assert!(with_instrument_("tick=abc", &MICRO, &h).is_ok());
        assert!(with_instrument_("tick=0", &MICRO, &h).is_ok());
        // Another instrument than the tape has, and a strategy without the keys: unchanged.
        assert_eq!(with_instrument_("instrument=3", &MICRO, &h).unwrap(), "instrument=3");
        assert_eq!(with_instrument_("x=1", &["x"], &h).unwrap(), "x=1");
        assert_eq!(with_instrument_("lot=0.01", &["lot"], &h).unwrap(), "lot=0.01");
        assert_eq!(with_instrument_("", &["lot"], &h).unwrap(), "lot=0.001");
    }

    #[test]
    fn defaults_take_the_tapes_values_in_place() {
        let h = header(ONE / 10, ONE / 1000);
        let d = "instrument=0;tick=0.01;lot=1;x=2";
        assert_eq!(
            with_instrument(d, &["tick", "lot", "x"], &h, true).unwrap(),
            "instrument=0;tick=0.1;lot=0.001;x=2"
        );
        let same = header(ONE / 100, ONE);
        assert_eq!(with_instrument(d, &["tick", "lot", "x"], &same, true).unwrap(), d);
    }
}
