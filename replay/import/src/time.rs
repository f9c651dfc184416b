//! Timestamps from text to integer nanoseconds, exactly: decimal seconds, integer counts of a
//! unit, and ISO 8601 times.

use crate::number::parse_scaled;
use lockstep_sdk::{days_from_civil, is_valid_date};

/// Parses decimal seconds (`"34200.015105074"`) into integer nanoseconds.
///
/// Up to nine decimal places are exact. More places (float artefacts such as
/// `34200.0151050739999999`) are rounded to the nearest nanosecond, a tie (exactly half a
/// nanosecond, `…5` followed only by zeros) away from zero, i.e. to the later time for a
/// positive time. `None` for malformed text or overflow.
pub fn parse_seconds_ns(text: &str) -> Option<i64> {
    let t = text.trim();
    let Some((head, frac)) = t.split_once('.') else { return parse_scaled(t, 9) };
    let frac = frac.trim_end_matches('0');
    if frac.len() <= 9 {
        return parse_scaled(t, 9);
    }
    // Digits only (then byte 9 is a character boundary: non-ASCII text cannot split there).
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (keep, rest) = frac.split_at(9);
    let v = parse_scaled(&format!("{head}.{keep}"), 9)?;
    // `rest` has no trailing zeros, so it is at least half exactly when its first digit is.
    if rest.as_bytes()[0] >= b'5' {
        if v < 0 || head.starts_with('-') { v.checked_sub(1) } else { v.checked_add(1) }
    } else {
        Some(v)
    }
}

/// Parses an integer count of `unit_ns`-nanosecond units (e.g. microseconds: 1000).
pub(crate) fn parse_int_ns(text: &str, unit_ns: i64) -> Option<i64> {
    text.trim().parse::<i64>().ok()?.checked_mul(unit_ns)
}

/// The number the ASCII digits `s` write (`None` for anything else, a sign included).
fn digits(s: &str) -> Option<i64> {
    if !s.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Parses an ISO 8601 time into integer nanoseconds since the epoch, exactly:
/// `YYYY-MM-DD HH:MM:SS` (or `T` between), up to nine decimal places of seconds, then `Z`, an
/// offset `+HH:MM`/`-HH:MM`, or nothing for UTC. `None` for malformed text, a date that does
/// not exist, or a time outside what nanoseconds in an `i64` hold (1677 to 2262).
pub(crate) fn parse_utc_ns(text: &str) -> Option<i64> {
    let t = text.trim();
    let b = t.as_bytes();
    let num = |from: usize, len: usize| digits(t.get(from..from + len)?);
    if b.len() < 19
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b' ' | b'T')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let (y, mo, d) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    let (h, mi, s) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
    // Four digits each at most: the casts are exact.
    if !is_valid_date(y as i32, mo as u32, d as u32) || h > 23 || mi > 59 || s > 59 {
        return None;
    }
    let (frac, rest) = fraction_ns(&t[19..])?;
    let offset = utc_offset_s(rest)?;
    let days = days_from_civil(y as i32, mo as u32, d as u32);
    let secs = days * 86_400 + h * 3600 + mi * 60 + s - offset;
    secs.checked_mul(1_000_000_000)?.checked_add(frac)
}

/// The fraction of a second `.ddd` (one to nine digits) that `rest` starts with, if any, in
/// nanoseconds, and what follows it.
fn fraction_ns(rest: &str) -> Option<(i64, &str)> {
    let Some(r) = rest.strip_prefix('.') else { return Some((0, rest)) };
    let n = r.bytes().take_while(u8::is_ascii_digit).count();
    if n == 0 || n > 9 {
        return None;
    }
    Some((r[..n].parse::<i64>().ok()? * 10i64.pow(9 - n as u32), &r[n..]))
}

/// A time's UTC offset in seconds: nothing or `Z` (0), `+HH:MM`, `-HH:MM`, `+HHMM` or `-HHMM`.
fn utc_offset_s(rest: &str) -> Option<i64> {
    if matches!(rest, "" | "Z") {
        return Some(0);
    }
    let sign = match rest.as_bytes()[0] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let z = &rest[1..];
    let (oh, om) = match z.len() {
        5 if z.as_bytes()[2] == b':' => (z.get(..2)?, z.get(3..)?),
        4 => (z.get(..2)?, z.get(2..)?),
        _ => return None,
    };
    let (oh, om) = (digits(oh)?, digits(om)?);
    if oh > 23 || om > 59 {
        return None;
    }
    Some(sign * (oh * 3600 + om * 60))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_parse_exactly() {
        assert_eq!(parse_seconds_ns("34200.015105074"), Some(34_200_015_105_074));
        assert_eq!(parse_seconds_ns("34200.18960767"), Some(34_200_189_607_670));
        assert_eq!(parse_seconds_ns("34200"), Some(34_200_000_000_000));
        assert_eq!(parse_seconds_ns("0.1"), Some(100_000_000));
        // More than nine places: rounded to the nearest nanosecond, ties away from zero.
        assert_eq!(parse_seconds_ns("1.0000000001"), Some(1_000_000_000));
        assert_eq!(parse_seconds_ns("34200.0151050739999999"), Some(34_200_015_105_074));
        assert_eq!(parse_seconds_ns("34200.01510507400000012"), Some(34_200_015_105_074));
        assert_eq!(parse_seconds_ns("1.0000000005"), Some(1_000_000_001));
        assert_eq!(parse_seconds_ns("1.00000000049999"), Some(1_000_000_000));
        // Non-ASCII among the decimals is refused, not a panic (byte 9 inside a character).
        assert_eq!(parse_seconds_ns("1.12345678\u{706}0004"), None);
        assert_eq!(parse_seconds_ns("1.123456789\u{e9}1"), None);
        assert_eq!(parse_seconds_ns("1.000000000500"), Some(1_000_000_001));
        assert_eq!(parse_seconds_ns("-1.0000000005"), Some(-1_000_000_001));
        assert_eq!(parse_seconds_ns("0.9999999999"), Some(1_000_000_000));
        assert_eq!(parse_seconds_ns("1.00000000012x"), None);
        assert_eq!(parse_seconds_ns("9223372036.8547758079"), None);
        assert_eq!(parse_seconds_ns("1.5000000000"), Some(1_500_000_000));
        assert_eq!(parse_seconds_ns("12a.5"), None);
        assert_eq!(parse_seconds_ns(""), None);
        assert_eq!(parse_int_ns("1582329602111000", 1000), Some(1_582_329_602_111_000_000));
        assert_eq!(parse_int_ns("x", 1000), None);
    }

    #[test]
    fn iso_times_parse_exactly() {
        assert_eq!(
            parse_utc_ns("2013-01-01 22:00:00.295000+00:00"),
            Some(1_357_077_600_295_000_000)
        );
        assert_eq!(parse_utc_ns("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_utc_ns("1970-01-01 00:00:00.000000001"), Some(1));
        assert_eq!(parse_utc_ns("1970-01-01T01:00:00+01:00"), Some(0));
        assert_eq!(parse_utc_ns("1969-12-31T19:00:00-0500"), Some(0));
        assert_eq!(parse_utc_ns("2024-02-29T12:00:00Z"), Some(1_709_208_000_000_000_000));
        assert_eq!(parse_utc_ns("2000-03-01 00:00:00"), Some(951_868_800_000_000_000));
        assert_eq!(parse_utc_ns("1600-01-01 00:00:00"), None); // before 1677: out of range
        for bad in [
            "2023-02-29 00:00:00",
            "2013-13-01 00:00:00",
            "2013-01-01 24:00:00",
            "2013-01-01 22:00:00.",
            "2013-01-01 22:00:00.1234567890",
            "2013-01-01 22:00:00+0:00",
            "2013-01-01 22:00:00 UTC",
            "2013/01/01 22:00:00",
            "2013-01-01",
            "2013-01-01 22:00:0x",
            "9999-12-31 23:59:59",
        ] {
            assert_eq!(parse_utc_ns(bad), None, "{bad}");
        }
    }
}
