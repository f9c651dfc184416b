//! A static bound on the fuel one event can cost: the longest path through
//! `lockstep_on_event` and everything it can call, in the metering rewrite's own fuel
//! (`meter`), which both tiers count alike.
//!
//! WebAssembly's control flow is structured, so each function is walked once, operator by
//! operator, keeping the most fuel that can have been spent on reaching each point. A branch
//! carries that value to the end of its block (or, for a loop, back to its header), and the
//! two arms of an `if` meet at its end. A loop whose back edges the walk finds needs a trip
//! count. It gets one for a counter that the body steps by a constant, once per turn, and
//! that the back edge compares with a constant, starting from a constant. Anything else is
//! reported unbounded, with the reason: a loop without such a counter, recursion, an
//! indirect call through a table the module changes, or a callee that is unbounded. Callees
//! are analysed before their callers, without recursion in the analysis itself, and the
//! analysis has a fixed work budget, so no module can make it hang.

mod init;

pub use init::{InitBound, InitImage, InitUnbounded, bound_after_init};

use crate::error::Error;
use crate::meter::{BULK_SHIFT, ends_run, is_bulk, op_cost};
use crate::portable::Shape;
use std::collections::BTreeMap;
use std::fmt;
use wasmparser::{ElementItems, FuncType, Operator, Parser, Payload, TypeRef};

/// Most operators the trip-count search may read over a whole module: past it, loops are
/// reported unbounded rather than the analysis running on.
const TRIP_SCAN_BUDGET: usize = 20_000_000;
/// Longest loop body (in operators) searched for a trip count.
const MAX_TRIP_SCAN: usize = 50_000;

/// Why a function has no finite static bound.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Unbounded {
    /// A loop whose trip count could not be proven; at the loop's byte offset in the module.
    Loop {
        /// Byte offset of the `loop` in the module.
        offset: usize,
        /// What the search found instead.
        why: &'static str,
    },
    /// A call back into a function on the current call chain.
    Recursion {
        /// The function called again.
        callee: u32,
    },
    /// A callee without a bound.
    Callee {
        /// The callee.
        callee: u32,
    },
    /// An indirect call whose targets can change while the module runs.
    IndirectCall {
        /// Byte offset of the call.
        offset: usize,
    },
    /// A bound past `u64`.
    Overflow,
}

impl fmt::Display for Unbounded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Loop { offset, why } => write!(f, "loop at byte {offset:#x}: {why}"),
            Self::Recursion { callee } => write!(f, "recursion: calls func[{callee}] again"),
            Self::Callee { callee } => write!(f, "calls func[{callee}], which is unbounded"),
            Self::IndirectCall { offset } => write!(
                f,
                "indirect call at byte {offset:#x} through a table the module changes at run time"
            ),
            Self::Overflow => write!(f, "the bound is past 2^64"),
        }
    }
}

/// One function's static bound.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FunctionBound {
    /// Its index in the module's function space (imports first).
    pub func: u32,
    /// The most fuel one call of it that returns can cost, callees included (`None`: it
    /// never returns, every path ending in a trap), or why there is no bound.
    pub bound: Cost,
}

/// A function's cost: the most fuel a call that returns can spend (`None`: no call returns),
/// or why there is no bound.
pub type Cost = Result<Option<u64>, Unbounded>;

/// The static bound of a module's `lockstep_on_event`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StaticBound {
    /// The index of `lockstep_on_event`.
    pub on_event: u32,
    /// The most fuel an event that completes can cost (one that traps, by a panic or an
    /// exhausted budget, halts the strategy and is held to the configured fuel per event),
    /// or why there is no bound (the configured fuel per event is then the only bound).
    /// `Ok(None)`: no event can complete, every path traps.
    pub bound: Cost,
    /// Every function `lockstep_on_event` can reach, by index, itself included.
    pub functions: Vec<FunctionBound>,
    /// Loops given a trip count.
    pub bounded_loops: u32,
}

/// The module's parts the analysis reads.
struct Module<'a> {
    shape: Shape,
    /// Each function's type, imports first.
    func_types: Vec<FuncType>,
    types: Vec<FuncType>,
    bodies: Vec<wasmparser::FunctionBody<'a>>,
    /// Functions an indirect call may reach (in any element segment).
    table_funcs: Vec<u32>,
    /// Whether tables may change at run time (imported, or written by the code).
    tables_change: bool,
    on_event: Option<u32>,
    /// Imported functions that return (`lockstep.fail` never does).
    import_returns: Vec<bool>,
    /// Each global (imports first): its type, and its initial value when a constant.
    globals: Vec<(wasmparser::ValType, Option<u64>)>,
}

/// Rounds of the may-return fixpoint before the functions still undecided are taken to
/// return (which only adds paths, so the bound stays sound).
const MAX_ROUNDS: usize = 64;

/// Computes the static bound of `wasm` (as given to the engine, before metering).
///
/// # Errors
/// [`Error::Malformed`] or [`Error::Unportable`] for a module the engine would refuse, and
/// [`Error::MissingExport`] without `lockstep_on_event`.
pub fn static_bound(wasm: &[u8]) -> Result<StaticBound, Error> {
    let shape = crate::portable::check(wasm)?;
    let m = Module::read(wasm, shape)?;
    let on_event =
        m.on_event.ok_or(Error::MissingExport { name: lockstep_sdk::names::ON_EVENT })?;
    let order = m.post_order(on_event)?;
    let returns = m.returns(&order)?;
    let mut done: BTreeMap<u32, Cost> = BTreeMap::new();
    let mut budget = TRIP_SCAN_BUDGET;
    let mut bounded_loops = 0;
    for &f in &order {
        if let Some(body) = m.body(f) {
            let mut walk = Walk::new(&m, &returns, Some(&done), &mut budget);
            let cost = walk.function(body, m.params(f), &mut bounded_loops)?;
            done.insert(f, cost);
        }
    }
    let functions: Vec<FunctionBound> =
        done.iter().map(|(&func, bound)| FunctionBound { func, bound: bound.clone() }).collect();
    let bound = done.get(&on_event).cloned().unwrap_or(Ok(Some(0)));
    Ok(StaticBound { on_event, bound, functions, bounded_loops })
}

impl<'a> Module<'a> {
    fn read(wasm: &'a [u8], shape: Shape) -> Result<Self, Error> {
        let bad = |e: wasmparser::BinaryReaderError| crate::backend::malformed(&e);
        let mut m = Module {
            shape,
            func_types: Vec::new(),
            types: Vec::new(),
            bodies: Vec::new(),
            table_funcs: Vec::new(),
            tables_change: false,
            on_event: None,
            import_returns: Vec::new(),
            globals: Vec::new(),
        };
        for payload in Parser::new(0).parse_all(wasm) {
            match payload.map_err(bad)? {
                Payload::TypeSection(r) => {
                    for t in r.into_iter_err_on_gc_types() {
                        m.types.push(t.map_err(bad)?);
                    }
                }
                Payload::ImportSection(r) => {
                    for i in r.into_imports() {
                        let i = i.map_err(bad)?;
                        match i.ty {
                            TypeRef::Func(t) => {
                                m.func_types.push(m.ty(t));
                                let fail = i.module == lockstep_sdk::names::HOST_MODULE
                                    && i.name == lockstep_sdk::names::FAIL;
                                m.import_returns.push(!fail);
                            }
                            TypeRef::Table(_) => m.tables_change = true,
                            TypeRef::Global(g) => m.globals.push((g.content_type, None)),
                            _ => {}
                        }
                    }
                }
                Payload::FunctionSection(r) => {
                    for t in r {
                        let t = t.map_err(bad)?;
                        m.func_types.push(m.ty(t));
                    }
                }
                Payload::GlobalSection(r) => {
                    for g in r {
                        let g = g.map_err(bad)?;
                        let mut ops = g.init_expr.get_operators_reader();
                        let value = match ops.read().map_err(bad)? {
                            Operator::I32Const { value } => Some(u64::from(value as u32)),
                            Operator::I64Const { value } => Some(value as u64),
                            _ => None,
                        };
                        m.globals.push((g.ty.content_type, value));
                    }
                }
                Payload::ElementSection(r) => {
                    for el in r {
                        m.read_element(el.map_err(bad)?)?;
                    }
                }
                Payload::ExportSection(r) => {
                    for e in r {
                        let e = e.map_err(bad)?;
                        if e.name == lockstep_sdk::names::ON_EVENT
                            && e.kind == wasmparser::ExternalKind::Func
                        {
                            m.on_event = Some(e.index);
                        }
                    }
                }
                Payload::CodeSectionEntry(body) => m.bodies.push(body),
                _ => {}
            }
        }
        m.table_funcs.sort_unstable();
        m.table_funcs.dedup();
        m.tables_change |= m.writes_tables()?;
        Ok(m)
    }

    /// The parameters of function `f`.
    fn params(&self, f: u32) -> u32 {
        self.func_types.get(f as usize).map_or(0, |t| t.params().len() as u32)
    }

    /// Which of the functions in `order` can return: the least fixpoint, from "none" up,
    /// of "some path reaches the end calling only functions that can return".
    fn returns(&self, order: &[u32]) -> Result<BTreeMap<u32, bool>, Error> {
        let mut returns: BTreeMap<u32, bool> = order
            .iter()
            .map(|&f| {
                (f, self.body(f).is_none() && self.import_returns.get(f as usize) == Some(&true))
            })
            .collect();
        let mut budget = 0;
        for _ in 0..MAX_ROUNDS {
            let mut changed = false;
            for &f in order {
                if returns[&f] {
                    continue;
                }
                let Some(body) = self.body(f) else { continue };
                let mut walk = Walk::new(self, &returns, None, &mut budget);
                if let Ok(Some(_)) = walk.function(body, self.params(f), &mut 0)? {
                    returns.insert(f, true);
                    changed = true;
                }
            }
            if !changed {
                return Ok(returns);
            }
        }
        // Undecided: taken to return.
        Ok(order.iter().map(|&f| (f, returns[&f] || self.body(f).is_some())).collect())
    }

    /// Whether any code writes a table (`table.grow` is refused at load).
    fn writes_tables(&self) -> Result<bool, Error> {
        let bad = |e: wasmparser::BinaryReaderError| crate::backend::malformed(&e);
        for body in &self.bodies {
            for op in body.get_operators_reader().map_err(bad)? {
                if matches!(
                    op.map_err(bad)?,
                    Operator::TableSet { .. }
                        | Operator::TableFill { .. }
                        | Operator::TableCopy { .. }
                        | Operator::TableInit { .. }
                ) {
                    return Ok(true);
                }
            }
        }
        Ok(false)
    }

    /// The function type at `index` (validated, so present).
    fn ty(&self, index: u32) -> FuncType {
        self.types.get(index as usize).cloned().unwrap_or_else(|| FuncType::new([], []))
    }

    fn read_element(&mut self, el: wasmparser::Element<'a>) -> Result<(), Error> {
        let bad = |e: wasmparser::BinaryReaderError| crate::backend::malformed(&e);
        match el.items {
            ElementItems::Functions(funcs) => {
                for f in funcs {
                    self.table_funcs.push(f.map_err(bad)?);
                }
            }
            ElementItems::Expressions(_, exprs) => {
                for e in exprs {
                    for op in e.map_err(bad)?.get_operators_reader() {
                        if let Operator::RefFunc { function_index } = op.map_err(bad)? {
                            self.table_funcs.push(function_index);
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// The body of function `f`, `None` for an import.
    fn body(&self, f: u32) -> Option<&wasmparser::FunctionBody<'a>> {
        f.checked_sub(self.shape.imported_funcs).and_then(|i| self.bodies.get(i as usize))
    }

    /// The functions an indirect call of type `ty` may reach.
    fn indirect_targets(&self, ty: u32) -> impl Iterator<Item = u32> + '_ {
        let want = self.ty(ty);
        self.table_funcs
            .iter()
            .copied()
            .filter(move |&f| self.func_types.get(f as usize) == Some(&want))
    }

    /// Every function a body calls, directly or through a table.
    fn callees(&self, f: u32) -> Result<Vec<u32>, Error> {
        let Some(body) = self.body(f) else { return Ok(Vec::new()) };
        let mut out = Vec::new();
        for op in body.get_operators_reader().map_err(|e| crate::backend::malformed(&e))? {
            match op.map_err(|e| crate::backend::malformed(&e))? {
                Operator::Call { function_index } | Operator::ReturnCall { function_index } => {
                    out.push(function_index);
                }
                Operator::CallIndirect { type_index, .. }
                | Operator::ReturnCallIndirect { type_index, .. } => {
                    out.extend(self.indirect_targets(type_index));
                }
                _ => {}
            }
        }
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }

    /// The functions reachable from `root`, callees before callers (a callee on the chain
    /// that reaches it, in a recursion, comes after).
    fn post_order(&self, root: u32) -> Result<Vec<u32>, Error> {
        let mut state: BTreeMap<u32, bool> = BTreeMap::new(); // false: on the chain; true: done
        let mut order = Vec::new();
        let mut stack: Vec<(u32, Vec<u32>)> = vec![(root, self.callees(root)?)];
        state.insert(root, false);
        while let Some((f, todo)) = stack.last_mut() {
            match todo.pop() {
                Some(c) if !state.contains_key(&c) => {
                    state.insert(c, false);
                    let next = self.callees(c)?;
                    stack.push((c, next));
                }
                Some(_) => {}
                None => {
                    let f = *f;
                    state.insert(f, true);
                    order.push(f);
                    stack.pop();
                }
            }
        }
        Ok(order)
    }
}

/// One open block, loop or `if` of the walk.
struct Frame {
    kind: FrameKind,
    /// The most fuel at a branch out of it (to its end).
    exit: Option<u64>,
}

enum FrameKind {
    Block,
    If {
        /// Fuel on entering (the implicit `else`), and at the end of `then` once in `else`.
        entry: Option<u64>,
        then_end: Option<Option<u64>>,
    },
    Loop {
        /// Fuel at the header, in the enclosing base; values inside are relative to it.
        base: Option<u64>,
        /// The most fuel (relative) at a back edge.
        back: Option<u64>,
        /// Branches out of the loop to frame index `.0`, relative fuel `.1`.
        pending: Vec<(usize, u64)>,
        /// The proven trip count, or why there is none.
        trips: Result<u64, &'static str>,
        offset: usize,
    },
}

/// The walk of one function body.
struct Walk<'m, 'a> {
    m: &'m Module<'a>,
    returns: &'m BTreeMap<u32, bool>,
    /// The callees' costs; `None` when only finding whether the function can return.
    done: Option<&'m BTreeMap<u32, Cost>>,
    budget: &'m mut usize,
    frames: Vec<Frame>,
    /// Indices in `frames` of the open loops, innermost last.
    loops: Vec<usize>,
    cur: Option<u64>,
}

fn max(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

/// Fuel after a call costing `call` (`None`: it never returns, and neither does this path).
fn then(a: Option<u64>, call: Option<u64>) -> Result<Option<u64>, Unbounded> {
    match call {
        Some(c) => add(a, c),
        None => Ok(None),
    }
}

/// `a + b`, or [`Unbounded::Overflow`].
fn add(a: Option<u64>, b: u64) -> Result<Option<u64>, Unbounded> {
    a.map(|a| a.checked_add(b).ok_or(Unbounded::Overflow)).transpose()
}

impl<'m, 'a> Walk<'m, 'a> {
    fn new(
        m: &'m Module<'a>,
        returns: &'m BTreeMap<u32, bool>,
        done: Option<&'m BTreeMap<u32, Cost>>,
        budget: &'m mut usize,
    ) -> Self {
        Self { m, returns, done, budget, frames: Vec::new(), loops: Vec::new(), cur: Some(0) }
    }

    /// The most fuel one call of `body` that returns can cost, or why there is no bound.
    fn function(
        &mut self,
        body: &wasmparser::FunctionBody<'a>,
        params: u32,
        bounded_loops: &mut u32,
    ) -> Result<Cost, Error> {
        let bad = |e: wasmparser::BinaryReaderError| crate::backend::malformed(&e);
        let mut ops = Vec::new();
        for op in body.get_operators_reader().map_err(bad)?.into_iter_with_offsets() {
            ops.push(op.map_err(bad)?);
        }
        let mut known = Known::new(body, params).map_err(bad)?;
        self.frames.push(Frame { kind: FrameKind::Block, exit: None });
        let mut run_start = true;
        for i in 0..ops.len() {
            let (op, offset) = &ops[i];
            if run_start {
                let len =
                    ops[i..].iter().position(|(o, _)| ends_run(o)).map_or(ops.len() - i, |p| p + 1);
                let cost =
                    ops[i..i + len].iter().map(|(o, _)| op_cost(&self.m.shape, o)).sum::<u64>();
                match add(self.cur, cost) {
                    Ok(c) => self.cur = c,
                    Err(u) => return Ok(Err(u)),
                }
            }
            run_start = ends_run(op) && i + 1 < ops.len();
            let step = self.step(&ops, i, *offset, &mut known, bounded_loops);
            match step {
                Ok(Some(result)) => return Ok(Ok(result)),
                Ok(None) => {}
                Err(u) => return Ok(Err(u)),
            }
            known.after(&ops, i);
        }
        Ok(Ok(self.cur))
    }

    /// One operator; `Some(fuel)` when the function's last `end` closes (`Some(None)`: its
    /// end is never reached).
    fn step(
        &mut self,
        ops: &[(Operator<'a>, usize)],
        i: usize,
        offset: usize,
        known: &mut Known,
        bounded_loops: &mut u32,
    ) -> Result<Option<Option<u64>>, Unbounded> {
        match &ops[i].0 {
            Operator::Block { .. } => {
                self.frames.push(Frame { kind: FrameKind::Block, exit: None })
            }
            Operator::If { .. } => self.frames.push(Frame {
                kind: FrameKind::If { entry: self.cur, then_end: None },
                exit: None,
            }),
            Operator::Else => {
                if let Some(Frame { kind: FrameKind::If { entry, then_end }, .. }) =
                    self.frames.last_mut()
                {
                    *then_end = Some(self.cur);
                    self.cur = *entry;
                }
            }
            Operator::Loop { .. } => {
                let trips = match self.done {
                    Some(_) => trip_count(ops, i, known, self.budget),
                    None => Ok(0), // only reachability matters
                };
                if trips.is_ok() {
                    *bounded_loops += 1;
                }
                let base = self.cur;
                self.loops.push(self.frames.len());
                self.frames.push(Frame {
                    kind: FrameKind::Loop { base, back: None, pending: Vec::new(), trips, offset },
                    exit: None,
                });
                self.cur = base.map(|_| 0);
            }
            Operator::End => return self.end(),
            Operator::Br { relative_depth } => {
                self.branch(*relative_depth, self.cur);
                self.cur = None;
            }
            Operator::BrIf { relative_depth } => self.branch(*relative_depth, self.cur),
            Operator::BrTable { targets } => {
                for d in targets.targets().flatten().chain([targets.default()]) {
                    self.branch(d, self.cur);
                }
                self.cur = None;
            }
            Operator::Return => {
                self.branch_to(0, self.cur);
                self.cur = None;
            }
            Operator::Unreachable => self.cur = None,
            Operator::Call { function_index } => {
                self.cur = then(self.cur, self.callee(*function_index)?)?;
            }
            Operator::ReturnCall { function_index } => {
                let c = then(self.cur, self.callee(*function_index)?)?;
                self.branch_to(0, c);
                self.cur = None;
            }
            Operator::CallIndirect { type_index, .. } => {
                self.cur = then(self.cur, self.indirect(*type_index, offset)?)?;
            }
            Operator::ReturnCallIndirect { type_index, .. } => {
                let c = then(self.cur, self.indirect(*type_index, offset)?)?;
                self.branch_to(0, c);
                self.cur = None;
            }
            op if is_bulk(op) => {
                // The meter charges the length (the last operand) shifted; a constant length
                // is known, any other is at most 2^32 - 1.
                let len = match i.checked_sub(1).map(|p| &ops[p].0) {
                    Some(Operator::I32Const { value }) => u64::from(*value as u32),
                    _ => u64::from(u32::MAX),
                };
                self.cur = add(self.cur, len >> BULK_SHIFT)?;
            }
            _ => {}
        }
        Ok(None)
    }

    /// The cost of a call to `f`: `None` when it never returns (the path ends in a trap), its
    /// bound, or recursion when it is still on the chain being analysed.
    fn callee(&self, f: u32) -> Result<Option<u64>, Unbounded> {
        if !self.returns.get(&f).copied().unwrap_or(true) {
            return Ok(None);
        }
        if f < self.m.shape.imported_funcs {
            return Ok(Some(0)); // its fixed fuel is charged at the call site
        }
        let Some(done) = self.done else { return Ok(Some(0)) };
        match done.get(&f) {
            None => Err(Unbounded::Recursion { callee: f }),
            Some(Ok(b)) => Ok(*b),
            Some(Err(_)) => Err(Unbounded::Callee { callee: f }),
        }
    }

    /// The cost of an indirect call of type `ty`: the most of any target's.
    fn indirect(&self, ty: u32, offset: usize) -> Result<Option<u64>, Unbounded> {
        if self.m.tables_change {
            return match self.done {
                Some(_) => Err(Unbounded::IndirectCall { offset }),
                None => Ok(Some(0)),
            };
        }
        self.m.indirect_targets(ty).try_fold(None, |acc, f| Ok(max(acc, self.callee(f)?)))
    }

    /// A branch `depth` labels out, with `fuel`.
    fn branch(&mut self, depth: u32, fuel: Option<u64>) {
        let target = self.frames.len().saturating_sub(1).saturating_sub(depth as usize);
        self.branch_to(target, fuel);
    }

    /// A branch to frame `target` with `fuel` (relative to the innermost loop above it).
    fn branch_to(&mut self, target: usize, fuel: Option<u64>) {
        let Some(fuel) = fuel else { return };
        if let Some(&k) = self.loops.last().filter(|&&k| k > target) {
            if let FrameKind::Loop { pending, .. } = &mut self.frames[k].kind {
                pending.push((target, fuel));
            }
            return;
        }
        let frame = &mut self.frames[target];
        match &mut frame.kind {
            FrameKind::Loop { back, .. } => *back = max(*back, Some(fuel)),
            _ => frame.exit = max(frame.exit, Some(fuel)),
        }
    }

    /// Closes the innermost frame; `Some(fuel)` when it was the function's.
    fn end(&mut self) -> Result<Option<Option<u64>>, Unbounded> {
        let Some(frame) = self.frames.pop() else { return Ok(Some(self.cur)) };
        match frame.kind {
            FrameKind::Block => self.cur = max(self.cur, frame.exit),
            FrameKind::If { entry, then_end } => {
                let other = then_end.unwrap_or(entry);
                self.cur = max(max(self.cur, other), frame.exit);
            }
            FrameKind::Loop { base, back, pending, trips, offset } => {
                self.loops.pop();
                // Each turn that branches back costs at most `back`; the last one leaves.
                let turns = match (back, trips) {
                    (None, _) => 0,
                    (Some(b), Ok(n)) => b.checked_mul(n).ok_or(Unbounded::Overflow)?,
                    (Some(_), Err(why)) => return Err(Unbounded::Loop { offset, why }),
                };
                let shift = |rel: u64| -> Result<Option<u64>, Unbounded> {
                    add(base, turns).and_then(|b| add(b, rel))
                };
                self.cur = match self.cur {
                    Some(rel) => shift(rel)?,
                    None => None,
                };
                for (target, rel) in pending {
                    let fuel = shift(rel)?;
                    self.branch_to(target, fuel);
                }
            }
        }
        if self.frames.is_empty() {
            return Ok(Some(self.cur));
        }
        Ok(None)
    }
}

/// Locals whose value is a known constant at the current point of the walk: set from an
/// `i32.const` in straight code since the last join (a block's end, an `else`, a loop header),
/// or never set since the function's entry (locals start at zero).
struct Known(BTreeMap<u32, i64>);

impl Known {
    fn new(
        body: &wasmparser::FunctionBody<'_>,
        params: u32,
    ) -> Result<Self, wasmparser::BinaryReaderError> {
        let mut known = BTreeMap::new();
        let mut next = params;
        for pair in body.get_locals_reader()? {
            let (count, ty) = pair?;
            if ty == wasmparser::ValType::I32 {
                for l in next..next.saturating_add(count.min(64)) {
                    known.insert(l, 0);
                }
            }
            next = next.saturating_add(count);
        }
        Ok(Self(known))
    }

    /// Updates the known values after operator `i`.
    fn after(&mut self, ops: &[(Operator<'_>, usize)], i: usize) {
        match &ops[i].0 {
            Operator::LocalSet { local_index } | Operator::LocalTee { local_index } => {
                match i.checked_sub(1).map(|p| &ops[p].0) {
                    Some(Operator::I32Const { value }) => {
                        self.0.insert(*local_index, i64::from(*value));
                    }
                    _ => {
                        self.0.remove(local_index);
                    }
                }
            }
            // A join: values differ by path; a loop header is reached again from its body.
            Operator::End | Operator::Else | Operator::Loop { .. } => self.0.clear(),
            _ => {}
        }
    }
}

/// A loop's trip count: the most times its back edge can be taken, proven for a counter the
/// body steps by a constant exactly once per turn and the one back edge compares with a
/// constant, the counter starting from a known constant.
fn trip_count(
    ops: &[(Operator<'_>, usize)],
    start: usize,
    known: &Known,
    budget: &mut usize,
) -> Result<u64, &'static str> {
    // Find the loop's end, its back edges and every write to a local, at depth 0 or nested.
    let mut depth = 0u32;
    let (mut backs, mut sets) = (Vec::new(), Vec::new());
    let mut end = None;
    for (k, (op, _)) in ops.iter().enumerate().skip(start + 1) {
        if k - start > MAX_TRIP_SCAN || *budget == 0 {
            return Err("too long to search for a trip count");
        }
        *budget -= 1;
        match op {
            Operator::Block { .. } | Operator::Loop { .. } | Operator::If { .. } => depth += 1,
            Operator::End if depth == 0 => {
                end = Some(k);
                break;
            }
            Operator::End => depth -= 1,
            Operator::Br { relative_depth } | Operator::BrIf { relative_depth }
                if *relative_depth == depth =>
            {
                backs.push((k, depth));
            }
            Operator::BrTable { targets }
                if targets.targets().flatten().chain([targets.default()]).any(|d| d == depth) =>
            {
                return Err("a br_table branches back");
            }
            Operator::LocalSet { local_index } | Operator::LocalTee { local_index } => {
                sets.push((k, *local_index, depth));
            }
            _ => {}
        }
    }
    let end = end.ok_or("no end")?;
    let [(k, 0)] = backs[..] else {
        return Err("no single back edge at the loop's own level");
    };
    let (test, continues) = match ops[k].0 {
        // do { …; i += s } while (i OP K)
        Operator::BrIf { .. } => (k, true),
        // while !(i OP K) { …; i += s }: the exit test first, the back edge last.
        _ if k + 1 == end => (
            exit_test(ops, start, k)
                .ok_or("the back edge is unconditional and no exit test comes first")?,
            false,
        ),
        _ => return Err("the back edge is unconditional"),
    };
    let (counter, limit, cmp) =
        compare(ops, test).ok_or("its test does not compare a local with a constant")?;
    let writes: Vec<_> = sets.iter().filter(|(_, l, _)| *l == counter).collect();
    let [&(w, _, 0)] = writes[..] else {
        return Err("its counter is written other than once per turn at the loop's own level");
    };
    if w > k || (!continues && w < test) {
        return Err("its counter is stepped outside the turn's test and back edge");
    }
    let step = stride(ops, w, counter).ok_or("its counter is not stepped by a constant")?;
    let from = *known.0.get(&counter).ok_or("its counter does not start from a known constant")?;
    let never = "its counter may wrap or never reach the limit";
    if continues {
        // Tested after the step: the first value tested is one step on.
        turns(from.wrapping_add(step), step, limit, cmp).ok_or(never)
    } else {
        // Tested before the step, the test saying when to leave.
        turns(from, step, limit, cmp.negated().ok_or(never)?).ok_or(never)
    }
}

/// The `br_if` out of the loop at the loop's own level before the back edge at `k`, if it
/// is the only one.
fn exit_test(ops: &[(Operator<'_>, usize)], start: usize, k: usize) -> Option<usize> {
    let mut depth = 0u32;
    let mut found = None;
    for (j, (op, _)) in ops.iter().enumerate().take(k).skip(start + 1) {
        match op {
            Operator::Block { .. } | Operator::Loop { .. } | Operator::If { .. } => depth += 1,
            Operator::End => depth = depth.saturating_sub(1),
            Operator::BrIf { relative_depth }
                if depth == 0 && *relative_depth > 0 && found.replace(j).is_some() =>
            {
                return None;
            }
            _ => {}
        }
    }
    found
}

/// The comparison before the `br_if` at `k`: (local, constant, operator), the constant on
/// the right (a constant on the left is mirrored).
fn compare(ops: &[(Operator<'_>, usize)], k: usize) -> Option<(u32, i64, Cmp)> {
    let cmp = Cmp::of(&ops[k.checked_sub(1)?].0)?;
    let (a, b) = (&ops[k.checked_sub(3)?].0, &ops[k.checked_sub(2)?].0);
    let local = |op: &Operator<'_>| match op {
        Operator::LocalGet { local_index } | Operator::LocalTee { local_index } => {
            Some(*local_index)
        }
        _ => None,
    };
    match (a, b) {
        (x, Operator::I32Const { value }) => Some((local(x)?, i64::from(*value), cmp)),
        (Operator::I32Const { value }, x) => Some((local(x)?, i64::from(*value), cmp.mirrored()?)),
        _ => None,
    }
}

/// The constant a write at `w` steps `counter` by: `local.get c; i32.const s; i32.add|sub`.
fn stride(ops: &[(Operator<'_>, usize)], w: usize, counter: u32) -> Option<i64> {
    let get = &ops[w.checked_sub(3)?].0;
    let (Operator::LocalGet { local_index }, Operator::I32Const { value }) = (get, &ops[w - 2].0)
    else {
        return None;
    };
    if *local_index != counter || *value == 0 {
        return None;
    }
    match ops[w - 1].0 {
        Operator::I32Add => Some(i64::from(*value)),
        Operator::I32Sub => Some(-i64::from(*value)),
        _ => None,
    }
}

/// An i32 comparison a back edge may test.
#[derive(Clone, Copy, Debug)]
enum Cmp {
    LtS,
    LtU,
    LeS,
    LeU,
    GtS,
    GtU,
    GeS,
    GeU,
    Ne,
    Eq,
}

impl Cmp {
    fn of(op: &Operator<'_>) -> Option<Self> {
        Some(match op {
            Operator::I32LtS => Self::LtS,
            Operator::I32LtU => Self::LtU,
            Operator::I32LeS => Self::LeS,
            Operator::I32LeU => Self::LeU,
            Operator::I32GtS => Self::GtS,
            Operator::I32GtU => Self::GtU,
            Operator::I32GeS => Self::GeS,
            Operator::I32GeU => Self::GeU,
            Operator::I32Ne => Self::Ne,
            Operator::I32Eq => Self::Eq,
            _ => return None,
        })
    }

    /// `k OP x` as `x OP' k`.
    fn mirrored(self) -> Option<Self> {
        Some(match self {
            Self::LtS => Self::GtS,
            Self::LtU => Self::GtU,
            Self::LeS => Self::GeS,
            Self::LeU => Self::GeU,
            Self::GtS => Self::LtS,
            Self::GtU => Self::LtU,
            Self::GeS => Self::LeS,
            Self::GeU => Self::LeU,
            Self::Ne => Self::Ne,
            Self::Eq => Self::Eq,
        })
    }

    /// `!(x OP k)` as `x OP' k`.
    fn negated(self) -> Option<Self> {
        Some(match self {
            Self::LtS => Self::GeS,
            Self::LtU => Self::GeU,
            Self::LeS => Self::GtS,
            Self::LeU => Self::GtU,
            Self::GtS => Self::LeS,
            Self::GtU => Self::LeU,
            Self::GeS => Self::LtS,
            Self::GeU => Self::LtU,
            Self::Ne => Self::Eq,
            Self::Eq => Self::Ne,
        })
    }

    fn unsigned(self) -> bool {
        matches!(self, Self::LtU | Self::LeU | Self::GtU | Self::GeU)
    }
}

/// How many values `first`, `first + step`, … pass the test `value OP limit` before one
/// fails (the values wrap as i32s do): the turns that branch back. `None` when the counter
/// could wrap around before failing, or never fail.
fn turns(first: i64, step: i64, limit: i64, cmp: Cmp) -> Option<u64> {
    // Values as the comparison sees them.
    let as_cmp =
        |v: i64| if cmp.unsigned() { i64::from(v as i32 as u32) } else { i64::from(v as i32) };
    let (lo, hi) = if cmp.unsigned() {
        (0, i64::from(u32::MAX))
    } else {
        (i64::from(i32::MIN), i64::from(i32::MAX))
    };
    let (first, limit) = (as_cmp(first), as_cmp(limit));
    // The last value the test lets through, and the direction the counter must go.
    let (last, up) = match cmp {
        Cmp::LtS | Cmp::LtU => (limit - 1, true),
        Cmp::LeS | Cmp::LeU => (limit, true),
        Cmp::GtS | Cmp::GtU => (limit + 1, false),
        Cmp::GeS | Cmp::GeU => (limit, false),
        Cmp::Eq => return None,
        Cmp::Ne => {
            let gap = limit - first;
            if gap == 0 {
                return Some(0);
            }
            if gap % step != 0 || (gap > 0) != (step > 0) {
                return None;
            }
            return u64::try_from(gap / step).ok();
        }
    };
    if (up && first > last) || (!up && first < last) {
        return Some(0);
    }
    // The counter must head for the limit, and its first failing value must not wrap.
    if up != (step > 0) || !(lo..=hi).contains(&(last + step)) {
        return None;
    }
    u64::try_from((last - first).abs() / step.abs() + 1).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bound(body: &str, extra: &str) -> StaticBound {
        let wat = format!(
            r#"(module (import "lockstep" "memory" (memory 1)) {extra}
                 (func (export "lockstep_on_event") (result i32) {body}))"#
        );
        static_bound(&wat::parse_str(wat).unwrap()).unwrap()
    }

    #[test]
    fn straight_code_and_branches_take_the_longest_path() {
        // One run of 3 operators, then end: the meter charges 3 + the if's runs.
        let b = bound(
            "(i32.const 1) (if (result i32) (then (i32.const 2)) (else (i32.const 3) (i32.const 4) (i32.add)))",
            "",
        );
        assert!(matches!(b.bound, Ok(Some(n)) if n > 0 && n < 20), "{b:?}");
    }

    #[test]
    fn counted_loops_are_bounded_and_others_say_why() {
        let counted = "(local $i i32)
            (loop $l (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (br_if $l (i32.lt_u (local.get $i) (i32.const 100))))
            (i32.const 0)";
        let b = bound(counted, "");
        assert_eq!(b.bounded_loops, 1);
        let n = b.bound.unwrap().unwrap();
        let ten = bound(&counted.replace("100", "10"), "").bound.unwrap().unwrap();
        assert!(n > 9 * ten && n < 11 * ten, "{n} vs {ten}");
        let open = "(local $i i32)
            (loop $l (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (br_if $l (i32.lt_u (local.get $i) (i32.load (i32.const 0)))))
            (i32.const 0)";
        assert!(matches!(bound(open, "").bound, Err(Unbounded::Loop { .. })));
        let while_form = "(local $i i32)
            (block $out (loop $l
              (br_if $out (i32.ge_u (local.get $i) (i32.const 100)))
              (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (br $l)))
            (i32.const 0)";
        let w = bound(while_form, "");
        assert_eq!(w.bounded_loops, 1, "{w:?}");
        assert!(w.bound.unwrap().unwrap() > 100);
        let spin = "(loop $l (br $l)) (i32.const 0)";
        assert!(
            matches!(bound(spin, "").bound, Err(Unbounded::Loop { why, .. }) if why.contains("unconditional") || why.contains("single"))
        );
    }

    #[test]
    fn recursion_callees_and_changing_tables_are_named() {
        let never = bound("(call $f) (i32.const 0)", "(func $f (call $f))");
        assert_eq!(never.bound, Ok(None), "endless recursion never returns: {never:?}");
        let rec = bound(
            "(call $f (i32.const 3)) (i32.const 0)",
            "(func $f (param i32)
               (if (local.get 0) (then (call $f (i32.sub (local.get 0) (i32.const 1))))))",
        );
        assert!(matches!(rec.bound, Err(Unbounded::Callee { .. })), "{rec:?}");
        assert!(rec.functions.iter().any(|f| matches!(f.bound, Err(Unbounded::Recursion { .. }))));
        let table = bound(
            "(call_indirect (type $t) (i32.const 0)) (i32.const 0)",
            "(type $t (func)) (table 1 funcref) (elem (i32.const 0) $g) (func $g)
             (func (table.set (i32.const 0) (ref.func $g)))",
        );
        assert!(matches!(table.bound, Err(Unbounded::IndirectCall { .. })), "{table:?}");
        let fixed = bound(
            "(call_indirect (type $t) (i32.const 0)) (i32.const 0)",
            "(type $t (func)) (table 1 funcref) (elem (i32.const 0) $g) (func $g)",
        );
        assert!(fixed.bound.is_ok(), "{fixed:?}");
    }

    #[test]
    fn deep_nesting_long_bodies_wide_tables_and_dead_code_are_analysed() {
        let deep = format!("{}{}(i32.const 0)", "(block ".repeat(1_000), ")".repeat(1_000));
        assert!(matches!(bound(&deep, "").bound, Ok(Some(_))));
        // A loop after an unconditional branch is never entered: no bound is lost to it.
        let dead = "(block (br 0) (loop $l (br $l))) (i32.const 0)";
        assert!(matches!(bound(dead, "").bound, Ok(Some(_))), "{:?}", bound(dead, ""));
        // A counted loop too long to search is reported, not searched for ever.
        let long = format!(
            "(local $i i32) (loop $l {} (local.set $i (i32.add (local.get $i) (i32.const 1)))
               (br_if $l (i32.lt_u (local.get $i) (i32.const 3)))) (i32.const 0)",
            "(nop)".repeat(MAX_TRIP_SCAN + 10)
        );
        let b = bound(&long, "").bound;
        assert!(matches!(b, Err(Unbounded::Loop { why, .. }) if why.contains("too long")), "{b:?}");
        // A br_table to 5,000 labels out of 100 nested blocks.
        let targets = "0 ".repeat(5_000);
        let wide = format!(
            "{}(br_table {targets} 1 (i32.const 0)){}(i32.const 0)",
            "(block ".repeat(100),
            ")".repeat(100)
        );
        assert!(matches!(bound(&wide, "").bound, Ok(Some(_))));
    }

    #[test]
    fn trip_counts() {
        // do { i += 1 } while (i < 10), from 0: tests 1..=10, branches back 9 times.
        assert_eq!(turns(1, 1, 10, Cmp::LtU), Some(9));
        assert_eq!(turns(1, 1, 10, Cmp::Ne), Some(9));
        assert_eq!(turns(9, -1, 0, Cmp::GtS), Some(9));
        // while (i < 10) { i += 1 }, from 0: 10 turns.
        assert_eq!(turns(0, 1, 10, Cmp::LtU), Some(10));
        assert_eq!(turns(3, 3, 10, Cmp::Ne), None);
        assert_eq!(turns(1, 3, 10, Cmp::Ne), Some(3));
        assert_eq!(turns(1, -1, 10, Cmp::LtU), None);
        assert_eq!(turns(1, 1, i64::from(i32::MAX), Cmp::LeS), None);
        // Unsigned: -1 is the largest value, so `i <u -1` from 0 runs 2^32 - 1 times and
        // never wraps past the limit.
        assert_eq!(turns(0, 1, -1, Cmp::LtU), Some(u64::from(u32::MAX)));
        assert_eq!(turns(5, 1, 3, Cmp::LtS), Some(0));
    }
}
