//! Per-event traces of what a strategy saw and did, to find where two runs diverge.
//!
//! A trace file is `"LSTRACE1"`, then one record per event delivered: `seq u64, fuel u64`,
//! the 64-byte event record, `n u16` and `n` 64-byte action records (little-endian).

use crate::atomic::AtomicFile;
use lockstep_sdk::{ACTION_SIZE, ActionRecord, EVENT_SIZE, EventRecord};
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::Path;

const MAGIC: &[u8; 8] = b"LSTRACE1";

/// Writes a trace.
pub(crate) struct TraceWriter {
    out: BufWriter<AtomicFile>,
    error: Option<io::Error>,
}

impl TraceWriter {
    pub(crate) fn create(path: &Path) -> io::Result<Self> {
        // Written beside `path` and moved into place by `finish`: a run that fails leaves no
        // partial trace that looks complete.
        let mut out = BufWriter::with_capacity(1 << 20, AtomicFile::create(path)?);
        out.write_all(MAGIC)?;
        Ok(Self { out, error: None })
    }

    pub(crate) fn event(
        &mut self,
        seq: u64,
        fuel: u64,
        ev: &EventRecord,
        actions: &[ActionRecord],
    ) {
        if self.error.is_some() {
            return;
        }
        let mut head = [0u8; 16];
        head[..8].copy_from_slice(&seq.to_le_bytes());
        head[8..].copy_from_slice(&fuel.to_le_bytes());
        let n = (actions.len().min(usize::from(u16::MAX)) as u16).to_le_bytes();
        let r = self
            .out
            .write_all(&head)
            .and_then(|()| self.out.write_all(&ev.0))
            .and_then(|()| self.out.write_all(&n))
            .and_then(|()| actions.iter().try_for_each(|a| self.out.write_all(&a.0)));
        if let Err(e) = r {
            self.error = Some(e);
        }
    }

    /// Flushes and moves the trace into place; the first write error, if any (the trace is
    /// then not written at all).
    pub(crate) fn finish(mut self) -> io::Result<()> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        self.out.into_inner().map_err(io::IntoInnerError::into_error)?.commit()
    }
}

/// One traced event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TracedEvent {
    /// Sequence number.
    pub seq: u64,
    /// Fuel used.
    pub fuel: u64,
    /// The event.
    pub event: EventRecord,
    /// The actions returned.
    pub actions: Vec<ActionRecord>,
}

/// Reads a trace.
pub struct TraceReader {
    input: BufReader<File>,
}

impl TraceReader {
    /// Opens a trace file.
    ///
    /// # Errors
    /// I/O errors, or [`io::ErrorKind::InvalidData`] if it is not a trace.
    pub fn open(path: &Path) -> io::Result<Self> {
        let mut input = BufReader::new(File::open(path)?);
        let mut m = [0u8; 8];
        input.read_exact(&mut m)?;
        if &m != MAGIC {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{} is not a trace", path.display()),
            ));
        }
        Ok(Self { input })
    }

    /// The next event, `None` at the end.
    ///
    /// # Errors
    /// I/O errors, or a truncated record.
    pub fn next_event(&mut self) -> io::Result<Option<TracedEvent>> {
        let mut head = [0u8; 16];
        match self.input.read_exact(&mut head) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
            Err(e) => return Err(e),
        }
        let mut ev = [0u8; EVENT_SIZE];
        self.input.read_exact(&mut ev)?;
        let mut n = [0u8; 2];
        self.input.read_exact(&mut n)?;
        let n = usize::from(u16::from_le_bytes(n));
        let mut actions = Vec::with_capacity(n);
        for _ in 0..n {
            let mut a = [0u8; ACTION_SIZE];
            self.input.read_exact(&mut a)?;
            actions.push(ActionRecord(a));
        }
        Ok(Some(TracedEvent {
            seq: u64::from_le_bytes(head[..8].try_into().unwrap_or_default()),
            fuel: u64::from_le_bytes(head[8..].try_into().unwrap_or_default()),
            event: EventRecord(ev),
            actions,
        }))
    }
}

/// Where two traces first differ: the event index and what each run recorded there (`None`
/// where one trace had already ended).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Divergence {
    /// Position of the event in the traces (0-based).
    pub index: u64,
    /// The first run's record.
    pub a: Option<TracedEvent>,
    /// The second run's record.
    pub b: Option<TracedEvent>,
}

/// Finds the first event at which two traces differ, or `None` if they are identical.
///
/// # Errors
/// I/O errors reading either trace.
pub fn first_divergence(a: &Path, b: &Path, with_fuel: bool) -> io::Result<Option<Divergence>> {
    let (mut ra, mut rb) = (TraceReader::open(a)?, TraceReader::open(b)?);
    let mut index = 0u64;
    loop {
        let (ea, eb) = (ra.next_event()?, rb.next_event()?);
        match (&ea, &eb) {
            (None, None) => return Ok(None),
            (Some(x), Some(y))
                if x.seq == y.seq
                    && x.event == y.event
                    && x.actions == y.actions
                    && (!with_fuel || x.fuel == y.fuel) =>
            {
                index += 1
            }
            _ => return Ok(Some(Divergence { index, a: ea, b: eb })),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lockstep_sdk::Action;

    #[test]
    fn finds_the_first_difference() {
        let dir = std::env::temp_dir().join(format!("lockstep-trace-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (pa, pb) = (dir.join("a.trace"), dir.join("b.trace"));
        let act = |id| Action::Cancel { instrument: 0, order_id: id }.encode();
        for (p, diff) in [(&pa, 1u64), (&pb, 2)] {
            let mut w = TraceWriter::create(p).unwrap();
            for seq in 0..100u64 {
                let acts = if seq == 57 { vec![act(diff)] } else { vec![act(seq)] };
                w.event(seq, 10 + seq, &EventRecord::zeroed(), &acts);
            }
            w.finish().unwrap();
        }
        let d = first_divergence(&pa, &pb, true).unwrap().unwrap();
        assert_eq!(d.index, 57);
        assert_eq!(d.a.unwrap().actions, vec![act(1)]);
        assert_eq!(d.b.unwrap().actions, vec![act(2)]);
        assert_eq!(first_divergence(&pa, &pa, true).unwrap(), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
