//! Databento DBN files (any DBN version, zstd-compressed or not), decoded by the `dbn` crate.
//!
//! - **MBO** (market by order) goes into the L3 book. Databento's actions map as Databento's
//!   own reference book applies them: `A` add → `Add`; `C` cancel (its size is the amount
//!   removed) → `Cancel`, or `Delete` when nothing is left; `M` modify → a `Cancel` of the
//!   difference when the size shrinks at the same price (the order keeps its place), else
//!   `Delete` + `Add` (it loses its place), an `Add` for an order not seen before; `R` clear →
//!   `Clear`; `T` trade (the aggressor's side) → `Trade`. `F` fill records and `N` records
//!   do not change the book (the quantity leaves with the cancel that follows a fill) and
//!   are skipped and counted. Records up to the one flagged `LAST` form one batch.
//! - **MBP-1, TBBO, BBO (1s/1m), CMBP-1, CBBO** → `Quote` (an absent side has price 0), with a
//!   `Trade` first where the record is a trade (action `T`).
//! - **MBP-10** → `Level` updates that make the book's top ten levels equal the record's.
//! - **Trades** → `Trade`.
//! - **Instrument definitions** (from any input, e.g. a separate definition file) give symbols
//!   and tick sizes (`min_price_increment`); without one, the symbol comes from the file's
//!   symbology mappings (else the instrument id) and the tick is the greatest common divisor
//!   of the instrument's prices (every price, level and trade of its records; ESH4's MBO gives
//!   0.25), never finer than the tape's 1e-8. Other record kinds (OHLCV, status, statistics,
//!   imbalance, …) are skipped and counted.
//!
//! Local time is `ts_recv` (Databento's capture time; `ts_event` where it is undefined),
//! exchange time `ts_event`. Several files are merged by local time, the file given first going
//! first on equal times. Prices (units of 1e-9) must fit the tape's 8 decimals.
//!
//! **Sequence numbers.** MBO, MBP-1/TBBO and MBP-10 records carry the venue's message sequence
//! number; the report's `sequence_gaps` counts jumps forward by more than one per schema,
//! publisher and instrument, and a note counts steps back (resets, not gaps). Snapshot records
//! are not checked. See `Sequences` for why a gap is an upper bound on loss.
//!
//! **Checks.** Where an instrument has MBO data, every top-of-book or MBP-10 record of the same
//! instrument is compared with the book rebuilt from MBO at that time (top 1..10 levels), and
//! every MBO event ending with the `LAST` flag is checked for a crossed book; the report counts
//! snapshot records and whether each snapshot was closed by a `LAST` record.

use super::{ImportError, ImportOptions, ImportSummary, Sink, TickChoice, TickGcd, TickSource};
use crate::book::Book;
use crate::tape::{InstrumentInfo, MarketEvent, TapeEvent, TapeHeader};
use dbn::decode::{DbnMetadata, DecodeRecordRef, DynDecoder};
use dbn::{RecordRefEnum, VersionUpgradePolicy, flags};
use lockstep_sdk::{Nanos, ONE, Price, Qty, Side};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

/// Databento's undefined price.
const UNDEF_PRICE: i64 = i64::MAX;
/// Databento's undefined timestamp.
const UNDEF_TS: u64 = u64::MAX;
/// Levels of an MBP-10 record.
const MBP_DEPTH: usize = 10;

/// One side-pair of a book level as Databento writes it: (bid px, bid size, ask px, ask size).
type Pair = (i64, u32, i64, u32);

/// A book level (price, size) for the checks.
type Level = (Price, Qty);

/// A decoded record, owned (the decoder lends its records only until the next one).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Rec {
    Mbo {
        action: u8,
        side: u8,
        order_id: u64,
        price: i64,
        size: u32,
    },
    Trade {
        price: i64,
        size: u32,
        side: u8,
    },
    /// Top of book, with the trade it reports (action `T`) if any.
    Top {
        pair: Pair,
        trade: Option<(i64, u32, u8)>,
    },
    /// Ten levels, with the trade it reports if any.
    Depth {
        levels: Box<[Pair; MBP_DEPTH]>,
        trade: Option<(i64, u32, u8)>,
    },
    Def {
        symbol: String,
        tick: i64,
    },
    Other(&'static str),
}

/// A record with its header fields.
#[derive(Clone, Debug)]
pub(crate) struct Item {
    pub(crate) instrument_id: u32,
    pub(crate) publisher_id: u16,
    /// The venue's message sequence number, for the schemas whose continuity is checked (MBO,
    /// MBP-1/TBBO, MBP-10).
    pub(crate) sequence: Option<u32>,
    pub(crate) ts_event: u64,
    pub(crate) ts_recv: u64,
    pub(crate) flags: u8,
    pub(crate) rec: Rec,
}

fn pair(l: &dbn::BidAskPair) -> Pair {
    (l.bid_px, l.bid_sz, l.ask_px, l.ask_sz)
}

fn cpair(l: &dbn::ConsolidatedBidAskPair) -> Pair {
    (l.bid_px, l.bid_sz, l.ask_px, l.ask_sz)
}

fn c(ch: std::ffi::c_char) -> u8 {
    ch as u8
}

fn trade_of(
    action: std::ffi::c_char,
    price: i64,
    size: u32,
    side: std::ffi::c_char,
) -> Option<(i64, u32, u8)> {
    (c(action) == b'T').then_some((price, size, c(side)))
}

/// Converts a decoded record.
fn convert(r: RecordRefEnum<'_>) -> Result<Item, String> {
    let sequence = match &r {
        RecordRefEnum::Mbo(m) => Some(m.sequence),
        RecordRefEnum::Mbp1(m) => Some(m.sequence),
        RecordRefEnum::Mbp10(m) => Some(m.sequence),
        _ => None,
    };
    let (hd, ts_recv, flags, rec) = match r {
        RecordRefEnum::Mbo(m) => (
            m.hd,
            m.ts_recv,
            m.flags.raw(),
            Rec::Mbo {
                action: c(m.action),
                side: c(m.side),
                order_id: m.order_id,
                price: m.price,
                size: m.size,
            },
        ),
        RecordRefEnum::Trade(m) => (
            m.hd,
            m.ts_recv,
            m.flags.raw(),
            Rec::Trade { price: m.price, size: m.size, side: c(m.side) },
        ),
        RecordRefEnum::Mbp1(m) => (
            m.hd,
            m.ts_recv,
            m.flags.raw(),
            Rec::Top {
                pair: pair(&m.levels[0]),
                trade: trade_of(m.action, m.price, m.size, m.side),
            },
        ),
        RecordRefEnum::Cmbp1(m) => (
            m.hd,
            m.ts_recv,
            m.flags.raw(),
            Rec::Top {
                pair: cpair(&m.levels[0]),
                trade: trade_of(m.action, m.price, m.size, m.side),
            },
        ),
        // BBO records carry the interval's last trade, not a new one: the quote only.
        RecordRefEnum::Bbo(m) => {
            (m.hd, m.ts_recv, m.flags.raw(), Rec::Top { pair: pair(&m.levels[0]), trade: None })
        }
        RecordRefEnum::Cbbo(m) => {
            (m.hd, m.ts_recv, m.flags.raw(), Rec::Top { pair: cpair(&m.levels[0]), trade: None })
        }
        RecordRefEnum::Mbp10(m) => {
            let mut levels = Box::new([(UNDEF_PRICE, 0, UNDEF_PRICE, 0); MBP_DEPTH]);
            for (d, s) in levels.iter_mut().zip(m.levels.iter()) {
                *d = pair(s);
            }
            (
                m.hd,
                m.ts_recv,
                m.flags.raw(),
                Rec::Depth { levels, trade: trade_of(m.action, m.price, m.size, m.side) },
            )
        }
        RecordRefEnum::InstrumentDef(m) => {
            let symbol = m.raw_symbol().map_err(|e| format!("instrument definition: {e}"))?;
            (
                m.hd,
                m.ts_recv,
                0,
                Rec::Def { symbol: symbol.to_owned(), tick: m.min_price_increment },
            )
        }
        RecordRefEnum::Ohlcv(m) => (m.hd, UNDEF_TS, 0, Rec::Other("OHLCV bar")),
        RecordRefEnum::Status(m) => (m.hd, m.ts_recv, 0, Rec::Other("status")),
        RecordRefEnum::Imbalance(m) => (m.hd, m.ts_recv, 0, Rec::Other("imbalance")),
        RecordRefEnum::Stat(m) => (m.hd, m.ts_recv, 0, Rec::Other("statistics")),
        RecordRefEnum::Error(m) => (m.hd, UNDEF_TS, 0, Rec::Other("gateway error message")),
        RecordRefEnum::SymbolMapping(m) => (m.hd, UNDEF_TS, 0, Rec::Other("symbol mapping")),
        RecordRefEnum::System(m) => (m.hd, UNDEF_TS, 0, Rec::Other("system message")),
    };
    Ok(Item {
        instrument_id: hd.instrument_id,
        publisher_id: hd.publisher_id,
        sequence,
        ts_event: hd.ts_event,
        ts_recv,
        flags,
        rec,
    })
}

/// One DBN input: its decoder, record count, and the current record.
struct Input {
    path: PathBuf,
    dec: DynDecoder<'static, BufReader<File>>,
    index: u64,
    cur: Option<(i64, Item)>,
}

impl Input {
    fn open(path: &Path) -> Result<Self, ImportError> {
        let dec = DynDecoder::from_file(path, VersionUpgradePolicy::UpgradeToV3).map_err(|e| {
            ImportError::Format {
                file: path.to_path_buf(),
                reason: format!(
                    "not a readable DBN file ({e}); give Databento .dbn or .dbn.zst files"
                ),
            }
        })?;
        Ok(Self { path: path.to_path_buf(), dec, index: 0, cur: None })
    }

    fn err(&self, reason: impl Into<String>) -> ImportError {
        ImportError::Record { file: self.path.clone(), record: self.index, reason: reason.into() }
    }

    /// Decodes the next record; `cur` is then it with its local time, or `None` at the end.
    fn advance(&mut self) -> Result<(), ImportError> {
        let next = self.dec.decode_record_ref().map_err(|e| ImportError::Record {
            file: self.path.clone(),
            record: self.index + 1,
            reason: format!("cannot decode: {e}"),
        })?;
        let Some(r) = next else {
            self.cur = None;
            return Ok(());
        };
        self.index += 1;
        let e = r.as_enum().map(convert);
        let item = match e {
            Ok(Ok(item)) => item,
            Ok(Err(reason)) => return Err(self.err(reason)),
            Err(_) => Item {
                instrument_id: r.header().instrument_id,
                publisher_id: r.header().publisher_id,
                sequence: None,
                ts_event: r.header().ts_event,
                ts_recv: UNDEF_TS,
                flags: 0,
                rec: Rec::Other("record of an unknown type"),
            },
        };
        let raw = if item.ts_recv == UNDEF_TS { item.ts_event } else { item.ts_recv };
        let local = if raw == UNDEF_TS {
            -1
        } else {
            i64::try_from(raw).map_err(|_| self.err(format!("time {raw} ns is beyond 2262")))?
        };
        self.cur = Some((local, item));
        Ok(())
    }
}

/// `side` byte to a side: `B` bid, `A` ask, anything else none.
fn side_of(b: u8) -> Option<Side> {
    match b {
        b'B' => Some(Side::Buy),
        b'A' => Some(Side::Sell),
        _ => None,
    }
}

/// A Databento price (1e-9 units) on the tape (1e-8); `None` when undefined.
fn price(p: i64) -> Result<Option<Price>, String> {
    if p == UNDEF_PRICE {
        return Ok(None);
    }
    if p % 10 != 0 {
        return Err(format!("price {p} (units of 1e-9) has more than the tape's 8 decimal places"));
    }
    if p < 0 {
        return Err(format!(
            "price {p} (units of 1e-9) is negative; the tape holds prices of 0 and above"
        ));
    }
    Ok(Some(Price(p / 10)))
}

fn qty(s: u32) -> Qty {
    // u32 × 10^8 < 2^63: no overflow.
    Qty(i64::from(s) * ONE)
}

/// Decimal places of a tick of `tick` ×1e-9 (`250000000` → 2).
fn tick_decimals(tick: i64) -> u32 {
    let mut d = 9u32;
    let mut t = tick;
    while d > 0 && t % 10 == 0 {
        t /= 10;
        d -= 1;
    }
    d
}

/// An instrument as the first pass finds it.
#[derive(Clone, Debug, Default)]
struct Found {
    symbol: Option<String>,
    tick: Option<i64>,
    /// Finest decimals of the prices seen (the price scale when no definition gives a tick).
    decimals: u32,
    /// The prices seen in tape units (for a tick when no definition gives one).
    gcd: TickGcd,
    /// Whether any MBO record names it.
    mbo: bool,
}

/// Per-instrument state of the second pass.
#[derive(Default)]
struct State {
    /// MBO orders: id → (side, price, remaining size).
    orders: BTreeMap<u64, (Side, Price, Qty)>,
    /// The MBO-built book (for the checks).
    book: Book,
    /// Last MBP-10 levels per side, best first.
    depth: [Vec<(Price, Qty)>; 2],
    in_snapshot: bool,
}

/// Counts of the import's checks.
#[derive(Default)]
struct Checks {
    compared: [u64; MBP_DEPTH],
    matched: [u64; MBP_DEPTH],
    crossed: u64,
    snapshot_records: u64,
    snapshots_closed: u64,
    snapshots_open: u64,
    fills: u64,
}

/// Imports Databento DBN files (market data and instrument definitions) into one tape.
///
/// # Errors
/// [`ImportError`] naming the file and record number of the first record that cannot be
/// decoded or put on a tape.
pub fn import_databento(
    files: &[PathBuf],
    out: &Path,
    opts: &ImportOptions,
) -> Result<ImportSummary, ImportError> {
    if files.is_empty() {
        return Err(ImportError::Format {
            file: out.to_path_buf(),
            reason: "no input files given".into(),
        });
    }
    // First pass: definitions, symbology, instruments in order of first appearance.
    let mut found: BTreeMap<u32, Found> = BTreeMap::new();
    let mut order: Vec<u32> = Vec::new();
    let mut mapped: BTreeMap<u32, String> = BTreeMap::new();
    let mut rows = 0u64;
    for p in files {
        let mut inp = Input::open(p)?;
        for m in &inp.dec.metadata().mappings {
            for iv in &m.intervals {
                if let Ok(id) = iv.symbol.parse::<u32>() {
                    mapped.entry(id).or_insert_with(|| m.raw_symbol.clone());
                }
            }
        }
        inp.advance()?;
        while let Some((_, item)) = inp.cur.take() {
            rows += 1;
            let f = found.entry(item.instrument_id).or_default();
            let mut prices = [UNDEF_PRICE; 2 * MBP_DEPTH + 1];
            match &item.rec {
                Rec::Def { symbol, tick } => {
                    f.symbol = Some(symbol.clone());
                    if *tick > 0 && *tick != UNDEF_PRICE {
                        f.tick = Some(*tick);
                    }
                }
                Rec::Other(_) => {}
                rec => {
                    if !order.contains(&item.instrument_id) {
                        order.push(item.instrument_id);
                    }
                    match rec {
                        Rec::Mbo { price, .. } => {
                            f.mbo = true;
                            prices[0] = *price;
                        }
                        Rec::Trade { price, .. } => prices[0] = *price,
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
                        _ => {}
                    }
                }
            }
            for p in prices.into_iter().filter(|p| *p != UNDEF_PRICE && *p > 0) {
                f.decimals = f.decimals.max(tick_decimals(p));
                // A price finer than the tape's 1e-8 is refused in the second pass.
                if p % 10 == 0 {
                    f.gcd.observe(p / 10);
                }
            }
            inp.advance()?;
        }
    }
    if order.is_empty() {
        return Err(ImportError::Format {
            file: files[0].clone(),
            reason: "no market data records (MBO, MBP, trades, BBO) in the files given".into(),
        });
    }
    if order.len() > crate::tape::MAX_INSTRUMENTS {
        return Err(ImportError::Format {
            file: files[0].clone(),
            reason: format!(
                "more than {} instruments; split the input",
                crate::tape::MAX_INSTRUMENTS
            ),
        });
    }
    let mut instruments = Vec::with_capacity(order.len());
    let mut ticks = Vec::with_capacity(order.len());
    let mut ids: BTreeMap<u32, u16> = BTreeMap::new();
    for (i, id) in order.iter().enumerate() {
        let f = &found[id];
        let symbol =
            f.symbol.clone().or_else(|| mapped.get(id).cloned()).unwrap_or_else(|| id.to_string());
        let idx = u16::try_from(i).unwrap_or(u16::MAX);
        let (tick, price_scale) = match (f.tick, f.gcd.tick(1)) {
            (Some(t), _) if t % 10 == 0 => (
                TickChoice {
                    instrument: idx,
                    tick: Price(t / 10),
                    source: TickSource::Definition,
                    prices: 0,
                },
                tick_decimals(t),
            ),
            (_, Some(tick)) => (
                TickChoice {
                    instrument: idx,
                    tick,
                    source: TickSource::Inferred,
                    prices: f.gcd.prices(),
                },
                f.decimals.min(8),
            ),
            // Neither a definition nor a price (only empty book sides): a whole unit.
            _ => (
                TickChoice {
                    instrument: idx,
                    tick: Price(ONE),
                    source: TickSource::Inferred,
                    prices: 0,
                },
                0,
            ),
        };
        let tick_size = tick.tick;
        ticks.push(tick);
        ids.insert(*id, idx);
        instruments.push(InstrumentInfo {
            id: idx,
            symbol,
            venue: "Databento".into(),
            tick_size,
            price_scale,
        });
    }
    let source = super::source_name("Databento DBN", files);
    let mut sink = Sink::create(out, TapeHeader::new(source, instruments), opts)?;
    let mut inputs = Vec::with_capacity(files.len());
    for p in files {
        let mut i = Input::open(p)?;
        i.advance()?;
        inputs.push(i);
    }
    let mut states: Vec<State> = (0..order.len()).map(|_| State::default()).collect();
    let has_mbo: Vec<bool> = order.iter().map(|id| found[id].mbo).collect();
    let mut skipped: BTreeMap<String, u64> = BTreeMap::new();
    let mut checks = Checks::default();
    let mut pending: Vec<TapeEvent> = Vec::new();
    let mut pending_from: Option<(usize, u16)> = None;
    let mut pending_at = (0usize, 0u64);
    let mut evs: Vec<MarketEvent> = Vec::new();
    let mut seqs = Sequences::default();
    while let Some(k) = super::earliest(inputs.iter().map(|i| i.cur.as_ref().map(|(t, _)| *t))) {
        let (local, item) = inputs[k].cur.take().unwrap_or((0, placeholder()));
        let inp = &inputs[k];
        let Some(&ins) = ids.get(&item.instrument_id) else {
            // Definitions and records of other kinds.
            match &item.rec {
                Rec::Def { .. } => {}
                Rec::Other(what) => *skipped.entry((*what).to_owned()).or_insert(0) += 1,
                _ => {}
            }
            inputs[k].advance()?;
            continue;
        };
        if let Rec::Other(what) = &item.rec {
            *skipped.entry((*what).to_owned()).or_insert(0) += 1;
            inputs[k].advance()?;
            continue;
        }
        seqs.check(&item);
        if local < 0 {
            return Err(inp.err("the record has neither a receive nor an event time"));
        }
        let exch = if item.ts_event == UNDEF_TS {
            local
        } else {
            i64::try_from(item.ts_event)
                .map_err(|_| inp.err(format!("time {} ns is beyond 2262", item.ts_event)))?
        };
        if pending_from.is_some_and(|p| p != (k, ins)) {
            flush(&mut sink, &mut pending, &inputs, pending_at)?;
        }
        let st = &mut states[usize::from(ins)];
        evs.clear();
        let px = |p: i64| price(p).map_err(|r| inp.err(r));
        match &item.rec {
            Rec::Mbo { action, side, order_id, price: p, size } => {
                let snap = item.flags & flags::SNAPSHOT != 0;
                if snap {
                    checks.snapshot_records += 1;
                    st.in_snapshot = true;
                }
                mbo(
                    st,
                    *action,
                    *side,
                    *order_id,
                    px(*p)?,
                    qty(*size),
                    &mut evs,
                    &mut skipped,
                    &mut checks,
                )
                .map_err(|r| inp.err(r))?;
                for e in &evs {
                    st.book.apply(e);
                }
                if item.flags & flags::LAST != 0 {
                    if st.in_snapshot && snap {
                        checks.snapshots_closed += 1;
                        st.in_snapshot = false;
                    }
                    if let (Some(b), Some(a)) = (st.book.best(Side::Buy), st.book.best(Side::Sell))
                        && b.px >= a.px
                    {
                        checks.crossed += 1;
                    }
                }
            }
            Rec::Trade { price: p, size, side } => match px(*p)? {
                Some(p) if *size > 0 => evs.push(MarketEvent::Trade {
                    px: p,
                    qty: qty(*size),
                    aggressor: side_of(*side),
                }),
                _ => *skipped.entry("trade without price or size".into()).or_insert(0) += 1,
            },
            Rec::Top { pair: (bp, bs, ap, as_), trade } => {
                if let Some((p, s, sd)) = trade
                    && let Some(p) = px(*p)?
                    && *s > 0
                {
                    evs.push(MarketEvent::Trade { px: p, qty: qty(*s), aggressor: side_of(*sd) });
                }
                let (bid, ask) = (px(*bp)?, px(*ap)?);
                evs.push(MarketEvent::Quote {
                    bid_px: bid.unwrap_or(Price(0)),
                    bid_qty: if bid.is_some() { qty(*bs) } else { Qty::ZERO },
                    ask_px: ask.unwrap_or(Price(0)),
                    ask_qty: if ask.is_some() { qty(*as_) } else { Qty::ZERO },
                });
                if has_mbo[usize::from(ins)] {
                    let top = [(bid.map(|p| (p, qty(*bs))), ask.map(|p| (p, qty(*as_))))];
                    compare(&st.book, &top, &mut checks);
                }
            }
            Rec::Depth { levels, trade } => {
                if let Some((p, s, sd)) = trade
                    && let Some(p) = px(*p)?
                    && *s > 0
                {
                    evs.push(MarketEvent::Trade { px: p, qty: qty(*s), aggressor: side_of(*sd) });
                }
                let mut view = Vec::with_capacity(MBP_DEPTH);
                let mut new: [Vec<(Price, Qty)>; 2] = [Vec::new(), Vec::new()];
                for (bp, bs, ap, as_) in levels.iter() {
                    let (b, a) = (px(*bp)?, px(*ap)?);
                    view.push((b.map(|p| (p, qty(*bs))), a.map(|p| (p, qty(*as_)))));
                    if let Some(p) = b
                        && *bs > 0
                    {
                        new[0].push((p, qty(*bs)));
                    }
                    if let Some(p) = a
                        && *as_ > 0
                    {
                        new[1].push((p, qty(*as_)));
                    }
                }
                for (s, side) in [(0, Side::Buy), (1, Side::Sell)] {
                    for &(p, _) in &st.depth[s] {
                        if !new[s].iter().any(|l| l.0 == p) {
                            evs.push(MarketEvent::Level { side, px: p, qty: Qty::ZERO });
                        }
                    }
                    for &(p, q) in &new[s] {
                        if !st.depth[s].contains(&(p, q)) {
                            evs.push(MarketEvent::Level { side, px: p, qty: q });
                        }
                    }
                }
                st.depth = new;
                if has_mbo[usize::from(ins)] {
                    compare(&st.book, &view, &mut checks);
                }
            }
            Rec::Def { .. } | Rec::Other(_) => {}
        }
        pending.extend(evs.iter().map(|m| TapeEvent::new(Nanos(exch), Nanos(local), ins, *m)));
        pending_from = Some((k, ins));
        pending_at = (k, inputs[k].index);
        // Non-MBO records are whole events; MBO events end with the record flagged LAST.
        if !matches!(item.rec, Rec::Mbo { .. }) || item.flags & flags::LAST != 0 {
            flush(&mut sink, &mut pending, &inputs, pending_at)?;
            pending_from = None;
        }
        inputs[k].advance()?;
    }
    flush(&mut sink, &mut pending, &inputs, pending_at)?;
    checks.snapshots_open = states.iter().filter(|s| s.in_snapshot).count() as u64;
    let mut notes = vec![
        ("MBO snapshot records".to_owned(), checks.snapshot_records),
        ("MBO snapshots closed by a record flagged LAST".to_owned(), checks.snapshots_closed),
        ("MBO snapshots still open at the end of the input".to_owned(), checks.snapshots_open),
        ("MBO events after which the rebuilt book is crossed".to_owned(), checks.crossed),
        (
            "MBO fills (no book change: the quantity leaves with the cancel that follows)"
                .to_owned(),
            checks.fills,
        ),
    ];
    for d in 0..MBP_DEPTH {
        if checks.compared[d] > 0 {
            notes.push((
                format!(
                    "MBP records whose top {} level(s) match the MBO book (of {})",
                    d + 1,
                    checks.compared[d]
                ),
                checks.matched[d],
            ));
        }
    }
    if seqs.seen {
        notes.push((
            "sequence numbers going backwards (resets, not counted as gaps)".to_owned(),
            seqs.resets,
        ));
    }
    let mut summary = sink.finish(rows, notes)?;
    summary.skipped = skipped;
    summary.sequence_gaps = seqs.seen.then_some(seqs.gaps);
    summary.ticks = ticks;
    Ok(summary)
}

/// Continuity of the venues' message sequence numbers (MBO, MBP-1/TBBO, MBP-10 records), per
/// schema, publisher and instrument, in the order the records go on the tape.
///
/// A record whose number is the previous one's or the next is continuous (several records of
/// one venue message share its number). A jump forward by more than one is a **gap**; a step
/// back is a **reset** (the venue or a session restarted its numbering), counted apart and
/// never as a gap; the count goes on from the new number either way. Snapshot records carry the
/// numbers of the messages that placed their orders, not a position in the feed: they are not
/// checked, and the record after a snapshot starts the count anew. Venues number messages per
/// channel (CME: one channel for many instruments), so a file holding a subset of a channel's
/// messages — one instrument's MBO, or MBP records, which come only from messages that change
/// the levels they show — jumps where nothing was lost; gaps are an upper bound on loss there.
#[derive(Default)]
struct Sequences {
    last: BTreeMap<(u8, u16, u32), u32>,
    seen: bool,
    gaps: u64,
    resets: u64,
}

impl Sequences {
    fn check(&mut self, item: &Item) {
        let Some(seq) = item.sequence else { return };
        self.seen = true;
        let kind = match item.rec {
            Rec::Mbo { .. } => 0,
            Rec::Top { .. } => 1,
            _ => 2,
        };
        let key = (kind, item.publisher_id, item.instrument_id);
        if item.flags & flags::SNAPSHOT != 0 {
            self.last.remove(&key);
            return;
        }
        if let Some(prev) = self.last.insert(key, seq) {
            self.count(prev, seq);
        }
    }

    /// Counts the step from `prev` to `seq`.
    fn count(&mut self, prev: u32, seq: u32) {
        if seq < prev {
            self.resets += 1;
        } else if seq - prev > 1 {
            self.gaps += 1;
        }
    }
}

fn placeholder() -> Item {
    Item {
        instrument_id: 0,
        publisher_id: 0,
        sequence: None,
        ts_event: 0,
        ts_recv: 0,
        flags: 0,
        rec: Rec::Other("none"),
    }
}

/// Writes the pending batch; errors name the record that ended it.
fn flush(
    sink: &mut Sink,
    pending: &mut Vec<TapeEvent>,
    inputs: &[Input],
    at: (usize, u64),
) -> Result<(), ImportError> {
    if pending.is_empty() {
        return Ok(());
    }
    let (k, index) = at;
    let file = inputs.get(k).map_or_else(PathBuf::new, |i| i.path.clone());
    sink.batch_with(pending, &|reason| ImportError::Record {
        file: file.clone(),
        record: index,
        reason,
    })?;
    pending.clear();
    Ok(())
}

/// Compares the MBO book with a record's levels (best first; `None`: empty), counting per
/// depth whether levels 1..=d all match.
fn compare(book: &Book, rows: &[(Option<Level>, Option<Level>)], checks: &mut Checks) {
    let mut bids = book.levels(Side::Buy);
    let mut asks = book.levels(Side::Sell);
    let mut all = true;
    for (d, (b, a)) in rows.iter().enumerate().take(MBP_DEPTH) {
        let mine_b = bids.next().map(|l| (l.px, l.qty));
        let mine_a = asks.next().map(|l| (l.px, l.qty));
        all = all && mine_b == *b && mine_a == *a;
        checks.compared[d] += 1;
        if all {
            checks.matched[d] += 1;
        }
    }
}

/// The tape events of one MBO record (see the module documentation).
#[allow(clippy::too_many_arguments)]
fn mbo(
    st: &mut State,
    action: u8,
    side: u8,
    order_id: u64,
    px: Option<Price>,
    q: Qty,
    out: &mut Vec<MarketEvent>,
    skipped: &mut BTreeMap<String, u64>,
    checks: &mut Checks,
) -> Result<(), String> {
    let mut skip = |what: &str| *skipped.entry(what.to_owned()).or_insert(0) += 1;
    match action {
        b'R' => {
            out.push(MarketEvent::Clear);
            st.orders.clear();
        }
        b'A' | b'M' => {
            let (Some(side), Some(px)) = (side_of(side), px) else {
                skip("MBO add or modify without side or price");
                return Ok(());
            };
            match st.orders.get(&order_id).copied() {
                Some((os, op, oq)) if action == b'M' && os == side && op == px && q < oq => {
                    let d = Qty(oq.0 - q.0);
                    out.push(MarketEvent::Cancel { order_id, side, px, qty: d });
                }
                Some((os, op, oq)) if action == b'M' && os == side && op == px && q == oq => {
                    skip("MBO modify that changes nothing");
                }
                Some((os, op, oq)) => {
                    out.push(MarketEvent::Delete { order_id, side: os, px: op, qty: oq });
                    if q.0 > 0 {
                        out.push(MarketEvent::Add { order_id, side, px, qty: q });
                    }
                }
                None if q.0 > 0 => out.push(MarketEvent::Add { order_id, side, px, qty: q }),
                None => skip("MBO add or modify of size 0"),
            }
            if q.0 > 0 {
                st.orders.insert(order_id, (side, px, q));
            } else {
                st.orders.remove(&order_id);
            }
        }
        b'C' => match st.orders.get(&order_id).copied() {
            None => skip("MBO cancel of an order not on the book"),
            Some((os, op, oq)) => {
                if q >= oq {
                    out.push(MarketEvent::Delete { order_id, side: os, px: op, qty: oq });
                    st.orders.remove(&order_id);
                } else {
                    out.push(MarketEvent::Cancel { order_id, side: os, px: op, qty: q });
                    st.orders.insert(order_id, (os, op, Qty(oq.0 - q.0)));
                }
            }
        },
        b'T' => match px {
            Some(px) if q.0 > 0 => {
                out.push(MarketEvent::Trade { px, qty: q, aggressor: side_of(side) })
            }
            _ => skip("MBO trade without price or size"),
        },
        b'F' => checks.fills += 1,
        b'N' => skip("MBO record without action"),
        other => {
            return Err(format!(
                "MBO action {:?} is none of A, C, M, R, T, F, N",
                char::from(other)
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EventSource;
    use crate::tape::TapeReader;
    use dbn::encode::{DbnEncoder, EncodeRecord};
    use dbn::{FlagSet, Metadata, RecordHeader, SType, Schema, rtype};
    use std::ffi::c_char;

    const T0: u64 = 1_703_422_805_000_000_000;

    fn hd<R: dbn::HasRType>(rt: u8, id: u32, ts: u64) -> RecordHeader {
        RecordHeader::new::<R>(rt, 1, id, ts)
    }

    // One argument per field of the record, in the record's order: clearer than a builder here.
    #[allow(clippy::too_many_arguments)]
    fn mbo(
        id: u32,
        i: u64,
        action: u8,
        side: u8,
        oid: u64,
        px: i64,
        sz: u32,
        fl: u8,
    ) -> dbn::MboMsg {
        dbn::MboMsg {
            hd: hd::<dbn::MboMsg>(rtype::MBO, id, T0 + i),
            order_id: oid,
            price: px,
            size: sz,
            flags: FlagSet::new(fl),
            channel_id: 0,
            action: action as c_char,
            side: side as c_char,
            ts_recv: T0 + i + 1_000,
            ts_in_delta: 0,
            sequence: i as u32,
        }
    }

    fn write<R: dbn::encode::DbnEncodable>(path: &Path, schema: Schema, recs: &[R]) {
        let meta = Metadata::builder()
            .dataset("GLBX.MDP3")
            .schema(Some(schema))
            .start(T0)
            .stype_in(None)
            .stype_out(SType::InstrumentId)
            .build();
        let f = std::fs::File::create(path).unwrap();
        let mut enc = DbnEncoder::new(f, &meta).unwrap();
        for r in recs {
            enc.encode_record(r).unwrap();
        }
    }

    fn read(path: &Path) -> Vec<TapeEvent> {
        let mut r = TapeReader::open(path).unwrap();
        let mut all = Vec::new();
        let mut buf = Vec::new();
        while r.next_chunk(&mut buf).unwrap() {
            all.extend_from_slice(&buf);
        }
        all
    }

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("lockstep-dbn-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    const P: i64 = 4_799_000_000_000; // 4799.00 in 1e-9
    const TICK: i64 = 250_000_000;

    #[test]
    fn mbo_actions_become_l3_events_and_the_book_is_checked_against_mbp1() {
        let d = dir("mbo");
        let l = flags::LAST;
        let recs = vec![
            mbo(7, 0, b'R', b'N', 0, UNDEF_PRICE, 0, flags::SNAPSHOT),
            mbo(7, 1, b'A', b'B', 1, P, 10, flags::SNAPSHOT),
            mbo(7, 2, b'A', b'A', 2, P + TICK, 5, flags::SNAPSHOT | l),
            mbo(7, 3, b'C', b'B', 1, P, 4, l), // partial cancel
            mbo(7, 4, b'M', b'B', 1, P, 3, l), // shrink in place
            mbo(7, 5, b'M', b'A', 2, P + 2 * TICK, 5, l), // move: loses its place
            mbo(7, 6, b'T', b'B', 0, P + 2 * TICK, 2, 0),
            mbo(7, 7, b'F', b'A', 2, P + 2 * TICK, 2, 0),
            mbo(7, 8, b'C', b'A', 2, P + 2 * TICK, 2, l), // the fill's quantity leaves
            mbo(7, 9, b'C', b'B', 99, P, 1, l),           // unknown order
            mbo(7, 10, b'N', b'N', 0, UNDEF_PRICE, 0, l),
        ];
        let f = d.join("x.mbo.dbn");
        write(&f, Schema::Mbo, &recs);
        // The MBP-1 of the same instrument after record 8: bid 4799 x 3, ask 4799.5 x 3.
        let top = dbn::Mbp1Msg {
            hd: hd::<dbn::Mbp1Msg>(rtype::MBP_1, 7, T0 + 8),
            price: P,
            size: 0,
            action: b'C' as c_char,
            side: b'B' as c_char,
            flags: FlagSet::new(l),
            depth: 0,
            ts_recv: T0 + 8 + 1_000,
            ts_in_delta: 0,
            sequence: 0,
            levels: [dbn::BidAskPair {
                bid_px: P,
                ask_px: P + 2 * TICK,
                bid_sz: 3,
                ask_sz: 3,
                bid_ct: 1,
                ask_ct: 1,
            }],
        };
        let g = d.join("x.mbp-1.dbn");
        write(&g, Schema::Mbp1, &[top]);
        let out = d.join("t.tape");
        let s = import_databento(&[f.clone(), g], &out, &ImportOptions::default()).unwrap();
        let px = |p: i64| Price(p / 10);
        let q = |n: i64| Qty(n * ONE);
        let msgs: Vec<MarketEvent> = read(&out).iter().map(|e| e.msg).collect();
        assert_eq!(
            msgs,
            vec![
                MarketEvent::Clear,
                MarketEvent::Add { order_id: 1, side: Side::Buy, px: px(P), qty: q(10) },
                MarketEvent::Add { order_id: 2, side: Side::Sell, px: px(P + TICK), qty: q(5) },
                MarketEvent::Cancel { order_id: 1, side: Side::Buy, px: px(P), qty: q(4) },
                MarketEvent::Cancel { order_id: 1, side: Side::Buy, px: px(P), qty: q(3) },
                MarketEvent::Delete { order_id: 2, side: Side::Sell, px: px(P + TICK), qty: q(5) },
                MarketEvent::Add { order_id: 2, side: Side::Sell, px: px(P + 2 * TICK), qty: q(5) },
                MarketEvent::Trade { px: px(P + 2 * TICK), qty: q(2), aggressor: Some(Side::Buy) },
                MarketEvent::Cancel {
                    order_id: 2,
                    side: Side::Sell,
                    px: px(P + 2 * TICK),
                    qty: q(2)
                },
                MarketEvent::Quote {
                    bid_px: px(P),
                    bid_qty: q(3),
                    ask_px: px(P + 2 * TICK),
                    ask_qty: q(3)
                },
            ]
        );
        assert_eq!(s.rows, 12);
        assert_eq!(s.events, 10);
        assert_eq!(
            s.skipped.iter().map(|(k, v)| (k.as_str(), *v)).collect::<Vec<_>>(),
            vec![("MBO cancel of an order not on the book", 1), ("MBO record without action", 1)]
        );
        let note = |k: &str| s.notes.iter().find(|n| n.0.starts_with(k)).map(|n| n.1);
        assert_eq!(note("MBO snapshot records"), Some(3));
        assert_eq!(note("MBO snapshots closed"), Some(1));
        assert_eq!(note("MBO events after which the rebuilt book is crossed"), Some(0));
        assert_eq!(note("MBO fills"), Some(1));
        assert_eq!(note("MBP records whose top 1 level(s) match the MBO book (of 1)"), Some(1));
        assert_eq!(s.header.instruments[0].symbol, "7");
        assert_eq!(s.start_ns, Some((T0 + 1_000) as i64));
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn definitions_give_symbols_and_ticks_and_instruments_merge_by_receive_time() {
        let d = dir("defs");
        let mut def = dbn::InstrumentDefMsg {
            hd: hd::<dbn::InstrumentDefMsg>(rtype::INSTRUMENT_DEF, 9, T0),
            min_price_increment: TICK,
            ..Default::default()
        };
        for (dst, b) in def.raw_symbol.iter_mut().zip(b"ESH4") {
            *dst = *b as c_char;
        }
        let defs = d.join("def.dbn");
        write(&defs, Schema::Definition, &[def]);
        let trade = |id: u32, i: u64, px: i64| dbn::TradeMsg {
            hd: hd::<dbn::TradeMsg>(rtype::MBP_0, id, T0 + i),
            price: px,
            size: 1,
            action: b'T' as c_char,
            side: b'A' as c_char,
            flags: FlagSet::new(flags::LAST),
            depth: 0,
            ts_recv: T0 + 10 * i,
            ts_in_delta: 0,
            sequence: 0,
        };
        let a = d.join("a.dbn");
        let b = d.join("b.dbn");
        write(&a, Schema::Trades, &[trade(9, 1, P), trade(9, 3, P + TICK)]);
        write(&b, Schema::Trades, &[trade(5, 1, 1_234_500_000), trade(5, 2, 1_234_600_000)]);
        let out = d.join("t.tape");
        let s = import_databento(&[a, b, defs], &out, &ImportOptions::default()).unwrap();
        let ins: Vec<(&str, Price, u32)> = s
            .header
            .instruments
            .iter()
            .map(|i| (i.symbol.as_str(), i.tick_size, i.price_scale))
            .collect();
        assert_eq!(ins, vec![("ESH4", Price(25_000_000), 2), ("5", Price(10_000), 4)]);
        let order: Vec<(u16, i64)> =
            read(&out).iter().map(|e| (e.instrument, e.local_ts.0)).collect();
        let t = |i: u64| (T0 + 10 * i) as i64;
        // Equal receive times: the file given first goes first.
        assert_eq!(order, vec![(0, t(1)), (1, t(1)), (1, t(2)), (0, t(3))]);
        std::fs::remove_dir_all(&d).unwrap();
    }

    /// An MBP-10 record of instrument 3 at `i` with `sequence`, the given levels (bid px, bid
    /// size, ask px, ask size; the rest empty), and a trade when `trade` is set.
    fn mbp10(
        i: u64,
        sequence: u32,
        levels: &[(i64, u32, i64, u32)],
        trade: Option<(i64, u32)>,
    ) -> dbn::Mbp10Msg {
        let mut m = dbn::Mbp10Msg {
            hd: hd::<dbn::Mbp10Msg>(rtype::MBP_10, 3, T0 + i),
            price: trade.map_or(UNDEF_PRICE, |t| t.0),
            size: trade.map_or(0, |t| t.1),
            action: (if trade.is_some() { b'T' } else { b'A' }) as c_char,
            side: b'B' as c_char,
            flags: FlagSet::new(flags::LAST),
            depth: 0,
            ts_recv: T0 + i + 1_000,
            ts_in_delta: 0,
            sequence,
            levels: std::array::from_fn(|_| dbn::BidAskPair {
                bid_px: UNDEF_PRICE,
                ask_px: UNDEF_PRICE,
                ..Default::default()
            }),
        };
        for (d, &(bp, bs, ap, as_)) in m.levels.iter_mut().zip(levels) {
            *d = dbn::BidAskPair {
                bid_px: bp,
                ask_px: ap,
                bid_sz: bs,
                ask_sz: as_,
                bid_ct: 1,
                ask_ct: 1,
            };
        }
        m
    }

    #[test]
    fn mbp10_records_rebuild_the_top_ten_levels_and_sequence_gaps_are_counted() {
        let d = dir("mbp10");
        let lv = |k: i64, bs: u32, as_: u32| (P - k * TICK, bs, P + (k + 1) * TICK, as_);
        // Ten levels a side; then level 3 of the bid changes size, the best ask leaves (the
        // others move up and an eleventh comes into view), and a trade prints; then the book
        // thins to two levels a side.
        let full: Vec<_> = (0..10).map(|k| lv(k, 10 + k as u32, 20 + k as u32)).collect();
        let mut moved = full.clone();
        moved[3].1 = 99;
        for (k, l) in moved.iter_mut().enumerate() {
            l.2 = P + (k as i64 + 2) * TICK;
            l.3 = 20 + k as u32 + 1;
        }
        let thin: Vec<_> = full[..2].to_vec();
        // Sequences: 100, 101 (continuous), 105 (a gap), 105 (same message), 90 (a reset).
        let recs = vec![
            mbp10(0, 100, &full, None),
            mbp10(1, 101, &moved, Some((P + TICK, 5))),
            mbp10(2, 105, &thin, None),
            mbp10(3, 105, &thin, None),
            mbp10(4, 90, &full, None),
        ];
        let f = d.join("x.mbp-10.dbn");
        write(&f, Schema::Mbp10, &recs);
        let out = d.join("t.tape");
        let s =
            import_databento(std::slice::from_ref(&f), &out, &ImportOptions::default()).unwrap();
        assert_eq!(s.sequence_gaps, Some(1));
        let note = |k: &str| s.notes.iter().find(|n| n.0.starts_with(k)).map(|n| n.1);
        assert_eq!(note("sequence numbers going backwards"), Some(1));
        // No definition: the tick is the GCD of every level's and the trade's price.
        assert_eq!(s.ticks[0].source, TickSource::Inferred);
        assert_eq!(s.header.instruments[0].tick_size, Price(TICK / 10));
        // Replay the tape's events record by record; after each, the book's levels are the
        // record's.
        let tape = read(&out);
        let mut book = Book::new();
        let mut at = 0;
        let q = |n: u32| Qty(i64::from(n) * ONE);
        for (r, rec) in recs.iter().enumerate() {
            let mut trades = Vec::new();
            // The fourth record repeats the third: it changes nothing and writes no event.
            let mut more = r != 3;
            while more {
                let e = tape[at];
                at += 1;
                if let MarketEvent::Trade { px, qty, .. } = e.msg {
                    trades.push((px, qty));
                }
                book.apply(&e.msg);
                more = e.flags & crate::tape::FLAG_MORE != 0;
            }
            let want = |bid: bool| -> Vec<(Price, Qty)> {
                rec.levels
                    .iter()
                    .filter(|l| if bid { l.bid_px != UNDEF_PRICE } else { l.ask_px != UNDEF_PRICE })
                    .map(|l| {
                        if bid {
                            (Price(l.bid_px / 10), q(l.bid_sz))
                        } else {
                            (Price(l.ask_px / 10), q(l.ask_sz))
                        }
                    })
                    .collect()
            };
            let got = |side| book.levels(side).map(|l| (l.px, l.qty)).collect::<Vec<_>>();
            assert_eq!(got(Side::Buy), want(true), "record {r}");
            assert_eq!(got(Side::Sell), want(false), "record {r}");
            let want_trades: Vec<(Price, Qty)> =
                if r == 1 { vec![(Price((P + TICK) / 10), q(5))] } else { Vec::new() };
            assert_eq!(trades, want_trades, "record {r}");
        }
        assert_eq!(at, tape.len());
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn without_a_definition_the_tick_is_the_gcd_of_the_prices() {
        let d = dir("gcd");
        let l = flags::LAST;
        // ES-like prices a quarter apart; the finest decimals (2) would say 0.01.
        let recs = vec![
            mbo(4, 0, b'A', b'B', 1, P, 1, l),
            mbo(4, 1, b'A', b'A', 2, P + 3 * TICK, 1, l),
            mbo(4, 2, b'A', b'B', 3, P - 5 * TICK, 1, l),
        ];
        let f = d.join("m.dbn");
        write(&f, Schema::Mbo, &recs);
        let s = import_databento(&[f], &d.join("t.tape"), &ImportOptions::default()).unwrap();
        assert_eq!(s.header.instruments[0].tick_size, Price::parse("0.25").unwrap());
        assert_eq!(s.header.instruments[0].price_scale, 2);
        assert_eq!(
            s.ticks,
            vec![TickChoice {
                instrument: 0,
                tick: Price::parse("0.25").unwrap(),
                source: TickSource::Inferred,
                prices: 3
            }]
        );
        assert_eq!(s.sequence_gaps, Some(0));
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn sequence_steps_gaps_and_resets() {
        let mut q = Sequences::default();
        for (prev, seq) in [(5, 5), (5, 6), (5, 7), (5, 4), (u32::MAX, 0), (0, u32::MAX)] {
            q.count(prev, seq);
        }
        assert_eq!((q.gaps, q.resets), (2, 2));
    }

    #[test]
    fn prices_beyond_the_tapes_precision_are_refused_with_the_record() {
        let d = dir("px");
        let f = d.join("m.dbn");
        write(&f, Schema::Mbo, &[mbo(1, 0, b'A', b'B', 1, P + 3, 1, flags::LAST)]);
        let e = import_databento(&[f], &d.join("t.tape"), &ImportOptions::default())
            .unwrap_err()
            .to_string();
        assert!(e.ends_with("m.dbn: record 1: price 4799000000003 (units of 1e-9) has more than the tape's 8 decimal places"), "{e}");
        let g = d.join("not.dbn");
        std::fs::write(&g, b"hello").unwrap();
        let e = import_databento(&[g], &d.join("t.tape"), &ImportOptions::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a readable DBN file"), "{e}");
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn tick_decimals_of_databento_prices() {
        assert_eq!(tick_decimals(250_000_000), 2);
        assert_eq!(tick_decimals(1_000_000_000), 0);
        assert_eq!(tick_decimals(10_000), 5);
        assert_eq!(tick_decimals(1), 9);
    }
}
