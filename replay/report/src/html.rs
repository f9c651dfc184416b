//! `report.html`: one self-contained page (no script, no network) with the summary tables and
//! the charts inlined as SVG. Every value shown carries an `id` (`s<index>-<field>`), so tests
//! and tools can find it in the DOM.

use super::{FuelSection, ReportFile, Stats, StrategySummary, Summary};
use std::fmt::Write as _;

/// Escapes text for HTML element content and attribute values.
pub(super) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Text from a file (the tape's source, a symbol) for the page: control characters escaped
/// by the shared sanitiser and cut at `max` characters, then HTML-escaped.
pub(super) fn esc_untrusted(s: &str, max: usize) -> String {
    esc(&lockstep_sdk::untrusted(s).max_chars(max).to_string())
}

/// A ratio to four decimals, or a dash for none.
fn num(v: Option<f64>) -> String {
    v.map_or_else(|| "–".to_owned(), |x| format!("{x:.4}"))
}

/// A share as a percentage with two decimals.
fn percent(v: Option<f64>) -> String {
    v.map_or_else(|| "–".to_owned(), |x| format!("{:.2} %", x * 100.0))
}

/// A ratio, or why it is absent when there were too few bars for it.
fn ratio(v: Option<f64>, s: &Stats) -> String {
    match (&s.ratios_note, v) {
        (Some(_), _) => format!("too few bars ({})", s.bars),
        (None, v) => num(v),
    }
}

/// A time in nanoseconds, or a dash for none.
fn time(v: Option<i64>) -> String {
    v.map_or_else(|| "–".to_owned(), |t| format!("{t}"))
}

/// A date and time, or a dash for none.
fn when(v: Option<&str>) -> String {
    v.map_or_else(|| "–".to_owned(), str::to_owned)
}

/// The rows of the statistics table: (field, label, value).
fn stat_rows(s: &Stats) -> Vec<(&'static str, &'static str, String)> {
    vec![
        ("net_pnl", "Net PnL", s.net_pnl.clone()),
        ("gross_pnl", "Gross PnL", s.gross_pnl.clone()),
        ("fees", "Fees", s.fees.clone()),
        ("equity_end", "Equity at end", s.equity_end.clone()),
        ("sharpe", "Sharpe (per bar)", ratio(s.sharpe, s)),
        ("sharpe_annualised", "Sharpe (annualised)", ratio(s.sharpe_annualised, s)),
        ("sortino", "Sortino (per bar)", ratio(s.sortino, s)),
        ("sortino_annualised", "Sortino (annualised)", ratio(s.sortino_annualised, s)),
        ("max_drawdown", "Max drawdown", s.max_drawdown.clone()),
        ("max_drawdown_ns", "Max drawdown at", when(s.max_drawdown_time.as_deref())),
        ("turnover", "Turnover", s.turnover.clone()),
        ("bars", "Bars", s.bars.to_string()),
        ("orders", "Orders", s.orders.to_string()),
        ("fills", "Fills", s.fills.to_string()),
        ("cancels", "Cancelled", s.cancels.to_string()),
        ("replaces", "Replaces", s.replaces.to_string()),
        ("rejects", "Rejected requests", s.rejects.to_string()),
        ("too_late", "Of which too late (order already closed)", s.too_late.to_string()),
        ("reject_rate", "Reject rate (refused on their merits)", percent(s.reject_rate)),
        ("too_late_rate", "Too-late rate", percent(s.too_late_rate)),
        ("maker_share", "Maker share", num(s.maker_share)),
        ("fill_ratio", "Fill ratio", num(s.fill_ratio)),
        ("mean_ahead_at_rest", "Mean queue ahead at rest", num(s.mean_ahead_at_rest)),
        ("mean_ahead_at_fill", "Mean queue ahead at fill", num(s.mean_ahead_at_fill)),
        ("inventory_min", "Inventory min", s.inventory_min.clone()),
        ("inventory_max", "Inventory max", s.inventory_max.clone()),
        ("inventory_mean", "Inventory mean (time-weighted)", format!("{:.4}", s.inventory_mean)),
    ]
}

/// Drops the XML declaration plotters writes before `<svg`, for inlining.
fn inline_svg(svg: &str) -> &str {
    svg.find("<svg").map_or(svg, |k| &svg[k..])
}

/// The page. `pictures`: (strategy index, chart, file stem, SVG text); `fuel`: the fuel
/// sections of the strategies that have one.
pub(super) fn page(
    summary: &Summary,
    pictures: &[(usize, &'static str, String, String)],
    fuel: &[FuelSection],
    files: &[ReportFile],
) -> String {
    let mut h = String::new();
    head(&mut h, summary, !fuel.is_empty());
    for s in &summary.strategies {
        strategy_section(&mut h, s, pictures);
        for f in fuel.iter().filter(|f| f.strategy == s.index) {
            super::fuel::section(&mut h, f);
        }
    }
    files_list(&mut h, files);
    h
}

/// The page's head and opening: title, style, the tape and the run's digests.
fn head(h: &mut String, summary: &Summary, timed: bool) {
    let t = &summary.tape;
    let names: Vec<&str> = summary.strategies.iter().map(|s| s.name.as_str()).collect();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Lockstep backtest: {}</title>\n<style>\n\
body{{font-family:system-ui,sans-serif;margin:2em auto;max-width:1060px;color:#222}}\n\
table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right}}\n\
th{{background:#f3f3f3}}td.l,th.l{{text-align:left}}code{{font-size:90%}}figure{{margin:1em 0}}\n\
</style>\n</head>\n<body>\n",
        esc(&names.join(", "))
    );
    let _ = writeln!(h, "<h1>Backtest report</h1>");
    let _ = writeln!(
        h,
        "<p>Tape <b id=\"tape-source\">{}</b>: <span id=\"tape-events\">{}</span> events, from <span id=\"tape-start\">{}</span> to <span id=\"tape-end\">{}</span> (local tape time {} to {} ns); bars of {}. Run digest <code id=\"digest\">{}</code>, fuel digest <code id=\"fuel-digest\">{}</code>.</p>",
        esc_untrusted(&t.source, super::SOURCE_CHARS),
        t.events,
        esc(&when(t.start_time.as_deref())),
        esc(&when(t.end_time.as_deref())),
        time(t.start_ns),
        time(t.end_ns),
        crate::zone::human_duration(summary.bar_ns),
        summary.digest,
        summary.fuel_digest
    );
    if let Some(note) = &t.time_zone_note {
        let _ = writeln!(h, "<p id=\"time-zone-note\"><b>Note:</b> {}</p>", esc(note));
    }
    let _ = writeln!(
        h,
        "<p>Simulated venue: latency <span id=\"latency-model\">{}</span>; queue position <span id=\"queue-model\">{}</span>.</p>",
        esc_untrusted(&summary.latency_model, 300),
        esc(&summary.queue_model)
    );
    let except =
        if timed { " except the fuel certificates' times, measured on this machine" } else { "" };
    let _ = writeln!(
        h,
        "<p>Every file of this report is byte-identical for the same tape, strategies and parameters{except}; the host's wall-clock facts (throughput, per-event latency) are in <a href=\"run.json\">run.json</a>.</p>"
    );
}

/// One strategy's section: its digests, a halt, statistics, simulated latency, rejects and
/// charts.
fn strategy_section(
    h: &mut String,
    s: &StrategySummary,
    pictures: &[(usize, &'static str, String, String)],
) {
    let k = s.index;
    let _ = writeln!(
        h,
        "<h2 id=\"s{k}\">{} <small>({}, params <code>{}</code>)</small></h2>",
        esc(&s.name),
        s.tier,
        esc(&s.params)
    );
    let _ = writeln!(
        h,
        "<p>Digest <code id=\"s{k}-digest\">{}</code>, fuel digest <code>{}</code>.</p>",
        s.digest, s.fuel_digest
    );
    if let Some(m) = &s.halted {
        let _ = writeln!(h, "<p id=\"s{k}-halted\"><b>Halted</b> {}</p>", esc(m));
    }
    stats_table(h, s);
    let l = &s.latency;
    let _ = writeln!(
        h,
        "<p>Simulated latency: entry {} ns, feed {} ns; time from order to first fill over {} orders: p50 {} ns, p90 {} ns, p99 {} ns, max {} ns.</p>",
        l.entry_ns,
        l.feed_ns,
        l.filled_orders,
        time(l.to_first_fill_p50_ns),
        time(l.to_first_fill_p90_ns),
        time(l.to_first_fill_p99_ns),
        time(l.to_first_fill_max_ns)
    );
    rejects_table(h, s);
    quant_tables(h, s);
    for (_, chart, stem, svg) in pictures.iter().filter(|p| p.0 == k) {
        let _ = writeln!(
            h,
            "<figure id=\"s{k}-{chart}\">{}<figcaption><a href=\"{stem}.svg\">{stem}.svg</a> · <a href=\"{stem}.png\">{stem}.png</a></figcaption></figure>",
            inline_svg(svg)
        );
    }
}

/// The statistics table: a row per statistic, its value over all instruments (with an `id`)
/// and per instrument.
fn stats_table(h: &mut String, s: &StrategySummary) {
    let k = s.index;
    let _ = write!(h, "<table id=\"s{k}-stats\">\n<tr><th class=\"l\">statistic</th><th>all</th>");
    for i in &s.instruments {
        let symbol = i.symbol.as_deref().unwrap_or("?");
        let _ = write!(h, "<th>{}</th>", esc_untrusted(symbol, super::NAME_CHARS));
    }
    h.push_str("</tr>\n");
    let total = stat_rows(&s.total);
    let per: Vec<_> = s.instruments.iter().map(stat_rows).collect();
    for (r, (field, label, value)) in total.iter().enumerate() {
        let _ = write!(
            h,
            "<tr><td class=\"l\">{label}</td><td id=\"s{k}-{field}\">{}</td>",
            esc(value)
        );
        for p in &per {
            let _ = write!(h, "<td>{}</td>", esc(&p[r].2));
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</table>\n");
}

/// The rejected requests by reason, with what each usually means (or that there were none).
fn rejects_table(h: &mut String, s: &StrategySummary) {
    let k = s.index;
    if s.rejects.is_empty() {
        let _ = writeln!(h, "<p id=\"s{k}-rejects\">No request was rejected.</p>");
        return;
    }
    let _ = writeln!(
        h,
        "<table id=\"s{k}-rejects\">\n<tr><th>instrument</th><th class=\"l\">request</th><th class=\"l\">reason</th><th>count</th><th class=\"l\">what it usually means</th></tr>"
    );
    for r in &s.rejects {
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td class=\"l\">{}</td><td class=\"l\">{}</td><td>{}</td><td class=\"l\">{}</td></tr>",
            r.instrument,
            r.request,
            r.reason,
            r.count,
            esc(r.hint)
        );
    }
    h.push_str("</table>\n");
}

/// Writes a table with the id `id`, header cells `head` (the first left-aligned) and `rows`
/// of already escaped cells.
fn table(h: &mut String, id: &str, head: &[&str], rows: &[Vec<String>]) {
    let _ = write!(h, "<table id=\"{id}\">\n<tr>");
    for (k, c) in head.iter().enumerate() {
        let class = if k == 0 { " class=\"l\"" } else { "" };
        let _ = write!(h, "<th{class}>{c}</th>");
    }
    h.push_str("</tr>\n");
    for r in rows {
        h.push_str("<tr>");
        for (k, c) in r.iter().enumerate() {
            let class = if k == 0 { " class=\"l\"" } else { "" };
            let _ = write!(h, "<td{class}>{c}</td>");
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</table>\n");
}

/// Text or a dash for none, escaped.
fn opt(v: Option<&str>) -> String {
    esc(v.unwrap_or("–"))
}

/// The markouts, attribution, round-trip and per-period tables of a strategy.
fn quant_tables(h: &mut String, s: &StrategySummary) {
    let k = s.index;
    let _ = writeln!(
        h,
        "<h3>Markouts</h3>\n<p>Side × (mid after the horizon − fill price), positive is good for us; fills whose horizon fell after the end of the data are left out (counted under \"end of data\").</p>"
    );
    let rows: Vec<Vec<String>> = s
        .markouts
        .iter()
        .filter(|m| m.count > 0 || m.end_of_data > 0)
        .map(|m| {
            vec![
                format!("{} {}", m.side, m.liquidity),
                m.horizon.to_owned(),
                m.count.to_string(),
                opt(m.mean.as_deref()),
                num(m.mean_bps),
                percent(m.positive_share),
                m.end_of_data.to_string(),
            ]
        })
        .collect();
    let head = ["fills", "horizon", "count", "mean", "mean (bps)", "positive", "end of data"];
    table(h, &format!("s{k}-markouts"), &head, &rows);
    let _ = writeln!(h, "<h3>PnL attribution</h3>");
    let rows: Vec<Vec<String>> = s
        .attribution
        .iter()
        .map(|a| {
            vec![
                esc_untrusted(&a.symbol, super::NAME_CHARS),
                esc(&a.gross_pnl),
                esc(&a.spread_capture),
                esc(&a.inventory_pnl),
                esc(&a.fees),
                esc(&a.net_pnl),
            ]
        })
        .collect();
    let head = ["instrument", "gross PnL", "spread capture", "inventory PnL", "fees", "net PnL"];
    table(h, &format!("s{k}-attribution"), &head, &rows);
    round_trips_table(h, s);
    periods_table(h, s);
}

/// Round-trip statistics per instrument.
fn round_trips_table(h: &mut String, s: &StrategySummary) {
    let k = s.index;
    let _ = writeln!(
        h,
        "<h3>Round trips</h3>\n<p>Fills matched lot by lot, first in first out; each opening lot and closing fill pair is a trip, its PnL before fees.</p>"
    );
    let rows: Vec<Vec<String>> = s
        .round_trips
        .iter()
        .map(|r| {
            vec![
                esc_untrusted(&r.symbol, super::NAME_CHARS),
                r.trips.to_string(),
                format!("{} / {}", r.wins, r.losses),
                percent(r.win_rate),
                opt(r.mean_pnl.as_deref()),
                opt(r.median_pnl.as_deref()),
                opt(r.mean_holding.as_deref()),
                opt(r.longest_holding.as_deref()),
                r.open_lots.to_string(),
            ]
        })
        .collect();
    let head = [
        "instrument",
        "trips",
        "wins / losses",
        "win rate",
        "mean PnL",
        "median PnL",
        "mean holding",
        "longest",
        "open lots",
    ];
    table(h, &format!("s{k}-round-trips"), &head, &rows);
}

/// Most periods shown on the page (all of them are in summary.json).
const MAX_PERIOD_ROWS: usize = 200;

/// The per-period table.
fn periods_table(h: &mut String, s: &StrategySummary) {
    let k = s.index;
    let p = &s.periods;
    let shown = p.rows.len().min(MAX_PERIOD_ROWS);
    let more = if shown < p.rows.len() {
        format!(" The first {shown} of {} are shown; summary.json has them all.", p.rows.len())
    } else {
        String::new()
    };
    let _ = writeln!(
        h,
        "<h3>Per {}</h3>\n<p>Net PnL is the change of equity over all instruments.{more}</p>",
        p.period
    );
    let rows: Vec<Vec<String>> = p.rows[..shown]
        .iter()
        .map(|r| {
            vec![
                esc(&r.start_time),
                esc(&r.pnl),
                r.fills.to_string(),
                esc(&r.volume),
                esc(&r.notional),
                esc(&r.max_inventory),
            ]
        })
        .collect();
    let head = ["start", "net PnL", "fills", "volume", "notional", "max inventory"];
    table(h, &format!("s{k}-periods"), &head, &rows);
}

/// The list of the report's files, `run.json` last, and the page's close.
fn files_list(h: &mut String, files: &[ReportFile]) {
    h.push_str("<h2>Files</h2>\n<ul>\n");
    for f in files {
        let _ = writeln!(
            h,
            "<li><a href=\"{0}\">{0}</a> ({1} bytes)</li>",
            esc(&f.name),
            f.bytes.len()
        );
    }
    h.push_str(
        "<li><a href=\"run.json\">run.json</a> (wall clock)</li>\n</ul>\n</body>\n</html>\n",
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(esc("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&#39;");
        assert_eq!(inline_svg("<?xml version=\"1.0\"?>\n<svg a>"), "<svg a>");
        assert_eq!(esc_untrusted("<a>\x1b[2J\nx", 64), "&lt;a&gt;\\u{1b}[2J\\nx");
    }
}
