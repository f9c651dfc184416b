//! Charts drawn once, kept twice: every chart is drawn with plotters into memory as SVG and
//! as PNG (the same drawing code for both backends), so a report can be written atomically and
//! byte-identically. Text in the PNG uses an embedded font (Noto Sans from the `ttf-noto-sans`
//! crate), so no system font is needed. Shared with latency-lab's charts.

use plotters::coord::Shift;
use plotters::prelude::*;
use std::fmt;
use std::sync::Once;

/// The font family charts use (registered from the embedded Noto Sans).
pub const FONT: &str = "sans-serif";

/// Registers the embedded font with plotters (once per process).
pub fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The font is a valid TrueType file shipped by the crate; failure would only mean
        // unlabelled PNGs, which drawing then reports as an error.
        let _ = plotters::style::register_font(FONT, FontStyle::Normal, ttf_noto_sans::REGULAR);
    });
}

/// A chart could not be drawn or encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChartError {
    /// plotters refused to draw (an empty range, a font problem).
    Draw {
        /// Which chart.
        chart: String,
        /// plotters' message.
        message: String,
    },
    /// The PNG encoder failed.
    Encode {
        /// Which chart.
        chart: String,
        /// The encoder's message.
        message: String,
    },
}

impl fmt::Display for ChartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChartError::Draw { chart, message } => write!(
                f,
                "drawing the {chart} chart failed: {message}; this is a bug in the chart code, please report it with the command line"
            ),
            ChartError::Encode { chart, message } => {
                write!(f, "encoding the {chart} chart as PNG failed: {message}")
            }
        }
    }
}

impl std::error::Error for ChartError {}

/// The result of drawing on one backend.
pub type DrawResult<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

/// A picture as SVG text and PNG bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendered {
    /// The SVG document.
    pub svg: String,
    /// The PNG file.
    pub png: Vec<u8>,
}

/// Draws the chart named `chart` (for messages) of `size` pixels with `svg` and `png`, which
/// should be the same drawing code for the two backends.
///
/// # Errors
/// [`ChartError`] if either backend fails or the PNG cannot be encoded.
pub fn render<F, G>(chart: &str, size: (u32, u32), svg: F, png: G) -> Result<Rendered, ChartError>
where
    F: FnOnce(&DrawingArea<SVGBackend<'_>, Shift>) -> DrawResult<SVGBackend<'static>>,
    G: FnOnce(&DrawingArea<BitMapBackend<'_>, Shift>) -> DrawResult<BitMapBackend<'static>>,
{
    register_font();
    let draw = |e: String| ChartError::Draw { chart: chart.to_owned(), message: e };
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, size).into_drawing_area();
        svg(&root).map_err(|e| draw(e.to_string()))?;
    }
    let (w, h) = size;
    let mut rgb = vec![0u8; w as usize * h as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, size).into_drawing_area();
        png(&root).map_err(|e| draw(e.to_string()))?;
    }
    let encode = |e: png::EncodingError| ChartError::Encode {
        chart: chart.to_owned(),
        message: e.to_string(),
    };
    let mut bytes = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut bytes, w, h);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        enc.set_compression(png::Compression::Default);
        let mut writer = enc.write_header().map_err(encode)?;
        writer.write_image_data(&rgb).map_err(encode)?;
        writer.finish().map_err(encode)?;
    }
    Ok(Rendered { svg: text, png: bytes })
}

/// `log10(1/(1-p))`: 0 at p = 0, 1 at 90%, 2 at 99%, 3 at 99.9%...; `None` at p >= 1.
pub fn percentile_x(p: f64) -> Option<f64> {
    (p < 1.0).then(|| libm::log10(1.0 / (1.0 - p)))
}

/// Axis label for integer x: `0%`, `90%`, `99%`, `99.9%`, `99.99%`...
pub fn percentile_label(x: f64) -> String {
    let k = x.round();
    if (x - k).abs() > 1e-9 || k < 0.0 {
        return String::new();
    }
    match k as u32 {
        0 => "0%".into(),
        1 => "90%".into(),
        2 => "99%".into(),
        n => format!("99.{}%", "9".repeat(n as usize - 2)),
    }
}

/// A time of day from seconds since the Unix epoch (tape time), `HH:MM:SS` in UTC.
pub fn clock_label(secs: f64) -> String {
    let s = secs.rem_euclid(86_400.0) as u64;
    format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_axis_maths() {
        assert_eq!(percentile_x(0.0), Some(0.0));
        assert!((percentile_x(0.9).unwrap() - 1.0).abs() < 1e-12);
        assert!((percentile_x(0.99).unwrap() - 2.0).abs() < 1e-12);
        assert!((percentile_x(0.999).unwrap() - 3.0).abs() < 1e-9);
        assert_eq!(percentile_x(1.0), None);
        assert_eq!(percentile_label(0.0), "0%");
        assert_eq!(percentile_label(1.0), "90%");
        assert_eq!(percentile_label(2.0), "99%");
        assert_eq!(percentile_label(3.0), "99.9%");
        assert_eq!(percentile_label(5.0), "99.999%");
        assert_eq!(percentile_label(2.5), "");
    }

    #[test]
    fn clock_labels_are_utc_times_of_day() {
        assert_eq!(clock_label(0.0), "00:00:00");
        assert_eq!(clock_label(1_700_000_000.5), "22:13:20");
    }

    fn diagonal<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        root.fill(&WHITE)?;
        let mut c = ChartBuilder::on(root)
            .caption("t", (FONT, 14))
            .x_label_area_size(20)
            .y_label_area_size(20)
            .build_cartesian_2d(0f64..1f64, 0f64..1f64)?;
        c.configure_mesh().draw()?;
        c.draw_series(LineSeries::new([(0.0, 0.0), (1.0, 1.0)], &RED))?;
        root.present()
    }

    #[test]
    #[allow(clippy::redundant_closure, reason = "closures give higher-ranked lifetimes")]
    fn renders_the_same_bytes_twice() {
        let a = render("test", (200, 100), |r| diagonal(r), |r| diagonal(r)).unwrap();
        let b = render("test", (200, 100), |r| diagonal(r), |r| diagonal(r)).unwrap();
        assert_eq!(a, b);
        assert!(a.svg.contains("<svg"));
        assert_eq!(&a.png[1..4], b"PNG");
    }
}
