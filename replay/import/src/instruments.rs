//! The instruments a first pass finds in text rows, in order of first appearance, each with the
//! most decimal places among its prices (its tick is ten to the minus those) and among its
//! quantities (its lot).

use crate::error::ImportError;
use crate::lines::Lines;
use crate::spec::implied;
use crate::tick::tick_for;
use lockstep_sdk::Qty;
use lockstep_sim::{InstrumentInfo, MAX_INSTRUMENTS};
use std::collections::BTreeMap;

/// Instruments by venue and symbol, in order of first appearance.
#[derive(Debug, Default)]
pub(crate) struct Listing {
    /// Position in `list` by venue, then symbol.
    index: BTreeMap<String, BTreeMap<String, usize>>,
    /// Venue, symbol, and the most decimal places among the instrument's prices and among its
    /// quantities.
    list: Vec<(String, String, u32, u32)>,
}

impl Listing {
    /// Takes a row of `symbol` on `venue` whose prices have at most `decimals` places and
    /// quantities at most `qty_decimals` (8, the tape's finest, where the format's quantities
    /// are not looked at). An instrument beyond the most a tape can hold is refused at the
    /// row's line.
    pub(crate) fn observe(
        &mut self,
        lines: &Lines,
        venue: &str,
        symbol: &str,
        decimals: u32,
        qty_decimals: u32,
    ) -> Result<(), ImportError> {
        if let Some(&i) = self.index.get(venue).and_then(|s| s.get(symbol)) {
            self.list[i].2 = self.list[i].2.max(decimals);
            self.list[i].3 = self.list[i].3.max(qty_decimals);
            return Ok(());
        }
        if self.list.len() >= MAX_INSTRUMENTS {
            return Err(lines.err(format!(
                "more than {MAX_INSTRUMENTS} instruments, the most a tape can hold; split the \
                 input"
            )));
        }
        let at = self.list.len();
        self.index.entry(venue.to_owned()).or_default().insert(symbol.to_owned(), at);
        self.list.push((venue.to_owned(), symbol.to_owned(), decimals, qty_decimals));
        Ok(())
    }

    /// Whether no row named an instrument.
    pub(crate) fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// How many instruments there are.
    pub(crate) fn len(&self) -> usize {
        self.list.len()
    }

    /// The tape id of `symbol` on `venue`, if a row named it.
    pub(crate) fn id(&self, venue: &str, symbol: &str) -> Option<u16> {
        self.list.iter().position(|(v, s, ..)| v == venue && s == symbol).map(|i| i as u16)
    }

    /// The instruments as the tape header lists them: the tick and lot from the decimals,
    /// the rest of the spec as the venue and symbol imply it ([`implied`]).
    pub(crate) fn infos(&self) -> Vec<InstrumentInfo> {
        self.list
            .iter()
            .enumerate()
            .map(|(i, (venue, symbol, d, qd))| {
                let mut ins =
                    InstrumentInfo::spot(i as u16, symbol, venue, tick_for(*d), Qty(1), "", "");
                ins.price_scale = *d;
                implied(venue, symbol, *qd, &mut ins);
                ins
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::any_lines;
    use lockstep_sdk::Price;

    #[test]
    fn instruments_in_order_of_appearance_with_their_finest_decimals() {
        let l = any_lines();
        let mut s = Listing::default();
        assert!(s.is_empty());
        s.observe(&l, "x", "B", 2, 0).unwrap();
        s.observe(&l, "x", "A", 1, 0).unwrap();
        s.observe(&l, "y", "B", 0, 0).unwrap();
        s.observe(&l, "x", "B", 4, 0).unwrap();
        s.observe(&l, "x", "B", 3, 0).unwrap();
        assert_eq!(
            (s.len(), s.id("x", "A"), s.id("y", "B"), s.id("y", "A")),
            (3, Some(1), Some(2), None)
        );
        let infos = s.infos();
        let got: Vec<(&str, &str, Price, u32)> = infos
            .iter()
            .map(|i| (i.venue.as_str(), i.symbol.as_str(), i.tick_size, i.price_scale))
            .collect();
        assert_eq!(
            got,
            [
                ("x", "B", Price(10_000), 4),
                ("x", "A", Price(10_000_000), 1),
                ("y", "B", Price(100_000_000), 0)
            ]
        );
    }

    #[test]
    fn more_instruments_than_a_tape_holds_are_refused() {
        let l = any_lines();
        let mut s = Listing::default();
        for i in 0..MAX_INSTRUMENTS {
            s.observe(&l, "v", &i.to_string(), 0, 0).unwrap();
        }
        s.observe(&l, "v", "0", 0, 0).unwrap();
        let e = s.observe(&l, "v", "new", 0, 0).unwrap_err().to_string();
        assert!(
            e.ends_with("more than 65536 instruments, the most a tape can hold; split the input"),
            "{e}"
        );
    }
}
