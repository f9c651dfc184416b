//! Reading a tape: the prologue and header checked, then one chunk at a time, every checksum
//! and structural rule verified and every failure named by chunk and byte offset.

use super::{
    CHUNK_HEADER_LEN, CHUNK_MAGIC, Compression, END_LEN, END_MAGIC, EventCheck, EventSource,
    FORMAT_VERSION, MAGIC, MAX_CHUNK_BYTES, MAX_CHUNK_EVENTS, MAX_HEADER_BYTES, PROLOGUE_LEN,
    TapeError, TapeEvent, TapeHeader, check_instruments, header_config,
    record::{self, RECORD_LEN},
};
use std::fmt;
use std::io::{self, Read};

/// Reads a tape chunk by chunk, checking every checksum.
pub struct TapeReader<R: Read> {
    input: R,
    header: TapeHeader,
    compression: Compression,
    offset: u64,
    chunk: u64,
    events_read: u64,
    stored: Vec<u8>,
    raw: Vec<u8>,
    done: bool,
    check: EventCheck,
}

impl<R: Read> std::fmt::Debug for TapeReader<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TapeReader")
            .field("header", &self.header)
            .field("offset", &self.offset)
            .field("chunk", &self.chunk)
            .finish_non_exhaustive()
    }
}

/// Reads until `buf` is full or the input ends; the bytes read (a short count is the end, not
/// an error: the caller says what was cut short). Shared by every chunked file reader.
///
/// # Errors
/// The input's, other than an interrupted read (retried).
pub fn read_full<R: Read>(r: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

impl<R: Read> TapeReader<R> {
    /// Reads the prologue and header from `input`.
    ///
    /// # Errors
    /// [`TapeError`] if the input is not a tape, has an unsupported version or a bad header.
    pub fn new(mut input: R) -> Result<Self, TapeError> {
        let mut pro = [0u8; PROLOGUE_LEN as usize];
        let n = read_full(&mut input, &mut pro)
            .map_err(|source| TapeError::Io { offset: 0, source })?;
        if n < 8 || &pro[..8] != MAGIC {
            return Err(TapeError::NotATape { found: pro[..n.min(8)].to_vec() });
        }
        if n < pro.len() {
            return Err(TapeError::Truncated {
                chunk: 0,
                offset: n as u64,
                reading: "the prologue",
            });
        }
        let version = u16::from_le_bytes([pro[8], pro[9]]);
        if pro[11] != 0 {
            return Err(TapeError::Header {
                offset: 11,
                reason: format!("reserved prologue byte is {:#04x}, not 0", pro[11]),
            });
        }
        if version != FORMAT_VERSION {
            return Err(TapeError::Version { found: version });
        }
        let compression = Compression::from_code(pro[10]).ok_or_else(|| TapeError::Header {
            offset: 10,
            reason: format!("unknown compression code {}", pro[10]),
        })?;
        let header_len = u32::from_le_bytes([pro[12], pro[13], pro[14], pro[15]]);
        if header_len > MAX_HEADER_BYTES {
            return Err(TapeError::Header {
                offset: PROLOGUE_LEN,
                reason: format!("header length {header_len} is implausible"),
            });
        }
        let mut hb = vec![0u8; header_len as usize + 4];
        let n = read_full(&mut input, &mut hb)
            .map_err(|source| TapeError::Io { offset: PROLOGUE_LEN, source })?;
        if n < hb.len() {
            return Err(TapeError::Truncated {
                chunk: 0,
                offset: PROLOGUE_LEN + n as u64,
                reading: "the header",
            });
        }
        let (body, crc) = hb.split_at(header_len as usize);
        let want = u32::from_le_bytes([crc[0], crc[1], crc[2], crc[3]]);
        if crc32fast::hash(body) != want {
            return Err(TapeError::Header {
                offset: PROLOGUE_LEN,
                reason: "checksum mismatch".into(),
            });
        }
        let (header, used): (TapeHeader, usize) =
            bincode::serde::decode_from_slice(body, header_config())
                .map_err(|e| TapeError::Header { offset: PROLOGUE_LEN, reason: e.to_string() })?;
        if used != body.len() {
            return Err(TapeError::Header {
                offset: PROLOGUE_LEN,
                reason: format!("{} trailing bytes", body.len() - used),
            });
        }
        check_instruments(&header.instruments)
            .and_then(|()| super::check_local_midnight(header.local_midnight.as_deref()))
            .map_err(|reason| TapeError::Header { offset: PROLOGUE_LEN, reason })?;
        Ok(Self {
            check: EventCheck::new(header.instruments.len(), false),
            input,
            header,
            compression,
            offset: PROLOGUE_LEN + u64::from(header_len) + 4,
            chunk: 0,
            events_read: 0,
            stored: Vec::new(),
            raw: Vec::new(),
            done: false,
        })
    }

    /// Byte offset of the next unread chunk.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// How the tape's chunks are stored.
    pub fn compression(&self) -> Compression {
        self.compression
    }

    fn corrupt(&self, at: u64, reason: impl Into<String>) -> TapeError {
        TapeError::Corrupt { chunk: self.chunk, offset: at, reason: reason.into() }
    }

    fn read_chunk(&mut self, buf: &mut Vec<TapeEvent>) -> Result<bool, TapeError> {
        buf.clear();
        if self.done {
            return Ok(false);
        }
        let at = self.offset;
        let mut magic = [0u8; 4];
        let n = read_full(&mut self.input, &mut magic)
            .map_err(|source| TapeError::Io { offset: at, source })?;
        if n < 4 {
            return Err(TapeError::Truncated {
                chunk: self.chunk,
                offset: at + n as u64,
                reading: "a chunk header (no end marker found)",
            });
        }
        if &magic == END_MAGIC {
            self.read_end(at)?;
            self.done = true;
            return Ok(false);
        }
        if &magic != CHUNK_MAGIC {
            return Err(self.corrupt(at, format!("bad chunk magic {magic:02x?}")));
        }
        let head = self.read_chunk_head(at)?;
        self.read_stored(at, &head)?;
        self.decode(at, &head, buf)?;
        self.offset += CHUNK_HEADER_LEN as u64 + u64::from(head.stored_len);
        self.chunk += 1;
        self.events_read += u64::from(head.n_events);
        Ok(true)
    }

    /// Reads and checks the end marker at `at` (its magic already read): the totals must match
    /// what was read and the header, and nothing may follow it.
    fn read_end(&mut self, at: u64) -> Result<(), TapeError> {
        let mut rest = [0u8; END_LEN - 4];
        let n = read_full(&mut self.input, &mut rest)
            .map_err(|source| TapeError::Io { offset: at, source })?;
        if n < rest.len() {
            return Err(TapeError::Truncated {
                chunk: self.chunk,
                offset: at + 4 + n as u64,
                reading: "the end marker",
            });
        }
        let total = u64::from_le_bytes(rest[..8].try_into().unwrap_or([0; 8]));
        let chunks = u32::from_le_bytes(rest[8..12].try_into().unwrap_or([0; 4]));
        let crc = u32::from_le_bytes(rest[12..16].try_into().unwrap_or([0; 4]));
        if crc32fast::hash(&rest[..12]) != crc {
            return Err(self.corrupt(at, "end marker checksum mismatch"));
        }
        if total != self.events_read || u64::from(chunks) != self.chunk {
            return Err(self.corrupt(
                at,
                format!(
                    "end marker says {total} events in {chunks} chunks but {} events in {} chunks were read",
                    self.events_read, self.chunk
                ),
            ));
        }
        if self.header.event_count != total {
            return Err(TapeError::Header {
                offset: PROLOGUE_LEN,
                reason: format!(
                    "header says {} events but the tape holds {total}",
                    self.header.event_count
                ),
            });
        }
        self.offset += END_LEN as u64;
        let mut extra = [0u8; 1];
        let n = read_full(&mut self.input, &mut extra)
            .map_err(|source| TapeError::Io { offset: self.offset, source })?;
        if n > 0 {
            return Err(TapeError::Corrupt {
                chunk: self.chunk,
                offset: self.offset,
                reason: "data follows the end marker".into(),
            });
        }
        Ok(())
    }

    /// Reads the rest of the chunk header at `at` (its magic already read) and checks that its
    /// counts are plausible.
    fn read_chunk_head(&mut self, at: u64) -> Result<ChunkHead, TapeError> {
        let mut head = [0u8; CHUNK_HEADER_LEN - 4];
        let n = read_full(&mut self.input, &mut head)
            .map_err(|source| TapeError::Io { offset: at, source })?;
        if n < head.len() {
            return Err(TapeError::Truncated {
                chunk: self.chunk,
                offset: at + 4 + n as u64,
                reading: "a chunk header",
            });
        }
        let u32_at =
            |i: usize| u32::from_le_bytes([head[i], head[i + 1], head[i + 2], head[i + 3]]);
        let h = ChunkHead {
            n_events: u32_at(0),
            raw_len: u32_at(4),
            stored_len: u32_at(8),
            first_event: u64::from_le_bytes(head[12..20].try_into().unwrap_or([0; 8])),
            crc: u32_at(20),
            checked: head[..20].try_into().unwrap_or([0; 20]),
        };
        if h.n_events == 0 || h.n_events > MAX_CHUNK_EVENTS {
            return Err(self.corrupt(at, format!("implausible event count {}", h.n_events)));
        }
        if h.raw_len > MAX_CHUNK_BYTES || h.stored_len > MAX_CHUNK_BYTES {
            let (s, r) = (h.stored_len, h.raw_len);
            return Err(self.corrupt(at, format!("implausible length {s}/{r}")));
        }
        Ok(h)
    }

    /// Reads the chunk's stored bytes and checks its checksum and its place on the tape.
    fn read_stored(&mut self, at: u64, head: &ChunkHead) -> Result<(), TapeError> {
        self.stored.resize(head.stored_len as usize, 0);
        let n = read_full(&mut self.input, &mut self.stored)
            .map_err(|source| TapeError::Io { offset: at, source })?;
        if n < head.stored_len as usize {
            return Err(TapeError::Truncated {
                chunk: self.chunk,
                offset: at + CHUNK_HEADER_LEN as u64 + n as u64,
                reading: "chunk payload",
            });
        }
        let mut h = crc32fast::Hasher::new();
        h.update(&head.checked);
        h.update(&self.stored);
        if h.finalize() != head.crc {
            return Err(self.corrupt(at, "checksum mismatch"));
        }
        if head.first_event != self.events_read {
            return Err(self.corrupt(
                at,
                format!(
                    "chunk starts at event {}, expected {}",
                    head.first_event, self.events_read
                ),
            ));
        }
        Ok(())
    }

    /// Inflates the stored bytes where the tape is compressed, decodes the chunk's events into
    /// `buf` and checks each against the tape's rules.
    fn decode(
        &mut self,
        at: u64,
        head: &ChunkHead,
        buf: &mut Vec<TapeEvent>,
    ) -> Result<(), TapeError> {
        let raw_len = head.raw_len;
        let payload: &[u8] = match self.compression {
            Compression::None => &self.stored,
            Compression::Deflate => {
                self.raw.clear();
                self.raw.reserve(raw_len as usize);
                // Inflate at most one byte more than the declared size: a small chunk cannot
                // expand into gigabytes before it is refused.
                let dec = flate2::read::DeflateDecoder::new(&self.stored[..]);
                dec.take(u64::from(raw_len) + 1)
                    .read_to_end(&mut self.raw)
                    .map_err(|e| self.corrupt(at, format!("deflate: {e}")))?;
                &self.raw
            }
        };
        if payload.len() != raw_len as usize {
            return Err(self.corrupt(
                at,
                format!("payload is {} bytes, header says {raw_len}", payload.len()),
            ));
        }
        let n = head.n_events as usize;
        if payload.len() != n.saturating_mul(RECORD_LEN) {
            return Err(self.corrupt(
                at,
                format!("payload is {} bytes, not {n} events of {RECORD_LEN} bytes", payload.len()),
            ));
        }
        buf.reserve(n);
        for (i, r) in payload.chunks_exact(RECORD_LEN).enumerate() {
            let r: &[u8; RECORD_LEN] = r.try_into().expect("chunks_exact gives whole records");
            match record::decode(r) {
                Ok(e) => buf.push(e),
                Err(reason) => {
                    return Err(self.corrupt(at, format!("event {i} of the chunk: {reason}")));
                }
            }
        }
        for (i, e) in buf.iter().enumerate() {
            if let Err(reason) = self.check.check(e) {
                return Err(self.corrupt(at, format!("event {i} of the chunk {reason}")));
            }
        }
        Ok(())
    }
}

/// A chunk's header after its magic.
struct ChunkHead {
    n_events: u32,
    raw_len: u32,
    stored_len: u32,
    first_event: u64,
    crc: u32,
    /// The 20 bytes the checksum covers before the payload.
    checked: [u8; 20],
}

impl<R: Read> EventSource for TapeReader<R> {
    fn header(&self) -> &TapeHeader {
        &self.header
    }
    fn next_chunk(&mut self, buf: &mut Vec<TapeEvent>) -> Result<bool, TapeError> {
        self.read_chunk(buf)
    }
}
