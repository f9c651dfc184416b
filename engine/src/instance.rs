//! A running strategy on either tier: its guest, the regions it declared and the per-event
//! hot path.
//!
//! Hot path ([`Instance::on_event`]): copy the 64-byte event (and the book view when given)
//! into the guest's regions, set the fuel budget, call `lockstep_on_event`, copy the actions
//! out into a buffer allocated at instantiation. No allocation, no lock, no clock.

use crate::backend::BackendGuest as _;
use crate::checkpoint::{self, CheckpointError, State};
use crate::config::{Config, Fuel};
use crate::error::{Error, GuestStatus, Phase};
use crate::guest::Entry;
use crate::module::StrategyModule;
use crate::tier::{Guest, on_guest};
use lockstep_sdk::{
    ABI_VERSION, ACTION_SIZE, ActionRecord, BOOK_SIZE, BookRecord, DispatchError, EVENT_SIZE,
    EventRecord, Regions, RunError, Step, StrategyRunner, status,
};

impl StrategyModule {
    /// Instantiates the module and runs `lockstep_init(params)`.
    ///
    /// # Errors
    /// [`Error::ParamsTooLong`], [`Error::InitRejected`] with the strategy's message, or any
    /// runtime error during init (fuel, trap, panic, memory limit).
    pub fn instantiate(&self, params: &str) -> Result<Instance, Error> {
        Instance::new(self, params)
    }

    /// Restores an instance from bytes of [`Instance::checkpoint`], taken on either tier: a
    /// fresh guest of this module gets the checkpoint's memory, mutable globals and halted
    /// state; `lockstep_init` does not run again.
    ///
    /// # Errors
    /// [`Error::Checkpoint`] for bytes that are not a checkpoint, another format version,
    /// truncated or corrupt bytes, another module, or more memory than this engine allows; an
    /// [`Error::AbiVersion`] for a checkpoint of another ABI. Nothing running is touched.
    pub fn restore(&self, checkpoint: &[u8]) -> Result<Instance, Error> {
        Instance::restore(self, checkpoint)
    }

    /// Hot swap: prepares this module, a new version of the strategy, to take over from
    /// `running` (an instance of the old version, on either tier). Switch by putting the
    /// result in `running`'s place between two events: no event is lost or seen twice.
    ///
    /// - [`Handover::Fresh`] starts the new version with `lockstep_init(params)`; prepare it
    ///   ahead and the switch itself costs nothing.
    /// - [`Handover::Migrate`] carries the old version's state over: a guest of this module
    ///   gets `running`'s memory, mutable globals and halted state (as a checkpoint restores
    ///   them), then this module's `lockstep_migrate(from)` runs under the init fuel budget,
    ///   `from` being the old version's `lockstep_state_version()` (0 when it has none). It
    ///   accepts with the number of actions it wrote (as init does) or refuses with a negative
    ///   length and a message in the params region. Do it at the boundary, so that the state
    ///   taken over is the latest.
    ///
    /// # Errors
    /// [`Error::MigrationRefused`] (no `lockstep_migrate`, other mutable globals, or the
    /// migration said no), a trap, panic or [`Error::OutOfFuel`] in `lockstep_migrate`
    /// ([`Phase::Migrate`]), or what [`StrategyModule::instantiate`] returns. In every case
    /// `running` is untouched and goes on.
    pub fn take_over(&self, running: &mut Instance, how: Handover<'_>) -> Result<Instance, Error> {
        match how {
            Handover::Fresh { params } => self.instantiate(params),
            Handover::Migrate => {
                if !self.migrates {
                    return Err(Error::MigrationRefused {
                        reason: "the new version exports no lockstep_migrate, so it does not \
                                 declare that it can take over a running version's state"
                            .into(),
                    });
                }
                if running.halted {
                    return Err(Error::MigrationRefused {
                        reason: "the running version has halted; its state is not one to carry \
                                 over"
                            .into(),
                    });
                }
                let from = running.state_version()?;
                let bytes = running.checkpoint();
                let image = checkpoint::read(&bytes).map_err(Error::Checkpoint)?;
                let mut next = Instance::from_image(self, &image, true)?;
                next.migrate(self, from)?;
                Ok(next)
            }
        }
    }
}

/// How a new version of a strategy takes over at a hot swap ([`StrategyModule::take_over`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Handover<'a> {
    /// Start afresh with `lockstep_init(params)`; the old version's state is dropped.
    Fresh {
        /// The new version's parameters.
        params: &'a str,
    },
    /// Carry the old version's state over through the new version's `lockstep_migrate`.
    Migrate,
}

/// One strategy, instantiated: takes events, yields actions, reports the fuel each event used.
pub struct Instance {
    guest: Guest,
    regions: Regions,
    actions: Box<[ActionRecord]>,
    len: usize,
    last_fuel: Fuel,
    budget: u64,
    halted: bool,
    /// The module's SHA-256, written into checkpoints.
    module: [u8; 32],
    /// Scratch for the globals' values while checkpointing.
    globals: Vec<(crate::instrument::MutableGlobal, u64)>,
}

impl std::fmt::Debug for Instance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Instance")
            .field("regions", &self.regions)
            .field("last_fuel", &self.last_fuel)
            .field("halted", &self.halted)
            .finish_non_exhaustive()
    }
}

impl Instance {
    pub(crate) fn new(module: &StrategyModule, params: &str) -> Result<Self, Error> {
        let config: &Config = &module.engine.config;
        let (mut guest, regions) = module.linked()?;
        if params.len() > regions.params_cap as usize {
            return Err(Error::ParamsTooLong { len: params.len(), cap: regions.params_cap });
        }
        let at = regions.params_ptr as usize;
        // The params region was checked to lie inside memory.
        on_guest!(&mut guest, g => g.memory_mut()[at..at + params.len()]
            .copy_from_slice(params.as_bytes()));
        let (rc, used) = on_guest!(&mut guest, g =>
            g.call(Entry::Init, params.len() as i32, config.init_fuel.0, Phase::Init));
        let rc = rc?;
        if rc < 0 {
            let n = (rc.unsigned_abs() as usize).min(regions.params_cap as usize);
            let msg = on_guest!(&guest, g => String::from_utf8_lossy(&g.memory()[at..at + n])
                .into_owned());
            return Err(Error::InitRejected { message: msg });
        }
        let mut this = Self {
            guest,
            actions: vec![ActionRecord::zeroed(); regions.action_cap as usize].into_boxed_slice(),
            regions,
            len: 0,
            last_fuel: Fuel(used),
            budget: config.fuel_per_event.0,
            halted: false,
            module: module.sha256,
            globals: Vec::with_capacity(module.globals.len()),
        };
        this.collect(rc, Phase::Init)?;
        Ok(this)
    }

    /// A fresh guest of `module` carrying a checkpoint's state.
    fn restore(module: &StrategyModule, bytes: &[u8]) -> Result<Self, Error> {
        let image = checkpoint::read(bytes).map_err(Error::Checkpoint)?;
        if image.module != module.sha256 {
            return Err(Error::Checkpoint(CheckpointError::OtherModule {
                expected: checkpoint::hex(&module.sha256),
                found: checkpoint::hex(&image.module),
            }));
        }
        Self::from_image(module, &image, false)
    }

    /// A fresh guest of `module` with `image`'s memory, globals and halted state; `migrating`:
    /// the image is another version's (its globals must have the same shape).
    fn from_image(
        module: &StrategyModule,
        image: &checkpoint::Image<'_>,
        migrating: bool,
    ) -> Result<Self, Error> {
        let config: &Config = &module.engine.config;
        if !crate::tier::supported(i64::from(image.abi_version)) {
            let found = i64::from(image.abi_version);
            return Err(Error::AbiVersion { found, expected: ABI_VERSION });
        }
        let limit = config.memory_bytes();
        if image.memory_size > limit as u64 {
            return Err(Error::Checkpoint(CheckpointError::MemoryTooLarge {
                bytes: image.memory_size,
                limit,
            }));
        }
        let corrupt =
            |reason: &str| Error::Checkpoint(CheckpointError::Corrupt { reason: reason.into() });
        if !image.globals.iter().map(|(g, _)| g).eq(module.globals.iter()) {
            if migrating {
                return Err(Error::MigrationRefused {
                    reason: format!(
                        "the old version has {} mutable globals and the new one {}, not of the \
                         same indices and types: its state cannot be carried over",
                        image.globals.len(),
                        module.globals.len()
                    ),
                });
            }
            return Err(corrupt("its globals are not the module's"));
        }
        let (mut guest, regions) = module.linked()?;
        let size = image.memory_size as usize;
        on_guest!(&mut guest, g => {
            if size < g.memory().len() {
                return Err(corrupt("its memory is smaller than the module's minimum"));
            }
            g.grow_to(size)?;
            let memory = g.memory_mut();
            let (stored, rest) = memory.split_at_mut(image.memory.len());
            stored.copy_from_slice(image.memory);
            rest.fill(0);
            for (i, (_, bits)) in image.globals.iter().enumerate() {
                g.write_global(i, *bits)?;
            }
        });
        Ok(Self {
            guest,
            actions: vec![ActionRecord::zeroed(); regions.action_cap as usize].into_boxed_slice(),
            regions,
            len: 0,
            last_fuel: Fuel(0),
            budget: config.fuel_per_event.0,
            halted: image.halted,
            module: module.sha256,
            globals: Vec::with_capacity(module.globals.len()),
        })
    }

    /// The version of its state's layout the strategy declares (`lockstep_state_version`, 0
    /// when it exports none), for a successor's `lockstep_migrate`.
    ///
    /// # Errors
    /// A trap, panic or [`Error::OutOfFuel`] in the export ([`Phase::Migrate`]).
    pub fn state_version(&mut self) -> Result<i32, Error> {
        let budget = self.budget;
        let (rc, _) = on_guest!(&mut self.guest, g =>
            g.call(Entry::StateVersion, 0, budget, Phase::Migrate));
        rc
    }

    /// Runs the new version's `lockstep_migrate(from)` on the state carried over.
    fn migrate(&mut self, module: &StrategyModule, from: i32) -> Result<(), Error> {
        let fuel = module.engine.config.init_fuel.0;
        let (rc, used) =
            on_guest!(&mut self.guest, g => g.call(Entry::Migrate, from, fuel, Phase::Migrate));
        let rc = rc?;
        self.last_fuel = Fuel(used);
        if rc < 0 {
            let at = self.regions.params_ptr as usize;
            let n = (rc.unsigned_abs() as usize).min(self.regions.params_cap as usize);
            let msg = on_guest!(&self.guest, g => String::from_utf8_lossy(&g.memory()[at..at + n])
                .into_owned());
            return Err(Error::MigrationRefused {
                reason: format!("its lockstep_migrate({from}) refused: {msg}"),
            });
        }
        self.collect(rc, Phase::Migrate)
    }

    /// What the instance holds now (after init, for [`crate::bound_after_init`]): its memory,
    /// its mutable globals and the records the host writes before each event.
    pub fn init_image(&mut self) -> crate::InitImage {
        let mut globals = std::mem::take(&mut self.globals);
        on_guest!(&mut self.guest, g => g.read_globals(&mut globals));
        let memory = on_guest!(&self.guest, g => g.memory()).to_vec();
        let image = crate::InitImage {
            memory,
            globals: globals.iter().map(|(g, bits)| (g.index, *bits)).collect(),
            host_written: vec![
                self.regions.event_ptr..self.regions.event_ptr.saturating_add(EVENT_SIZE as u32),
                self.regions.book_ptr..self.regions.book_ptr.saturating_add(BOOK_SIZE as u32),
            ],
        };
        self.globals = globals;
        image
    }

    /// The strategy's whole state as versioned bytes (see `engine/ABI.md`, "Checkpoints"): the
    /// module's SHA-256, the ABI version, linear memory, mutable globals and the halted state.
    /// Take it between events; [`StrategyModule::restore`] restores it on either tier.
    pub fn checkpoint(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        self.checkpoint_into(&mut out);
        out
    }

    /// [`Instance::checkpoint`] into `out` (cleared first), reusing its capacity.
    pub fn checkpoint_into(&mut self, out: &mut Vec<u8>) {
        let mut globals = std::mem::take(&mut self.globals);
        on_guest!(&mut self.guest, g => g.read_globals(&mut globals));
        let memory = on_guest!(&self.guest, g => g.memory());
        let state = State {
            abi_version: self.regions.abi_version,
            module: &self.module,
            halted: self.halted,
            memory,
            globals: &globals,
        };
        checkpoint::write(&state, out);
        self.globals = globals;
    }

    /// Handles one event: writes it (and `book`, when given) into the guest and returns the
    /// actions it emitted. The slice stays valid until the next call.
    ///
    /// # Errors
    /// [`Error::OutOfFuel`], [`Error::Trap`], [`Error::GuestPanic`], [`Error::MemoryLimit`] or
    /// [`Error::Guest`] naming the event's sequence number; all but a host-side bad event halt
    /// the instance, after which every call returns [`Error::Halted`].
    #[inline]
    pub fn on_event(
        &mut self,
        ev: &EventRecord,
        book: Option<&BookRecord>,
    ) -> Result<&[ActionRecord], Error> {
        let seq = ev.seq();
        if self.halted {
            self.last_fuel = Fuel(0);
            return Err(Error::Halted { seq });
        }
        self.len = 0;
        let r = self.regions;
        let phase = Phase::Event(seq);
        let (result, used) = on_guest!(&mut self.guest, g => {
            let mem = g.memory_mut();
            // Regions were checked to lie inside memory at instantiation, and memory never
            // shrinks.
            if let Some(dst) =
                mem.get_mut(r.event_ptr as usize..r.event_ptr as usize + EVENT_SIZE)
            {
                dst.copy_from_slice(&ev.0);
            }
            if let Some(b) = book
                && let Some(dst) =
                    mem.get_mut(r.book_ptr as usize..r.book_ptr as usize + BOOK_SIZE)
            {
                dst.copy_from_slice(&b.0);
            }
            g.call(Entry::OnEvent, 0, self.budget, phase)
        });
        self.last_fuel = Fuel(used);
        match result {
            Ok(rc) => {
                let out = self.collect(rc, phase);
                if let Err(e) = &out {
                    let e = match e {
                        Error::Guest {
                            error: GuestStatus::Dispatch(DispatchError::BadEvent(_)),
                            ..
                        } => match ev.decode() {
                            Err(abi) => Error::Guest {
                                phase,
                                error: GuestStatus::Dispatch(DispatchError::BadEvent(abi)),
                            },
                            Ok(_) => e.clone(),
                        },
                        other => other.clone(),
                    };
                    self.halted = e.halts();
                    return Err(e);
                }
                Ok(&self.actions[..self.len])
            }
            Err(e) => {
                self.halted = true;
                Err(e)
            }
        }
    }

    /// Copies `rc` action records out of the guest, or maps a negative status to an error.
    fn collect(&mut self, rc: i32, phase: Phase) -> Result<(), Error> {
        let cap = self.regions.action_cap;
        if rc < 0 {
            let d = match rc {
                status::ACTION_OVERFLOW => DispatchError::ActionOverflow { cap: cap as usize },
                status::NOT_INITIALIZED => DispatchError::NotInitialized,
                status::BAD_EVENT => {
                    DispatchError::BadEvent(lockstep_sdk::AbiError::UnknownKind(0))
                }
                other => {
                    return Err(Error::Guest { phase, error: GuestStatus::UnknownStatus(other) });
                }
            };
            return Err(Error::Guest { phase, error: GuestStatus::Dispatch(d) });
        }
        if rc as u32 > cap {
            return Err(Error::Guest {
                phase,
                error: GuestStatus::TooManyActions { count: rc, cap },
            });
        }
        let n = rc as usize;
        self.len = n;
        if n == 0 {
            return Ok(());
        }
        let start = self.regions.action_ptr as usize;
        let mem = on_guest!(&self.guest, g => g.memory());
        let Some(src) = mem.get(start..start + n * ACTION_SIZE) else {
            self.len = 0;
            return Err(Error::BadRegions { reason: "action region left memory".into() });
        };
        for (dst, chunk) in self.actions.iter_mut().zip(src.chunks_exact(ACTION_SIZE)) {
            dst.0.copy_from_slice(chunk);
        }
        Ok(())
    }

    /// Actions from the last call (init right after instantiation, then the last event).
    pub fn actions(&self) -> &[ActionRecord] {
        &self.actions[..self.len]
    }

    /// Fuel the last call used: deterministic, identical on every machine for one tier.
    pub fn last_fuel(&self) -> Fuel {
        self.last_fuel
    }

    /// The fuel profile gathered since instantiation or the last take, and a fresh one started;
    /// `None` unless the engine profiles ([`Config::fuel_profile`]). The first take holds the
    /// start function's and `lockstep_init`'s fuel; take it right after instantiation to keep
    /// them apart from the events'.
    pub fn take_fuel_profile(&mut self) -> Option<crate::profile::FuelProfile> {
        on_guest!(&mut self.guest, g => g.report().profile.as_mut().map(std::mem::take))
    }

    /// Whether an error has halted this instance.
    pub fn is_halted(&self) -> bool {
        self.halted
    }

    /// The region descriptor the guest declared.
    pub fn regions(&self) -> Regions {
        self.regions
    }

    /// Bytes of preallocated linear memory backing this instance.
    pub fn memory_capacity(&self) -> usize {
        on_guest!(&self.guest, g => g.capacity())
    }

    /// Current linear memory size in bytes.
    pub fn memory_size(&self) -> usize {
        on_guest!(&self.guest, g => g.memory().len())
    }
}

/// An instance is a runner for any harness: the actions and fuel of each event together, a
/// failure as the SDK's [`RunError`] with this engine's stable code.
impl StrategyRunner for Instance {
    #[inline]
    fn on_event(
        &mut self,
        ev: &EventRecord,
        book: Option<&BookRecord>,
    ) -> Result<Step<'_>, RunError> {
        match Instance::on_event(self, ev, book).map(<[ActionRecord]>::len) {
            Ok(n) => Ok(Step { actions: &self.actions[..n], fuel: Some(self.last_fuel.0) }),
            Err(e) => Err(RunError::from(e).with_fuel(self.last_fuel.0)),
        }
    }

    fn actions(&self) -> &[ActionRecord] {
        Instance::actions(self)
    }

    fn checkpoint(&mut self, out: &mut Vec<u8>) -> bool {
        self.checkpoint_into(out);
        true
    }

    fn abi_version(&self) -> u32 {
        self.regions.abi_version
    }
}
