//! Session checkpoints: the whole state of a replay between two tape events (books, each
//! strategy's venue and blotter, the strategies' sandboxes, the digests and the tape position),
//! so that a run stopped there and resumed reaches the digest of the straight run, on either
//! tier.
//!
//! Layout (little-endian): the magic `LSSESS\0\0`, the format version (u32), the body's length
//! (u64), the body, and the CRC-32 of the body. The body is the caller's metadata (e.g. the run
//! options), the tape header, the session's counters, the books, and per strategy its name,
//! parameters, the runner's own checkpoint bytes (the engine's, with the module's SHA-256),
//! its venue, its digests and its counters.

use crate::digest::Digest;
use crate::exchange::{Models, SimExchange};
use crate::market::{Contract, InstrumentInfo};
use crate::session::{Session, SessionConfig, Slot};
use crate::snap::{Reader, Snap, SnapError, snap_struct};
use crate::tape::TapeHeader;
use crate::view::MarketView;
use lockstep_sdk::{ActionRecord, StrategyRunner};
use std::fmt;

/// The session checkpoint format this build writes and reads.
pub const SESSION_CHECKPOINT_VERSION: u32 = 4;
const MAGIC: &[u8; 8] = b"LSSESS\0\0";

/// Why a session could not be checkpointed or resumed. Nothing running is touched.
#[derive(Debug)]
#[non_exhaustive]
pub enum ResumeError {
    /// A strategy whose state is not a sandbox's (a native build) cannot be checkpointed.
    NotCheckpointable {
        /// The strategy.
        strategy: String,
    },
    /// The bytes are not a session checkpoint.
    NotACheckpoint,
    /// A checkpoint of another format version.
    Version {
        /// The checkpoint's version.
        found: u32,
    },
    /// The checkpoint is cut short or its bytes were changed.
    Corrupt {
        /// What is wrong.
        detail: String,
    },
    /// The checkpoint belongs to another run.
    Mismatch {
        /// What differs, in words.
        what: String,
    },
    /// A strategy's own state could not be restored (the engine's error, in words).
    Strategy {
        /// The strategy.
        strategy: String,
        /// Why.
        message: String,
    },
}

impl fmt::Display for ResumeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResumeError::NotCheckpointable { strategy } => write!(
                f,
                "strategy `{strategy}` is a native build, whose state cannot be checkpointed; run it as WebAssembly (without --native)"
            ),
            ResumeError::NotACheckpoint => {
                write!(
                    f,
                    "not a session checkpoint (no LSSESS header); pass the file `replay run --checkpoint` wrote"
                )
            }
            ResumeError::Version { found } => write!(
                f,
                "session checkpoint format version {found}, this build reads version {SESSION_CHECKPOINT_VERSION}; resume it with the build that wrote it"
            ),
            ResumeError::Corrupt { detail } => {
                write!(f, "the session checkpoint is corrupt: {detail}; take it again")
            }
            ResumeError::Mismatch { what } => {
                write!(f, "the checkpoint belongs to another run: {what}")
            }
            ResumeError::Strategy { strategy, message } => {
                write!(f, "strategy `{strategy}` cannot be restored: {message}")
            }
        }
    }
}

impl std::error::Error for ResumeError {}

impl From<SnapError> for ResumeError {
    fn from(e: SnapError) -> Self {
        ResumeError::Corrupt { detail: e.to_string() }
    }
}

snap_struct!(Contract { multiplier, inverse });
snap_struct!(InstrumentInfo {
    id,
    symbol,
    venue,
    tick_size,
    price_scale,
    lot_size,
    contract,
    currency,
    time_zone
});
snap_struct!(TapeHeader { event_count, chunk_events, source, instruments, local_midnight });

/// One strategy as a checkpoint holds it.
#[derive(Debug)]
pub struct StrategyState {
    /// Its name.
    pub name: String,
    /// Its parameters.
    pub params: String,
    /// The runner's checkpoint (for an engine instance: `StrategyModule::restore`'s input).
    pub state: Vec<u8>,
    /// Its venue's snapshot, read when the session is rebuilt with the session's models.
    venue: Vec<u8>,
    rest: SlotRest,
}

/// The counters of a slot besides its runner and venue.
#[derive(Debug)]
struct SlotRest {
    wasm: bool,
    digest: Digest,
    seq: u64,
    events: u64,
    actions: u64,
    fuel_total: u64,
    fuel_max: (u64, u64),
    init_fuel: u64,
    init_actions: Vec<ActionRecord>,
    halted: Option<(u64, String)>,
    errors: u64,
}

snap_struct!(SlotRest {
    wasm,
    digest,
    seq,
    events,
    actions,
    fuel_total,
    fuel_max,
    init_fuel,
    init_actions,
    halted,
    errors
});
snap_struct!(StrategyState { name, params, state, venue, rest });

/// A decoded session checkpoint: read what it holds, restore each strategy's runner from
/// [`StrategyState::state`], then [`Session::from_checkpoint`].
#[derive(Debug)]
pub struct SessionCheckpoint {
    meta: Vec<u8>,
    header: TapeHeader,
    index: u64,
    last_t: i64,
    emitted: u64,
    book_digest: Option<Digest>,
    view: MarketView,
    strategies: Vec<StrategyState>,
}

snap_struct!(SessionCheckpoint {
    meta,
    header,
    index,
    last_t,
    emitted,
    book_digest,
    view,
    strategies
});

impl SessionCheckpoint {
    /// Reads checkpoint bytes.
    ///
    /// # Errors
    /// [`ResumeError::NotACheckpoint`], [`ResumeError::Version`] or
    /// [`ResumeError::Corrupt`] (truncated bytes, a CRC mismatch, an impossible value).
    pub fn decode(bytes: &[u8]) -> Result<Self, ResumeError> {
        if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
            return Err(ResumeError::NotACheckpoint);
        }
        let mut r = Reader::new(&bytes[MAGIC.len()..]);
        let found = u32::get(&mut r)?;
        if found != SESSION_CHECKPOINT_VERSION {
            return Err(ResumeError::Version { found });
        }
        let len = usize::get(&mut r)?;
        let body = r.take(len)?;
        let crc = u32::get(&mut r)?;
        if !r.is_empty() {
            return Err(ResumeError::Corrupt { detail: "bytes follow the checkpoint".into() });
        }
        if crc32fast::hash(body) != crc {
            return Err(ResumeError::Corrupt { detail: "CRC mismatch".into() });
        }
        let mut r = Reader::new(body);
        let ck = SessionCheckpoint::get(&mut r)?;
        if !r.is_empty() {
            return Err(ResumeError::Corrupt { detail: "bytes follow the state".into() });
        }
        Ok(ck)
    }

    /// The metadata the checkpoint was taken with ([`Session::checkpoint`]'s `meta`).
    pub fn meta(&self) -> &[u8] {
        &self.meta
    }

    /// Tape events the session had taken in.
    pub fn events(&self) -> u64 {
        self.index
    }

    /// The tape the session was fed from.
    pub fn header(&self) -> &TapeHeader {
        &self.header
    }

    /// The strategies, in session order.
    pub fn strategies(&self) -> &[StrategyState] {
        &self.strategies
    }
}

impl Session {
    /// The session's whole state between two tape events, with the caller's `meta` (e.g.
    /// the options it runs with), as [`SessionCheckpoint::decode`] reads it.
    ///
    /// # Errors
    /// [`ResumeError::NotCheckpointable`] for a strategy that cannot be (a native build).
    pub fn checkpoint(&mut self, meta: &[u8]) -> Result<Vec<u8>, ResumeError> {
        let mut body = Vec::new();
        // As a `Vec<u8>` reads it back: the length, then the bytes.
        meta.len().put(&mut body);
        body.extend_from_slice(meta);
        self.header.put(&mut body);
        self.index.put(&mut body);
        self.last_t.put(&mut body);
        self.emitted.put(&mut body);
        self.book_digest.put(&mut body);
        self.view.put(&mut body);
        self.slots.len().put(&mut body);
        let mut state = Vec::new();
        for slot in &mut self.slots {
            if !slot.runner.checkpoint(&mut state) {
                return Err(ResumeError::NotCheckpointable { strategy: slot.name.clone() });
            }
            let mut venue = Vec::new();
            slot.exch.snap(&mut venue);
            slot.name.put(&mut body);
            slot.params.put(&mut body);
            state.put(&mut body);
            venue.put(&mut body);
            slot_rest(slot).put(&mut body);
        }
        let mut out = Vec::with_capacity(body.len() + 24);
        out.extend_from_slice(MAGIC);
        SESSION_CHECKPOINT_VERSION.put(&mut out);
        body.len().put(&mut out);
        out.extend_from_slice(&body);
        crc32fast::hash(&body).put(&mut out);
        Ok(out)
    }

    /// The session `ck` holds, fed from a tape with `header`, with `runners` restored from
    /// its strategies' states (in order) and `cfg` (its exchange settings must be the
    /// checkpoint's; the tier may differ). Feed it the tape from its start: the events the
    /// checkpoint holds are skipped.
    ///
    /// # Errors
    /// [`ResumeError::Mismatch`] for another tape, other strategies or other exchange
    /// settings; [`ResumeError::Corrupt`] for a venue snapshot that does not read back.
    pub fn from_checkpoint(
        header: &TapeHeader,
        ck: SessionCheckpoint,
        runners: Vec<Box<dyn StrategyRunner>>,
        cfg: SessionConfig,
    ) -> Result<Self, ResumeError> {
        let mismatch = |what: String| Err(ResumeError::Mismatch { what });
        if *header != ck.header {
            return mismatch(format!(
                "it was taken on the tape from `{}` ({} events), not `{}` ({} events)",
                lockstep_sdk::untrusted(&ck.header.source),
                ck.header.event_count,
                lockstep_sdk::untrusted(&header.source),
                header.event_count
            ));
        }
        if runners.len() != ck.strategies.len() {
            return mismatch(format!(
                "it holds {} strategies, {} were given",
                ck.strategies.len(),
                runners.len()
            ));
        }
        let models = cfg.models.clone().unwrap_or_else(|| Models::from_config(&cfg.exchange));
        let mut slots = Vec::with_capacity(runners.len());
        for (s, runner) in ck.strategies.into_iter().zip(runners) {
            let mut r = Reader::new(&s.venue);
            let Some(exch) = SimExchange::unsnap(&mut r, &cfg.exchange, models.clone())? else {
                return mismatch(format!(
                    "strategy `{}` ran with other exchange settings (latency, fees or budgets); resume with the options it was taken with",
                    s.name
                ));
            };
            slots.push(slot_from(s.name, s.params, runner, exch, s.rest));
        }
        let n = header.instruments.len();
        if ck.view.books().len() != n || slots.iter().any(|s| s.exch.instruments() != n) {
            return Err(ResumeError::Corrupt {
                detail: format!("its books or venues do not hold the tape's {n} instruments"),
            });
        }
        let mut session = Session::from_runners(header, Vec::new(), cfg);
        session.slots = slots;
        session.view = ck.view;
        session.book_digest = ck.book_digest;
        session.emitted = ck.emitted;
        session.index = ck.index;
        session.last_t = ck.last_t;
        Ok(session)
    }
}

fn slot_rest(slot: &Slot) -> SlotRest {
    SlotRest {
        wasm: slot.wasm,
        digest: slot.digest.clone(),
        seq: slot.seq,
        events: slot.events,
        actions: slot.actions,
        fuel_total: slot.fuel_total,
        fuel_max: slot.fuel_max,
        init_fuel: slot.init_fuel,
        init_actions: slot.init_actions.clone(),
        halted: slot.halted.clone(),
        errors: slot.errors,
    }
}

fn slot_from(
    name: String,
    params: String,
    runner: Box<dyn StrategyRunner>,
    exch: SimExchange,
    r: SlotRest,
) -> Slot {
    Slot {
        name,
        params,
        wasm: r.wasm,
        runner,
        exch,
        digest: r.digest,
        seq: r.seq,
        events: r.events,
        actions: r.actions,
        fuel_total: r.fuel_total,
        fuel_max: r.fuel_max,
        init_fuel: r.init_fuel,
        init_actions: r.init_actions,
        halted: r.halted,
        errors: r.errors,
        observer: None,
    }
}
