//! Publish → (drop, duplicate, reorder, retransmit) → parse gives back the same events.

use lockstep_feed::{
    DEFAULT_MAX_DATAGRAM, FeedEvent, FeedHandler, HaltReason, HandlerConfig, ItchPublisher,
    MoldItchHandler, Packet, PacketBuilder, Request, SessionId, end_of_session,
};
use lockstep_sdk::{InstrumentId, Nanos};
use lockstep_sim::{
    EventSource, FuzzRng, InstrumentInfo, MarketEvent, Synth, SynthConfig, TapeEvent,
};
use std::collections::VecDeque;

fn session() -> SessionId {
    SessionId::new("SYNTH0001").unwrap()
}

/// The synthetic market's events and instruments.
fn market(events: u64) -> (Vec<TapeEvent>, Vec<InstrumentInfo>) {
    let mut s = Synth::new(SynthConfig { events, ..SynthConfig::default() });
    let instruments = s.header().instruments.clone();
    let (mut all, mut buf) = (Vec::new(), Vec::new());
    while s.next_chunk(&mut buf).unwrap() {
        all.extend_from_slice(&buf);
    }
    (all, instruments)
}

/// The venue: directory, every event, end of messages, in datagrams of at most 1400 bytes.
fn publish(events: &[TapeEvent], instruments: &[InstrumentInfo]) -> Vec<Vec<u8>> {
    let mut p = ItchPublisher::new(instruments, Nanos(0), 1 << 16).unwrap();
    let mut b = PacketBuilder::new(session(), 1, DEFAULT_MAX_DATAGRAM);
    let mut out = Vec::new();
    let mut push = |b: &mut PacketBuilder, m| {
        if b.push(&m).is_err() {
            out.push(b.datagram().to_vec());
            b.next_packet();
            b.push(&m).unwrap();
        }
    };
    for i in 0..instruments.len() {
        push(&mut b, p.stock_directory(i as InstrumentId, Nanos(0)).unwrap());
    }
    for e in events {
        push(&mut b, p.encode(e).unwrap());
    }
    let last = events.last().map_or(Nanos(0), |e| e.exchange_ts);
    push(&mut b, p.system_event(b'C', last).unwrap());
    out.push(b.datagram().to_vec());
    out.push(end_of_session(session(), b.next_seq()).to_vec());
    out
}

/// The retransmission server: the original packets overlapping the requested range.
fn answer(sent: &[Vec<u8>], r: Request) -> Vec<Vec<u8>> {
    let end = r.seq + u64::from(r.count);
    sent.iter()
        .filter(|d| {
            let p = Packet::parse(d).unwrap();
            p.count() > 0 && p.seq < end && p.next_seq() > r.seq
        })
        .cloned()
        .collect()
}

struct Received {
    tape: Vec<TapeEvent>,
    instruments: Vec<InstrumentInfo>,
    halts: Vec<HaltReason>,
    ended: usize,
}

/// Runs `datagrams` through a network that drops, duplicates and swaps with `rng`; answers
/// retransmission requests (after a delay) when `serve`.
fn run(sent: &[Vec<u8>], seed: u64, serve: bool) -> (Received, MoldItchHandler) {
    let mut rng = FuzzRng::new(seed);
    let mut wire: VecDeque<Vec<u8>> = VecDeque::new();
    for d in sent {
        match rng.below(100) {
            0..=4 => {}                                   // dropped
            5..=9 => wire.extend([d.clone(), d.clone()]), // duplicated
            10..=19 if !wire.is_empty() => {
                let last = wire.pop_back().unwrap(); // swapped with the previous one
                wire.extend([d.clone(), last]);
            }
            _ => wire.push_back(d.clone()),
        }
    }
    // The end of session is repeated, as MoldUDP64 venues do.
    wire.extend([sent.last().unwrap().clone(), sent.last().unwrap().clone()]);
    let cfg = HandlerConfig { order_capacity: 1 << 16, gap_slots: 64, ..HandlerConfig::default() };
    let mut h = MoldItchHandler::new(cfg);
    let mut rx =
        Received { tape: Vec::new(), instruments: Vec::new(), halts: Vec::new(), ended: 0 };
    let mut sink = |e: FeedEvent| match e {
        FeedEvent::Tape(t) => rx.tape.push(t),
        FeedEvent::Instrument(i) => rx.instruments.push(i),
        FeedEvent::Halt { reason, .. } => rx.halts.push(reason),
        FeedEvent::EndOfSession { .. } => rx.ended += 1,
        _ => {}
    };
    let mut t = 0i64;
    let mut delayed: VecDeque<(i64, Vec<u8>)> = VecDeque::new();
    while !wire.is_empty() || !delayed.is_empty() {
        t += 1_000_000; // 1 ms per datagram
        let d = match delayed.front() {
            Some((due, _)) if *due <= t || wire.is_empty() => delayed.pop_front().unwrap().1,
            _ => wire.pop_front().unwrap(),
        };
        let o = h.on_datagram(&d, Nanos(t), &mut sink).unwrap();
        let mut requests: Vec<Request> = o.request.into_iter().collect();
        requests.extend(h.poll(Nanos(t), &mut sink));
        for r in requests {
            if serve {
                delayed.extend(answer(sent, r).into_iter().map(|d| (t + 3_000_000, d)));
            }
        }
    }
    // Give the timers their chance (unanswered requests run out).
    for k in 1..=10 {
        t += 100_000_000 * k;
        let _ = h.poll(Nanos(t), &mut sink);
    }
    (rx, h)
}

fn key(e: &TapeEvent) -> (Nanos, InstrumentId, MarketEvent) {
    (e.exchange_ts, e.instrument, e.msg)
}

#[test]
fn synth_market_survives_a_lossy_network() {
    let (events, instruments) = market(20_000);
    assert!(events.iter().any(|e| matches!(e.msg, MarketEvent::Delete { .. })));
    assert!(events.iter().any(|e| matches!(e.msg, MarketEvent::Execute { .. })));
    let sent = publish(&events, &instruments);
    assert!(sent.iter().all(|d| d.len() <= DEFAULT_MAX_DATAGRAM));
    for seed in 0..4 {
        let (rx, h) = run(&sent, seed, true);
        let c = *h.counters();
        assert!(rx.halts.is_empty(), "seed {seed}: {:?} {c:?}", rx.halts);
        assert_eq!(rx.tape.len(), events.len(), "seed {seed}: {c:?}");
        // The batch flag does not cross ITCH and local time is the receiver's.
        assert!(rx.tape.iter().map(key).eq(events.iter().map(key)), "seed {seed}");
        assert_eq!(rx.instruments.len(), 2);
        assert_eq!(rx.instruments[0].symbol, instruments[0].symbol);
        assert_eq!(rx.ended, 1);
        assert!(c.gaps > 0 && c.duplicates > 0 && c.recovered > 0, "seed {seed}: {c:?}");
        assert_eq!((c.unknown_orders, c.malformed, c.unrecoverable), (0, 0, 0), "{c:?}");
    }
}

#[test]
fn unanswered_requests_halt_and_the_feed_goes_on() {
    let (events, instruments) = market(5_000);
    let sent = publish(&events, &instruments);
    let (rx, h) = run(&sent, 1, false);
    let c = *h.counters();
    assert!(!rx.halts.is_empty(), "{c:?}");
    assert!(matches!(rx.halts[0], HaltReason::GapUnrecoverable { attempts: 3, .. }));
    assert_eq!(c.unrecoverable, rx.halts.len() as u64);
    assert!(c.suppressed > 0 && c.skipped > 0, "{c:?}");
    // Delivered events before the first halt are the market's own prefix.
    assert!(rx.tape.len() < events.len());
    assert!(rx.tape.iter().map(key).eq(events[..rx.tape.len()].iter().map(key)));
    assert_eq!(rx.ended, 1, "the end of session still arrives while halted");
}
