//! The first pass over CSV files: instruments (venue and symbol) in order of first appearance,
//! with the finest decimals of their prices, and which shapes the files are.

use super::dialect::open;
use crate::error::ImportError;
use crate::instruments::Listing;
use crate::number::decimals;
use std::path::PathBuf;

/// What the first pass finds.
pub(crate) struct Scan {
    pub(crate) listing: Listing,
    /// The venues of the files' shapes, in order of first appearance.
    pub(crate) kinds: Vec<&'static str>,
}

/// First pass: instruments in order of appearance and their finest price decimals.
pub(crate) fn scan(files: &[PathBuf]) -> Result<Scan, ImportError> {
    let mut listing = Listing::default();
    let mut kinds: Vec<&'static str> = Vec::new();
    for file in files {
        let (mut lines, dialect) = open(file)?;
        let venue = dialect.venue();
        if !kinds.contains(&venue) {
            kinds.push(venue);
        }
        while lines.next_row()? {
            let f: Vec<&str> = lines.text().split(',').map(str::trim).collect();
            let (sym, prices) = dialect.symbol_and_prices(&lines, &f)?;
            let d = prices.into_iter().map(decimals).max().unwrap_or(0);
            listing.observe(&lines, venue, sym, d, lockstep_sdk::SCALE)?;
        }
    }
    Ok(Scan { listing, kinds })
}

impl Scan {
    /// What the files are, for the tape's source line.
    pub(crate) fn describe(&self) -> &'static str {
        match self.kinds.as_slice() {
            ["binance"] => "Binance depth CSV",
            ["TrueFX"] => "TrueFX ticks",
            ["csv"] => "generic CSV",
            _ => "CSV",
        }
    }
}
