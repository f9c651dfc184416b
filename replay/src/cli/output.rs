//! Shared helpers of the commands: sources, pinning, progress bars, JSON.

use super::ReplayArgs;
use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use lockstep_sim::{EventSource, Limited, Synth, SynthConfig};
use serde::Serialize;
use std::io::{IsTerminal, Write};

/// The replay's event source: the tape, or the synthetic market, cut at `--stop-after` or
/// `--until` when given.
pub(crate) fn open_source(a: &ReplayArgs) -> Result<Box<dyn EventSource + Send>> {
    let src: Box<dyn EventSource + Send> = match &a.tape {
        Some(p) => {
            Box::new(lockstep_io::open_tape(p).with_context(|| format!("--tape {}", p.display()))?)
        }
        None => Box::new(Synth::new(SynthConfig { events: a.events, seed: a.seed })),
    };
    if a.stop_after.is_none() && a.until.is_none() {
        return Ok(src);
    }
    Ok(Box::new(Limited::new(src, a.stop_after, a.until.map(lockstep_sdk::Nanos))))
}

/// A name for the source in messages.
pub(crate) fn source_name(a: &ReplayArgs) -> String {
    match &a.tape {
        Some(p) => format!("tape {}", p.display()),
        None => "the synthetic market".to_owned(),
    }
}

/// Pins the calling thread to `core`.
pub(crate) fn pin(core: usize) -> Result<()> {
    let ids = core_affinity::get_core_ids().context("cannot list this machine's cores")?;
    let Some(id) = ids.iter().copied().find(|c| c.id == core) else {
        bail!(
            "--core {core}: no such core; this process may use cores {}",
            ids.iter().map(|c| c.id.to_string()).collect::<Vec<_>>().join(", ")
        );
    };
    lockstep_engine::pin_current_thread(id.id).with_context(|| format!("--core {core}"))?;
    Ok(())
}

/// Cores this process may run on.
pub(crate) fn cores() -> Vec<usize> {
    core_affinity::get_core_ids().map(|v| v.into_iter().map(|c| c.id).collect()).unwrap_or_default()
}

/// A progress bar on stderr when it is a terminal; hidden otherwise.
pub(crate) fn progress(len: u64, what: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    if let Ok(style) =
        ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} events ({per_sec}, {eta})")
    {
        pb.set_style(style.progress_chars("=> "));
    }
    pb.set_message(what.to_owned());
    pb
}

/// Most characters of a tape's source line shown in text output (it names the input files).
pub(crate) const SOURCE_CHARS: usize = 1000;
/// Most characters of a symbol, venue or similar name from a file shown in text output.
pub(crate) const NAME_CHARS: usize = 64;

/// Human output, collected and written at once; a closed pipe (`| head`) ends it quietly.
#[derive(Default)]
pub(crate) struct Text(pub(crate) String);

impl Text {
    pub(crate) fn emit(self) -> Result<()> {
        let mut out = std::io::stdout().lock();
        match out.write_all(self.0.as_bytes()).and_then(|()| out.flush()) {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                Err(e).context("writing to stdout")
            }
            _ => Ok(()),
        }
    }
}

/// Appends a line to a [`Text`].
macro_rules! say {
    ($o:expr, $($t:tt)*) => {{
        use std::fmt::Write as _;
        let _ = writeln!($o.0, $($t)*);
    }};
}
pub(crate) use say;

/// Prints one JSON object on stdout, on one line.
pub(crate) fn print_json(v: &impl Serialize) -> Result<()> {
    let line = serde_json::to_string(v).context("encoding JSON")?;
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{line}") {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e).context("writing to stdout"),
        _ => Ok(()),
    }
}

/// Nanoseconds for people.
pub(crate) fn ns(v: u64) -> String {
    lockstep_sim::format_ns(v)
}

/// A rate for people.
pub(crate) fn rate(per_sec: f64) -> String {
    if per_sec >= 1e6 {
        format!("{:.2} M events/s", per_sec / 1e6)
    } else if per_sec >= 1e3 {
        format!("{:.1} k events/s", per_sec / 1e3)
    } else {
        format!("{per_sec:.0} events/s")
    }
}
