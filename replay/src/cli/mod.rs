//! Command-line interface: argument definitions and dispatch.

mod certify;
mod import;
mod inspect;
mod json;
mod live;
mod output;
mod profile;
mod resume;
mod run;
mod serve;
mod sweep;
mod verify;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};
use lockstep_engine::Tier;
use lockstep_host::{RunOptions, StrategySpec};
use lockstep_import::{LocalTsUnit, TimeUnit};
use lockstep_report::ReportConfig;
use lockstep_sdk::Price;
use lockstep_sim::{BlotterConfig, ExchangeConfig, Pacing, SessionConfig};
use std::path::PathBuf;
use std::process::ExitCode;

/// Market replay for Lockstep: tapes, order book, simulated exchange, bit-identical
/// verification and worst-case jitter.
#[derive(Parser, Debug)]
#[command(name = "replay", version, about, long_about = None)]
pub(crate) struct Cli {
    /// Print one JSON object on stdout instead of text (everything else goes to stderr).
    #[arg(long, global = true)]
    pub(crate) json: bool,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Import market data into a tape.
    Import {
        #[command(subcommand)]
        source: ImportSource,
    },
    /// Replay a tape through strategies: digest, throughput and per-event latency.
    Run(RunArgs),
    /// Run a backtest (like `run`, default strategy: the market maker) and report PnL.
    Backtest(RunArgs),
    /// Replay several times, in separate processes on different cores and in parallel
    /// threads, and show the digests are identical.
    Verify(VerifyArgs),
    /// Check the order book against LOBSTER's own orderbook file, row by row and depth by depth.
    BookCheck(BookCheckArgs),
    /// What a tape holds: format, source, instruments, events by kind, first and last times,
    /// chunks; with --events or --at, the events or the top of book there.
    Inspect(InspectArgs),
    /// List the built-in strategies.
    Strategies,
    /// A venue for a live gateway: publishes the tape as a TotalView-ITCH 5.0 feed in
    /// MoldUDP64 packets over UDP (answering retransmission requests) and matches FIX 4.4
    /// orders in the simulated exchange against the same book; exits when the session ends.
    Venue(VenueArgs),
    /// Backtest one strategy over a grid of parameters (and tapes); `--shard I/N` runs every
    /// N-th point, for Slurm job arrays and Kubernetes Indexed Jobs.
    Sweep(SweepArgs),
    /// Join the JSON outputs of a sweep's shards, refusing duplicates, gaps and strangers.
    SweepMerge(SweepMergeArgs),
    /// Where a strategy's fuel goes: an exact, deterministic profile by call stack (folded
    /// stacks, a flame graph, speedscope JSON, the per-event fuel histogram and the costliest
    /// events), the same bytes on every run and tier.
    Profile(ProfileArgs),
    /// Certify a strategy's worst case: the most fuel an event can cost, from its code
    /// (per function, bounded or why not), the most it cost over the replays, and that
    /// bound in nanoseconds on this machine; `--check CERT` re-verifies a certificate.
    Certify(CertifyArgs),
    /// Serve the replay terminal: a page that runs a strategy in the browser's own
    /// WebAssembly engine over the same replay core, and compares its digest with this
    /// server's replay of the same run.
    Serve(serve::ServeArgs),
}

#[derive(Args, Debug)]
pub(crate) struct CertifyArgs {
    /// A built-in strategy name or a path to a .wasm file.
    #[arg(long)]
    pub(crate) strategy: String,
    /// Its parameters (`key=value;...`); default: a built-in's defaults.
    #[arg(long)]
    pub(crate) params: Option<String>,
    /// Engine tier the time is calibrated for (the fuel is the same on both).
    #[arg(long, default_value_t = RunOptions::default().tier)]
    pub(crate) tier: Tier,
    /// Fuel each event may use before the strategy is halted.
    #[arg(long, default_value_t = RunOptions::default().fuel_per_event)]
    pub(crate) fuel_per_event: u64,
    /// Tapes to observe the most fuel per event over; repeat for several (none: the
    /// synthetic market).
    #[arg(long = "tape")]
    pub(crate) tapes: Vec<PathBuf>,
    /// Events of the synthetic market (without --tape).
    #[arg(long, default_value_t = lockstep_host::CERTIFY_SYNTH_EVENTS)]
    pub(crate) events: u64,
    /// Where the certificate goes.
    #[arg(long, default_value = "certificate.json")]
    pub(crate) out: PathBuf,
    /// Check this certificate against the module and this engine instead of making one.
    #[arg(long, conflicts_with_all = ["tapes", "out"])]
    pub(crate) check: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub(crate) struct ProfileArgs {
    #[command(flatten)]
    pub(crate) replay: ReplayArgs,
    /// Directory for profile.json, profile.folded, flamegraph.svg and speedscope.json.
    #[arg(long, default_value = "profile-out")]
    pub(crate) out: PathBuf,
}

#[derive(Args, Debug)]
pub(crate) struct SweepArgs {
    /// A built-in strategy name or a path to a .wasm file.
    #[arg(long)]
    pub(crate) strategy: String,
    /// Parameters the points are laid over (default: the built-in's defaults).
    #[arg(long)]
    pub(crate) params: Option<String>,
    /// The grid: `key=v1,v2;key=v1,...` (every combination, the last key varying fastest).
    #[arg(long)]
    pub(crate) grid: Option<String>,
    /// One point `key=v;key=v` instead of a grid; repeat for several.
    #[arg(long = "point")]
    pub(crate) points: Vec<String>,
    /// Tapes; repeat for several (point number = tape × grid size + grid index). Default:
    /// the synthetic market.
    #[arg(long = "tape")]
    pub(crate) tapes: Vec<PathBuf>,
    /// Events of the synthetic market (without --tape).
    #[arg(long, default_value_t = lockstep_sim::DEFAULT_SYNTH_EVENTS)]
    pub(crate) events: u64,
    /// Seed of the synthetic market (without --tape).
    #[arg(long, default_value_t = lockstep_sim::DEFAULT_SYNTH_SEED)]
    pub(crate) seed: u64,
    /// Run only points I, I+N, I+2N, ... (`I/N`, e.g. `$SLURM_ARRAY_TASK_ID/10`).
    #[arg(long)]
    pub(crate) shard: Option<String>,
    /// Engine tier for WebAssembly strategies.
    #[arg(long, default_value_t = Tier::Interpreter)]
    pub(crate) tier: Tier,
    /// Fuel each strategy event may use.
    #[arg(long, default_value_t = 10_000_000)]
    pub(crate) fuel_per_event: u64,
    /// Also write the JSON output into this file (atomically).
    #[arg(long)]
    pub(crate) out: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) run: ReportArgs,
}

#[derive(Args, Debug)]
pub(crate) struct SweepMergeArgs {
    /// The shards' JSON outputs (`replay sweep --json` or `--out`).
    #[arg(required = true)]
    pub(crate) files: Vec<PathBuf>,
    /// Also write the merged JSON into this file (atomically).
    #[arg(long)]
    pub(crate) out: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub(crate) struct InspectArgs {
    /// The tape.
    #[arg(long, required_unless_present = "journal", conflicts_with = "journal")]
    pub(crate) tape: Option<PathBuf>,
    /// A gateway's journal file, or its journal directory.
    #[arg(long)]
    pub(crate) journal: Option<PathBuf>,
    /// Show the events with these indices (`A..B`, B exclusive).
    #[arg(long, conflicts_with = "at")]
    pub(crate) events: Option<String>,
    /// Show each instrument's top of book after every event with local time up to this
    /// (nanoseconds, as on the tape).
    #[arg(long, allow_hyphen_values = true)]
    pub(crate) at: Option<i64>,
}

#[derive(Subcommand, Debug)]
enum ImportSource {
    /// LOBSTER message files (each with its orderbook file, to seed the opening book and keep
    /// the book equal to LOBSTER's), merged by time; each symbol is one instrument.
    Lobster {
        /// A message file (`..._message_N.csv`); repeat for several (one day; on equal times
        /// the first given goes first; files of one symbol are parts of its day, in order).
        #[arg(long, required = true)]
        message: Vec<PathBuf>,
        /// The orderbook file of each message file (`..._orderbook_N.csv`), in the same order:
        /// none, or one per --message.
        #[arg(long)]
        orderbook: Vec<PathBuf>,
        /// Symbol: one for every message file, or one per --message (default: each file
        /// name's prefix).
        #[arg(long)]
        symbol: Vec<String>,
        /// Tick size in dollars, e.g. `0.01`: one for every message file, or one per --message
        /// (default: inferred as the greatest common divisor of the symbol's limit prices,
        /// never finer than LOBSTER's $0.0001).
        #[arg(long, value_parser = tick_arg)]
        tick: Vec<Price>,
        #[command(flatten)]
        common: ImportCommon,
    },
    /// Tardis.dev CSV files (trades, quote, incremental_book_L2, book_snapshot_N), merged by
    /// local time.
    Tardis {
        /// Input files (plain or gzip).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[command(flatten)]
        common: ImportCommon,
    },
    /// Binance WebSocket captures (spot, USD-M, COIN-M) in the hftbacktest collector format
    /// (`<local time> <json>` lines), merged by local time.
    Binance {
        /// Input files (plain or gzip); on equal local times the first given goes first.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Unit of the local timestamps (default: detected per file by comparing with the
        /// messages' exchange times).
        #[arg(long, value_enum)]
        local_ts_unit: Option<LocalUnit>,
        #[command(flatten)]
        common: ImportCommon,
    },
    /// Databento DBN files (MBO, MBP-1, MBP-10, trades, TBBO, BBO; zstd or not), with
    /// instrument definition files for symbols and tick sizes, merged by receive time.
    Databento {
        /// Input files: market data and definitions (by content); on equal times the first
        /// given goes first.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[command(flatten)]
        common: ImportCommon,
    },
    /// CSV files, merged by local time: the generic format (see the documentation of
    /// `import_csv`), Binance depth CSV (`symbol,timestamp,first_update_id,...,pu`) or TrueFX
    /// ticks (`timestamp,bid,ask`), told apart by their header.
    Csv {
        /// Input files (plain or gzip); on equal local times the first given goes first.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Unit of the generic format's timestamp columns (Binance depth CSV is in
        /// milliseconds, TrueFX in ISO 8601).
        #[arg(long, value_enum, default_value_t = TsUnit::Ns)]
        ts_unit: TsUnit,
        #[command(flatten)]
        common: ImportCommon,
    },
    /// Write the embedded synthetic market to a tape.
    Synth {
        /// Number of events.
        #[arg(long, default_value_t = lockstep_sim::DEFAULT_SYNTH_EVENTS)]
        events: u64,
        /// Seed.
        #[arg(long, default_value_t = lockstep_sim::DEFAULT_SYNTH_SEED)]
        seed: u64,
        #[command(flatten)]
        common: ImportCommon,
    },
}

/// A `--tick`: a positive decimal price, parsed exactly.
fn tick_arg(v: &str) -> Result<Price, String> {
    Price::parse(v).filter(|p| p.0 > 0).ok_or_else(|| {
        format!("{v:?} is not a positive decimal price with at most 8 places, e.g. 0.01")
    })
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum TsUnit {
    S,
    Ms,
    Us,
    Ns,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum LocalUnit {
    Ns,
    Us,
    Ms,
}

impl From<LocalUnit> for LocalTsUnit {
    fn from(u: LocalUnit) -> Self {
        match u {
            LocalUnit::Ns => LocalTsUnit::Nanos,
            LocalUnit::Us => LocalTsUnit::Micros,
            LocalUnit::Ms => LocalTsUnit::Millis,
        }
    }
}

impl From<TsUnit> for TimeUnit {
    fn from(u: TsUnit) -> Self {
        match u {
            TsUnit::S => TimeUnit::Seconds,
            TsUnit::Ms => TimeUnit::Millis,
            TsUnit::Us => TimeUnit::Micros,
            TsUnit::Ns => TimeUnit::Nanos,
        }
    }
}

#[derive(Args, Debug)]
struct ImportCommon {
    /// The tape to write.
    #[arg(long)]
    out: PathBuf,
    /// Deflate chunk payloads (smaller tape, slower replay).
    #[arg(long)]
    compress: bool,
    /// Events per chunk (1 to 1048576).
    #[arg(long, default_value_t = lockstep_sim::DEFAULT_CHUNK_EVENTS,
          value_parser = clap::value_parser!(u32).range(1..=1 << 20))]
    chunk_events: u32,
    /// Lot size of every instrument (a decimal), over what the data says.
    #[arg(long)]
    lot: Option<String>,
    /// Contract multiplier of every instrument (a decimal; ES: 50), over what the data says.
    #[arg(long)]
    multiplier: Option<String>,
    /// Contracts are inverse: priced in the quote currency, settled in the coin.
    #[arg(long)]
    inverse: bool,
    /// Currency of prices and PnL (ISO 4217 or the coin: USD, USDT, BTC).
    #[arg(long)]
    currency: Option<String>,
    /// The venue's time zone, an IANA name (America/New_York, UTC).
    #[arg(long)]
    time_zone: Option<String>,
}

/// `Tier` as its name in serialised arguments.
mod tier_name {
    use lockstep_engine::Tier;

    pub(crate) fn serialize<S: serde::Serializer>(t: &Tier, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(t.name())
    }

    pub(crate) fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Tier, D::Error> {
        let name = <String as serde::Deserialize>::deserialize(d)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

/// Options shared by `run`, `backtest` and `verify`. Serialisable: `verify` hands them to its
/// child processes as one JSON value (`run --replay-config`), so no flag is spelled twice.
#[derive(Args, Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReplayArgs {
    /// Tape to replay (absent: the embedded synthetic market).
    #[arg(long)]
    pub(crate) tape: Option<PathBuf>,
    /// Events of the synthetic market (without --tape).
    #[arg(long, default_value_t = lockstep_sim::DEFAULT_SYNTH_EVENTS)]
    pub(crate) events: u64,
    /// Seed of the synthetic market (without --tape).
    #[arg(long, default_value_t = lockstep_sim::DEFAULT_SYNTH_SEED)]
    pub(crate) seed: u64,
    /// Stop after this many events of the tape (or market), at the end of that event's batch.
    #[arg(long, value_name = "N")]
    #[serde(default)]
    pub(crate) stop_after: Option<u64>,
    /// Stop before the first batch at or after this exchange time (ns since the epoch, as
    /// `replay inspect` shows them).
    #[arg(long, value_name = "NS")]
    #[serde(default)]
    pub(crate) until: Option<i64>,
    /// A built-in strategy name or a path to a .wasm file; repeat for several.
    #[arg(long = "strategy")]
    pub(crate) strategies: Vec<String>,
    /// Parameters (`key=value;...`) for the strategies, in the same order; default: each
    /// built-in's defaults.
    #[arg(long = "params")]
    pub(crate) params: Vec<String>,
    /// Run the built-ins' native builds instead of WebAssembly (no fuel metering).
    #[arg(long)]
    pub(crate) native: bool,
    /// Engine tier for WebAssembly strategies: `interpreter` (the reference) or `compiled`
    /// (Cranelift). Actions, `digest` and fuel are the same on both.
    #[arg(long, default_value_t = RunOptions::default().tier)]
    #[serde(with = "tier_name")]
    pub(crate) tier: Tier,
    /// Fuel each strategy event may use before the strategy is halted.
    #[arg(long, default_value_t = RunOptions::default().fuel_per_event)]
    pub(crate) fuel_per_event: u64,
    /// Order-entry latency of the simulated exchange, in ns.
    #[arg(long, default_value_t = RunOptions::default().entry_latency_ns)]
    pub(crate) entry_latency_ns: i64,
    /// Latency of the simulated exchange's answers, in ns.
    #[arg(long, default_value_t = RunOptions::default().feed_latency_ns)]
    pub(crate) feed_latency_ns: i64,
    /// Maker fee in basis points (negative: rebate).
    #[arg(long, default_value_t = RunOptions::default().maker_fee_bps, allow_hyphen_values = true)]
    pub(crate) maker_fee_bps: String,
    /// Taker fee in basis points.
    #[arg(long, default_value_t = RunOptions::default().taker_fee_bps, allow_hyphen_values = true)]
    pub(crate) taker_fee_bps: String,
    /// Venue budget: most actions one strategy call may return (crossing it halts that
    /// strategy; the run goes on).
    #[arg(long, default_value_t = RunOptions::default().max_actions_per_event)]
    pub(crate) max_actions_per_event: u64,
    /// Venue budget: most venue messages (orders arriving at the venue, answers delivered) a
    /// strategy may cause per market event and per second of tape time. The count starts
    /// afresh at every tape event and at every new second of tape time, so a strategy trading
    /// from a heartbeat timer through hours without market data is held to N a second, which
    /// no honest strategy nears (a fill or an ack costs one or two messages; 100,000 a second
    /// is one every 10 us). A loop that lets no tape time pass, such as an order id re-used
    /// on every reject at zero latency, crosses it after N messages at one instant.
    #[arg(long, default_value_t = RunOptions::default().max_messages_per_event)]
    pub(crate) max_messages_per_event: u64,
    /// Venue budget: most orders a strategy may have resting at once.
    #[arg(long, default_value_t = RunOptions::default().max_resting_orders)]
    pub(crate) max_resting_orders: u64,
    /// Venue budget: most timers a strategy may have pending at once.
    #[arg(long, default_value_t = RunOptions::default().max_live_timers)]
    pub(crate) max_live_timers: u64,
    /// Venue budget: most timers fired per second of tape time (bounds timer chains).
    #[arg(long, default_value_t = RunOptions::default().max_timers_per_sec)]
    pub(crate) max_timers_per_sec: u64,
    /// Venue budget: venue messages and timer firings a strategy may cause over the whole run
    /// beyond its share per tape event (--venue-work-per-event). Bounds a loop that keeps the
    /// venue busy across tape time, such as re-sending on every reject at any latency, so no
    /// module makes a replay cost more than a small multiple of a no-op strategy's.
    #[arg(long, default_value_t = RunOptions::default().max_venue_work)]
    pub(crate) max_venue_work: u64,
    /// Venue budget: venue messages and timer firings each tape event adds to a strategy's
    /// allowance (see --max-venue-work).
    #[arg(long, default_value_t = RunOptions::default().venue_work_per_event)]
    pub(crate) venue_work_per_event: u64,
    /// The venue's queue-position model: `fifo` (the default: exact on order-by-order tapes,
    /// L2 decreases taken from behind our order), or for L2 decreases the probabilistic
    /// `power:N` (0 < N <= 10) or `log`, as hftbacktest documents them.
    #[arg(long, default_value = "fifo")]
    #[serde(default = "fifo")]
    pub(crate) queue_model: String,
    /// The venue's latency model: `constant` (the default: --entry-latency-ns and
    /// --feed-latency-ns), a seeded distribution in ns (`normal:MEAN,SD`,
    /// `lognormal:MEDIAN,SIGMA`, `uniform:LO,HI`, `exponential:MEAN`, each optionally ending in
    /// `,seed=N`), `feed[:MULTIPLIER]` (the tape's own feed latency, local minus exchange
    /// time) or `file:PATH` (a CSV `req_ts,exch_ts,resp_ts` of recorded orders, interpolated).
    #[arg(long, default_value = "constant")]
    #[serde(default = "constant")]
    pub(crate) latency_model: String,
}

fn constant() -> String {
    "constant".to_owned()
}

fn fifo() -> String {
    "fifo".to_owned()
}

impl ReplayArgs {
    /// The strategies, with `default` when none was given.
    pub(crate) fn specs(&self, default: &[&str]) -> Result<Vec<StrategySpec>> {
        let names: Vec<String> = if self.strategies.is_empty() {
            default.iter().map(|s| (*s).to_owned()).collect()
        } else {
            self.strategies.clone()
        };
        if self.params.len() > names.len() {
            bail!("{} --params given for {} strategies", self.params.len(), names.len());
        }
        for p in &self.params {
            let mut keys = std::collections::BTreeSet::new();
            for key in p.split(';').filter_map(|kv| kv.split_once('=')).map(|(k, _)| k.trim()) {
                if !keys.insert(key) {
                    bail!(
                        "--params {:?}: `{}` is given twice; give each key once",
                        lockstep_sdk::untrusted(p).max_chars(100).to_string(),
                        lockstep_sdk::untrusted(key).max_chars(64)
                    );
                }
            }
        }
        names
            .iter()
            .enumerate()
            .map(|(i, n)| {
                StrategySpec::resolve(n, self.params.get(i).map(String::as_str), self.native)
                    .with_context(|| format!("--strategy {n}"))
            })
            .collect()
    }

    /// The run options these flags give (their names and defaults are [`RunOptions`]').
    pub(crate) fn options(&self) -> RunOptions {
        RunOptions {
            tier: self.tier,
            fuel_per_event: self.fuel_per_event,
            entry_latency_ns: self.entry_latency_ns,
            feed_latency_ns: self.feed_latency_ns,
            maker_fee_bps: self.maker_fee_bps.clone(),
            taker_fee_bps: self.taker_fee_bps.clone(),
            max_actions_per_event: self.max_actions_per_event,
            max_messages_per_event: self.max_messages_per_event,
            max_resting_orders: self.max_resting_orders,
            max_live_timers: self.max_live_timers,
            max_timers_per_sec: self.max_timers_per_sec,
            max_venue_work: self.max_venue_work,
            venue_work_per_event: self.venue_work_per_event,
            queue_model: self.queue_model.clone(),
            latency_model: self.latency_model.clone(),
        }
    }

    pub(crate) fn exchange(&self) -> Result<ExchangeConfig> {
        Ok(self.options().exchange()?)
    }
}

#[derive(Args, Debug, Clone)]
pub(crate) struct RunArgs {
    #[command(flatten)]
    pub(crate) replay: ReplayArgs,
    /// The replay options as one JSON value, replacing the flags above (how `verify` starts
    /// its child runs).
    #[arg(long, hide = true)]
    pub(crate) replay_config: Option<String>,
    /// Replay the book only, without strategies (the digest is then over the L2 views).
    #[arg(long, conflicts_with_all = ["strategies", "params", "native"])]
    pub(crate) book_only: bool,
    /// Pin the replay thread to this core.
    #[arg(long)]
    pub(crate) core: Option<usize>,
    /// Directory for the latency files (latency.hlog, latency.hgrm).
    #[arg(long, default_value = "replay-out")]
    pub(crate) out: PathBuf,
    /// Replay in real time (events when due on the tape's clock).
    #[arg(long)]
    pub(crate) paced: bool,
    /// Replay paced at this many times real time (implies --paced).
    #[arg(long)]
    pub(crate) speed: Option<f64>,
    /// Length of one interval of the .hlog, in ms of wall time.
    #[arg(long, default_value_t = 1000)]
    pub(crate) interval_ms: u64,
    /// Write a per-event trace of each strategy into this directory.
    #[arg(long)]
    pub(crate) trace: Option<PathBuf>,
    /// Skip per-event latency measurement (pure throughput; no latency report or files).
    #[arg(long, conflicts_with_all = ["paced", "speed"])]
    pub(crate) no_latency: bool,
    /// Stop after this many tape events and write a checkpoint of the whole session (books,
    /// venues and blotters, strategies, digests, tape position) to --checkpoint.
    #[arg(long, requires = "checkpoint", conflicts_with = "trace")]
    pub(crate) checkpoint_at: Option<u64>,
    /// Where --checkpoint-at writes the session checkpoint.
    #[arg(long, requires = "checkpoint_at")]
    pub(crate) checkpoint: Option<PathBuf>,
    /// Finish the run a checkpoint holds: its tape, strategies and options are the
    /// checkpoint's; --tier may name another tier than the one it was taken on.
    #[arg(long, conflicts_with_all = ["checkpoint_at", "book_only", "strategies", "params", "native", "tape", "replay_config", "trace"])]
    pub(crate) resume: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) reporting: ReportArgs,
}

/// Report and statistics settings (`backtest`, `run`, `sweep`).
#[derive(Args, Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct ReportArgs {
    /// Write the backtest report (summary.json, orders/fills/equity as CSV and Parquet,
    /// charts, report.html, run.json) into this directory. `backtest` writes one by default,
    /// into `<out>/report-<first 12 digits of the digest>`.
    #[arg(long)]
    pub(crate) report: Option<PathBuf>,
    /// Do not write the backtest report.
    #[arg(long, conflicts_with = "report")]
    pub(crate) no_report: bool,
    /// Add each WebAssembly strategy's fuel certificate and fuel profile (flame graph,
    /// costliest functions and events) to the report. The source is replayed once more per
    /// strategy, profiled; the certificate's times are this machine's.
    #[arg(long, conflicts_with = "no_report")]
    pub(crate) fuel_report: bool,
    /// Bar length for equity, Sharpe and drawdown, in tape time: a number with a unit (`ns`,
    /// `us`, `ms`, `s`, `m`, `h`), e.g. `1m` or `500ms`. Default: `1m` for a tape, `1s` for
    /// the synthetic market (a couple of minutes long, so its statistics have bars enough).
    #[arg(long)]
    pub(crate) bar: Option<String>,
    /// The price chart's window `START..END` in local tape nanoseconds (as `replay inspect`
    /// prints them); default: the busiest minute (most fills, then most orders, then most
    /// market events).
    #[arg(long, allow_hyphen_values = true)]
    pub(crate) window: Option<String>,
    /// Trading hours in a year, to annualise Sharpe and Sortino (default 1638: 252 days of
    /// 6.5 hours; 8766 for markets that never close).
    #[arg(long, default_value_t = 1638.0)]
    pub(crate) trading_hours_per_year: f64,
    /// Fewest bars Sharpe and Sortino are given for; with fewer the report says so instead of
    /// printing a number that means nothing.
    #[arg(long, default_value_t = lockstep_report::DEFAULT_MIN_BARS)]
    pub(crate) min_bars: usize,
}

/// Slowest `--speed`.
const MIN_SPEED: f64 = 1e-3;

impl RunArgs {
    pub(crate) fn session_config(&self) -> Result<SessionConfig> {
        let pacing = match (self.paced, self.speed) {
            (_, Some(s)) if !(s.is_finite() && s > 0.0) => {
                bail!("--speed must be a positive number, not {s}")
            }
            // Slower than this, a day of tape would take longer than 2^64 ns to replay.
            (_, Some(s)) if s < MIN_SPEED => {
                bail!(
                    "--speed {s} is too slow: at least {MIN_SPEED} (one day of tape in 2.7 years)"
                )
            }
            (_, Some(s)) => Pacing::Paced { speed: s },
            (true, None) => Pacing::Paced { speed: 1.0 },
            (false, None) => Pacing::AsFastAsPossible,
        };
        Ok(SessionConfig {
            tier: self.replay.tier,
            fuel_per_event: self.replay.options().fuel()?,
            exchange: self.replay.exchange()?,
            models: self.replay.options().models()?,
            pacing,
            interval_ns: self.interval_ms.max(1).saturating_mul(1_000_000),
            book_digest: self.book_only,
            measure_latency: !self.no_latency,
            blotter: None,
        })
    }
}

impl ReportArgs {
    /// The report settings, or `None` when no report is written (`run` without `--report`,
    /// or `--no-report`); `synthetic`: the source is the synthetic market (bars default to
    /// one second instead of one minute).
    pub(crate) fn report_config(
        &self,
        backtest: bool,
        synthetic: bool,
    ) -> Result<Option<ReportConfig>> {
        if self.no_report || (!backtest && self.report.is_none()) {
            return Ok(None);
        }
        let bar = self.bar.as_deref().unwrap_or(if synthetic { "1s" } else { "1m" });
        let bar_ns = parse_duration_ns(bar).with_context(|| format!("--bar {bar:?}"))?;
        let window = match &self.window {
            None => None,
            Some(w) => {
                let parsed = w.split_once("..").and_then(|(a, b)| {
                    Some((a.trim().parse::<i64>().ok()?, b.trim().parse::<i64>().ok()?))
                });
                match parsed {
                    Some((a, b)) if a < b => Some((a, b)),
                    _ => bail!(
                        "--window {w:?}: give START..END in local tape nanoseconds with START < END, e.g. 34200000000000..34260000000000"
                    ),
                }
            }
        };
        let h = self.trading_hours_per_year;
        if !(h.is_finite() && h > 0.0 && h <= 8784.0) {
            bail!("--trading-hours-per-year {h}: give a number of hours above 0 and at most 8784");
        }
        if self.min_bars < 2 {
            bail!("--min-bars {}: a ratio of per-bar changes needs at least 2 bars", self.min_bars);
        }
        Ok(Some(ReportConfig {
            blotter: BlotterConfig { bar_ns, window },
            year_ns: (h * 3.6e12) as i64,
            min_bars: self.min_bars,
        }))
    }
}

/// A duration with a unit (`ns`, `us`, `ms`, `s`, `m`, `h`) in nanoseconds, at least 1 ms.
fn parse_duration_ns(text: &str) -> Result<i64> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (n, unit) = t.split_at(split);
    let scale: i64 = match unit {
        "ns" => 1,
        "us" | "µs" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" | "min" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        _ => bail!("a whole number followed by ns, us, ms, s, m or h, e.g. 1m or 500ms"),
    };
    let v = n
        .parse::<i64>()
        .ok()
        .and_then(|n| n.checked_mul(scale))
        .context("a whole number followed by ns, us, ms, s, m or h, e.g. 1m or 500ms")?;
    if v < 1_000_000 {
        bail!("bars shorter than 1ms make reports larger than the tape; give at least 1ms");
    }
    Ok(v)
}

#[derive(Args, Debug)]
pub(crate) struct VerifyArgs {
    #[command(flatten)]
    pub(crate) replay: ReplayArgs,
    /// Separate process runs per tier (at least 1).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=1000))]
    pub(crate) runs: u64,
    /// Run every configuration on both tiers (interpreter and compiled) and require the same
    /// `digest` everywhere, and the same `fuel_digest` within each tier.
    #[arg(long, conflicts_with = "tier")]
    pub(crate) tiers: bool,
    /// Directory for the runs' files.
    #[arg(long, default_value = "replay-out")]
    pub(crate) out: PathBuf,
    /// Verify a live gateway instead: re-run each strategy over its journal in this directory
    /// (the gateway's --journal) and reach the live session's digest, or name the first input
    /// where they part, on both tiers (the fuel too on the live session's tier).
    #[arg(long, conflicts_with = "tiers")]
    pub(crate) journal: Option<PathBuf>,
    /// Also check straight = resumed: stop after this many tape events, checkpoint the
    /// session, and resume it (on each tier with --tiers, and across them); every digest must
    /// be the straight run's, the fuel digest too when both halves ran on one tier.
    #[arg(long)]
    pub(crate) resume_at: Option<u64>,
}

#[derive(Args, Debug)]
pub(crate) struct VenueArgs {
    /// The tape to publish (order by order: LOBSTER, Databento MBO); default: the synthetic
    /// market.
    #[arg(long)]
    pub(crate) tape: Option<PathBuf>,
    /// Events of the synthetic market (without --tape).
    #[arg(long, default_value_t = lockstep_sim::DEFAULT_SYNTH_EVENTS)]
    pub(crate) events: u64,
    /// Seed of the synthetic market.
    #[arg(long, default_value_t = lockstep_sim::DEFAULT_SYNTH_SEED)]
    pub(crate) seed: u64,
    /// Where to send the feed (the gateway's --feed).
    #[arg(long)]
    pub(crate) feed_udp: std::net::SocketAddr,
    /// Where to accept the gateway's FIX connection.
    #[arg(long)]
    pub(crate) fix: std::net::SocketAddr,
    /// Publishing speed: realtime, max, xN (N times the tape's speed) or N/s (messages a
    /// second).
    #[arg(long, default_value = "max")]
    pub(crate) pace: lockstep_gateway::Pace,
    /// Seconds to wait for the gateway to connect, and to log out at the end.
    #[arg(long, default_value_t = 30)]
    pub(crate) wait: u64,
    /// MoldUDP64 session name.
    #[arg(long, default_value = "LOCKSTEP")]
    pub(crate) session: String,
    /// Fault injection: drop every N-th feed datagram on first sending (retransmissions are
    /// answered), to test a gateway's gap recovery.
    #[arg(long, default_value_t = 0)]
    pub(crate) drop_every: u64,
    /// Fault injection: ignore retransmission requests (gaps cannot be recovered).
    #[arg(long)]
    pub(crate) no_retransmit: bool,
    /// Fault injection: drop the FIX connection without a Logout after N tape events.
    #[arg(long)]
    pub(crate) disconnect_after: Option<u64>,
}

#[derive(Args, Debug)]
pub(crate) struct BookCheckArgs {
    /// LOBSTER message file.
    #[arg(long)]
    pub(crate) message: PathBuf,
    /// LOBSTER orderbook file.
    #[arg(long)]
    pub(crate) orderbook: PathBuf,
    /// Levels per side to compare (at most the file's depth).
    #[arg(long, default_value_t = 5)]
    pub(crate) levels: usize,
}

/// `a` with `--replay-config` applied.
fn with_replay_config(mut a: RunArgs) -> Result<RunArgs> {
    if let Some(json) = a.replay_config.take() {
        a.replay = serde_json::from_str(&json).context("--replay-config")?;
    }
    Ok(a)
}

/// Runs the chosen command.
pub(crate) fn dispatch(cli: Cli) -> Result<ExitCode> {
    let json = cli.json;
    match cli.cmd {
        Cmd::Import { source } => import::import(source, json),
        Cmd::Run(a) => run::run(&with_replay_config(a)?, json, run::Mode::Run),
        Cmd::Backtest(a) => run::run(&with_replay_config(a)?, json, run::Mode::Backtest),
        Cmd::Verify(a) => match &a.journal {
            Some(dir) => live::verify_journals(dir, json),
            None => verify::verify(&a, json),
        },
        Cmd::Venue(a) => live::venue(&a, json),
        Cmd::BookCheck(a) => run::book_check(&a, json),
        Cmd::Inspect(a) => match &a.tape {
            Some(tape) => inspect::inspect(tape, a.events.as_deref(), a.at, json),
            None => live::inspect_journal(&a, json),
        },
        Cmd::Strategies => run::strategies(json),
        Cmd::Sweep(a) => sweep::sweep(&a, json),
        Cmd::SweepMerge(a) => sweep::sweep_merge(&a, json),
        Cmd::Serve(a) => serve::serve(a, json),
        Cmd::Profile(a) => profile::profile_cmd(&a, json),
        Cmd::Certify(a) => certify::certify_cmd(&a, json),
    }
}
