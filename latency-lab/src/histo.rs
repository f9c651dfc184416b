//! Latency histograms and their files: HdrHistogram interval logs (`.hlog`, readable by the Java
//! `HistogramLogProcessor` and HistogramLogAnalyzer) and percentile distributions (`.hgrm`, the
//! text `outputPercentileDistribution` writes).

use crate::error::Error;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::Deserializer;
use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};
use std::io::{Read, Write};
use std::path::Path;

/// Highest value a latency histogram tracks: one hour in nanoseconds (larger values saturate).
pub const HIGHEST_NS: u64 = 3_600_000_000_000;

/// Percentile ticks per half distance in `.hgrm` output and charts (HdrHistogram's default).
pub(crate) const TICKS_PER_HALF_DISTANCE: u32 = 5;

/// A latency histogram in nanoseconds: 1 ns to one hour at 3 significant digits (~270 KiB),
/// allocated and zero-filled (every page touched) here so recording never allocates or faults.
pub fn new_histogram() -> Histogram<u64> {
    let mut h = Histogram::new_with_bounds(1, HIGHEST_NS, 3)
        .unwrap_or_else(|e| unreachable!("constant histogram bounds are valid: {e}"));
    // `reset` writes every counter: this commits the pages now instead of on the hot path.
    h.reset();
    h
}

/// The percentiles every report shows (lockstep-replay's, shared).
pub use lockstep_sim::Percentiles as Summary;

/// Rounds to 3 decimals for JSON readability.
pub(crate) fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

/// One interval histogram read from an interval log.
#[derive(Debug)]
pub struct Interval {
    /// The interval's tag (latency-lab writes `core<N>` or the runner name), if any.
    pub tag: Option<String>,
    /// Start, in seconds (relative to the log's start when latency-lab wrote it).
    pub start_s: f64,
    /// Length in seconds.
    pub duration_s: f64,
    /// The interval's values.
    pub hist: Histogram<u64>,
}

/// The most bytes read from one `.hlog` or `.hgrm` (a day of 1 s intervals is a few MiB).
pub(crate) const MAX_LOG_BYTES: u64 = 256 << 20;

/// The largest value a `.hgrm` row may hold, in its own unit: 2^64 (no latency in any unit is
/// larger, and the chart's axes stay finite).
const MAX_HGRM_VALUE: f64 = 18_446_744_073_709_551_616.0;

/// Reads every interval of an HdrHistogram interval log (`.hlog`).
///
/// # Errors
/// [`Error::Io`] when the file cannot be read, [`Error::Parse`] (with the line) when a line or an
/// encoded histogram is malformed.
pub fn read_hlog(path: &Path) -> Result<Vec<Interval>, Error> {
    let bytes = lockstep_io::read_bounded(path, MAX_LOG_BYTES)
        .map_err(|e| Error::io("reading the interval log", path, e))?;
    parse_hlog(&bytes, path)
}

fn line_of(bytes: &[u8], offset: usize) -> usize {
    bytes[..offset.min(bytes.len())].iter().filter(|&&b| b == b'\n').count() + 1
}

/// Parses interval-log text (see [`read_hlog`]); `path` is only used in error messages.
pub(crate) fn parse_hlog(bytes: &[u8], path: &Path) -> Result<Vec<Interval>, Error> {
    let mut out = Vec::new();
    let mut de = Deserializer::new();
    let mut base = 0.0;
    let mut first_start: Option<f64> = None;
    for entry in IntervalLogIterator::new(bytes) {
        let entry = entry.map_err(|e| {
            let hdrhistogram::serialization::interval_log::LogIteratorError::ParseError { offset } =
                e;
            Error::parse(
                path,
                line_of(bytes, offset),
                "not an interval-log line (expected `#` comment, header or \
                 `start,duration,max,base64-histogram`)",
            )
        })?;
        match entry {
            LogEntry::BaseTime(t) => base = t.as_secs_f64(),
            LogEntry::StartTime(_) => {}
            LogEntry::Interval(ilh) => {
                let encoded = ilh.encoded_histogram();
                let at_line = || {
                    let off = bytes
                        .windows(encoded.len().min(32))
                        .position(|w| w == &encoded.as_bytes()[..encoded.len().min(32)])
                        .unwrap_or(0);
                    line_of(bytes, off)
                };
                let raw = base64_decode(encoded).ok_or_else(|| {
                    Error::parse(path, at_line(), "the histogram column is not valid base64")
                })?;
                let raw = plain_v2(&raw).map_err(|why| Error::parse(path, at_line(), why))?;
                let hist: Histogram<u64> = de.deserialize(&mut raw.as_slice()).map_err(|e| {
                    Error::parse(path, at_line(), format!("the encoded histogram is invalid: {e}"))
                })?;
                let start = base + ilh.start_timestamp().as_secs_f64();
                first_start.get_or_insert(start);
                out.push(Interval {
                    tag: ilh.tag().map(|t| t.as_str().to_owned()),
                    start_s: start,
                    duration_s: ilh.duration().as_secs_f64(),
                    hist,
                });
            }
        }
    }
    // Logs stamped with absolute epoch seconds are shown relative to their first interval.
    if let Some(t0) = first_start.filter(|&t| t > 1e8) {
        for i in &mut out {
            i.start_s -= t0;
        }
    }
    Ok(out)
}

/// HdrHistogram's V2 encoding cookies (plain and deflated).
const V2_COOKIE: u32 = 0x1c84_9313;
const V2_DEFLATE_COOKIE: u32 = 0x1c84_9314;
/// The V2 header: cookie, payload length, offset, digits, lowest, highest, ratio.
const V2_HEADER: usize = 40;
/// The most bytes one encoded histogram may inflate to (a 3-digit histogram of every u64 is
/// far smaller).
const MAX_HISTOGRAM_BYTES: u64 = 64 << 20;

/// An encoded histogram as plain V2 bytes that hold the payload they declare: a deflated one is
/// inflated to at most [`MAX_HISTOGRAM_BYTES`] first. The decoder allocates whatever length a
/// header declares, so a forged 244-byte log could ask it for gigabytes.
fn plain_v2(raw: &[u8]) -> Result<Vec<u8>, String> {
    let be32 = |b: &[u8], at: usize| {
        b.get(at..at + 4).map(|w| u32::from_be_bytes([w[0], w[1], w[2], w[3]]))
    };
    let plain = match be32(raw, 0) {
        Some(V2_COOKIE) => raw.to_vec(),
        Some(V2_DEFLATE_COOKIE) => {
            let body = raw.get(8..).ok_or("the encoded histogram is cut short")?;
            let mut out = Vec::new();
            flate2::read::ZlibDecoder::new(body)
                .take(MAX_HISTOGRAM_BYTES + 1)
                .read_to_end(&mut out)
                .map_err(|e| format!("the encoded histogram does not inflate: {e}"))?;
            if out.len() as u64 > MAX_HISTOGRAM_BYTES {
                return Err(format!(
                    "the encoded histogram inflates past {MAX_HISTOGRAM_BYTES} bytes"
                ));
            }
            out
        }
        _ => return Err("the encoded histogram is not HdrHistogram's V2 encoding".to_owned()),
    };
    if be32(&plain, 0) != Some(V2_COOKIE) || plain.len() < V2_HEADER {
        return Err("the encoded histogram's header is cut short or not V2".to_owned());
    }
    let declared = be32(&plain, 4).map_or(0, |n| n as usize);
    let held = plain.len() - V2_HEADER;
    if declared > held {
        return Err(format!(
            "the encoded histogram declares {declared} bytes of counts but holds {held}"
        ));
    }
    Ok(plain)
}

/// Standard base64 (with padding) decoding, as interval logs use.
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    fn val(c: u8) -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    }
    let s = s.trim().trim_end_matches('=').as_bytes();
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    for chunk in s.chunks(4) {
        let mut acc = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            acc |= val(c)? << (18 - 6 * i);
        }
        match chunk.len() {
            4 => out.extend_from_slice(&[(acc >> 16) as u8, (acc >> 8) as u8, acc as u8]),
            3 => out.extend_from_slice(&[(acc >> 16) as u8, (acc >> 8) as u8]),
            2 => out.push((acc >> 16) as u8),
            _ => return None,
        }
    }
    Some(out)
}

/// Writes a percentile distribution in HdrHistogram's `.hgrm` text format; values are divided
/// by `value_scale` (1.0 keeps nanoseconds, 1000.0 writes microseconds). The text itself comes
/// from the replay crate, so every `.hgrm` Lockstep writes has one format.
///
/// # Errors
/// The writer's I/O error.
pub fn write_hgrm(w: &mut impl Write, h: &Histogram<u64>, value_scale: f64) -> std::io::Result<()> {
    w.write_all(lockstep_sim::percentile_distribution(h, value_scale).as_bytes())
}

/// Writes `h` as a `.hgrm` file at `path`, whole or not at all (the replay crate's atomic
/// writer), as `hiccup` and `compare` do for each core or column.
///
/// # Errors
/// [`Error::Io`] naming `path`.
pub(crate) fn write_hgrm_file(path: &Path, h: &Histogram<u64>) -> Result<(), Error> {
    let mut buf = Vec::new();
    write_hgrm(&mut buf, h, 1.0)
        .and_then(|()| lockstep_io::write_atomic(path, &buf))
        .map_err(|e| Error::io("writing the percentile distribution", path, e))
}

/// Widths of the percentile columns every table shows: p50 ... max, then max-p50.
const PERCENTILE_WIDTHS: [usize; 7] = [9, 9, 9, 9, 9, 9, 10];

/// Right-aligns `cells` in the percentile columns, one space apart.
fn percentile_row<T: std::fmt::Display>(cells: [T; 7]) -> String {
    let cells = cells.iter().zip(PERCENTILE_WIDTHS).map(|(c, w)| format!("{c:>w$}"));
    cells.collect::<Vec<_>>().join(" ")
}

/// The percentile columns' heading, shared by the `hiccup` and `compare` tables.
pub(crate) fn percentile_heads() -> String {
    percentile_row(["p50", "p90", "p99", "p99.9", "p99.99", "max", "max-p50"])
}

/// One row's percentile columns, aligned under [`percentile_heads`].
pub(crate) fn percentile_cells(s: &Summary) -> String {
    let f = lockstep_sim::format_ns;
    percentile_row([s.p50, s.p90, s.p99, s.p999, s.p9999, s.max, s.jitter_ns()].map(f))
}

/// One row of a `.hgrm` percentile distribution.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HgrmPoint {
    /// The value, in the file's unit.
    pub value: f64,
    /// The quantile, 0..=1.
    pub quantile: f64,
    /// Samples at or below the value.
    pub total_count: u64,
}

/// Parses `.hgrm` text: the header line, then rows of `value quantile total_count [1/(1-q)]`,
/// then `#[...]` footer lines.
///
/// # Errors
/// [`Error::Parse`] with the line number of the first malformed row, or when there is no row.
pub fn parse_hgrm(text: &str, path: &Path) -> Result<Vec<HgrmPoint>, Error> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') || t.starts_with("Value") {
            continue;
        }
        let cols: Vec<&str> = t.split_whitespace().collect();
        let bad = |what: &str| {
            Error::parse(
                path,
                i + 1,
                format!("{what}; expected `Value Percentile TotalCount [1/(1-Percentile)]`"),
            )
        };
        if !(3..=4).contains(&cols.len()) {
            return Err(bad(&format!("{} columns", cols.len())));
        }
        let value: f64 = cols[0].parse().map_err(|_| bad("value is not a number"))?;
        if !value.is_finite() || !(0.0..=MAX_HGRM_VALUE).contains(&value) {
            return Err(bad("value must be a number from 0 to 2^64"));
        }
        let quantile: f64 = cols[1].parse().map_err(|_| bad("percentile is not a number"))?;
        let total_count: u64 = cols[2].parse().map_err(|_| bad("total count is not an integer"))?;
        if !(0.0..=1.0).contains(&quantile) {
            return Err(bad("percentile column must be a fraction in 0..=1"));
        }
        out.push(HgrmPoint { value, quantile, total_count });
    }
    if out.is_empty() {
        return Err(Error::parse(path, 0, "no percentile rows found: is this a .hgrm file?"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hdrhistogram::serialization::V2DeflateSerializer;
    use hdrhistogram::serialization::interval_log::{IntervalLogWriterBuilder, Tag};
    use std::time::Duration;

    fn sample() -> Histogram<u64> {
        let mut h = new_histogram();
        for v in 1..=10_000u64 {
            h.record(v * 100).unwrap();
        }
        h
    }

    #[test]
    fn summary_defines_jitter_and_tail_ratio() {
        let s = Summary::of(&sample());
        assert_eq!(s.count, 10_000);
        assert!((499_000..=501_000).contains(&s.p50), "{s:?}");
        assert!(s.max >= 1_000_000 && s.max < 1_001_000);
        assert_eq!(s.jitter_ns(), s.max - s.p50);
        assert!((s.tail_ratio() - s.p9999 as f64 / s.p50 as f64).abs() < 1e-12);
        let empty = Summary::of(&new_histogram());
        assert_eq!((empty.count, empty.tail_ratio()), (0, 0.0));
    }

    #[test]
    fn hgrm_round_trip() {
        let h = sample();
        let mut buf = Vec::new();
        write_hgrm(&mut buf, &h, 1.0).unwrap();
        let text = String::from_utf8(buf).unwrap();
        assert!(text.starts_with("       Value     Percentile TotalCount 1/(1-Percentile)"));
        let pts = parse_hgrm(&text, Path::new("t.hgrm")).unwrap();
        let last = pts.last().unwrap();
        assert_eq!(last.quantile, 1.0);
        assert_eq!(last.total_count, 10_000);
        assert_eq!(last.value, h.max() as f64);
        let median = pts.iter().find(|p| p.quantile >= 0.5).unwrap();
        assert_eq!(median.value, h.value_at_quantile(0.5) as f64);
        assert!(pts.windows(2).all(|w| w[0].quantile <= w[1].quantile));
    }

    fn base64(bytes: &[u8]) -> String {
        const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = String::new();
        for c in bytes.chunks(3) {
            let n = c.iter().enumerate().fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
            for k in 0..4 {
                let ch = if k <= c.len() { A[(n >> (18 - 6 * k) & 63) as usize] } else { b'=' };
                out.push(char::from(ch));
            }
        }
        out
    }

    #[test]
    fn a_forged_histogram_length_is_refused_not_allocated() {
        let mut v2 = Vec::new();
        v2.extend_from_slice(&V2_COOKIE.to_be_bytes());
        v2.extend_from_slice(&0x7fff_ffff_u32.to_be_bytes());
        v2.extend_from_slice(&0u32.to_be_bytes());
        v2.extend_from_slice(&3u32.to_be_bytes());
        v2.extend_from_slice(&1u64.to_be_bytes());
        v2.extend_from_slice(&1000u64.to_be_bytes());
        v2.extend_from_slice(&1.0f64.to_be_bytes());
        v2.extend_from_slice(&[0; 8]);
        let line = format!("0.000,1.000,0.0,{}\n", base64(&v2));
        let e = parse_hlog(line.as_bytes(), Path::new("f.hlog")).unwrap_err().to_string();
        assert!(e.contains("declares 2147483647 bytes of counts but holds 8"), "{e}");
        // Deflated, the same forgery is found after a bounded inflate.
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(&v2).unwrap();
        let z = z.finish().unwrap();
        let mut d = V2_DEFLATE_COOKIE.to_be_bytes().to_vec();
        d.extend_from_slice(&(z.len() as u32).to_be_bytes());
        d.extend_from_slice(&z);
        let line = format!("0.000,1.000,0.0,{}\n", base64(&d));
        let e = parse_hlog(line.as_bytes(), Path::new("f.hlog")).unwrap_err().to_string();
        assert!(e.contains("declares 2147483647 bytes"), "{e}");
        // A real one still reads.
        assert_eq!(base64(b"hello"), "aGVsbG8=");
    }

    #[test]
    fn hgrm_errors_name_the_line() {
        let text = "       Value     Percentile TotalCount 1/(1-Percentile)\n\n\
                    1.0 0.5 10 2.0\n 2.0 x 11\n";
        let e = parse_hgrm(text, Path::new("a.hgrm")).unwrap_err().to_string();
        assert!(e.starts_with("a.hgrm:4: percentile is not a number"), "{e}");
        let e = parse_hgrm("1 0.5 1\ninf 0.9 2\n", Path::new("c.hgrm")).unwrap_err().to_string();
        assert!(e.starts_with("c.hgrm:2: value must be a number from 0 to 2^64"), "{e}");
        let e = parse_hgrm("NaN 0.5 1\n", Path::new("c.hgrm")).unwrap_err().to_string();
        assert!(e.starts_with("c.hgrm:1: value must be a number from 0"), "{e}");
        // Finite, but past any latency: the chart's axes would run to infinity.
        let e = parse_hgrm("1 0.5 1\n1.7976e308 1 2\n", Path::new("d.hgrm")).unwrap_err();
        assert!(e.to_string().starts_with("d.hgrm:2: value must be a number from 0"), "{e}");
        let e = parse_hgrm("#[Mean = 1]\n", Path::new("b.hgrm")).unwrap_err().to_string();
        assert!(e.contains("no percentile rows"), "{e}");
    }

    #[test]
    fn hlog_round_trip_with_tags() {
        let h = sample();
        let mut buf = Vec::new();
        let mut ser = V2DeflateSerializer::new();
        {
            let mut w = IntervalLogWriterBuilder::new()
                .add_comment("test log")
                .begin_log_with(&mut buf, &mut ser)
                .unwrap();
            w.write_histogram(&h, Duration::ZERO, Duration::from_secs(1), Tag::new("core0"))
                .unwrap();
            w.write_histogram(&h, Duration::from_secs(1), Duration::from_secs(1), None).unwrap();
        }
        let ivs = parse_hlog(&buf, Path::new("t.hlog")).unwrap();
        assert_eq!(ivs.len(), 2);
        assert_eq!(ivs[0].tag.as_deref(), Some("core0"));
        assert_eq!(ivs[1].tag, None);
        assert_eq!((ivs[1].start_s, ivs[1].duration_s), (1.0, 1.0));
        assert_eq!(ivs[0].hist.len(), h.len());
        assert_eq!(ivs[0].hist.value_at_quantile(0.99), h.value_at_quantile(0.99));
    }

    #[test]
    fn hlog_garbage_is_a_parse_error_with_a_line() {
        let text = b"#comment\n0.000,1.000,2.0,!!!notbase64\n";
        let e = parse_hlog(text, Path::new("g.hlog")).unwrap_err().to_string();
        assert!(e.starts_with("g.hlog:2:"), "{e}");
    }

    #[test]
    fn base64_decodes_standard_alphabet() {
        assert_eq!(base64_decode("aGVsbG8=").unwrap(), b"hello");
        assert_eq!(base64_decode("aGk=").unwrap(), b"hi");
        assert_eq!(base64_decode("YWJj").unwrap(), b"abc");
        assert!(base64_decode("a*==").is_none());
    }
}
