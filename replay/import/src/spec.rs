//! Instrument specifications beyond the tick: lot size, contract terms, currency and the
//! venue's time zone. Each importer takes what its data says; what it cannot say follows
//! from the venue and symbol by the rules here, and the caller's `--lot`, `--multiplier`,
//! `--currency` and `--time-zone` override both ([`SpecOverrides`]).

use lockstep_sdk::{ONE, Qty};
use lockstep_sim::{Contract, InstrumentInfo};

/// ISO 4217's code for "no currency": what an instrument whose currency neither the data nor
/// its symbol tells is marked with, so a report never names a currency it guessed.
pub const UNKNOWN_CURRENCY: &str = "XXX";

/// What the caller states for every instrument of an import, over what the data says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SpecOverrides {
    /// Lot size.
    pub lot: Option<Qty>,
    /// Contract multiplier.
    pub multiplier: Option<Qty>,
    /// Whether contracts are inverse (coin-settled).
    pub inverse: Option<bool>,
    /// Currency of prices and PnL.
    pub currency: Option<String>,
    /// The venue's time zone (IANA name).
    pub time_zone: Option<String>,
}

impl SpecOverrides {
    /// `ins` with what the caller stated in place of what the importer found.
    pub fn apply(&self, ins: &mut InstrumentInfo) {
        if let Some(l) = self.lot {
            ins.lot_size = l;
        }
        if let Some(m) = self.multiplier {
            ins.contract.multiplier = m;
        }
        if let Some(i) = self.inverse {
            ins.contract.inverse = i;
        }
        if let Some(c) = &self.currency {
            ins.currency.clone_from(c);
        }
        if let Some(z) = &self.time_zone {
            ins.time_zone.clone_from(z);
        }
    }
}

/// Quote currencies recognised at the end of a crypto or FX symbol, longest first so that
/// `FDUSD` is not read as `USD`.
const QUOTES: [&str; 16] = [
    "FDUSD", "USDT", "USDC", "BUSD", "TUSD", "USDP", "DAI", "BTC", "ETH", "BNB", "EUR", "GBP",
    "TRY", "BRL", "JPY", "USD",
];

/// The spec a venue and symbol imply for an instrument whose data gives only prices and
/// quantities with at most `qty_decimals` places: the lot is ten to the minus those, crypto
/// and FX venues keep UTC, and the currency is the symbol's quote currency. Binance
/// coin-margined contracts (`BTCUSD_PERP`, `ETHUSD_240927`) are inverse: 100 USD a contract
/// for BTC, 10 for the others, settled in the coin.
pub(crate) fn implied(venue: &str, symbol: &str, qty_decimals: u32, ins: &mut InstrumentInfo) {
    ins.lot_size = Qty(10i64.pow(lockstep_sdk::SCALE - qty_decimals.min(lockstep_sdk::SCALE)));
    ins.time_zone = "UTC".into();
    let upper = symbol.to_ascii_uppercase();
    let coin_margined = venue.to_ascii_lowercase().contains("binance")
        && upper.split_once('_').is_some_and(|(pair, _)| pair.ends_with("USD"));
    if coin_margined {
        let base = upper.split_once('_').map_or("", |(pair, _)| &pair[..pair.len() - 3]);
        let face = if base == "BTC" { 100 } else { 10 };
        ins.contract = Contract { multiplier: Qty(face * ONE), inverse: true };
        ins.currency = base.to_owned();
        return;
    }
    // Deribit's coin-settled contracts (`BTC-PERPETUAL`, `ETH-27DEC24`; not the `_USDC`
    // linear ones) are inverse, and their book and trade amounts are in US dollars already.
    let deribit_inverse = venue.to_ascii_lowercase().contains("deribit")
        && upper.split_once('-').is_some_and(|(base, _)| !base.contains('_'));
    if deribit_inverse {
        let base = upper.split_once('-').map_or("", |(b, _)| b);
        ins.contract = Contract { multiplier: Qty(ONE), inverse: true };
        ins.currency = base.to_owned();
        return;
    }
    ins.contract = Contract::LINEAR;
    // `EUR/USD`, `BTC-USDT`, `BTCUSDT`: the quote is what the symbol ends with.
    let pair = upper.split(['_', ':']).next().unwrap_or("");
    let quote = pair.rsplit(['/', '-']).next().unwrap_or("");
    let found = QUOTES.iter().find(|q| quote.ends_with(*q));
    ins.currency = found.map_or(UNKNOWN_CURRENCY, |q| q).to_owned();
}

#[cfg(test)]
mod tests {
    use super::*;
    use lockstep_sdk::Price;

    fn spec(venue: &str, symbol: &str, qd: u32) -> InstrumentInfo {
        let mut i = InstrumentInfo::spot(0, symbol, venue, Price(1), Qty(1), "", "");
        implied(venue, symbol, qd, &mut i);
        i
    }

    #[test]
    fn binance_symbols_give_their_quote_and_coin_margined_contracts_are_inverse() {
        let s = spec("binance", "BTCUSDT", 3);
        assert_eq!(
            (s.lot_size, s.currency.as_str(), s.contract),
            (Qty(100_000), "USDT", Contract::LINEAR)
        );
        let s = spec("binance", "BTCUSD_PERP", 0);
        assert_eq!(s.currency, "BTC");
        assert_eq!(s.contract, Contract { multiplier: Qty(100 * ONE), inverse: true });
        assert_eq!(s.lot_size, Qty(ONE));
        let s = spec("binance-delivery", "ethusd_240927", 0);
        assert_eq!((s.currency.as_str(), s.contract.multiplier), ("ETH", Qty(10 * ONE)));
        assert_eq!(spec("binance", "ETHFDUSD", 4).currency, "FDUSD");
        assert_eq!(spec("binance", "ETHBTC", 4).currency, "BTC");
        let s = spec("deribit", "BTC-PERPETUAL", 8);
        assert_eq!(
            (s.currency.as_str(), s.contract),
            ("BTC", Contract { multiplier: Qty(ONE), inverse: true })
        );
        assert!(!spec("deribit", "BTC_USDC-PERPETUAL", 8).contract.inverse);
    }

    #[test]
    fn fx_pairs_and_unknown_symbols() {
        assert_eq!(spec("TrueFX", "EUR/JPY", 8).currency, "JPY");
        assert_eq!(spec("csv", "BTC-USD", 8).currency, "USD");
        let s = spec("csv", "ACME", 8);
        assert_eq!((s.currency.as_str(), s.lot_size, s.time_zone.as_str()), ("XXX", Qty(1), "UTC"));
    }

    #[test]
    fn overrides_replace_what_was_found() {
        let mut s = spec("binance", "BTCUSDT", 3);
        let o = SpecOverrides {
            lot: Some(Qty(ONE)),
            multiplier: Some(Qty(50 * ONE)),
            inverse: None,
            currency: Some("USD".into()),
            time_zone: Some("America/Chicago".into()),
        };
        o.apply(&mut s);
        assert_eq!(
            (s.lot_size, s.contract.multiplier, s.currency.as_str(), s.time_zone.as_str()),
            (Qty(ONE), Qty(50 * ONE), "USD", "America/Chicago")
        );
    }
}
