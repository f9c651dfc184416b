//! Strategy parameters: UTF-8 `key=value` pairs separated by `;` or newlines.
//!
//! Text is language-neutral and readable on a command line (`--param gamma=0.1`). Numbers are
//! parsed from text exactly (`Decimal`, integers) or with Rust's correctly rounded `f64` parser,
//! so the same text gives the same bits on every machine.

use crate::units::{InstrumentId, Nanos, Price, Qty};
use core::fmt;
use core::str::FromStr;
use rust_decimal::Decimal;

/// A parameter that is missing, malformed or out of range.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParamError {
    /// A required key is absent.
    Missing {
        /// The key.
        key: String,
    },
    /// The value does not parse as the expected type.
    Malformed {
        /// The key.
        key: String,
        /// The text given.
        value: String,
        /// What was expected, e.g. "a decimal number".
        expected: &'static str,
    },
    /// The value parsed but is outside the allowed range.
    OutOfRange {
        /// The key.
        key: String,
        /// The text given.
        value: String,
        /// The rule it broke, e.g. "must be > 0".
        rule: &'static str,
    },
    /// A key the strategy does not know (usually a typo).
    Unknown {
        /// The key.
        key: String,
        /// The keys the strategy accepts.
        known: &'static [&'static str],
    },
    /// A segment without `=`.
    Syntax {
        /// The offending segment.
        segment: String,
    },
}

impl fmt::Display for ParamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamError::Missing { key } => {
                write!(f, "parameter `{key}` is required: pass {key}=VALUE")
            }
            ParamError::Malformed { key, value, expected } => {
                write!(f, "parameter `{key}`={value:?} is not {expected}")
            }
            ParamError::OutOfRange { key, value, rule } => {
                write!(f, "parameter `{key}`={value} is out of range: {rule}")
            }
            ParamError::Unknown { key, known } => {
                write!(f, "unknown parameter `{key}`; this strategy accepts: {}", known.join(", "))
            }
            ParamError::Syntax { segment } => {
                write!(f, "parameter segment {segment:?} is not of the form key=value")
            }
        }
    }
}

impl std::error::Error for ParamError {}

/// A borrowed view of a parameter string.
#[derive(Clone, Copy, Debug)]
pub struct Params<'a> {
    text: &'a str,
}

impl<'a> Params<'a> {
    /// Wraps parameter text (`"gamma=0.1; k=1.5"`).
    pub fn new(text: &'a str) -> Self {
        Self { text }
    }

    /// The raw text.
    pub fn as_str(&self) -> &'a str {
        self.text
    }

    /// Iterates `(key, value)` pairs in order, trimmed; empty segments are skipped.
    pub fn pairs(&self) -> impl Iterator<Item = Result<(&'a str, &'a str), ParamError>> + 'a {
        self.text.split([';', '\n']).map(str::trim).filter(|s| !s.is_empty()).map(|seg| {
            match seg.split_once('=') {
                Some((k, v)) => Ok((k.trim(), v.trim())),
                None => Err(ParamError::Syntax { segment: seg.to_owned() }),
            }
        })
    }

    /// Checks every key is one of `known`.
    ///
    /// # Errors
    /// [`ParamError::Unknown`] for the first unknown key, [`ParamError::Syntax`] for bad text.
    pub fn check_known(&self, known: &'static [&'static str]) -> Result<(), ParamError> {
        for p in self.pairs() {
            let (k, _) = p?;
            if !known.contains(&k) {
                return Err(ParamError::Unknown { key: k.to_owned(), known });
            }
        }
        Ok(())
    }

    /// The last value given for `key`, if any.
    pub fn get(&self, key: &str) -> Option<&'a str> {
        self.pairs().filter_map(Result::ok).filter(|(k, _)| *k == key).map(|(_, v)| v).last()
    }

    fn parse_with<T>(
        &self,
        key: &str,
        expected: &'static str,
        parse: impl Fn(&str) -> Option<T>,
    ) -> Result<Option<T>, ParamError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => parse(v).map(Some).ok_or_else(|| ParamError::Malformed {
                key: key.to_owned(),
                value: v.to_owned(),
                expected,
            }),
        }
    }

    /// An exact decimal, or `default` when absent.
    ///
    /// # Errors
    /// [`ParamError::Malformed`] if present but not a decimal number.
    pub fn decimal_or(&self, key: &str, default: Decimal) -> Result<Decimal, ParamError> {
        Ok(self
            .parse_with(key, "a decimal number", |v| Decimal::from_str(v).ok())?
            .unwrap_or(default))
    }

    /// A float parsed from text (correctly rounded), or `default` when absent.
    ///
    /// # Errors
    /// [`ParamError::Malformed`] if present but not a finite number.
    pub fn f64_or(&self, key: &str, default: f64) -> Result<f64, ParamError> {
        Ok(self
            .parse_with(key, "a finite number", |v| {
                v.parse::<f64>().ok().filter(|x| x.is_finite())
            })?
            .unwrap_or(default))
    }

    /// An integer, or `default` when absent.
    ///
    /// # Errors
    /// [`ParamError::Malformed`] if present but not an integer.
    pub fn i64_or(&self, key: &str, default: i64) -> Result<i64, ParamError> {
        Ok(self.parse_with(key, "an integer", |v| v.parse::<i64>().ok())?.unwrap_or(default))
    }

    /// An instrument id (`0..=65535`), or `default` when absent.
    ///
    /// # Errors
    /// [`ParamError::Malformed`] if not an integer, [`ParamError::OutOfRange`] if outside `u16`.
    pub fn instrument_or(
        &self,
        key: &str,
        default: InstrumentId,
    ) -> Result<InstrumentId, ParamError> {
        let v = self.i64_or(key, i64::from(default))?;
        InstrumentId::try_from(v)
            .map_err(|_| self.out_of_range(key, "must be an instrument id in 0..=65535"))
    }

    /// A fixed-point price, or `default` when absent.
    ///
    /// # Errors
    /// [`ParamError::Malformed`] if present but not a decimal with at most 8 places.
    pub fn price_or(&self, key: &str, default: Price) -> Result<Price, ParamError> {
        Ok(self
            .parse_with(key, "a price with at most 8 decimal places", Price::parse)?
            .unwrap_or(default))
    }

    /// A fixed-point quantity, or `default` when absent.
    ///
    /// # Errors
    /// [`ParamError::Malformed`] if present but not a decimal with at most 8 places.
    pub fn qty_or(&self, key: &str, default: Qty) -> Result<Qty, ParamError> {
        Ok(self
            .parse_with(key, "a quantity with at most 8 decimal places", Qty::parse)?
            .unwrap_or(default))
    }

    /// A duration in integer nanoseconds, or `default` when absent.
    ///
    /// # Errors
    /// [`ParamError::Malformed`] if present but not an integer.
    pub fn nanos_or(&self, key: &str, default: Nanos) -> Result<Nanos, ParamError> {
        Ok(Nanos(self.i64_or(key, default.0)?))
    }

    /// Builds an [`ParamError::OutOfRange`] for `key` (a helper for validation in `init`).
    pub fn out_of_range(&self, key: &str, rule: &'static str) -> ParamError {
        ParamError::OutOfRange {
            key: key.to_owned(),
            value: self.get(key).unwrap_or("<default>").to_owned(),
            rule,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_pairs_and_types() {
        let p = Params::new("gamma=0.1; k = 1.5\nsteps=200;tick=0.01");
        assert_eq!(p.get("k"), Some("1.5"));
        assert_eq!(p.f64_or("gamma", 0.0), Ok(0.1));
        assert_eq!(p.i64_or("steps", 0), Ok(200));
        assert_eq!(p.price_or("tick", Price(0)), Ok(Price(1_000_000)));
        assert_eq!(p.decimal_or("missing", Decimal::ONE), Ok(Decimal::ONE));
        assert!(p.check_known(&["gamma", "k", "steps", "tick"]).is_ok());
        assert!(matches!(p.check_known(&["gamma"]), Err(ParamError::Unknown { .. })));
        assert_eq!(p.instrument_or("steps", 0), Ok(200));
        assert_eq!(p.instrument_or("missing", 7), Ok(7));
        let big = Params::new("instrument=70000");
        assert!(matches!(big.instrument_or("instrument", 0), Err(ParamError::OutOfRange { .. })));
    }

    #[test]
    fn malformed_values_name_the_key() {
        let p = Params::new("steps=abc");
        let e = p.i64_or("steps", 1).unwrap_err();
        assert_eq!(e.to_string(), "parameter `steps`=\"abc\" is not an integer");
        assert!(matches!(Params::new("oops").check_known(&[]), Err(ParamError::Syntax { .. })));
        assert!(Params::new("x=inf").f64_or("x", 0.0).is_err());
    }
}
