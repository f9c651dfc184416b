//! The run digests: SHA-256 over the ordered stream of everything a strategy did, and a second
//! SHA-256 over the fuel each event cost.
//!
//! `digest` covers, for each event delivered to a strategy in order, its sequence number and
//! the count and raw bytes of the actions it returned (all little-endian); events the simulated
//! exchange sends back (acks, fills, rejects, cancels, timers) are hashed whole, so every fill
//! is in it; a halt is hashed with the sequence number and the error's stable code (never its
//! wording). It is the same on every tier and for a built-in's native build: two runs agree on
//! it exactly when they agree on every action, fill and halt.
//!
//! `fuel_digest` covers each event's sequence number and the fuel it used. Fuel is metered per
//! tier, so it agrees across runs, processes and machines within one tier.

use crate::snap::{Reader, Snap, SnapError, snap_struct};
use lockstep_sdk::{ACTION_SIZE, ActionRecord, EventRecord};
use sha2::digest::generic_array::GenericArray;
use std::fmt;

const DOMAIN: &[u8] = b"lockstep-replay digest v1\0";
const FUEL_DOMAIN: &[u8] = b"lockstep-replay fuel digest v1\0";
const TAG_EVENT: u8 = 1;
const TAG_EXCHANGE: u8 = 2;
const TAG_HALT: u8 = 3;

/// SHA-256 over a stream, with its running state open to a checkpoint (the block function is
/// `sha2`'s; this holds the chaining value, the partial block and the length).
#[derive(Clone, Debug)]
struct Sha256 {
    state: [u32; 8],
    block: [u8; 64],
    /// Bytes hashed so far (the partial block is `total % 64` bytes long).
    total: u64,
}

const H0: [u32; 8] = [
    0x6a09_e667,
    0xbb67_ae85,
    0x3c6e_f372,
    0xa54f_f53a,
    0x510e_527f,
    0x9b05_688c,
    0x1f83_d9ab,
    0x5be0_cd19,
];

impl Sha256 {
    fn new() -> Self {
        Self { state: H0, block: [0; 64], total: 0 }
    }

    #[inline]
    fn update(&mut self, data: impl AsRef<[u8]>) {
        let mut data = data.as_ref();
        let fill = (self.total % 64) as usize;
        self.total = self.total.wrapping_add(data.len() as u64);
        if fill > 0 {
            let n = data.len().min(64 - fill);
            self.block[fill..fill + n].copy_from_slice(&data[..n]);
            data = &data[n..];
            if fill + n < 64 {
                return;
            }
            compress(&mut self.state, &self.block);
        }
        let mut blocks = data.chunks_exact(64);
        for b in &mut blocks {
            compress(&mut self.state, b);
        }
        let rest = blocks.remainder();
        self.block[..rest.len()].copy_from_slice(rest);
    }

    fn finalize(mut self) -> [u8; 32] {
        let bits = self.total.wrapping_mul(8);
        self.update([0x80]);
        while self.total % 64 != 56 {
            self.update([0]);
        }
        self.update(bits.to_be_bytes());
        let mut out = [0u8; 32];
        for (o, w) in out.chunks_exact_mut(4).zip(self.state) {
            o.copy_from_slice(&w.to_be_bytes());
        }
        out
    }
}

/// One 64-byte block into the chaining state, read in place (no copy of the block).
#[inline]
fn compress(state: &mut [u32; 8], block: &[u8]) {
    sha2::compress256(state, std::slice::from_ref(GenericArray::from_slice(block)));
}

impl Snap for Sha256 {
    fn put(&self, w: &mut Vec<u8>) {
        for s in self.state {
            s.put(w);
        }
        self.total.put(w);
        w.extend_from_slice(&self.block[..(self.total % 64) as usize]);
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, SnapError> {
        let mut state = [0u32; 8];
        for s in &mut state {
            *s = u32::get(r)?;
        }
        let total = u64::get(r)?;
        let fill = (total % 64) as usize;
        let mut block = [0u8; 64];
        block[..fill].copy_from_slice(r.take(fill)?);
        Ok(Self { state, block, total })
    }
}

/// A streaming digest (see the module documentation for what goes in).
#[derive(Clone)]
pub struct Digest {
    h: Sha256,
    fuel: Sha256,
    events: u64,
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Digest").field("events", &self.events).finish_non_exhaustive()
    }
}

impl Default for Digest {
    fn default() -> Self {
        Self::new()
    }
}

snap_struct!(Digest { h, fuel, events });

impl Digest {
    /// An empty digest.
    pub fn new() -> Self {
        let mut h = Sha256::new();
        h.update(DOMAIN);
        let mut fuel = Sha256::new();
        fuel.update(FUEL_DOMAIN);
        Self { h, fuel, events: 0 }
    }

    /// One event handled: its sequence number, the fuel used and the actions returned.
    #[inline]
    pub fn event(&mut self, seq: u64, fuel: u64, actions: &[ActionRecord]) {
        let mut head = [0u8; 13];
        head[0] = TAG_EVENT;
        head[1..9].copy_from_slice(&seq.to_le_bytes());
        head[9..13].copy_from_slice(&(actions.len() as u32).to_le_bytes());
        self.h.update(head);
        let mut cost = [0u8; 16];
        cost[..8].copy_from_slice(&seq.to_le_bytes());
        cost[8..].copy_from_slice(&fuel.to_le_bytes());
        self.fuel.update(cost);
        for a in actions {
            self.h.update(a.0);
        }
        self.events += 1;
    }

    /// An event the simulated exchange sent to the strategy (ack, fill, reject, cancel, timer).
    #[inline]
    pub fn exchange_event(&mut self, rec: &EventRecord) {
        self.h.update([TAG_EXCHANGE]);
        self.h.update(rec.0);
    }

    /// The strategy failed at `seq` with the error whose stable code is `code`
    /// (the engine's `Error::code`, or a runner's own).
    pub fn halt(&mut self, seq: u64, code: u16) {
        self.h.update([TAG_HALT]);
        self.h.update(seq.to_le_bytes());
        self.h.update(code.to_le_bytes());
    }

    /// Raw bytes (for digests of something other than strategy events, e.g. book views).
    #[inline]
    pub fn bytes(&mut self, b: &[u8]) {
        self.h.update(b);
        self.events += 1;
    }

    /// Events hashed so far.
    pub fn events(&self) -> u64 {
        self.events
    }

    /// The digest value.
    pub fn finish(self) -> [u8; 32] {
        self.h.finalize()
    }

    /// The digest and the fuel digest.
    pub fn finish_with_fuel(self) -> ([u8; 32], [u8; 32]) {
        (self.h.finalize(), self.fuel.finalize())
    }
}

/// Lower-case hex of a digest.
pub fn hex(d: &[u8; 32]) -> String {
    d.iter().fold(String::with_capacity(64), |mut s, b| {
        s.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
        s.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
        s
    })
}

/// SHA-256 over several digests in order (a run with several strategies).
pub fn combine<'a>(parts: impl IntoIterator<Item = &'a [u8; 32]>) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"lockstep-replay combined v1\0");
    for p in parts {
        h.update(p);
    }
    h.finalize()
}

const _: () = assert!(ACTION_SIZE == 64);

#[cfg(test)]
mod tests {
    use super::*;
    use lockstep_sdk::{Action, Side};

    #[test]
    fn digest_depends_on_every_input() {
        let a = Action::Cancel { instrument: 0, order_id: 1 }.encode();
        let b = Action::Cancel { instrument: 0, order_id: 2 }.encode();
        let run = |seq, fuel, acts: &[ActionRecord]| {
            let mut d = Digest::new();
            d.event(seq, fuel, acts);
            d.finish_with_fuel()
        };
        let (base, base_fuel) = run(1, 10, &[a]);
        assert_eq!((base, base_fuel), run(1, 10, &[a]));
        assert_ne!(base, run(2, 10, &[a]).0);
        assert_ne!(base_fuel, run(2, 10, &[a]).1);
        // Fuel moves only the fuel digest; actions only the digest.
        assert_eq!(base, run(1, 11, &[a]).0);
        assert_ne!(base_fuel, run(1, 11, &[a]).1);
        assert_ne!(base, run(1, 10, &[b]).0);
        assert_eq!(base_fuel, run(1, 10, &[b]).1);
        assert_ne!(base, run(1, 10, &[a, a]).0);
        let halted = |code| {
            let mut d = Digest::new();
            d.halt(3, code);
            d.finish()
        };
        assert_ne!(halted(0x0c00), halted(0x0e01));
        let _ = Side::Buy;
        assert_eq!(hex(&[0xab; 32]).len(), 64);
        assert!(hex(&base).chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(combine([&base]), base);
    }

    #[test]
    fn our_sha256_is_sha256_at_every_length_and_split() {
        use sha2::Digest as _;
        let data: Vec<u8> = (0..300u32).map(|i| (i * 7 + 3) as u8).collect();
        for len in [0, 1, 55, 56, 63, 64, 65, 119, 128, 300] {
            let want: [u8; 32] = sha2::Sha256::digest(&data[..len]).into();
            for split in [0, len / 3, len] {
                let mut h = Sha256::new();
                h.update(&data[..split]);
                // A checkpoint between the two halves changes nothing.
                let mut w = Vec::new();
                h.put(&mut w);
                let mut r = Reader::new(&w);
                let mut h = Sha256::get(&mut r).unwrap();
                assert!(r.is_empty());
                h.update(&data[split..len]);
                assert_eq!(h.finalize(), want, "length {len}, split {split}");
            }
        }
    }
}
