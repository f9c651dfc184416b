// Checks lib/i128.ts against JavaScript's BigInt: 200,000 random operand pairs of every width
// and sign, plus the edge cases (i128::MIN, overflow at 2^127, negative floor division), for
// add, sub, checked and wrapping multiply, floor division and rounding. Compiles
// test/i128_check.ts with the installed asc first. Run: node strategies/assemblyscript/test/i128.mjs
import fs from "fs";
import os from "os";
import path from "path";
import { execFileSync } from "child_process";
import { fileURLToPath } from "url";

const here = path.dirname(fileURLToPath(import.meta.url));
const asc = path.join(here, "../node_modules/assemblyscript/bin/asc.js");
const wasm = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "lockstep-i128-")), "i128_check.wasm");
execFileSync(process.execPath, [asc, path.join(here, "i128_check.ts"), "-O3", "--runtime", "stub", "--noAssert", "-o", wasm], { stdio: "inherit" });
const { instance } = await WebAssembly.instantiate(fs.readFileSync(wasm), { env: { abort() { throw new Error("abort"); } } });
const e = instance.exports;
const M = (1n << 128n), H = (1n << 127n);
const wrap = (v) => { v = ((v % M) + M) % M; return v >= H ? v - M : v; };
const split = (v) => { const u = ((v % M) + M) % M; return [BigInt.asUintN(64, u), BigInt.asIntN(64, u >> 64n)]; };
const get = (off) => { const dv = new DataView(e.memory.buffer); const p = e.res() + off; const lo = dv.getBigUint64(p, true), hi = dv.getBigInt64(p + 8, true); return (hi << 64n) + lo; };
let seed = 12345n;
const rnd = () => { seed = (seed * 6364136223846793005n + 1442695040888963407n) & ((1n<<64n)-1n); return seed; };
const pick = () => { const k = Number(rnd() % 6n); const r = (rnd() << 64n) | rnd();
  const bits = [8n, 40n, 64n, 80n, 120n, 128n][k]; let v = r & ((1n << bits) - 1n); if (rnd() & 1n) v = -v; return wrap(v); };
const fdiv = (n, d) => { let q = n / d; if ((n % d != 0n) && ((n < 0n) != (d < 0n))) q -= 1n; return q; };
let bad = 0;
for (let i = 0; i < 200000; i++) {
  const a = pick(), b = pick(); const x = BigInt.asIntN(64, rnd() >> BigInt(Number(rnd() % 64n)));
  const [al, ah] = split(a), [bl, bh] = split(b); e.set(al, ah, bl, bh);
  let ok = e.tadd(); if (get(0) != wrap(a + b) || ok != (a + b == wrap(a + b))) { bad++; console.log("add", a, b); }
  ok = e.tsub(); if (get(0) != wrap(a - b) || ok != (a - b == wrap(a - b))) { bad++; console.log("sub", a, b); }
  ok = e.tmul(x); const p = x * b; if (ok != (p == wrap(p)) || (ok && get(0) != p)) { bad++; console.log("mul", x, b, ok); }
  e.tmulw(x); if (get(0) != wrap(x * b)) { bad++; console.log("mulw", x, b); }
  if (b > 0n) { e.tdiv(); const q = fdiv(a, b); if (get(0) != q || get(16) != a - q * b) { bad++; console.log("div", a, b, get(0), q); }
    e.tround(); const r = a - q * b; const want = 2n * r >= b ? q + 1n : q; if (get(0) != wrap(want)) { bad++; console.log("round", a, b); } }
  if (bad > 10) break;
}
// edge cases
for (const [a, b] of [[-(H), 1n], [H - 1n, 1n], [-(H), 3n], [-1n, H - 1n], [-(H), H - 1n], [5n, 7n], [-5n, 7n], [-14n, 7n]]) {
  const [al, ah] = split(a), [bl, bh] = split(b); e.set(al, ah, bl, bh); e.tdiv(); const q = fdiv(a, b); if (get(0) != wrap(q) || get(16) != a - q*b) { bad++; console.log("edge div", a, b, get(0), q); } }
for (const [x, b] of [[-1n, -(H)], [-(1n<<63n), -(1n<<64n)], [-(1n<<63n), (1n<<64n)], [1n<<62n, 2n], [-(1n<<63n), -(H)]]) {
  const [bl, bh] = split(b); e.set(0n, 0n, bl, bh); const ok = e.tmul(x); const p = x * b; if (ok != (p == wrap(p)) || (ok && get(0) != p)) { bad++; console.log("edge mul", x, b, ok); } }
fs.rmSync(path.dirname(wasm), { recursive: true, force: true });
if (bad > 0) {
  console.log(`i128: ${bad} wrong results`);
  process.exit(1);
}
console.log("i128: 200000 random cases and the edge cases agree with BigInt");
