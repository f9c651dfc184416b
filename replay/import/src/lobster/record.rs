//! LOBSTER's rows: message rows (`time,type,order_id,size,price,direction`) and orderbook rows
//! (`ask_px,ask_size,bid_px,bid_size` for each level), parsed exactly, and the tape event of a
//! message.

use crate::error::{ImportError, quoted};
use crate::lines::Lines;
use crate::time::parse_seconds_ns;
use lockstep_sdk::{ONE, Price, Qty, Side};
use lockstep_sim::MarketEvent;

/// LOBSTER prices are dollars × 10^4; tape prices are × 10^8.
pub(crate) const PRICE_MUL: i64 = 10_000;
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

/// A LOBSTER price (dollars × 10^4) on the tape; `None` when it overflows.
pub(crate) fn price(raw: i64) -> Option<Price> {
    raw.checked_mul(PRICE_MUL).map(Price)
}

/// A size in shares on the tape; `None` when it overflows.
pub(crate) fn qty(shares: i64) -> Option<Qty> {
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
    if kind == 7 {
        check_halt(lines, size, price)?;
    } else if size <= 0 {
        return Err(lines.err(format!("size {size} is not positive")));
    } else if price <= 0 {
        return Err(lines.err(format!("price {price} is not positive")));
    }
    Ok(Msg { ts, kind, id, size, price, dir })
}

/// Refuses a trading halt row (type 7) whose size is not 0 or whose price is not -1 (halt), 0
/// (quoting) or 1 (resume), as LOBSTER writes them.
fn check_halt(lines: &Lines, size: i64, price: i64) -> Result<(), ImportError> {
    if size != 0 {
        return Err(
            lines.err(format!("size {size} on a trading halt row (type 7); LOBSTER writes 0"))
        );
    }
    if !(-1..=1).contains(&price) {
        return Err(lines.err(format!(
            "price {price} on a trading halt row (type 7) is none of -1 (halt), 0 (quoting) and 1 \
             (resume)"
        )));
    }
    Ok(())
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
    pub(crate) fn side_mut(&mut self, side: Side) -> &mut Vec<(i64, i64)> {
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
        for (side, p, sz) in [(Side::Sell, ap, asz), (Side::Buy, bp, bsz)] {
            if let Some(level) = book_level(lines, n + 1, side, p, sz)? {
                push_level(lines, n + 1, side, row.side_mut(side), level)?;
            } else {
                row.side_mut(side).push((0, 0));
            }
        }
        n += 1;
    }
    if n == 0 {
        return Err(lines.err("empty orderbook row"));
    }
    // The empty levels (zeros here) were kept until now to find a level after one.
    row.asks.retain(|l| l.1 > 0);
    row.bids.retain(|l| l.1 > 0);
    Ok(n)
}

/// Level `k` (1-based) of `side` of an orderbook row, price `p` and size `sz`: `None` for
/// LOBSTER's empty level (price ±9999999999, size 0); an error for a size or price of 0 or
/// less, or out of range, anywhere else.
fn book_level(
    lines: &Lines,
    k: usize,
    side: Side,
    p: i64,
    sz: i64,
) -> Result<Option<(i64, i64)>, ImportError> {
    let (what, dummy) = match side {
        Side::Sell => ("ask", DUMMY_ASK),
        Side::Buy => ("bid", -DUMMY_ASK),
    };
    let why = if p == dummy {
        if sz == 0 {
            return Ok(None);
        }
        format!("size {sz} at the empty-level price {p}; LOBSTER writes size 0 there")
    } else if sz <= 0 {
        format!(
            "size {sz} is not positive (an empty level is written as price {dummy} with size 0)"
        )
    } else if p <= 0 {
        format!("price {p} is not positive")
    } else if price(p).is_none() || qty(sz).is_none() {
        format!("price {p} or size {sz} is out of range")
    } else {
        return Ok(Some((p, sz)));
    };
    Err(lines.err(format!("orderbook level {k} {what}: {why}")))
}

/// Appends level `k` (1-based) of `side` to `levels` (the row's side so far, empty levels as
/// zeros): refused after an empty level, or not strictly worse than the level before it.
fn push_level(
    lines: &Lines,
    k: usize,
    side: Side,
    levels: &mut Vec<(i64, i64)>,
    (p, sz): (i64, i64),
) -> Result<(), ImportError> {
    if let Some(&(prev, prev_sz)) = levels.last() {
        let what = if side == Side::Sell { "ask" } else { "bid" };
        if prev_sz == 0 {
            return Err(lines.err(format!(
                "orderbook level {k} {what}: price {p} after an empty level; LOBSTER writes \
                 empty levels last"
            )));
        }
        if (side == Side::Sell && p <= prev) || (side == Side::Buy && p >= prev) {
            return Err(lines.err(format!(
                "orderbook level {k} {what}: price {p} is not {} than level {}'s {prev}",
                if side == Side::Sell { "higher" } else { "lower" },
                k - 1
            )));
        }
    }
    levels.push((p, sz));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::any_lines;

    #[test]
    fn parses_rows_and_rejects_bad_ones() {
        let l = any_lines();
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

    /// Sizes and prices no LOBSTER file holds: a halt row with a size or a price other than
    /// -1, 0, 1 (a type 1-6 row with a size or price of 0 or less is refused as before).
    #[test]
    fn halt_rows_are_as_lobster_writes_them() {
        let l = any_lines();
        for (row, want) in [
            ("34200.1,7,0,-7,-1,-1", "size -7 on a trading halt row (type 7); LOBSTER writes 0"),
            ("34200.1,7,0,5,1,-1", "size 5 on a trading halt row"),
            ("34200.1,7,0,0,5,-1", "price 5 on a trading halt row (type 7) is none of -1"),
            ("34200.1,1,1,-7,5794000,1", "size -7 is not positive"),
            ("34200.1,4,1,0,5794000,1", "size 0 is not positive"),
            ("34200.1,5,0,7,-5794000,1", "price -5794000 is not positive"),
        ] {
            let e = parse_message(&l, row).unwrap_err().to_string();
            assert!(e.contains(&format!("Cargo.toml:0: {want}")), "{row}: {e}");
        }
    }

    /// An orderbook row's level is a price above 0 with a size above 0, or LOBSTER's empty
    /// level (ask 9999999999, bid -9999999999, size 0) after the side's last level; prices
    /// worsen level by level.
    #[test]
    fn orderbook_levels_are_positive_or_lobsters_empty_levels() {
        let l = any_lines();
        let mut row = BookRow::default();
        let n = parse_book_row(&l, "5802300,100,5794000,496,5804300,7,-9999999999,0", &mut row);
        assert_eq!(n.unwrap(), 2);
        assert_eq!(row.asks, vec![(5_802_300, 100), (5_804_300, 7)]);
        assert_eq!(row.bids, vec![(5_794_000, 496)]);
        let empty = "9999999999,0,-9999999999,0,9999999999,0,-9999999999,0";
        assert_eq!(parse_book_row(&l, empty, &mut row).unwrap(), 2);
        assert_eq!(row, BookRow::default());
        for (text, want) in [
            (
                "5802300,-7,5794000,496",
                "level 1 ask: size -7 is not positive (an empty level is written as price 9999999999 with size 0)",
            ),
            ("5802300,100,5794000,0", "level 1 bid: size 0 is not positive"),
            ("5802300,100,-5794000,10", "level 1 bid: price -5794000 is not positive"),
            ("5802300,100,0,10", "level 1 bid: price 0 is not positive"),
            (
                "9999999999,5,5794000,496",
                "level 1 ask: size 5 at the empty-level price 9999999999; LOBSTER writes size 0 there",
            ),
            (
                "9999999999,0,5794000,496,5804300,7,5793000,1",
                "level 2 ask: price 5804300 after an empty level; LOBSTER writes empty levels last",
            ),
            (
                "5802300,100,5794000,496,5802300,7,5793000,1",
                "level 2 ask: price 5802300 is not higher than level 1's 5802300",
            ),
            (
                "5802300,100,5794000,496,5804300,7,5795000,1",
                "level 2 bid: price 5795000 is not lower than level 1's 5794000",
            ),
            (
                "5802300,100,5794000,496,-9999999999,0,9999999999,0",
                "level 2 ask: size 0 is not positive (an empty level is written as price 9999999999 with size 0)",
            ),
            (
                "5802300,100,5794000,496,-9999999999,3,9999999999,0",
                "level 2 ask: price -9999999999 is not positive",
            ),
        ] {
            let e = parse_book_row(&l, text, &mut row).unwrap_err().to_string();
            assert!(e.contains(&format!("Cargo.toml:0: orderbook {want}")), "{text}: {e}");
        }
    }

    #[test]
    fn every_event_type_and_long_time_fractions() {
        let l = any_lines();
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
}
