//! Strategy checkpoints beside the journals, and the runner that brings a strategy back from
//! one after a crash.
//!
//! Every `--checkpoint-every` market events (or seconds), at an input boundary, the gateway
//! writes each strategy's engine checkpoint to `DIR/<journal name>.ckpt` (atomically: a
//! temporary file renamed over the last one) with the number of journal records it follows.
//! A recovery plays the input log back through the core as before, but a strategy with a
//! checkpoint is not run for the records the checkpoint covers: [`Recovering`] answers them
//! from the old journal (checking that each input is the journaled one), then restores the
//! strategy from its checkpoint and hands over to it, so only the tail runs in the sandbox.
//!
//! File layout (little-endian): magic `LOCKSTEP-GWCKPT\0`, format version (u32), journal
//! records covered (u64, the init record included), state length (u64), the engine
//! checkpoint, CRC-32 of everything before it.

use crate::journal::JournalCursor;
use lockstep_sdk::{ActionRecord, BookRecord, EventRecord, RunError, Step, StrategyRunner};
use std::path::Path;

const MAGIC: &[u8; 16] = b"LOCKSTEP-GWCKPT\0";
/// The code a strategy halts with when its recovery parts from its journal (the gateway's
/// own family, 0x20).
pub const RECOVERY_DIVERGED: u16 = 0x2001;
const VERSION: u32 = 1;

/// Restores a strategy from its engine checkpoint (the module it was taken from).
pub type RestoreFn = Box<dyn FnMut(&[u8]) -> Result<Box<dyn StrategyRunner>, String> + Send>;

/// Writes a strategy checkpoint to `path`, atomically.
///
/// # Errors
/// The file system's.
pub(crate) fn write(path: &Path, records: u64, state: &[u8]) -> std::io::Result<()> {
    let mut b = Vec::with_capacity(state.len() + 40);
    b.extend_from_slice(MAGIC);
    b.extend_from_slice(&VERSION.to_le_bytes());
    b.extend_from_slice(&records.to_le_bytes());
    b.extend_from_slice(&(state.len() as u64).to_le_bytes());
    b.extend_from_slice(state);
    b.extend_from_slice(&crc32fast::hash(&b).to_le_bytes());
    let tmp = path.with_extension("ckpt.tmp");
    std::fs::write(&tmp, &b)?;
    std::fs::rename(&tmp, path)
}

/// Reads a strategy checkpoint: the journal records it covers and the engine checkpoint.
///
/// # Errors
/// What is wrong with the file, in words.
pub(crate) fn read(path: &Path) -> Result<(u64, Vec<u8>), String> {
    let b = std::fs::read(path).map_err(|e| format!("cannot read it: {e}"))?;
    let n = b.len();
    if n < 40 || &b[..16] != MAGIC {
        return Err("not a gateway strategy checkpoint".into());
    }
    let u64_at = |at: usize| u64::from_le_bytes(b[at..at + 8].try_into().unwrap_or([0; 8]));
    let version = u32::from_le_bytes(b[16..20].try_into().unwrap_or([0; 4]));
    if version != VERSION {
        return Err(format!("format version {version}; this build reads {VERSION}"));
    }
    if crc32fast::hash(&b[..n - 4]).to_le_bytes() != b[n - 4..] {
        return Err("its CRC-32 does not match (cut short or changed)".into());
    }
    let (records, len) = (u64_at(20), u64_at(28));
    if len != (n - 40) as u64 {
        return Err(format!("it declares {len} bytes of state and holds {}", n - 40));
    }
    Ok((records, b[36..n - 4].to_vec()))
}

/// A strategy coming back after a crash: answers the inputs its checkpoint covers from the
/// old journal, then runs the strategy restored from the checkpoint.
pub(crate) struct Recovering {
    entries: JournalCursor<Box<dyn std::io::Read + Send>>,
    left: usize,
    state: Vec<u8>,
    restore: Option<RestoreFn>,
    runner: Box<dyn StrategyRunner>,
    actions: Vec<ActionRecord>,
}

impl Recovering {
    /// `runner` started afresh; `entries` the journal after its init record, of which the
    /// next `covered` records are answered from it before `restore(state)` takes over.
    pub(crate) fn new(
        runner: Box<dyn StrategyRunner>,
        entries: JournalCursor<Box<dyn std::io::Read + Send>>,
        covered: usize,
        state: Vec<u8>,
        restore: RestoreFn,
    ) -> Self {
        let left = covered;
        Self { entries, left, state, restore: Some(restore), runner, actions: Vec::new() }
    }

    fn diverged(why: String) -> RunError {
        RunError::new(RECOVERY_DIVERGED, true, why)
    }
}

impl StrategyRunner for Recovering {
    fn on_event(
        &mut self,
        ev: &EventRecord,
        book: Option<&BookRecord>,
    ) -> Result<Step<'_>, RunError> {
        if self.left == 0 {
            return self.runner.on_event(ev, book);
        }
        self.left -= 1;
        let e = match self.entries.next_entry() {
            Ok(Some(e)) => e,
            Ok(None) => {
                return Err(Self::diverged(
                    "recovery: the journal ends before the records its checkpoint covers".into(),
                ));
            }
            Err(e) => return Err(Self::diverged(format!("recovery: the old journal: {e}"))),
        };
        if e.event != *ev || e.book.as_ref() != book {
            return Err(Self::diverged(format!(
                "recovery: input seq {} is not the one the journal holds; the input log and the journal disagree",
                ev.seq()
            )));
        }
        if self.left == 0
            && let Some(mut restore) = self.restore.take()
        {
            self.runner = restore(&self.state).map_err(|why| {
                Self::diverged(format!(
                    "recovery: the strategy's checkpoint cannot be restored: {why}"
                ))
            })?;
            self.state = Vec::new();
        }
        self.actions = e.actions;
        if e.error != 0 {
            let halts = e.error
                != RunError::dispatch_code(&lockstep_sdk::DispatchError::BadEvent(
                    lockstep_sdk::AbiError::UnknownKind(0),
                ));
            return Err(
                RunError::new(e.error, halts, "as journaled before the crash").with_fuel(e.fuel)
            );
        }
        Ok(Step { actions: &self.actions, fuel: Some(e.fuel) })
    }

    fn actions(&self) -> &[ActionRecord] {
        if self.left == 0 && self.restore.is_none() { self.runner.actions() } else { &self.actions }
    }

    fn abi_version(&self) -> u32 {
        self.runner.abi_version()
    }

    fn checkpoint(&mut self, out: &mut Vec<u8>) -> bool {
        // Still answering from the journal: no state to take yet.
        if self.left > 0 {
            out.clear();
            return false;
        }
        self.runner.checkpoint(out)
    }
}

/// What a [`Recovering`] runner's place holds while it is being built: never called.
pub(crate) struct Spent;

impl StrategyRunner for Spent {
    fn on_event(&mut self, _: &EventRecord, _: Option<&BookRecord>) -> Result<Step<'_>, RunError> {
        Err(RunError::new(RECOVERY_DIVERGED, true, "no strategy"))
    }

    fn actions(&self) -> &[ActionRecord] {
        &[]
    }
}
