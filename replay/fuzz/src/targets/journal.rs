//! The gateway journal: a header and entries (market, venue, risk, timer and init inputs,
//! with and without book records, with actions) written by `JournalWriter`; whatever reads is
//! written again and must read the same.

use super::refused;
use crate::draw::{G, PRINTABLE};
use crate::harness::{Checked, Verdict};
use lockstep_gateway::{Entry, JournalHeader, JournalWriter, Origin, read_journal};
use lockstep_sdk::{ActionRecord, BookRecord, EventRecord};

fn bytes<const N: usize>(g: &mut G<'_>) -> [u8; N] {
    let mut a = [0u8; N];
    let dense = g.bool();
    for b in &mut a {
        *b = if dense || g.one_in(8) { g.u(0, 255) as u8 } else { 0 };
    }
    a
}

fn entry(g: &mut G<'_>) -> Entry {
    let origin =
        g.pick(&[Origin::Market, Origin::Venue, Origin::Risk, Origin::Timer, Origin::Init]);
    Entry {
        recv_ns: g.int(i64::MIN, i64::MAX),
        origin,
        event: EventRecord(bytes(g)),
        book: g.bool().then(|| BookRecord(bytes(g))),
        error: g.u(0, u64::from(u16::MAX)) as u16,
        fuel: g.any_u64(),
        actions: (0..g.len(0, 4)).map(|_| ActionRecord(bytes(g))).collect(),
    }
}

fn write(header: &JournalHeader, entries: &[Entry]) -> Result<Vec<u8>, String> {
    let mut w = JournalWriter::new(Vec::new(), header).map_err(|e| e.to_string())?;
    for e in entries {
        w.append(e).map_err(|e| e.to_string())?;
    }
    w.finish().map_err(|e| e.to_string())
}

/// A valid journal.
pub(crate) fn generate(g: &mut G<'_>) -> Vec<u8> {
    let header = JournalHeader {
        strategy: g.word(PRINTABLE, 0, 24),
        params: g.word(PRINTABLE, 0, 40),
        module_sha256: g.word(b"0123456789abcdef", 0, 64),
        tier: g.pick(&["interpreter", "compiled", "native"]).to_owned(),
        init_fuel: g.any_u64(),
    };
    let n = if g.one_in(16) { g.len(250, 300) } else { g.len(0, 30) };
    let entries: Vec<Entry> = (0..n).map(|_| entry(g)).collect();
    write(&header, &entries).unwrap_or_default()
}

/// Reads the journal; one that reads is written again and must read the same.
pub(crate) fn check(bytes: &[u8]) -> Checked {
    let j = match read_journal(bytes) {
        Ok(j) => j,
        Err(e) => return refused(e),
    };
    let again =
        write(&j.header, &j.entries).map_err(|e| format!("a journal does not write back: {e}"))?;
    let k =
        read_journal(&again[..]).map_err(|e| format!("a journal written back is refused: {e}"))?;
    if k.header != j.header || k.entries != j.entries || k.torn_tail != 0 {
        return Err(format!(
            "journal round trip differs ({} entries, then {})",
            j.entries.len(),
            k.entries.len()
        ));
    }
    if j.torn_tail > 0 {
        return refused(format!("a torn tail of {} bytes", j.torn_tail));
    }
    Ok(Verdict::Accepted)
}

fn u32_at(b: &[u8], at: usize) -> usize {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]) as usize
}

/// Recomputes the header's and each chunk's CRC-32 where the structure holds together.
#[allow(clippy::ptr_arg, reason = "the signature every target's fixup shares")]
pub(crate) fn fixup(b: &mut Vec<u8>) {
    if b.len() < 24 {
        return;
    }
    let len = u32_at(b, 20);
    let Some(end) = 24usize.checked_add(len).filter(|e| e + 4 <= b.len()) else { return };
    let crc = crc32fast::hash(&b[24..end]);
    b[end..end + 4].copy_from_slice(&crc.to_le_bytes());
    let mut at = end + 4;
    while at + 16 <= b.len() && &b[at..at + 4] == b"JCHK" {
        let stop = at + 16 + u32_at(b, at + 8);
        if stop > b.len() {
            return;
        }
        let crc = crc32fast::hash(&b[at + 16..stop]);
        b[at + 12..at + 16].copy_from_slice(&crc.to_le_bytes());
        at = stop;
    }
}
