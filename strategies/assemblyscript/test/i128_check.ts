// The operations of lib/i128.ts, exported for test/i128.mjs, which checks them against BigInt.
import { I128, add, sub, mulI64, divFloor, divRound, mulI64Wrapping } from "../lib/i128";
const A = changetype<I128>(memory.data(16, 16));
const B = changetype<I128>(memory.data(16, 16));
const Q = changetype<I128>(memory.data(16, 16));
const R = changetype<I128>(memory.data(16, 16));
export function res(): usize { return changetype<usize>(Q); }
export function set(alo: u64, ahi: i64, blo: u64, bhi: i64): void { A.lo = alo; A.hi = ahi; B.lo = blo; B.hi = bhi; }
export function tadd(): bool { return add(Q, A, B); }
export function tsub(): bool { return sub(Q, A, B); }
export function tmul(x: i64): bool { return mulI64(Q, x, B); }
export function tmulw(x: i64): void { mulI64Wrapping(Q, x, B); }
export function tdiv(): void { divFloor(Q, R, A, B); }
export function tround(): void { divRound(Q, A, B); }
