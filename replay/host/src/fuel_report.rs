//! The backtest report's fuel sections (`backtest --fuel-report`): for a WebAssembly
//! strategy of the run, its certificate (with the run's own most fuel per event as the
//! observed maximum) and its fuel profile over the same source, laid out by the report crate.

use crate::certify::{Certificate, CertifyError, Observed, certificate};
use crate::load::StrategySpec;
use crate::profile::{ProfileError, ProfileOutput, profile};
use lockstep_report::{FuelBound, FuelEvent, FuelFunction, FuelSection};
use lockstep_sim::{EventSource, SessionConfig, StrategyReport, TapeHeader};
use std::fmt;

/// Costliest events listed in the section.
const EVENTS_SHOWN: usize = 10;

/// A fuel section could not be made.
#[derive(Debug)]
#[non_exhaustive]
pub enum FuelReportError {
    /// Profiling the strategy failed.
    Profile(ProfileError),
    /// Certifying it failed.
    Certify(CertifyError),
    /// A file could not be encoded.
    Encode(serde_json::Error),
}

impl fmt::Display for FuelReportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Profile(e) => write!(f, "profiling: {e}"),
            Self::Certify(e) => write!(f, "certifying: {e}"),
            Self::Encode(e) => write!(f, "encoding the fuel files: {e}; please report it"),
        }
    }
}

impl std::error::Error for FuelReportError {}

/// What a fuel section is made from: strategy `index` of the run, its spec, the run's
/// settings, its report (for the observed maximum) and the source name.
pub struct FuelInputs<'a> {
    /// The strategy's position in the run.
    pub index: usize,
    /// Whether the run has several strategies (the files are then suffixed `-<index>`).
    pub several: bool,
    /// The strategy.
    pub spec: &'a StrategySpec,
    /// The run's settings (tier, fuel per event, venue).
    pub cfg: &'a SessionConfig,
    /// The strategy's report from the run.
    pub report: &'a StrategyReport,
    /// The source's name, for the certificate.
    pub source: String,
    /// The machine, as `latency-lab sysinfo` reports it (JSON with a `summary` line).
    pub machine: serde_json::Value,
}

/// The fuel section of one strategy: profiles it over `src` (the run's source again, from its
/// start) and certifies it with the run's own most fuel per event.
///
/// # Errors
/// [`FuelReportError`]: a native build, a refused module, a failed or diverging replay.
pub fn fuel_section(
    x: FuelInputs<'_>,
    header: &TapeHeader,
    src: &mut dyn EventSource,
) -> Result<FuelSection, FuelReportError> {
    let observed = vec![Observed {
        source: x.source.clone(),
        events: x.report.events,
        max_fuel: x.report.fuel_max.0,
        tier: x.cfg.tier.to_string(),
    }];
    let machine_line = x.machine["summary"].as_str().unwrap_or("machine unknown").to_owned();
    let cert = certificate(x.spec, x.cfg, observed, x.machine).map_err(FuelReportError::Certify)?;
    let prof = profile(header, x.spec, x.cfg, src).map_err(FuelReportError::Profile)?;
    let suffix = if x.several { format!("-{}", x.index) } else { String::new() };
    let files = files(&cert, &prof, &suffix)?;
    Ok(FuelSection {
        strategy: x.index,
        bound: bound(&cert, machine_line),
        total_fuel: prof.summary.total_fuel,
        functions: functions(&prof),
        costliest: prof
            .summary
            .costliest
            .iter()
            .take(EVENTS_SHOWN)
            .map(|e| FuelEvent {
                fuel: e.fuel,
                kind: e.kind.to_owned(),
                tape_event: e.tape_event.or(e.after_tape_event),
                after: e.tape_event.is_none(),
            })
            .collect(),
        flamegraph: Some(format!("fuel-flamegraph{suffix}.svg")),
        files,
    })
}

/// The certificate as the report shows it.
fn bound(c: &Certificate, machine: String) -> FuelBound {
    let s = &c.static_bound;
    let worst = c
        .calibration
        .ns_per_fuel
        .iter()
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map_or_else(String::new, |(name, _)| name.clone());
    FuelBound {
        static_bound: s.bound,
        reason: s.reason.clone(),
        after_init: c.after_init.bound,
        after_init_reason: c.after_init.reason.clone(),
        functions: (
            s.functions.len(),
            s.functions.iter().filter(|f| f.status == "bounded").count(),
        ),
        fuel_per_event: c.fuel_per_event,
        certified_fuel: c.certified_fuel,
        observed_max: c.observed.iter().map(|o| o.max_fuel).max().unwrap_or(0),
        worst_ns_per_fuel: (c.calibration.worst_ns_per_fuel, worst),
        certified_ns: c.certified_ns,
        machine,
    }
}

/// The profile's functions, costliest with callees first (ties by name).
fn functions(p: &ProfileOutput) -> Vec<FuelFunction> {
    let mut v: Vec<FuelFunction> = p
        .summary
        .functions
        .iter()
        .map(|f| FuelFunction {
            name: f.name.clone(),
            self_fuel: f.self_fuel,
            total_fuel: f.total_fuel,
        })
        .collect();
    v.sort_by(|a, b| b.total_fuel.cmp(&a.total_fuel).then_with(|| a.name.cmp(&b.name)));
    v
}

/// The section's files: the certificate and the profile's, named with `suffix`.
fn files(
    cert: &Certificate,
    prof: &ProfileOutput,
    suffix: &str,
) -> Result<Vec<(String, Vec<u8>)>, FuelReportError> {
    let mut cert_json = serde_json::to_vec_pretty(cert).map_err(FuelReportError::Encode)?;
    cert_json.push(b'\n');
    let mut out = vec![(format!("certificate{suffix}.json"), cert_json)];
    for (name, bytes) in prof.files().map_err(FuelReportError::Encode)? {
        let (stem, ext) = name.split_once('.').unwrap_or((name, ""));
        let stem = if stem == "flamegraph" { "fuel-flamegraph" } else { stem };
        out.push((format!("{stem}{suffix}.{ext}"), bytes));
    }
    Ok(out)
}
