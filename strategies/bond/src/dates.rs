//! Civil dates, the 30/360 day count and the coupon schedule, in plain integers. The calendar
//! arithmetic itself (leap years, month lengths, days since 1970) is the SDK's.

use lockstep_sdk::{civil_from_days, days_from_civil, days_in_month};

/// A proleptic Gregorian calendar date.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date {
    /// Year.
    pub y: i32,
    /// Month, 1..=12.
    pub m: u32,
    /// Day of month, 1..=31.
    pub d: u32,
}

impl Date {
    /// A valid date, or `None`.
    pub fn new(y: i32, m: u32, d: u32) -> Option<Self> {
        ((1..=9999).contains(&y) && (1..=12).contains(&m) && d >= 1 && d <= days_in_month(y, m))
            .then_some(Self { y, m, d })
    }

    /// Parses `YYYY-MM-DD`.
    pub fn parse(s: &str) -> Option<Self> {
        let b = s.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        let num = |r: core::ops::Range<usize>| -> Option<u32> {
            b[r].iter()
                .try_fold(0u32, |acc, c| c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0')))
        };
        Self::new(num(0..4)? as i32, num(5..7)?, num(8..10)?)
    }

    /// Days since 1970-01-01 ([`lockstep_sdk::days_from_civil`]).
    pub fn to_days(self) -> i64 {
        days_from_civil(self.y, self.m, self.d)
    }

    /// The date `days` after 1970-01-01 ([`lockstep_sdk::civil_from_days`]); `None` outside
    /// years 1..=9999.
    pub fn from_days(days: i64) -> Option<Self> {
        let (y, m, d) = civil_from_days(days)?;
        Self::new(y, m, d)
    }

    /// Whether this is the last day of its month.
    pub fn is_month_end(self) -> bool {
        self.d == days_in_month(self.y, self.m)
    }

    /// This date moved back by `months`; the day is clamped to the month's length, or set to
    /// the month's end when `month_end` is true.
    pub fn minus_months(self, months: u32, month_end: bool) -> Option<Self> {
        let total = i64::from(self.y) * 12 + i64::from(self.m) - 1 - i64::from(months);
        let y = i32::try_from(total.div_euclid(12)).ok()?;
        let m = total.rem_euclid(12) as u32 + 1;
        if !(1..=9999).contains(&y) {
            return None;
        }
        let dim = days_in_month(y, m);
        Self::new(y, m, if month_end { dim } else { self.d.min(dim) })
    }
}

/// Days from `a` to `b` under 30/360 Bond Basis (ISDA 2006 Definitions §4.16(f), "30/360" or
/// "Bond Basis"): `D1 = 31 → 30`; `D2 = 31 → 30` when `D1` is then 30.
pub fn days_30_360(a: Date, b: Date) -> i64 {
    let d1 = if a.d == 31 { 30 } else { a.d };
    let d2 = if b.d == 31 && d1 == 30 { 30 } else { b.d };
    360 * (i64::from(b.y) - i64::from(a.y))
        + 30 * (i64::from(b.m) - i64::from(a.m))
        + (i64::from(d2) - i64::from(d1))
}

/// Where a settlement date sits in the coupon schedule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Position {
    /// Coupons still to be paid, the next one included (≥ 1).
    pub coupons: u32,
    /// Previous coupon date (or the period start before the first coupon).
    pub previous: Date,
    /// Next coupon date (> settlement).
    pub next: Date,
    /// 30/360 days from the previous coupon date to settlement.
    pub accrued_days: i64,
}

/// Locates `settle` in the schedule of coupons every `12/freq` months back from `maturity`.
/// `None` at or after maturity.
pub fn locate(settle: Date, maturity: Date, freq: u32) -> Option<Position> {
    if settle >= maturity {
        return None;
    }
    let step = 12 / freq;
    let eom = maturity.is_month_end();
    let date = |k: u32| maturity.minus_months(k.checked_mul(step)?, eom);
    let months = (maturity.y - settle.y) as i64 * 12 + i64::from(maturity.m) - i64::from(settle.m);
    let mut k = u32::try_from(months / i64::from(step)).ok()?;
    // date(k) is the next coupon: the last one strictly after settlement.
    while k > 0 && date(k)? <= settle {
        k -= 1;
    }
    while date(k + 1)? > settle {
        k += 1;
    }
    let (next, previous) = (date(k)?, date(k + 1)?);
    Some(Position { coupons: k + 1, previous, next, accrued_days: days_30_360(previous, settle) })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        Date::parse(s).unwrap()
    }

    #[test]
    fn parses_and_counts_days() {
        assert_eq!(d("2025-01-15"), Date { y: 2025, m: 1, d: 15 });
        for bad in ["2025-02-29", "2025-13-01", "2025-1-15", "20250115", "2025-01-1x", "0000-01-01"]
        {
            assert_eq!(Date::parse(bad), None, "{bad}");
        }
        assert_eq!(d("1970-01-01").to_days(), 0);
        assert_eq!(d("2000-03-01").to_days(), 11_017);
        assert_eq!(d("2024-08-08").to_days(), 19_943);
        for days in [-719_162, -1, 0, 59, 11_016, 19_943, 2_932_896] {
            assert_eq!(Date::from_days(days).unwrap().to_days(), days);
        }
        assert_eq!(Date::from_days(-719_163), None);
        assert_eq!(Date::from_days(2_932_897), None);
        assert_eq!((Date::from_days(i64::MAX), Date::from_days(i64::MIN)), (None, None));
        assert_eq!(Date::from_days(11_016), Some(d("2000-02-29")));
        assert_eq!(d("2024-12-31").to_days(), 20_088);
    }

    #[test]
    fn thirty_360_bond_basis() {
        assert_eq!(days_30_360(d("2007-11-15"), d("2008-02-15")), 90);
        assert_eq!(days_30_360(d("2024-01-31"), d("2024-03-31")), 60);
        assert_eq!(days_30_360(d("2024-01-30"), d("2024-03-31")), 60);
        assert_eq!(days_30_360(d("2024-01-29"), d("2024-03-31")), 62);
        assert_eq!(days_30_360(d("2024-02-29"), d("2024-08-29")), 180);
        assert_eq!(days_30_360(d("2024-02-28"), d("2024-03-01")), 3);
    }

    #[test]
    fn months_back_clamp_or_stick_to_month_end() {
        assert_eq!(d("2030-08-31").minus_months(6, false), Some(d("2030-02-28")));
        assert_eq!(d("2030-06-30").minus_months(6, true), Some(d("2029-12-31")));
        assert_eq!(d("2030-01-15").minus_months(1, false), Some(d("2029-12-15")));
    }

    #[test]
    fn locates_settlement_between_coupons() {
        let p = locate(d("2008-02-15"), d("2017-11-15"), 2).unwrap();
        assert_eq!((p.previous, p.next, p.accrued_days), (d("2007-11-15"), d("2008-05-15"), 90));
        assert_eq!(p.coupons, 20);
        // On a coupon date the coupon just paid is the previous one.
        let p = locate(d("2008-01-01"), d("2016-01-01"), 2).unwrap();
        assert_eq!(
            (p.previous, p.next, p.accrued_days, p.coupons),
            (d("2008-01-01"), d("2008-07-01"), 0, 16)
        );
        let p = locate(d("2030-06-14"), d("2030-06-15"), 4).unwrap();
        assert_eq!((p.coupons, p.previous), (1, d("2030-03-15")));
        assert_eq!(locate(d("2030-06-15"), d("2030-06-15"), 2), None);
        let p = locate(d("2025-01-15"), d("2030-12-31"), 12).unwrap();
        assert_eq!((p.previous, p.next, p.coupons), (d("2024-12-31"), d("2025-01-31"), 72));
    }
}
