//! A deterministic market plus a minimal echo venue, so order-driven strategies see acks,
//! fills, cancels, rejects and timers. The venue is a test fixture, not the replay simulator:
//! limits rest until a trade crosses them, markets fill at the touch, everything acks at once.

use lockstep_sdk::{
    Action, ActionRecord, BookRecord, Canceled, Event, EventBody, EventHeader, EventRecord, Fill,
    Level, Nanos, OrderAck, OrderId, Price, Qty, Quote, Reject, Side, StrategyRunner, Trade,
    reject_reason,
};
use std::collections::{BTreeMap, VecDeque};

const TICK: i64 = 1_000_000; // 0.01

/// One step of a run: the event's sequence number, its fuel (Wasm only) and the actions.
pub(crate) type Step = (u64, Option<u64>, Vec<ActionRecord>);

struct Resting {
    side: Side,
    px: Price,
    qty: Qty,
    instrument: u16,
}

/// Drives `runner` over `n` market events, feeding venue responses back in between.
pub(crate) fn run(runner: &mut dyn StrategyRunner, n: usize) -> Result<Vec<Step>, String> {
    let mut rng = 0x0DDB_1A5E_5BAD_5EED_u64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut mids = [10_000_i64, 5_000];
    let mut tops = [Quote::default(); 2];
    let mut resting: BTreeMap<OrderId, Resting> = BTreeMap::new();
    let mut timers: BTreeMap<(i64, u64), ()> = BTreeMap::new();
    let mut feedback: VecDeque<(u16, EventBody)> = VecDeque::new();
    let mut steps = Vec::new();
    let mut seq = 0u64;
    let mut now = 0i64;

    let deliver = |runner: &mut dyn StrategyRunner,
                   seq: &mut u64,
                   now: i64,
                   instrument: u16,
                   body: EventBody,
                   book: Option<&BookRecord>|
     -> Result<(Vec<ActionRecord>, Option<u64>), String> {
        let h = EventHeader {
            seq: *seq,
            instrument,
            exchange_ts: Nanos(now - 15_000),
            local_ts: Nanos(now),
        };
        *seq += 1;
        let ev: EventRecord = Event { h, body }.encode();
        let step = runner.on_event(&ev, book).map_err(|e| e.to_string())?;
        Ok((step.actions.to_vec(), step.fuel))
    };

    for _ in 0..n {
        now += 50_000 + (next() % 400_000) as i64;
        let r = next();
        let inst = (r & 1) as u16;
        let i = usize::from(inst);
        let corr = if inst == 1 { mids[0] / 2 - mids[1] } else { 0 };
        mids[i] =
            (mids[i] + (r >> 8) as i64 % 3 - 1 + corr.signum() * i64::from(r % 5 == 0)).max(100);
        let bid =
            Level { px: Price(mids[i] * TICK), qty: Qty::from_units(1 + (r >> 20) as i64 % 40) };
        let ask = Level {
            px: Price((mids[i] + 1 + (r >> 28) as i64 % 2) * TICK),
            qty: Qty::from_units(1 + (r >> 36) as i64 % 40),
        };
        tops[i] = Quote { bid, ask };
        let mut book = None;
        let body = match (r >> 44) % 5 {
            0 | 1 => {
                let aggressor = if r >> 50 & 1 == 0 { Side::Buy } else { Side::Sell };
                let px = if aggressor == Side::Buy { ask.px } else { bid.px };
                let qty = Qty::from_units(1 + (r >> 52) as i64 % 20);
                // Resting orders of ours that this print crosses get filled.
                let crossed: Vec<OrderId> = resting
                    .iter()
                    .filter(|(_, o)| {
                        o.instrument == inst
                            && match o.side {
                                Side::Buy => o.px >= px,
                                Side::Sell => o.px <= px,
                            }
                    })
                    .map(|(id, _)| *id)
                    .collect();
                for id in crossed {
                    let o = resting.remove(&id).expect("listed above");
                    let fill =
                        Fill { order_id: id, side: o.side, px: o.px, qty: o.qty, leaves: Qty(0) };
                    feedback.push_back((o.instrument, EventBody::Fill(fill)));
                }
                EventBody::Trade(Trade { px, qty, aggressor: Some(aggressor) })
            }
            2 => EventBody::Quote(tops[i]),
            _ => {
                let mut b = BookRecord::default();
                let bids: Vec<Level> = (0..6)
                    .map(|k| Level {
                        px: Price(bid.px.0 - k * TICK),
                        qty: Qty::from_units(2 + k * 3),
                    })
                    .collect();
                let asks: Vec<Level> = (0..6)
                    .map(|k| Level {
                        px: Price(ask.px.0 + k * TICK),
                        qty: Qty::from_units(3 + k * 2),
                    })
                    .collect();
                b.write(inst, &bids, &asks);
                book = Some(b);
                EventBody::Book(tops[i])
            }
        };

        let mut queue = VecDeque::from([(inst, body, book)]);
        // Due timers fire before the market event.
        let due: Vec<(i64, u64)> = timers.range(..=(now, u64::MAX)).map(|(k, _)| *k).collect();
        for k in due {
            timers.remove(&k);
            queue.push_front((0, EventBody::Timer(k.1), None));
        }
        while let Some((instrument, body, book)) = queue.pop_front() {
            let s = seq;
            let (acts, fuel) = deliver(runner, &mut seq, now, instrument, body, book.as_ref())?;
            for a in &acts {
                match a.decode().map_err(|e| e.to_string())? {
                    Action::PlaceLimit { instrument, order_id, side, px, qty } => {
                        if resting.contains_key(&order_id) || qty.0 <= 0 || px.0 <= 0 {
                            let reason = if qty.0 <= 0 || px.0 <= 0 {
                                reject_reason::INVALID
                            } else {
                                reject_reason::DUPLICATE_ID
                            };
                            feedback.push_back((
                                instrument,
                                EventBody::Reject(Reject { order_id, reason }),
                            ));
                        } else {
                            resting.insert(order_id, Resting { side, px, qty, instrument });
                            feedback.push_back((
                                instrument,
                                EventBody::OrderAck(OrderAck { order_id, side, px, qty }),
                            ));
                        }
                    }
                    Action::PlaceMarket { instrument, order_id, side, qty } => {
                        let t = tops[usize::from(instrument.min(1))];
                        let px = if side == Side::Buy { t.ask.px } else { t.bid.px };
                        let fill = Fill { order_id, side, px, qty, leaves: Qty(0) };
                        feedback.push_back((instrument, EventBody::Fill(fill)));
                    }
                    Action::Replace { instrument, order_id, px, qty } => {
                        match resting.get_mut(&order_id) {
                            Some(o) => {
                                o.px = px;
                                o.qty = qty;
                                let side = o.side;
                                feedback.push_back((
                                    instrument,
                                    EventBody::OrderAck(OrderAck { order_id, side, px, qty }),
                                ));
                            }
                            None => feedback.push_back((
                                instrument,
                                EventBody::Reject(Reject {
                                    order_id,
                                    reason: reject_reason::UNKNOWN_ORDER,
                                }),
                            )),
                        }
                    }
                    Action::Cancel { instrument, order_id } => match resting.remove(&order_id) {
                        Some(o) => feedback.push_back((
                            instrument,
                            EventBody::Canceled(Canceled { order_id, qty: o.qty }),
                        )),
                        None => feedback.push_back((
                            instrument,
                            EventBody::Reject(Reject {
                                order_id,
                                reason: reject_reason::UNKNOWN_ORDER,
                            }),
                        )),
                    },
                    Action::SetTimer { timer_id, at } => {
                        timers.insert((at.0.max(now + 1), timer_id), ());
                    }
                    Action::Signal { .. } => {}
                }
            }
            steps.push((s, fuel, acts));
            while let Some((instrument, body)) = feedback.pop_front() {
                queue.push_back((instrument, body, None));
            }
        }
    }
    Ok(steps)
}
