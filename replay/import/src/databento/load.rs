//! The first pass over DBN files: definitions (symbols, ticks), the files' symbology, the
//! instruments of the market data in order of first appearance, and the prices a tick is
//! inferred from where no definition gives one.

use super::input::Input;
use super::record::{MBP_DEPTH, Rec, UNDEF_PRICE, tick_decimals};
use crate::error::ImportError;
use crate::spec::UNKNOWN_CURRENCY;
use crate::tick::{TickChoice, TickGcd, TickSource};
use dbn::decode::DbnMetadata;
use lockstep_sdk::{ONE, Price, Qty};
use lockstep_sim::{InstrumentInfo, MAX_INSTRUMENTS};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// An instrument as the first pass finds it.
#[derive(Clone, Debug, Default)]
struct Found {
    symbol: Option<String>,
    tick: Option<i64>,
    /// Contract multiplier, lot and currency from a definition.
    multiplier: Option<Qty>,
    lot: Option<Qty>,
    currency: Option<String>,
    /// Finest decimals of the prices seen (the price scale when no definition gives a tick).
    decimals: u32,
    /// The prices seen in tape units (for a tick when no definition gives one).
    gcd: TickGcd,
    /// Whether any MBO record names it.
    mbo: bool,
}

/// What the first pass finds.
pub(crate) struct Scan {
    /// Records read.
    pub(crate) rows: u64,
    /// The tape's instruments and how their ticks were chosen, by id.
    pub(crate) instruments: Vec<InstrumentInfo>,
    pub(crate) ticks: Vec<TickChoice>,
    /// Tape id by Databento instrument id.
    pub(crate) ids: BTreeMap<u32, u16>,
    /// Whether each instrument has MBO data, by tape id.
    pub(crate) has_mbo: Vec<bool>,
}

/// Every instrument any record names, its market data's instruments in order of first
/// appearance, and the symbols of the files' symbology mappings.
#[derive(Default)]
struct Census {
    found: BTreeMap<u32, Found>,
    order: Vec<u32>,
    mapped: BTreeMap<u32, String>,
    rows: u64,
    /// The venue's time zone, from the first file's dataset.
    zone: Option<&'static str>,
}

/// The time zone of a Databento dataset's venue (`GLBX.MDP3`: CME Globex, Chicago); UTC for
/// a dataset not listed here (`--time-zone` states it).
fn dataset_zone(dataset: &str) -> &'static str {
    let venue = dataset.split('.').next().unwrap_or("");
    match venue {
        "GLBX" => "America/Chicago",
        "XNAS" | "XNYS" | "XBOS" | "XPSX" | "XCHI" | "XCIS" | "ARCX" | "BATS" | "BATY" | "EDGA"
        | "EDGX" | "IEXG" | "MEMX" | "EPRL" | "DBEQ" | "EQUS" | "OPRA" | "IFUS" => {
            "America/New_York"
        }
        "IFEU" | "IFLL" => "Europe/London",
        "NDEX" => "Europe/Amsterdam",
        "XEUR" | "XEEE" => "Europe/Berlin",
        _ => "UTC",
    }
}

/// The first pass.
pub(crate) fn scan(files: &[PathBuf]) -> Result<Scan, ImportError> {
    let mut c = Census::default();
    for p in files {
        let mut inp = Input::open(p)?;
        c.zone.get_or_insert_with(|| dataset_zone(&inp.dec.metadata().dataset));
        for m in &inp.dec.metadata().mappings {
            for iv in &m.intervals {
                if let Ok(id) = iv.symbol.parse::<u32>() {
                    c.mapped.entry(id).or_insert_with(|| m.raw_symbol.clone());
                }
            }
        }
        inp.decode_next()?;
        while let Some((_, item)) = inp.cur.take() {
            c.rows += 1;
            c.record(item.instrument_id, &item.rec);
            inp.decode_next()?;
        }
    }
    if c.order.len() > MAX_INSTRUMENTS {
        return Err(ImportError::Format {
            file: files[0].clone(),
            reason: format!("more than {MAX_INSTRUMENTS} instruments; split the input"),
        });
    }
    Ok(c.into_scan())
}

impl Census {
    /// Takes a record of instrument `id`.
    fn record(&mut self, id: u32, rec: &Rec) {
        let f = self.found.entry(id).or_default();
        let mut prices = [UNDEF_PRICE; 2 * MBP_DEPTH + 1];
        match rec {
            Rec::Def { symbol, tick, size, lot, currency } => {
                f.symbol = Some(symbol.clone());
                if *tick > 0 && *tick != UNDEF_PRICE {
                    f.tick = Some(*tick);
                }
                // Sizes are 1e-9 fixed point; the tape's are 1e-8.
                if *size > 0 && *size != UNDEF_PRICE && size % 10 == 0 {
                    f.multiplier = Some(Qty(size / 10));
                }
                if *lot > 0 && *lot != i32::MAX {
                    f.lot = i64::from(*lot).checked_mul(ONE).map(Qty);
                }
                if !currency.is_empty() {
                    f.currency = Some(currency.clone());
                }
            }
            Rec::Other(_) => {}
            rec => {
                if !self.order.contains(&id) {
                    self.order.push(id);
                }
                f.mbo |= matches!(rec, Rec::Mbo { .. });
                prices_of(rec, &mut prices);
            }
        }
        for p in prices.into_iter().filter(|p| *p != UNDEF_PRICE && *p > 0) {
            f.decimals = f.decimals.max(tick_decimals(p));
            // A price finer than the tape's 1e-8 is refused in the second pass.
            if p % 10 == 0 {
                f.gcd.observe(p / 10);
            }
        }
    }

    /// The instruments as the tape lists them.
    fn into_scan(self) -> Scan {
        let mut s = Scan {
            rows: self.rows,
            instruments: Vec::with_capacity(self.order.len()),
            ticks: Vec::with_capacity(self.order.len()),
            ids: BTreeMap::new(),
            has_mbo: Vec::with_capacity(self.order.len()),
        };
        for (i, id) in self.order.iter().enumerate() {
            let f = &self.found[id];
            let symbol = f
                .symbol
                .clone()
                .or_else(|| self.mapped.get(id).cloned())
                .unwrap_or_else(|| id.to_string());
            let idx = u16::try_from(i).unwrap_or(u16::MAX);
            // A definition of the same symbol under another instrument id (a definition file
            // of another day) stands for one under this id.
            let def = if f.tick.is_some() {
                f
            } else {
                self.found
                    .values()
                    .find(|g| g.tick.is_some() && g.symbol.as_deref() == Some(symbol.as_str()))
                    .unwrap_or(f)
            };
            let (tick, price_scale) = choose_tick(idx, def.tick, f);
            // What a definition does not give: one contract is one unit, lots of one, and
            // the currency unknown (ISO 4217's XXX) rather than guessed.
            let currency = def.currency.clone().unwrap_or_else(|| UNKNOWN_CURRENCY.to_owned());
            let mut ins = InstrumentInfo::spot(
                idx,
                symbol,
                "Databento",
                tick.tick,
                def.lot.unwrap_or(Qty(ONE)),
                currency,
                self.zone.unwrap_or("UTC"),
            );
            ins.price_scale = price_scale;
            ins.contract.multiplier = def.multiplier.unwrap_or(Qty(ONE));
            s.instruments.push(ins);
            s.ticks.push(tick);
            s.ids.insert(*id, idx);
            s.has_mbo.push(f.mbo);
        }
        s
    }
}

/// The prices of a market data record, into `prices` (undefined where it has fewer).
fn prices_of(rec: &Rec, prices: &mut [i64; 2 * MBP_DEPTH + 1]) {
    match rec {
        Rec::Mbo { price, .. } | Rec::Trade { price, .. } => prices[0] = *price,
        Rec::Top { pair, trade } => {
            prices[0] = pair.0;
            prices[1] = pair.2;
            prices[2] = trade.map_or(UNDEF_PRICE, |t| t.0);
        }
        Rec::Depth { levels, trade } => {
            for (d, l) in levels.iter().enumerate() {
                prices[2 * d] = l.0;
                prices[2 * d + 1] = l.2;
            }
            prices[2 * MBP_DEPTH] = trade.map_or(UNDEF_PRICE, |t| t.0);
        }
        Rec::Def { .. } | Rec::Other(_) => {}
    }
}

/// Instrument `instrument`'s tick and price scale: its definition's, else the greatest common
/// divisor of its prices (a whole unit without any).
fn choose_tick(instrument: u16, defined: Option<i64>, f: &Found) -> (TickChoice, u32) {
    match (defined, f.gcd.tick(1)) {
        (Some(t), _) if t % 10 == 0 => (
            TickChoice {
                instrument,
                tick: Price(t / 10),
                source: TickSource::Definition,
                prices: 0,
            },
            tick_decimals(t),
        ),
        (_, Some(tick)) => (
            TickChoice { instrument, tick, source: TickSource::Inferred, prices: f.gcd.prices() },
            f.decimals.min(8),
        ),
        // Neither a definition nor a price (only empty book sides): a whole unit.
        _ => (
            TickChoice { instrument, tick: Price(ONE), source: TickSource::Inferred, prices: 0 },
            0,
        ),
    }
}
