//! The gateway's input log: frames of feed sequences (recorded by a `MoldItchHandler` from a
//! generated ITCH session), venue answers, kill, sent counts and end-of-session cancels,
//! written by `InputLog`. Whatever reads is written again and must read the same, and every
//! feed sequence in it is played into a fresh handler (refused or played, never a panic).

use super::refused;
use crate::draw::G;
use crate::harness::{Checked, Verdict};
use lockstep_feed::{FeedHandler, HandlerConfig, MoldItchHandler};
use lockstep_gateway::{Input, InputLog, read_inputs};
use lockstep_sdk::{EventRecord, Nanos};

fn handler() -> MoldItchHandler {
    MoldItchHandler::new(HandlerConfig {
        gap_slots: 8,
        order_capacity: 4096,
        ..HandlerConfig::default()
    })
}

fn other(g: &mut G<'_>) -> Input {
    match g.u(0, 3) {
        0 => {
            let mut answer = EventRecord::zeroed();
            for b in answer.0.iter_mut().take(g.len(0, 64)) {
                *b = g.u(0, 255) as u8;
            }
            let (fix_seq, order) = (g.any_u64(), g.any_u64());
            Input::Venue { recv: g.int(i64::MIN, i64::MAX), fix_seq, order, answer }
        }
        1 => Input::Kill { recv: g.int(0, i64::MAX) },
        2 => Input::Sent { count: g.u(0, u64::from(u32::MAX)) as u32 },
        _ => Input::CancelAll { recv: g.int(0, i64::MAX) },
    }
}

fn write(frames: &[Vec<Input>]) -> Result<Vec<u8>, String> {
    let mut log = InputLog::new(Vec::new()).map_err(|e| e.to_string())?;
    for f in frames {
        for i in f {
            log.push(i);
        }
        log.flush().map_err(|e| e.to_string())?;
    }
    log.finish().map_err(|e| e.to_string())
}

/// A valid input log: an ITCH session's datagrams through a recording handler, one frame per
/// few datagrams, with the gateway's other inputs between them.
pub(crate) fn generate(g: &mut G<'_>) -> Vec<u8> {
    let stream = super::itch::generate(g);
    let mut h = handler();
    h.record_sequence(true);
    let mut frames = vec![Vec::new()];
    for (t, d) in super::itch::datagrams(&stream).into_iter().enumerate() {
        let recv = t as i64 * 1_000;
        let _ = h.on_datagram(d, Nanos(recv), &mut |_| {});
        let mut sequence = Vec::new();
        h.take_sequence(&mut sequence);
        if let Some(f) = frames.last_mut() {
            f.push(Input::Feed { recv, sequence });
            if g.one_in(3) {
                f.push(other(g));
            }
        }
        if g.one_in(4) {
            frames.push(Vec::new());
        }
    }
    write(&frames).unwrap_or_default()
}

/// Reads the log and plays its feed sequences; one that reads is written again (as one frame)
/// and must read the same.
pub(crate) fn check(bytes: &[u8]) -> Checked {
    let read = match read_inputs(bytes) {
        Ok(r) => r,
        Err(e) => return refused(e),
    };
    let mut h = handler();
    let mut played = None;
    for i in &read.inputs {
        if let Input::Feed { sequence, .. } = i
            && let Err(e) = h.replay_sequence(sequence, &mut |_| {})
        {
            played.get_or_insert(e.to_string());
        }
    }
    let again = write(std::slice::from_ref(&read.inputs))
        .map_err(|e| format!("an input log does not write back: {e}"))?;
    let back = read_inputs(&again[..])
        .map_err(|e| format!("an input log written back is refused: {e}"))?;
    if back.inputs != read.inputs || back.torn_tail != 0 {
        return Err(format!(
            "input log round trip differs ({} inputs, then {})",
            read.inputs.len(),
            back.inputs.len()
        ));
    }
    if read.torn_tail > 0 {
        return refused(format!("a torn tail of {} bytes", read.torn_tail));
    }
    match played {
        Some(e) => refused(e),
        None => Ok(Verdict::Accepted),
    }
}

/// Recomputes each frame's CRC-32 where the frames hold together.
#[allow(clippy::ptr_arg, reason = "the signature every target's fixup shares")]
pub(crate) fn fixup(b: &mut Vec<u8>) {
    let mut at = 20;
    while at + 12 <= b.len() && &b[at..at + 4] == b"ICHK" {
        let len = u32::from_le_bytes([b[at + 4], b[at + 5], b[at + 6], b[at + 7]]) as usize;
        let Some(stop) = (at + 12).checked_add(len).filter(|s| *s <= b.len()) else { return };
        let crc = crc32fast::hash(&b[at + 12..stop]);
        b[at + 8..at + 12].copy_from_slice(&crc.to_le_bytes());
        at = stop;
    }
}
