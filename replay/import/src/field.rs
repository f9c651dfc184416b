//! Prices and quantities in fields of text rows, with errors at the row's line.

use crate::error::{ImportError, quoted};
use crate::lines::Lines;
use lockstep_sdk::{Price, Qty};

/// A decimal field with at most 8 places, read by `parse`; refused as `name` at the current
/// line of `lines`.
fn decimal<T>(
    lines: &Lines,
    name: &str,
    text: &str,
    parse: fn(&str) -> Option<T>,
) -> Result<T, ImportError> {
    parse(text).ok_or_else(|| {
        lines.err(format!("{name} {} is not a decimal with at most 8 places", quoted(text)))
    })
}

/// A price field (`name` says which in an error).
pub(crate) fn price(lines: &Lines, name: &str, text: &str) -> Result<Price, ImportError> {
    decimal(lines, name, text, Price::parse)
}

/// A quantity field (`name` says which in an error).
pub(crate) fn qty(lines: &Lines, name: &str, text: &str) -> Result<Qty, ImportError> {
    decimal(lines, name, text, Qty::parse)
}

/// A price field that must be above zero.
pub(crate) fn positive_price(lines: &Lines, name: &str, text: &str) -> Result<Price, ImportError> {
    Price::parse(text).filter(|p| p.0 > 0).ok_or_else(|| {
        lines
            .err(format!("{name} {} is not a positive decimal with at most 8 places", quoted(text)))
    })
}

/// A quantity field that may be zero but not below (a level's absolute size: 0 removes it).
pub(crate) fn unsigned_qty(lines: &Lines, name: &str, text: &str) -> Result<Qty, ImportError> {
    Qty::parse(text).filter(|q| q.0 >= 0).ok_or_else(|| {
        lines.err(format!(
            "{name} {} is not a decimal of 0 or more with at most 8 places",
            quoted(text)
        ))
    })
}
