//! Databento: a DBN file (version 1, 2 or 3, plain or zstd) written by the `dbn` crate's
//! encoder: an optional instrument definition, then MBO (adds, cancels, modifies, trades,
//! fills, clears of live orders), MBP-1, MBP-10 or trade records.

use super::import_files;
use crate::draw::G;
use crate::harness::Checked;
use dbn::encode::{DbnEncoder, DynWriter, EncodeRecord};
use dbn::{BidAskPair, Compression, FlagSet, Metadata, RecordHeader, SType, Schema, flags, rtype};
use lockstep_import::{ImportOptions, import_databento};
use std::ffi::c_char;
use std::io::Write;

const T0: u64 = 1_703_422_805_000_000_000;
const TICK: i64 = 250_000_000;

/// The common fields of a market data record.
struct Common {
    hd: RecordHeader,
    flags: FlagSet,
    ts_recv: u64,
    sequence: u32,
}

fn common<T: dbn::HasRType>(g: &mut G<'_>, rt: u8, t: u64, seq: &mut u32) -> Common {
    *seq += if g.one_in(8) { 2 } else { 1 };
    let instrument = g.pick(&[7, 7, 8]);
    let ts_event = t.saturating_sub(g.u(0, 5_000));
    let f = if g.one_in(4) { 0 } else { flags::LAST };
    Common {
        hd: RecordHeader::new::<T>(rt, 1, instrument, ts_event),
        flags: FlagSet::new(f),
        ts_recv: t,
        sequence: *seq,
    }
}

fn px(g: &mut G<'_>) -> i64 {
    4_799_000_000_000 + TICK * g.int(-40, 40)
}

fn pair(g: &mut G<'_>) -> BidAskPair {
    let mid = px(g);
    BidAskPair {
        bid_px: mid - TICK,
        ask_px: mid + TICK,
        bid_sz: g.u(0, 50) as u32,
        ask_sz: g.u(0, 50) as u32,
        bid_ct: g.u(0, 5) as u32,
        ask_ct: g.u(0, 5) as u32,
    }
}

fn ch(b: u8) -> c_char {
    b as c_char
}

/// One MBO record against the live orders (id, side, price, size).
fn mbo(g: &mut G<'_>, t: u64, seq: &mut u32, live: &mut Vec<(u64, u8, i64, u32)>) -> dbn::MboMsg {
    let c = common::<dbn::MboMsg>(g, rtype::MBO, t, seq);
    let action = if live.is_empty() { b'A' } else { g.pick(b"AAACMTFR") };
    let i = g.len(0, live.len().saturating_sub(1));
    let (order_id, side, price, size) = match action {
        b'A' => {
            let side = g.pick(b"BA");
            let o = (live.len() as u64 + t % 1_000_000, side, px(g), g.u(1, 20) as u32);
            live.push(o);
            o
        }
        b'C' => live.swap_remove(i),
        b'M' => {
            live[i].3 = g.u(1, 20) as u32;
            live[i]
        }
        b'R' => {
            live.clear();
            (0, b'N', i64::MAX, 0)
        }
        _ => (live[i].0, live[i].1, live[i].2, 1),
    };
    let side = if action == b'R' { b'N' } else { side };
    dbn::MboMsg {
        hd: c.hd,
        order_id,
        price,
        size,
        flags: c.flags,
        channel_id: 0,
        action: ch(action),
        side: ch(side),
        ts_recv: c.ts_recv,
        ts_in_delta: 0,
        sequence: c.sequence,
    }
}

/// The records of `schema`, encoded.
fn records<W: Write>(g: &mut G<'_>, enc: &mut DbnEncoder<W>, schema: Schema) -> dbn::Result<()> {
    let (mut t, mut seq, mut live) = (T0, 0u32, Vec::new());
    for _ in 0..g.len(1, 30) {
        t += g.pick(&[0, 1, 1_000, 1_000_000]);
        match schema {
            Schema::Mbo => enc.encode_record(&mbo(g, t, &mut seq, &mut live))?,
            Schema::Mbp1 => {
                let c = common::<dbn::Mbp1Msg>(g, rtype::MBP_1, t, &mut seq);
                let r = dbn::Mbp1Msg {
                    hd: c.hd,
                    price: px(g),
                    size: g.u(1, 9) as u32,
                    action: ch(g.pick(b"ATCM")),
                    side: ch(g.pick(b"BAN")),
                    flags: c.flags,
                    depth: 0,
                    ts_recv: c.ts_recv,
                    ts_in_delta: 0,
                    sequence: c.sequence,
                    levels: [pair(g)],
                };
                enc.encode_record(&r)?;
            }
            Schema::Mbp10 => {
                let c = common::<dbn::Mbp10Msg>(g, rtype::MBP_10, t, &mut seq);
                let mut r = dbn::Mbp10Msg {
                    hd: c.hd,
                    flags: c.flags,
                    ts_recv: c.ts_recv,
                    ..Default::default()
                };
                (r.price, r.size, r.action, r.side, r.sequence) =
                    (px(g), 1, ch(b'A'), ch(b'B'), c.sequence);
                for (k, l) in r.levels.iter_mut().enumerate().take(g.len(0, 10)) {
                    let off = TICK * (k as i64 + 1);
                    *l = BidAskPair {
                        bid_px: 4_799_000_000_000 - off,
                        ask_px: 4_799_000_000_000 + off,
                        bid_sz: g.u(1, 9) as u32,
                        ask_sz: g.u(1, 9) as u32,
                        bid_ct: 1,
                        ask_ct: 1,
                    };
                }
                enc.encode_record(&r)?;
            }
            _ => {
                let c = common::<dbn::TradeMsg>(g, rtype::MBP_0, t, &mut seq);
                let r = dbn::TradeMsg {
                    hd: c.hd,
                    price: px(g),
                    size: g.u(1, 9) as u32,
                    action: ch(b'T'),
                    side: ch(g.pick(b"BAN")),
                    flags: c.flags,
                    depth: 0,
                    ts_recv: c.ts_recv,
                    ts_in_delta: 0,
                    sequence: c.sequence,
                };
                enc.encode_record(&r)?;
            }
        }
    }
    Ok(())
}

/// Instrument 7's definition in DBN `version`.
fn definition<W: Write>(enc: &mut DbnEncoder<W>, version: u8) -> dbn::Result<()> {
    let symbol = [b'E', b'S', b'H', b'4'].map(ch);
    macro_rules! def {
        ($t:ty) => {{
            let mut def = <$t>::default();
            (def.hd.instrument_id, def.hd.ts_event, def.ts_recv) = (7, T0, T0);
            def.min_price_increment = TICK;
            def.raw_symbol[..4].copy_from_slice(&symbol);
            enc.encode_record(&def)
        }};
    }
    match version {
        1 => def!(dbn::v1::InstrumentDefMsg),
        2 => def!(dbn::v2::InstrumentDefMsg),
        _ => def!(dbn::InstrumentDefMsg),
    }
}

fn encode(g: &mut G<'_>) -> Option<Vec<u8>> {
    let version = g.pick(&[1, 2, 3]);
    let schema = g.pick(&[Schema::Mbo, Schema::Mbp1, Schema::Mbp10, Schema::Trades]);
    let meta = Metadata::builder()
        .dataset("GLBX.MDP3")
        .schema(Some(schema))
        .start(T0)
        .stype_in(None)
        .stype_out(SType::InstrumentId)
        .version(version)
        .build();
    let mut buf = Vec::new();
    {
        let mut enc = DbnEncoder::new(&mut buf, &meta).ok()?;
        if g.bool() {
            definition(&mut enc, version).ok()?;
        }
        records(g, &mut enc, schema).ok()?;
    }
    if g.one_in(3) {
        let mut out = Vec::new();
        let mut w = DynWriter::new(&mut out, Compression::Zstd).ok()?;
        w.write_all(&buf).ok()?;
        drop(w);
        return Some(out);
    }
    Some(buf)
}

/// A valid DBN file.
pub(crate) fn generate(g: &mut G<'_>) -> Vec<u8> {
    encode(g).unwrap_or_default()
}

/// Imports the file (named `.dbn.zst` when it starts with zstd's magic).
pub(crate) fn check(bytes: &[u8]) -> Checked {
    let name =
        if bytes.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) { "data.dbn.zst" } else { "data.dbn" };
    import_files(&[(name, bytes)], |p, out| import_databento(p, out, &ImportOptions::default()))
}
