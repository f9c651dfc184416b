//! The gateway's input log (`DIR/inputs.log`): everything that drove the gateway's core, in
//! the order it arrived, so a gateway killed mid-session can be rebuilt exactly (`--recover`).
//!
//! It is written ahead: the records behind a batch of orders, and a count of those orders,
//! reach the operating system in one write before the first of them goes to the venue. After
//! a crash, the inputs logged are played back through a fresh core, which decides the same
//! orders again; the first `sent` of them went out already and are not sent twice. Inputs
//! that arrived but were not logged come again: the feed by retransmission request from the
//! position the log ends at, the venue's answers by FIX resend from the last one logged.
//!
//! Layout: magic `LOCKSTEP-INPUTS\0`, format version (u32), then frames `ICHK`, payload length
//! (u32), CRC-32 (u32), payload. A crash can cut only the last frame, which is dropped.
//! Records in a payload (little-endian): `1` recv (i64) length (u32) and the feed handler's
//! recorded sequence; `2` recv, FIX MsgSeqNum (u64), venue order id (u64) and the answer as a
//! 64-byte ABI event record; `3` recv: the kill switch; `4` orders handed to FIX (u32); `5`
//! recv: cancel everything at the end of the session.

use crate::journal::JournalError;
use lockstep_sdk::{EVENT_SIZE, EventRecord};
use std::fs::File;
use std::io::{Read, Seek, Write};
use std::path::Path;

const MAGIC: &[u8; 16] = b"LOCKSTEP-INPUTS\0";
/// The input log format this build writes and reads.
pub const INPUTS_VERSION: u32 = 1;
const FRAME_MAGIC: &[u8; 4] = b"ICHK";
const HEADER: usize = 20;
const FRAME_HEADER: usize = 12;
/// Largest frame payload a reader accepts (a corrupt length must not allocate).
const MAX_FRAME: u32 = 256 << 20;

/// One logged input of the gateway's core.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// Feed messages delivered at `recv` (the feed handler's recorded sequence).
    Feed {
        /// Receive time.
        recv: i64,
        /// The recorded sequence ([`lockstep_feed::MoldItchHandler::replay_sequence`]).
        sequence: Vec<u8>,
    },
    /// A venue answer.
    Venue {
        /// Receive time.
        recv: i64,
        /// Its FIX MsgSeqNum.
        fix_seq: u64,
        /// The venue order id it answers.
        order: u64,
        /// The answer, as an ABI event record (header zeroed).
        answer: EventRecord,
    },
    /// The kill switch was pulled.
    Kill {
        /// When.
        recv: i64,
    },
    /// This many orders, the next ones the core decided, were handed to the FIX session.
    Sent {
        /// How many.
        count: u32,
    },
    /// The end of the session: every open order cancelled.
    CancelAll {
        /// When.
        recv: i64,
    },
}

/// Appends inputs, a frame per [`InputLog::flush`].
#[derive(Debug)]
pub struct InputLog<W: Write = File> {
    file: W,
    payload: Vec<u8>,
    frame: Vec<u8>,
}

impl InputLog {
    /// Creates `path` (it must not exist) with its header.
    ///
    /// # Errors
    /// [`JournalError::Io`] when it exists or cannot be written.
    pub fn create(path: &Path) -> Result<Self, JournalError> {
        let file = std::fs::OpenOptions::new().write(true).create_new(true).open(path)?;
        InputLog::new(file)
    }

    /// Opens a log read by [`read_inputs`] to go on appending: what follows its last whole
    /// frame (a frame a crash cut) is cut off first.
    ///
    /// # Errors
    /// [`JournalError::Io`].
    pub fn resume(path: &Path, read: &Inputs) -> Result<Self, JournalError> {
        let mut file = std::fs::OpenOptions::new().write(true).open(path)?;
        file.set_len(read.valid_len)?;
        file.seek(std::io::SeekFrom::End(0))?;
        Ok(Self::over(file))
    }

    /// Flushes and forces the log to the disk.
    ///
    /// # Errors
    /// [`JournalError::Io`].
    pub fn sync(&mut self) -> Result<(), JournalError> {
        self.flush()?;
        self.file.sync_data()?;
        Ok(())
    }
}

impl<W: Write> InputLog<W> {
    /// A log written to `out`, starting with its header.
    ///
    /// # Errors
    /// [`JournalError::Io`] when the header cannot be written.
    pub fn new(mut out: W) -> Result<Self, JournalError> {
        let mut head = MAGIC.to_vec();
        head.extend_from_slice(&INPUTS_VERSION.to_le_bytes());
        out.write_all(&head)?;
        Ok(Self::over(out))
    }

    fn over(file: W) -> Self {
        Self { file, payload: Vec::with_capacity(64 << 10), frame: Vec::with_capacity(64 << 10) }
    }

    /// Flushes and returns the writer.
    ///
    /// # Errors
    /// As [`InputLog::flush`].
    pub fn finish(mut self) -> Result<W, JournalError> {
        self.flush()?;
        Ok(self.file)
    }

    /// Adds an input (written at the next [`InputLog::flush`]).
    pub fn push(&mut self, input: &Input) {
        encode(input, &mut self.payload);
    }

    /// Adds feed messages from the handler's recorded sequence, without copying them first.
    pub fn push_feed(&mut self, recv: i64, sequence: &[u8]) {
        self.payload.push(1);
        self.payload.extend_from_slice(&recv.to_le_bytes());
        self.payload.extend_from_slice(&len32(sequence.len()).to_le_bytes());
        self.payload.extend_from_slice(sequence);
    }

    /// Bytes of inputs waiting to be written.
    pub fn buffered(&self) -> usize {
        self.payload.len()
    }

    /// Writes what was added as one frame, with one `write` (the operating system then holds
    /// it: a killed process loses nothing written; `sync` for a power cut).
    ///
    /// # Errors
    /// [`JournalError::Io`]: the frame did not count, and the inputs stay buffered.
    pub fn flush(&mut self) -> Result<(), JournalError> {
        if self.payload.is_empty() {
            return Ok(());
        }
        self.frame.clear();
        self.frame.extend_from_slice(FRAME_MAGIC);
        self.frame.extend_from_slice(&len32(self.payload.len()).to_le_bytes());
        self.frame.extend_from_slice(&crc32fast::hash(&self.payload).to_le_bytes());
        self.frame.extend_from_slice(&self.payload);
        self.file.write_all(&self.frame)?;
        self.file.flush()?;
        self.payload.clear();
        Ok(())
    }
}

fn len32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn encode(input: &Input, out: &mut Vec<u8>) {
    match input {
        Input::Feed { recv, sequence } => {
            out.push(1);
            out.extend_from_slice(&recv.to_le_bytes());
            out.extend_from_slice(&len32(sequence.len()).to_le_bytes());
            out.extend_from_slice(sequence);
        }
        Input::Venue { recv, fix_seq, order, answer } => {
            out.push(2);
            for v in [recv.to_le_bytes(), fix_seq.to_le_bytes(), order.to_le_bytes()] {
                out.extend_from_slice(&v);
            }
            out.extend_from_slice(&answer.0);
        }
        Input::Kill { recv } => {
            out.push(3);
            out.extend_from_slice(&recv.to_le_bytes());
        }
        Input::Sent { count } => {
            out.push(4);
            out.extend_from_slice(&count.to_le_bytes());
        }
        Input::CancelAll { recv } => {
            out.push(5);
            out.extend_from_slice(&recv.to_le_bytes());
        }
    }
}

/// An input log as read back.
#[derive(Debug, Default)]
pub struct Inputs {
    /// Every input of its whole frames, in order.
    pub inputs: Vec<Input>,
    /// Bytes up to the end of the last whole frame.
    pub valid_len: u64,
    /// Bytes after it (a frame a crash cut short), dropped.
    pub torn_tail: u64,
}

impl Inputs {
    /// Orders logged as handed to FIX.
    pub fn sent(&self) -> u64 {
        let n = self.inputs.iter().map(|i| match i {
            Input::Sent { count } => u64::from(*count),
            _ => 0,
        });
        n.sum()
    }

    /// The MsgSeqNum of the last venue answer logged.
    pub fn last_fix_seq(&self) -> Option<u64> {
        self.inputs.iter().rev().find_map(|i| match i {
            Input::Venue { fix_seq, .. } => Some(*fix_seq),
            _ => None,
        })
    }
}

/// Reads an input log to its last whole frame.
///
/// # Errors
/// [`JournalError::NotAJournal`] for another file or version, [`JournalError::Corrupt`] for a
/// whole frame that fails its checksum or does not parse, [`JournalError::Io`].
pub fn read_inputs(mut input: impl Read) -> Result<Inputs, JournalError> {
    let mut bytes = Vec::new();
    input.read_to_end(&mut bytes)?;
    let not = |reason: &str| JournalError::NotAJournal { reason: reason.to_owned() };
    if bytes.len() < HEADER || &bytes[..16] != MAGIC {
        return Err(not("no LOCKSTEP-INPUTS header: not a gateway input log"));
    }
    let version = u32_at(&bytes, 16);
    if version != INPUTS_VERSION {
        return Err(JournalError::NotAJournal {
            reason: format!("input log format {version}; this build reads {INPUTS_VERSION}"),
        });
    }
    let mut out = Inputs { valid_len: HEADER as u64, ..Inputs::default() };
    let (mut at, mut chunk) = (HEADER, 0u64);
    while let Some(rest) = bytes.get(at..).filter(|r| r.len() >= FRAME_HEADER) {
        let corrupt = |reason: String| JournalError::Corrupt { chunk, offset: at as u64, reason };
        if &rest[..4] != FRAME_MAGIC {
            return Err(corrupt("no frame marker".into()));
        }
        let (len, crc) = (u32_at(rest, 4), u32_at(rest, 8));
        if len > MAX_FRAME {
            return Err(corrupt(format!("payload length {len} is implausible")));
        }
        let Some(payload) = rest.get(FRAME_HEADER..FRAME_HEADER + len as usize) else { break };
        if crc32fast::hash(payload) != crc {
            return Err(corrupt("its CRC-32 does not match".into()));
        }
        decode(payload, &mut out.inputs).map_err(corrupt)?;
        at += FRAME_HEADER + len as usize;
        out.valid_len = at as u64;
        chunk += 1;
    }
    out.torn_tail = (bytes.len() - at) as u64;
    Ok(out)
}

fn decode(mut p: &[u8], out: &mut Vec<Input>) -> Result<(), String> {
    let mut i = 0usize;
    while let Some((&kind, rest)) = p.split_first() {
        let short = || format!("record {i} (kind {kind}) is cut short");
        let i64_at = |b: &[u8], at: usize| {
            b.get(at..at + 8).map(|s| i64::from_le_bytes(s.try_into().unwrap_or([0; 8])))
        };
        let (input, used) = match kind {
            1 => {
                let recv = i64_at(rest, 0).ok_or_else(short)?;
                let len = rest.get(8..12).ok_or_else(short)?;
                let n = u32::from_le_bytes(len.try_into().map_err(|_| short())?) as usize;
                let seq = rest.get(12..12 + n).ok_or_else(short)?;
                (Input::Feed { recv, sequence: seq.to_vec() }, 12 + n)
            }
            2 => {
                let b = rest.get(..24 + EVENT_SIZE).ok_or_else(short)?;
                let mut answer = EventRecord::zeroed();
                answer.0.copy_from_slice(&b[24..]);
                let [recv, fix_seq, order] = [0, 8, 16].map(|at| i64_at(b, at).unwrap_or(0));
                let (fix_seq, order) = (fix_seq as u64, order as u64);
                (Input::Venue { recv, fix_seq, order, answer }, 24 + EVENT_SIZE)
            }
            3 | 5 => {
                let recv = i64_at(rest, 0).ok_or_else(short)?;
                (if kind == 3 { Input::Kill { recv } } else { Input::CancelAll { recv } }, 8)
            }
            4 => {
                let c = rest.get(..4).ok_or_else(short)?;
                (Input::Sent { count: u32::from_le_bytes(c.try_into().map_err(|_| short())?) }, 4)
            }
            _ => return Err(format!("record {i} has unknown kind {kind}")),
        };
        out.push(input);
        p = &rest[used..];
        i += 1;
    }
    Ok(())
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<Input> {
        let mut answer = EventRecord::zeroed();
        answer.0[0] = 7;
        vec![
            Input::Feed { recv: 5, sequence: vec![1, 2, 3] },
            Input::Venue { recv: -6, fix_seq: 9, order: u64::MAX, answer },
            Input::Sent { count: 3 },
            Input::Kill { recv: 8 },
            Input::CancelAll { recv: 9 },
        ]
    }

    #[test]
    fn inputs_read_back_to_the_last_whole_frame() {
        let dir = std::env::temp_dir().join(format!("lockstep-inputs-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("inputs.log");
        let mut log = InputLog::create(&path).unwrap();
        for i in sample() {
            log.push(&i);
        }
        log.flush().unwrap();
        log.push_feed(1, &[9; 40]);
        log.flush().unwrap();
        let whole = std::fs::read(&path).unwrap();
        let read = read_inputs(&whole[..]).unwrap();
        assert_eq!(read.inputs[..5], sample()[..]);
        assert_eq!((read.inputs.len(), read.torn_tail, read.sent()), (6, 0, 3));
        assert_eq!(read.last_fix_seq(), Some(9));
        // Cut inside the second frame: the first is all there is, and resuming cuts the rest.
        let cut = &whole[..whole.len() - 5];
        let read = read_inputs(cut).unwrap();
        assert_eq!(
            (read.inputs.len(), read.torn_tail),
            (5, (whole.len() - 5) as u64 - read.valid_len)
        );
        std::fs::write(&path, cut).unwrap();
        let mut log = InputLog::resume(&path, &read).unwrap();
        log.push(&Input::Kill { recv: 1 });
        log.flush().unwrap();
        let again = read_inputs(std::fs::File::open(&path).unwrap()).unwrap();
        assert_eq!((again.inputs.len(), again.torn_tail), (6, 0));
        // A changed byte in a whole frame is named; another file is not an input log.
        let mut bad = whole.clone();
        bad[HEADER + FRAME_HEADER + 2] ^= 1;
        let e = read_inputs(&bad[..]).unwrap_err().to_string();
        assert!(e.contains("chunk 0 at byte 20") && e.contains("CRC-32"), "{e}");
        let e = read_inputs(&b"LOCKSTEP-JOURNAL...."[..]).unwrap_err().to_string();
        assert!(e.contains("not a gateway input log"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
