//! ITCH messages to and from the simulation core's [`TapeEvent`]s.
//!
//! Instruments: instrument id = stock locate − 1 (stock locate 0 is ITCH's market-wide locate,
//! used by system events). Prices: ITCH's 4 implied decimals times 10 000 make the SDK's 8.
//! Quantities: shares are whole units.
//!
//! Receiving ([`TapeMapper`]):
//! - `A`/`F` → `Add`; `X` → `Cancel`; `D` → `Delete` (of the shares still open); `E` →
//!   `Execute` at the order's price; `U` → `Delete` of the original (flagged [`FLAG_MORE`]) then
//!   `Add` of the new order on the same side; `P` → `HiddenExecute`; `H` → `Status` (`H`/`P` →
//!   -1, `Q` → 0, `T` → 1); `R` → an instrument; `S` with `C`/`E` → end of session.
//! - `C` (executed with price): at the order's own price it is an `Execute`. At another price
//!   we keep the book right and the print right rather than pretend: the order is reduced by a
//!   `Cancel` (a `Delete` when nothing stays open), flagged [`FLAG_MORE`], and the print is a
//!   `HiddenExecute` at the execution price on the order's side. (The sim's book prints an
//!   `Execute` at the resting order's price whatever the event says.) The printable flag is
//!   not kept.
//!
//! Publishing ([`ItchPublisher`]) is the reverse; `Execute` at a price other than the order's
//! becomes `C`. L2, quote and trade events have no ITCH order-by-order form and are refused
//! with [`PublishError::NotOrderByOrder`]. The batch flag [`FLAG_MORE`] does not cross ITCH.

use crate::handler::{Counters, FeedEvent};
use crate::itch::{self, Header, ItchMessage, ItchSide, Stock};
use crate::orders::{InsertError, Order, OrderTable};
use core::fmt;
use lockstep_sdk::{InstrumentId, Nanos, ONE, Price, Qty, Side};
use lockstep_sim::{Contract, FLAG_MORE, InstrumentInfo, MarketEvent, TapeEvent};

/// SDK price mantissa per ITCH price unit (8 − 4 decimals).
const PRICE_FACTOR: i64 = 10_000;
/// The venue name of instruments from a stock directory.
pub const VENUE: &str = "NASDAQ";

fn price(p: u32) -> Price {
    Price(i64::from(p) * PRICE_FACTOR)
}
fn qty(shares: u32) -> Qty {
    Qty(i64::from(shares) * ONE)
}
fn sdk_side(s: ItchSide) -> Side {
    match s {
        ItchSide::Buy => Side::Buy,
        ItchSide::Sell => Side::Sell,
    }
}
fn itch_side(s: Side) -> ItchSide {
    match s {
        Side::Buy => ItchSide::Buy,
        Side::Sell => ItchSide::Sell,
    }
}

/// ITCH messages to [`FeedEvent`]s, with the order table that supplies the side and price ITCH
/// leaves out. Allocates only at construction and for instrument definitions.
#[derive(Clone, Debug)]
pub struct TapeMapper {
    orders: OrderTable,
    midnight: Nanos,
    last_exchange_ts: Nanos,
    ended: bool,
    halted: bool,
    pub(crate) counters: Counters,
}

impl TapeMapper {
    /// A mapper tracking up to `order_capacity` live orders; ITCH timestamps (nanoseconds
    /// since midnight) are added to `midnight` to make exchange times.
    pub fn new(order_capacity: usize, midnight: Nanos) -> Self {
        Self {
            orders: OrderTable::with_capacity(order_capacity),
            midnight,
            last_exchange_ts: midnight,
            ended: false,
            halted: false,
            counters: Counters::default(),
        }
    }

    /// The counters (the mapping ones: unknown orders, table full, ...).
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Whether market events are being withheld (see [`TapeMapper::halt`]).
    pub fn is_halted(&self) -> bool {
        self.halted
    }

    /// Stops delivering market events and forgets every order: the book can no longer be
    /// trusted. Instrument definitions and the end of session still come through.
    pub fn halt(&mut self) {
        self.halted = true;
        self.orders.clear();
    }

    /// Delivers market events again, from an empty order table: orders added before this
    /// point are unknown, and their later messages are dropped and counted.
    pub fn resume(&mut self) {
        self.halted = false;
        self.orders.clear();
    }

    /// Whether the end of the session was signalled.
    pub fn has_ended(&self) -> bool {
        self.ended
    }

    /// Signals the end of the session at `local_ts` (once; later calls do nothing).
    pub fn end_of_session<F: FnMut(FeedEvent)>(&mut self, local_ts: Nanos, out: &mut F) {
        if !self.ended {
            self.ended = true;
            out(FeedEvent::EndOfSession { exchange_ts: self.last_exchange_ts, local_ts });
        }
    }

    fn instrument(&mut self, h: Header) -> Option<InstrumentId> {
        let id = h.stock_locate.checked_sub(1);
        self.counters.bad_locates += u64::from(id.is_none());
        id
    }

    /// Maps one message received at `recv`, calling `out` for each event.
    pub fn on_message<F: FnMut(FeedEvent)>(
        &mut self,
        msg: &ItchMessage<'_>,
        recv: Nanos,
        out: &mut F,
    ) {
        let h = msg.header();
        let ts_from_midnight = i64::try_from(h.timestamp).unwrap_or(i64::MAX);
        let ts = Nanos(self.midnight.0.saturating_add(ts_from_midnight));
        self.last_exchange_ts = ts;
        match msg {
            ItchMessage::SystemEvent(m) => {
                if matches!(m.event_code, b'C' | b'E') {
                    self.end_of_session(recv, out);
                } else {
                    self.counters.other_messages += 1;
                }
            }
            ItchMessage::StockDirectory(m) => self.directory(m, out),
            ItchMessage::Other { .. } => self.counters.other_messages += 1,
            _ if self.halted => self.counters.suppressed += 1,
            _ => {
                let mut emit = |instrument, msg, more: bool| {
                    let mut e = TapeEvent::new(ts, recv, instrument, msg);
                    if more {
                        e.flags |= FLAG_MORE;
                    }
                    out(FeedEvent::Tape(e));
                };
                self.order_message(msg, &mut emit);
            }
        }
    }

    fn directory<F: FnMut(FeedEvent)>(&mut self, m: &itch::StockDirectory, out: &mut F) {
        let Some(id) = self.instrument(m.header) else { return };
        out(FeedEvent::Instrument(InstrumentInfo {
            id,
            symbol: m.stock.as_str().unwrap_or("").to_owned(),
            venue: VENUE.to_owned(),
            tick_size: Price(PRICE_FACTOR),
            price_scale: 4,
            // ITCH quantities are shares; Nasdaq trades in US dollars, New York time.
            lot_size: Qty(ONE),
            contract: Contract::LINEAR,
            currency: "USD".to_owned(),
            time_zone: "America/New_York".to_owned(),
        }));
    }

    /// Order, trade and trading-action messages: `emit(instrument, event, more)`.
    fn order_message(
        &mut self,
        msg: &ItchMessage<'_>,
        emit: &mut impl FnMut(InstrumentId, MarketEvent, bool),
    ) {
        match *msg {
            ItchMessage::AddOrder(m) => {
                let Some(ins) = self.instrument(m.header) else { return };
                self.add(ins, m.order_ref, sdk_side(m.side), m.price, m.shares, emit);
            }
            ItchMessage::OrderExecuted(m) => {
                let Some((o, _)) = self.reduce(m.order_ref, m.shares) else { return };
                let (side, px, qty) = (o.side, price(o.price), qty(m.shares));
                emit(
                    o.instrument,
                    MarketEvent::Execute { order_id: m.order_ref, side, px, qty },
                    false,
                );
            }
            ItchMessage::OrderExecutedWithPrice(m) => self.executed_with_price(&m, emit),
            ItchMessage::OrderCancel(m) => {
                let Some((o, _)) = self.reduce(m.order_ref, m.shares) else { return };
                let (side, px, qty) = (o.side, price(o.price), qty(m.shares));
                emit(
                    o.instrument,
                    MarketEvent::Cancel { order_id: m.order_ref, side, px, qty },
                    false,
                );
            }
            ItchMessage::OrderDelete(m) => {
                let Some(o) = self.remove(m.order_ref) else { return };
                let (side, px, qty) = (o.side, price(o.price), qty(o.shares));
                emit(
                    o.instrument,
                    MarketEvent::Delete { order_id: m.order_ref, side, px, qty },
                    false,
                );
            }
            ItchMessage::OrderReplace(m) => {
                let Some(o) = self.remove(m.original_ref) else { return };
                let (side, px, qty) = (o.side, price(o.price), qty(o.shares));
                let del = MarketEvent::Delete { order_id: m.original_ref, side, px, qty };
                emit(o.instrument, del, true);
                self.add(o.instrument, m.new_ref, o.side, m.price, m.shares, emit);
            }
            ItchMessage::Trade(m) => {
                let Some(ins) = self.instrument(m.header) else { return };
                let (side, px, qty) = (sdk_side(m.side), price(m.price), qty(m.shares));
                emit(ins, MarketEvent::HiddenExecute { side, px, qty }, false);
            }
            ItchMessage::TradingAction(m) => {
                let Some(ins) = self.instrument(m.header) else { return };
                let code = match m.state {
                    b'H' | b'P' => -1,
                    b'Q' => 0,
                    b'T' => 1,
                    _ => return self.counters.other_messages += 1,
                };
                emit(ins, MarketEvent::Status { code }, false);
            }
            _ => self.counters.other_messages += 1,
        }
    }

    fn add(
        &mut self,
        instrument: InstrumentId,
        order_ref: u64,
        side: Side,
        px: u32,
        shares: u32,
        emit: &mut impl FnMut(InstrumentId, MarketEvent, bool),
    ) {
        let o = Order { instrument, side, price: px, shares };
        match self.orders.insert(order_ref, o) {
            Ok(()) => {
                let (px, qty) = (price(px), qty(shares));
                emit(instrument, MarketEvent::Add { order_id: order_ref, side, px, qty }, false);
            }
            Err(InsertError::Full) => self.counters.order_table_full += 1,
            Err(InsertError::Duplicate) => self.counters.duplicate_orders += 1,
        }
    }

    fn executed_with_price(
        &mut self,
        m: &itch::OrderExecutedWithPrice,
        emit: &mut impl FnMut(InstrumentId, MarketEvent, bool),
    ) {
        let Some((o, _)) = self.reduce(m.order_ref, m.shares) else { return };
        let (side, order_id, qty) = (o.side, m.order_ref, qty(m.shares));
        if m.price == o.price {
            let px = price(o.price);
            emit(o.instrument, MarketEvent::Execute { order_id, side, px, qty }, false);
            return;
        }
        let px = price(o.price);
        let reduce = if m.shares >= o.shares {
            MarketEvent::Delete { order_id, side, px, qty: Qty(i64::from(o.shares) * ONE) }
        } else {
            MarketEvent::Cancel { order_id, side, px, qty }
        };
        emit(o.instrument, reduce, true);
        emit(o.instrument, MarketEvent::HiddenExecute { side, px: price(m.price), qty }, false);
    }

    fn reduce(&mut self, order_ref: u64, shares: u32) -> Option<(Order, bool)> {
        let r = self.orders.reduce(order_ref, shares);
        match r {
            None => self.counters.unknown_orders += 1,
            Some((_, over)) => self.counters.overfills += u64::from(over),
        }
        r
    }

    fn remove(&mut self, order_ref: u64) -> Option<Order> {
        let r = self.orders.remove(order_ref);
        self.counters.unknown_orders += u64::from(r.is_none());
        r
    }
}

/// Why a tape event could not be published as ITCH.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PublishError {
    /// The event has no ITCH order-by-order form (`Level`, `Quote`, `Trade`, `Clear`,
    /// `Forget`): the tape is not L3.
    NotOrderByOrder {
        /// The event kind.
        kind: &'static str,
    },
    /// The instrument is not among those the publisher was given.
    UnknownInstrument {
        /// Its id.
        instrument: InstrumentId,
    },
    /// An instrument's symbol is longer than 8 bytes or not ASCII.
    Symbol {
        /// Its id.
        instrument: InstrumentId,
    },
    /// The event names an order the publisher never added (or that is gone).
    UnknownOrder {
        /// The order id.
        order_id: u64,
    },
    /// An add of an order id that is live already.
    DuplicateOrder {
        /// The order id.
        order_id: u64,
    },
    /// The publisher's order table is full.
    OrderTableFull {
        /// Its capacity.
        capacity: usize,
    },
    /// A price that is negative, finer than 0.0001 or above 429496.7295.
    Price {
        /// The price.
        px: Price,
    },
    /// A quantity that is negative, fractional or above 4294967295.
    Qty {
        /// The quantity.
        qty: Qty,
    },
    /// An exchange time outside the day that starts at the publisher's midnight (ITCH time is
    /// 48 bits of nanoseconds since midnight).
    Time {
        /// The exchange time.
        exchange_ts: Nanos,
    },
    /// A `Status` code other than -1, 0, 1.
    StatusCode {
        /// The code.
        code: i8,
    },
}

impl fmt::Display for PublishError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::NotOrderByOrder { kind } => write!(
                f,
                "a {kind} event has no ITCH 5.0 form: ITCH is order by order (L3), so the venue \
                 cannot publish an L2, quote or trade tape; use an L3 tape"
            ),
            Self::UnknownInstrument { instrument } => write!(
                f,
                "instrument {instrument} is not among the publisher's instruments; pass the \
                 tape header's instruments"
            ),
            Self::Symbol { instrument } => write!(
                f,
                "instrument {instrument}'s symbol does not fit ITCH's 8 ASCII bytes; rename it"
            ),
            Self::UnknownOrder { order_id } => write!(
                f,
                "order {order_id} is not live on the publisher: the tape removes an order it \
                 never added; check the tape"
            ),
            Self::DuplicateOrder { order_id } => {
                write!(f, "order {order_id} is added twice; check the tape")
            }
            Self::OrderTableFull { capacity } => write!(
                f,
                "the publisher's order table holds {capacity} live orders, its capacity; raise it"
            ),
            Self::Price { px } => {
                write!(f, "price {px} has no ITCH form (0 to 429496.7295 in steps of 0.0001)")
            }
            Self::Qty { qty } => {
                write!(f, "quantity {qty} has no ITCH form (whole shares, 0 to 4294967295)")
            }
            Self::Time { exchange_ts } => write!(
                f,
                "exchange time {exchange_ts} is outside the ITCH day starting at the \
                 publisher's midnight; set midnight to the tape's session date"
            ),
            Self::StatusCode { code } => {
                write!(f, "status code {code} has no ITCH trading state (use -1, 0 or 1)")
            }
        }
    }
}

impl std::error::Error for PublishError {}

/// [`TapeEvent`]s to ITCH messages, for the simulated venue: remembers live orders (to choose
/// `E` or `C` and to refuse events about unknown orders) and numbers matches.
#[derive(Clone, Debug)]
pub struct ItchPublisher {
    stocks: Vec<Stock>,
    orders: OrderTable,
    midnight: Nanos,
    match_number: u64,
}

impl ItchPublisher {
    /// A publisher for `instruments` (indexed by id), tracking up to `order_capacity` live
    /// orders; exchange times are taken relative to `midnight`.
    ///
    /// # Errors
    /// [`PublishError::Symbol`] for a symbol that does not fit 8 ASCII bytes.
    pub fn new(
        instruments: &[InstrumentInfo],
        midnight: Nanos,
        order_capacity: usize,
    ) -> Result<Self, PublishError> {
        let mut stocks = Vec::with_capacity(instruments.len());
        for (i, ins) in instruments.iter().enumerate() {
            let instrument = InstrumentId::try_from(i).unwrap_or(InstrumentId::MAX);
            stocks.push(Stock::new(&ins.symbol).ok_or(PublishError::Symbol { instrument })?);
        }
        let orders = OrderTable::with_capacity(order_capacity);
        Ok(Self { stocks, orders, midnight, match_number: 0 })
    }

    fn header(&self, instrument: Option<InstrumentId>, ts: Nanos) -> Result<Header, PublishError> {
        let stock_locate = match instrument {
            None => 0,
            Some(i) => i.checked_add(1).ok_or(PublishError::UnknownInstrument { instrument: i })?,
        };
        let t = ts.0.checked_sub(self.midnight.0).and_then(|t| u64::try_from(t).ok());
        let timestamp = t
            .filter(|&t| t < itch::TIMESTAMP_LIMIT)
            .ok_or(PublishError::Time { exchange_ts: ts })?;
        Ok(Header { stock_locate, tracking_number: 0, timestamp })
    }

    fn stock(&self, instrument: InstrumentId) -> Result<Stock, PublishError> {
        self.stocks
            .get(usize::from(instrument))
            .copied()
            .ok_or(PublishError::UnknownInstrument { instrument })
    }

    /// The stock directory message of `instrument`, stamped `exchange_ts`.
    ///
    /// # Errors
    /// [`PublishError::UnknownInstrument`] or [`PublishError::Time`].
    pub fn stock_directory(
        &self,
        instrument: InstrumentId,
        exchange_ts: Nanos,
    ) -> Result<ItchMessage<'static>, PublishError> {
        Ok(ItchMessage::StockDirectory(itch::StockDirectory {
            header: self.header(Some(instrument), exchange_ts)?,
            stock: self.stock(instrument)?,
            market_category: b'Q',
            financial_status: b'N',
            round_lot_size: 100,
            round_lots_only: b'N',
            issue_classification: b'C',
            issue_subtype: *b"Z ",
            authenticity: b'P',
            short_sale_threshold: b'N',
            ipo_flag: b' ',
            luld_tier: b'1',
            etp_flag: b'N',
            etp_leverage: 0,
            inverse: b'N',
        }))
    }

    /// A system event (`O S Q M E C`), stamped `exchange_ts`.
    ///
    /// # Errors
    /// [`PublishError::Time`].
    pub fn system_event(
        &self,
        event_code: u8,
        exchange_ts: Nanos,
    ) -> Result<ItchMessage<'static>, PublishError> {
        let header = self.header(None, exchange_ts)?;
        Ok(ItchMessage::SystemEvent(itch::SystemEvent { header, event_code }))
    }

    /// The ITCH message of one tape event.
    ///
    /// # Errors
    /// See [`PublishError`]; nothing changes on error.
    pub fn encode(&mut self, ev: &TapeEvent) -> Result<ItchMessage<'static>, PublishError> {
        let header = self.header(Some(ev.instrument), ev.exchange_ts)?;
        let stock = self.stock(ev.instrument)?;
        Ok(match ev.msg {
            MarketEvent::Add { order_id, side, px, qty } => {
                let (price, shares) = (itch_price(px)?, itch_shares(qty)?);
                let o = Order { instrument: ev.instrument, side, price, shares };
                self.orders.insert(order_id, o).map_err(|e| match e {
                    InsertError::Full => {
                        PublishError::OrderTableFull { capacity: self.orders.capacity() }
                    }
                    InsertError::Duplicate => PublishError::DuplicateOrder { order_id },
                })?;
                let side = itch_side(side);
                let m = itch::AddOrder {
                    header,
                    order_ref: order_id,
                    side,
                    shares,
                    stock,
                    price,
                    attribution: None,
                };
                ItchMessage::AddOrder(m)
            }
            MarketEvent::Cancel { order_id, qty, .. } => {
                let shares = self.take(order_id, qty)?.1;
                ItchMessage::OrderCancel(itch::OrderCancel { header, order_ref: order_id, shares })
            }
            MarketEvent::Delete { order_id, .. } => {
                self.orders.remove(order_id).ok_or(PublishError::UnknownOrder { order_id })?;
                ItchMessage::OrderDelete(itch::OrderDelete { header, order_ref: order_id })
            }
            MarketEvent::Execute { order_id, px, qty, .. } => {
                self.execute(header, order_id, px, qty)?
            }
            MarketEvent::HiddenExecute { side, px, qty } => {
                let (price, shares) = (itch_price(px)?, itch_shares(qty)?);
                let match_number = self.next_match();
                let side = itch_side(side);
                let m =
                    itch::Trade { header, order_ref: 0, side, shares, stock, price, match_number };
                ItchMessage::Trade(m)
            }
            MarketEvent::Status { code } => {
                let state = match code {
                    -1 => b'H',
                    0 => b'Q',
                    1 => b'T',
                    _ => return Err(PublishError::StatusCode { code }),
                };
                let reason = *b"    ";
                let m = itch::TradingAction { header, stock, state, reserved: b' ', reason };
                ItchMessage::TradingAction(m)
            }
            MarketEvent::Level { .. } => {
                return Err(PublishError::NotOrderByOrder { kind: "Level" });
            }
            MarketEvent::Quote { .. } => {
                return Err(PublishError::NotOrderByOrder { kind: "Quote" });
            }
            MarketEvent::Trade { .. } => {
                return Err(PublishError::NotOrderByOrder { kind: "Trade" });
            }
            MarketEvent::Clear => return Err(PublishError::NotOrderByOrder { kind: "Clear" }),
            MarketEvent::Forget { .. } => {
                return Err(PublishError::NotOrderByOrder { kind: "Forget" });
            }
        })
    }

    fn next_match(&mut self) -> u64 {
        self.match_number = self.match_number.wrapping_add(1);
        self.match_number
    }

    /// Takes `qty` off a live order: the order as it was and the shares.
    fn take(&mut self, order_id: u64, qty: Qty) -> Result<(Order, u32), PublishError> {
        let shares = itch_shares(qty)?;
        let (o, _) =
            self.orders.reduce(order_id, shares).ok_or(PublishError::UnknownOrder { order_id })?;
        Ok((o, shares))
    }

    fn execute(
        &mut self,
        header: Header,
        order_id: u64,
        px: Price,
        qty: Qty,
    ) -> Result<ItchMessage<'static>, PublishError> {
        let price = itch_price(px)?;
        let (o, shares) = self.take(order_id, qty)?;
        let match_number = self.next_match();
        Ok(if price == o.price {
            let m = itch::OrderExecuted { header, order_ref: order_id, shares, match_number };
            ItchMessage::OrderExecuted(m)
        } else {
            let m = itch::OrderExecutedWithPrice {
                header,
                order_ref: order_id,
                shares,
                match_number,
                printable: b'Y',
                price,
            };
            ItchMessage::OrderExecutedWithPrice(m)
        })
    }
}

fn itch_price(px: Price) -> Result<u32, PublishError> {
    if px.0 % PRICE_FACTOR != 0 {
        return Err(PublishError::Price { px });
    }
    u32::try_from(px.0 / PRICE_FACTOR).map_err(|_| PublishError::Price { px })
}

fn itch_shares(qty: Qty) -> Result<u32, PublishError> {
    if qty.0 % ONE != 0 {
        return Err(PublishError::Qty { qty });
    }
    u32::try_from(qty.0 / ONE).map_err(|_| PublishError::Qty { qty })
}

#[cfg(test)]
mod tests;
