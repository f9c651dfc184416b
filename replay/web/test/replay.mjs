// Runs strategies over a replay in Node's V8 through static/host.js, as the page does.
//
//   node replay/web/test/replay.mjs CORE.wasm [--events N] [--seed N] [--tape FILE]
//        [--record OUT.json] NAME=MODULE.wasm[:PARAMS] ...
//
// CORE.wasm and each MODULE.wasm are files or http:// URLs (e.g. what `replay serve` serves:
// URL/lockstep_web.wasm, URL/strategies/NAME.wasm).
// Prints the run's result (RunResult JSON) and events/s on stdout. With --record, writes every
// call each strategy answered ([seq, actions hex]) to OUT.json for a record-by-record
// comparison with the engine's traces.
import { readFileSync, writeFileSync } from "node:fs";
import { Replay, Strategy } from "../static/host.js";

/// The bytes of a file or an http:// URL.
async function load(where) {
  if (!/^https?:/.test(where)) return readFileSync(where);
  const r = await fetch(where);
  if (!r.ok) throw new Error(`${where}: ${r.status} ${await r.text()}`);
  return new Uint8Array(await r.arrayBuffer());
}

const args = process.argv.slice(2);
const core = args.shift();
const settings = { strategies: [] };
const modules = [];
let tape = null;
let record = null;
while (args.length > 0) {
  const a = args.shift();
  if (a === "--events") settings.events = Number(args.shift());
  else if (a === "--seed") settings.seed = Number(args.shift());
  else if (a === "--tape") tape = readFileSync(args.shift());
  else if (a === "--record") record = args.shift();
  else {
    const eq = a.indexOf("=");
    if (eq < 0) throw new Error(`expected NAME=MODULE.wasm[:PARAMS], got ${a}`);
    // The module ends at ".wasm"; parameters follow the next colon.
    const rest = a.slice(eq + 1);
    const end = rest.indexOf(".wasm") + 5;
    if (end < 5) throw new Error(`expected NAME=MODULE.wasm[:PARAMS], got ${a}`);
    const path = rest.slice(0, end);
    const params = rest.slice(end + 1);
    settings.strategies.push({ name: a.slice(0, eq), params });
    modules.push(path);
  }
}
const replay = await Replay.load(await load(core));
const strategies = [];
for (let i = 0; i < modules.length; i++) {
  const s = await Strategy.load(await load(modules[i]), settings.strategies[i].params);
  if (record !== null) s.record = [];
  strategies.push(s);
}
replay.open(settings, strategies, tape);
const t0 = performance.now();
while (replay.step(65536) > 0) {}
const result = replay.finish();
const seconds = (performance.now() - t0) / 1000;
result.events_per_sec = result.events / seconds;
if (record !== null) {
  const hex = (b) => Buffer.from(b).toString("hex");
  const calls = strategies.map((s) => s.record.map(([seq, acts]) => [seq.toString(), hex(acts)]));
  writeFileSync(record, JSON.stringify(calls));
}
process.stdout.write(JSON.stringify(result) + "\n");
