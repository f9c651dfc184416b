//! The examples' synthetic market (`examples/c/synth.h`) rebuilt in Rust with the SDK's own
//! encoders, run on the Rust engine: what the C and C++ gateways must print.

use lockstep_engine::sdk::{
    BookRecord, Event, EventBody, EventHeader, EventRecord, Level, Nanos, ONE, Price, Qty, Quote,
    action_kind,
};
use lockstep_engine::{Config, Engine, StrategyModule, Tier};

/// `synth.h`'s generator.
struct Synth {
    state: u64,
    mid: i64,
    seq: u64,
}

impl Synth {
    fn new(seed: u64) -> Self {
        Self { state: seed, mid: 100 * ONE, seq: 0 }
    }

    fn next(&mut self) -> u64 {
        self.state = self.state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.state >> 33
    }

    fn qty(&mut self) -> Qty {
        Qty((1 + self.next() % 9) as i64 * ONE)
    }

    /// The next event, and the book for book events.
    fn event(&mut self) -> (EventRecord, Option<BookRecord>) {
        let tick = ONE / 100;
        self.seq += 1;
        self.mid += ((self.next() % 5) as i64 - 2) * tick;
        let half = (1 + self.next() % 3) as i64 * tick;
        let ts = self.seq as i64 * 1_000_000;
        let h = EventHeader {
            seq: self.seq,
            instrument: 0,
            exchange_ts: Nanos(ts),
            local_ts: Nanos(ts + 25_000),
        };
        let bid = Level { px: Price(self.mid - half), qty: self.qty() };
        let ask = Level { px: Price(self.mid + half), qty: self.qty() };
        let quote = Quote { bid, ask };
        if !self.seq.is_multiple_of(4) {
            return (Event { h, body: EventBody::Quote(quote) }.encode(), None);
        }
        let (mut bids, mut asks) = (Vec::new(), Vec::new());
        for i in 0..5 {
            let b_qty = if i == 0 { bid.qty } else { self.qty() };
            let a_qty = if i == 0 { ask.qty } else { self.qty() };
            bids.push(Level { px: Price(bid.px.0 - i * tick), qty: b_qty });
            asks.push(Level { px: Price(ask.px.0 + i * tick), qty: a_qty });
        }
        let mut book = BookRecord::default();
        book.write(0, &bids, &asks);
        (Event { h, body: EventBody::Book(quote) }.encode(), Some(book))
    }
}

/// What a gateway prints for a run.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Expected {
    /// `actions place_limit=… signal=…`.
    pub(crate) actions: String,
    /// `fuel=…`.
    pub(crate) fuel: String,
    /// `action_hash=…`.
    pub(crate) hash: String,
}

/// Runs `events` events of the synthetic market through `name` with its default params.
pub(crate) fn expected(name: &str, tier: Tier, events: u64) -> Expected {
    let info = lockstep_strategies::get(name).expect("a catalog strategy");
    let mut config = Config::new();
    config.tier(tier);
    let engine = Engine::try_new(&config).expect("engine");
    let module = StrategyModule::new(&engine, info.wasm).expect("module");
    let mut instance = module.instantiate(info.default_params).expect("instance");
    let mut synth = Synth::new(42);
    let (mut kinds, mut fuel, mut hash) = ([0u64; 7], 0u64, 14695981039346656037u64);
    for _ in 0..events {
        let (event, book) = synth.event();
        let actions = instance.on_event(&event, book.as_ref()).expect("on_event");
        for a in actions {
            kinds[usize::from(a.kind())] += 1;
            for b in a.0 {
                hash = (hash ^ u64::from(b)).wrapping_mul(1099511628211);
            }
        }
        fuel += instance.last_fuel().0;
    }
    let k = |kind: u16| kinds[usize::from(kind)];
    Expected {
        actions: format!(
            "actions place_limit={} place_market={} cancel={} replace={} set_timer={} signal={}",
            k(action_kind::PLACE_LIMIT),
            k(action_kind::PLACE_MARKET),
            k(action_kind::CANCEL),
            k(action_kind::REPLACE),
            k(action_kind::SET_TIMER),
            k(action_kind::SIGNAL),
        ),
        fuel: format!("fuel={fuel}"),
        hash: format!("action_hash={hash:016x}"),
    }
}

/// Checks a gateway's output against the Rust engine's run.
pub(crate) fn check(output: &str, expected: &Expected) {
    let actions = crate::line(output, "actions ");
    assert!(
        actions == expected.actions || actions == format!("{} undecodable=0", expected.actions),
        "the gateway's actions differ from the Rust engine's:\n  gateway: {actions}\n  rust:    {}",
        expected.actions
    );
    assert_eq!(crate::line(output, "fuel="), expected.fuel, "fuel differs:\n{output}");
    assert_eq!(crate::line(output, "action_hash="), expected.hash, "actions differ:\n{output}");
    assert!(output.lines().any(|l| l == "OK"), "the gateway did not finish OK:\n{output}");
}
