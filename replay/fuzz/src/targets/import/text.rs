//! The text importers: generic CSV and Binance depth CSV, TrueFX ticks, Tardis CSV and
//! Binance collector captures, each generated row by row in its own shape.

use super::import_files;
use crate::draw::{G, UPPER};
use crate::harness::Checked;
use lockstep_import::{ImportOptions, TimeUnit, import_binance, import_csv, import_tardis};
use std::fmt::Write;

/// A price above 0 with up to `places` decimals.
fn price(g: &mut G<'_>, places: u32) -> String {
    let raw = g.int(1, 10i64.pow(places + 5));
    g.decimal(raw, places)
}

/// A generic CSV file (every event kind) of a few symbols.
fn generic(g: &mut G<'_>) -> String {
    let mut s =
        "exchange_ts,local_ts,symbol,event,side,price,qty,order_id,ask_price,ask_qty,more\n"
            .to_owned();
    let symbols: Vec<String> = (0..g.len(1, 3)).map(|_| g.word(UPPER, 1, 6)).collect();
    let mut t = g.int(0, 1 << 40);
    let n = g.len(1, 60);
    for i in 0..n {
        t += g.pick(&[0, 1, 1_000, 1_000_000]);
        let ex = (t - g.int(0, 1_000)).max(0);
        let sym = &symbols[g.len(0, symbols.len() - 1)];
        let side = g.pick(&["buy", "sell", "b", "s", "bid", "ask", "1", "-1"]);
        let (px, q) = (price(g, 4), price(g, 3));
        let id = g.u(1, 1_000);
        let more = u8::from(i + 1 < n && g.one_in(4));
        let ev = g.pick(&[
            "add", "cancel", "delete", "execute", "hidden", "level", "clear", "quote", "trade",
        ]);
        let row = match ev {
            "add" | "cancel" | "delete" | "execute" => format!("{side},{px},{q},{id},,"),
            "hidden" => format!("{side},{px},{q},,,"),
            "level" => format!("{side},{px},{},,,", if g.bool() { q } else { "0".into() }),
            "clear" => ",,,,,".to_owned(),
            "quote" => format!(",{px},{q},,{},{}", price(g, 4), price(g, 3)),
            _ => format!("{},{px},{q},,,", g.pick(&["", "buy", "sell"])),
        };
        let _ = writeln!(s, "{ex},{t},{sym},{ev},{row},{more}");
    }
    s
}

/// A Binance depth CSV file: a snapshot, then updates.
fn depth(g: &mut G<'_>) -> String {
    let mut s = "symbol,timestamp,first_update_id,last_update_id,side,update_type,price,qty,pu\n"
        .to_owned();
    let sym = g.word(UPPER, 3, 8);
    let mut t = 1_667_346_579_146i64 + g.int(0, 1 << 30);
    let mut id = g.int(1, 1 << 40);
    for _ in 0..g.len(1, 5) {
        let _ = writeln!(
            s,
            "{sym},{t},{id},{id},{},snap,{},{},{}",
            g.pick(&["b", "a"]),
            price(g, 2),
            price(g, 3),
            id - 1
        );
    }
    for _ in 0..g.len(0, 40) {
        t += g.pick(&[0, 1, 100]);
        let (first, last) = (id + 1, id + g.int(1, 3));
        let pu = if g.one_in(8) { id - 1 } else { id };
        for _ in 0..g.len(1, 3) {
            let q = if g.one_in(4) { "0".into() } else { price(g, 3) };
            let _ = writeln!(
                s,
                "{sym},{t},{first},{last},{},set,{},{q},{pu}",
                g.pick(&["b", "a"]),
                price(g, 2)
            );
        }
        id = last;
    }
    s
}

/// A generic CSV file or a Binance depth CSV file.
pub(crate) fn generate_csv(g: &mut G<'_>) -> Vec<u8> {
    if g.one_in(3) { depth(g) } else { generic(g) }.into_bytes()
}

/// Imports a CSV file (nanosecond times).
pub(crate) fn check_csv(bytes: &[u8]) -> Checked {
    import_files(&[("data.csv", bytes)], |p, out| {
        import_csv(p, out, TimeUnit::Nanos, &ImportOptions::default())
    })
}

/// A TrueFX tick file.
pub(crate) fn generate_truefx(g: &mut G<'_>) -> Vec<u8> {
    let mut s = "timestamp,bid,ask\n".to_owned();
    let mut t = g.int(0, 3_000_000_000);
    let zone = g.pick(&["+00:00", "Z", "", "+01:00", "-05:30"]);
    for _ in 0..g.len(1, 60) {
        t += g.pick(&[0, 1, 1_000, 1_000_000]);
        let (secs, micros) = (1_356_998_400 + t / 1_000_000, t % 1_000_000);
        let (day, rest) = (secs / 86_400, secs % 86_400);
        let (h, m, sec) = (rest / 3600, rest % 3600 / 60, rest % 60);
        // Days after 2013-01-01 within January keep the date arithmetic trivial.
        let _ = writeln!(
            s,
            "2013-01-{:02} {h:02}:{m:02}:{sec:02}.{micros:06}{zone},{},{}",
            1 + day % 28,
            price(g, 5),
            price(g, 5)
        );
    }
    s.into_bytes()
}

/// Imports a TrueFX file named `usdjpy-ticks.csv`.
pub(crate) fn check_truefx(bytes: &[u8]) -> Checked {
    import_files(&[("usdjpy-ticks.csv", bytes)], |p, out| {
        import_csv(p, out, TimeUnit::Nanos, &ImportOptions::default())
    })
}

/// A Tardis quote, trades or incremental_book_L2 file.
pub(crate) fn generate_tardis(g: &mut G<'_>) -> Vec<u8> {
    let kind = g.len(0, 2);
    let mut s = match kind {
        0 => {
            "exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,bid_amount\n"
        }
        1 => "exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n",
        _ => "exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount\n",
    }
    .to_owned();
    let exchange = g.pick(&["binance-futures", "deribit", "bitmex"]);
    let symbols: Vec<String> = (0..g.len(1, 2)).map(|_| g.word(UPPER, 3, 8)).collect();
    let mut t = 1_582_329_601_096_000i64 + g.int(0, 1 << 30);
    let mut snapshot = true;
    for i in 0..g.len(1, 60) {
        t += g.pick(&[0, 1, 1_000]);
        let ex = t - g.int(0, 5_000);
        let sym = &symbols[g.len(0, symbols.len() - 1)];
        let row = match kind {
            0 => format!("{},{},{},{}", price(g, 3), price(g, 2), price(g, 2), price(g, 3)),
            1 => format!(
                "{i},{},{},{}",
                g.pick(&["buy", "sell", "unknown"]),
                price(g, 2),
                price(g, 3)
            ),
            _ => {
                snapshot &= !g.one_in(4);
                let amount = if g.one_in(4) { "0".into() } else { price(g, 3) };
                format!("{snapshot},{},{},{amount}", g.pick(&["bid", "ask"]), price(g, 2))
            }
        };
        let _ = writeln!(s, "{exchange},{sym},{ex},{t},{row}");
    }
    s.into_bytes()
}

/// Imports a Tardis file.
pub(crate) fn check_tardis(bytes: &[u8]) -> Checked {
    import_files(&[("tardis.csv", bytes)], |p, out| {
        import_tardis(p, out, &ImportOptions::default())
    })
}

/// A price pair list of a depth message: `[["p","q"],…]`.
fn levels(g: &mut G<'_>) -> String {
    let n = g.len(0, 3);
    let items: Vec<String> = (0..n)
        .map(|_| {
            let q = if g.one_in(4) { "0.00000000".into() } else { price(g, 8) };
            format!("[\"{}\",\"{q}\"]", price(g, 2))
        })
        .collect();
    format!("[{}]", items.join(","))
}

/// A Binance collector capture: trades, book tickers, depth diffs and REST snapshots.
pub(crate) fn generate_binance(g: &mut G<'_>) -> Vec<u8> {
    let sym = g.word(UPPER, 3, 8);
    let low = sym.to_lowercase();
    let mut t = 1_723_161_253_937_085_768i64 + g.int(0, 1 << 40);
    let mut u = g.int(1, 1 << 40);
    let mut s = String::new();
    for i in 0..g.len(1, 40) {
        t += g.pick(&[0, 1_000, 1_000_000]);
        let e = t / 1_000_000 - g.int(0, 500);
        // The first line a trade: a capture of snapshots alone has no stream to import.
        let line = match if i == 0 { 0 } else { g.len(0, 4) } {
            0 => format!(
                "{{\"stream\":\"{low}@trade\",\"data\":{{\"e\":\"trade\",\"E\":{e},\"s\":\"{sym}\",\"t\":{i},\"p\":\"{}\",\"q\":\"{}\",\"T\":{e},\"m\":{},\"M\":true}}}}",
                price(g, 8),
                price(g, 8),
                g.bool()
            ),
            1 => format!(
                "{{\"stream\":\"{low}@bookTicker\",\"data\":{{\"u\":{u},\"s\":\"{sym}\",\"b\":\"{}\",\"B\":\"{}\",\"a\":\"{}\",\"A\":\"{}\"}}}}",
                price(g, 8),
                price(g, 8),
                price(g, 8),
                price(g, 8)
            ),
            2 | 3 => {
                let first = u + 1;
                u += g.int(1, 3);
                format!(
                    "{{\"stream\":\"{low}@depth@100ms\",\"data\":{{\"e\":\"depthUpdate\",\"E\":{e},\"s\":\"{sym}\",\"U\":{first},\"u\":{u},\"b\":{},\"a\":{}}}}}",
                    levels(g),
                    levels(g)
                )
            }
            _ => format!("{{\"lastUpdateId\":{u},\"bids\":{},\"asks\":{}}}", levels(g), levels(g)),
        };
        let _ = writeln!(s, "{t} {line}");
    }
    s.into_bytes()
}

/// Imports a Binance capture (its unit detected).
pub(crate) fn check_binance(bytes: &[u8]) -> Checked {
    import_files(&[("capture.txt", bytes)], |p, out| {
        import_binance(p, out, &ImportOptions::default())
    })
}
