//! Pinned workers: a thread on a chosen core with its own [`Engine`], fed through preallocated
//! lock-free single-producer/single-consumer rings.
//!
//! The producer (a feed handler) pushes [`Feed`] items; the worker runs every strategy on each
//! one, in a fixed order, and pushes [`Output`] items back. Both rings are allocated once at
//! spawn; steady-state operation allocates nothing. On an isolated core (`isolcpus`,
//! `nohz_full`) with busy polling the worker never sleeps and never migrates.

use crate::config::{Config, Fuel};
use crate::engine::Engine;
use crate::error::Error;
use crate::sys;
use lockstep_sdk::{ActionRecord, BookRecord, EventRecord, RunError, StrategyRunner};
use std::sync::mpsc;
use std::thread::JoinHandle;

/// One item of input: an event and, for book events, the L2 view.
#[derive(Clone, Copy, Debug)]
pub struct Feed {
    /// The event.
    pub event: EventRecord,
    /// The book view to copy in first, if any.
    pub book: Option<BookRecord>,
}

/// One item of output, in order: a strategy's actions for an event, then its `Done` (or
/// `Failed`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Output {
    /// One action emitted by strategy `strategy` for the event in progress.
    Action {
        /// Index of the strategy in the worker's list.
        strategy: usize,
        /// The action.
        action: ActionRecord,
    },
    /// Strategy `strategy` finished event `seq`.
    Done {
        /// Index of the strategy.
        strategy: usize,
        /// Event sequence number.
        seq: u64,
        /// Fuel used (None for native runners).
        fuel: Option<Fuel>,
        /// How many `Action` items preceded this.
        actions: u32,
    },
    /// Strategy `strategy` failed on event `seq` (it is halted unless the error says otherwise).
    Failed {
        /// Index of the strategy.
        strategy: usize,
        /// Event sequence number.
        seq: u64,
        /// What went wrong: the stable code (see [`Error::code`]), whether it halts, the message.
        error: RunError,
    },
}

/// Where and how a worker runs.
#[derive(Clone, Debug)]
pub struct WorkerConfig {
    core: Option<usize>,
    ring_capacity: usize,
    lock_memory: bool,
    busy_poll: bool,
    engine: Config,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            core: None,
            ring_capacity: 4096,
            lock_memory: false,
            busy_poll: true,
            engine: Config::default(),
        }
    }
}

impl WorkerConfig {
    /// Defaults: unpinned, 4096-slot rings, no mlock, busy polling, default engine config.
    pub fn new() -> Self {
        Self::default()
    }
    /// Pin the worker to this core (checked with `sched_getcpu`). Default: not pinned.
    pub fn core(&mut self, core: usize) -> &mut Self {
        self.core = Some(core);
        self
    }
    /// Slots in each ring; input beyond this is refused with [`Error::RingFull`]. Default: 4096.
    pub fn ring_capacity(&mut self, slots: usize) -> &mut Self {
        self.ring_capacity = slots.max(1);
        self
    }
    /// `mlockall` the process from the worker so no page of it can be swapped out. Default: off.
    /// Failure is reported in [`WorkerInfo::memory_locked`], not fatal.
    pub fn lock_memory(&mut self, yes: bool) -> &mut Self {
        self.lock_memory = yes;
        self
    }
    /// Spin while idle (lowest latency, burns the core) instead of yielding. Default: on.
    pub fn busy_poll(&mut self, yes: bool) -> &mut Self {
        self.busy_poll = yes;
        self
    }
    /// The engine configuration for this worker's own [`Engine`]. Default: `Config::default()`.
    pub fn engine(&mut self, config: Config) -> &mut Self {
        self.engine = config;
        self
    }
}

/// What the worker found when it started.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkerInfo {
    /// The core requested.
    pub core: Option<usize>,
    /// The CPU `sched_getcpu` reported after pinning.
    pub cpu: Option<usize>,
    /// Result of `mlockall` when requested: `None` if not requested.
    pub memory_locked: Option<Result<(), String>>,
}

/// A running worker thread. Dropping it stops the thread.
pub struct Worker {
    input: Option<rtrb::Producer<Feed>>,
    output: rtrb::Consumer<Output>,
    handle: Option<JoinHandle<()>>,
    info: WorkerInfo,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker").field("info", &self.info).finish_non_exhaustive()
    }
}

type Setup = Box<dyn FnOnce(&Engine) -> Result<Vec<Box<dyn StrategyRunner>>, Error> + Send>;

impl Worker {
    /// Starts a worker: pins it, builds its engine, then calls `setup` on the worker thread to
    /// load and instantiate its strategies (modules compile against the worker's own engine).
    ///
    /// # Errors
    /// [`Error::Pinning`] if the core does not exist or the OS refuses; whatever `setup` returns.
    pub fn spawn(
        config: &WorkerConfig,
        setup: impl FnOnce(&Engine) -> Result<Vec<Box<dyn StrategyRunner>>, Error> + Send + 'static,
    ) -> Result<Self, Error> {
        if let Some(core) = config.core {
            let cores = core_affinity::get_core_ids().unwrap_or_default();
            if !cores.iter().any(|c| c.id == core) {
                let ids: Vec<usize> = cores.iter().map(|c| c.id).collect();
                return Err(Error::Pinning {
                    core,
                    reason: format!("no such core; this process may use cores {ids:?}"),
                });
            }
        }
        let (in_tx, in_rx) = rtrb::RingBuffer::<Feed>::new(config.ring_capacity);
        let (out_tx, out_rx) = rtrb::RingBuffer::<Output>::new(config.ring_capacity * 4);
        let (ready_tx, ready_rx) = mpsc::channel::<Result<WorkerInfo, Error>>();
        let cfg = config.clone();
        let setup: Setup = Box::new(setup);
        let handle = std::thread::Builder::new()
            .name(match cfg.core {
                Some(c) => format!("lockstep-core{c}"),
                None => "lockstep-worker".into(),
            })
            // Compiled guests run on this thread's stack: room for their limit plus the host.
            .stack_size(cfg.engine.compiled_stack_bytes.saturating_add(1 << 20).max(2 << 20))
            .spawn(move || {
                let info = match start(&cfg) {
                    Ok(info) => info,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                let engine = match Engine::try_new(&cfg.engine) {
                    Ok(engine) => engine,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                let runners = match setup(&engine) {
                    Ok(r) => r,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                let _ = ready_tx.send(Ok(info));
                run(in_rx, out_tx, runners, cfg.busy_poll);
            })
            .map_err(|e| Error::Pinning {
                core: config.core.unwrap_or(0),
                reason: e.to_string(),
            })?;
        let info = ready_rx.recv().map_err(|_| Error::WorkerGone)??;
        Ok(Self { input: Some(in_tx), output: out_rx, handle: Some(handle), info })
    }

    /// What the worker found at start (core, verified CPU, mlock result).
    pub fn info(&self) -> &WorkerInfo {
        &self.info
    }

    /// Queues one event without blocking.
    ///
    /// # Errors
    /// [`Error::RingFull`] when the worker is behind; [`Error::WorkerGone`] if it stopped.
    pub fn submit(&mut self, event: &EventRecord, book: Option<&BookRecord>) -> Result<(), Error> {
        let input = self.input.as_mut().ok_or(Error::WorkerGone)?;
        if input.is_abandoned() {
            return Err(Error::WorkerGone);
        }
        input.push(Feed { event: *event, book: book.copied() }).map_err(|_| Error::RingFull)
    }

    /// Takes the next output item, if one is ready.
    pub fn poll(&mut self) -> Option<Output> {
        self.output.pop().ok()
    }

    /// Whether the worker thread has stopped (its output ring was abandoned).
    pub fn is_finished(&self) -> bool {
        self.output.is_abandoned()
    }

    /// Stops input, lets the worker drain what was queued, and collects every remaining output.
    pub fn finish(mut self) -> Vec<Output> {
        self.input = None;
        let mut rest = Vec::new();
        loop {
            match self.output.pop() {
                Ok(o) => rest.push(o),
                Err(_) if self.output.is_abandoned() => {
                    while let Ok(o) = self.output.pop() {
                        rest.push(o);
                    }
                    break;
                }
                Err(_) => std::thread::yield_now(),
            }
        }
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
        rest
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.input = None;
        if let Some(h) = self.handle.take() {
            // Drain so a worker blocked on a full output ring can see the input is gone.
            while !h.is_finished() {
                while self.output.pop().is_ok() {}
                std::thread::yield_now();
            }
            let _ = h.join();
        }
    }
}

/// Pins the calling thread to `core` and waits until the scheduler has moved it there;
/// returns the CPU it then runs on. The one pinning helper: workers, `replay --core`,
/// latency-lab's measurement threads and the benches all pin through it.
///
/// # Errors
/// [`Error::Pinning`] when the OS refuses the affinity (no such core, a cpuset or container
/// limit) or the thread is still elsewhere after it was set.
pub fn pin_current_thread(core: usize) -> Result<usize, Error> {
    if !core_affinity::set_for_current(core_affinity::CoreId { id: core }) {
        return Err(Error::Pinning {
            core,
            reason:
                "the OS refused sched_setaffinity (no such core, or cpuset or container limits?)"
                    .into(),
        });
    }
    // The scheduler moves the thread at its next opportunity; give it a few.
    let mut cpu = None;
    for _ in 0..100 {
        cpu = sys::current_cpu();
        if cpu == Some(core) {
            return Ok(core);
        }
        std::thread::yield_now();
    }
    match cpu {
        // Platforms without sched_getcpu: the affinity was accepted; trust it.
        None => Ok(core),
        Some(other) => Err(Error::Pinning {
            core,
            reason: format!("affinity was set but sched_getcpu reports CPU {other}"),
        }),
    }
}

/// Pins, verifies and optionally locks memory, on the worker thread.
fn start(cfg: &WorkerConfig) -> Result<WorkerInfo, Error> {
    let cpu = match cfg.core {
        Some(core) => Some(pin_current_thread(core)?),
        None => None,
    };
    let memory_locked = cfg.lock_memory.then(sys::lock_all_memory);
    Ok(WorkerInfo { core: cfg.core, cpu, memory_locked })
}

fn push(out: &mut rtrb::Producer<Output>, mut item: Output) -> bool {
    loop {
        match out.push(item) {
            Ok(()) => return true,
            Err(rtrb::PushError::Full(back)) => {
                if out.is_abandoned() {
                    return false;
                }
                item = back;
                std::hint::spin_loop();
            }
        }
    }
}

fn run(
    mut input: rtrb::Consumer<Feed>,
    mut out: rtrb::Producer<Output>,
    mut runners: Vec<Box<dyn StrategyRunner>>,
    busy_poll: bool,
) {
    loop {
        let feed = match input.pop() {
            Ok(f) => f,
            Err(_) if input.is_abandoned() => return,
            Err(_) => {
                if busy_poll {
                    std::hint::spin_loop();
                } else {
                    std::thread::yield_now();
                }
                continue;
            }
        };
        let seq = feed.event.seq();
        for (strategy, r) in runners.iter_mut().enumerate() {
            let item = match r.on_event(&feed.event, feed.book.as_ref()) {
                Ok(step) => {
                    let n = step.actions.len() as u32;
                    for action in step.actions {
                        if !push(&mut out, Output::Action { strategy, action: *action }) {
                            return;
                        }
                    }
                    Output::Done { strategy, seq, fuel: step.fuel.map(Fuel), actions: n }
                }
                Err(error) => Output::Failed { strategy, seq, error },
            };
            if !push(&mut out, item) {
                return;
            }
        }
    }
}
