//! Proleptic Gregorian calendar arithmetic in plain integers: leap years, month lengths, and the
//! day count since 1970-01-01 in both directions (H. Hinnant, "chrono-Compatible Low-Level Date
//! Algorithms", `days_from_civil` / `civil_from_days`). One implementation for the bond
//! strategy's coupon schedule and the harnesses' timestamp parsing and printing; `core` only, so
//! it runs the same in a Wasm guest. Years are `i32`, as in most date libraries.

/// Days in a 400-year era of the Gregorian calendar.
const ERA_DAYS: i64 = 146_097;
/// Days from 0000-03-01 (the start of era 0, years counted from March) to 1970-01-01.
const EPOCH_SHIFT: i64 = 719_468;

/// Whether `year` is a leap year: divisible by 4, except centuries not divisible by 400.
#[inline]
pub const fn is_leap_year(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

/// Days in `month` of `year`, for `month` in 1..=12 (any other month reads as 31: check it
/// first, or use [`is_valid_date`]).
#[inline]
pub const fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Whether `year`-`month`-`day` is a date: `month` in 1..=12, `day` within the month.
#[inline]
pub const fn is_valid_date(year: i32, month: u32, day: u32) -> bool {
    1 <= month && month <= 12 && day >= 1 && day <= days_in_month(year, month)
}

/// Days from 1970-01-01 to the date `year`-`month`-`day` (negative before it). Exact for every
/// valid date, and never overflows; the date is not checked (see [`is_valid_date`]).
#[inline]
pub const fn days_from_civil(year: i32, month: u32, day: u32) -> i64 {
    let m = month as i64;
    // Years start in March, so the leap day is the last day of the year.
    let y = year as i64 - (month <= 2) as i64;
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * ERA_DAYS + doe - EPOCH_SHIFT
}

/// The date `days` after 1970-01-01 as `(year, month 1..=12, day 1..=31)`; `None` when its
/// year is outside `i32` (about 7.8e11 days either side), so that it round-trips through
/// [`days_from_civil`].
#[inline]
pub const fn civil_from_days(days: i64) -> Option<(i32, u32, u32)> {
    let Some(z) = days.checked_add(EPOCH_SHIFT) else { return None };
    let era = z.div_euclid(ERA_DAYS);
    let doe = z - era * ERA_DAYS;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + (m <= 2) as i64;
    if y < i32::MIN as i64 || y > i32::MAX as i64 { None } else { Some((y as i32, m, d)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leap_years_and_month_lengths() {
        assert!(is_leap_year(2000) && is_leap_year(2024) && is_leap_year(-4) && is_leap_year(0));
        assert!(!is_leap_year(1900) && !is_leap_year(2023) && !is_leap_year(2100));
        assert_eq!(days_in_month(2024, 2), 29);
        assert_eq!(days_in_month(1900, 2), 28);
        assert_eq!(days_in_month(2023, 4), 30);
        assert_eq!(days_in_month(2023, 12), 31);
        assert!(is_valid_date(2024, 2, 29) && is_valid_date(2023, 12, 31));
        assert!(!is_valid_date(2023, 2, 29) && !is_valid_date(2023, 4, 31));
        assert!(!is_valid_date(2023, 0, 1) && !is_valid_date(2023, 13, 1));
        assert!(!is_valid_date(2023, 1, 0) && !is_valid_date(2023, 1, 32));
    }

    #[test]
    fn known_dates() {
        for (y, m, d, days) in [
            (1970, 1, 1, 0),
            (1969, 12, 31, -1),
            (2000, 2, 29, 11_016),
            (2000, 3, 1, 11_017),
            (2024, 8, 8, 19_943),
            (2024, 12, 31, 20_088),
            (1, 1, 1, -719_162),
            (9999, 12, 31, 2_932_896),
            (0, 3, 1, -719_468),
            (-1, 12, 31, -719_529),
            (1677, 9, 21, -106_752),
            (2262, 4, 11, 106_751),
        ] {
            assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
            assert_eq!(civil_from_days(days), Some((y, m, d)), "{days}");
        }
    }

    #[test]
    fn round_trip_and_consecutive_days() {
        let mut prev = civil_from_days(-800_000).unwrap();
        for days in -800_000i64..=3_000_000 {
            let (y, m, d) = civil_from_days(days).unwrap();
            assert!(is_valid_date(y, m, d), "{days}");
            assert_eq!(days_from_civil(y, m, d), days);
            if days > -800_000 {
                // The day after `prev`: next day of the month, or the 1st of the next month.
                let next = if prev.2 < days_in_month(prev.0, prev.1) {
                    (prev.0, prev.1, prev.2 + 1)
                } else if prev.1 < 12 {
                    (prev.0, prev.1 + 1, 1)
                } else {
                    (prev.0 + 1, 1, 1)
                };
                assert_eq!((y, m, d), next, "{days}");
            }
            prev = (y, m, d);
        }
    }

    #[test]
    fn the_i32_range_and_beyond() {
        for y in [i32::MIN, i32::MAX] {
            for (m, d) in [(1, 1), (2, 28), (12, 31)] {
                let days = days_from_civil(y, m, d);
                assert_eq!(civil_from_days(days), Some((y, m, d)));
            }
        }
        let last = days_from_civil(i32::MAX, 12, 31);
        let first = days_from_civil(i32::MIN, 1, 1);
        assert_eq!((civil_from_days(last + 1), civil_from_days(first - 1)), (None, None));
        assert_eq!((civil_from_days(i64::MAX), civil_from_days(i64::MIN)), (None, None));
    }
}
