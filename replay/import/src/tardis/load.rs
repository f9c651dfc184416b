//! The first pass over Tardis files: the instruments (`exchange:symbol`) in order of first
//! appearance, with the finest decimals of their prices.

use super::record::{open, price_cols, split_fields};
use crate::error::ImportError;
use crate::instruments::Listing;
use crate::number::decimals;
use std::path::PathBuf;

/// First pass: instruments (in order of first appearance) and the finest price decimals.
pub(crate) fn scan(paths: &[PathBuf]) -> Result<Listing, ImportError> {
    let mut listing = Listing::default();
    let mut fields = Vec::new();
    for p in paths {
        let (mut lines, kind, cols) = open(p)?;
        let pcols = price_cols(kind, &cols);
        while lines.next_line()? {
            let text = lines.text();
            split_fields(text, &mut fields);
            let get = |i: usize| fields.get(i).map(|&(a, b)| text[a..b].trim());
            let (Some(ex), Some(sym)) = (get(cols.exchange), get(cols.symbol)) else {
                return Err(lines.err("row lacks the exchange or symbol field"));
            };
            let d = pcols.iter().filter_map(|&i| get(i)).map(decimals).max().unwrap_or(0);
            listing.observe(&lines, ex, sym, d, lockstep_sdk::SCALE)?;
        }
    }
    Ok(listing)
}
