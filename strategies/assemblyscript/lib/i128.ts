// Exact signed 128-bit integers for fixed-point arithmetic (AssemblyScript has no i128): the
// operations Rust's i128 gives a strategy, with the same results, checked where Rust's are.
//
// A value is an `I128` record in static memory (two's complement, low word first); operations
// write into a destination record, which may be one of the operands. Records are reserved in
// static memory (`changetype<I128>(memory.data(16, 16))`), so the arithmetic never allocates.

/** One 128-bit value: `hi * 2^64 + lo`, two's complement. */
@unmanaged
export class I128 {
  lo: u64;
  hi: i64;
}

export function setI64(dst: I128, x: i64): void {
  dst.lo = <u64>x;
  dst.hi = x >> 63;
}

export function copy(dst: I128, a: I128): void {
  dst.lo = a.lo;
  dst.hi = a.hi;
}

export function isNeg(a: I128): bool {
  return a.hi < 0;
}

export function isZero(a: I128): bool {
  return a.hi == 0 && a.lo == 0;
}

/** `a < b`, signed. */
export function lt(a: I128, b: I128): bool {
  return a.hi < b.hi || (a.hi == b.hi && a.lo < b.lo);
}

/** Whether the value fits i64 (Rust's `i64::try_from(x).is_ok()`). */
export function fitsI64(a: I128): bool {
  return a.hi == (<i64>a.lo >> 63);
}

/** The low 64 bits as i64 (the value itself when `fitsI64`). */
export function toI64(a: I128): i64 {
  return <i64>a.lo;
}

/** `dst = a + b`; false on overflow (dst then holds the wrapped sum). */
export function add(dst: I128, a: I128, b: I128): bool {
  const lo = a.lo + b.lo;
  const hi = a.hi + b.hi + <i64>(lo < a.lo);
  const overflow = ((a.hi ^ hi) & (b.hi ^ hi)) < 0;
  dst.lo = lo;
  dst.hi = hi;
  return !overflow;
}

/** `dst = a - b`; false on overflow (dst then holds the wrapped difference). */
export function sub(dst: I128, a: I128, b: I128): bool {
  const lo = a.lo - b.lo;
  const hi = a.hi - b.hi - <i64>(a.lo < b.lo);
  const overflow = ((a.hi ^ b.hi) & (a.hi ^ hi)) < 0;
  dst.lo = lo;
  dst.hi = hi;
  return !overflow;
}

// The high word of the last `mulWide`.
let wideHi: u64 = 0;

/** The full 128-bit product of two u64: returns the low word, the high one in `wideHi`. */
function mulWide(a: u64, b: u64): u64 {
  const M: u64 = 0xffff_ffff;
  const a0 = a & M;
  const a1 = a >> 32;
  const b0 = b & M;
  const b1 = b >> 32;
  const p00 = a0 * b0;
  const p01 = a0 * b1;
  const p10 = a1 * b0;
  const p11 = a1 * b1;
  const mid = (p00 >> 32) + (p01 & M) + (p10 & M);
  wideHi = p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32);
  return (mid << 32) | (p00 & M);
}

/** `dst = x * b` modulo 2^128 (Rust's `wrapping_mul`). */
export function mulI64Wrapping(dst: I128, x: i64, b: I128): void {
  const xHi = x >> 63;
  const lo = mulWide(<u64>x, b.lo);
  const hi = <i64>wideHi + <i64>b.lo * xHi + b.hi * x;
  dst.lo = lo;
  dst.hi = hi;
}

/** `dst = x * b`; false on overflow (Rust's `i128::from(x).checked_mul(b)`). */
export function mulI64(dst: I128, x: i64, b: I128): bool {
  const negative = (x < 0) != isNeg(b);
  const mx: u64 = x < 0 ? <u64>0 - <u64>x : <u64>x;
  let bLo = b.lo;
  let bHi = <u64>b.hi;
  if (isNeg(b)) {
    bLo = ~bLo + 1;
    bHi = ~bHi + <u64>(bLo == 0);
  }
  const lo = mulWide(mx, bLo);
  const carry = wideHi;
  const cross = mulWide(mx, bHi);
  if (wideHi != 0) return false;
  const hi = carry + cross;
  if (hi < carry) return false;
  // The magnitude (hi, lo) must fit: below 2^127, or exactly 2^127 when negative.
  const top: u64 = 1 << 63;
  if (hi > top || (hi == top && (lo != 0 || !negative))) return false;
  if (negative) {
    const nlo = ~lo + 1;
    dst.hi = <i64>(~hi + <u64>(nlo == 0));
    dst.lo = nlo;
  } else {
    dst.hi = <i64>hi;
    dst.lo = lo;
  }
  return true;
}

// The unsigned division's working registers: quotient and remainder.
let qHi: u64 = 0;
let qLo: u64 = 0;
let rHi: u64 = 0;
let rLo: u64 = 0;

function clz128(hi: u64, lo: u64): i32 {
  return hi != 0 ? <i32>clz(hi) : 64 + <i32>clz(lo);
}

/** Unsigned (nHi, nLo) / (dHi, dLo), d != 0, into the registers: shift and subtract, one step
 * per quotient bit (so a quotient of k bits costs k steps). */
function udiv(nHi: u64, nLo: u64, dHi: u64, dLo: u64): void {
  qHi = 0;
  qLo = 0;
  rHi = nHi;
  rLo = nLo;
  if (nHi < dHi || (nHi == dHi && nLo < dLo)) return;
  if (nHi == 0) {
    qLo = nLo / dLo;
    rLo = nLo % dLo;
    return;
  }
  const shift = clz128(dHi, dLo) - clz128(nHi, nLo);
  if (shift >= 64) {
    dHi = dLo << <u64>(shift - 64);
    dLo = 0;
  } else if (shift > 0) {
    dHi = (dHi << <u64>shift) | (dLo >> <u64>(64 - shift));
    dLo = dLo << <u64>shift;
  }
  for (let i = 0; i <= shift; i++) {
    qHi = (qHi << 1) | (qLo >> 63);
    qLo = qLo << 1;
    if (rHi > dHi || (rHi == dHi && rLo >= dLo)) {
      const borrow = <u64>(rLo < dLo);
      rLo -= dLo;
      rHi = rHi - dHi - borrow;
      qLo |= 1;
    }
    dLo = (dLo >> 1) | (dHi << 63);
    dHi = dHi >> 1;
  }
}

/** Floor division for `d > 0`: `q = floor(n / d)`, `r = n - q*d` in `0..d` (Rust's
 * `div_euclid` and `rem_euclid` for a positive divisor). Traps when `d <= 0`. */
export function divFloor(q: I128, r: I128, n: I128, d: I128): void {
  if (isNeg(d) || isZero(d)) unreachable();
  const negative = isNeg(n);
  let mLo = n.lo;
  let mHi = <u64>n.hi;
  if (negative) {
    mLo = ~mLo + 1;
    mHi = ~mHi + <u64>(mLo == 0);
  }
  udiv(mHi, mLo, <u64>d.hi, d.lo);
  if (!negative) {
    q.hi = <i64>qHi;
    q.lo = qLo;
    r.hi = <i64>rHi;
    r.lo = rLo;
    return;
  }
  // n < 0: q = -(|n| / d) - (1 if a remainder), r = d - (|n| % d) if a remainder.
  const exact = rHi == 0 && rLo == 0;
  let nqLo = ~qLo + 1;
  let nqHi = ~qHi + <u64>(nqLo == 0);
  if (!exact) {
    nqHi -= <u64>(nqLo == 0);
    nqLo -= 1;
    const lo = d.lo - rLo;
    r.hi = <i64>(<u64>d.hi - rHi - <u64>(d.lo < rLo));
    r.lo = lo;
  } else {
    r.hi = 0;
    r.lo = 0;
  }
  q.hi = <i64>nqHi;
  q.lo = nqLo;
}

const scratchQ = changetype<I128>(memory.data(16, 16));
const scratchR = changetype<I128>(memory.data(16, 16));
const scratchT = changetype<I128>(memory.data(16, 16));

/** `round(n / d)` half up, for `d > 0`: `q + 1` when `2·rem >= d` (Rust: `div_euclid` and
 * `rem_euclid`, then the same comparison). */
export function divRound(dst: I128, n: I128, d: I128): void {
  divFloor(scratchQ, scratchR, n, d);
  mulI64Wrapping(scratchT, 2, scratchR);
  const up = !lt(scratchT, d);
  copy(dst, scratchQ);
  if (up) {
    setI64(scratchT, 1);
    add(dst, dst, scratchT);
  }
}
