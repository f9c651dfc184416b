//! Per-event latency in HdrHistogram: percentiles, the worst events, an interval log (`.hlog`)
//! and a percentile distribution (`.hgrm`) that HdrHistogram's own tools read.
//!
//! Latency is measured from when an event was *due* (paced replay) or *handed over* (as fast
//! as possible) to when every strategy finished with it, so a stall delays the following
//! events' start and shows up in their latency too: coordinated omission cannot hide it.
//! Histograms are allocated up front; recording never allocates.

use hdrhistogram::Histogram;
use hdrhistogram::serialization::interval_log::{IntervalLogWriterBuilder, Tag};
use hdrhistogram::serialization::{Deserializer, Serializer, V2Serializer};
use std::fmt::Write as _;
use std::io::{self, Write};
use std::time::Duration;

/// Highest latency the histograms track (10 s); larger values are clamped to it.
pub const MAX_TRACKABLE_NS: u64 = 10_000_000_000;
/// Significant decimal digits of the histograms.
pub const SIGNIFICANT_DIGITS: u8 = 3;
/// How many worst events are kept.
pub const WORST_KEPT: usize = 10;

/// One of the slowest events.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WorstEvent {
    /// Latency in nanoseconds.
    pub latency_ns: u64,
    /// Index of the tape event (0-based), or `u64::MAX` for an event of the simulated exchange
    /// (ack, fill, timer...).
    pub tape_event: u64,
    /// Sequence number the (first) strategy saw the event under, or `u64::MAX` when no strategy
    /// event resulted.
    pub seq: u64,
    /// Strategy the event went to, for exchange events; `u32::MAX` for market events.
    pub strategy: u32,
    /// SDK event kind delivered (`event_kind::*`), 0 when none.
    pub kind: u16,
    /// Fuel the strategies used on it.
    pub fuel: u64,
}

/// The percentiles every latency report shows, in nanoseconds: replay's per-event latency and
/// latency-lab's columns and hiccup threads alike.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Percentiles {
    /// Number of samples.
    pub count: u64,
    /// Smallest sample.
    pub min: u64,
    /// Median.
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th percentile.
    pub p99: u64,
    /// 99.9th percentile.
    pub p999: u64,
    /// 99.99th percentile.
    pub p9999: u64,
    /// Largest sample.
    pub max: u64,
    /// Arithmetic mean.
    pub mean: f64,
}

impl Percentiles {
    /// Summarises a histogram (all zeros when it is empty).
    pub fn of(h: &Histogram<u64>) -> Self {
        if h.is_empty() {
            return Self::default();
        }
        Self {
            count: h.len(),
            min: h.min(),
            p50: h.value_at_quantile(0.5),
            p90: h.value_at_quantile(0.9),
            p99: h.value_at_quantile(0.99),
            p999: h.value_at_quantile(0.999),
            p9999: h.value_at_quantile(0.9999),
            max: h.max(),
            mean: h.mean(),
        }
    }

    /// Jitter as we define it: `max − p50`.
    pub fn jitter_ns(&self) -> u64 {
        self.max.saturating_sub(self.p50)
    }

    /// Tail ratio as we define it: `p99.99 / p50` (0 when there are no samples).
    pub fn tail_ratio(&self) -> f64 {
        if self.p50 == 0 { 0.0 } else { self.p9999 as f64 / self.p50 as f64 }
    }
}

/// The form every JSON report shows (replay's `latency_ns`, latency-lab's columns and cores):
/// the fields, the mean to 0.001 ns, jitter (`max_minus_p50`) and tail ratio (`p9999_over_p50`).
impl serde::Serialize for Percentiles {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(serde::Serialize)]
        struct Json {
            count: u64,
            min: u64,
            p50: u64,
            p90: u64,
            p99: u64,
            p999: u64,
            p9999: u64,
            max: u64,
            mean: f64,
            max_minus_p50: u64,
            p9999_over_p50: f64,
        }
        let thousandths = |v: f64| (v * 1000.0).round() / 1000.0;
        Json {
            count: self.count,
            min: self.min,
            p50: self.p50,
            p90: self.p90,
            p99: self.p99,
            p999: self.p999,
            p9999: self.p9999,
            max: self.max,
            mean: thousandths(self.mean),
            max_minus_p50: self.jitter_ns(),
            p9999_over_p50: thousandths(self.tail_ratio()),
        }
        .serialize(serializer)
    }
}

/// Percentiles and worst events of one run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LatencyReport {
    /// The percentiles (ns).
    pub summary: Percentiles,
    /// The slowest events, slowest first.
    pub worst: Vec<WorstEvent>,
}

#[derive(Clone, Copy, Debug)]
struct Interval {
    start_ns: u64,
    dur_ns: u64,
    offset: usize,
    len: usize,
}

/// Records per-event latencies.
pub struct JitterRecorder {
    total: Histogram<u64>,
    interval: Histogram<u64>,
    worst: [WorstEvent; WORST_KEPT],
    n_worst: usize,
    /// The smallest latency among the worst kept (once full): anything not above it is skipped.
    threshold: u64,
    interval_ns: u64,
    interval_start: u64,
    intervals: Vec<Interval>,
    encoded: Vec<u8>,
    serializer: V2Serializer,
}

impl std::fmt::Debug for JitterRecorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JitterRecorder")
            .field("count", &self.total.len())
            .field("intervals", &self.intervals.len())
            .finish_non_exhaustive()
    }
}

fn histogram() -> Histogram<u64> {
    match Histogram::new_with_bounds(1, MAX_TRACKABLE_NS, SIGNIFICANT_DIGITS) {
        Ok(h) => h,
        Err(e) => unreachable!("constant histogram bounds are valid: {e:?}"),
    }
}

impl JitterRecorder {
    /// A recorder that closes an interval for the `.hlog` every `interval_ns` of wall time.
    pub fn new(interval_ns: u64) -> Self {
        Self {
            total: histogram(),
            interval: histogram(),
            worst: [WorstEvent::default(); WORST_KEPT],
            n_worst: 0,
            threshold: 0,
            interval_ns: interval_ns.max(1),
            interval_start: 0,
            intervals: Vec::with_capacity(1024),
            encoded: Vec::with_capacity(1 << 16),
            serializer: V2Serializer::new(),
        }
    }

    /// Records one event's latency (and keeps it if it is among the worst).
    #[inline]
    pub fn record(&mut self, ev: WorstEvent) {
        // Only the interval histogram is written per event; it is folded into the total when
        // the interval closes.
        self.interval.saturating_record(ev.latency_ns);
        if self.n_worst < WORST_KEPT {
            self.worst[self.n_worst] = ev;
            self.n_worst += 1;
            if self.n_worst == WORST_KEPT {
                self.threshold = self.worst.iter().map(|w| w.latency_ns).min().unwrap_or(0);
            }
        } else if ev.latency_ns > self.threshold {
            let (i, min) = self
                .worst
                .iter()
                .enumerate()
                .min_by_key(|(i, w)| (w.latency_ns, std::cmp::Reverse(*i)))
                .map(|(i, w)| (i, w.latency_ns))
                .unwrap_or((0, 0));
            if ev.latency_ns > min {
                self.worst[i] = ev;
            }
            self.threshold = self.worst.iter().map(|w| w.latency_ns).min().unwrap_or(0);
        }
    }

    /// Closes the current `.hlog` interval if it has lasted long enough; call between events
    /// with the clock's reading.
    #[inline]
    pub fn tick(&mut self, now_ns: u64) {
        if now_ns.saturating_sub(self.interval_start) >= self.interval_ns {
            self.close_interval(now_ns);
        }
    }

    fn close_interval(&mut self, now_ns: u64) {
        if self.interval.is_empty() {
            self.interval_start = now_ns;
            return;
        }
        // Same bounds and precision: adding never reallocates and cannot fail.
        let _ = self.total.add(&self.interval);
        let offset = self.encoded.len();
        if self.serializer.serialize(&self.interval, &mut self.encoded).is_ok() {
            self.intervals.push(Interval {
                start_ns: self.interval_start,
                dur_ns: now_ns.saturating_sub(self.interval_start),
                offset,
                len: self.encoded.len() - offset,
            });
        }
        self.interval.reset();
        self.interval_start = now_ns;
    }

    /// Closes the last interval and computes the report.
    pub fn finish(&mut self, now_ns: u64) -> LatencyReport {
        self.close_interval(now_ns);
        let h = &self.total;
        let mut worst: Vec<WorstEvent> = self.worst[..self.n_worst].to_vec();
        worst.sort_by(|a, b| b.latency_ns.cmp(&a.latency_ns).then(a.tape_event.cmp(&b.tape_event)));
        LatencyReport { summary: Percentiles::of(h), worst }
    }

    /// The whole-run histogram (complete once [`JitterRecorder::finish`] has run).
    pub fn histogram(&self) -> &Histogram<u64> {
        &self.total
    }

    /// Writes the HdrHistogram interval log (V2-encoded histograms, values in ns, the max
    /// column in µs). `tag` names the histograms (e.g. the run's mode).
    ///
    /// # Errors
    /// An I/O error from `out`.
    pub fn write_hlog<W: Write>(&self, out: &mut W, comment: &str, tag: &str) -> io::Result<()> {
        let mut serializer = V2Serializer::new();
        let mut log = IntervalLogWriterBuilder::new()
            .add_comment(comment)
            .add_comment("latency per event in nanoseconds; interval timestamps are seconds since the run started")
            .with_max_value_divisor(1000.0)
            .begin_log_with(out, &mut serializer)?;
        let tag = Tag::new(tag);
        for iv in &self.intervals {
            let mut bytes = &self.encoded[iv.offset..iv.offset + iv.len];
            let h: Histogram<u64> = Deserializer::new()
                .deserialize(&mut bytes)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("{e:?}")))?;
            log.write_histogram(
                &h,
                Duration::from_nanos(iv.start_ns),
                Duration::from_nanos(iv.dur_ns),
                tag,
            )
            .map_err(|e| io::Error::other(e.to_string()))?;
        }
        Ok(())
    }

    /// Writes the percentile distribution in HdrHistogram's text format (`.hgrm`), values in
    /// microseconds, as `outputPercentileDistribution` prints it.
    ///
    /// # Errors
    /// An I/O error from `out`.
    pub fn write_hgrm<W: Write>(&self, out: &mut W) -> io::Result<()> {
        out.write_all(percentile_distribution(&self.total, 1000.0).as_bytes())
    }
}

/// HdrHistogram's percentile distribution text (5 ticks per half distance), values divided by
/// `scale`.
pub fn percentile_distribution(h: &Histogram<u64>, scale: f64) -> String {
    let d = usize::from(SIGNIFICANT_DIGITS);
    let mut s = String::new();
    let _ = write!(
        s,
        "{:>12} {:>14} {:>10} {:>14}\n\n",
        "Value", "Percentile", "TotalCount", "1/(1-Percentile)"
    );
    let mut total = 0u64;
    if !h.is_empty() {
        for v in h.iter_quantiles(5) {
            total += v.count_since_last_iteration();
            let q = v.quantile_iterated_to();
            let value = v.value_iterated_to() as f64 / scale;
            if q < 1.0 {
                let _ =
                    writeln!(s, "{value:>12.d$} {q:>2.12} {total:>10} {:>14.2}", 1.0 / (1.0 - q));
            } else {
                let _ = writeln!(s, "{value:>12.d$} {q:>2.12} {total:>10}");
            }
        }
    }
    let sub_buckets = (2 * 10u64.pow(u32::from(SIGNIFICANT_DIGITS))).next_power_of_two();
    let _ = writeln!(
        s,
        "#[Mean    = {:>12.d$}, StdDeviation   = {:>12.d$}]",
        h.mean() / scale,
        h.stdev() / scale
    );
    let _ = writeln!(
        s,
        "#[Max     = {:>12.d$}, Total count    = {:>12}]",
        h.max() as f64 / scale,
        h.len()
    );
    let _ = writeln!(s, "#[Buckets = {:>12}, SubBuckets     = {:>12}]", h.buckets(), sub_buckets);
    s
}

/// Formats nanoseconds for people: `850ns`, `12.300µs`, `4.560ms`, `1.200s` (the one
/// formatter of the CLI and latency-lab).
pub fn format_ns(ns: u64) -> String {
    let v = ns as f64;
    if ns < 1_000 {
        format!("{ns}ns")
    } else if ns < 1_000_000 {
        format!("{:.3}µs", v / 1e3).replace(".000µs", "µs")
    } else if ns < 1_000_000_000 {
        format!("{:.3}ms", v / 1e6)
    } else {
        format!("{:.3}s", v / 1e9)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_ns_picks_a_unit() {
        assert_eq!(format_ns(850), "850ns");
        assert_eq!(format_ns(12_300), "12.300µs");
        assert_eq!(format_ns(2_000), "2µs");
        assert_eq!(format_ns(4_560_000), "4.560ms");
        assert_eq!(format_ns(1_200_000_000), "1.200s");
    }

    fn ev(latency_ns: u64, tape_event: u64) -> WorstEvent {
        WorstEvent { latency_ns, tape_event, ..WorstEvent::default() }
    }

    #[test]
    fn percentiles_worst_and_files() {
        let mut r = JitterRecorder::new(1_000);
        for i in 0..10_000u64 {
            r.record(ev(100 + i % 100, i));
            r.tick(i * 10);
        }
        r.record(ev(5_000_000, 77_777));
        let rep = r.finish(200_000);
        assert_eq!(rep.summary.count, 10_001);
        assert!((140..=160).contains(&rep.summary.p50), "{}", rep.summary.p50);
        assert!(rep.summary.max >= 4_990_000 && rep.summary.max <= 5_010_000);
        assert_eq!(rep.worst[0].tape_event, 77_777);
        assert_eq!(rep.worst.len(), WORST_KEPT);
        assert!(rep.worst.windows(2).all(|w| w[0].latency_ns >= w[1].latency_ns));
        assert!(rep.summary.jitter_ns() > 4_000_000);

        let mut hlog = Vec::new();
        r.write_hlog(&mut hlog, "test", "afap").unwrap();
        let text = String::from_utf8(hlog.clone()).unwrap();
        assert!(text.contains("#test"));
        // HdrHistogram's own reader parses it back, every interval.
        let n = hdrhistogram::serialization::interval_log::IntervalLogIterator::new(&hlog)
            .filter(|l| {
                matches!(l, Ok(hdrhistogram::serialization::interval_log::LogEntry::Interval(_)))
            })
            .count();
        assert!(n >= 50, "{n} intervals");

        let mut hgrm = Vec::new();
        r.write_hgrm(&mut hgrm).unwrap();
        let t = String::from_utf8(hgrm).unwrap();
        assert!(
            t.starts_with("       Value     Percentile TotalCount 1/(1-Percentile)\n\n"),
            "{t}"
        );
        assert!(t.contains("Total count    =        10001]"), "{t}");
        let last = t.lines().rfind(|l| !l.starts_with('#') && !l.is_empty()).unwrap();
        assert!(last.contains("1.000000000000"), "{last}");
    }
}
