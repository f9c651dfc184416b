//! The fuzzing loop: inputs from the generators and the corpus, mutated by the project's one
//! mutator, each case run under `catch_unwind` with its peak memory and time watched; failures
//! written to the crash folder.

use crate::draw::G;
use crate::error::FuzzError;
use crate::mem;
use crate::targets::Target;
use lockstep_sim::FuzzRng;
use sha2::{Digest, Sha256};
use std::cell::RefCell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Once;
use std::time::{Duration, Instant};

/// What a parser made of one input.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verdict {
    /// Parsed (and, where an encoder exists, encoded back to the same value).
    Accepted,
    /// Refused with the parser's typed error, shown here.
    Refused(String),
    /// Accepted, and what it decodes to encodes back to a value that decodes the same, but
    /// not to the same bytes (the format holds a value in more than one way, or a forged
    /// value is normalised): fine for a mutant, an oracle failure for a generated input.
    Normalized(String),
}

/// A check's result: `Err` is an oracle that failed (not a refusal).
pub(crate) type Checked = Result<Verdict, String>;

/// How long a run lasts.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Budget {
    /// This many cases (reproducible for a seed).
    Cases(u64),
    /// This much wall-clock time.
    Seconds(f64),
}

/// Settings of one run of one target.
#[derive(Clone, Debug)]
pub struct RunConfig {
    /// Seed of the mutator and the generator bytes.
    pub seed: u64,
    /// Cases or seconds.
    pub budget: Budget,
    /// The corpus folder (each target's files in `<corpus>/<target>/`).
    pub corpus: PathBuf,
    /// Where crash reproducers are written (`<crashes>/<target>/<hash>.bin`).
    pub crashes: PathBuf,
    /// Whether to write reproducers at all.
    pub save: bool,
    /// Most bytes one case may add to the peak resident memory.
    pub memory_limit: u64,
    /// Slowest a case may be.
    pub slow: Duration,
}

impl RunConfig {
    /// The defaults of the `fuzz` binary: the committed corpus and crash folders, 512 MiB per
    /// case, 5 s per case.
    pub fn new(seed: u64, budget: Budget) -> Self {
        Self {
            seed,
            budget,
            corpus: default_corpus(),
            crashes: default_crashes(),
            save: true,
            memory_limit: 512 << 20,
            slow: Duration::from_secs(5),
        }
    }
}

/// How a case failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CrashKind {
    /// The parser panicked.
    Panic,
    /// An oracle failed: a round trip differed, a valid input was refused, an accepted input
    /// did not read back.
    Oracle,
    /// The case raised the peak resident memory by more than the limit.
    Memory,
    /// The case took longer than the limit.
    Slow,
    /// A previous run died on the case (an abort, such as a failed allocation, which no
    /// `catch_unwind` can catch): found as its in-flight file at the start of the next run.
    Abort,
}

/// One failed case.
#[derive(Clone, Debug)]
pub struct Crash {
    /// How it failed.
    pub kind: CrashKind,
    /// Its case number in the run (0 for a file replayed on its own).
    pub case: u64,
    /// The panic message and location, or the oracle's words.
    pub message: String,
    /// The reproducer written, if any.
    pub path: Option<PathBuf>,
}

/// What a run of one target did.
#[derive(Clone, Debug)]
pub struct Report {
    /// The target.
    pub target: &'static str,
    /// Cases run.
    pub cases: u64,
    /// Cases the parser accepted.
    pub accepted: u64,
    /// Cases the parser refused with its typed error.
    pub refused: u64,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Most bytes one case added to the peak resident memory (0 where not measured).
    pub max_case_memory: u64,
    /// Failed cases, one per distinct failure (the first input that showed it).
    pub crashes: Vec<Crash>,
}

/// The committed corpus, `replay/fuzz/corpus`.
pub fn default_corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus")
}

/// The committed crash reproducers, `replay/fuzz/crashes`.
pub fn default_crashes() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("crashes")
}

/// The error of an I/O failure on `path`.
fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> FuzzError + '_ {
    move |source| FuzzError::Io { path: path.to_path_buf(), source }
}

/// Files above this size are stored gzipped (`.bin.gz`): session checkpoints are mostly zeros.
const GZIP_ABOVE: usize = 16 << 10;

/// `bytes` gzipped.
fn gzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(bytes)?;
    e.finish()
}

/// A corpus or crash file's input: gunzipped when its name ends in `.gz`.
///
/// # Errors
/// [`FuzzError::Io`] when it cannot be read or gunzipped.
pub fn read_input(path: &Path) -> Result<Vec<u8>, FuzzError> {
    use std::io::Read;
    let bytes = std::fs::read(path).map_err(io_err(path))?;
    if path.extension().is_none_or(|e| e != "gz") {
        return Ok(bytes);
    }
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(&bytes[..]).read_to_end(&mut out).map_err(io_err(path))?;
    Ok(out)
}

/// Writes `input` to `<dir>/<stem>.bin`, or gzipped to `<stem>.bin.gz` when it is large.
fn write_input(dir: &Path, stem: &str, input: &[u8]) -> Result<PathBuf, FuzzError> {
    if input.len() <= GZIP_ABOVE {
        let path = dir.join(format!("{stem}.bin"));
        std::fs::write(&path, input).map_err(io_err(&path))?;
        return Ok(path);
    }
    let path = dir.join(format!("{stem}.bin.gz"));
    let z = gzip(input).map_err(io_err(&path))?;
    std::fs::write(&path, z).map_err(io_err(&path))?;
    Ok(path)
}

/// Every file of `dir` (gunzipped where `.gz`), sorted by name (none when the folder does
/// not exist). The in-flight file of a run is left out.
///
/// # Errors
/// [`FuzzError::Io`] when the folder or a file cannot be read.
pub fn load_dir(dir: &Path) -> Result<Vec<(PathBuf, Vec<u8>)>, FuzzError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_err(dir)(e)),
    };
    let mut files = Vec::new();
    for e in entries {
        let path = e.map_err(io_err(dir))?.path();
        if path.is_file() && path.file_name().is_some_and(|n| n != "in-flight.bin") {
            let bytes = read_input(&path)?;
            files.push((path, bytes));
        }
    }
    files.sort();
    Ok(files)
}

thread_local! {
    /// While a case runs on this thread: the panic's message and location, once it panicked.
    static CAUGHT: RefCell<Option<Option<String>>> = const { RefCell::new(None) };
}

/// Installs (once) a panic hook that records a panic of a running case instead of printing
/// it; panics elsewhere go to the previous hook.
fn install_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let catching = CAUGHT.with(|c| c.borrow().is_some());
            if !catching {
                return previous(info);
            }
            let msg = info
                .payload()
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| info.payload().downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "(non-string panic payload)".into());
            let at = info.location().map_or_else(String::new, |l| format!(" at {l}"));
            let trace = std::backtrace::Backtrace::force_capture().to_string();
            let ours: Vec<&str> = trace
                .lines()
                .filter(|l| l.contains("at ./") || l.contains("/work/") || l.contains("lockstep"))
                .take(12)
                .collect();
            let text = format!("{msg}{at}\n{}", ours.join("\n"));
            CAUGHT.with(|c| *c.borrow_mut() = Some(Some(text)));
        }));
    });
}

/// Runs `target`'s check on `input` under `catch_unwind`: the verdict, or the failure.
fn run_case(target: &Target, input: &[u8]) -> Result<Verdict, (CrashKind, String)> {
    install_hook();
    CAUGHT.with(|c| *c.borrow_mut() = Some(None));
    let result = catch_unwind(AssertUnwindSafe(|| (target.check)(input)));
    let caught = CAUGHT.with(|c| c.borrow_mut().take()).flatten();
    match result {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(oracle)) => Err((CrashKind::Oracle, oracle)),
        Err(_) => Err((CrashKind::Panic, caught.unwrap_or_else(|| "panic".into()))),
    }
}

/// Replays one file through `target`: its verdict, or the crash it shows (nothing written).
///
/// # Errors
/// The [`Crash`] (panic or oracle) the input causes.
pub fn check_file(target: &Target, input: &[u8]) -> Result<Verdict, Crash> {
    run_case(target, input).map_err(|(kind, message)| Crash { kind, case: 0, message, path: None })
}

/// The first line of a failure: what tells two failures apart.
fn signature(kind: CrashKind, message: &str) -> String {
    let first = message.lines().next().unwrap_or("");
    // Oracle texts carry values; keep their words up to the first digit run.
    let cut = if kind == CrashKind::Panic { first.len() } else { first.len().min(60) };
    format!("{kind:?}:{}", &first[..first.floor_char_boundary(cut)])
}

/// Writes a reproducer to `<crashes>/<target>/<hash>.bin`.
fn save(cfg: &RunConfig, target: &str, input: &[u8]) -> Result<PathBuf, FuzzError> {
    let hash = Sha256::digest(input);
    let name: String = hash[..8].iter().map(|b| format!("{b:02x}")).collect();
    let dir = cfg.crashes.join(target);
    std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
    write_input(&dir, &name, input)
}

/// The in-flight file of `target`: each case's input is written there (its length as a
/// little-endian `u64`, then its bytes, in place: no truncation per case) before it runs, so an
/// abort leaves its reproducer behind.
fn in_flight(cfg: &RunConfig, target: &str) -> PathBuf {
    cfg.crashes.join(target).join("in-flight.bin")
}

/// Reports the input a previous run died on, if it left one.
fn promote_in_flight(cfg: &RunConfig, report: &mut Report) -> Result<(), FuzzError> {
    let path = in_flight(cfg, report.target);
    let Ok(bytes) = std::fs::read(&path) else { return Ok(()) };
    let len = bytes.get(..8).map_or(0, |b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8])));
    let input = bytes.get(8..).unwrap_or(&[]);
    let input = &input[..input.len().min(usize::try_from(len).unwrap_or(usize::MAX))];
    let saved = save(cfg, report.target, input)?;
    std::fs::remove_file(&path).map_err(io_err(&path))?;
    let message = "a previous run died on this input (an abort: no panic to catch)".to_owned();
    report.crashes.push(Crash { kind: CrashKind::Abort, case: 0, message, path: Some(saved) });
    Ok(())
}

/// One case's input: generated (and whether it is to be run unmutated) or from the corpus.
fn next_input(target: &Target, rng: &mut FuzzRng, corpus: &[Vec<u8>]) -> (Vec<u8>, bool) {
    if !corpus.is_empty() && rng.below(4) == 0 {
        return (corpus[rng.below(corpus.len())].clone(), false);
    }
    let scale = 6 + rng.below(6);
    let n = 16 + rng.below(1 << scale);
    let raw: Vec<u8> = (0..n.div_ceil(8)).flat_map(|_| rng.next_u64().to_le_bytes()).collect();
    ((target.generate)(&mut G::new(&raw)), true)
}

/// Fuzzes `target` for `cfg.budget`: generated inputs (a quarter of them checked unmutated,
/// where the parser must accept them), corpus files, each mutated and, half the time, with
/// its checksums repaired.
///
/// # Errors
/// [`FuzzError::Io`] when the corpus cannot be read or a reproducer cannot be written.
pub fn run_target(target: &'static Target, cfg: &RunConfig) -> Result<Report, FuzzError> {
    let corpus: Vec<Vec<u8>> =
        load_dir(&cfg.corpus.join(target.name))?.into_iter().map(|(_, b)| b).collect();
    let name_hash = target
        .name
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
    let mut rng = FuzzRng::new(cfg.seed ^ name_hash);
    #[allow(clippy::disallowed_methods, reason = "a dev tool's time box; never feeds a digest")]
    let start = Instant::now();
    let mut report = Report {
        target: target.name,
        cases: 0,
        accepted: 0,
        refused: 0,
        seconds: 0.0,
        max_case_memory: 0,
        crashes: Vec::new(),
    };
    let mut seen: Vec<String> = Vec::new();
    let measure = mem::reset_peak();
    let flight = cfg.save.then(|| in_flight(cfg, target.name));
    let mut flight_file = None;
    if let Some(f) = &flight {
        promote_in_flight(cfg, &mut report)?;
        let dir = f.parent().unwrap_or(f);
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        flight_file = Some(std::fs::File::create(f).map_err(io_err(f))?);
    }
    loop {
        let done = match cfg.budget {
            Budget::Cases(n) => report.cases >= n,
            Budget::Seconds(s) => start.elapsed().as_secs_f64() >= s,
        };
        if done {
            break;
        }
        let case = report.cases;
        let (mut input, generated) = next_input(target, &mut rng, &corpus);
        let strict = generated && rng.below(4) == 0;
        if !strict {
            rng.mutate(&mut input);
            if rng.below(2) == 0 {
                (target.fixup)(&mut input);
            }
        }
        if let (Some(file), Some(f)) = (&flight_file, &flight) {
            use std::os::unix::fs::FileExt;
            let len = (input.len() as u64).to_le_bytes();
            file.write_all_at(&len, 0)
                .and_then(|()| file.write_all_at(&input, 8))
                .map_err(io_err(f))?;
        }
        let before = if measure && mem::reset_peak() { mem::resident() } else { None };
        let t0 = start.elapsed();
        let mut outcome = run_case(target, &input);
        let took = start.elapsed().saturating_sub(t0);
        if let (Some((rss, _)), Some((_, peak))) = (before, before.and(mem::resident())) {
            let grew = peak.saturating_sub(rss);
            report.max_case_memory = report.max_case_memory.max(grew);
            if grew > cfg.memory_limit && outcome.is_ok() {
                outcome = Err((
                    CrashKind::Memory,
                    format!("the case raised peak memory by {grew} bytes"),
                ));
            }
        }
        if took > cfg.slow && outcome.is_ok() {
            outcome = Err((CrashKind::Slow, format!("the case took {took:?}")));
        }
        match outcome {
            Ok(Verdict::Normalized(why)) if strict => {
                let msg = format!("a generated valid input does not encode back to itself: {why}");
                record(cfg, &mut report, &mut seen, CrashKind::Oracle, case, msg, &input)?;
            }
            Ok(Verdict::Accepted | Verdict::Normalized(_)) => report.accepted += 1,
            Ok(Verdict::Refused(why)) if strict => {
                let msg = format!("a generated valid input was refused: {why}");
                record(cfg, &mut report, &mut seen, CrashKind::Oracle, case, msg, &input)?;
            }
            Ok(Verdict::Refused(_)) => report.refused += 1,
            Err((kind, msg)) => record(cfg, &mut report, &mut seen, kind, case, msg, &input)?,
        }
        report.cases += 1;
    }
    report.seconds = start.elapsed().as_secs_f64();
    drop(flight_file);
    if let Some(f) = &flight {
        std::fs::remove_file(f).map_err(io_err(f))?;
        // The target's folder stays only where it holds reproducers.
        let _ = std::fs::remove_dir(cfg.crashes.join(target.name));
    }
    Ok(report)
}

/// Records a failure: the first input of each distinct failure is written and kept.
fn record(
    cfg: &RunConfig,
    report: &mut Report,
    seen: &mut Vec<String>,
    kind: CrashKind,
    case: u64,
    message: String,
    input: &[u8],
) -> Result<(), FuzzError> {
    let sig = signature(kind, &message);
    if seen.contains(&sig) {
        return Ok(());
    }
    seen.push(sig);
    let path = if cfg.save { Some(save(cfg, report.target, input)?) } else { None };
    report.crashes.push(Crash { kind, case, message, path });
    Ok(())
}

/// Writes `n` generated inputs of `target` of at most `max_bytes` each (gzipped, for the
/// large ones) to `<dir>/<target>/gen-<i>.bin` (the seed corpus); how many were written.
///
/// # Errors
/// [`FuzzError::Io`] when a file cannot be written.
pub fn seed_corpus(
    target: &Target,
    dir: &Path,
    n: usize,
    max_bytes: usize,
    seed: u64,
) -> Result<usize, FuzzError> {
    let dir = dir.join(target.name);
    std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
    let mut rng = FuzzRng::new(seed);
    let mut written = 0;
    for _ in 0..n * 20 {
        if written == n {
            break;
        }
        let (input, _) = next_input(target, &mut rng, &[]);
        if !matches!(check_file(target, &input), Ok(Verdict::Accepted)) {
            continue;
        }
        let small = input.len() <= GZIP_ABOVE || gzip(&input).is_ok_and(|z| z.len() <= max_bytes);
        if input.len() <= max_bytes || (input.len() > GZIP_ABOVE && small) {
            write_input(&dir, &format!("gen-{written}"), &input)?;
            written += 1;
        }
    }
    Ok(written)
}
