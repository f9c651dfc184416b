//! Writing a tape: events buffered one chunk at a time, each chunk encoded, checksummed and
//! appended, and the end record with the totals written by `finish`.

use super::{
    CHUNK_HEADER_LEN, CHUNK_MAGIC, Compression, DEFAULT_CHUNK_EVENTS, END_LEN, END_MAGIC,
    FORMAT_VERSION, MAGIC, MAX_CHUNK_EVENTS, PROLOGUE_LEN, TapeError, TapeEvent, TapeHeader,
    header_config,
};
use std::io::{Seek, SeekFrom, Write};

/// Writes a tape, streaming: events are buffered one chunk at a time.
pub struct TapeWriter<W: Write + Seek> {
    out: W,
    header: TapeHeader,
    compression: Compression,
    header_len: u32,
    raw: Vec<u8>,
    stored: Vec<u8>,
    in_chunk: u32,
    total: u64,
    chunks: u32,
    offset: u64,
}

impl<W: Write + Seek> TapeWriter<W> {
    /// Starts a tape on `out`: writes the prologue and the header.
    ///
    /// # Errors
    /// [`TapeError::Io`] on a write error.
    pub fn new(
        out: W,
        mut header: TapeHeader,
        compression: Compression,
    ) -> Result<Self, TapeError> {
        header.event_count = 0;
        if header.chunk_events == 0 || header.chunk_events > MAX_CHUNK_EVENTS {
            header.chunk_events = DEFAULT_CHUNK_EVENTS;
        }
        let mut w = Self {
            out,
            header,
            compression,
            header_len: 0,
            raw: Vec::with_capacity(1 << 18),
            stored: Vec::new(),
            in_chunk: 0,
            total: 0,
            chunks: 0,
            offset: 0,
        };
        let bytes = w.header_bytes()?;
        w.header_len = bytes.len() as u32;
        let mut pro = [0u8; PROLOGUE_LEN as usize];
        pro[..8].copy_from_slice(MAGIC);
        pro[8..10].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
        pro[10] = compression.code();
        pro[12..16].copy_from_slice(&w.header_len.to_le_bytes());
        w.write(&pro)?;
        w.write(&bytes)?;
        w.write(&crc32fast::hash(&bytes).to_le_bytes())?;
        Ok(w)
    }

    fn header_bytes(&self) -> Result<Vec<u8>, TapeError> {
        bincode::serde::encode_to_vec(&self.header, header_config())
            .map_err(|e| TapeError::Encode { reason: e.to_string() })
    }

    fn write(&mut self, b: &[u8]) -> Result<(), TapeError> {
        let offset = self.offset;
        self.out.write_all(b).map_err(|source| TapeError::Io { offset, source })?;
        self.offset += b.len() as u64;
        Ok(())
    }

    /// Appends one event.
    ///
    /// # Errors
    /// [`TapeError`] on an encoding or write error.
    pub fn push(&mut self, ev: &TapeEvent) -> Result<(), TapeError> {
        super::record::encode(ev, &mut self.raw);
        self.in_chunk += 1;
        self.total += 1;
        if self.in_chunk >= self.header.chunk_events {
            self.flush_chunk()?;
        }
        Ok(())
    }

    fn flush_chunk(&mut self) -> Result<(), TapeError> {
        if self.in_chunk == 0 {
            return Ok(());
        }
        let stored: &[u8] = match self.compression {
            Compression::None => &self.raw,
            Compression::Deflate => {
                self.stored.clear();
                let mut enc = flate2::write::DeflateEncoder::new(
                    std::mem::take(&mut self.stored),
                    flate2::Compression::fast(),
                );
                let offset = self.offset;
                enc.write_all(&self.raw).map_err(|source| TapeError::Io { offset, source })?;
                self.stored = enc.finish().map_err(|source| TapeError::Io { offset, source })?;
                &self.stored
            }
        };
        let first_event = self.total - u64::from(self.in_chunk);
        let mut head = [0u8; CHUNK_HEADER_LEN];
        head[..4].copy_from_slice(CHUNK_MAGIC);
        head[4..8].copy_from_slice(&self.in_chunk.to_le_bytes());
        head[8..12].copy_from_slice(&(self.raw.len() as u32).to_le_bytes());
        head[12..16].copy_from_slice(&(stored.len() as u32).to_le_bytes());
        head[16..24].copy_from_slice(&first_event.to_le_bytes());
        let mut crc = crc32fast::Hasher::new();
        crc.update(&head[4..24]);
        crc.update(stored);
        head[24..28].copy_from_slice(&crc.finalize().to_le_bytes());
        let stored = stored.to_vec();
        self.write(&head)?;
        self.write(&stored)?;
        self.raw.clear();
        self.in_chunk = 0;
        self.chunks += 1;
        Ok(())
    }

    /// Events written so far.
    pub fn events(&self) -> u64 {
        self.total
    }

    /// Writes the last chunk and the end marker, and records the event count in the header.
    /// Returns the header as written, the total size in bytes and the output.
    ///
    /// # Errors
    /// [`TapeError`] on a write or seek error.
    pub fn finish_into(mut self) -> Result<(TapeHeader, u64, W), TapeError> {
        self.flush_chunk()?;
        let mut end = [0u8; END_LEN];
        end[..4].copy_from_slice(END_MAGIC);
        end[4..12].copy_from_slice(&self.total.to_le_bytes());
        end[12..16].copy_from_slice(&self.chunks.to_le_bytes());
        let crc = crc32fast::hash(&end[4..16]);
        end[16..20].copy_from_slice(&crc.to_le_bytes());
        self.write(&end)?;
        let size = self.offset;
        self.header.event_count = self.total;
        let bytes = self.header_bytes()?;
        debug_assert_eq!(bytes.len() as u32, self.header_len);
        let io = |source| TapeError::Io { offset: PROLOGUE_LEN, source };
        self.out.seek(SeekFrom::Start(PROLOGUE_LEN)).map_err(io)?;
        self.out.write_all(&bytes).map_err(io)?;
        self.out.write_all(&crc32fast::hash(&bytes).to_le_bytes()).map_err(io)?;
        self.out.seek(SeekFrom::End(0)).map_err(io)?;
        self.out.flush().map_err(io)?;
        Ok((self.header, size, self.out))
    }
}
