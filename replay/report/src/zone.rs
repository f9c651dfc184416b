//! Tape times as dates and clock times on the venue's clock, without a time-zone database:
//! a few fixed rules (UTC, fixed offsets, the US and EU daylight-saving rules, and the
//! offsets of Tokyo, Hong Kong and Singapore) computed from the calendar, so the same tape
//! prints the same text on every machine. An unknown zone name falls back to UTC, and
//! [`Clock::note`] says so for the report to show.

use lockstep_sdk::{civil_from_days, days_from_civil, is_valid_date};

const SECOND_NS: i64 = 1_000_000_000;
const DAY_S: i64 = 86_400;
const DAY_NS: i64 = DAY_S * SECOND_NS;
const HOUR_S: i64 = 3_600;

/// How a zone's offset from UTC changes over the year.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Rule {
    /// The same offset all year (seconds east of UTC).
    Fixed(i64),
    /// US daylight saving time (one hour) on the standard offset.
    Us(i64),
    /// EU summer time (one hour) on the standard offset.
    Eu(i64),
}

/// A time zone: its name as the tape gives it and its rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Zone {
    name: String,
    rule: Rule,
    known: bool,
}

/// Named zones with their rules (IANA names).
const NAMED: &[(&str, Rule)] = &[
    ("UTC", Rule::Fixed(0)),
    ("Etc/UTC", Rule::Fixed(0)),
    ("GMT", Rule::Fixed(0)),
    ("Etc/GMT", Rule::Fixed(0)),
    ("Z", Rule::Fixed(0)),
    ("America/New_York", Rule::Us(-5 * HOUR_S)),
    ("US/Eastern", Rule::Us(-5 * HOUR_S)),
    ("America/Chicago", Rule::Us(-6 * HOUR_S)),
    ("US/Central", Rule::Us(-6 * HOUR_S)),
    ("Europe/London", Rule::Eu(0)),
    ("Europe/Berlin", Rule::Eu(HOUR_S)),
    ("Europe/Paris", Rule::Eu(HOUR_S)),
    ("Europe/Amsterdam", Rule::Eu(HOUR_S)),
    ("Europe/Brussels", Rule::Eu(HOUR_S)),
    ("Europe/Frankfurt", Rule::Eu(HOUR_S)),
    ("Europe/Madrid", Rule::Eu(HOUR_S)),
    ("Europe/Zurich", Rule::Eu(HOUR_S)),
    ("Asia/Tokyo", Rule::Fixed(9 * HOUR_S)),
    ("Asia/Hong_Kong", Rule::Fixed(8 * HOUR_S)),
    ("Asia/Singapore", Rule::Fixed(8 * HOUR_S)),
    ("Asia/Shanghai", Rule::Fixed(8 * HOUR_S)),
];

/// `+HH:MM` / `-HH:MM` (or `+HH`) as seconds east of UTC.
fn parse_offset(s: &str) -> Option<i64> {
    let sign = match s.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let rest = &s[1..];
    let (h, m) = rest.split_once(':').unwrap_or((rest, "0"));
    let all_digits =
        |x: &str| !x.is_empty() && x.len() <= 2 && x.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(h) || !all_digits(m) {
        return None;
    }
    let (h, m): (i64, i64) = (h.parse().ok()?, m.parse().ok()?);
    (h <= 14 && m < 60).then_some(sign * (h * HOUR_S + m * 60))
}

/// `Etc/GMT+N` is N hours west of UTC (the POSIX sign), `Etc/GMT-N` east.
fn parse_etc(s: &str) -> Option<i64> {
    let n = s.strip_prefix("Etc/GMT")?;
    let off = parse_offset(n)?;
    (off % HOUR_S == 0).then_some(-off)
}

/// The day (days since 1970-01-01) of the `n`th Sunday of `month` (`n` = 0: the last one).
fn sunday(year: i32, month: u32, n: u32) -> i64 {
    // 1970-01-01 was a Thursday: weekday 0 = Sunday is (days + 4) mod 7.
    let weekday = |d: i64| (d + 4).rem_euclid(7);
    if n == 0 {
        let next = if month == 12 {
            days_from_civil(year + 1, 1, 1)
        } else {
            days_from_civil(year, month + 1, 1)
        };
        let last = next - 1;
        return last - weekday(last);
    }
    let first = days_from_civil(year, month, 1);
    first + (7 - weekday(first)) % 7 + 7 * i64::from(n - 1)
}

impl Zone {
    /// The zone named `name` (an IANA name, `UTC`, `+HH:MM` or `Etc/GMT±N`); an unknown name
    /// reads as UTC with [`Zone::known`] false.
    pub fn parse(name: &str) -> Self {
        let n = name.trim();
        let rule = NAMED
            .iter()
            .find(|(k, _)| *k == n)
            .map(|(_, r)| *r)
            .or_else(|| parse_offset(n).map(Rule::Fixed))
            .or_else(|| parse_etc(n).map(Rule::Fixed));
        Self { name: n.to_owned(), rule: rule.unwrap_or(Rule::Fixed(0)), known: rule.is_some() }
    }

    /// The name as given.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether the name is one the rules cover (else times are shown in UTC).
    pub fn known(&self) -> bool {
        self.known
    }

    /// Seconds east of UTC at the instant `utc_s` (seconds since the Unix epoch, UTC).
    pub fn offset_s(&self, utc_s: i64) -> i64 {
        match self.rule {
            Rule::Fixed(o) => o,
            Rule::Us(std) => std + if us_dst(std, utc_s) { HOUR_S } else { 0 },
            Rule::Eu(std) => std + if eu_summer(utc_s) { HOUR_S } else { 0 },
        }
    }
}

/// The civil year of `utc_s` (UTC).
fn year_of(utc_s: i64) -> i32 {
    civil_from_days(utc_s.div_euclid(DAY_S)).map_or(1970, |d| d.0)
}

/// US daylight saving time: since 2007 from the second Sunday of March 02:00 local standard
/// time to the first Sunday of November 02:00 local daylight time; before 2007 the first
/// Sunday of April to the last Sunday of October.
fn us_dst(std: i64, utc_s: i64) -> bool {
    let y = year_of(utc_s.saturating_add(std));
    let (start, end) = if y >= 2007 {
        (sunday(y, 3, 2), sunday(y, 11, 1))
    } else {
        (sunday(y, 4, 1), sunday(y, 10, 0))
    };
    let start_utc = start * DAY_S + 2 * HOUR_S - std;
    let end_utc = end * DAY_S + 2 * HOUR_S - (std + HOUR_S);
    utc_s >= start_utc && utc_s < end_utc
}

/// EU summer time: from the last Sunday of March 01:00 UTC to the last Sunday of October
/// 01:00 UTC.
fn eu_summer(utc_s: i64) -> bool {
    let y = year_of(utc_s);
    let start = sunday(y, 3, 0) * DAY_S + HOUR_S;
    let end = sunday(y, 10, 0) * DAY_S + HOUR_S;
    utc_s >= start && utc_s < end
}

/// How the report prints tape times: the venue's zone and, for tapes that count from a
/// local midnight (LOBSTER), that day.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Clock {
    zone: Zone,
    /// Days since 1970-01-01 of the local midnight times count from (`None`: epoch UTC).
    midnight: Option<i64>,
}

impl Clock {
    /// The clock of a tape whose instruments are in `zone` and whose times count from
    /// `local_midnight` ("YYYY-MM-DD"; `None` or unreadable: nanoseconds since the epoch).
    pub fn new(zone: &str, local_midnight: Option<&str>) -> Self {
        let midnight = local_midnight.and_then(parse_date);
        Self { zone: Zone::parse(zone), midnight }
    }

    /// The zone.
    pub fn zone(&self) -> &Zone {
        &self.zone
    }

    /// Why times are not on the venue's clock, when they are not (an unknown zone).
    pub fn note(&self) -> Option<String> {
        (!self.zone.known && self.midnight.is_none()).then(|| {
            format!(
                "time zone {:?} is not one the report knows; times are shown in UTC",
                lockstep_sdk::untrusted(&self.zone.name).max_chars(64).to_string()
            )
        })
    }

    /// The label of the clock: the zone's name, or `UTC` when it fell back.
    pub fn label(&self) -> String {
        if self.zone.known || self.midnight.is_some() {
            lockstep_sdk::untrusted(&self.zone.name).max_chars(64).to_string()
        } else {
            "UTC".to_owned()
        }
    }

    /// Local nanoseconds since 1970-01-01 00:00 on the venue's clock for tape time `t`.
    pub fn local_ns(&self, t: i64) -> i64 {
        match self.midnight {
            Some(day) => day.saturating_mul(DAY_NS).saturating_add(t),
            None => {
                let off = self.zone.offset_s(t.div_euclid(SECOND_NS));
                t.saturating_add(off.saturating_mul(SECOND_NS))
            }
        }
    }

    /// `YYYY-MM-DD HH:MM:SS.mmm` on the venue's clock.
    pub fn date_time(&self, t: i64) -> String {
        local_date_time(self.local_ns(t))
    }

    /// A local time (as [`Clock::local_ns`] gives) with the zone's label.
    pub fn format_local(&self, local: i64) -> String {
        format!("{} {}", local_date_time(local), self.label())
    }

    /// `HH:MM:SS` on the venue's clock (chart axes).
    pub fn clock(&self, t: i64) -> String {
        time_of_day(self.local_ns(t).rem_euclid(DAY_NS), false)
    }

    /// A date-time with the zone's label, e.g. `2012-06-21 09:30:00.000 America/New_York`.
    pub fn labelled(&self, t: i64) -> String {
        format!("{} {}", self.date_time(t), self.label())
    }
}

/// `YYYY-MM-DD HH:MM:SS.mmm` of local nanoseconds since 1970-01-01 00:00.
fn local_date_time(l: i64) -> String {
    let (y, m, d) = civil_from_days(l.div_euclid(DAY_NS)).unwrap_or((1970, 1, 1));
    format!("{y:04}-{m:02}-{d:02} {}", time_of_day(l.rem_euclid(DAY_NS), true))
}

/// `HH:MM:SS` (with `.mmm` when `millis`) of `ns` nanoseconds into a day.
fn time_of_day(ns: i64, millis: bool) -> String {
    let s = ns / SECOND_NS;
    let hms = format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
    if millis { format!("{hms}.{:03}", ns % SECOND_NS / 1_000_000) } else { hms }
}

/// "YYYY-MM-DD" as days since 1970-01-01.
fn parse_date(s: &str) -> Option<i64> {
    let mut it = s.trim().splitn(3, '-');
    let y: i32 = it.next()?.parse().ok()?;
    let m: u32 = it.next()?.parse().ok()?;
    let d: u32 = it.next()?.parse().ok()?;
    is_valid_date(y, m, d).then(|| days_from_civil(y, m, d))
}

/// A duration in nanoseconds for people: `850 ms`, `12.3 s`, `4 min 05 s`, `2 h 03 min`.
pub fn human_duration(ns: i64) -> String {
    let a = ns.unsigned_abs();
    let sign = if ns < 0 { "-" } else { "" };
    let s = a / 1_000_000_000;
    if a < 1_000_000 {
        format!("{sign}{} µs", a / 1_000)
    } else if a < 1_000_000_000 {
        format!("{sign}{} ms", a / 1_000_000)
    } else if s < 60 {
        format!("{sign}{}.{} s", s, a % 1_000_000_000 / 100_000_000)
    } else if s < 3_600 {
        format!("{sign}{} min {:02} s", s / 60, s % 60)
    } else {
        format!("{sign}{} h {:02} min", s / 3_600, s / 60 % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Seconds since the epoch of a UTC date and time.
    fn utc(y: i32, mo: u32, d: u32, h: i64, mi: i64) -> i64 {
        days_from_civil(y, mo, d) * DAY_S + h * HOUR_S + mi * 60
    }

    #[test]
    fn new_york_switches_on_the_us_rules() {
        let ny = Zone::parse("America/New_York");
        assert!(ny.known());
        // 2012: DST from Sunday 11 March 07:00 UTC to Sunday 4 November 06:00 UTC.
        assert_eq!(ny.offset_s(utc(2012, 3, 11, 6, 59)), -5 * HOUR_S);
        assert_eq!(ny.offset_s(utc(2012, 3, 11, 7, 0)), -4 * HOUR_S);
        assert_eq!(ny.offset_s(utc(2012, 11, 4, 5, 59)), -4 * HOUR_S);
        assert_eq!(ny.offset_s(utc(2012, 11, 4, 6, 0)), -5 * HOUR_S);
        // 2024: 10 March and 3 November.
        assert_eq!(ny.offset_s(utc(2024, 3, 10, 6, 59)), -5 * HOUR_S);
        assert_eq!(ny.offset_s(utc(2024, 3, 10, 7, 0)), -4 * HOUR_S);
        assert_eq!(ny.offset_s(utc(2024, 11, 3, 5, 59)), -4 * HOUR_S);
        assert_eq!(ny.offset_s(utc(2024, 11, 3, 6, 0)), -5 * HOUR_S);
        // Before 2007: first Sunday of April (2 April 2006) to last of October (29th).
        assert_eq!(ny.offset_s(utc(2006, 4, 2, 7, 0)), -4 * HOUR_S);
        assert_eq!(ny.offset_s(utc(2006, 3, 20, 12, 0)), -5 * HOUR_S);
        assert_eq!(ny.offset_s(utc(2006, 10, 29, 6, 0)), -5 * HOUR_S);
        let chicago = Zone::parse("America/Chicago");
        assert_eq!(chicago.offset_s(utc(2024, 3, 10, 8, 0)), -5 * HOUR_S);
        assert_eq!(chicago.offset_s(utc(2024, 3, 10, 7, 59)), -6 * HOUR_S);
    }

    #[test]
    fn london_and_berlin_switch_on_the_eu_rules() {
        let london = Zone::parse("Europe/London");
        // 2012: 25 March 01:00 UTC to 28 October 01:00 UTC.
        assert_eq!(london.offset_s(utc(2012, 3, 25, 0, 59)), 0);
        assert_eq!(london.offset_s(utc(2012, 3, 25, 1, 0)), HOUR_S);
        assert_eq!(london.offset_s(utc(2012, 10, 28, 0, 59)), HOUR_S);
        assert_eq!(london.offset_s(utc(2012, 10, 28, 1, 0)), 0);
        // 2024: 31 March and 27 October.
        assert_eq!(london.offset_s(utc(2024, 3, 31, 0, 59)), 0);
        assert_eq!(london.offset_s(utc(2024, 3, 31, 1, 0)), HOUR_S);
        assert_eq!(london.offset_s(utc(2024, 10, 27, 0, 59)), HOUR_S);
        assert_eq!(london.offset_s(utc(2024, 10, 27, 1, 0)), 0);
        let berlin = Zone::parse("Europe/Berlin");
        assert_eq!(berlin.offset_s(utc(2024, 7, 1, 12, 0)), 2 * HOUR_S);
        assert_eq!(berlin.offset_s(utc(2024, 1, 1, 12, 0)), HOUR_S);
    }

    #[test]
    fn fixed_offsets_and_unknown_zones() {
        assert_eq!(Zone::parse("Asia/Tokyo").offset_s(0), 9 * HOUR_S);
        assert_eq!(Zone::parse("Asia/Hong_Kong").offset_s(0), 8 * HOUR_S);
        assert_eq!(Zone::parse("+05:30").offset_s(0), 5 * HOUR_S + 1800);
        assert_eq!(Zone::parse("-03:00").offset_s(0), -3 * HOUR_S);
        assert_eq!(Zone::parse("Etc/GMT+5").offset_s(0), -5 * HOUR_S);
        assert_eq!(Zone::parse("Etc/GMT-3").offset_s(0), 3 * HOUR_S);
        let mars = Clock::new("Mars/Olympus_Mons", None);
        assert!(!mars.zone().known());
        assert_eq!(mars.zone().offset_s(1_000), 0);
        assert_eq!(mars.label(), "UTC");
        assert!(mars.note().unwrap().contains("Mars/Olympus_Mons"));
        assert_eq!(Clock::new("UTC", None).note(), None);
    }

    #[test]
    fn clocks_print_local_dates_and_times() {
        // 2024-07-01 13:30:00.250 UTC is 09:30:00.250 in New York (EDT).
        let t = utc(2024, 7, 1, 13, 30) * SECOND_NS + 250_000_000;
        let ny = Clock::new("America/New_York", None);
        assert_eq!(ny.date_time(t), "2024-07-01 09:30:00.250");
        assert_eq!(ny.clock(t), "09:30:00");
        assert_eq!(ny.labelled(t), "2024-07-01 09:30:00.250 America/New_York");
        // LOBSTER: 34 200 s after local midnight of 2012-06-21 is 09:30, already local.
        let lobster = Clock::new("America/New_York", Some("2012-06-21"));
        assert_eq!(lobster.date_time(34_200 * SECOND_NS), "2012-06-21 09:30:00.000");
        assert_eq!(Clock::new("UTC", None).date_time(-1), "1969-12-31 23:59:59.999");
        assert_eq!(human_duration(1_500_000_000), "1.5 s");
        assert_eq!(human_duration(125 * SECOND_NS), "2 min 05 s");
        assert_eq!(human_duration(7_380 * SECOND_NS), "2 h 03 min");
    }
}
