//! The simulated exchange's models are pluggable: the built-ins passed explicitly change
//! nothing, and a user's latency, queue-position or fee model changes the run the way it
//! should, deterministically.

use crate::common::{BTC_CAPTURE, bin, data, fails, import_files, json, tmp};
use lockstep_host::HostSession;
use lockstep_host::StrategySpec;
use lockstep_sdk::{InstrumentId, Nanos, Qty};
use lockstep_sim::{
    EventSource, ExchangeSummary, Fees, Latency, LatencyContext, Models, Money, QueuePosition,
    Session, SessionConfig, Synth, SynthConfig, hex,
};

const EVENTS: u64 = 20_000;

/// The market maker's native build over the synthetic market, with `models`.
fn run(models: Option<Models>) -> (String, ExchangeSummary) {
    let mut src = Synth::new(SynthConfig { events: EVENTS, ..SynthConfig::default() });
    let spec = StrategySpec::resolve("avellaneda-stoikov", None, true).unwrap();
    let cfg = SessionConfig { models, measure_latency: false, ..SessionConfig::default() };
    let report = Session::load(src.header(), &[spec], cfg)
        .unwrap()
        .run(&mut src, &mut |_| {})
        .unwrap()
        .report;
    let s = &report.strategies[0];
    assert!(s.halted.is_none(), "{:?}", s.halted);
    (hex(&report.digest), s.exchange.clone())
}

/// Every passive order is first in its queue.
struct FrontOfQueue;
impl QueuePosition for FrontOfQueue {
    fn on_join(&self, _: Qty) -> Qty {
        Qty(0)
    }
    fn on_trade_at(&self, _: Qty, traded: Qty) -> (Qty, Qty) {
        (traded, Qty(0))
    }
    fn on_level(&self, _: Qty, _: Qty, _: Qty) -> Qty {
        Qty(0)
    }
    fn on_removed(&self, _: Qty, _: Qty, _: bool) -> Qty {
        Qty(0)
    }
}

/// Order entry slows down by 1 µs for every millisecond of tape time within each second: a
/// latency that depends on the time it is asked about.
struct Congested;
impl Latency for Congested {
    fn entry(&self, _: InstrumentId, sent: Nanos, _: &LatencyContext) -> Nanos {
        Nanos(20_000 + sent.0.rem_euclid(1_000_000_000) / 1_000_000 * 1_000)
    }
    fn feed(&self, _: InstrumentId, _: Nanos, _: &LatencyContext) -> Nanos {
        Nanos(20_000)
    }
}

/// A flat fee of 0.01 per fill, maker or taker.
struct Flat;
impl Fees for Flat {
    fn fee(&self, _: InstrumentId, _: Money, _: bool) -> Money {
        Money(1_000_000)
    }
}

#[test]
fn the_builtin_models_passed_explicitly_change_nothing() {
    let (digest, summary) = run(None);
    assert_eq!(run(Some(Models::default())), (digest, summary));
}

#[test]
fn a_front_of_queue_model_fills_more_passive_orders() {
    let (fifo_digest, fifo) = run(None);
    let mut models = Models::default();
    models.queue(FrontOfQueue);
    let (digest, front) = run(Some(models));
    let maker = |s: &ExchangeSummary| s.instruments.iter().map(|i| i.maker_fills).sum::<u64>();
    assert_ne!(digest, fifo_digest);
    assert!(maker(&front) > maker(&fifo), "{} vs {}", maker(&front), maker(&fifo));
}

#[test]
fn a_time_dependent_latency_is_deterministic_and_changes_the_run() {
    let congested = || {
        let mut m = Models::default();
        m.latency(Congested);
        Some(m)
    };
    let (a, _) = run(congested());
    let (b, _) = run(congested());
    assert_eq!(a, b, "the same model gives the same run");
    assert_ne!(a, run(None).0, "a slower entry changes what fills");
}

#[test]
fn a_fee_model_is_charged_on_every_fill() {
    let mut m = Models::default();
    m.fees(Flat);
    let (_, s) = run(Some(m));
    assert!(s.fills > 0);
    assert_eq!(s.fees, Money(1_000_000 * i128::from(s.fills)));
}

/// The queue models by name (`--queue-model`): FIFO is the default and changes nothing;
/// on an L2 capture the probabilistic ones advance resting orders on level decreases, so
/// they fill at least as many passive orders, the same on every run, and the report names
/// the model. Bad names and exponents are refused.
#[test]
fn queue_models_by_name_are_deterministic_named_and_checked() {
    for bad in ["power:0", "power:12", "poisson"] {
        let e = fails(bin().args(["run", "--events", "100", "--queue-model", bad]));
        assert!(e.contains("queue model"), "{bad}: {e}");
    }
    let Some(d) = data() else { return };
    let out = tmp("queue-models");
    let tape = out.join("btc.tape");
    import_files("binance", &[d.join(BTC_CAPTURE)], &tape);
    let run = |model: &str, dir: &str| {
        let v = json(
            bin()
                .args(["backtest", "--no-latency", "--strategy", "avellaneda-stoikov"])
                .args(["--params", "tick=0.01", "--queue-model", model, "--stop-after", "200000"])
                .arg("--tape")
                .arg(&tape)
                .arg("--report")
                .arg(out.join(dir))
                .arg("--out")
                .arg(&out),
        );
        let summary: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join(dir).join("summary.json")).unwrap())
                .unwrap();
        let maker = summary["strategies"][0]["total"]["fills"].as_u64().unwrap();
        (v["digest"].as_str().unwrap().to_owned(), maker, summary["queue_model"].clone())
    };
    let (fifo, fifo_fills, name) = run("fifo", "fifo");
    assert!(name.as_str().unwrap().starts_with("fifo"), "{name}");
    assert_eq!(run("fifo", "fifo-again").0, fifo);
    for model in ["power:2", "log"] {
        let (a, fills, name) = run(model, model);
        assert_eq!(run(model, &format!("{model}-again")).0, a, "{model} is not deterministic");
        assert_ne!(a, fifo, "{model} changed nothing on an L2 tape");
        assert!(fills >= fifo_fills, "{model}: {fills} fills < fifo's {fifo_fills}");
        assert!(name.as_str().unwrap().starts_with("probabilistic"), "{name}");
    }
    let _ = std::fs::remove_dir_all(&out);
}

/// The latency models by name (`--latency-model`): the default is the constant one; a seeded
/// distribution gives the same run for the same seed and another for another; recorded
/// latencies interpolate from a file, and a bad file is refused with its line; each is named
/// in the report.
#[test]
fn latency_models_by_name_are_deterministic_named_and_checked() {
    let out = tmp("latency-models");
    let run = |model: &str| {
        let dir = out.join(format!("r{}", model.len()));
        let v = json(
            bin()
                .args(["backtest", "--no-latency", "--events", "20000", "--latency-model", model])
                .arg("--report")
                .arg(&dir)
                .arg("--out")
                .arg(&out),
        );
        let summary: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("summary.json")).unwrap()).unwrap();
        (v["digest"].as_str().unwrap().to_owned(), summary["latency_model"].clone())
    };
    let (constant, name) = run("constant");
    assert!(name.as_str().unwrap().starts_with("constant: entry 20000 ns"), "{name}");
    let plain = json(bin().args(["backtest", "--no-latency", "--events", "20000", "--no-report"]));
    assert_eq!(plain["digest"], constant.as_str());
    let (a, name) = run("lognormal:20000,0.5,seed=1");
    assert!(name.as_str().unwrap().starts_with("random: log-normal"), "{name}");
    assert_eq!(run("lognormal:20000,0.5,seed=1").0, a);
    assert_ne!(a, constant);
    assert_ne!(run("lognormal:20000,0.5,seed=2").0, a, "the seed changes nothing");
    // Recorded: 5 µs to the venue early on, 500 µs later; the synthetic market's times.
    let file = out.join("lat.csv");
    std::fs::write(
        &file,
        "req_ts,exch_ts,resp_ts\n0,5000,10000\n60000000000,60000500000,60001000000\n",
    )
    .unwrap();
    let (recorded, name) = run(&format!("file:{}", file.display()));
    assert!(
        name.as_str().unwrap().contains("interpolated from")
            && name.as_str().unwrap().contains("2 orders")
    );
    assert_ne!(recorded, constant);
    for (text, says) in [
        ("req_ts,exch_ts,resp_ts\n10,5,20\n", "line 2"),
        ("req_ts,exch_ts,resp_ts\n10,20,30\n5,6,7\n", "line 3: req_ts goes back"),
        ("req_ts,exch_ts,resp_ts\n10,20\n", "line 2: 2 columns"),
        ("time,delay\n1,2\n", "header"),
    ] {
        std::fs::write(&file, text).unwrap();
        let e = fails(
            bin()
                .args(["run", "--events", "100", "--latency-model"])
                .arg(format!("file:{}", file.display())),
        );
        assert!(e.contains(says) && e.contains("lat.csv"), "{text:?}: {e}");
    }
    // A report never writes over the latency file it read.
    let report = out.join("over");
    std::fs::create_dir_all(&report).unwrap();
    let own = report.join("orders.csv");
    std::fs::write(&own, "req_ts,exch_ts,resp_ts\n0,5000,10000\n").unwrap();
    let e = fails(
        bin()
            .args(["backtest", "--no-latency", "--events", "2000", "--latency-model"])
            .arg(format!("file:{}", own.display()))
            .arg("--report")
            .arg(&report)
            .arg("--out")
            .arg(&out),
    );
    assert!(e.contains("orders.csv"), "{e}");
    assert!(std::fs::read_to_string(&own).unwrap().starts_with("req_ts"));
    for bad in ["gamma:3", "normal:1", "feed:0", "file:"] {
        let e = fails(bin().args(["run", "--events", "100", "--latency-model", bad]));
        assert!(e.contains("latency model"), "{bad}: {e}");
    }
    let _ = std::fs::remove_dir_all(&out);
}
