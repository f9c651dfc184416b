//! Checkpoints: a strategy's whole state as versioned bytes. A Wasm guest's state is its linear
//! memory, its mutable globals and whether it has halted; all three are the same bytes on every
//! tier and machine, so a checkpoint taken on one tier restores on the other.
//!
//! Layout (little-endian), format version 1:
//!
//! | bytes | field |
//! |---|---|
//! | 12 | magic `LOCKSTEPCKPT` |
//! | 4 | format version |
//! | 4 | ABI version of the guest |
//! | 32 | SHA-256 of the module's original `.wasm` bytes |
//! | 1 | flags (bit 0: halted) |
//! | 8 | linear memory size in bytes |
//! | 8 | bytes of memory stored (the rest up to the size is zero) |
//! | 4 | number of mutable globals, then per global: index (4), type (1), value bits (8) |
//! | n | the stored memory |
//! | 4 | CRC-32 of everything before it |

use crate::instrument::{GlobalKind, MutableGlobal};
use core::fmt;

const MAGIC: &[u8; 12] = b"LOCKSTEPCKPT";
/// The checkpoint format this engine writes and reads.
pub const CHECKPOINT_VERSION: u32 = 1;
/// The header before the globals, and the CRC after the memory.
const FIXED: usize = 12 + 4 + 4 + 32 + 1 + 8 + 8 + 4 + CRC;
const CRC: usize = 4;
const PER_GLOBAL: usize = 4 + 1 + 8;
const FLAG_HALTED: u8 = 1;

/// Why checkpoint bytes were refused. The running instance, if any, is untouched.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CheckpointError {
    /// The bytes do not start with a Lockstep checkpoint's magic.
    NotACheckpoint,
    /// Written in a format version this engine does not read.
    FormatVersion {
        /// The version in the bytes.
        found: u32,
    },
    /// The bytes end before the checkpoint does.
    Truncated {
        /// Bytes the header says the checkpoint has.
        needed: u64,
        /// Bytes given.
        got: usize,
    },
    /// The checksum does not match, or a field is impossible.
    Corrupt {
        /// Which check failed.
        reason: String,
    },
    /// Taken from another module (the SHA-256 of its `.wasm` differs).
    OtherModule {
        /// The module's SHA-256, hex.
        expected: String,
        /// The checkpoint's, hex.
        found: String,
    },
    /// The checkpoint's memory is larger than this engine's memory limit.
    MemoryTooLarge {
        /// Bytes of linear memory in the checkpoint.
        bytes: u64,
        /// The engine's limit in bytes.
        limit: usize,
    },
}

impl CheckpointError {
    /// The low byte of the engine's stable error code for this refusal.
    pub(crate) fn sub_code(&self) -> u16 {
        match self {
            CheckpointError::NotACheckpoint => 1,
            CheckpointError::FormatVersion { .. } => 2,
            CheckpointError::Truncated { .. } => 3,
            CheckpointError::Corrupt { .. } => 4,
            CheckpointError::OtherModule { .. } => 5,
            CheckpointError::MemoryTooLarge { .. } => 6,
        }
    }
}

impl fmt::Display for CheckpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CheckpointError::NotACheckpoint => {
                f.write_str("not a Lockstep checkpoint (no LOCKSTEPCKPT header)")
            }
            CheckpointError::FormatVersion { found } => write!(
                f,
                "checkpoint format version {found}, but this engine reads version \
                 {CHECKPOINT_VERSION}; take the checkpoint again with this build"
            ),
            CheckpointError::Truncated { needed, got } => write!(
                f,
                "checkpoint is truncated: {got} bytes of {needed}; it was cut in transit or \
                 while being written"
            ),
            CheckpointError::Corrupt { reason } => write!(f, "checkpoint is corrupt: {reason}"),
            CheckpointError::OtherModule { expected, found } => write!(
                f,
                "checkpoint belongs to another module (sha256 {found}, this module is \
                 {expected}); restore it with the module it was taken from"
            ),
            CheckpointError::MemoryTooLarge { bytes, limit } => write!(
                f,
                "checkpoint holds {bytes} bytes of memory but this engine allows {limit}; raise \
                 Config::max_memory_pages"
            ),
        }
    }
}

/// A checkpoint's fields, borrowed from its bytes.
#[derive(Debug)]
pub(crate) struct Image<'a> {
    pub(crate) abi_version: u32,
    pub(crate) module: [u8; 32],
    pub(crate) halted: bool,
    pub(crate) memory_size: u64,
    pub(crate) memory: &'a [u8],
    pub(crate) globals: Vec<(MutableGlobal, u64)>,
}

/// What a checkpoint is written from.
pub(crate) struct State<'a> {
    pub(crate) abi_version: u32,
    pub(crate) module: &'a [u8; 32],
    pub(crate) halted: bool,
    pub(crate) memory: &'a [u8],
    pub(crate) globals: &'a [(MutableGlobal, u64)],
}

/// Writes `state` into `out` (cleared first; its capacity is reused).
pub(crate) fn write(state: &State<'_>, out: &mut Vec<u8>) {
    // Trailing zero pages are implied by the size: most of a fresh guest's memory is zero.
    let stored = state.memory.iter().rposition(|b| *b != 0).map_or(0, |i| i + 1);
    out.clear();
    out.reserve(FIXED + state.globals.len() * PER_GLOBAL + stored);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&CHECKPOINT_VERSION.to_le_bytes());
    out.extend_from_slice(&state.abi_version.to_le_bytes());
    out.extend_from_slice(state.module);
    out.push(if state.halted { FLAG_HALTED } else { 0 });
    out.extend_from_slice(&(state.memory.len() as u64).to_le_bytes());
    out.extend_from_slice(&(stored as u64).to_le_bytes());
    out.extend_from_slice(&(state.globals.len() as u32).to_le_bytes());
    for (g, bits) in state.globals {
        out.extend_from_slice(&g.index.to_le_bytes());
        out.push(g.kind as u8);
        out.extend_from_slice(&bits.to_le_bytes());
    }
    out.extend_from_slice(&state.memory[..stored]);
    let crc = crc32fast::hash(out);
    out.extend_from_slice(&crc.to_le_bytes());
}

/// A little-endian cursor that reports running out as truncation.
struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], CheckpointError> {
        let end = self.at.checked_add(n).filter(|e| *e <= self.bytes.len());
        let Some(end) = end else {
            return Err(CheckpointError::Truncated {
                needed: (self.at as u64).saturating_add(n as u64).saturating_add(CRC as u64),
                got: self.bytes.len(),
            });
        };
        let out = &self.bytes[self.at..end];
        self.at = end;
        Ok(out)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], CheckpointError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    fn u32(&mut self) -> Result<u32, CheckpointError> {
        self.array().map(u32::from_le_bytes)
    }

    fn u64(&mut self) -> Result<u64, CheckpointError> {
        self.array().map(u64::from_le_bytes)
    }
}

/// Parses and checks checkpoint bytes: magic, version, lengths and checksum.
pub(crate) fn read(bytes: &[u8]) -> Result<Image<'_>, CheckpointError> {
    if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
        return Err(CheckpointError::NotACheckpoint);
    }
    let mut c = Cursor { bytes, at: MAGIC.len() };
    let version = c.u32()?;
    if version != CHECKPOINT_VERSION {
        return Err(CheckpointError::FormatVersion { found: version });
    }
    let abi_version = c.u32()?;
    let module = c.array::<32>()?;
    let flags = c.array::<1>()?[0];
    let memory_size = c.u64()?;
    let stored = c.u64()?;
    let count = c.u32()?;
    let corrupt = |reason: String| CheckpointError::Corrupt { reason };
    if flags & !FLAG_HALTED != 0 {
        return Err(corrupt(format!("unknown flags {flags:#04x}")));
    }
    if stored > memory_size || memory_size % crate::config::WASM_PAGE as u64 != 0 {
        return Err(corrupt(format!(
            "memory of {memory_size} bytes with {stored} stored is not whole Wasm pages"
        )));
    }
    let need = (FIXED as u64)
        .saturating_add(u64::from(count).saturating_mul(PER_GLOBAL as u64))
        .saturating_add(stored);
    if (bytes.len() as u64) < need {
        return Err(CheckpointError::Truncated { needed: need, got: bytes.len() });
    }
    if bytes.len() as u64 > need {
        return Err(corrupt(format!("{} bytes follow its end", bytes.len() as u64 - need)));
    }
    let (body, crc) = bytes.split_at(bytes.len() - CRC);
    if crc32fast::hash(body).to_le_bytes() != crc {
        return Err(corrupt("its CRC-32 does not match its contents".into()));
    }
    let mut globals = Vec::with_capacity(count as usize);
    for _ in 0..count {
        let index = c.u32()?;
        let tag = c.array::<1>()?[0];
        let kind = GlobalKind::from_tag(tag)
            .ok_or_else(|| corrupt(format!("global {index} has unknown type {tag}")))?;
        globals.push((MutableGlobal { index, kind }, c.u64()?));
    }
    let memory = c.take(stored as usize)?;
    Ok(Image {
        abi_version,
        module,
        halted: flags & FLAG_HALTED != 0,
        memory_size,
        memory,
        globals,
    })
}

/// Lower-case hex of a digest.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        let mut memory = vec![0u8; 2 * crate::config::WASM_PAGE];
        memory[5] = 9;
        memory[70_000] = 1;
        let globals = [(MutableGlobal { index: 0, kind: GlobalKind::I32 }, 1024)];
        let mut out = Vec::new();
        write(
            &State {
                abi_version: 1,
                module: &[7; 32],
                halted: true,
                memory: &memory,
                globals: &globals,
            },
            &mut out,
        );
        out
    }

    #[test]
    fn round_trips_and_trims_trailing_zeros() {
        let bytes = sample();
        assert_eq!(bytes.len(), FIXED + PER_GLOBAL + 70_001);
        assert_eq!(FIXED, 77);
        let image = read(&bytes).unwrap();
        assert!(image.halted);
        assert_eq!(image.memory_size, 2 * 65_536);
        assert_eq!(image.memory.len(), 70_001);
        assert_eq!(image.memory[5], 9);
        assert_eq!(image.globals[0].1, 1024);
    }

    #[test]
    fn every_truncation_and_every_flipped_byte_is_refused() {
        let bytes = sample();
        for cut in 0..bytes.len() {
            assert!(read(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        for at in (0..bytes.len()).step_by(97).chain([bytes.len() - 1]) {
            let mut b = bytes.clone();
            b[at] ^= 0x20;
            assert!(read(&b).is_err(), "flip at {at}");
        }
        let mut b = bytes.clone();
        b[12] = 2;
        assert_eq!(read(&b).unwrap_err(), CheckpointError::FormatVersion { found: 2 });
        assert_eq!(read(b"hello").unwrap_err(), CheckpointError::NotACheckpoint);
    }
}
