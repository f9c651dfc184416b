// microprice-as: the microprice quoter (strategies/microprice) written in AssemblyScript against
// lib/lockstep.ts. Its actions are those of the Rust build, byte for byte, on every input: the
// replay tests compare the two over the synthetic market and real tapes, on both tiers.
//
// Model: S. Stoikov, "The micro-price: a high-frequency estimator of future prices" (2018),
// first order: with I = Qb / (Qb + Qa) over the top `levels` levels,
// micro = bid + (ask - bid) * I, kept as the exact fraction num / den in 128-bit integers.
// One bid and one ask around it, ids 1, 2, 3, ...: placed when a side is empty, replaced once
// acknowledged whenever the wanted price moves, cancelled at an inventory limit.

import {
  BOOK_LEVELS, BUY, EV_BOOK, EV_CANCELED, EV_FILL, EV_ORDER_ACK, EV_QUOTE, EV_REJECT, ONE,
  REJECT_UNKNOWN_ORDER, SELL, book, cancel, checkKnown, event, eventBegin, eventEnd, failed,
  initBegin, initEnd, mulOverflows, outOfRange, paramI64, paramInstrument, paramPrice, paramQty,
  placeLimit, replace, satAdd, satMul, sideSign, signal,
} from "./lib/lockstep";
import {
  I128, add, divFloor, divRound, fitsI64, isNeg, isZero, mulI64, mulI64Wrapping, setI64, sub,
  toI64,
} from "./lib/i128";

export { lockstep_abi_version, lockstep_regions } from "./lib/lockstep";

// Catalog metadata, read by strategies/catalog/build.rs (the catalog name is `microprice-as`).
const LOCKSTEP_SUMMARY =
  "Stoikov microprice quoter written in AssemblyScript: the Rust microprice's actions, bit for bit";
const LOCKSTEP_DEFAULT_PARAMS =
  "instrument=0;levels=3;tick=0.01;half_spread_ticks=1;order_qty=1;max_inventory=10";
const LOCKSTEP_PARAMS = "instrument,levels,tick,half_spread_ticks,order_qty,max_inventory";

// Signal ids, as the Rust build's.
const SIG_MICROPRICE: u32 = 1;
const SIG_IMBALANCE: u32 = 2;
const SIG_INVENTORY: u32 = 3;

// ---- state ------------------------------------------------------------------------------------

let instrument: u16 = 0;
let levels: i32 = 3;
let tick: i64 = 0;
/** half_spread_ticks * tick. */
let half: i64 = 0;
let orderQty: i64 = 0;
let maxInventory: i64 = 0;
let inventory: i64 = 0;
let nextId: u64 = 1;

/** One resting quote. */
@unmanaged
class Working {
  live: bool;
  /** The venue acknowledged it at least once. */
  acked: bool;
  cancelSent: bool;
  id: u64;
  /** Last price requested. */
  px: i64;
  /** Last price acknowledged. */
  ackedPx: i64;
}

const bidQuote = changetype<Working>(memory.data(offsetof<Working>(), 8));
const askQuote = changetype<Working>(memory.data(offsetof<Working>(), 8));

// The microprice as the fraction num / den of fixed-point units (den > 0), and the bid size.
const num = changetype<I128>(memory.data(16, 16));
const den = changetype<I128>(memory.data(16, 16));
const bidQty = changetype<I128>(memory.data(16, 16));
// Scratch values.
const a = changetype<I128>(memory.data(16, 16));
const b = changetype<I128>(memory.data(16, 16));
const c = changetype<I128>(memory.data(16, 16));
const d = changetype<I128>(memory.data(16, 16));
const e = changetype<I128>(memory.data(16, 16));

// ---- the model --------------------------------------------------------------------------------

/** Stoikov's weighted mid into num/den/bidQty from the best prices and the summed sizes `qb`
 * and `qa`; false when a side is empty, the book is crossed, or there is no size. */
function microNew(bid: i64, ask: i64, qb: I128, qa: I128): bool {
  if (!add(den, qb, qa)) return false;
  if (bid <= 0 || ask < bid || isNeg(qb) || isNeg(qa) || isNeg(den) || isZero(den)) return false;
  // num = bid * den + (ask - bid) * qb, the spread taken in 128 bits.
  setI64(a, ask);
  setI64(b, bid);
  sub(c, a, b);
  if (!mulI64(a, bid, den)) return false;
  // spread * qb: the spread fits i64 for any bid > 0 and ask >= bid.
  if (!fitsI64(c) || !mulI64(b, toI64(c), qb)) return false;
  if (!add(num, a, b)) return false;
  bidQty.lo = qb.lo;
  bidQty.hi = qb.hi;
  return true;
}

// The quotes microQuotes found.
let quoteBid: i64 = 0;
let quoteAsk: i64 = 0;

/** Bid at floor(micro - half) and ask at ceil(micro + half) on the tick grid. */
function microQuotes(): bool {
  // a = half * den; b = num - a (lo); c = num + a (hi); d = tick * den (step).
  if (!mulI64(a, half, den) || !sub(b, num, a) || !add(c, num, a) || !mulI64(d, tick, den)) {
    return false;
  }
  divFloor(a, e, b, d); // a = floor(lo / step)
  mulI64Wrapping(b, tick, a); // b = bid
  divFloor(a, c, c, d); // a = floor(hi / step), c = hi mod step
  if (!isZero(c)) {
    setI64(c, 1);
    add(a, a, c);
  }
  mulI64Wrapping(c, tick, a); // c = ask
  if (!fitsI64(b) || !fitsI64(c)) return false;
  quoteBid = toI64(b);
  quoteAsk = toI64(c);
  return true;
}

// ---- the two quotes ---------------------------------------------------------------------------

/** Brings one side in line with the wanted price (`want` false: the side should be empty). */
function sync(side: u8, want: bool, px: i64): void {
  const w = side == BUY ? bidQuote : askQuote;
  if (!w.live && want) {
    w.live = true;
    w.acked = false;
    w.cancelSent = false;
    w.id = nextId;
    w.px = px;
    w.ackedPx = 0;
    placeLimit(instrument, nextId, side, px, orderQty);
    nextId++;
  } else if (w.live && want && !w.cancelSent && w.acked && w.px != px) {
    w.px = px;
    replace(instrument, w.id, px, orderQty);
  } else if (w.live && !want && !w.cancelSent) {
    w.cancelSent = true;
    cancel(instrument, w.id);
  }
}

/** The live quote with order id `id`, or null. */
function find(id: u64): Working | null {
  if (bidQuote.live && bidQuote.id == id) return bidQuote;
  if (askQuote.live && askQuote.id == id) return askQuote;
  return null;
}

function update(): void {
  divRound(a, num, den);
  signal(instrument, SIG_MICROPRICE, toI64(a));
  mulI64Wrapping(b, ONE, bidQty);
  divRound(a, b, den);
  signal(instrument, SIG_IMBALANCE, toI64(a));
  if (!microQuotes()) return;
  sync(BUY, quoteBid > 0 && inventory < maxInventory, quoteBid);
  sync(SELL, inventory > -maxInventory, quoteAsk);
}

// Summed sizes of the top levels.
const qb = changetype<I128>(memory.data(16, 16));
const qa = changetype<I128>(memory.data(16, 16));

function onBook(): void {
  const nb = book.bids();
  const na = book.asks();
  if (nb == 0 || na == 0) return;
  setI64(qb, 0);
  setI64(qa, 0);
  for (let i = 0; i < levels; i++) {
    if (i < nb && book.bidQty(i) > 0) {
      setI64(d, book.bidQty(i));
      add(qb, qb, d);
    }
    if (i < na && book.askQty(i) > 0) {
      setI64(d, book.askQty(i));
      add(qa, qa, d);
    }
  }
  if (microNew(book.bidPx(0), book.askPx(0), qb, qa)) update();
}

function onFill(): void {
  const w = find(<u64>event.p0);
  if (w == null) return;
  if (event.p3 <= 0) w.live = false;
  inventory = satAdd(inventory, satMul(sideSign(<u8>event.flags), event.p2));
  signal(instrument, SIG_INVENTORY, inventory);
}

function onReject(): void {
  const w = find(<u64>event.p0);
  if (w == null) return;
  if (w.acked && !w.cancelSent && event.flags != REJECT_UNKNOWN_ORDER) w.px = w.ackedPx;
  else w.live = false;
}

function onEvent(): void {
  const kind = event.kind;
  if (kind == EV_QUOTE) {
    if (event.instrument != instrument) return;
    setI64(qb, event.p1);
    setI64(qa, event.p3);
    if (microNew(event.p0, event.p2, qb, qa)) update();
  } else if (kind == EV_BOOK) {
    if (event.instrument == instrument) onBook();
  } else if (kind == EV_ORDER_ACK) {
    const w = find(<u64>event.p0);
    if (w != null) {
      w.acked = true;
      w.ackedPx = event.p1;
    }
  } else if (kind == EV_FILL) {
    onFill();
  } else if (kind == EV_REJECT) {
    onReject();
  } else if (kind == EV_CANCELED) {
    const w = find(<u64>event.p0);
    if (w != null) w.live = false;
  }
}

// ---- parameters -------------------------------------------------------------------------------

function init(): bool {
  inventory = 0;
  nextId = 1;
  memory.fill(changetype<usize>(bidQuote), 0, offsetof<Working>());
  memory.fill(changetype<usize>(askQuote), 0, offsetof<Working>());
  if (!checkKnown(LOCKSTEP_PARAMS)) return false;
  instrument = paramInstrument("instrument", 0);
  if (failed()) return false;
  const lv = paramI64("levels", 3);
  if (failed()) return false;
  if (lv < 1 || lv > BOOK_LEVELS) return outOfRange("levels", "must be within 1..=10");
  levels = <i32>lv;
  tick = paramPrice("tick", ONE / 100);
  if (failed()) return false;
  if (tick <= 0) return outOfRange("tick", "must be > 0");
  const halfTicks = paramI64("half_spread_ticks", 1);
  if (failed()) return false;
  if (halfTicks < 1 || halfTicks > 10000) {
    return outOfRange("half_spread_ticks", "must be within 1..=10000");
  }
  if (mulOverflows(tick, halfTicks)) {
    return outOfRange("half_spread_ticks", "half_spread_ticks*tick is too large");
  }
  half = tick * halfTicks;
  orderQty = paramQty("order_qty", ONE);
  if (failed()) return false;
  if (orderQty <= 0) return outOfRange("order_qty", "must be > 0");
  maxInventory = paramQty("max_inventory", 10 * ONE);
  if (failed()) return false;
  if (maxInventory <= 0) return outOfRange("max_inventory", "must be > 0");
  return true;
}

// ---- the exports ------------------------------------------------------------------------------

export function lockstep_init(len: i32): i32 {
  initBegin(len);
  return initEnd(init());
}

export function lockstep_on_event(): i32 {
  const status = eventBegin();
  if (status < 0) return status;
  onEvent();
  return eventEnd();
}
