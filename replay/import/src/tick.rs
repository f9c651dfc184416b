//! Tick sizes: how each instrument's was chosen, and the two ways of inferring one from prices
//! (their greatest common divisor, or ten to the minus their most decimal places).

use lockstep_sdk::Price;
use lockstep_sim::InstrumentInfo;
use std::fmt;

/// How an instrument's tick size was chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TickSource {
    /// Given by the user (`--tick`).
    Given,
    /// Inferred as the greatest common divisor of the instrument's prices (see
    /// [`TickChoice::prices`]).
    Inferred,
    /// From an instrument definition record of the input.
    Definition,
    /// Ten to the minus the most decimal places among the instrument's prices.
    Decimals,
}

impl TickSource {
    /// `given`, `inferred`, `definition` or `decimals`.
    pub fn name(self) -> &'static str {
        match self {
            TickSource::Given => "given",
            TickSource::Inferred => "inferred",
            TickSource::Definition => "definition",
            TickSource::Decimals => "decimals",
        }
    }
}

impl fmt::Display for TickSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An instrument's tick size as written to the tape header, and how it was chosen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TickChoice {
    /// The instrument's id on the tape.
    pub instrument: u16,
    /// The tick size.
    pub tick: Price,
    /// How it was chosen.
    pub source: TickSource,
    /// How many prices the choice looked at (0 for a given tick or a definition's).
    pub prices: u64,
}

/// Infers a tick size from prices: the greatest common divisor of every price observed, counted
/// in the source's price unit (e.g. LOBSTER's $0.0001). The tick is therefore never finer than
/// that unit and every observed price is a whole number of ticks. From a handful of prices it
/// can come out coarser than the real tick (prices $0.50 apart give $0.50); over a session of
/// data it is the tick the prices actually use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct TickGcd {
    gcd: u64,
    prices: u64,
}

impl TickGcd {
    /// Takes one price in the source's unit; prices of zero or below (placeholders, status
    /// codes, absent sides) are not prices and are ignored.
    pub(crate) fn observe(&mut self, raw: i64) {
        if raw > 0 {
            self.gcd = gcd(self.gcd, raw.unsigned_abs());
            self.prices += 1;
        }
    }

    /// How many prices were observed.
    pub(crate) fn prices(&self) -> u64 {
        self.prices
    }

    /// The tick in tape units: the divisor times `unit` (the tape value of one source unit);
    /// `None` when no price was observed (or, impossibly for prices that fit the tape, when it
    /// overflows).
    pub(crate) fn tick(&self, unit: i64) -> Option<Price> {
        if self.gcd == 0 {
            return None;
        }
        i64::try_from(self.gcd).ok()?.checked_mul(unit).map(Price)
    }
}

/// Euclid's greatest common divisor (`gcd(0, b) == b`).
fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// `10^-decimals` as a price (the tick size inferred from the finest price seen).
pub(crate) fn tick_for(decimals: u32) -> Price {
    let d = decimals.min(lockstep_sdk::SCALE);
    Price(10i64.pow(lockstep_sdk::SCALE - d))
}

/// Tick choices of `instruments`, whose ticks come from [`tick_for`].
pub(crate) fn decimal_ticks(instruments: &[InstrumentInfo]) -> Vec<TickChoice> {
    instruments
        .iter()
        .map(|i| TickChoice {
            instrument: i.id,
            tick: i.tick_size,
            source: TickSource::Decimals,
            prices: 0,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_from_decimals() {
        assert_eq!(tick_for(2), Price(1_000_000));
        assert_eq!(tick_for(0), Price(100_000_000));
    }

    /// LOBSTER-style prices (dollars × 10^4; one unit is 10^4 on the tape).
    fn gcd_tick(prices: &[i64]) -> Option<Price> {
        let mut g = TickGcd::default();
        for &p in prices {
            g.observe(p);
        }
        g.tick(10_000)
    }

    #[test]
    fn the_tick_is_the_gcd_of_the_prices_never_below_the_unit() {
        // All multiples of $0.05: 0.05.
        assert_eq!(gcd_tick(&[1_000_500, 1_001_000, 1_002_500, 999_500]), Price::parse("0.05"));
        // One odd price among them: every price must stay a whole number of ticks, so 0.01.
        assert_eq!(
            gcd_tick(&[1_000_500, 1_001_000, 1_002_500, 999_500, 1_000_100]),
            Price::parse("0.01")
        );
        // A sub-penny price: down to the file's unit at most.
        assert_eq!(gcd_tick(&[1_000_000, 1_000_001]), Price::parse("0.0001"));
        // ES futures in Databento's units on the tape (1e-8): 0.25.
        let mut g = TickGcd::default();
        for p in [479_900_000_000i64, 479_925_000_000, 480_050_000_000] {
            g.observe(p);
        }
        assert_eq!((g.tick(1), g.prices()), (Price::parse("0.25"), 3));
        // Placeholders and status codes are not prices; nothing observed, no tick.
        assert_eq!(gcd_tick(&[0, -1, -9_999_999_999]), None);
        assert_eq!(gcd_tick(&[0, 5_794_000, -1]), Price::parse("579.40"));
        // Every price is a multiple of the tick.
        let prices = [5_794_000i64, 5_777_750, 5_802_300, 5_761_150];
        let t = gcd_tick(&prices).unwrap().0;
        assert_eq!(t, 50 * 10_000);
        assert!(prices.iter().all(|p| (p * 10_000) % t == 0));
    }
}
