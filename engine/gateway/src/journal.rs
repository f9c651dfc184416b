//! The journal: every input the gateway hands a strategy, and what the strategy answered, so
//! the replay harness can run the strategy again and prove it decided the same.
//!
//! A journal is one file per strategy, append-only:
//!
//! - a header: magic `LOCKSTEP-JOURNAL`, format version (u32), then a length-prefixed JSON
//!   [`JournalHeader`] (strategy, parameters, module SHA-256, tier) and its CRC-32;
//! - chunks, each `JCHK`, record count (u32), payload length (u32), CRC-32 of the payload (u32),
//!   then the payload. A chunk is written with one `write_all` and flushed, so a crash (or a
//!   full disk) cuts the file only inside the last chunk, which the reader drops and reports.
//!
//! Each record is an [`Entry`]: the receive time, where the input came from ([`Origin`]), the
//! 64-byte ABI event, the 328-byte book record when there is one, and the strategy's answer:
//! the engine's error code (0 for none), the fuel, and the action records.

use core::fmt;
use lockstep_sdk::{ACTION_SIZE, ActionRecord, BOOK_SIZE, BookRecord, EVENT_SIZE, EventRecord};
use lockstep_sim::read_full as fill;
use serde::{Deserialize, Serialize};
use std::io::{self, Read, Write};

const MAGIC: &[u8; 16] = b"LOCKSTEP-JOURNAL";
/// The journal format this build writes and reads.
pub const JOURNAL_VERSION: u32 = 1;
const CHUNK_MAGIC: &[u8; 4] = b"JCHK";
const CHUNK_HEADER: usize = 16;
/// Most records a chunk holds before it is written out.
pub const CHUNK_RECORDS: usize = 256;
/// Largest header or chunk payload a reader accepts (a corrupt length must not allocate).
const MAX_CHUNK_BYTES: u32 = 64 << 20;

/// What a journal is the inputs of.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalHeader {
    /// The strategy's name (a built-in's name, or the module's file name).
    pub strategy: String,
    /// The parameters it was started with.
    pub params: String,
    /// SHA-256 of the module's `.wasm`, hex (empty for a native strategy).
    pub module_sha256: String,
    /// The tier it ran on (`interpreter`, `compiled` or `native`).
    pub tier: String,
    /// Fuel its `init` used and the actions it returned, digested first as in a replay.
    pub init_fuel: u64,
}

/// Where an input came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[repr(u8)]
pub enum Origin {
    /// The market data feed (quotes, trades, book events).
    Market = 1,
    /// The venue's answer to an order (ack, fill, reject, cancel).
    Venue = 2,
    /// The gateway's pre-trade risk refused an action.
    Risk = 3,
    /// A timer the strategy set.
    Timer = 4,
    /// The strategy's `init` (its actions, no event).
    Init = 5,
}

impl Origin {
    fn from_u8(b: u8) -> Option<Self> {
        [Self::Market, Self::Venue, Self::Risk, Self::Timer, Self::Init]
            .into_iter()
            .find(|o| *o as u8 == b)
    }
}

/// One journal record: an input and the strategy's answer to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// When the gateway received the input (its own clock, nanoseconds).
    pub recv_ns: i64,
    /// Where it came from.
    pub origin: Origin,
    /// The event as handed to the strategy (its sequence number set).
    pub event: EventRecord,
    /// The book record handed with it.
    pub book: Option<BookRecord>,
    /// The engine's stable error code if the call failed (0: it did not).
    pub error: u16,
    /// Fuel the call used.
    pub fuel: u64,
    /// The actions the strategy returned.
    pub actions: Vec<ActionRecord>,
}

/// Why a journal could not be written or read.
#[derive(Debug)]
#[non_exhaustive]
pub enum JournalError {
    /// The file system refused (a full disk, a permission).
    Io(io::Error),
    /// Not a journal, or a version this build does not read.
    NotAJournal {
        /// What was found instead.
        reason: String,
    },
    /// A complete chunk failed its checks: the file was changed after it was written.
    Corrupt {
        /// Index of the chunk.
        chunk: u64,
        /// Byte offset of the chunk in the file.
        offset: u64,
        /// Which check failed.
        reason: String,
    },
}

impl fmt::Display for JournalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JournalError::Io(e) => {
                write!(f, "journal I/O failed: {e}; check the disk (space, permissions)")
            }
            JournalError::NotAJournal { reason } => write!(f, "not a Lockstep journal: {reason}"),
            JournalError::Corrupt { chunk, offset, reason } => write!(
                f,
                "journal chunk {chunk} at byte {offset} is corrupt ({reason}); the records before it are intact"
            ),
        }
    }
}

impl std::error::Error for JournalError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            JournalError::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for JournalError {
    fn from(e: io::Error) -> Self {
        JournalError::Io(e)
    }
}

/// Appends entries to a journal in checksummed chunks.
#[derive(Debug)]
pub struct JournalWriter<W: Write> {
    out: W,
    payload: Vec<u8>,
    frame: Vec<u8>,
    records: u32,
    written: u64,
}

impl<W: Write> JournalWriter<W> {
    /// Writes the header to `out` and returns a writer for the entries.
    ///
    /// # Errors
    /// [`JournalError::Io`] when the header cannot be written.
    pub fn new(mut out: W, header: &JournalHeader) -> Result<Self, JournalError> {
        let json = serde_json::to_vec(header).map_err(|e| JournalError::Io(io::Error::other(e)))?;
        let mut head = Vec::with_capacity(MAGIC.len() + 12 + json.len());
        head.extend_from_slice(MAGIC);
        head.extend_from_slice(&JOURNAL_VERSION.to_le_bytes());
        head.extend_from_slice(&(json.len() as u32).to_le_bytes());
        head.extend_from_slice(&json);
        head.extend_from_slice(&crc32fast::hash(&json).to_le_bytes());
        out.write_all(&head)?;
        out.flush()?;
        let cap = CHUNK_RECORDS * (16 + EVENT_SIZE + BOOK_SIZE + 16 + 4 * ACTION_SIZE);
        Ok(Self {
            out,
            payload: Vec::with_capacity(cap),
            frame: Vec::with_capacity(cap + CHUNK_HEADER),
            records: 0,
            written: 0,
        })
    }

    /// Adds an entry; the chunk is written out when it is full.
    ///
    /// # Errors
    /// [`JournalError::Io`] when a full chunk cannot be written (the entries stay buffered).
    pub fn append(&mut self, e: &Entry) -> Result<(), JournalError> {
        let r = Record {
            recv_ns: e.recv_ns,
            origin: e.origin,
            event: &e.event,
            book: e.book.as_ref(),
            error: e.error,
            fuel: e.fuel,
            actions: &e.actions,
        };
        self.append_record(&r)
    }

    /// [`JournalWriter::append`] from borrowed parts: what the gateway's hot path uses, so
    /// journaling an input allocates nothing.
    ///
    /// # Errors
    /// As [`JournalWriter::append`].
    pub fn append_record(&mut self, e: &Record<'_>) -> Result<(), JournalError> {
        encode(e, &mut self.payload);
        self.records += 1;
        if self.records as usize >= CHUNK_RECORDS {
            self.flush()?;
        }
        Ok(())
    }

    /// Writes out the entries buffered so far as one chunk and flushes the file.
    ///
    /// # Errors
    /// [`JournalError::Io`]: nothing of the chunk counts until it is wholly written.
    pub fn flush(&mut self) -> Result<(), JournalError> {
        if self.records == 0 {
            return Ok(());
        }
        self.frame.clear();
        self.frame.extend_from_slice(CHUNK_MAGIC);
        self.frame.extend_from_slice(&self.records.to_le_bytes());
        self.frame.extend_from_slice(&(self.payload.len() as u32).to_le_bytes());
        self.frame.extend_from_slice(&crc32fast::hash(&self.payload).to_le_bytes());
        self.frame.extend_from_slice(&self.payload);
        self.out.write_all(&self.frame)?;
        self.out.flush()?;
        self.written += u64::from(self.records);
        self.records = 0;
        self.payload.clear();
        Ok(())
    }

    /// Entries written out in complete chunks.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Flushes and returns the underlying writer.
    ///
    /// # Errors
    /// As [`JournalWriter::flush`].
    pub fn finish(mut self) -> Result<W, JournalError> {
        self.flush()?;
        Ok(self.out)
    }
}

/// One journal record, borrowed: an input and the strategy's answer.
#[derive(Clone, Copy, Debug)]
pub struct Record<'a> {
    /// When the gateway received the input.
    pub recv_ns: i64,
    /// Where it came from.
    pub origin: Origin,
    /// The event as handed to the strategy.
    pub event: &'a EventRecord,
    /// The book record handed with it.
    pub book: Option<&'a BookRecord>,
    /// The engine's stable error code if the call failed (0: it did not).
    pub error: u16,
    /// Fuel the call used.
    pub fuel: u64,
    /// The actions the strategy returned.
    pub actions: &'a [ActionRecord],
}

fn encode(e: &Record<'_>, out: &mut Vec<u8>) {
    out.extend_from_slice(&e.recv_ns.to_le_bytes());
    out.push(e.origin as u8);
    out.push(u8::from(e.book.is_some()));
    out.extend_from_slice(&e.error.to_le_bytes());
    out.extend_from_slice(&(e.actions.len() as u32).to_le_bytes());
    out.extend_from_slice(&e.fuel.to_le_bytes());
    out.extend_from_slice(&e.event.0);
    if let Some(b) = e.book {
        out.extend_from_slice(&b.0);
    }
    for a in e.actions {
        out.extend_from_slice(&a.0);
    }
}

/// What reading a journal found.
#[derive(Debug)]
pub struct Journal {
    /// Its header.
    pub header: JournalHeader,
    /// Every entry of its complete chunks, in order.
    pub entries: Vec<Entry>,
    /// Bytes after the last complete chunk (a chunk a crash cut short), dropped.
    pub torn_tail: u64,
}

/// Reads a whole journal, stopping at the last complete chunk.
///
/// # Errors
/// [`JournalError::NotAJournal`] for another file or version, [`JournalError::Corrupt`] when a
/// complete chunk fails its checksum or does not parse, [`JournalError::Io`].
pub fn read_journal(input: impl Read) -> Result<Journal, JournalError> {
    let mut cursor = JournalCursor::new(input)?;
    let mut entries = Vec::new();
    while let Some(e) = cursor.next_entry()? {
        entries.push(e);
    }
    Ok(Journal { header: cursor.header.clone(), entries, torn_tail: cursor.torn_tail })
}

/// Reads a journal's entries a chunk at a time: what a reader holds is one chunk, whatever the
/// journal's length.
#[derive(Debug)]
pub struct JournalCursor<R: Read> {
    input: R,
    header: JournalHeader,
    /// Entries of the chunk being read, in reverse (popped from the end).
    ahead: Vec<Entry>,
    chunk: u64,
    offset: u64,
    torn_tail: u64,
    done: bool,
    payload: Vec<u8>,
}

impl<R: Read> JournalCursor<R> {
    /// Reads and checks the header.
    ///
    /// # Errors
    /// As [`read_journal`].
    pub fn new(mut input: R) -> Result<Self, JournalError> {
        let not = |reason: String| JournalError::NotAJournal { reason };
        let mut head = [0u8; 24];
        if fill(&mut input, &mut head)? < head.len() || &head[..MAGIC.len()] != MAGIC {
            return Err(not("no LOCKSTEP-JOURNAL header".into()));
        }
        let version = u32_at(&head, 16);
        if version != JOURNAL_VERSION {
            return Err(not(format!(
                "format version {version}; this build reads {JOURNAL_VERSION}"
            )));
        }
        let len = u32_at(&head, 20).min(MAX_CHUNK_BYTES) as usize;
        // Grown as bytes arrive: a forged length allocates nothing it does not read.
        let mut json = Vec::new();
        (&mut input).take(len as u64 + 4).read_to_end(&mut json)?;
        if json.len() < len + 4 {
            return Err(not("the header is cut short".into()));
        }
        if json[len..] != crc32fast::hash(&json[..len]).to_le_bytes() {
            return Err(not("the header's checksum does not match".into()));
        }
        let header: JournalHeader = serde_json::from_slice(&json[..len])
            .map_err(|e| not(format!("unreadable header: {e}")))?;
        let offset = (28 + len) as u64;
        Ok(Self {
            input,
            header,
            ahead: Vec::new(),
            chunk: 0,
            offset,
            torn_tail: 0,
            done: false,
            payload: Vec::new(),
        })
    }

    /// The journal's header.
    pub fn header(&self) -> &JournalHeader {
        &self.header
    }

    /// Bytes after the last complete chunk, once the end is reached.
    pub fn torn_tail(&self) -> u64 {
        self.torn_tail
    }

    /// The next entry, `None` at the end (a chunk a crash cut short ends it too).
    ///
    /// # Errors
    /// [`JournalError::Corrupt`] for a complete chunk that fails its checks, [`JournalError::Io`].
    pub fn next_entry(&mut self) -> Result<Option<Entry>, JournalError> {
        while self.ahead.is_empty() && !self.done {
            self.read_chunk()?;
        }
        Ok(self.ahead.pop())
    }

    fn read_chunk(&mut self) -> Result<(), JournalError> {
        let (chunk, offset) = (self.chunk, self.offset);
        let corrupt = |reason: String| JournalError::Corrupt { chunk, offset, reason };
        let mut head = [0u8; CHUNK_HEADER];
        let got = fill(&mut self.input, &mut head)?;
        if got < CHUNK_HEADER {
            (self.done, self.torn_tail) = (true, got as u64);
            return Ok(());
        }
        if &head[..4] != CHUNK_MAGIC {
            return Err(corrupt("no chunk marker".into()));
        }
        let (count, len, crc) = (u32_at(&head, 4), u32_at(&head, 8), u32_at(&head, 12));
        if len > MAX_CHUNK_BYTES {
            return Err(corrupt(format!("payload length {len} is implausible")));
        }
        self.payload.clear();
        (&mut self.input).take(u64::from(len)).read_to_end(&mut self.payload)?;
        let got = self.payload.len();
        if got < len as usize {
            (self.done, self.torn_tail) = (true, (CHUNK_HEADER + got) as u64);
            return Ok(());
        }
        if crc32fast::hash(&self.payload) != crc {
            return Err(corrupt("its CRC-32 does not match".into()));
        }
        decode_chunk(&self.payload, count, &mut self.ahead).map_err(corrupt)?;
        self.ahead.reverse();
        self.offset += (CHUNK_HEADER + len as usize) as u64;
        self.chunk += 1;
        Ok(())
    }
}

fn decode_chunk(mut p: &[u8], count: u32, out: &mut Vec<Entry>) -> Result<(), String> {
    for i in 0..count {
        let short = || format!("record {i} of {count} is cut short");
        let head = p.get(..24).ok_or_else(short)?;
        let recv_ns = i64::from_le_bytes(head[..8].try_into().map_err(|_| short())?);
        let origin = Origin::from_u8(head[8])
            .ok_or_else(|| format!("record {i} has unknown origin {}", head[8]))?;
        let has_book = match head[9] {
            0 => false,
            1 => true,
            b => return Err(format!("record {i} has book flag {b}")),
        };
        let error = u16::from_le_bytes([head[10], head[11]]);
        let n = u32_at(head, 12) as usize;
        let fuel = u64::from_le_bytes(head[16..24].try_into().map_err(|_| short())?);
        let need =
            24 + EVENT_SIZE + if has_book { BOOK_SIZE } else { 0 } + n.saturating_mul(ACTION_SIZE);
        let body = p.get(24..need).ok_or_else(short)?;
        let mut event = EventRecord::zeroed();
        event.0.copy_from_slice(&body[..EVENT_SIZE]);
        let mut rest = &body[EVENT_SIZE..];
        let book = has_book.then(|| {
            let mut b = BookRecord::default();
            b.0.copy_from_slice(&rest[..BOOK_SIZE]);
            rest = &rest[BOOK_SIZE..];
            b
        });
        let actions = rest
            .chunks_exact(ACTION_SIZE)
            .map(|c| {
                let mut a = ActionRecord::zeroed();
                a.0.copy_from_slice(c);
                a
            })
            .collect();
        out.push(Entry { recv_ns, origin, event, book, error, fuel, actions });
        p = &p[need..];
    }
    if p.is_empty() { Ok(()) } else { Err(format!("{} bytes follow its last record", p.len())) }
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(a)
}
