//! The bound after init: the most fuel one event can cost, given what `lockstep_init` left in
//! memory and globals. Loops whose trip counts come from parameters set at init (the CRR
//! tree's `steps`) get bounded here, where the code alone cannot bound them.
//!
//! The analysis runs `lockstep_on_event` abstractly. Each integer is an interval; floats are
//! unknown. Memory is the post-init image, with the bytes the host writes before each event
//! unknown. A branch on a known value takes one way, a branch on an unknown one takes both
//! and the two states meet (values join, fuel takes the larger). Loops run turn by turn for
//! as long as their exit is decided; one whose state repeats or whose turns exhaust the work
//! budget is reported unbounded, with the reason.
//!
//! One event's end state may differ from the image: such bytes and globals become unknown at
//! the next event's start, and the event is analysed again until nothing more changes. The
//! start state then covers every event's start after init, so the bound holds for every
//! event of a run from init. A store through an address not known before the event ends the
//! analysis (it could change anything).

use super::{Module, Shape};
use crate::error::Error;
use crate::meter::{BULK_SHIFT, ends_run, is_bulk, op_cost};
use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::rc::Rc;
use wasmparser::{BlockType, MemArg, Operator, ValType};

/// Abstract operators (and bytes joined or cloned) the analysis may spend over all rounds.
const WORK_BUDGET: u64 = 200_000_000;
/// Turns a loop may take that could also have left it (its exit depends on unknown values).
const MAX_UNDECIDED_TURNS: u32 = 4096;
/// Rounds of the event-to-event fixpoint.
const MAX_ROUNDS: u32 = 12;
/// Deepest nesting of blocks and calls the analysis follows.
const MAX_DEPTH: u32 = 256;
/// Widest address range a store may write as unknown bytes (wider: the analysis ends).
const MAX_STORE_SPAN: u64 = 1 << 16;
/// Most addresses a load from a small range joins over.
const MAX_LOAD_SPAN: u64 = 16;

/// What an instance holds after `lockstep_init`, where the bound after init starts.
#[derive(Clone, Debug, Default)]
pub struct InitImage {
    /// Linear memory.
    pub memory: Vec<u8>,
    /// Each mutable global's value: its index in the module's global space and its bits.
    pub globals: Vec<(u32, u64)>,
    /// Byte ranges the host writes before each event (the event and book records).
    pub host_written: Vec<Range<u32>>,
}

/// Why the bound after init could not be found.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum InitUnbounded {
    /// A loop whose exit depends on what is not known before the event.
    Loop {
        /// Byte offset of the `loop` in the module.
        offset: usize,
    },
    /// A store through an address not known before the event.
    Store {
        /// Byte offset of the store.
        offset: usize,
    },
    /// A call back into a function on the call chain.
    Recursion {
        /// The function called again.
        callee: u32,
    },
    /// An indirect call through a table the module changes.
    IndirectCall {
        /// Byte offset of the call.
        offset: usize,
    },
    /// The work budget ran out.
    Budget,
    /// The event-to-event fixpoint did not settle.
    NoFixpoint,
    /// Blocks and calls nested too deep to follow.
    TooDeep,
}

impl fmt::Display for InitUnbounded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Loop { offset } => write!(
                f,
                "loop at byte {offset:#x}: its exit depends on values not known before the event"
            ),
            Self::Store { offset } => {
                write!(f, "store at byte {offset:#x} through an address not known before the event")
            }
            Self::Recursion { callee } => write!(f, "recursion: calls func[{callee}] again"),
            Self::IndirectCall { offset } => write!(
                f,
                "indirect call at byte {offset:#x} through a table the module changes at run time"
            ),
            Self::Budget => write!(f, "the analysis ran out of its work budget"),
            Self::NoFixpoint => {
                write!(f, "the state an event leaves did not settle in {MAX_ROUNDS} rounds")
            }
            Self::TooDeep => write!(f, "blocks and calls nest deeper than {MAX_DEPTH}"),
        }
    }
}

/// The bound after init.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InitBound {
    /// The most fuel an event that completes can cost (`None`: none completes), or why there
    /// is no bound.
    pub bound: Result<Option<u64>, InitUnbounded>,
    /// Rounds of the event-to-event fixpoint.
    pub rounds: u32,
    /// Bytes of memory not known at an event's start (the host's records included).
    pub variable_bytes: u64,
    /// Abstract operators executed (and bytes joined), over all rounds.
    pub work: u64,
}

/// Computes the bound after init of `wasm` (as given to the engine) from `image`.
///
/// # Errors
/// What [`super::static_bound`] refuses.
pub fn bound_after_init(wasm: &[u8], image: &InitImage) -> Result<InitBound, Error> {
    let shape = crate::portable::check(wasm)?;
    let m = Module::read(wasm, shape)?;
    let on_event =
        m.on_event.ok_or(Error::MissingExport { name: lockstep_sdk::names::ON_EVENT })?;
    let mut top = vec![0u64; image.memory.len().div_ceil(64)];
    for r in &image.host_written {
        for a in r.clone() {
            set_bit(&mut top, a);
        }
    }
    let mut globals: Vec<Val> = m
        .globals
        .iter()
        .map(|(t, v)| match (width(*t), v) {
            (Some(w), Some(v)) => Val::known(w, *v),
            _ => Val::Top,
        })
        .collect();
    for &(i, bits) in &image.globals {
        if let Some(g) = globals.get_mut(i as usize) {
            *g = match width(m.globals[i as usize].0) {
                Some(w) => Val::known(w, bits),
                None => Val::Top,
            };
        }
    }
    let mut a = Analysis { m: &m, code: BTreeMap::new(), work: 0, depth: 0, chain: Vec::new() };
    let mut rounds = 0;
    loop {
        rounds += 1;
        let base = Base { bytes: &image.memory, top: &top };
        let world = World { globals: globals.clone(), mem: BTreeMap::new(), fuel: 0, grown: false };
        let out = match a.call(on_event, Vec::new(), world, &base) {
            Ok(out) => out,
            Err(u) => return Ok(a.finish(Err(u), rounds, &top)),
        };
        let Some((_, end)) = out else { return Ok(a.finish(Ok(None), rounds, &top)) };
        let new: Vec<u32> = end
            .mem
            .iter()
            .filter(|&(&addr, v)| {
                (addr as usize) < image.memory.len() && base.byte(addr) != *v && !bit(&top, addr)
            })
            .map(|(&addr, _)| addr)
            .collect();
        let mut changed = !new.is_empty();
        for addr in new {
            set_bit(&mut top, addr);
        }
        for (g, e) in globals.iter_mut().zip(&end.globals) {
            let joined = g.join(*e);
            changed |= joined != *g;
            *g = joined;
        }
        if !changed {
            return Ok(a.finish(Ok(Some(end.fuel)), rounds, &top));
        }
        if rounds >= MAX_ROUNDS {
            return Ok(a.finish(Err(InitUnbounded::NoFixpoint), rounds, &top));
        }
    }
}

fn bit(top: &[u64], a: u32) -> bool {
    top.get(a as usize / 64).is_some_and(|w| w >> (a % 64) & 1 == 1)
}

fn set_bit(top: &mut [u64], a: u32) {
    if let Some(w) = top.get_mut(a as usize / 64) {
        *w |= 1 << (a % 64);
    }
}

/// Bits of an integer type; `None` for the others.
fn width(t: ValType) -> Option<u8> {
    match t {
        ValType::I32 => Some(32),
        ValType::I64 => Some(64),
        _ => None,
    }
}

/// An abstract value: an integer of `w` bits somewhere in `lo..=hi` (unsigned, not wrapping),
/// or anything (a float, or an integer of unknown width).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Val {
    Int { w: u8, lo: u64, hi: u64 },
    Top,
}

fn mask(w: u8) -> u64 {
    if w >= 64 { u64::MAX } else { (1u64 << w) - 1 }
}

impl Val {
    fn known(w: u8, v: u64) -> Self {
        let v = v & mask(w);
        Self::Int { w, lo: v, hi: v }
    }
    fn range(w: u8, lo: u128, hi: u128) -> Self {
        if hi > u128::from(mask(w)) || lo > hi {
            return Self::full(w);
        }
        Self::Int { w, lo: lo as u64, hi: hi as u64 }
    }
    fn full(w: u8) -> Self {
        Self::Int { w, lo: 0, hi: mask(w) }
    }
    fn bool(b: Option<bool>) -> Self {
        match b {
            Some(b) => Self::known(32, u64::from(b)),
            None => Self::Int { w: 32, lo: 0, hi: 1 },
        }
    }
    /// Its interval as `w` bits (anything: the whole range).
    fn int(self, w: u8) -> (u128, u128) {
        match self {
            Self::Int { w: vw, lo, hi } if vw == w => (u128::from(lo), u128::from(hi)),
            _ => (0, u128::from(mask(w))),
        }
    }
    fn exact(self) -> Option<u64> {
        match self {
            Self::Int { lo, hi, .. } if lo == hi => Some(lo),
            _ => None,
        }
    }
    /// Whether it is nonzero, when known.
    fn truth(self) -> Option<bool> {
        match self {
            Self::Int { lo: 0, hi: 0, .. } => Some(false),
            Self::Int { lo, .. } if lo > 0 => Some(true),
            _ => None,
        }
    }
    fn join(self, o: Self) -> Self {
        match (self, o) {
            (Self::Int { w, lo, hi }, Self::Int { w: w2, lo: l2, hi: h2 }) if w == w2 => {
                Self::Int { w, lo: lo.min(l2), hi: hi.max(h2) }
            }
            (a, b) if a == b => a,
            _ => Self::Top,
        }
    }
    /// Its signed interval as `w` bits.
    fn signed(self, w: u8) -> (i128, i128) {
        let (lo, hi) = self.int(w);
        let half = 1u128 << (w - 1);
        let full = 1i128 << w;
        if hi < half {
            (lo as i128, hi as i128)
        } else if lo >= half {
            (lo as i128 - full, hi as i128 - full)
        } else {
            (-(half as i128), half as i128 - 1)
        }
    }
}

/// Memory at an event's start: the image, and which of its bytes are unknown.
struct Base<'i> {
    bytes: &'i [u8],
    top: &'i [u64],
}

impl Base<'_> {
    /// Byte `a` at the event's start: `Some(None)` unknown, `None` outside memory.
    fn byte(&self, a: u32) -> Option<u8> {
        if bit(self.top, a) { None } else { self.bytes.get(a as usize).copied() }
    }
}

/// What calls share along a path: globals, the bytes written so far (`None`: unknown), the
/// most fuel spent to reach it.
#[derive(Clone, Debug, PartialEq)]
struct World {
    globals: Vec<Val>,
    mem: BTreeMap<u32, Option<u8>>,
    fuel: u64,
    /// Whether memory may have grown (addresses past the image are then unknown, not traps).
    grown: bool,
}

/// One path's state in a function.
#[derive(Clone, Debug, PartialEq)]
struct State {
    locals: Vec<Val>,
    stack: Vec<Val>,
    world: World,
}

/// Joins `b` into `a`, for the bytes `b` wrote (the caller has settled those only `a` wrote).
fn join_world(a: &mut World, b: World, base: &Base<'_>, work: &mut u64) {
    *work += (a.mem.len() + b.mem.len()) as u64 / 8;
    for (g, o) in a.globals.iter_mut().zip(b.globals) {
        *g = g.join(o);
    }
    for (addr, v) in b.mem {
        let mine = a.mem.get(&addr).copied().unwrap_or_else(|| base.byte(addr));
        a.mem.insert(addr, if mine == v { v } else { None });
    }
    a.fuel = a.fuel.max(b.fuel);
    a.grown |= b.grown;
}

/// Joins `b` into `a` (bytes only `a` wrote must be checked against `b`'s view).
fn join_state(a: &mut Option<State>, b: State, base: &Base<'_>, work: &mut u64) {
    let Some(x) = a else {
        *a = Some(b);
        return;
    };
    for (l, o) in x.locals.iter_mut().zip(&b.locals) {
        *l = l.join(*o);
    }
    for (l, o) in x.stack.iter_mut().rev().zip(b.stack.iter().rev()) {
        *l = l.join(*o);
    }
    let keys: Vec<u32> =
        x.world.mem.keys().copied().filter(|k| !b.world.mem.contains_key(k)).collect();
    for k in keys {
        let theirs = base.byte(k);
        if x.world.mem.get(&k).copied().flatten() != theirs {
            x.world.mem.insert(k, None);
        }
    }
    join_world(&mut x.world, b.world, base, work);
}

/// A decoded function body: operators, where each run is charged, and block structure.
struct Code<'a> {
    ops: Vec<(Operator<'a>, usize)>,
    /// Fuel charged on reaching each operator (a run's cost at its first operator).
    charge: Vec<u64>,
    /// For each `block`, `loop` and `if`: its `end`; for each `if`: its `else`, if any.
    end: BTreeMap<usize, usize>,
    els: BTreeMap<usize, usize>,
    /// For operators on floats (and float-integer conversions): values popped, value pushed.
    float: Vec<Option<(u8, Val)>>,
    /// Each operator's integer width (64 for `i64.*`, else 32).
    width: Vec<u8>,
    locals: Vec<Val>,
    params: usize,
    results: usize,
}

/// How a sequence of operators left: falling through its end, branching out `depth` labels,
/// or returning.
#[derive(Default)]
struct Out {
    fall: Option<State>,
    br: BTreeMap<u32, Option<State>>,
    ret: Option<State>,
}

struct Analysis<'m, 'a> {
    m: &'m Module<'a>,
    code: BTreeMap<u32, Rc<Code<'a>>>,
    work: u64,
    depth: u32,
    chain: Vec<u32>,
}

type Step<T> = Result<T, InitUnbounded>;

impl<'a> Analysis<'_, 'a> {
    fn finish(
        &self,
        bound: Result<Option<u64>, InitUnbounded>,
        rounds: u32,
        top: &[u64],
    ) -> InitBound {
        let variable_bytes = top.iter().map(|w| u64::from(w.count_ones())).sum();
        InitBound { bound, rounds, variable_bytes, work: self.work }
    }

    fn charge(&mut self, n: u64) -> Step<()> {
        self.work += n;
        if self.work > WORK_BUDGET { Err(InitUnbounded::Budget) } else { Ok(()) }
    }

    /// Function `f`'s decoded body (once).
    fn code(&mut self, f: u32) -> Step<Option<Rc<Code<'a>>>> {
        if let Some(c) = self.code.get(&f) {
            return Ok(Some(c.clone()));
        }
        let Some(body) = self.m.body(f) else { return Ok(None) };
        let code = decode(self.m, f, body).ok_or(InitUnbounded::Budget)?;
        let code = Rc::new(code);
        self.code.insert(f, code.clone());
        Ok(Some(code))
    }

    /// Calls `f` with `args` in `world`: its results and world after, `None` when no call
    /// returns.
    fn call(
        &mut self,
        f: u32,
        args: Vec<Val>,
        world: World,
        base: &Base<'_>,
    ) -> Step<Option<(Vec<Val>, World)>> {
        let Some(code) = self.code(f)? else {
            // An import: `lockstep.fail` never returns; host math returns floats.
            if !self.m.import_returns.get(f as usize).copied().unwrap_or(true) {
                return Ok(None);
            }
            let n = self.m.func_types.get(f as usize).map_or(0, |t| t.results().len());
            return Ok(Some((vec![Val::Top; n], world)));
        };
        if self.chain.contains(&f) {
            return Err(InitUnbounded::Recursion { callee: f });
        }
        self.enter()?;
        self.chain.push(f);
        let mut locals = args;
        locals.extend(code.locals.iter().skip(code.params).copied());
        let s = State { locals, stack: Vec::new(), world };
        let out = self.seq(&code, 0, code.ops.len() - 1, s, base);
        self.chain.pop();
        self.depth -= 1;
        let out = out?;
        let mut end = out.ret;
        if let Some(mut s) = out.fall {
            s.world.fuel += code.charge[code.ops.len() - 1];
            join_state(&mut end, s, base, &mut self.work);
        }
        for s in out.br.into_values().flatten() {
            join_state(&mut end, s, base, &mut self.work);
        }
        Ok(end.map(|s| {
            let results = s.stack[s.stack.len().saturating_sub(code.results)..].to_vec();
            (results, s.world)
        }))
    }

    fn enter(&mut self) -> Step<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            self.depth -= 1;
            return Err(InitUnbounded::TooDeep);
        }
        Ok(())
    }

    /// Runs operators `from..to` of `code` from `s`.
    fn seq(
        &mut self,
        code: &Code<'a>,
        from: usize,
        to: usize,
        mut s: State,
        base: &Base<'_>,
    ) -> Step<Out> {
        let mut out = Out::default();
        let mut i = from;
        while i < to {
            self.charge(1)?;
            s.world.fuel += code.charge[i];
            let (op, offset) = &code.ops[i];
            match op {
                Operator::Block { blockty } | Operator::Loop { blockty } => {
                    let is_loop = matches!(op, Operator::Loop { .. });
                    let end = code.end[&i];
                    let (params, results) = self.arity(*blockty);
                    let height = s.stack.len().saturating_sub(params);
                    self.enter()?;
                    let after = if is_loop {
                        self.turns(code, i, end, s, height, params, base, &mut out)
                    } else {
                        self.block(code, i + 1, end, s, base, &mut out)
                    };
                    self.depth -= 1;
                    let after = after?;
                    let Some(mut next) = after else { return Ok(out) };
                    keep(&mut next.stack, height, results);
                    s = next;
                    i = end + 1;
                }
                Operator::If { blockty } => {
                    let end = code.end[&i];
                    let Some(next) = self.cond(code, i, *blockty, s, base, &mut out)? else {
                        return Ok(out);
                    };
                    s = next;
                    i = end + 1;
                }
                Operator::Br { relative_depth } => {
                    join_state(out.br.entry(*relative_depth).or_default(), s, base, &mut self.work);
                    return Ok(out);
                }
                Operator::BrIf { relative_depth } => {
                    let Some(next) = self.br_if(*relative_depth, s, base, &mut out)? else {
                        return Ok(out);
                    };
                    s = next;
                    i += 1;
                }
                Operator::BrTable { targets } => {
                    let idx = s.stack.pop().unwrap_or(Val::Top);
                    let list: Vec<u32> = targets.targets().flatten().collect();
                    for d in table_depths(idx, &list, targets.default()) {
                        self.charge(s.world.mem.len() as u64 / 8)?;
                        join_state(out.br.entry(d).or_default(), s.clone(), base, &mut self.work);
                    }
                    return Ok(out);
                }
                Operator::Return => {
                    join_state(&mut out.ret, s, base, &mut self.work);
                    return Ok(out);
                }
                Operator::Unreachable => return Ok(out),
                Operator::Call { function_index } | Operator::ReturnCall { function_index } => {
                    let tail = matches!(op, Operator::ReturnCall { .. });
                    match self.invoke(*function_index, &mut s, base)? {
                        None => return Ok(out),
                        Some(()) if tail => {
                            join_state(&mut out.ret, s, base, &mut self.work);
                            return Ok(out);
                        }
                        Some(()) => i += 1,
                    }
                }
                Operator::CallIndirect { type_index, .. }
                | Operator::ReturnCallIndirect { type_index, .. } => {
                    if self.m.tables_change {
                        return Err(InitUnbounded::IndirectCall { offset: *offset });
                    }
                    let Some(next) = self.indirect(*type_index, s, base)? else { return Ok(out) };
                    s = next;
                    if matches!(op, Operator::ReturnCallIndirect { .. }) {
                        join_state(&mut out.ret, s, base, &mut self.work);
                        return Ok(out);
                    }
                    i += 1;
                }
                _ if code.float[i].is_some() => {
                    let (n, v) = code.float[i].unwrap_or((0, Val::Top));
                    let keep = s.stack.len().saturating_sub(n as usize);
                    s.stack.truncate(keep);
                    s.stack.push(v);
                    i += 1;
                }
                _ => {
                    if !self.plain(op, (*offset, code.width[i]), &mut s, base)? {
                        return Ok(out); // it traps on every path
                    }
                    i += 1;
                }
            }
        }
        out.fall = Some(s);
        Ok(out)
    }

    /// An `if` at `at`: the arms its condition allows, joined; the state after its `end`.
    fn cond(
        &mut self,
        code: &Code<'a>,
        at: usize,
        blockty: BlockType,
        mut s: State,
        base: &Base<'_>,
        out: &mut Out,
    ) -> Step<Option<State>> {
        let cond = s.stack.pop().unwrap_or(Val::Top);
        let end = code.end[&at];
        let els = code.els.get(&at).copied();
        let (params, results) = self.arity(blockty);
        let height = s.stack.len().saturating_sub(params);
        let mut joined: Option<State> = None;
        self.enter()?;
        let arms = (|| {
            if cond.truth() != Some(false) {
                let then_end = els.unwrap_or(end);
                let mut inner = self.seq(code, at + 1, then_end, s.clone(), base)?;
                if let Some(f) = &mut inner.fall {
                    f.world.fuel += code.charge[then_end];
                }
                self.settle(inner, &mut joined, out, base);
            }
            if cond.truth() != Some(true) {
                match els {
                    Some(e) => {
                        let mut inner = self.seq(code, e + 1, end, s, base)?;
                        if let Some(f) = &mut inner.fall {
                            f.world.fuel += code.charge[end];
                        }
                        self.settle(inner, &mut joined, out, base);
                    }
                    None => join_state(&mut joined, s, base, &mut self.work),
                }
            }
            Ok(())
        })();
        self.depth -= 1;
        arms?;
        Ok(joined.map(|mut next| {
            keep(&mut next.stack, height, results);
            next
        }))
    }

    /// A `br_if` out `depth` labels: the state that falls through, if any.
    fn br_if(
        &mut self,
        depth: u32,
        mut s: State,
        base: &Base<'_>,
        out: &mut Out,
    ) -> Step<Option<State>> {
        let cond = s.stack.pop().unwrap_or(Val::Top);
        match cond.truth() {
            Some(true) => {
                join_state(out.br.entry(depth).or_default(), s, base, &mut self.work);
                Ok(None)
            }
            Some(false) => Ok(Some(s)),
            None => {
                self.charge(s.world.mem.len() as u64 / 8)?;
                join_state(out.br.entry(depth).or_default(), s.clone(), base, &mut self.work);
                Ok(Some(s))
            }
        }
    }

    /// Folds an `if` arm's outcome: its fall-through joins `joined`, branches to the `if`'s
    /// end (depth 0) too, deeper ones and returns pass out.
    fn settle(
        &mut self,
        mut inner: Out,
        joined: &mut Option<State>,
        out: &mut Out,
        base: &Base<'_>,
    ) {
        if let Some(f) = inner.fall.take() {
            join_state(joined, f, base, &mut self.work);
        }
        self.pass(inner, joined, out, base);
    }

    /// Branches of `inner` to depth 0 join `here`; deeper ones go out one level less.
    fn pass(&mut self, inner: Out, here: &mut Option<State>, out: &mut Out, base: &Base<'_>) {
        for (d, st) in inner.br {
            let Some(st) = st else { continue };
            if d == 0 {
                join_state(here, st, base, &mut self.work);
            } else {
                join_state(out.br.entry(d - 1).or_default(), st, base, &mut self.work);
            }
        }
        if let Some(r) = inner.ret {
            join_state(&mut out.ret, r, base, &mut self.work);
        }
    }

    /// A `block` from `from` to its `end`: the state after it, if any path leaves it.
    fn block(
        &mut self,
        code: &Code<'a>,
        from: usize,
        end: usize,
        s: State,
        base: &Base<'_>,
        out: &mut Out,
    ) -> Step<Option<State>> {
        let mut inner = self.seq(code, from, end, s, base)?;
        let mut after = inner.fall.take().map(|mut f| {
            f.world.fuel += code.charge[end];
            f
        });
        self.pass(inner, &mut after, out, base);
        Ok(after)
    }

    /// A `loop` at `at`, run turn by turn while some path branches back.
    #[allow(clippy::too_many_arguments, reason = "one loop's whole context, used once")]
    fn turns(
        &mut self,
        code: &Code<'a>,
        at: usize,
        end: usize,
        mut s: State,
        height: usize,
        params: usize,
        base: &Base<'_>,
        out: &mut Out,
    ) -> Step<Option<State>> {
        let mut after: Option<State> = None;
        // The last turn's start without memory, and its memory once that start repeats.
        let mut last: Option<(Vec<Val>, Vec<Val>, Vec<Val>)> = None;
        let mut last_mem: Option<BTreeMap<u32, Option<u8>>> = None;
        let mut undecided = 0u32;
        loop {
            let mut inner = self.seq(code, at + 1, end, s, base)?;
            let mut left =
                inner.ret.is_some() || inner.br.iter().any(|(d, st)| *d > 0 && st.is_some());
            if let Some(mut f) = inner.fall.take() {
                f.world.fuel += code.charge[end];
                join_state(&mut after, f, base, &mut self.work);
                left = true;
            }
            let mut back = None;
            self.pass(inner, &mut back, out, base);
            let Some(mut next) = back else { return Ok(after) };
            keep(&mut next.stack, height, params);
            // A turn that may both leave and go on depends on unknown values: give it as many
            // turns as a loop over a small range needs, no more.
            undecided += u32::from(left);
            let small = (next.locals.clone(), next.stack.clone(), next.world.globals.clone());
            let repeats = last.as_ref() == Some(&small);
            if undecided > MAX_UNDECIDED_TURNS
                || (repeats && last_mem.as_ref() == Some(&next.world.mem))
            {
                return Err(InitUnbounded::Loop { offset: code.ops[at].1 });
            }
            last_mem = repeats.then(|| next.world.mem.clone());
            last = Some(small);
            self.charge(16)?;
            s = next;
        }
    }

    /// An indirect call of type `ty`: every function of that type in a table, joined.
    fn indirect(&mut self, ty: u32, mut s: State, base: &Base<'_>) -> Step<Option<State>> {
        s.stack.pop();
        let mut joined: Option<State> = None;
        let targets: Vec<u32> = self.m.indirect_targets(ty).collect();
        for f in targets {
            let mut t = s.clone();
            if self.invoke(f, &mut t, base)?.is_some() {
                join_state(&mut joined, t, base, &mut self.work);
            }
        }
        Ok(joined)
    }

    /// Calls `f` with arguments from `s`'s stack, leaving its results; `None` when it never
    /// returns.
    fn invoke(&mut self, f: u32, s: &mut State, base: &Base<'_>) -> Step<Option<()>> {
        let n = self.m.params(f) as usize;
        let args = s.stack.split_off(s.stack.len().saturating_sub(n));
        let world = std::mem::replace(
            &mut s.world,
            World { globals: Vec::new(), mem: BTreeMap::new(), fuel: 0, grown: false },
        );
        match self.call(f, args, world, base)? {
            None => Ok(None),
            Some((results, world)) => {
                s.stack.extend(results);
                s.world = world;
                Ok(Some(()))
            }
        }
    }

    /// (parameters, results) of a block type.
    fn arity(&self, bt: BlockType) -> (usize, usize) {
        match bt {
            BlockType::Empty => (0, 0),
            BlockType::Type(_) => (0, 1),
            BlockType::FuncType(t) => {
                let t = self.m.ty(t);
                (t.params().len(), t.results().len())
            }
        }
    }

    /// A non-control operator; `false` when it traps on every path.
    /// `at`: the operator's byte offset and integer width.
    fn plain(
        &mut self,
        op: &Operator<'_>,
        at: (usize, u8),
        s: &mut State,
        base: &Base<'_>,
    ) -> Step<bool> {
        use Operator as O;
        let (offset, w) = at;
        let st = &mut s.stack;
        let pop = |st: &mut Vec<Val>| st.pop().unwrap_or(Val::Top);
        match op {
            O::Nop => {}
            O::Drop => {
                pop(st);
            }
            O::I32Const { value } => st.push(Val::known(32, u64::from(*value as u32))),
            O::I64Const { value } => st.push(Val::known(64, *value as u64)),
            O::F32Const { .. } | O::F64Const { .. } => st.push(Val::Top),
            O::LocalGet { local_index } => {
                st.push(s.locals.get(*local_index as usize).copied().unwrap_or(Val::Top));
            }
            O::LocalSet { local_index } | O::LocalTee { local_index } => {
                let v = pop(st);
                if matches!(op, O::LocalTee { .. }) {
                    st.push(v);
                }
                if let Some(l) = s.locals.get_mut(*local_index as usize) {
                    *l = v;
                }
            }
            O::GlobalGet { global_index } => {
                st.push(s.world.globals.get(*global_index as usize).copied().unwrap_or(Val::Top));
            }
            O::GlobalSet { global_index } => {
                let v = pop(st);
                if let Some(g) = s.world.globals.get_mut(*global_index as usize) {
                    *g = v;
                }
            }
            O::Select | O::TypedSelect { .. } | O::TypedSelectMulti { .. } => {
                let c = pop(st);
                let b = pop(st);
                let a = pop(st);
                st.push(match c.truth() {
                    Some(true) => a,
                    Some(false) => b,
                    None => a.join(b),
                });
            }
            O::DataDrop { .. } | O::ElemDrop { .. } => {}
            O::RefNull { .. } | O::RefFunc { .. } => st.push(Val::Top),
            O::RefIsNull => {
                pop(st);
                st.push(Val::bool(None));
            }
            O::TableGet { .. } => {
                pop(st);
                st.push(Val::Top);
            }
            O::TableSize { .. } => st.push(Val::full(32)),
            O::TableSet { .. } => {
                pop(st);
                pop(st);
            }
            O::MemorySize { .. } if s.world.grown => st.push(Val::full(32)),
            O::MemorySize { .. } => st.push(Val::known(32, (base.bytes.len() / 65536) as u64)),
            O::MemoryGrow { .. } => {
                pop(st);
                st.push(Val::full(32));
                s.world.grown = true;
            }
            op if is_bulk(op) => return self.bulk(op, offset, s, base),
            _ => {
                if let Some(r) = memory_op(op) {
                    return self.memory(r, offset, s, base);
                }
                return Ok(arith(op, w, st));
            }
        }
        Ok(true)
    }

    /// `memory.fill`, `memory.copy`, `memory.init` (tables are not written: checked at load).
    fn bulk(
        &mut self,
        op: &Operator<'_>,
        offset: usize,
        s: &mut State,
        base: &Base<'_>,
    ) -> Step<bool> {
        let len = s.stack.pop().unwrap_or(Val::Top);
        let src = s.stack.pop().unwrap_or(Val::Top);
        let dst = s.stack.pop().unwrap_or(Val::Top);
        let (_, len_hi) = len.int(32);
        s.world.fuel += (len_hi as u64) >> BULK_SHIFT;
        if !matches!(
            op,
            Operator::MemoryCopy { .. } | Operator::MemoryFill { .. } | Operator::MemoryInit { .. }
        ) {
            return Ok(true); // a table operation: the tables' changes are handled at calls
        }
        let copy = matches!(op, Operator::MemoryCopy { .. });
        if let (true, Some(d), Some(sv), Some(n)) = (copy, dst.exact(), src.exact(), len.exact()) {
            self.charge(n)?;
            let bytes: Vec<Option<u8>> = (0..n).map(|k| read(s, base, (sv + k) as u32)).collect();
            for (k, b) in bytes.into_iter().enumerate() {
                s.world.mem.insert((d + k as u64) as u32, b);
            }
            return Ok(true);
        }
        let fill = match (op, src.exact()) {
            (Operator::MemoryFill { .. }, Some(v)) => Some(v as u8),
            _ => None,
        };
        let (dlo, dhi) = dst.int(32);
        let span = (dhi - dlo) as u64 + len_hi as u64;
        if span > MAX_STORE_SPAN {
            return Err(InitUnbounded::Store { offset });
        }
        self.charge(span)?;
        let exact = dst.exact().is_some() && len.exact().is_some();
        let size = if s.world.grown { 1u64 << 32 } else { base.bytes.len() as u64 };
        for a in dlo as u64..(dlo as u64 + span).min(size) {
            s.world.mem.insert(a as u32, if exact { fill } else { None });
        }
        Ok(true)
    }

    /// A load or store.
    fn memory(&mut self, r: Mem, offset: usize, s: &mut State, base: &Base<'_>) -> Step<bool> {
        let size = if s.world.grown { 1u128 << 32 } else { base.bytes.len() as u128 };
        if r.store {
            let v = s.stack.pop().unwrap_or(Val::Top);
            let addr = s.stack.pop().unwrap_or(Val::Top);
            let (lo, hi) = addr.int(32);
            let (lo, hi) = (lo + u128::from(r.arg.offset), hi + u128::from(r.arg.offset));
            if lo + r.bytes as u128 > size {
                return Ok(false); // out of bounds on every path
            }
            if hi - lo > u128::from(MAX_STORE_SPAN) {
                return Err(InitUnbounded::Store { offset });
            }
            let known = if lo == hi { v.exact().filter(|_| r.int.is_some()) } else { None };
            for a in lo..(hi + r.bytes as u128).min(size) {
                let k = (a - lo) as u32;
                let b = known.filter(|_| k < r.bytes).map(|x| (x >> (8 * k)) as u8);
                s.world.mem.insert(a as u32, b);
            }
            return Ok(true);
        }
        let addr = s.stack.pop().unwrap_or(Val::Top);
        let (lo, hi) = addr.int(32);
        let (lo, hi) = (lo + u128::from(r.arg.offset), hi + u128::from(r.arg.offset));
        if lo + r.bytes as u128 > size {
            return Ok(false);
        }
        let Some((w, signed)) = r.int else {
            s.stack.push(Val::Top);
            return Ok(true);
        };
        let mut v: Option<Val> = None;
        if hi - lo < u128::from(MAX_LOAD_SPAN) {
            for a in lo..=hi.min(size - r.bytes as u128) {
                let mut x = Some(0u64);
                for k in 0..r.bytes {
                    x = match (x, read(s, base, (a as u32) + k)) {
                        (Some(x), Some(b)) => Some(x | u64::from(b) << (8 * k)),
                        _ => None,
                    };
                }
                let one = match x {
                    Some(x) if signed && r.bytes < 8 => Val::known(w, sext(x, 8 * r.bytes) as u64),
                    Some(x) => Val::known(w, x),
                    None if signed => Val::full(w),
                    None => Val::range(w, 0, (1u128 << (8 * r.bytes)) - 1),
                };
                v = Some(v.map_or(one, |p| p.join(one)));
            }
        }
        let full =
            if signed { Val::full(w) } else { Val::range(w, 0, (1u128 << (8 * r.bytes)) - 1) };
        s.stack.push(v.unwrap_or(full));
        Ok(true)
    }
}

/// The labels a `br_table` over `list` (and `default`) may take for an index in `idx`.
fn table_depths(idx: Val, list: &[u32], default: u32) -> Vec<u32> {
    let (lo, hi) = idx.int(32);
    let mut depths: Vec<u32> = (lo..=hi.min(list.len() as u128))
        .map(|k| list.get(k as usize).copied().unwrap_or(default))
        .collect();
    if hi >= list.len() as u128 {
        depths.push(default);
    }
    depths.sort_unstable();
    depths.dedup();
    depths
}

/// Byte `a` along path `s`: what it wrote, else the event's start.
fn read(s: &State, base: &Base<'_>, a: u32) -> Option<u8> {
    match s.world.mem.get(&a) {
        Some(v) => *v,
        None => base.byte(a),
    }
}

/// Keeps `keep` values above `height` on `stack` (a branch's or block's results).
fn keep(stack: &mut Vec<Val>, height: usize, keep: usize) {
    let height = height.min(stack.len());
    let top = stack.len().saturating_sub(keep).max(height);
    stack.drain(height..top);
}

/// A memory access: bytes, whether a store, the integer result (width, signed) of a load.
#[derive(Clone, Copy)]
struct Mem {
    bytes: u32,
    store: bool,
    int: Option<(u8, bool)>,
    arg: MemArg,
}

fn memory_op(op: &Operator<'_>) -> Option<Mem> {
    use Operator as O;
    let (bytes, store, int, arg) = match op {
        O::I32Load { memarg } => (4, false, Some((32, false)), memarg),
        O::I64Load { memarg } => (8, false, Some((64, false)), memarg),
        O::F32Load { memarg } => (4, false, None, memarg),
        O::F64Load { memarg } => (8, false, None, memarg),
        O::I32Load8S { memarg } => (1, false, Some((32, true)), memarg),
        O::I32Load8U { memarg } => (1, false, Some((32, false)), memarg),
        O::I32Load16S { memarg } => (2, false, Some((32, true)), memarg),
        O::I32Load16U { memarg } => (2, false, Some((32, false)), memarg),
        O::I64Load8S { memarg } => (1, false, Some((64, true)), memarg),
        O::I64Load8U { memarg } => (1, false, Some((64, false)), memarg),
        O::I64Load16S { memarg } => (2, false, Some((64, true)), memarg),
        O::I64Load16U { memarg } => (2, false, Some((64, false)), memarg),
        O::I64Load32S { memarg } => (4, false, Some((64, true)), memarg),
        O::I64Load32U { memarg } => (4, false, Some((64, false)), memarg),
        O::I32Store { memarg } => (4, true, Some((32, false)), memarg),
        O::I64Store { memarg } => (8, true, Some((64, false)), memarg),
        O::F32Store { memarg } => (4, true, None, memarg),
        O::F64Store { memarg } => (8, true, None, memarg),
        O::I32Store8 { memarg } | O::I64Store8 { memarg } => (1, true, Some((64, false)), memarg),
        O::I32Store16 { memarg } | O::I64Store16 { memarg } => (2, true, Some((64, false)), memarg),
        O::I64Store32 { memarg } => (4, true, Some((64, false)), memarg),
        _ => return None,
    };
    Some(Mem { bytes, store, int, arg: *arg })
}

/// Decodes function `f`: its operators, the fuel each run charges, its blocks' ends and
/// `else`s, float operators' shapes and its locals' starting values. `None` if malformed
/// (the engine has validated it, so never).
fn decode<'a>(m: &Module<'a>, f: u32, body: &wasmparser::FunctionBody<'a>) -> Option<Code<'a>> {
    let mut ops = Vec::new();
    for op in body.get_operators_reader().ok()?.into_iter_with_offsets() {
        ops.push(op.ok()?);
    }
    let shape: &Shape = &m.shape;
    let mut charge = vec![0u64; ops.len()];
    let mut start = true;
    for i in 0..ops.len() {
        if start {
            let len =
                ops[i..].iter().position(|(o, _)| ends_run(o)).map_or(ops.len() - i, |p| p + 1);
            charge[i] = ops[i..i + len].iter().map(|(o, _)| op_cost(shape, o)).sum();
        }
        start = ends_run(&ops[i].0);
    }
    let (mut end, mut els) = (BTreeMap::new(), BTreeMap::new());
    let mut open: Vec<usize> = Vec::new();
    for (i, (op, _)) in ops.iter().enumerate() {
        match op {
            Operator::Block { .. } | Operator::Loop { .. } | Operator::If { .. } => open.push(i),
            Operator::Else => {
                els.insert(*open.last()?, i);
            }
            Operator::End => {
                if let Some(b) = open.pop() {
                    end.insert(b, i);
                }
            }
            _ => {}
        }
    }
    let float = ops.iter().map(|(op, _)| float_shape(op)).collect();
    let widths: Vec<u8> = ops
        .iter()
        .map(|(op, _)| if format!("{op:?}").starts_with("I64") { 64 } else { 32 })
        .collect();
    let ty = m.func_types.get(f as usize)?;
    let mut locals: Vec<Val> =
        ty.params().iter().map(|t| width(*t).map_or(Val::Top, Val::full)).collect();
    for pair in body.get_locals_reader().ok()? {
        let (count, t) = pair.ok()?;
        let v = width(t).map_or(Val::Top, |w| Val::known(w, 0));
        locals.extend(std::iter::repeat_n(v, count.min(1 << 16) as usize));
    }
    Some(Code {
        ops,
        charge,
        end,
        els,
        float,
        width: widths,
        locals,
        params: ty.params().len(),
        results: ty.results().len(),
    })
}

/// An operator on floats, or converting between floats and integers: (values popped, value
/// pushed). Float values are not tracked; a float comparison gives 0 or 1.
fn float_shape(op: &Operator<'_>) -> Option<(u8, Val)> {
    let name = format!("{op:?}");
    let name = name.split([' ', '{', '(']).next().unwrap_or("");
    let int_result = name.starts_with("I32") || name.starts_with("I64");
    let float_input = name.contains("F32") || name.contains("F64");
    if !float_input || name.contains("Load") || name.contains("Store") || name.ends_with("Const") {
        return None;
    }
    if int_result {
        // Truncations and reinterpretations to integers.
        let w = if name.starts_with("I32") { 32 } else { 64 };
        return Some((1, Val::full(w)));
    }
    let any = |list: &[&str]| list.iter().any(|x| name.ends_with(x));
    if any(&["Eq", "Ne", "Lt", "Gt", "Le", "Ge"]) {
        return Some((2, Val::bool(None)));
    }
    if any(&["Add", "Sub", "Mul", "Div", "Min", "Max", "Copysign"]) {
        return Some((2, Val::Top));
    }
    Some((1, Val::Top))
}

/// An integer operator on `st`; `false` when it traps on every path (division by zero).
fn arith(op: &Operator<'_>, w: u8, st: &mut Vec<Val>) -> bool {
    use Operator as O;
    let pop = |st: &mut Vec<Val>| st.pop().unwrap_or(Val::Top);
    let v = match op {
        O::I32Eqz | O::I64Eqz => {
            let a = pop(st);
            Val::bool(a.truth().map(|t| !t))
        }
        O::I32Clz | O::I64Clz | O::I32Ctz | O::I64Ctz | O::I32Popcnt | O::I64Popcnt => {
            let a = pop(st);
            match a.exact() {
                Some(x) => Val::known(
                    w,
                    u64::from(match op {
                        O::I32Clz => (x as u32).leading_zeros(),
                        O::I64Clz => x.leading_zeros(),
                        O::I32Ctz => (x as u32).trailing_zeros(),
                        O::I64Ctz => x.trailing_zeros(),
                        _ => x.count_ones(),
                    }),
                ),
                None => Val::range(w, 0, u128::from(w)),
            }
        }
        O::I32WrapI64 => {
            let (lo, hi) = pop(st).int(64);
            if hi <= u128::from(u32::MAX) {
                Val::range(32, lo, hi)
            } else if lo == hi {
                Val::known(32, lo as u64)
            } else {
                Val::full(32)
            }
        }
        O::I64ExtendI32U => {
            let (lo, hi) = pop(st).int(32);
            Val::range(64, lo, hi)
        }
        O::I64ExtendI32S => {
            let (lo, hi) = pop(st).signed(32);
            signed_range(64, lo, hi)
        }
        O::I32Extend8S | O::I32Extend16S | O::I64Extend8S | O::I64Extend16S | O::I64Extend32S => {
            let bits = match op {
                O::I32Extend8S | O::I64Extend8S => 8,
                O::I32Extend16S | O::I64Extend16S => 16,
                _ => 32,
            };
            match pop(st).exact() {
                Some(x) => Val::known(w, sext(x, bits) as u64),
                None => Val::full(w),
            }
        }
        _ => {
            let b = pop(st);
            let a = pop(st);
            match binary(op, w, a, b) {
                Some(v) => v,
                None => return false,
            }
        }
    };
    st.push(v);
    true
}

/// Two operands as `w`-bit intervals, and their values when both are exact.
struct Pair {
    a: (u128, u128),
    b: (u128, u128),
    exact: Option<(u64, u64)>,
}

fn pair(w: u8, a: Val, b: Val) -> Pair {
    Pair { a: a.int(w), b: b.int(w), exact: a.exact().zip(b.exact()) }
}

/// The low `bits` of `x`, sign-extended.
fn sext(x: u64, bits: u32) -> i64 {
    let sh = 64 - bits;
    ((x << sh) as i64) >> sh
}

/// The interval of signed `lo..=hi` as `w`-bit patterns.
fn signed_range(w: u8, lo: i128, hi: i128) -> Val {
    let full = 1i128 << w;
    if lo >= 0 {
        Val::range(w, lo as u128, hi as u128)
    } else if hi < 0 {
        Val::range(w, (lo + full) as u128, (hi + full) as u128)
    } else {
        Val::full(w)
    }
}

/// A binary integer operator; `None` when it traps on every path.
fn binary(op: &Operator<'_>, w: u8, a: Val, b: Val) -> Option<Val> {
    use Operator as O;
    let (alo, ahi) = a.int(w);
    let (blo, bhi) = b.int(w);
    let m = u128::from(mask(w));
    let m1 = m + 1;
    let exact = a.exact().zip(b.exact());
    Some(match op {
        O::I32Add | O::I64Add => {
            let (lo, hi) = (alo + blo, ahi + bhi);
            if hi <= m {
                Val::range(w, lo, hi)
            } else if lo >= m1 {
                Val::range(w, lo - m1, hi - m1)
            } else {
                Val::full(w)
            }
        }
        O::I32Sub | O::I64Sub => {
            if alo >= bhi {
                Val::range(w, alo - bhi, ahi - blo)
            } else if ahi < blo {
                Val::range(w, m1 + alo - bhi, m1 + ahi - blo)
            } else {
                Val::full(w)
            }
        }
        O::I32Mul | O::I64Mul => match exact {
            Some((x, y)) => Val::known(w, x.wrapping_mul(y)),
            None if ahi.checked_mul(bhi).is_some_and(|h| h <= m) => {
                Val::range(w, alo * blo, ahi * bhi)
            }
            None => Val::full(w),
        },
        O::I32And | O::I64And => match exact {
            Some((x, y)) => Val::known(w, x & y),
            None => Val::range(w, 0, ahi.min(bhi)),
        },
        O::I32Or | O::I64Or | O::I32Xor | O::I64Xor => match exact {
            Some((x, y)) if matches!(op, O::I32Or | O::I64Or) => Val::known(w, x | y),
            Some((x, y)) => Val::known(w, x ^ y),
            None => {
                let top = ahi.max(bhi);
                let bits = 128 - top.leading_zeros();
                Val::range(w, 0, (1u128 << bits) - 1)
            }
        },
        O::I32Shl
        | O::I64Shl
        | O::I32ShrU
        | O::I64ShrU
        | O::I32ShrS
        | O::I64ShrS
        | O::I32Rotl
        | O::I64Rotl
        | O::I32Rotr
        | O::I64Rotr => shift(op, w, a, b),
        O::I32DivU
        | O::I64DivU
        | O::I32RemU
        | O::I64RemU
        | O::I32DivS
        | O::I64DivS
        | O::I32RemS
        | O::I64RemS => divide(op, w, a, b)?,
        _ => compare(op, w, a, b)?,
    })
}

/// A shift or rotation.
fn shift(op: &Operator<'_>, w: u8, a: Val, b: Val) -> Val {
    use Operator as O;
    let Pair { a: (alo, ahi), exact, .. } = pair(w, a, b);
    let m = u128::from(mask(w));
    let sa = a.signed(w);
    match op {
        O::I32Shl | O::I64Shl => match (exact, b.exact()) {
            (Some((x, y)), _) => Val::known(w, x.wrapping_shl((y % u64::from(w)) as u32)),
            (None, Some(y)) => {
                let k = (y % u64::from(w)) as u32;
                if (ahi << k) <= m { Val::range(w, alo << k, ahi << k) } else { Val::full(w) }
            }
            _ => Val::full(w),
        },
        O::I32ShrU | O::I64ShrU => match b.exact() {
            Some(y) => {
                let k = (y % u64::from(w)) as u32;
                Val::range(w, alo >> k, ahi >> k)
            }
            None => Val::range(w, 0, ahi),
        },
        O::I32ShrS | O::I64ShrS => match (exact, b.exact()) {
            (Some((x, y)), _) => {
                let k = (y % u64::from(w)) as u32;
                Val::known(w, (sext(x, u32::from(w)) >> k) as u64)
            }
            (None, Some(y)) if sa.0 >= 0 => {
                let k = (y % u64::from(w)) as u32;
                Val::range(w, alo >> k, ahi >> k)
            }
            _ => Val::full(w),
        },
        O::I32Rotl | O::I64Rotl | O::I32Rotr | O::I64Rotr => match exact {
            Some((x, y)) => {
                let k = (y % u64::from(w)) as u32;
                let r = if w == 32 {
                    let x = x as u32;
                    u64::from(if matches!(op, O::I32Rotl) {
                        x.rotate_left(k)
                    } else {
                        x.rotate_right(k)
                    })
                } else if matches!(op, O::I64Rotl) {
                    x.rotate_left(k)
                } else {
                    x.rotate_right(k)
                };
                Val::known(w, r)
            }
            None => Val::full(w),
        },
        _ => Val::Top,
    }
}

/// A division or remainder; `None` when it traps on every path.
fn divide(op: &Operator<'_>, w: u8, a: Val, b: Val) -> Option<Val> {
    use Operator as O;
    let Pair { a: (alo, ahi), b: (blo, bhi), exact } = pair(w, a, b);
    Some(match op {
        O::I32DivU | O::I64DivU | O::I32RemU | O::I64RemU => {
            if bhi == 0 {
                return None;
            }
            let rem = matches!(op, O::I32RemU | O::I64RemU);
            match exact {
                Some((x, y)) => Val::known(w, if rem { x % y } else { x / y }),
                None if rem => Val::range(w, 0, (bhi - 1).min(ahi)),
                None => Val::range(w, alo / bhi, ahi / blo.max(1)),
            }
        }
        O::I32DivS | O::I64DivS | O::I32RemS | O::I64RemS => {
            if bhi == 0 {
                return None;
            }
            match exact {
                Some((x, y)) if y != 0 => {
                    let (x, y) = (sext(x, u32::from(w)), sext(y, u32::from(w)));
                    let r = if matches!(op, O::I32DivS | O::I64DivS) {
                        x.checked_div(y)?
                    } else {
                        x.checked_rem(y).unwrap_or(0)
                    };
                    Val::known(w, r as u64)
                }
                _ => Val::full(w),
            }
        }
        _ => Val::Top,
    })
}

/// An integer comparison (`None`: not one).
fn compare(op: &Operator<'_>, w: u8, a: Val, b: Val) -> Option<Val> {
    use Operator as O;
    let Pair { a: (alo, ahi), b: (blo, bhi), exact } = pair(w, a, b);
    let cmp = |lt: Option<bool>| Some(Val::bool(lt));
    let (sa, sb) = (a.signed(w), b.signed(w));
    Some(match op {
        O::I32Eq | O::I64Eq => cmp(match exact {
            Some((x, y)) => Some(x == y),
            None if ahi < blo || bhi < alo => Some(false),
            None => None,
        })?,
        O::I32Ne | O::I64Ne => cmp(match exact {
            Some((x, y)) => Some(x != y),
            None if ahi < blo || bhi < alo => Some(true),
            None => None,
        })?,
        O::I32LtU | O::I64LtU => cmp(order(alo, ahi, blo, bhi))?,
        O::I32GtU | O::I64GtU => cmp(order(blo, bhi, alo, ahi))?,
        O::I32LeU | O::I64LeU => cmp(order(blo, bhi, alo, ahi).map(|x| !x))?,
        O::I32GeU | O::I64GeU => cmp(order(alo, ahi, blo, bhi).map(|x| !x))?,
        O::I32LtS | O::I64LtS => cmp(order(sa.0, sa.1, sb.0, sb.1))?,
        O::I32GtS | O::I64GtS => cmp(order(sb.0, sb.1, sa.0, sa.1))?,
        O::I32LeS | O::I64LeS => cmp(order(sb.0, sb.1, sa.0, sa.1).map(|x| !x))?,
        O::I32GeS | O::I64GeS => cmp(order(sa.0, sa.1, sb.0, sb.1).map(|x| !x))?,
        _ => Val::Top,
    })
}

/// Whether `a < b` for `a` in `alo..=ahi` and `b` in `blo..=bhi`, when decided.
fn order<T: Ord>(alo: T, ahi: T, blo: T, bhi: T) -> Option<bool> {
    if ahi < blo {
        Some(true)
    } else if alo >= bhi {
        Some(false)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bound after init of a module with `body` as `lockstep_on_event`, over one page of
    /// memory holding `words` (address, value) and the event record at 0x8000..0x8080.
    fn after(body: &str, extra: &str, words: &[(u32, u32)]) -> InitBound {
        let body = body.replace("PRE", "");
        let wat = format!(
            r#"(module (import "lockstep" "memory" (memory 1)) {extra}
                 (func (export "lockstep_on_event") (result i32) {body}))"#
        );
        let mut memory = vec![0u8; 65536];
        for &(a, v) in words {
            memory[a as usize..a as usize + 4].copy_from_slice(&v.to_le_bytes());
        }
        let image = InitImage {
            memory,
            globals: Vec::new(),
            host_written: std::iter::once(0x8000..0x8080).collect(),
        };
        bound_after_init(&wat::parse_str(wat).unwrap(), &image).unwrap()
    }

    /// A loop of `i` from 0 to the word at 0x100, its limit read once at the event's start.
    const FROM_MEMORY: &str = "(local $i i32) (local $n i32) PRE
        (local.set $n (i32.load (i32.const 0x100)))
        (block $out (loop $l
          (br_if $out (i32.ge_u (local.get $i) (local.get $n)))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $l)))
        (i32.const 0)";

    #[test]
    fn a_loop_over_a_value_init_left_is_bounded_by_that_value() {
        let ten = after(FROM_MEMORY, "", &[(0x100, 10)]).bound.unwrap().unwrap();
        let hundred = after(FROM_MEMORY, "", &[(0x100, 100)]).bound.unwrap().unwrap();
        // Each turn is a run of a fixed length: the bound grows by exactly 90 of them.
        assert_eq!((hundred - ten) % 90, 0, "{ten} {hundred}");
        assert!(hundred > 9 * ten / 2 && ten > 10, "{ten} {hundred}");
        // The code alone cannot bound it.
        let body = FROM_MEMORY.replace("PRE", "");
        let wat = format!(
            r#"(module (import "lockstep" "memory" (memory 1))
                 (func (export "lockstep_on_event") (result i32) {body}))"#
        );
        assert!(super::super::static_bound(&wat::parse_str(wat).unwrap()).unwrap().bound.is_err());
    }

    #[test]
    fn a_limit_an_event_changes_or_the_host_writes_is_unbounded() {
        // Each event adds one to the limit: no bound holds for all events.
        let growing = FROM_MEMORY.replace(
            "PRE",
            "(i32.store (i32.const 0x100) (i32.add (i32.load (i32.const 0x100)) (i32.const 1)))",
        );
        let b = after(&growing, "", &[(0x100, 10)]);
        assert!(matches!(b.bound, Err(InitUnbounded::Loop { .. })), "{b:?}");
        assert!(b.rounds >= 2, "{b:?}");
        // The limit read from the event record.
        let event = FROM_MEMORY.replace("0x100", "0x8000");
        let b = after(&event, "", &[(0x8000, 10)]);
        assert!(matches!(b.bound, Err(InitUnbounded::Loop { .. })), "{b:?}");
        // A limit the event sets back to its value each time stays bounded.
        let reset = FROM_MEMORY.replace("PRE", "(i32.store (i32.const 0x100) (i32.const 7))");
        assert!(after(&reset, "", &[(0x100, 7)]).bound.is_ok());
    }

    #[test]
    fn unknown_branches_take_both_ways_and_the_dearer_one_counts() {
        let body = "(if (i32.load (i32.const 0x8000))
              (then (drop (i32.add (i32.const 1) (i32.add (i32.const 2) (i32.const 3))))))
            (i32.const 0)";
        let both = after(body, "", &[]).bound.unwrap().unwrap();
        let known = after(&body.replace("0x8000", "0x100"), "", &[]).bound.unwrap().unwrap();
        assert!(both > known, "{both} {known}");
    }

    #[test]
    fn stores_through_unknown_addresses_recursion_and_hostile_shapes_are_named() {
        let store = "(i32.store (i32.load (i32.const 0x8000)) (i32.const 1)) (i32.const 0)";
        assert!(matches!(after(store, "", &[]).bound, Err(InitUnbounded::Store { .. })));
        let rec = after(
            "(call $f (i32.const 3)) (i32.const 0)",
            "(func $f (param i32) (if (local.get 0) (then (call $f (i32.sub (local.get 0) (i32.const 1))))))",
            &[],
        );
        assert!(matches!(rec.bound, Err(InitUnbounded::Recursion { .. })), "{rec:?}");
        let spin = after("(loop $l (br $l)) (i32.const 0)", "", &[]);
        assert!(matches!(spin.bound, Err(InitUnbounded::Loop { .. })), "{spin:?}");
        let data = after(&FROM_MEMORY.replace("0x100", "0x8000"), "", &[]);
        assert!(matches!(data.bound, Err(InitUnbounded::Loop { .. })), "{data:?}");
        let deep = format!("{}{}(i32.const 0)", "(block ".repeat(2_000), ")".repeat(2_000));
        assert_eq!(after(&deep, "", &[]).bound, Err(InitUnbounded::TooDeep));
        let ifs = format!(
            "{}{}(i32.const 0)",
            "(if (i32.load (i32.const 0x8000)) (then ".repeat(2_000),
            "))".repeat(2_000)
        );
        assert_eq!(after(&ifs, "", &[]).bound, Err(InitUnbounded::TooDeep));
        // Reference and table operators keep the stack straight.
        let refs = after(
            "(drop (ref.is_null (ref.null func))) (drop (table.size)) (drop (table.get (i32.const 0)))
             (data.drop 0) (i32.const 0)",
            "(table 1 funcref) (data \"x\")",
            &[],
        );
        assert!(matches!(refs.bound, Ok(Some(n)) if n > 5), "{refs:?}");
        let trap = after("(unreachable)", "", &[]);
        assert_eq!(trap.bound, Ok(None));
        let div0 = after("(drop (i32.div_u (i32.const 1) (i32.const 0))) (i32.const 0)", "", &[]);
        assert_eq!(div0.bound, Ok(None));
    }

    #[test]
    fn intervals() {
        let v = |lo, hi| Val::Int { w: 32, lo, hi };
        let add = |a, b| binary(&Operator::I32Add, 32, a, b).unwrap();
        assert_eq!(add(v(1, 3), Val::known(32, u64::from(u32::MAX))), v(0, 2));
        assert_eq!(add(v(1, 3), v(4, 5)), v(5, 8));
        assert_eq!(add(v(0, 3), v(u64::from(u32::MAX), u64::from(u32::MAX))), Val::full(32));
        let sub = binary(&Operator::I32Sub, 32, Val::known(32, 0), Val::known(32, 1)).unwrap();
        assert_eq!(sub, Val::known(32, u64::from(u32::MAX)));
        let lt = |a, b| binary(&Operator::I32LtS, 32, a, b).unwrap();
        assert_eq!(lt(Val::known(32, u64::from(u32::MAX)), Val::known(32, 0)), Val::known(32, 1));
        assert_eq!(lt(v(0, 5), v(3, 9)), Val::bool(None));
        let and = binary(&Operator::I32And, 32, Val::full(32), Val::known(32, 3)).unwrap();
        assert_eq!(and, v(0, 3));
        assert_eq!(binary(&Operator::I32RemU, 32, Val::full(32), Val::known(32, 0)), None);
    }
}
