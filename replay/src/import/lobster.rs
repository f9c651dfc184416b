//! LOBSTER message and orderbook files (NASDAQ TotalView-ITCH rebuilt by LOBSTER).
//!
//! Message rows are `time,type,order_id,size,price,direction`: time in decimal seconds after
//! midnight, price in dollars × 10000, direction 1 (buy order) or -1 (sell order). Orderbook
//! rows hold `ask_px,ask_size,bid_px,bid_size` for each level, after the message of the same
//! row.
//!
//! A level-`k` message file only lists events that touched the top `k` levels, so a book built
//! from messages alone drifts: an order cancelled while it sat deeper is never removed, and a
//! level that moves up from beyond the depth is unknown. With the orderbook file the importer
//! therefore *reconciles*: it seeds the opening book from the first row (orders placed before
//! 09:30 are unknown by id, so their quantity becomes unattributed level quantity), and after
//! every message whose result differs from the file it appends absolute level updates that
//! make the book equal LOBSTER's (in the same batch, so strategies see LOBSTER's book).
//! `replay book-check` reports how often that is needed and why.

use super::{
    ImportError, ImportOptions, ImportSummary, Lines, Sink, TickChoice, TickGcd, TickSource,
    parse_seconds_ns, quoted,
};
use crate::book::Book;
use crate::tape::MAX_INSTRUMENTS;
use crate::tape::{InstrumentInfo, MarketEvent, TapeEvent, TapeHeader};
use lockstep_sdk::{Nanos, ONE, Price, Qty, Side};
use std::path::{Path, PathBuf};

/// LOBSTER prices are dollars × 10^4; tape prices are × 10^8.
const PRICE_MUL: i64 = 10_000;
/// LOBSTER's placeholder price for an empty ask level.
const DUMMY_ASK: i64 = 9_999_999_999;

/// One message row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Msg {
    pub(crate) ts: i64,
    pub(crate) kind: u8,
    pub(crate) id: u64,
    pub(crate) size: i64,
    pub(crate) price: i64,
    pub(crate) dir: i8,
}

impl Msg {
    pub(crate) fn side(&self) -> Side {
        if self.dir > 0 { Side::Buy } else { Side::Sell }
    }
}

fn price(raw: i64) -> Option<Price> {
    raw.checked_mul(PRICE_MUL).map(Price)
}

fn qty(shares: i64) -> Option<Qty> {
    shares.checked_mul(ONE).map(Qty)
}

/// Parses a message row.
pub(crate) fn parse_message(lines: &Lines, text: &str) -> Result<Msg, ImportError> {
    let mut it = text.split(',');
    let mut next = |name: &str| {
        it.next().map(str::trim).ok_or_else(|| {
            lines.err(format!("expected 6 comma-separated fields (time,type,id,size,price,direction); `{name}` is missing"))
        })
    };
    let (t, k, id, sz, px, dir) = (
        next("time")?,
        next("type")?,
        next("order id")?,
        next("size")?,
        next("price")?,
        next("direction")?,
    );
    if it.next().is_some() {
        return Err(lines.err("more than 6 fields in a message row"));
    }
    let ts = parse_seconds_ns(t).ok_or_else(|| {
        lines.err(format!(
            "time {} is not decimal seconds (places beyond the ninth are rounded to the nearest ns)",
            quoted(t)
        ))
    })?;
    let kind: u8 =
        k.parse().map_err(|_| lines.err(format!("event type {} is not a number", quoted(k))))?;
    if !matches!(kind, 1..=7) {
        return Err(lines.err(format!("unknown LOBSTER event type {kind} (expected 1-7)")));
    }
    let raw_id: i64 =
        id.parse().map_err(|_| lines.err(format!("order id {} is not a number", quoted(id))))?;
    // Hidden executions, cross trades and halts name no resting order; some files write 0,
    // others -1 there.
    let id = match u64::try_from(raw_id) {
        Ok(v) => v,
        Err(_) if kind >= 5 => 0,
        Err(_) => {
            return Err(lines.err(format!("order id {raw_id} is negative on a type {kind} row")));
        }
    };
    let size: i64 =
        sz.parse().map_err(|_| lines.err(format!("size {} is not an integer", quoted(sz))))?;
    let price: i64 =
        px.parse().map_err(|_| lines.err(format!("price {} is not an integer", quoted(px))))?;
    let dir: i8 = match dir {
        "1" => 1,
        "-1" => -1,
        other => return Err(lines.err(format!("direction {} is neither 1 nor -1", quoted(other)))),
    };
    if kind != 7 && size <= 0 {
        return Err(lines.err(format!("size {size} is not positive")));
    }
    if kind != 7 && price <= 0 {
        return Err(lines.err(format!("price {price} is not positive")));
    }
    Ok(Msg { ts, kind, id, size, price, dir })
}

/// The tape event for a message.
pub(crate) fn to_event(lines: &Lines, m: &Msg) -> Result<MarketEvent, ImportError> {
    let overflow = || lines.err("price or size out of range");
    let side = m.side();
    let px = || price(m.price).ok_or_else(overflow);
    let q = || qty(m.size).ok_or_else(overflow);
    Ok(match m.kind {
        1 => MarketEvent::Add { order_id: m.id, side, px: px()?, qty: q()? },
        2 => MarketEvent::Cancel { order_id: m.id, side, px: px()?, qty: q()? },
        3 => MarketEvent::Delete { order_id: m.id, side, px: px()?, qty: q()? },
        4 => MarketEvent::Execute { order_id: m.id, side, px: px()?, qty: q()? },
        5 => MarketEvent::HiddenExecute { side, px: px()?, qty: q()? },
        6 => MarketEvent::Trade { px: px()?, qty: q()?, aggressor: None },
        _ => MarketEvent::Status { code: m.price.clamp(-1, 1) as i8 },
    })
}

/// One orderbook row: levels best first, `(price ×10^4, size)`; dummy levels dropped.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct BookRow {
    pub(crate) asks: Vec<(i64, i64)>,
    pub(crate) bids: Vec<(i64, i64)>,
}

impl BookRow {
    pub(crate) fn side(&self, side: Side) -> &[(i64, i64)] {
        match side {
            Side::Buy => &self.bids,
            Side::Sell => &self.asks,
        }
    }
    fn side_mut(&mut self, side: Side) -> &mut Vec<(i64, i64)> {
        match side {
            Side::Buy => &mut self.bids,
            Side::Sell => &mut self.asks,
        }
    }
}

/// Parses an orderbook row into `row` (reusing its buffers); returns the number of levels.
pub(crate) fn parse_book_row(
    lines: &Lines,
    text: &str,
    row: &mut BookRow,
) -> Result<usize, ImportError> {
    row.asks.clear();
    row.bids.clear();
    let mut n = 0usize;
    let mut vals = [0i64; 4];
    let mut fields = text.split(',');
    while let Some(first) = fields.next() {
        vals[0] = first.trim().parse().map_err(|_| {
            lines.err(format!("orderbook field {} is not an integer", quoted(first)))
        })?;
        for (k, v) in vals.iter_mut().enumerate().skip(1) {
            let f = fields.next().ok_or_else(|| {
                lines.err(format!("orderbook row has {} fields, not a multiple of 4", n * 4 + k))
            })?;
            *v = f.trim().parse().map_err(|_| {
                lines.err(format!("orderbook field {} is not an integer", quoted(f)))
            })?;
        }
        let [ap, asz, bp, bsz] = vals;
        for (what, p, sz, dummy) in [("ask", ap, asz, DUMMY_ASK), ("bid", bp, bsz, -DUMMY_ASK)] {
            if p != dummy && sz > 0 && (p <= 0 || price(p).is_none() || qty(sz).is_none()) {
                return Err(lines.err(format!(
                    "orderbook level {} {what}: price {p} or size {sz} is out of range",
                    n + 1
                )));
            }
        }
        if ap != DUMMY_ASK && asz > 0 {
            row.asks.push((ap, asz));
        }
        if bp != -DUMMY_ASK && bsz > 0 {
            row.bids.push((bp, bsz));
        }
        n += 1;
    }
    if n == 0 {
        return Err(lines.err("empty orderbook row"));
    }
    Ok(n)
}

/// The book just before message `m`, given the orderbook row just after it: the row with the
/// message's effect undone. This is the state the data window opened on.
pub(crate) fn undo(row: &BookRow, m: &Msg) -> BookRow {
    let mut before = row.clone();
    let delta = match m.kind {
        1 => -m.size,
        2..=4 => m.size,
        _ => 0,
    };
    if delta != 0 {
        let side = m.side();
        let v = before.side_mut(side);
        let better = |a: i64, b: i64| if side == Side::Buy { a > b } else { a < b };
        match v.iter().position(|&(p, _)| p == m.price) {
            Some(i) => {
                v[i].1 = v[i].1.saturating_add(delta);
                if v[i].1 <= 0 {
                    v.remove(i);
                }
            }
            None if delta > 0 => {
                let at = v.iter().position(|&(p, _)| better(m.price, p)).unwrap_or(v.len());
                v.insert(at, (m.price, delta));
            }
            None => {}
        }
    }
    before
}

/// Tape events (absolute level sizes) that set the book to `row`.
pub(crate) fn seed_events(row: &BookRow, ts: i64) -> Vec<TapeEvent> {
    let mut out = Vec::new();
    for side in [Side::Buy, Side::Sell] {
        for &(p, s) in row.side(side) {
            if let (Some(px), Some(qty)) = (price(p), qty(s)) {
                out.push(TapeEvent::new(
                    Nanos(ts),
                    Nanos(ts),
                    0,
                    MarketEvent::Level { side, px, qty },
                ));
            }
        }
    }
    out
}

/// Keeps a book equal to LOBSTER's orderbook rows: applies messages, then computes and
/// applies the level updates (if any) that make the book match the row.
pub(crate) struct Reconciler {
    pub(crate) book: Book,
    stale: Vec<(Side, Price)>,
    /// Per side (buy, sell): the worst price the previous row showed, or `None` when it showed
    /// the whole side.
    prev_worst: [Option<i64>; 2],
    /// Levels whose order ids were forgotten on coming back into view.
    pub(crate) forgotten: u64,
    /// Rows that needed corrections (level updates or forgotten ids).
    pub(crate) rows_corrected: u64,
    /// Level updates emitted.
    pub(crate) corrections: u64,
}

impl Reconciler {
    pub(crate) fn new() -> Self {
        Self {
            book: Book::new(),
            stale: Vec::new(),
            prev_worst: [None; 2],
            forgotten: 0,
            rows_corrected: 0,
            corrections: 0,
        }
    }

    /// Whether the previous row showed the price `px` (raw tape price) on `side`.
    pub(crate) fn was_in_view(&self, side: Side, px: i64) -> bool {
        match self.prev_worst[side as usize - 1] {
            None => true,
            Some(w) => px == w || (side == Side::Buy) == (px > w),
        }
    }

    /// Appends to `out` the level updates that make the book equal `row` over the price range
    /// the row covers, and applies them. Levels beyond the row's depth are left as the
    /// messages made them (the file does not show them). Returns how many were needed.
    pub(crate) fn reconcile(
        &mut self,
        row: &BookRow,
        file_levels: usize,
        ts: i64,
        out: &mut Vec<TapeEvent>,
    ) -> usize {
        let start = out.len();
        for side in [Side::Buy, Side::Sell] {
            let file = row.side(side);
            // A side showing fewer levels than the file's depth shows all of its levels.
            let worst = (file.len() >= file_levels)
                .then(|| file.last().map(|&(p, _)| p * PRICE_MUL))
                .flatten();
            let within = |bound: Option<i64>, px: i64| match bound {
                None => true,
                Some(w) => px == w || (side == Side::Buy) == (px > w),
            };
            let prev = self.prev_worst[side as usize - 1];
            self.prev_worst[side as usize - 1] = worst;
            // Levels coming back into view: while they lay beyond the file's depth their
            // orders may have been cancelled or executed unseen, so their ids are forgotten.
            self.stale.clear();
            for l in self.book.levels(side) {
                if !within(worst, l.px.0) {
                    break;
                }
                if !within(prev, l.px.0) && self.book.unattributed_at(side, l.px) != l.qty {
                    self.stale.push((side, l.px));
                }
            }
            for i in 0..self.stale.len() {
                let (side, px) = self.stale[i];
                out.push(TapeEvent::new(Nanos(ts), Nanos(ts), 0, MarketEvent::Forget { side, px }));
                self.forgotten += 1;
            }
            self.stale.clear();
            for l in self.book.levels(side) {
                if !within(worst, l.px.0) {
                    break;
                }
                if !file.iter().any(|&(p, _)| p * PRICE_MUL == l.px.0) {
                    self.stale.push((side, l.px));
                }
            }
            for i in 0..self.stale.len() {
                let (side, px) = self.stale[i];
                out.push(TapeEvent::new(
                    Nanos(ts),
                    Nanos(ts),
                    0,
                    MarketEvent::Level { side, px, qty: Qty::ZERO },
                ));
            }
            for &(p, s) in file {
                let (px, qty) = (Price(p * PRICE_MUL), Qty(s * ONE));
                if self.book.qty_at(side, px) != qty {
                    out.push(TapeEvent::new(
                        Nanos(ts),
                        Nanos(ts),
                        0,
                        MarketEvent::Level { side, px, qty },
                    ));
                }
            }
        }
        for e in &out[start..] {
            self.book.apply(&e.msg);
        }
        let n = out.len() - start;
        if n > 0 {
            self.rows_corrected += 1;
            self.corrections += n as u64;
        }
        n
    }
}

/// The symbol a LOBSTER file name starts with (`GOOG_2012-06-21_..._message_5.csv` → `GOOG`).
pub(crate) fn symbol_from(path: &Path) -> String {
    path.file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.split('_').next())
        .filter(|s| !s.is_empty())
        .unwrap_or("LOBSTER")
        .to_owned()
}

/// The trading day a LOBSTER file name gives (`GOOG_2012-06-21_...` → `2012-06-21`), if any.
fn day_from(path: &Path) -> Option<&str> {
    let name = path.file_name()?.to_str()?;
    let day = name.split('_').nth(1)?;
    let b = day.as_bytes();
    (b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter().enumerate().all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit()))
    .then_some(day)
}

/// Why `orderbook` cannot be the orderbook file of `message`, when both carry LOBSTER's names
/// (`<stem>_message_<N>.csv` and `<stem>_orderbook_<N>.csv`) and these differ.
fn pairing_mismatch(message: &Path, orderbook: &Path) -> Option<String> {
    let m = message.file_name()?.to_str()?;
    let o = orderbook.file_name()?.to_str()?;
    let expected = m.replacen("_message_", "_orderbook_", 1);
    (m.contains("_message_") && o.contains("_orderbook_") && o != expected).then(|| {
        format!(
            "is not the orderbook file of {} (LOBSTER names that {expected}); give the \
             orderbook files in the order of their message files, one per message file",
            quoted(m)
        )
    })
}

/// One LOBSTER input of an import: a message file, the orderbook file of the same rows if any,
/// and its instrument's symbol and tick.
///
/// Inputs with the same symbol are one instrument (a day split into several files, given in
/// time order); inputs with different symbols are different instruments of one tape.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LobsterInput {
    /// The message file (`…_message_N.csv`, plain or gzip).
    pub message: PathBuf,
    /// Its orderbook file (`…_orderbook_N.csv`): seeds the opening book and keeps the book
    /// equal to LOBSTER's.
    pub orderbook: Option<PathBuf>,
    /// The instrument's symbol (`None`: the message file name's prefix, `GOOG` for
    /// `GOOG_2012-06-21_…`).
    pub symbol: Option<String>,
    /// The instrument's tick size (`None`: inferred from the data, see [`import_lobster`]).
    /// Inputs of one symbol that give a tick must give the same one.
    pub tick: Option<Price>,
}

impl LobsterInput {
    /// A message file alone: symbol from its name, tick inferred.
    pub fn new(message: impl Into<PathBuf>) -> Self {
        Self { message: message.into(), ..Self::default() }
    }

    /// The same input with its orderbook file.
    pub fn with_orderbook(mut self, orderbook: impl Into<PathBuf>) -> Self {
        self.orderbook = Some(orderbook.into());
        self
    }
}

/// An instrument of a LOBSTER import: its inputs' shared state.
struct Instrument {
    symbol: String,
    /// The tick given by one of its inputs, and which.
    given: Option<(Price, usize)>,
    /// Whether any of its inputs has an orderbook file (the reconciler's book is then kept).
    has_book: bool,
    /// Whether a row of it has been written (the opening book is seeded before the first).
    started: bool,
    /// Levels per orderbook row (0 until the first orderbook row).
    file_levels: usize,
    rec: Reconciler,
}

/// One input being merged: its files and its current message row.
struct Source {
    msgs: Lines,
    book: Option<Lines>,
    instrument: u16,
    /// The current row (parsed from `msgs`'s current line); `None` at the end.
    cur: Option<Msg>,
    rows: u64,
}

impl Source {
    /// Moves to the next non-empty message row, checking that time does not go backwards.
    fn advance(&mut self) -> Result<(), ImportError> {
        let prev = self.cur.map(|m| m.ts);
        loop {
            if !self.msgs.next_line()? {
                self.cur = None;
                return Ok(());
            }
            let text = self.msgs.text();
            if text.trim().is_empty() {
                continue;
            }
            let m = parse_message(&self.msgs, text)?;
            if let Some(p) = prev
                && m.ts < p
            {
                return Err(self.msgs.err(format!(
                    "time goes backwards ({} ns after {p} ns); LOBSTER files are in time order",
                    m.ts
                )));
            }
            self.cur = Some(m);
            return Ok(());
        }
    }
}

/// Adds the limit prices of a message file and its orderbook file to `g` (see
/// [`import_lobster`]).
fn scan_prices(
    message: &Path,
    orderbook: Option<&Path>,
    g: &mut TickGcd,
) -> Result<(), ImportError> {
    let mut msgs = Lines::open(message)?;
    while msgs.next_line()? {
        let text = msgs.text();
        if text.trim().is_empty() {
            continue;
        }
        let m = parse_message(&msgs, text)?;
        if matches!(m.kind, 1..=4) {
            g.observe(m.price);
        }
    }
    if let Some(ob) = orderbook {
        let mut book = Lines::open(ob)?;
        let mut row = BookRow::default();
        while book.next_line()? {
            parse_book_row(&book, book.text(), &mut row)?;
            for &(p, _) in row.asks.iter().chain(&row.bids) {
                g.observe(p);
            }
        }
    }
    Ok(())
}

/// Imports LOBSTER message files (each with its orderbook file, if given, to seed the opening
/// book and keep the book equal to LOBSTER's) into one tape.
///
/// Timestamps are nanoseconds after midnight of the files' trading day; exchange and local
/// time are the same (LOBSTER records one time). Prices keep their exact value (× 10^4 on the
/// file, × 10^8 on the tape); sizes are shares. Several inputs are merged by time, the input
/// given first going first on equal times; each distinct symbol is one instrument, in order of
/// first appearance. Files whose names give different trading days are refused (their times
/// would interleave), as is an orderbook file whose LOBSTER name is not its message file's.
///
/// **Tick size.** The input's tick when given, else the greatest common divisor of the
/// instrument's limit prices: those of the orders the book holds, i.e. submissions,
/// cancellations, deletions and visible executions (types 1-4) and the orderbook files'
/// levels. Hidden executions (type 5) and cross trades (type 6) are left out: NASDAQ fills
/// hidden midpoint orders at half a cent (GOOG 2012-06-21 has 50 such fills), which is no price
/// an order can rest at. Message prices off the tick are counted in a note. An inferred tick is
/// never finer than LOBSTER's price unit ($0.0001), and every limit price is a whole number of
/// ticks. The summary's `ticks` says how each was chosen.
///
/// # Errors
/// [`ImportError`] naming the file and line of the first malformed row, or an I/O error.
pub fn import_lobster(
    inputs: &[LobsterInput],
    out: &Path,
    opts: &ImportOptions,
) -> Result<ImportSummary, ImportError> {
    if inputs.is_empty() {
        return Err(ImportError::Format {
            file: out.to_path_buf(),
            reason: "no message files given".into(),
        });
    }
    let format =
        |file: &Path, reason: String| ImportError::Format { file: file.to_path_buf(), reason };
    let first_day = inputs.iter().find_map(|i| day_from(&i.message).map(|d| (d, &i.message)));
    let mut instruments: Vec<Instrument> = Vec::new();
    let mut of_input: Vec<u16> = Vec::with_capacity(inputs.len());
    for (k, input) in inputs.iter().enumerate() {
        if let Some(ob) = &input.orderbook
            && let Some(why) = pairing_mismatch(&input.message, ob)
        {
            return Err(format(ob, why));
        }
        if let (Some((day, file)), Some(d)) = (first_day, day_from(&input.message))
            && d != day
        {
            return Err(format(
                &input.message,
                format!(
                    "is of {d}, {} of {day}; LOBSTER times are seconds after midnight, so days \
                     cannot share a tape: import each day separately",
                    quoted(file.file_name().and_then(|n| n.to_str()).unwrap_or("?"))
                ),
            ));
        }
        let symbol = input.symbol.clone().unwrap_or_else(|| symbol_from(&input.message));
        let i = match instruments.iter().position(|x| x.symbol == symbol) {
            Some(i) => i,
            None => {
                if instruments.len() >= MAX_INSTRUMENTS {
                    return Err(format(
                        &input.message,
                        format!(
                            "more than {MAX_INSTRUMENTS} symbols, the most a tape can hold; \
                             split the input"
                        ),
                    ));
                }
                instruments.push(Instrument {
                    symbol,
                    given: None,
                    has_book: false,
                    started: false,
                    file_levels: 0,
                    rec: Reconciler::new(),
                });
                instruments.len() - 1
            }
        };
        let ins = &mut instruments[i];
        ins.has_book |= input.orderbook.is_some();
        if let Some(t) = input.tick {
            match ins.given {
                Some((g, at)) if g != t => {
                    return Err(format(
                        &input.message,
                        format!(
                            "tick {t} for {}, but input {} gives it tick {g}; give one tick per \
                             symbol",
                            ins.symbol,
                            at + 1
                        ),
                    ));
                }
                Some(_) => {}
                None => ins.given = Some((t, k)),
            }
        }
        of_input.push(i as u16);
    }
    // First pass, for the instruments whose tick is not given: their limit prices.
    let mut ticks: Vec<TickChoice> = Vec::with_capacity(instruments.len());
    for (i, ins) in instruments.iter().enumerate() {
        let choice = match ins.given {
            Some((tick, _)) => {
                TickChoice { instrument: i as u16, tick, source: TickSource::Given, prices: 0 }
            }
            None => {
                let mut g = TickGcd::default();
                for (input, _) in
                    inputs.iter().zip(&of_input).filter(|(_, x)| usize::from(**x) == i)
                {
                    scan_prices(&input.message, input.orderbook.as_deref(), &mut g)?;
                }
                TickChoice {
                    instrument: i as u16,
                    // Only halt rows: no price to infer from, LOBSTER's unit.
                    tick: g.tick(PRICE_MUL).unwrap_or(Price(PRICE_MUL)),
                    source: TickSource::Inferred,
                    prices: g.prices(),
                }
            }
        };
        ticks.push(choice);
    }
    let messages: Vec<PathBuf> = inputs.iter().map(|i| i.message.clone()).collect();
    let orderbooks: Vec<PathBuf> = inputs.iter().filter_map(|i| i.orderbook.clone()).collect();
    let mut source = super::source_name("LOBSTER", &messages);
    if !orderbooks.is_empty() {
        source = format!("{source} {}", super::source_name("seeded from", &orderbooks));
    }
    let header = TapeHeader::new(
        source,
        instruments
            .iter()
            .zip(&ticks)
            .enumerate()
            .map(|(i, (ins, t))| InstrumentInfo {
                id: i as u16,
                symbol: ins.symbol.clone(),
                venue: "NASDAQ (LOBSTER)".into(),
                tick_size: t.tick,
                price_scale: 4,
            })
            .collect(),
    );
    let mut sink = Sink::create(out, header, opts)?;
    let mut srcs = Vec::with_capacity(inputs.len());
    for (input, &instrument) in inputs.iter().zip(&of_input) {
        let mut s = Source {
            msgs: Lines::open(&input.message)?,
            book: input.orderbook.as_deref().map(Lines::open).transpose()?,
            instrument,
            cur: None,
            rows: 0,
        };
        s.advance()?;
        if s.cur.is_none() {
            return Err(format(&input.message, "message file holds no rows".into()));
        }
        srcs.push(s);
    }
    let mut row = BookRow::default();
    let mut batch: Vec<TapeEvent> = Vec::new();
    let (mut seeded, mut off_tick) = (0u64, 0u64);
    while let Some(k) = super::earliest(srcs.iter().map(|s| s.cur.map(|m| m.ts))) {
        let src = &mut srcs[k];
        let Some(m) = src.cur else { break };
        src.rows += 1;
        let i = src.instrument;
        let ins = &mut instruments[usize::from(i)];
        if m.kind != 7 && price(m.price).is_some_and(|p| p.0 % ticks[usize::from(i)].tick.0 != 0) {
            off_tick += 1;
        }
        let ev = TapeEvent::new(Nanos(m.ts), Nanos(m.ts), i, to_event(&src.msgs, &m)?);
        batch.clear();
        match src.book.as_mut() {
            None => {
                if ins.has_book {
                    ins.rec.book.apply(&ev.msg);
                }
                batch.push(ev);
            }
            Some(b) => {
                if !b.next_line()? {
                    return Err(b.err(format!(
                        "orderbook file ends after {} rows but the message file goes on",
                        src.rows - 1
                    )));
                }
                let n = parse_book_row(b, b.text(), &mut row)?;
                if !ins.started {
                    batch = seed_events(&undo(&row, &m), m.ts);
                    seeded += batch.len() as u64;
                    for e in &batch {
                        ins.rec.book.apply(&e.msg);
                    }
                }
                if ins.file_levels == 0 {
                    ins.file_levels = n;
                } else if n != ins.file_levels {
                    return Err(b.err(format!(
                        "row has {n} levels, the first orderbook row of {} {}",
                        ins.symbol, ins.file_levels
                    )));
                }
                ins.rec.book.apply(&ev.msg);
                batch.push(ev);
                ins.rec.reconcile(&row, ins.file_levels, m.ts, &mut batch);
                for e in &mut batch {
                    e.instrument = i;
                }
            }
        }
        ins.started = true;
        sink.batch(&mut batch, &src.msgs)?;
        src.advance()?;
    }
    for (s, input) in srcs.iter_mut().zip(inputs) {
        if let Some(b) = s.book.as_mut()
            && b.next_line()?
        {
            return Err(b.err(format!(
                "orderbook file has more rows than the {} messages of {}",
                s.rows,
                quoted(input.message.file_name().and_then(|n| n.to_str()).unwrap_or("?"))
            )));
        }
    }
    let rows = srcs.iter().map(|s| s.rows).sum();
    let mut notes = Vec::new();
    if inputs.iter().any(|i| i.orderbook.is_some()) {
        let sum = |f: fn(&Reconciler) -> u64| instruments.iter().map(|x| f(&x.rec)).sum::<u64>();
        let forgotten = sum(|r| r.forgotten);
        notes = vec![
            ("opening levels seeded from the orderbook file".to_owned(), seeded),
            (
                "messages followed by corrections to match LOBSTER's orderbook".to_owned(),
                sum(|r| r.rows_corrected),
            ),
            (
                "level size updates added to match LOBSTER's orderbook".to_owned(),
                sum(|r| r.corrections) - forgotten,
            ),
            (
                "levels back in view whose order ids were forgotten (events beyond the depth are missing)".to_owned(),
                forgotten,
            ),
        ];
    }
    if off_tick > 0 {
        notes.push((
            "message prices off the tick (hidden executions at the midpoint, or --tick too coarse)"
                .to_owned(),
            off_tick,
        ));
    }
    let mut summary = sink.finish(rows, notes)?;
    summary.ticks = ticks;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines() -> Lines {
        // A Lines over a file that exists, only used for error construction.
        Lines::open(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml").as_path()).unwrap()
    }

    #[test]
    fn parses_rows_and_rejects_bad_ones() {
        let l = lines();
        let m = parse_message(&l, "34200.18960767,1,11885113,21,5794000,1").unwrap();
        assert_eq!(
            m,
            Msg {
                ts: 34_200_189_607_670,
                kind: 1,
                id: 11_885_113,
                size: 21,
                price: 5_794_000,
                dir: 1
            }
        );
        assert_eq!(
            to_event(&l, &m).unwrap(),
            MarketEvent::Add {
                order_id: 11_885_113,
                side: Side::Buy,
                px: Price(57_940_000_000),
                qty: Qty(21 * ONE)
            }
        );
        for bad in [
            "34200.1,9,1,1,1,1",
            "34200.1,1,1,1,1,0",
            "34200.1,1,1,1,1",
            "34200.1,1,1,-5,1,1",
            "3e4,1,1,1,1,1",
            "34200.1,1,1,1,1,1,1",
        ] {
            let e = parse_message(&l, bad).unwrap_err().to_string();
            assert!(e.contains("Cargo.toml:0"), "{bad}: {e}");
        }
    }

    #[test]
    fn every_event_type_and_long_time_fractions() {
        let l = lines();
        let ev = |row: &str| to_event(&l, &parse_message(&l, row).unwrap()).unwrap();
        // Float artefacts beyond nine places: rounded to the nearest nanosecond.
        let m = parse_message(&l, "34200.0151050739999999,1,7,100,5794000,1").unwrap();
        assert_eq!(m.ts, 34_200_015_105_074);
        let m = parse_message(&l, "34713.685155243000000012,3,7,100,5794000,-1").unwrap();
        assert_eq!(m.ts, 34_713_685_155_243);
        let px = Price(57_940_000_000);
        let q = Qty(100 * ONE);
        assert_eq!(
            ev("34200.1,2,7,100,5794000,-1"),
            MarketEvent::Cancel { order_id: 7, side: Side::Sell, px, qty: q }
        );
        assert_eq!(
            ev("34200.1,4,7,100,5794000,1"),
            MarketEvent::Execute { order_id: 7, side: Side::Buy, px, qty: q }
        );
        // Hidden execution: order id 0 (or -1), no resting order.
        assert_eq!(
            ev("34200.1,5,0,100,5794000,-1"),
            MarketEvent::HiddenExecute { side: Side::Sell, px, qty: q }
        );
        assert_eq!(
            ev("34200.1,5,-1,100,5794000,1"),
            MarketEvent::HiddenExecute { side: Side::Buy, px, qty: q }
        );
        // Cross (auction) trade: a print without an aggressor.
        assert_eq!(
            ev("34200.1,6,-1,2500,5794000,1"),
            MarketEvent::Trade { px, qty: Qty(2500 * ONE), aggressor: None }
        );
        // Trading halt, quoting, resume: price -1, 0, 1; size 0.
        assert_eq!(ev("34200.1,7,0,0,-1,-1"), MarketEvent::Status { code: -1 });
        assert_eq!(ev("34200.1,7,0,0,0,-1"), MarketEvent::Status { code: 0 });
        assert_eq!(ev("34200.1,7,0,0,1,-1"), MarketEvent::Status { code: 1 });
        // A visible order must name its id.
        let e = parse_message(&l, "34200.1,1,-1,100,5794000,1").unwrap_err().to_string();
        assert!(e.contains("order id -1 is negative on a type 1 row"), "{e}");
    }

    /// Imports `rows` (a message file) with `tick` given or not; returns the summary.
    fn import_rows(name: &str, rows: &str, tick: Option<Price>) -> ImportSummary {
        let dir = tmp(name);
        let msg = dir.join("XYZ_2024-01-02_34200000_57600000_message_1.csv");
        std::fs::write(&msg, rows).unwrap();
        let input = LobsterInput { tick, ..LobsterInput::new(&msg) };
        let s = import_lobster(&[input], &dir.join("t.tape"), &ImportOptions::default()).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        s
    }

    #[test]
    fn the_tick_is_inferred_from_the_limit_prices_or_given() {
        let tick = |s: &ImportSummary| (s.header.instruments[0].tick_size, s.ticks[0].source);
        let off = |s: &ImportSummary| {
            s.notes.iter().find(|n| n.0.starts_with("message prices off the tick")).map(|n| n.1)
        };
        // Every limit price a multiple of $0.05 ($10.00, $10.05, $10.25): 0.05.
        let rows = "34200.1,1,1,100,100000,1\n\
                    34200.2,1,2,100,100500,-1\n\
                    34200.3,4,2,50,100500,-1\n\
                    34200.4,1,3,100,102500,-1\n\
                    34200.5,3,1,100,100000,1\n";
        let s = import_rows("005", rows, None);
        assert_eq!(tick(&s), (Price::parse("0.05").unwrap(), TickSource::Inferred));
        assert_eq!(s.ticks[0].prices, 5);
        assert_eq!(off(&s), None);
        // One odd price ($10.01): every price must be a whole number of ticks, so 0.01.
        let odd = format!("{rows}34200.6,1,4,100,100100,1\n");
        let s = import_rows("001", &odd, None);
        assert_eq!(tick(&s), (Price::parse("0.01").unwrap(), TickSource::Inferred));
        // A hidden execution at a half-cent midpoint does not make the tick finer; it is counted
        // as off the tick. Halt rows carry no price.
        let hidden = format!("{rows}34200.6,5,0,100,100025,1\n34200.7,7,0,0,-1,-1\n");
        let s = import_rows("hidden", &hidden, None);
        assert_eq!(tick(&s), (Price::parse("0.05").unwrap(), TickSource::Inferred));
        assert_eq!(off(&s), Some(1));
        // Given: kept as given, and the prices off it counted.
        let s = import_rows("given", rows, Price::parse("0.1"));
        assert_eq!(tick(&s), (Price::parse("0.1").unwrap(), TickSource::Given));
        assert_eq!(off(&s), Some(3));
        // Sub-cent limit prices: down to LOBSTER's unit, never below.
        let s = import_rows("unit", "34200.1,1,1,100,100001,1\n34200.2,1,2,100,100000,1\n", None);
        assert_eq!(tick(&s).0, Price::parse("0.0001").unwrap());
        // Only halts: no price to infer from, LOBSTER's unit.
        let s = import_rows("halt", "34200.1,7,0,0,-1,-1\n", None);
        assert_eq!(tick(&s).0, Price::parse("0.0001").unwrap());
    }

    /// A fresh temporary directory.
    fn tmp(name: &str) -> PathBuf {
        let d =
            std::env::temp_dir().join(format!("lockstep-lobster-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    /// Every event of a tape.
    fn events(tape: &Path) -> Vec<TapeEvent> {
        let mut r = crate::TapeReader::open(tape).unwrap();
        let (mut all, mut buf) = (Vec::new(), Vec::new());
        while crate::EventSource::next_chunk(&mut r, &mut buf).unwrap() {
            all.extend_from_slice(&buf);
        }
        all
    }

    /// `n` message rows and two-level orderbook rows of a made-up book: adds on both sides,
    /// partial cancels, executions and deletes; several rows share a time.
    fn day(n: usize) -> (Vec<String>, Vec<String>) {
        let (mut msgs, mut book) = (Vec::new(), Vec::new());
        let (mut bid, mut ask) = (
            vec![(1_000_000i64, 300i64), (999_900, 200)],
            vec![(1_000_100i64, 300i64), (1_000_200, 100)],
        );
        for i in 0..n {
            let ts = format!("{}.5", 34_200 + i / 3);
            let (kind, size, dir) =
                [(1, 100, 1), (1, 50, -1), (2, 20, 1), (4, 30, -1), (3, 10, 1)][i % 5];
            let side = if dir > 0 { &mut bid } else { &mut ask };
            let px = side[0].0;
            side[0].1 += if kind == 1 { size } else { -size };
            msgs.push(format!("{ts},{kind},{},{size},{px},{dir}", i + 1));
            book.push(format!(
                "{},{},{},{},{},{},{},{}",
                ask[0].0, ask[0].1, bid[0].0, bid[0].1, ask[1].0, ask[1].1, bid[1].0, bid[1].1
            ));
        }
        (msgs, book)
    }

    fn write(path: &Path, rows: &[String]) -> PathBuf {
        std::fs::write(path, rows.iter().map(|r| format!("{r}\n")).collect::<String>()).unwrap();
        path.to_path_buf()
    }

    #[test]
    fn a_day_split_in_two_files_imports_as_the_whole_day() {
        let d = tmp("split");
        let (msgs, book) = day(200);
        let name = |part: &str, what: &str| {
            std::fs::create_dir_all(d.join(part)).unwrap();
            d.join(part).join(format!("ABC_2024-01-02_34200000_57600000_{what}_2.csv"))
        };
        let whole = LobsterInput::new(write(&name("whole", "message"), &msgs))
            .with_orderbook(write(&name("whole", "orderbook"), &book));
        // The cut falls between two rows of the same time.
        let cut = 100;
        assert_eq!(msgs[cut - 1].split(',').next(), msgs[cut].split(',').next());
        let parts = [
            LobsterInput::new(write(&name("a", "message"), &msgs[..cut]))
                .with_orderbook(write(&name("a", "orderbook"), &book[..cut])),
            LobsterInput::new(write(&name("b", "message"), &msgs[cut..]))
                .with_orderbook(write(&name("b", "orderbook"), &book[cut..])),
        ];
        let opts = ImportOptions::default();
        let one =
            import_lobster(std::slice::from_ref(&whole), &d.join("whole.tape"), &opts).unwrap();
        let two = import_lobster(&parts, &d.join("parts.tape"), &opts).unwrap();
        assert_eq!(two.header.instruments, one.header.instruments);
        assert_eq!(
            (two.rows, two.events, &two.notes, &two.ticks),
            (one.rows, one.events, &one.notes, &one.ticks)
        );
        let all = events(&d.join("whole.tape"));
        assert_eq!(all.len() as u64, one.events);
        assert_eq!(events(&d.join("parts.tape")), all);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn files_of_two_symbols_are_two_instruments_merged_by_time() {
        let d = tmp("two");
        let a = write(
            &d.join("AAA_2024-01-02_34200000_57600000_message_1.csv"),
            &["34200.1,1,1,100,100000,1".into(), "34200.3,1,2,100,100500,-1".into()],
        );
        let b = write(
            &d.join("BBB_2024-01-02_34200000_57600000_message_1.csv"),
            &["34200.1,1,1,10,2000000,1".into(), "34200.2,1,2,10,2002500,-1".into()],
        );
        let s = import_lobster(
            &[LobsterInput::new(&a), LobsterInput::new(&b)],
            &d.join("t.tape"),
            &ImportOptions::default(),
        )
        .unwrap();
        let ins: Vec<(&str, Price)> =
            s.header.instruments.iter().map(|i| (i.symbol.as_str(), i.tick_size)).collect();
        assert_eq!(
            ins,
            vec![("AAA", Price::parse("0.05").unwrap()), ("BBB", Price::parse("0.25").unwrap())]
        );
        assert_eq!(
            s.header.source,
            format!(
                "LOBSTER {} + {}",
                a.file_name().unwrap().to_str().unwrap(),
                b.file_name().unwrap().to_str().unwrap()
            )
        );
        // Equal times: the file given first goes first.
        let order: Vec<(u16, i64)> =
            events(&d.join("t.tape")).iter().map(|e| (e.instrument, e.local_ts.0)).collect();
        assert_eq!(
            order,
            vec![
                (0, 34_200_100_000_000),
                (1, 34_200_100_000_000),
                (1, 34_200_200_000_000),
                (0, 34_200_300_000_000)
            ]
        );
        // One symbol given for both: one instrument, whose two orders 1 and 2 clash.
        let same = |m: &Path| LobsterInput { symbol: Some("S".into()), ..LobsterInput::new(m) };
        let s = import_lobster(&[same(&a), same(&b)], &d.join("t.tape"), &ImportOptions::default())
            .unwrap();
        assert_eq!(s.header.instruments.len(), 1);
        assert_eq!(s.ticks[0].tick, Price::parse("0.05").unwrap());
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn mismatched_pairs_days_and_ticks_are_refused() {
        let d = tmp("refused");
        let row = ["34200.1,1,1,100,100000,1".to_owned()];
        let ob = ["100100,10,100000,100".to_owned()];
        let m = write(&d.join("AAA_2024-01-02_34200000_57600000_message_1.csv"), &row);
        let other_ob = write(&d.join("BBB_2024-01-02_34200000_57600000_orderbook_1.csv"), &ob);
        let opts = ImportOptions::default();
        let e = import_lobster(
            &[LobsterInput::new(&m).with_orderbook(&other_ob)],
            &d.join("t.tape"),
            &opts,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("BBB_2024-01-02_34200000_57600000_orderbook_1.csv: is not the orderbook file of \"AAA_2024-01-02_34200000_57600000_message_1.csv\""), "{e}");
        assert!(e.contains("AAA_2024-01-02_34200000_57600000_orderbook_1.csv"), "{e}");
        // Names LOBSTER did not give are not judged.
        let plain_ob = write(&d.join("book.csv"), &ob);
        assert!(
            import_lobster(
                &[LobsterInput::new(&m).with_orderbook(&plain_ob)],
                &d.join("t.tape"),
                &opts
            )
            .is_ok()
        );
        let next_day = write(&d.join("AAA_2024-01-03_34200000_57600000_message_1.csv"), &row);
        let e = import_lobster(
            &[LobsterInput::new(&m), LobsterInput::new(&next_day)],
            &d.join("t.tape"),
            &opts,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("is of 2024-01-03") && e.contains("import each day separately"), "{e}");
        let tick = |t: &str| LobsterInput { tick: Price::parse(t), ..LobsterInput::new(&m) };
        let e = import_lobster(&[tick("0.01"), tick("0.05")], &d.join("t.tape"), &opts)
            .unwrap_err()
            .to_string();
        assert!(e.contains("tick 0.05 for AAA, but input 1 gives it tick 0.01"), "{e}");
        assert!(import_lobster(&[], &d.join("t.tape"), &opts).is_err());
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn undo_restores_the_opening_book() {
        let l = lines();
        let mut row = BookRow::default();
        parse_book_row(&l, "5802300,100,5794000,496,5804300,100,5787000,400", &mut row).unwrap();
        let m = parse_message(&l, "34200.015105074,4,15818974,4,5794000,1").unwrap();
        let b = undo(&row, &m);
        assert_eq!(b.bids, vec![(5_794_000, 500), (5_787_000, 400)]);
        assert_eq!(b.asks, row.asks);
        // A delete that emptied a level puts the level back in price order.
        let m = parse_message(&l, "34200.1,3,7,50,5790000,1").unwrap();
        assert_eq!(undo(&row, &m).bids, vec![(5_794_000, 496), (5_790_000, 50), (5_787_000, 400)]);
        // An add is taken back out.
        let m = parse_message(&l, "34200.1,1,7,100,5802300,-1").unwrap();
        assert_eq!(undo(&row, &m).asks, vec![(5_804_300, 100)]);
    }
}
