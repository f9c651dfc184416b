//! Unit newtypes shared by host and guest.
//!
//! Prices and quantities are exact fixed-point integers with [`SCALE`] decimal places, so they
//! cross the ABI as plain little-endian `i64` and convert losslessly to `rust_decimal::Decimal`.
//! Time is integer nanoseconds. None of these types ever goes through `f64`.

use core::fmt;
use core::ops::{Add, AddAssign, Neg, Sub, SubAssign};
use rust_decimal::Decimal;

/// Number of decimal places in every [`Price`] and [`Qty`] mantissa (1e-8 units).
pub const SCALE: u32 = 8;
/// `10^SCALE`: the mantissa of one whole unit.
pub const ONE: i64 = 100_000_000;

macro_rules! fixed_point {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[repr(transparent)]
        pub struct $name(pub i64);

        impl $name {
            /// Zero.
            pub const ZERO: Self = Self(0);
            /// The raw mantissa in units of 1e-8.
            #[inline]
            pub const fn raw(self) -> i64 {
                self.0
            }
            /// A whole number of units (e.g. `100` means 100.0).
            ///
            /// # Panics
            /// Panics if the result does not fit in `i64` (more than about 9.2e10 units).
            #[inline]
            pub const fn from_units(units: i64) -> Self {
                match units.checked_mul(ONE) {
                    Some(v) => Self(v),
                    None => panic!("fixed-point overflow"),
                }
            }
            /// The exact decimal value.
            #[inline]
            pub fn to_decimal(self) -> Decimal {
                Decimal::new(self.0, SCALE)
            }
            /// From a decimal, rounded half away from zero to 8 places.
            ///
            /// Returns `None` when the value does not fit in the fixed-point range.
            pub fn from_decimal(d: Decimal) -> Option<Self> {
                let mut r = d.round_dp_with_strategy(
                    SCALE,
                    rust_decimal::RoundingStrategy::MidpointAwayFromZero,
                );
                r.rescale(SCALE);
                if r.scale() != SCALE {
                    return None;
                }
                let m = r.mantissa();
                i64::try_from(m).ok().map(Self)
            }
            /// Parses decimal text such as `"579.40"` or `"-0.00012"` exactly, without `f64`.
            ///
            /// Returns `None` for malformed text, more than 8 decimal places, or overflow.
            pub fn parse(text: &str) -> Option<Self> {
                crate::units::parse_fixed(text).map(Self)
            }
            /// The value as a float: one correctly rounded conversion and one division, the
            /// same bits on every IEEE-754 machine. For models that need floats internally.
            #[inline]
            pub fn to_f64(self) -> f64 {
                self.0 as f64 / 1e8
            }
            /// The absolute value (wrapping: the absolute value of the minimum is itself).
            #[inline]
            pub const fn abs(self) -> Self {
                Self(self.0.wrapping_abs())
            }
            /// Checked addition.
            #[inline]
            pub const fn checked_add(self, rhs: Self) -> Option<Self> {
                match self.0.checked_add(rhs.0) {
                    Some(v) => Some(Self(v)),
                    None => None,
                }
            }
            /// Checked subtraction.
            #[inline]
            pub const fn checked_sub(self, rhs: Self) -> Option<Self> {
                match self.0.checked_sub(rhs.0) {
                    Some(v) => Some(Self(v)),
                    None => None,
                }
            }
            /// Saturating addition.
            #[inline]
            pub const fn saturating_add(self, rhs: Self) -> Self {
                Self(self.0.saturating_add(rhs.0))
            }
            /// Saturating subtraction.
            #[inline]
            pub const fn saturating_sub(self, rhs: Self) -> Self {
                Self(self.0.saturating_sub(rhs.0))
            }
        }

        // The operators wrap on overflow, explicitly: a strategy must compute the same bits
        // natively in a debug build (where `+` on `i64` would panic) and as Wasm in a release
        // build (where it wraps). Use the checked or saturating methods to detect overflow.

        impl Add for $name {
            type Output = Self;
            #[inline]
            fn add(self, rhs: Self) -> Self {
                Self(self.0.wrapping_add(rhs.0))
            }
        }
        impl Sub for $name {
            type Output = Self;
            #[inline]
            fn sub(self, rhs: Self) -> Self {
                Self(self.0.wrapping_sub(rhs.0))
            }
        }
        impl AddAssign for $name {
            #[inline]
            fn add_assign(&mut self, rhs: Self) {
                self.0 = self.0.wrapping_add(rhs.0);
            }
        }
        impl SubAssign for $name {
            #[inline]
            fn sub_assign(&mut self, rhs: Self) {
                self.0 = self.0.wrapping_sub(rhs.0);
            }
        }
        impl Neg for $name {
            type Output = Self;
            #[inline]
            fn neg(self) -> Self {
                Self(self.0.wrapping_neg())
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.to_decimal().normalize(), f)
            }
        }
    };
}

fixed_point!(
    /// A price as a fixed-point mantissa with 8 decimal places (`Price(57_940_000_000)` is 579.40).
    Price
);
fixed_point!(
    /// A quantity as a fixed-point mantissa with 8 decimal places (`Qty(100_000_000)` is 1.0).
    Qty
);

/// A point in time or a duration in integer nanoseconds. Time enters the engine only as data.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(transparent)]
pub struct Nanos(pub i64);

impl Nanos {
    /// Zero nanoseconds.
    pub const ZERO: Self = Self(0);
    /// One second.
    pub const SECOND: Self = Self(1_000_000_000);
    /// The raw count of nanoseconds.
    #[inline]
    pub const fn raw(self) -> i64 {
        self.0
    }
    /// Saturating addition.
    #[inline]
    pub const fn saturating_add(self, rhs: Self) -> Self {
        Self(self.0.saturating_add(rhs.0))
    }
}

// Wrapping, like the fixed-point operators: the same bits in every build.
impl Add for Nanos {
    type Output = Self;
    #[inline]
    fn add(self, rhs: Self) -> Self {
        Self(self.0.wrapping_add(rhs.0))
    }
}
impl Sub for Nanos {
    type Output = Self;
    #[inline]
    fn sub(self, rhs: Self) -> Self {
        Self(self.0.wrapping_sub(rhs.0))
    }
}
impl fmt::Display for Nanos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}ns", self.0)
    }
}

/// Order or aggressor side.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum Side {
    /// Buy side (bid).
    Buy = 1,
    /// Sell side (ask).
    Sell = 2,
}

impl Side {
    /// The ABI byte for this side.
    #[inline]
    pub const fn to_u8(self) -> u8 {
        self as u8
    }
    /// Decodes the ABI byte; `None` for anything but 1 or 2.
    #[inline]
    pub const fn from_u8(b: u8) -> Option<Self> {
        match b {
            1 => Some(Side::Buy),
            2 => Some(Side::Sell),
            _ => None,
        }
    }
    /// The other side.
    #[inline]
    pub const fn opposite(self) -> Self {
        match self {
            Side::Buy => Side::Sell,
            Side::Sell => Side::Buy,
        }
    }
    /// `+1` for buys, `-1` for sells.
    #[inline]
    pub const fn sign(self) -> i64 {
        match self {
            Side::Buy => 1,
            Side::Sell => -1,
        }
    }
}

/// Instrument identifier, assigned by the tape or the embedding host.
pub type InstrumentId = u16;
/// Client order identifier, chosen by the strategy and echoed back in acks, fills and rejects.
pub type OrderId = u64;

/// Parses a decimal string into a mantissa with [`SCALE`] places. No `f64` involved.
pub(crate) fn parse_fixed(text: &str) -> Option<i64> {
    let t = text.trim();
    let (neg, digits) = match t.as_bytes().first()? {
        b'-' => (true, &t[1..]),
        b'+' => (false, &t[1..]),
        _ => (false, t),
    };
    let (int_part, frac_part) = match digits.split_once('.') {
        Some((i, f)) => (i, f),
        None => (digits, ""),
    };
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    // Trailing zeros beyond 8 places are harmless (e.g. "0.1000000000").
    let frac_trimmed = frac_part.trim_end_matches('0');
    if frac_trimmed.len() > SCALE as usize {
        return None;
    }
    let mut value: i64 = 0;
    for b in int_part.bytes() {
        if !b.is_ascii_digit() {
            return None;
        }
        value = value.checked_mul(10)?.checked_add(i64::from(b - b'0'))?;
    }
    if !frac_part.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    value = value.checked_mul(ONE)?;
    let mut frac: i64 = 0;
    let mut places = 0;
    for b in frac_trimmed.bytes() {
        frac = frac * 10 + i64::from(b - b'0');
        places += 1;
    }
    while places < SCALE {
        frac *= 10;
        places += 1;
    }
    value = value.checked_add(frac)?;
    Some(if neg { -value } else { value })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs in the native debug build of the tests, where plain `i64` arithmetic would panic:
    /// the operators must give the bits a Wasm release build gives.
    #[test]
    fn operators_wrap_in_every_build_and_checked_methods_detect_overflow() {
        assert_eq!(Price(i64::MAX) + Price(1), Price(i64::MIN));
        assert_eq!(Qty(i64::MIN) - Qty(1), Qty(i64::MAX));
        assert_eq!(-Price(i64::MIN), Price(i64::MIN));
        assert_eq!(Price(i64::MIN).abs(), Price(i64::MIN));
        let mut q = Qty(i64::MAX);
        q += Qty(2);
        assert_eq!(q, Qty(i64::MIN + 1));
        q -= Qty(2);
        assert_eq!(q, Qty(i64::MAX));
        assert_eq!(Nanos(i64::MAX) + Nanos(1), Nanos(i64::MIN));
        assert_eq!(Price(i64::MAX).checked_add(Price(1)), None);
        assert_eq!(Qty(i64::MIN).checked_sub(Qty(1)), None);
        assert_eq!(Qty(i64::MAX).saturating_add(Qty(5)), Qty(i64::MAX));
        assert_eq!(Price(i64::MIN).saturating_sub(Price(5)), Price(i64::MIN));
    }

    #[test]
    fn parses_exactly() {
        assert_eq!(Price::parse("579.40"), Some(Price(57_940_000_000)));
        assert_eq!(Price::parse("-0.00000001"), Some(Price(-1)));
        assert_eq!(Qty::parse("100"), Some(Qty(10_000_000_000)));
        assert_eq!(Qty::parse("0.100000000000"), Some(Qty(10_000_000)));
        assert_eq!(Price::parse("0.000000001"), None);
        assert_eq!(Price::parse("1e5"), None);
        assert_eq!(Price::parse(""), None);
        assert_eq!(Price::parse("."), None);
        assert_eq!(Price::parse("99999999999999"), None);
    }

    #[test]
    fn decimal_round_trip() {
        let p = Price(57_940_000_123);
        assert_eq!(Price::from_decimal(p.to_decimal()), Some(p));
        assert_eq!(p.to_string(), "579.40000123");
        let d = Decimal::new(123_456_789_015, 11); // 1.23456789015
        assert_eq!(Price::from_decimal(d), Some(Price(123_456_789)));
    }
}
