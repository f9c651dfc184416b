//! The gateway's latency per stage: one [`JitterRecorder`] each (the replay harness's
//! recorder), written beside the journal as `.hlog` and `.hgrm` for latency-lab to plot.

use lockstep_sim::{JitterRecorder, Percentiles, WorstEvent};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// The stages timed, in order: from the datagram's receipt to the order's bytes written.
pub const STAGES: [&str; 4] = ["decode", "core", "encode-send", "wire-to-wire"];

/// One stage's percentiles (nanoseconds).
#[derive(Clone, Debug, Serialize)]
pub struct StageLatency {
    /// The stage (`decode`: datagram to market events; `core`: book, strategies and risk;
    /// `encode-send`: FIX encoding and the socket write; `wire-to-wire`: all of it).
    pub stage: &'static str,
    /// Percentiles and the maximum.
    pub latency: Percentiles,
}

/// Recorders for every stage.
pub(crate) struct Stages {
    rec: Vec<JitterRecorder>,
    samples: u64,
}

impl Stages {
    pub(crate) fn new() -> Self {
        Self {
            rec: STAGES.iter().map(|_| JitterRecorder::new(1_000_000_000)).collect(),
            samples: 0,
        }
    }

    /// Records one datagram's stage times (ns), `now` on the gateway's clock since start.
    pub(crate) fn record(&mut self, times: [i64; 4], now: u64) {
        for (r, t) in self.rec.iter_mut().zip(times) {
            r.tick(now);
            r.record(WorstEvent {
                latency_ns: t.max(0) as u64,
                tape_event: self.samples,
                ..WorstEvent::default()
            });
        }
        self.samples += 1;
    }

    /// Writes `<stage>.hlog` and `<stage>.hgrm` into `dir`; returns the files and percentiles.
    pub(crate) fn finish(mut self, dir: &Path, now: u64) -> (Vec<PathBuf>, Vec<StageLatency>) {
        let mut files = Vec::new();
        let mut out = Vec::new();
        for (r, stage) in self.rec.iter_mut().zip(STAGES) {
            let report = r.finish(now);
            out.push(StageLatency { stage, latency: report.summary });
            let hlog = dir.join(format!("latency-{stage}.hlog"));
            let hgrm = dir.join(format!("latency-{stage}.hgrm"));
            let wrote = std::fs::File::create(&hlog)
                .and_then(|mut f| r.write_hlog(&mut f, "lockstep gateway", stage))
                .and_then(|()| std::fs::File::create(&hgrm))
                .and_then(|mut f| r.write_hgrm(&mut f));
            if wrote.is_ok() {
                files.extend([hlog, hgrm]);
            }
        }
        (files, out)
    }
}
