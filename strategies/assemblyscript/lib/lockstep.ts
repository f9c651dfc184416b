// The Lockstep guest ABI (version 1) for strategies written in AssemblyScript: the records,
// constants and region descriptor of engine/ABI.md, an action writer, parameter parsing with
// the Rust SDK's wording, and exact 128-bit integer arithmetic (AssemblyScript has no i128).
//
// Everything lives in static memory (`memory.data`): nothing is allocated, so the stub runtime
// never grows the heap and every call costs the same on every run. A strategy module re-exports
// `lockstep_abi_version` and `lockstep_regions` from here and writes `lockstep_init` and
// `lockstep_on_event` around `initBegin`/`initEnd` and `eventBegin`/`eventEnd` (see
// ../microprice.ts). Prices and quantities are i64 fixed point with 8 decimal places.

// ---- constants (engine/ABI.md) ----------------------------------------------------------------

export const ABI_VERSION: i32 = 1;
export const SCALE: i32 = 8;
export const ONE: i64 = 100_000_000;
export const BOOK_LEVELS: i32 = 10;
/** Action records the region holds: the Rust SDK's DEFAULT_ACTION_CAP. */
export const ACTION_CAP: i32 = 64;
/** Bytes of the parameter region: the Rust SDK's PARAMS_CAP. */
export const PARAMS_CAP: i32 = 4096;

export const EV_QUOTE: u16 = 1;
export const EV_TRADE: u16 = 2;
export const EV_BOOK: u16 = 3;
export const EV_ORDER_ACK: u16 = 4;
export const EV_FILL: u16 = 5;
export const EV_REJECT: u16 = 6;
export const EV_CANCELED: u16 = 7;
export const EV_TIMER: u16 = 8;

export const ACT_PLACE_LIMIT: u16 = 1;
export const ACT_PLACE_MARKET: u16 = 2;
export const ACT_CANCEL: u16 = 3;
export const ACT_REPLACE: u16 = 4;
export const ACT_SET_TIMER: u16 = 5;
export const ACT_SIGNAL: u16 = 6;

export const BUY: u8 = 1;
export const SELL: u8 = 2;

export const REJECT_UNKNOWN_ORDER: u32 = 1;

export const STATUS_ACTION_OVERFLOW: i32 = -1;
export const STATUS_BAD_EVENT: i32 = -2;
export const STATUS_NOT_INITIALIZED: i32 = -3;

// ---- records ----------------------------------------------------------------------------------

/** One event (64 bytes). Payload p0..p3 by kind as in engine/ABI.md. */
@unmanaged
export class Event {
  kind: u16;
  instrument: u16;
  flags: u32;
  seq: u64;
  exchangeTs: i64;
  /** The strategy's "now", ns. */
  localTs: i64;
  p0: i64;
  p1: i64;
  p2: i64;
  p3: i64;
}

/** The L2 book (328 bytes), written before each BOOK event; best level first. */
@unmanaged
export class Book {
  instrument: u16;
  bidCount: u16;
  askCount: u16;
  reserved: u16;

  /** Levels present on the buy side (at most BOOK_LEVELS). */
  bids(): i32 {
    return min(<i32>this.bidCount, BOOK_LEVELS);
  }
  /** Levels present on the sell side (at most BOOK_LEVELS). */
  asks(): i32 {
    return min(<i32>this.askCount, BOOK_LEVELS);
  }
  bidPx(i: i32): i64 {
    return load<i64>(changetype<usize>(this) + 8 + <usize>i * 16);
  }
  bidQty(i: i32): i64 {
    return load<i64>(changetype<usize>(this) + 16 + <usize>i * 16);
  }
  askPx(i: i32): i64 {
    return load<i64>(changetype<usize>(this) + 168 + <usize>i * 16);
  }
  askQty(i: i32): i64 {
    return load<i64>(changetype<usize>(this) + 176 + <usize>i * 16);
  }
}

// The regions: the descriptor, one event, one book, the actions and the parameter text.
const REGIONS: usize = memory.data(32, 16);
const EVENT_PTR: usize = memory.data(64, 16);
const BOOK_PTR: usize = memory.data(328, 16);
const ACTIONS_PTR: usize = memory.data(ACTION_CAP * 64, 16);
const PARAMS_PTR: usize = memory.data(PARAMS_CAP, 16);
const ERROR_CAP: i32 = 512;
const ERROR_PTR: usize = memory.data(ERROR_CAP, 16);

/** The event the host wrote for this call. */
export const event = changetype<Event>(EVENT_PTR);
/** The book the host wrote before a BOOK event. */
export const book = changetype<Book>(BOOK_PTR);

let ready = false;
let actionsLen: i32 = 0;
let overflowed = false;
let paramsLen: i32 = 0;
let errorLen: i32 = 0;

/** The ABI version this module speaks. */
export function lockstep_abi_version(): i32 {
  return ABI_VERSION;
}

/** Fills the region descriptor and returns its address. */
export function lockstep_regions(): i32 {
  store<u32>(REGIONS, ABI_VERSION, 0);
  store<u32>(REGIONS, <u32>EVENT_PTR, 4);
  store<u32>(REGIONS, <u32>ACTIONS_PTR, 8);
  store<u32>(REGIONS, ACTION_CAP, 12);
  store<u32>(REGIONS, <u32>BOOK_PTR, 16);
  store<u32>(REGIONS, <u32>PARAMS_PTR, 20);
  store<u32>(REGIONS, PARAMS_CAP, 24);
  store<u32>(REGIONS, 0, 28);
  return <i32>REGIONS;
}

// ---- the entry points -------------------------------------------------------------------------

/** Starts `lockstep_init`: `len` bytes of parameter text are in the parameter region. */
export function initBegin(len: i32): void {
  paramsLen = min(max(len, 0), PARAMS_CAP);
  actionsLen = 0;
  overflowed = false;
  errorLen = 0;
  ready = false;
}

/** Ends `lockstep_init`: the number of actions, or `-m` with an m-byte message. */
export function initEnd(ok: bool): i32 {
  if (ok && overflowed) {
    errorLen = 0;
    errorText("init emitted more actions than the action region holds");
    ok = false;
  }
  if (ok) {
    ready = true;
    return actionsLen;
  }
  if (errorLen == 0) errorText("init refused its parameters");
  memory.copy(PARAMS_PTR, ERROR_PTR, errorLen);
  return -errorLen;
}

/** Starts `lockstep_on_event`: 0 to go on, or the negative status to return at once. */
export function eventBegin(): i32 {
  if (!ready) return STATUS_NOT_INITIALIZED;
  if (!eventOk()) return STATUS_BAD_EVENT;
  actionsLen = 0;
  overflowed = false;
  return 0;
}

/** Ends `lockstep_on_event`: the number of actions, or the overflow status. */
export function eventEnd(): i32 {
  return overflowed ? STATUS_ACTION_OVERFLOW : actionsLen;
}

/** Whether the event is one this ABI version defines (the Rust SDK's decode): a known kind,
 * and a buy or sell side (the flags' low byte) on acks and fills. */
function eventOk(): bool {
  const kind = event.kind;
  if (kind == EV_ORDER_ACK || kind == EV_FILL) {
    const side = <u8>event.flags;
    return side == BUY || side == SELL;
  }
  return kind >= EV_QUOTE && kind <= EV_TIMER;
}

/** Traps with no message: AssemblyScript's runtime checks land here instead of `env.abort`
 * (a Lockstep guest may not import it). Selected with `--use abort=…`. */
export function abort(_message: usize, _file: usize, _line: u32, _column: u32): void {
  unreachable();
}

// ---- the action writer ------------------------------------------------------------------------

/** The next zeroed action record, or 0 when the region is full (the event then fails with
 * STATUS_ACTION_OVERFLOW and none of its actions is sent). */
function push(kind: u16, instrument: u16): usize {
  if (actionsLen >= ACTION_CAP) {
    overflowed = true;
    return 0;
  }
  const a = ACTIONS_PTR + <usize>actionsLen * 64;
  actionsLen++;
  memory.fill(a, 0, 64);
  store<u16>(a, kind, 0);
  store<u16>(a, instrument, 2);
  return a;
}

export function placeLimit(instrument: u16, orderId: u64, side: u8, px: i64, qty: i64): void {
  const a = push(ACT_PLACE_LIMIT, instrument);
  if (a == 0) return;
  store<u8>(a, side, 4);
  store<u64>(a, orderId, 8);
  store<i64>(a, px, 16);
  store<i64>(a, qty, 24);
}

export function placeMarket(instrument: u16, orderId: u64, side: u8, qty: i64): void {
  const a = push(ACT_PLACE_MARKET, instrument);
  if (a == 0) return;
  store<u8>(a, side, 4);
  store<u64>(a, orderId, 8);
  store<i64>(a, qty, 24);
}

export function cancel(instrument: u16, orderId: u64): void {
  const a = push(ACT_CANCEL, instrument);
  if (a != 0) store<u64>(a, orderId, 8);
}

/** Replaces order `orderId` with a new price and a new total quantity. */
export function replace(instrument: u16, orderId: u64, px: i64, qty: i64): void {
  const a = push(ACT_REPLACE, instrument);
  if (a == 0) return;
  store<u64>(a, orderId, 8);
  store<i64>(a, px, 16);
  store<i64>(a, qty, 24);
}

/** Asks for a TIMER event with `timerId` at (or after) local time `atNs`. */
export function setTimer(timerId: u64, atNs: i64): void {
  const a = push(ACT_SET_TIMER, 0);
  if (a == 0) return;
  store<u64>(a, timerId, 8);
  store<i64>(a, atNs, 32);
}

/** Publishes a fixed-point value (8 places) under signal `id`. */
export function signal(instrument: u16, id: u32, value: i64): void {
  const a = push(ACT_SIGNAL, instrument);
  if (a == 0) return;
  store<i64>(a, value, 32);
  store<u64>(a, <u64>id, 40);
}

// ---- init errors ------------------------------------------------------------------------------

function errorByte(b: u8): void {
  if (errorLen < ERROR_CAP) {
    store<u8>(ERROR_PTR + <usize>errorLen, b);
    errorLen++;
  }
}

/** Appends a string as UTF-8 (the literals here are ASCII; other code units are encoded). */
function errorText(s: string): void {
  for (let i = 0; i < s.length; i++) {
    const c = <u32>s.charCodeAt(i);
    if (c < 0x80) {
      errorByte(<u8>c);
    } else if (c < 0x800) {
      errorByte(<u8>(0xc0 | (c >> 6)));
      errorByte(<u8>(0x80 | (c & 0x3f)));
    } else {
      errorByte(<u8>(0xe0 | (c >> 12)));
      errorByte(<u8>(0x80 | ((c >> 6) & 0x3f)));
      errorByte(<u8>(0x80 | (c & 0x3f)));
    }
  }
}

/** Appends raw parameter bytes. */
function errorBytes(ptr: usize, len: i32): void {
  for (let i = 0; i < len; i++) errorByte(load<u8>(ptr + <usize>i));
}

/** Whether init has recorded a refusal (check after each parameter read). */
export function failed(): bool {
  return errorLen > 0;
}

// ---- parameters -------------------------------------------------------------------------------
// `key=value` pairs separated by `;` or newlines, keys and values trimmed, empty segments
// skipped; the last value given for a key wins.

// The segment the iterator stands on: [segStart, segEnd), key and value bounds within it.
let segStart: i32 = 0;
let segEnd: i32 = 0;
let keyEnd: i32 = 0;
let valStart: i32 = 0;
let hasEq = false;
let cursor: i32 = 0;

function isSpace(c: u8): bool {
  return c == 0x20 || (c >= 0x09 && c <= 0x0d);
}

function byteAt(i: i32): u8 {
  return load<u8>(PARAMS_PTR + <usize>i);
}

/** The first index of [from, to) that is not ASCII whitespace (or `to`). */
function trimmedStart(from: i32, to: i32): i32 {
  while (from < to && isSpace(byteAt(from))) from++;
  return from;
}

/** One past the last index of [from, to) that is not ASCII whitespace (or `from`). */
function trimmedEnd(from: i32, to: i32): i32 {
  while (to > from && isSpace(byteAt(to - 1))) to--;
  return to;
}

/** Moves to the next non-empty segment; false at the end of the text. */
function nextSegment(): bool {
  while (cursor <= paramsLen) {
    const start = cursor;
    let end = start;
    while (end < paramsLen && byteAt(end) != 0x3b && byteAt(end) != 0x0a) end++;
    cursor = end + 1;
    segStart = trimmedStart(start, end);
    segEnd = trimmedEnd(segStart, end);
    if (segStart == segEnd) continue;
    let eq = segStart;
    while (eq < segEnd && byteAt(eq) != 0x3d) eq++;
    hasEq = eq < segEnd;
    if (hasEq) {
      keyEnd = trimmedEnd(segStart, eq);
      valStart = trimmedStart(eq + 1, segEnd);
    }
    return true;
  }
  return false;
}

/** Whether the bytes [from, to) of the parameter text equal `s` (ASCII). */
function bytesEq(from: i32, to: i32, s: string): bool {
  if (to - from != s.length) return false;
  for (let i = 0; i < s.length; i++) {
    if (<i32>byteAt(from + i) != s.charCodeAt(i)) return false;
  }
  return true;
}

/** Whether the key [from, to) is one of the comma-separated names in `known`. */
function knownKey(known: string, from: i32, to: i32): bool {
  let s = 0;
  while (s <= known.length) {
    let e = s;
    while (e < known.length && known.charCodeAt(e) != 0x2c) e++;
    if (e - s == to - from && to > from) {
      let same = true;
      for (let i = 0; i < to - from; i++) same = same && known.charCodeAt(s + i) == <i32>byteAt(from + i);
      if (same) return true;
    }
    s = e + 1;
  }
  return false;
}

/** Checks every segment is key=value with a key in `known` (comma-separated). */
export function checkKnown(known: string): bool {
  cursor = 0;
  while (nextSegment()) {
    if (!hasEq) {
      errorText('parameter segment "');
      errorBytes(PARAMS_PTR + <usize>segStart, segEnd - segStart);
      errorText('" is not of the form key=value');
      return false;
    }
    const keyStart = segStart;
    if (!knownKey(known, keyStart, keyEnd)) {
      errorText("unknown parameter `");
      errorBytes(PARAMS_PTR + <usize>keyStart, keyEnd - keyStart);
      errorText("`; this strategy accepts: ");
      for (let i = 0; i < known.length; i++) {
        if (known.charCodeAt(i) == 0x2c) errorText(", ");
        else errorByte(<u8>known.charCodeAt(i));
      }
      return false;
    }
  }
  return true;
}

// The value found by `find`: [foundStart, foundEnd) of the parameter text.
let foundStart: i32 = 0;
let foundEnd: i32 = 0;

/** Finds the last value given for `key`. */
function find(key: string): bool {
  cursor = 0;
  let found = false;
  while (nextSegment()) {
    if (hasEq && bytesEq(segStart, keyEnd, key)) {
      foundStart = valStart;
      foundEnd = segEnd;
      found = true;
    }
  }
  return found;
}

// The number a parse produced.
let parsed: i64 = 0;

/** A decimal integer with an optional sign, no overflow, into `parsed`. */
function parseI64(from: i32, to: i32): bool {
  let i = from;
  let neg = false;
  if (i < to && (byteAt(i) == 0x2d || byteAt(i) == 0x2b)) {
    neg = byteAt(i) == 0x2d;
    i++;
  }
  if (i == to) return false;
  let v: i64 = 0;
  for (; i < to; i++) {
    const c = byteAt(i);
    if (c < 0x30 || c > 0x39) return false;
    const d = <i64>(c - 0x30);
    if (v > i64.MAX_VALUE / 10 || v < i64.MIN_VALUE / 10) return false;
    v *= 10;
    if (neg ? v < i64.MIN_VALUE + d : v > i64.MAX_VALUE - d) return false;
    v = neg ? v - d : v + d;
  }
  parsed = v;
  return true;
}

/** Exact decimal text ("579.40", "-0.00012") to fixed point with 8 places, into `parsed`: no
 * float, at most 8 significant decimal places (trailing zeros beyond are fine), no overflow. */
function parseFixed(from: i32, to: i32): bool {
  from = trimmedStart(from, to);
  to = trimmedEnd(from, to);
  if (from == to) return false;
  const neg = byteAt(from) == 0x2d;
  if (byteAt(from) == 0x2d || byteAt(from) == 0x2b) from++;
  let dot = from;
  while (dot < to && byteAt(dot) != 0x2e) dot++;
  const fracFrom = dot < to ? dot + 1 : to;
  if (dot == from && fracFrom == to) return false;
  let v: i64 = 0;
  for (let i = from; i < dot; i++) {
    const c = byteAt(i);
    if (c < 0x30 || c > 0x39) return false;
    const d = <i64>(c - 0x30);
    if (v > (i64.MAX_VALUE - d) / 10) return false;
    v = v * 10 + d;
  }
  for (let i = fracFrom; i < to; i++) {
    if (byteAt(i) < 0x30 || byteAt(i) > 0x39) return false;
  }
  let places = to - fracFrom;
  while (places > 0 && byteAt(fracFrom + places - 1) == 0x30) places--;
  if (places > SCALE) return false;
  let frac: i64 = 0;
  for (let i = 0; i < SCALE; i++) frac = frac * 10 + (i < places ? <i64>(byteAt(fracFrom + i) - 0x30) : 0);
  if (v > (i64.MAX_VALUE - frac) / ONE) return false;
  v = v * ONE + frac;
  parsed = neg ? -v : v;
  return true;
}

function malformed(key: string, expected: string): void {
  errorText("parameter `");
  errorText(key);
  errorText('`="');
  errorBytes(PARAMS_PTR + <usize>foundStart, foundEnd - foundStart);
  errorText('" is not ');
  errorText(expected);
}

/** Records that `key` is out of range under `rule`; returns false, to return from init. */
export function outOfRange(key: string, rule: string): bool {
  errorText("parameter `");
  errorText(key);
  errorText("`=");
  if (find(key)) errorBytes(PARAMS_PTR + <usize>foundStart, foundEnd - foundStart);
  else errorText("<default>");
  errorText(" is out of range: ");
  errorText(rule);
  return false;
}

/** An integer parameter, or `def` when absent (check `failed()` after). */
export function paramI64(key: string, def: i64): i64 {
  if (!find(key)) return def;
  if (parseI64(foundStart, foundEnd)) return parsed;
  malformed(key, "an integer");
  return 0;
}

/** A fixed-point price (8 places), or `def` when absent (check `failed()` after). */
export function paramPrice(key: string, def: i64): i64 {
  if (!find(key)) return def;
  if (parseFixed(foundStart, foundEnd)) return parsed;
  malformed(key, "a price with at most 8 decimal places");
  return 0;
}

/** A fixed-point quantity (8 places), or `def` when absent (check `failed()` after). */
export function paramQty(key: string, def: i64): i64 {
  if (!find(key)) return def;
  if (parseFixed(foundStart, foundEnd)) return parsed;
  malformed(key, "a quantity with at most 8 decimal places");
  return 0;
}

/** An instrument id (0..=65535), or `def` when absent (check `failed()` after). */
export function paramInstrument(key: string, def: u16): u16 {
  const v = paramI64(key, def);
  if (failed()) return 0;
  if (v < 0 || v > 65535) {
    outOfRange(key, "must be an instrument id in 0..=65535");
    return 0;
  }
  return <u16>v;
}

// ---- saturating and checked i64 ---------------------------------------------------------------

/** +1 for a buy, -1 for a sell. */
export function sideSign(side: u8): i64 {
  return side == BUY ? 1 : -1;
}

export function satAdd(a: i64, b: i64): i64 {
  const r = a + b;
  if (((a ^ r) & (b ^ r)) < 0) return b > 0 ? i64.MAX_VALUE : i64.MIN_VALUE;
  return r;
}

/** Whether `a * b` overflows i64. */
export function mulOverflows(a: i64, b: i64): bool {
  if (a == 0 || b == 0) return false;
  if ((a == -1 && b == i64.MIN_VALUE) || (b == -1 && a == i64.MIN_VALUE)) return true;
  return (a * b) / b != a;
}

export function satMul(a: i64, b: i64): i64 {
  if (!mulOverflows(a, b)) return a * b;
  return (a < 0) != (b < 0) ? i64.MIN_VALUE : i64.MAX_VALUE;
}
