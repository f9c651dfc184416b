//! The unit of a capture's local timestamps: detected per file from the exchange times (the
//! unit under which local minus exchange time is smallest) or, without any, from the first
//! time's magnitude; or given. A unit that puts the collector hours away from the exchange is
//! refused.

use crate::error::ImportError;
use crate::options::LocalTsUnit;
use crate::summary::TsUnitChoice;
use std::path::Path;

/// The most the median of (local − exchange time) may be, either way, under the unit chosen
/// for a capture's local timestamps: 10 minutes. Feed latency plus clock skew is seconds; a
/// wrong unit is off by years.
pub const MAX_CLOCK_OFFSET_NS: i64 = 600_000_000_000;

/// 2000-01-01 and 2100-01-01 in ns since the epoch: the range a local time must fall in when
/// its unit is judged by magnitude.
const PLAUSIBLE_EPOCH_NS: (i128, i128) = (946_684_800_000_000_000, 4_102_444_800_000_000_000);

/// Exchange-time samples kept per file for unit detection (the first ones).
pub(crate) const MAX_SAMPLES: usize = 1 << 20;

/// `|ns|` for people: `1.27 s`, `3.2 h`, `19864.0 days`.
fn span(ns: i128) -> String {
    let a = ns.unsigned_abs();
    if a >= 86_400_000_000_000 {
        format!("{:.1} days", a as f64 / 86_400e9)
    } else if a >= 3_600_000_000_000 {
        format!("{:.1} h", a as f64 / 3_600e9)
    } else if a >= 1_000_000_000 {
        format!("{:.2} s", a as f64 / 1e9)
    } else {
        format!("{:.3} ms", a as f64 / 1e6)
    }
}

/// The median of `v` (the lower middle for an even count); `None` when empty.
fn median(v: &mut [i128]) -> Option<i128> {
    if v.is_empty() {
        return None;
    }
    let mid = (v.len() - 1) / 2;
    Some(*v.select_nth_unstable(mid).1)
}

/// One file's local-timestamp unit, how it was chosen, and the median local − exchange time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct UnitChoice {
    pub(crate) unit: LocalTsUnit,
    pub(crate) how: &'static str,
    pub(crate) offset_ns: Option<i64>,
}

/// The median of local minus exchange time over `samples` (raw local time, exchange time in
/// ns), the local times read in `unit`.
fn median_offset(samples: &[(i64, i64)], unit: LocalTsUnit) -> Option<i128> {
    let mut d: Vec<i128> = samples
        .iter()
        .map(|&(l, e)| i128::from(l) * i128::from(unit.ns()) - i128::from(e))
        .collect();
    median(&mut d)
}

/// Chooses the unit of `file`'s local times from `samples` (raw local time, exchange time in
/// ns) or, without samples, from `first` (the first raw local time); checks the choice.
pub(crate) fn choose_unit(
    file: &Path,
    samples: &[(i64, i64)],
    first: Option<i64>,
    given: Option<LocalTsUnit>,
) -> Result<UnitChoice, ImportError> {
    if samples.is_empty() {
        return by_magnitude(file, first, given);
    }
    let (unit, how) = match given {
        Some(u) => (u, "given"),
        None => {
            let best = LocalTsUnit::ALL
                .into_iter()
                .filter_map(|u| median_offset(samples, u).map(|m| (m.unsigned_abs(), u)))
                .min()
                .map_or(LocalTsUnit::Nanos, |(_, u)| u);
            (best, "exchange times")
        }
    };
    let med = median_offset(samples, unit).unwrap_or(0);
    if med.abs() > i128::from(MAX_CLOCK_OFFSET_NS) {
        let why = if how == "given" { "as given by --local-ts-unit" } else { "the closest fit" };
        return Err(refuse(
            file,
            format!(
                "local timestamps read as {} ({why}) put the collector {} {} the exchange \
                 (median of local minus exchange time over {} messages); feed latency plus \
                 clock skew is seconds, not hours, so the unit or the collector's clock is \
                 wrong; give the right unit with --local-ts-unit ns|us|ms",
                unit.name(),
                span(med),
                if med > 0 { "after" } else { "before" },
                samples.len()
            ),
        ));
    }
    Ok(UnitChoice { unit, how, offset_ns: i64::try_from(med).ok() })
}

fn refuse(file: &Path, reason: String) -> ImportError {
    ImportError::Format { file: file.to_path_buf(), reason }
}

/// The unit of a file without exchange times: given, or the one that puts its first local
/// time `first` between 2000 and 2100 (nanoseconds, for a file without lines).
fn by_magnitude(
    file: &Path,
    first: Option<i64>,
    given: Option<LocalTsUnit>,
) -> Result<UnitChoice, ImportError> {
    let Some(first) = first else {
        return Ok(UnitChoice {
            unit: given.unwrap_or(LocalTsUnit::Nanos),
            how: "given",
            offset_ns: None,
        });
    };
    let fits = |u: LocalTsUnit| {
        let t = i128::from(first) * i128::from(u.ns());
        (PLAUSIBLE_EPOCH_NS.0..PLAUSIBLE_EPOCH_NS.1).contains(&t)
    };
    let (unit, how) = match given {
        Some(u) => (u, "given"),
        None => match LocalTsUnit::ALL.into_iter().find(|&u| fits(u)) {
            Some(u) => (u, "magnitude"),
            None => {
                return Err(refuse(
                    file,
                    format!(
                        "the first local timestamp {first} is no time between 2000 and 2100 in \
                         ns, us or ms, and no message carries an exchange time to compare \
                         with; is this a collector capture?"
                    ),
                ));
            }
        },
    };
    if !fits(unit) {
        return Err(refuse(
            file,
            format!(
                "local timestamps read as {} (given) put the first message at {first} {0}, \
                 outside 2000-2100; give the right --local-ts-unit",
                unit.name()
            ),
        ));
    }
    Ok(UnitChoice { unit, how, offset_ns: None })
}

/// What the summary says of the files' units: each unit and how it was chosen (the files'
/// in order, repeats in a row once), and the median of the files' clock offsets.
pub(crate) fn reported(units: &[UnitChoice]) -> (TsUnitChoice, Option<i64>) {
    let mut names: Vec<&str> = units.iter().map(|u| u.unit.name()).collect();
    names.dedup();
    let mut hows: Vec<&str> = units.iter().map(|u| u.how).collect();
    hows.dedup();
    let choice = TsUnitChoice { unit: names.join(","), how: hows.join(",") };
    let mut offsets: Vec<i128> = units.iter().filter_map(|u| u.offset_ns).map(i128::from).collect();
    (choice, median(&mut offsets).and_then(|m| i64::try_from(m).ok()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0_MS: i64 = 1_723_161_255_000;

    /// Samples of local times `ahead_ms` after the exchange's, written in `unit`.
    fn samples(unit: LocalTsUnit, ahead_ms: i64) -> Vec<(i64, i64)> {
        (0..50)
            .map(|i| {
                let exch_ns = (T0_MS + i * 100) * 1_000_000;
                let local_ns = exch_ns + ahead_ms * 1_000_000 + i * 1_000;
                (local_ns / unit.ns(), exch_ns)
            })
            .collect()
    }

    #[test]
    fn the_local_unit_is_detected_from_exchange_times() {
        let f = Path::new("capture.gz");
        for unit in LocalTsUnit::ALL {
            for ahead_ms in [3, -1_270, 2_500] {
                let c = choose_unit(f, &samples(unit, ahead_ms), None, None).unwrap();
                assert_eq!((c.unit, c.how), (unit, "exchange times"), "{unit:?} {ahead_ms}");
                let off = c.offset_ns.unwrap();
                // The median is off by less than the unit's rounding plus the added spread.
                assert!((off - ahead_ms * 1_000_000).abs() < 1_100_000, "{off}");
            }
        }
    }

    #[test]
    fn a_wrong_or_implausible_unit_is_refused_with_the_unit_and_why() {
        let f = Path::new("capture.gz");
        // Microsecond data read as nanoseconds: 54 years behind.
        let e = choose_unit(f, &samples(LocalTsUnit::Micros, 5), None, Some(LocalTsUnit::Nanos))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("capture.gz: local timestamps read as ns (as given by --local-ts-unit)"),
            "{e}"
        );
        assert!(e.contains("days before the exchange"), "{e}");
        assert!(e.contains("--local-ts-unit ns|us|ms"), "{e}");
        // A clock three hours ahead fits no unit.
        let e = choose_unit(f, &samples(LocalTsUnit::Nanos, 3 * 3_600_000), None, None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("read as ns (the closest fit) put the collector 3.0 h after"), "{e}");
        // Given and right: accepted.
        let c = choose_unit(f, &samples(LocalTsUnit::Millis, 1), None, Some(LocalTsUnit::Millis))
            .unwrap();
        assert_eq!((c.unit, c.how), (LocalTsUnit::Millis, "given"));
    }

    #[test]
    fn without_exchange_times_the_unit_is_judged_by_magnitude() {
        let f = Path::new("c");
        let by = |first| choose_unit(f, &[], Some(first), None);
        assert_eq!(by(1_723_161_253_937_085_768).unwrap().unit, LocalTsUnit::Nanos);
        assert_eq!(by(1_723_161_253_937_085).unwrap().unit, LocalTsUnit::Micros);
        assert_eq!(by(1_723_161_253_937).unwrap().unit, LocalTsUnit::Millis);
        assert_eq!(by(1_723_161_253_937).unwrap().how, "magnitude");
        assert!(by(1_723_161).unwrap_err().to_string().contains("no time between 2000 and 2100"));
        let e = choose_unit(f, &[], Some(1_723_161_253_937), Some(LocalTsUnit::Nanos)).unwrap_err();
        assert!(e.to_string().contains("read as ns (given)"), "{e}");
    }

    #[test]
    fn median_is_the_lower_middle() {
        assert_eq!(median(&mut []), None);
        assert_eq!(median(&mut [5, 1, 3]), Some(3));
        assert_eq!(median(&mut [4, 1, 3, 2]), Some(2));
    }
}
