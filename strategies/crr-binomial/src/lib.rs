//! Cox–Ross–Rubinstein binomial pricer for American (or European) options: on every underlying
//! tick it rebuilds an `n`-step tree by backward induction and publishes the value, delta, gamma
//! and the early-exercise premium. With hundreds of steps per event it is the heavy,
//! fuel-hungry workload of the catalog.
//!
//! Model: J. C. Cox, S. A. Ross and M. Rubinstein, "Option pricing: a simplified approach",
//! *Journal of Financial Economics* 7(3), 1979, pp. 229–263. As `n` grows the European value
//! converges to Black–Scholes (the tests check `|CRR(2000) − BS| < 0.01`).
//!
//! Floats go only through basic arithmetic and software `libm` (`exp`, `sqrt`). The node buffers
//! are allocated once at init for `steps` steps; events allocate nothing.
//!
//! # Fuel
//! Measured on the wasmi engine per underlying event: about `30·n²` for American exercise
//! (200 steps: 1.22 M; 1000: 30 M; 2000: 120 M) and `9·n²` for European (2000: 36 M). The
//! engine's default budget of 10 M fuel per event fits American trees up to about 570 steps;
//! raise the budget for more.
//!
//! # Parameters
//! | key | default | meaning |
//! |---|---|---|
//! | `underlying` | 0 | instrument whose quotes, books and trades give the spot |
//! | `option` | 1 | instrument the signals are published on |
//! | `kind` | `put` | `call` or `put` |
//! | `style` | `american` | `american` or `european` |
//! | `strike` | 100 | strike (> 0) |
//! | `rate` | 0.05 | risk-free rate, continuous, per year (−1..=1) |
//! | `div_yield` | 0 | dividend yield, continuous, per year (−1..=1) |
//! | `sigma` | 0.2 | volatility per √year (> 0) |
//! | `steps` | 200 | tree steps (2..=2000) |
//! | `expiry_ns` | — | expiry on the local clock (ns); when absent, `tenor_ns` after the first event |
//! | `tenor_ns` | 30 days | time to expiry at the first event (ns, > 0) |
//! | `year_ns` | 365 days | nanoseconds per year (> 0) |
//!
//! # Signals (on the `option` instrument, fixed-point 1e-8), after every underlying update
//! [`SIG_PRICE`], [`SIG_DELTA`], [`SIG_GAMMA`], and for American exercise
//! [`SIG_EARLY_EXERCISE`]. After expiry: intrinsic value and delta only. Nothing is published
//! when the tree is not arbitrage-free (`p` outside (0, 1): raise `steps`).
#![deny(unsafe_code)]

mod tree;

pub use tree::{Contract, Exercise, OptionKind, Tree, Valuation};

use lockstep_sdk::{
    Actions, BookView, EventHeader, InitError, OptionTerms, Params, Quote, Strategy, Trade, mid_f64,
};

/// Catalog name.
pub const NAME: &str = "crr-binomial";
/// One-line description for the catalog.
pub const SUMMARY: &str = "Cox-Ross-Rubinstein binomial tree for American options: price, delta, gamma, early-exercise premium per tick";
/// Parameters that work on the synthetic demo market (underlying 0 near 100.00).
pub const DEFAULT_PARAMS: &str = "underlying=0;option=1;kind=put;style=american;strike=100;rate=0.05;div_yield=0;sigma=0.2;steps=200;tenor_ns=2592000000000000;year_ns=31536000000000000";
/// Accepted parameter keys.
pub const PARAMS: &[&str] = &[
    "underlying",
    "option",
    "kind",
    "style",
    "strike",
    "rate",
    "div_yield",
    "sigma",
    "steps",
    "expiry_ns",
    "tenor_ns",
    "year_ns",
];

/// Signal id: option value in its exercise style.
pub const SIG_PRICE: u32 = 1;
/// Signal id: delta from the first step of the tree.
pub const SIG_DELTA: u32 = 2;
/// Signal id: gamma from the second step of the tree.
pub const SIG_GAMMA: u32 = 3;
/// Signal id: American minus European value on the same tree (American style only).
pub const SIG_EARLY_EXERCISE: u32 = 4;

/// Most steps accepted.
pub const MAX_STEPS: usize = 2000;

/// The binomial-tree pricer.
#[derive(Clone, Debug)]
pub struct CrrBinomial {
    /// Instruments and expiry clock (shared with the Black–Scholes pricer).
    terms: OptionTerms,
    /// The contract with spot and time left to be filled in per event.
    contract: Contract,
    steps: usize,
    tree: Tree,
}

impl CrrBinomial {
    fn on_price(&mut self, h: &EventHeader, spot: Option<f64>, out: &mut Actions<'_>) {
        let t = self.terms.expiry.years_left(h.local_ts.0);
        let (true, Some(s)) = (h.instrument == self.terms.underlying, spot) else { return };
        let o = self.terms.option;
        if t <= 0.0 {
            let (price, delta) = self.contract.kind.at_expiry(s, self.contract.k);
            out.signal_f64(o, SIG_PRICE, price);
            out.signal_f64(o, SIG_DELTA, delta);
            return;
        }
        let c = Contract { s, t, ..self.contract };
        if let Some(v) = self.tree.value(&c, self.steps) {
            out.signal_f64(o, SIG_PRICE, v.price);
            out.signal_f64(o, SIG_DELTA, v.delta);
            out.signal_f64(o, SIG_GAMMA, v.gamma);
            if c.exercise == Exercise::American {
                out.signal_f64(o, SIG_EARLY_EXERCISE, v.early_exercise);
            }
        }
    }
}

impl Strategy for CrrBinomial {
    fn init(params: &Params<'_>, _out: &mut Actions<'_>) -> Result<Self, InitError> {
        params.check_known(PARAMS)?;
        let terms = OptionTerms::from_params(params, OptionKind::Put)?;
        let exercise = match params.get("style").unwrap_or("american") {
            "american" => Exercise::American,
            "european" => Exercise::European,
            _ => {
                return Err(params
                    .out_of_range("style", "must be `american` or `european`")
                    .into());
            }
        };
        let contract = Contract {
            kind: terms.kind,
            exercise,
            s: 0.0,
            k: terms.strike,
            t: 0.0,
            r: terms.rate,
            q: terms.div_yield,
            sigma: terms.sigma,
        };
        let steps = params.i64_or("steps", 200)?;
        if !(2..=MAX_STEPS as i64).contains(&steps) {
            return Err(params.out_of_range("steps", "must be within 2..=2000").into());
        }
        let steps = steps as usize;
        Ok(Self { terms, contract, steps, tree: Tree::new(steps) })
    }

    fn on_quote(&mut self, h: &EventHeader, q: &Quote, out: &mut Actions<'_>) {
        self.on_price(h, mid_f64(q.bid.px, q.ask.px), out);
    }

    fn on_book(&mut self, h: &EventHeader, book: &BookView<'_>, out: &mut Actions<'_>) {
        let px = match (book.bid(0), book.ask(0)) {
            (Some(b), Some(a)) => mid_f64(b.px, a.px),
            _ => None,
        };
        self.on_price(h, px, out);
    }

    fn on_trade(&mut self, h: &EventHeader, t: &Trade, out: &mut Actions<'_>) {
        self.on_price(h, (t.px.0 > 0).then(|| t.px.to_f64()), out);
    }
}

lockstep_sdk::export_strategy!(CrrBinomial);

#[cfg(test)]
mod tests {
    use super::*;
    use lockstep_sdk::{Action, Event, EventBody, Level, Nanos, NativeInstance, Price, Qty};

    fn quote(seq: u64, instrument: u16, ts: i64, bid: &str, ask: &str) -> Event {
        let l = |p: &str| Level { px: Price::parse(p).unwrap(), qty: Qty::from_units(1) };
        Event {
            h: EventHeader { seq, instrument, exchange_ts: Nanos(ts), local_ts: Nanos(ts) },
            body: EventBody::Quote(Quote { bid: l(bid), ask: l(ask) }),
        }
    }

    fn signals(acts: &[lockstep_sdk::ActionRecord]) -> Vec<(u32, i64)> {
        acts.iter()
            .map(|a| match a.decode().unwrap() {
                Action::Signal { instrument: 1, id, value } => (id, value),
                other => panic!("unexpected action {other:?}"),
            })
            .collect()
    }

    #[test]
    fn european_tree_through_the_abi_is_near_black_scholes() {
        let p = "kind=call;style=european;steps=2000;expiry_ns=1000000000;year_ns=1000000000";
        let mut s = NativeInstance::<CrrBinomial>::new(p).unwrap();
        let sig = signals(s.on_event(&quote(1, 0, 0, "100", "100").encode(), None).unwrap());
        assert_eq!(sig.iter().map(|x| x.0).collect::<Vec<_>>(), [SIG_PRICE, SIG_DELTA, SIG_GAMMA]);
        assert!((sig[0].1 - 1_045_058_357).abs() < 1_000_000, "{}", sig[0].1);
    }

    #[test]
    fn american_put_publishes_a_positive_premium_and_decays() {
        let p = "kind=put;steps=300;tenor_ns=1000000000;year_ns=1000000000";
        let mut s = NativeInstance::<CrrBinomial>::new(p).unwrap();
        let a = signals(s.on_event(&quote(1, 0, 0, "99.99", "100.01").encode(), None).unwrap());
        assert_eq!(a.len(), 4);
        assert_eq!(a[3].0, SIG_EARLY_EXERCISE);
        assert!(a[3].1 > 0, "premium {}", a[3].1);
        assert!(a[1].1 < 0 && a[1].1 > -100_000_000, "put delta {}", a[1].1);
        let b = signals(
            s.on_event(&quote(2, 0, 600_000_000, "99.99", "100.01").encode(), None).unwrap(),
        );
        assert!(b[0].1 < a[0].1, "time value decays");
        // Option-instrument quotes are not the spot.
        assert!(s.on_event(&quote(3, 1, 0, "5", "6").encode(), None).unwrap().is_empty());
        // After expiry: intrinsic value 10 and delta −1.
        let c =
            signals(s.on_event(&quote(4, 0, 2_000_000_000, "90", "90").encode(), None).unwrap());
        assert_eq!(c, [(SIG_PRICE, 1_000_000_000), (SIG_DELTA, -100_000_000)]);
    }

    #[test]
    fn same_events_same_bits() {
        let run = || {
            let mut s = NativeInstance::<CrrBinomial>::new(DEFAULT_PARAMS).unwrap();
            let mut all = Vec::new();
            for i in 0..50u64 {
                let px = format!("{}.{:02}", 99 + (i % 3), (i * 7) % 100);
                let e = quote(i, 0, i as i64 * 250_000, &px, &px);
                all.extend(signals(s.on_event(&e.encode(), None).unwrap()));
            }
            all
        };
        let a = run();
        assert_eq!(a.len(), 200);
        assert_eq!(a, run());
    }

    #[test]
    fn bad_parameters_are_refused_with_the_key() {
        for (p, key) in [
            ("steps=1", "steps"),
            ("steps=2001", "steps"),
            ("style=bermudan", "style"),
            ("kind=x", "kind"),
            ("sigma=0", "sigma"),
            ("strike=-3", "strike"),
            ("rate=2", "rate"),
            ("year_ns=0", "year_ns"),
            ("step=10", "step"),
        ] {
            let e = NativeInstance::<CrrBinomial>::new(p).err().expect(p).to_string();
            assert!(e.contains(&format!("`{key}`")), "{p}: {e}");
        }
    }
}
