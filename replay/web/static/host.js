// Lockstep's JavaScript host: runs strategy modules (engine/ABI.md) in this JavaScript
// engine's own WebAssembly implementation, and drives the replay core (lockstep_web.wasm,
// the same Rust code as the server) that feeds them. Works in browsers and in Node 20.
//
// There is no fuel here: a strategy's work per event is not bounded in the browser. The
// digest (actions, exchange events, halts) does not include fuel, so it still equals the
// server's.

const EVENT_SIZE = 64;
const ACTION_SIZE = 64;
const BOOK_SIZE = 328;
const REGIONS_SIZE = 32;
/// The engine's default memory limit, in 64 KiB pages (Config::max_memory_pages).
export const MAX_PAGES = 16;

// The engine's stable error codes (lockstep_engine::Error::code), so a halt digests the same.
export const CODE = {
  initRejected: 11 << 8,
  memoryLimit: 13 << 8,
  trap: (sub) => (14 << 8) | sub,
  guestPanic: 15 << 8,
  actionOverflow: (17 << 8) | 1,
  notInitialized: (17 << 8) | 2,
  badEvent: (17 << 8) | 3,
  unknownStatus: (17 << 8) | 5,
  tooManyActions: (17 << 8) | 6,
};

/// Maps a JavaScript engine's trap to the engine's trap kind (V8, SpiderMonkey and JSC word
/// them differently; unrecognised traps count as "other").
function trapCode(e) {
  const m = String((e && e.message) || e).toLowerCase();
  if (e instanceof RangeError && /call stack|too much recursion/.test(m)) return CODE.trap(6);
  if (/unreachable/.test(m)) return CODE.trap(1);
  if (/out of bounds|index out of range/.test(m) && !/table/.test(m)) return CODE.trap(2);
  if (/divi(de|sion) by zero|remainder by zero/.test(m)) return CODE.trap(3);
  if (/integer overflow/.test(m)) return CODE.trap(4);
  if (/unrepresentable|conversion|float.*integer/.test(m)) return CODE.trap(5);
  if (/indirect|signature|null function|table/.test(m)) return CODE.trap(7);
  return CODE.trap(255);
}

/// Reads one unsigned LEB128 from `b` at `p`; returns [value, next position].
function leb(b, p) {
  let v = 0;
  let shift = 0;
  for (;;) {
    if (p >= b.length) throw new Error("truncated module");
    const x = b[p++];
    v += (x & 0x7f) * 2 ** shift;
    if ((x & 0x80) === 0) return [v, p];
    shift += 7;
    if (shift > 35) throw new Error("malformed LEB128 in module");
  }
}

/// The limits the module declares for its imported memory `lockstep.memory`.
export function memoryImport(bytes) {
  const b = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let p = 8;
  while (p < b.length) {
    const id = b[p];
    let size;
    [size, p] = leb(b, p + 1);
    const end = p + size;
    if (id === 2) {
      let n;
      [n, p] = leb(b, p);
      const text = () => {
        let len;
        [len, p] = leb(b, p);
        const s = new TextDecoder().decode(b.subarray(p, p + len));
        p += len;
        return s;
      };
      for (let i = 0; i < n; i++) {
        const mod = text();
        const name = text();
        const kind = b[p++];
        if (kind === 0) [, p] = leb(b, p);
        else if (kind === 1) {
          p++;
          const flags = b[p++];
          [, p] = leb(b, p);
          if (flags & 1) [, p] = leb(b, p);
        } else if (kind === 2) {
          const flags = b[p++];
          let min;
          let max = null;
          [min, p] = leb(b, p);
          if (flags & 1) [max, p] = leb(b, p);
          if (mod === "lockstep" && name === "memory") return { min, max };
        } else if (kind === 3) p += 2;
        else throw new Error(`unknown import kind ${kind}`);
      }
    }
    p = end;
  }
  throw new Error(
    "module does not import its memory as `lockstep.memory`; link with --import-memory=lockstep,memory (see engine/ABI.md)",
  );
}

/// One strategy module instantiated in this engine: the ABI's init and per-event calls.
export class Strategy {
  /// Compiles and instantiates `bytes`, checks the ABI version and regions, and runs
  /// `lockstep_init(params)`. Throws with a message saying what is wrong. A module that
  /// imports host math needs the replay core loaded first ([`Replay.load`]).
  static async load(bytes, params = "") {
    const limits = memoryImport(bytes);
    if (limits.min > MAX_PAGES) {
      throw new Error(`module wants ${limits.min} pages of memory; the limit is ${MAX_PAGES}`);
    }
    const maximum = limits.max === null ? MAX_PAGES : Math.min(limits.max, MAX_PAGES);
    const memory = new WebAssembly.Memory({ initial: limits.min, maximum });
    const s = new Strategy(memory);
    const module = await WebAssembly.compile(bytes);
    const lockstep = { memory, fail: (ptr, len) => s.fail(ptr, len) };
    for (const imp of WebAssembly.Module.imports(module)) {
      const ok =
        imp.module === "lockstep" && (Object.hasOwn(lockstep, imp.name) || Object.hasOwn(hostMath, imp.name));
      if (!ok && imp.module === "lockstep" && imp.name.startsWith("math.") && !hostMathLoaded) {
        throw new Error(
          `module imports \`lockstep.${imp.name}\` from the replay core: load it (Replay.load) before the strategies`,
        );
      }
      if (!ok) {
        throw new Error(
          `module imports \`${imp.module}.${imp.name}\`, which Lockstep does not provide; only lockstep.memory, lockstep.fail and lockstep.math.* (engine/ABI.md) may be imported`,
        );
      }
    }
    const instance = await WebAssembly.instantiate(module, { lockstep: { ...lockstep, ...hostMath } });
    s.exports = instance.exports;
    for (const name of ["lockstep_abi_version", "lockstep_regions", "lockstep_init", "lockstep_on_event"]) {
      if (typeof s.exports[name] !== "function") throw new Error(`module lacks the export \`${name}\``);
    }
    // ABI 2 added order types (byte 5 of PLACE_LIMIT); version-1 modules run as before, and
    // the replay core decodes each module's actions by its version (abi_version below).
    const version = s.exports.lockstep_abi_version();
    if (version !== 1 && version !== 2) {
      throw new Error(`module speaks ABI version ${version}; this host speaks 1 and 2`);
    }
    s.version = version;
    const at = s.exports.lockstep_regions() >>> 0;
    const d = s.view(at, REGIONS_SIZE);
    const u32 = (o) => d[o] | (d[o + 1] << 8) | (d[o + 2] << 16) | ((d[o + 3] << 24) >>> 0);
    s.regions = {
      event: u32(4) >>> 0,
      action: u32(8) >>> 0,
      actionCap: u32(12) >>> 0,
      book: u32(16) >>> 0,
      params: u32(20) >>> 0,
      paramsCap: u32(24) >>> 0,
    };
    const r = s.regions;
    const size = memory.buffer.byteLength;
    const inside = (p, n) => p + n <= size;
    if (
      u32(0) !== version ||
      r.actionCap < 1 ||
      r.actionCap > 1024 ||
      !inside(r.event, EVENT_SIZE) ||
      !inside(r.action, r.actionCap * ACTION_SIZE) ||
      !inside(r.book, BOOK_SIZE) ||
      !inside(r.params, r.paramsCap)
    ) {
      throw new Error("module's region descriptor is invalid (see engine/ABI.md)");
    }
    const text = new TextEncoder().encode(params);
    if (text.length > r.paramsCap) {
      throw new Error(`parameters are ${text.length} bytes; the module's buffer holds ${r.paramsCap}`);
    }
    s.view(r.params, text.length).set(text);
    let n;
    try {
      n = s.exports.lockstep_init(text.length);
    } catch (e) {
      throw new Error(`init failed: ${s.failure || e.message}`);
    }
    if (n < 0) {
      const msg = new TextDecoder().decode(s.view(r.params, Math.min(-n, r.paramsCap)));
      throw new Error(`strategy refused its parameters: ${msg}`);
    }
    if (n > r.actionCap) throw new Error(`init returned ${n} actions; its region holds ${r.actionCap}`);
    s.initActions = s.view(r.action, n * ACTION_SIZE).slice();
    return s;
  }

  constructor(memory) {
    this.memory = memory;
    this.bytes = new Uint8Array(memory.buffer);
    this.failure = null;
    this.halted = null;
    /// When an array, every call is logged to it: [seq, actions as bytes].
    this.record = null;
  }

  /// A view of guest memory (re-made when the memory grew).
  view(ptr, len) {
    if (this.bytes.buffer !== this.memory.buffer) this.bytes = new Uint8Array(this.memory.buffer);
    return this.bytes.subarray(ptr, ptr + len);
  }

  fail(ptr, len) {
    this.failure = new TextDecoder().decode(this.view(ptr >>> 0, Math.min(len >>> 0, 4096)));
    throw new Error(`guest called lockstep.fail: ${this.failure}`);
  }

  /// Hands the event in `core` (a Uint8Array over the core's memory) at `ev` (and the book at
  /// `book` unless 0) to the strategy; copies the actions to `out` (at most `cap`). Returns
  /// their number, or the negated engine error code.
  onEvent(core, ev, book, out, cap) {
    const r = this.regions;
    this.view(r.event, EVENT_SIZE).set(core.subarray(ev, ev + EVENT_SIZE));
    if (book !== 0) this.view(r.book, BOOK_SIZE).set(core.subarray(book, book + BOOK_SIZE));
    let n;
    try {
      n = this.exports.lockstep_on_event();
    } catch (e) {
      const code = this.failure !== null ? CODE.guestPanic : trapCode(e);
      this.halted = this.failure || String(e.message || e);
      return -code;
    }
    if (n < 0) {
      const code =
        n === -1 ? CODE.actionOverflow : n === -2 ? CODE.badEvent : n === -3 ? CODE.notInitialized : CODE.unknownStatus;
      if (code !== CODE.badEvent) this.halted = `guest returned status ${n}`;
      return -code;
    }
    if (n > r.actionCap || n > cap) {
      this.halted = `guest reported ${n} actions but its action region holds ${r.actionCap}`;
      return -CODE.tooManyActions;
    }
    const acts = this.view(r.action, n * ACTION_SIZE);
    core.set(acts, out);
    if (this.record !== null) {
      const seq = new DataView(core.buffer, core.byteOffset + ev + 8, 8).getBigUint64(0, true);
      this.record.push([seq, acts.slice()]);
    }
    return n;
  }
}

/// The host math functions (`lockstep.math.*`), from the replay core once it is loaded: the
/// same `libm` code the engine runs, so a strategy's results are the same bits here.
let hostMath = {};
let hostMathLoaded = false;

/// The replay core: the server's tape decoding, book, simulated exchange and digest, built
/// for wasm32, driving `strategies` (Strategy instances, in slot order).
export class Replay {
  /// Instantiates the core module `bytes` (lockstep_web.wasm).
  static async load(bytes) {
    const r = new Replay();
    const { instance } = await WebAssembly.instantiate(bytes, {
      host: {
        init_actions: (slot, out, cap) => r.initActions(slot, out >>> 0, cap),
        abi_version: (slot) => r.strategies[slot].version,
        on_event: (slot, ev, book, out, cap) =>
          r.strategies[slot].onEvent(r.mem(), ev >>> 0, book >>> 0, out >>> 0, cap),
      },
    });
    r.core = instance.exports;
    hostMath = {};
    r.read(r.core.ls_math_names())
      .split("\n")
      .forEach((name, i) => {
        hostMath[name] = (x, y) => r.core.ls_math(i, x, y === undefined ? 0 : y);
      });
    hostMathLoaded = true;
    return r;
  }

  constructor() {
    this.strategies = [];
    this.bytes = null;
  }

  /// A Uint8Array over the core's whole memory (re-made when it grew).
  mem() {
    const buf = this.core.memory.buffer;
    if (this.bytes === null || this.bytes.buffer !== buf) this.bytes = new Uint8Array(buf);
    return this.bytes;
  }

  initActions(slot, out, cap) {
    const a = this.strategies[slot].initActions;
    const n = a.length / ACTION_SIZE;
    if (n > cap) return -CODE.tooManyActions;
    this.mem().set(a, out);
    return n;
  }

  write(bytes) {
    const ptr = this.core.ls_inbox(bytes.length) >>> 0;
    this.mem().set(bytes, ptr);
  }

  /// The outbox as text after an export returned `r`; throws its message when `r < 0`.
  read(r) {
    const ptr = this.core.ls_outbox() >>> 0;
    const n = this.core.ls_outbox_len() >>> 0;
    const text = new TextDecoder().decode(this.mem().subarray(ptr, ptr + n));
    if (r < 0) throw new Error(text);
    return text;
  }

  /// Opens a run: `settings` as RunConfig (events, seed, strategies [{name, params}], show,
  /// keep), `strategies` the loaded Strategy objects in the same order, `tape` the bytes of
  /// a tape file or null for the synthetic market.
  open(settings, strategies, tape = null) {
    this.strategies = strategies;
    if (tape !== null) {
      this.write(tape);
      this.core.ls_stage_tape();
    }
    this.write(new TextEncoder().encode(JSON.stringify(settings)));
    const r = this.core.ls_open(strategies.length);
    if (r < 0) this.read(r);
  }

  /// Replays up to `max` events; returns how many (0 when the tape is done).
  step(max) {
    const n = this.core.ls_step(max);
    if (n < 0) this.read(n);
    return n;
  }

  /// Replays up to `max` events with local time at most `until` (ns, a BigInt); returns how
  /// many.
  stepUntil(until, max) {
    const n = this.core.ls_step_until(until, max);
    if (n < 0) this.read(n);
    return n;
  }

  /// The run's state (Snapshot).
  snapshot() {
    return JSON.parse(this.read(this.core.ls_snapshot()));
  }

  /// Finishes the run; returns its result (RunResult: digest, events, strategies).
  finish() {
    return JSON.parse(this.read(this.core.ls_finish()));
  }
}
