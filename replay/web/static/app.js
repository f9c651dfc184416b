// The replay terminal: picks a strategy and a tape, runs them through the replay core and
// the JavaScript host (host.js), draws the book, trades, orders, fills, PnL and inventory as
// the replay goes, and compares the final digest with the server's replay of the same run.
//
// URL parameters: strategy=NAME, params=TEXT, events=N, seed=N, pace=SPEED (0: as fast as
// possible), autorun=1, compare=0 (do not ask the server; for timing the browser alone). When a run ends, the digest is written into #digest and
// data-done="1" is set on it (data-match on #match says whether the server agreed).
import { Replay, Strategy } from "./host.js";

const $ = (id) => document.getElementById(id);
const url = new URLSearchParams(location.search);
let catalog = [];
let core = null;
let stopping = false;

/// Nanoseconds of tape time as HH:MM:SS.mmm (UTC).
function clock(ns) {
  const ms = Number(BigInt(ns) / 1000000n);
  const d = new Date(ms);
  return Number.isFinite(ms) ? d.toISOString().slice(11, 23) : "–";
}

function rows(tbody, items, cells) {
  const html = items
    .map((it) => "<tr>" + cells(it).map(([cls, v]) => `<td class="${cls}">${v}</td>`).join("") + "</tr>")
    .join("");
  tbody.innerHTML = html;
}

function text(v) {
  return String(v).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
}

function ladder(s) {
  const ours = new Set(s.orders.map((o) => o.px));
  const n = 10;
  const asks = s.asks.slice(0, n).reverse();
  const bids = s.bids.slice(0, n);
  const body = [];
  for (let i = 0; i < n - asks.length; i++) body.push("<tr><td></td><td></td><td></td></tr>");
  for (const a of asks) {
    body.push(`<tr class="${ours.has(a.px) ? "ours" : ""}"><td></td><td class="px">${text(a.px)}</td><td class="ask">${text(a.qty)}</td></tr>`);
  }
  for (const b of bids) {
    body.push(`<tr class="${ours.has(b.px) ? "ours" : ""}"><td class="bid">${text(b.qty)}</td><td class="px">${text(b.px)}</td><td></td></tr>`);
  }
  $("ladder").tBodies[0].innerHTML = body.join("");
  $("symbol").textContent = s.symbol;
}

const series = { pnl: [], pos: [] };

function chart() {
  const c = $("chart");
  const g = c.getContext("2d");
  const w = c.width;
  const h = c.height;
  g.clearRect(0, 0, w, h);
  const draw = (pts, color) => {
    if (pts.length < 2) return;
    let lo = Math.min(...pts);
    let hi = Math.max(...pts);
    if (hi === lo) {
      hi += 1;
      lo -= 1;
    }
    g.strokeStyle = color;
    g.lineWidth = 1.5;
    g.beginPath();
    pts.forEach((v, i) => {
      const x = (i / (pts.length - 1)) * (w - 8) + 4;
      const y = h - 6 - ((v - lo) / (hi - lo)) * (h - 12);
      if (i === 0) g.moveTo(x, y);
      else g.lineTo(x, y);
    });
    g.stroke();
  };
  g.strokeStyle = "#2a323c";
  g.beginPath();
  g.moveTo(0, h / 2);
  g.lineTo(w, h / 2);
  g.stroke();
  draw(series.pos, "#d29922");
  draw(series.pnl, "#58a6ff");
}

function show(s) {
  $("ev-count").textContent = s.events.toLocaleString("en");
  $("tape-time").textContent = clock(s.t);
  ladder(s);
  rows($("trades").tBodies[0], s.trades, (t) => [["", clock(t.t)], [t.side || "", t.side || "?"], ["", text(t.px)], ["", text(t.qty)]]);
  rows($("orders").tBodies[0], s.orders, (o) => [["", o.id], [o.side, o.side], ["", text(o.px)], ["", text(o.leaves)], ["", text(o.ahead)]]);
  rows($("fills-table").tBodies[0], s.fills, (f) => [["", clock(f.t)], ["", f.id], [f.side, f.side], ["", text(f.px)], ["", text(f.qty)], ["", text(f.leaves)]]);
  rows($("actions").tBodies[0], s.actions, (a) => [["", clock(a.t)], ["", a.kind], ["", text(a.what)]]);
  $("pnl").textContent = s.pnl;
  $("position").textContent = s.position;
  $("fills").textContent = s.fill_count.toLocaleString("en");
  $("rejects").textContent = s.rejects.toLocaleString("en");
  series.pnl.push(Number(s.pnl));
  series.pos.push(Number(s.position));
  if (series.pnl.length > 1200) {
    // Keep the whole run in view: drop every other point.
    series.pnl = series.pnl.filter((_, i) => i % 2 === 0);
    series.pos = series.pos.filter((_, i) => i % 2 === 0);
  }
  chart();
  const halted = $("halted");
  halted.hidden = s.halted === null;
  halted.textContent = s.halted ? `halted ${s.halted}` : "";
}

async function fetchBytes(path) {
  const r = await fetch(path);
  if (!r.ok) throw new Error(`${path}: ${r.status} ${await r.text()}`);
  return new Uint8Array(await r.arrayBuffer());
}

/// The server's replay of the same run: GET for a built-in over the synthetic market, POST
/// with the files otherwise.
async function serverDigest(settings, files) {
  const q = new URLSearchParams({
    strategy: settings.strategies[0].name,
    params: settings.strategies[0].params,
    events: String(settings.events),
    seed: String(settings.seed),
  });
  let init = {};
  if (files.wasm || files.tape) {
    const parts = [new TextEncoder().encode("LSWEB1\n")];
    for (const [tag, bytes] of [["w", files.wasm], ["t", files.tape]]) {
      if (!bytes) continue;
      const head = new Uint8Array(9);
      head[0] = tag.charCodeAt(0);
      new DataView(head.buffer).setBigUint64(1, BigInt(bytes.length), true);
      parts.push(head, bytes);
    }
    init = { method: "POST", body: new Blob(parts), headers: { "Content-Type": "application/octet-stream" } };
  }
  const r = await fetch(`/api/run?${q}`, init);
  const body = await r.json();
  if (!r.ok) throw new Error(body.error || `server answered ${r.status}`);
  return body.digest;
}

async function readFile(input) {
  const f = input.files && input.files[0];
  return f ? new Uint8Array(await f.arrayBuffer()) : null;
}

function setStatus(msg, cls = "") {
  $("status").textContent = msg;
  $("status").className = cls;
}

async function run(ev) {
  if (ev) ev.preventDefault();
  stopping = false;
  $("run").disabled = true;
  $("stop").disabled = false;
  $("digest").textContent = "";
  $("digest").removeAttribute("data-done");
  $("server-digest").textContent = "";
  $("match").textContent = "";
  $("match").className = "";
  $("match").removeAttribute("data-match");
  series.pnl = [];
  series.pos = [];
  try {
    const files = { wasm: await readFile($("wasm-file")), tape: await readFile($("tape-file")) };
    const customName = files.wasm ? $("wasm-file").files[0].name.replace(/\.wasm$/, "") : null;
    const name = customName || $("strategy").value;
    const settings = {
      events: Number($("events").value),
      seed: Number($("seed").value),
      strategies: [{ name, params: $("params").value }],
    };
    setStatus("loading the strategy…");
    const bytes = files.wasm || (await fetchBytes(`/strategies/${encodeURIComponent(name)}.wasm`));
    const strategy = await Strategy.load(bytes, settings.strategies[0].params);
    const server =
      url.get("compare") === "0"
        ? Promise.resolve({ error: "not asked (compare=0)" })
        : serverDigest(settings, files).then(
            (d) => ({ digest: d }),
            (e) => ({ error: e.message }),
          );
    core.open(settings, [strategy], files.tape);
    setStatus("running in this browser…");
    const speed = Number($("pace").value);
    const t0 = performance.now();
    let tapeStart = null;
    let done = false;
    while (!done && !stopping) {
      const frameEnd = performance.now() + 40;
      if (speed > 0) {
        if (tapeStart === null) {
          core.step(1);
          tapeStart = BigInt(core.snapshot().t);
        }
        const due = tapeStart + BigInt(Math.floor((performance.now() - t0) * 1e6 * speed));
        const n = core.stepUntil(due, 200000);
        done = n === 0 && core.snapshot().done;
      } else {
        // At most 10,000 events a frame (also where the clock is virtual, as in headless
        // browsers), and at most about 40 ms of work.
        for (let k = 0; k < 4 && performance.now() < frameEnd; k++) {
          if (core.step(2500) === 0) {
            done = true;
            break;
          }
        }
      }
      const s = core.snapshot();
      show(s);
      const secs = (performance.now() - t0) / 1000;
      $("rate").textContent = `${Math.round(s.events / secs).toLocaleString("en")} events/s`;
      await new Promise((r) => setTimeout(r, 0));
    }
    if (stopping) {
      setStatus("stopped");
      return;
    }
    const elapsed = (performance.now() - t0) / 1000;
    const result = core.finish();
    $("digest").textContent = result.digest;
    $("digest").dataset.events = String(result.events);
    $("digest").dataset.seconds = elapsed.toFixed(3);
    $("rate").textContent = `${Math.round(result.events / elapsed).toLocaleString("en")} events/s`;
    setStatus(`done: ${result.events.toLocaleString("en")} events in ${elapsed.toFixed(2)} s; waiting for the server…`);
    const srv = await server;
    if (srv.error) {
      $("server-digest").textContent = `the server could not replay it: ${srv.error}`;
      $("match").textContent = "not compared";
    } else {
      $("server-digest").textContent = srv.digest;
      const equal = srv.digest === result.digest;
      $("match").textContent = equal
        ? "equal: this browser did exactly what the server did"
        : "DIFFERENT: the browser's run and the server's disagree";
      $("match").className = equal ? "equal" : "differ";
      $("match").dataset.match = equal ? "1" : "0";
    }
    setStatus(`done: ${result.events.toLocaleString("en")} events in ${elapsed.toFixed(2)} s`);
    $("digest").dataset.done = "1";
  } catch (e) {
    setStatus(`error: ${e.message}`, "error");
    $("digest").textContent = `error: ${e.message}`;
    $("digest").dataset.done = "1";
  } finally {
    $("run").disabled = false;
    $("stop").disabled = true;
  }
}

async function main() {
  const [list, coreBytes] = await Promise.all([
    fetch("/api/strategies").then((r) => r.json()),
    fetchBytes("/lockstep_web.wasm"),
  ]);
  catalog = list.strategies;
  core = await Replay.load(coreBytes);
  const sel = $("strategy");
  for (const s of catalog) {
    const o = document.createElement("option");
    o.value = s.name;
    o.textContent = s.name;
    sel.appendChild(o);
  }
  const pick = () => {
    const s = catalog.find((c) => c.name === sel.value);
    $("params").value = s ? s.default_params : "";
    $("summary").textContent = s ? s.summary : "";
  };
  sel.addEventListener("change", pick);
  $("events").value = String(list.defaults.events);
  $("seed").value = String(list.defaults.seed);
  if (url.has("strategy")) sel.value = url.get("strategy");
  pick();
  if (url.has("params")) $("params").value = url.get("params");
  if (url.has("events")) $("events").value = url.get("events");
  if (url.has("seed")) $("seed").value = url.get("seed");
  if (url.has("pace")) $("pace").value = url.get("pace");
  $("setup").addEventListener("submit", run);
  $("stop").addEventListener("click", () => {
    stopping = true;
  });
  setStatus("ready");
  if (url.get("autorun") === "1") run();
}

main().catch((e) => {
  setStatus(`error: ${e.message}`, "error");
  $("digest").textContent = `error: ${e.message}`;
  $("digest").dataset.done = "1";
});
