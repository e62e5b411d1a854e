//! The insight graph, like the CloudTrail console's: the series' per-minute counts around the
//! insight, the baseline average, the insight shaded from Start to End, and the top callers.
//!
//! Drawn with plotters (SVG or PNG). Text uses DejaVu Sans embedded in the binary (the `dejavu`
//! crate) through plotters' `ab_glyph` feature, so rendering needs no system fonts or
//! fontconfig: it works the same on a laptop and in the Lambda runtime.

use crate::base::time::Minute;
use crate::insight::record::InsightRecord;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};
use std::path::Path;
use std::sync::OnceLock;

/// Everything one graph shows.
#[derive(Debug, Clone, PartialEq)]
pub struct InsightGraph {
    pub title: String,
    /// Per-minute counts, one entry per minute of the window (zeros included).
    pub minutes: Vec<(Minute, u64)>,
    /// Baseline average (events per minute) from the record.
    pub baseline: f64,
    pub insight_average: f64,
    pub start: Minute,
    /// The End record's time (the first usual minute), if the insight has ended.
    pub end: Option<Minute>,
    /// Top callers during the insight, with their per-minute average.
    pub callers: Vec<(String, f64)>,
}

/// Minutes shown before the Start and after the End.
pub const CONTEXT_MINUTES: i64 = 30;

impl InsightGraph {
    /// The window to fetch counts for: half an hour either side of the insight (an open insight is
    /// shown up to `open_until`).
    pub fn window(start: Minute, end: Option<Minute>, open_until: Minute) -> (Minute, Minute) {
        let end = end.unwrap_or(open_until.max(start.plus(1)));
        (start.plus(-CONTEXT_MINUTES), end.plus(CONTEXT_MINUTES))
    }

    /// Build from the insight's records and the stored counts of its series in `window`.
    pub fn from_records(
        start_record: Option<&InsightRecord>,
        end_record: Option<&InsightRecord>,
        window: (Minute, Minute),
        counts: &[(Minute, u64)],
    ) -> Option<InsightGraph> {
        let any = end_record.or(start_record)?;
        let d = &any.insight_details;
        let start = match (start_record, end_record) {
            (Some(s), _) => Minute::parse_event_time(&s.event_time)?,
            (None, Some(e)) => Minute::parse_event_time(&e.event_time)?.plus(
                -e.insight_details
                    .insight_context
                    .statistics
                    .insight_duration?,
            ),
            (None, None) => return None,
        };
        let end = end_record.and_then(|e| Minute::parse_event_time(&e.event_time));
        let stats = &d.insight_context.statistics;
        let callers = d
            .insight_context
            .attributions
            .as_ref()
            .and_then(|a| a.iter().find(|b| b.attribute == "userIdentityArn"))
            .map(|b| {
                b.insight
                    .iter()
                    .take(5)
                    .map(|v| (v.value.clone(), v.average))
                    .collect()
            })
            .unwrap_or_default();
        let mut minutes = Vec::new();
        let mut m = window.0;
        while m <= window.1 {
            let c = counts.iter().find(|(x, _)| *x == m).map_or(0, |(_, c)| *c);
            minutes.push((m, c));
            m = m.plus(1);
        }
        let what = match &d.error_code {
            Some(code) => format!("{} {} errors ({code})", d.event_source, d.event_name),
            None => format!("{} {} calls", d.event_source, d.event_name),
        };
        Some(InsightGraph {
            title: format!("{} — {what}", d.insight_type),
            minutes,
            baseline: stats.baseline.average,
            insight_average: stats.insight.average,
            start,
            end,
            callers,
        })
    }
}

/// The output format, from the file name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Svg,
    Png,
}

impl Format {
    pub fn from_path(path: &Path) -> Result<Format, String> {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(|e| e.to_ascii_lowercase())
            .as_deref()
        {
            Some("svg") => Ok(Format::Svg),
            Some("png") => Ok(Format::Png),
            _ => Err(format!(
                "{}: the output must end in .svg or .png",
                path.display()
            )),
        }
    }
}

pub const WIDTH: u32 = 1100;
pub const HEIGHT: u32 = 560;

/// Register the embedded font once (every chart drawn with plotters needs it for its text).
pub fn fonts() -> Result<(), String> {
    static REGISTERED: OnceLock<Result<(), String>> = OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular())
                .and_then(|_| register_font("sans-serif", FontStyle::Bold, dejavu::sans::bold()))
                .map_err(|_| "the embedded font could not be loaded".to_string())
        })
        .clone()
}

/// Render to a file (SVG or PNG by extension).
pub fn render_file(graph: &InsightGraph, path: &Path) -> Result<(), String> {
    fonts()?;
    let err = |e: String| format!("drawing {}: {e}", path.display());
    match Format::from_path(path)? {
        Format::Svg => {
            let root = SVGBackend::new(path, (WIDTH, HEIGHT)).into_drawing_area();
            draw(graph, &root).map_err(err)?;
            root.present().map_err(|e| err(e.to_string()))
        }
        Format::Png => {
            let root = BitMapBackend::new(path, (WIDTH, HEIGHT)).into_drawing_area();
            draw(graph, &root).map_err(err)?;
            root.present().map_err(|e| err(e.to_string()))
        }
    }
}

/// Render to an SVG string (what the function stores next to an End record).
pub fn render_svg(graph: &InsightGraph) -> Result<String, String> {
    fonts()?;
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (WIDTH, HEIGHT)).into_drawing_area();
        draw(graph, &root)?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(out)
}

fn hhmm(m: Minute) -> String {
    m.to_datetime().format("%H:%M").to_string()
}

const INSIGHT_FILL: RGBColor = RGBColor(255, 196, 120);
const SERIES: RGBColor = RGBColor(31, 119, 180);
const BASELINE: RGBColor = RGBColor(44, 160, 44);
const MARK: RGBColor = RGBColor(214, 39, 40);

fn draw<DB: DrawingBackend>(g: &InsightGraph, root: &DrawingArea<DB, Shift>) -> Result<(), String>
where
    DB::ErrorType: 'static,
{
    let e = |x: DrawingAreaErrorKind<DB::ErrorType>| x.to_string();
    root.fill(&WHITE).map_err(e)?;
    let (chart_area, legend_area) = root.split_vertically(HEIGHT - 120);
    let (first, last) = match (g.minutes.first(), g.minutes.last()) {
        (Some(a), Some(b)) => (a.0, b.0),
        _ => return Err("no minutes to draw".into()),
    };
    let peak = g.minutes.iter().map(|(_, c)| *c).max().unwrap_or(0) as f64;
    let y_max = (peak.max(g.baseline).max(g.insight_average) * 1.15).max(1.0);
    let end = g.end.unwrap_or(last);
    let day = g.start.to_datetime().format("%Y-%m-%d").to_string();

    let mut chart = ChartBuilder::on(&chart_area)
        .caption(
            &g.title,
            ("sans-serif", 20).into_font().style(FontStyle::Bold),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(56)
        .build_cartesian_2d(first.0..last.0 + 1, 0f64..y_max)
        .map_err(e)?;
    chart
        .configure_mesh()
        .x_desc(format!("minute (UTC), {day}"))
        .y_desc("events per minute")
        .x_labels(12)
        .x_label_formatter(&|m| hhmm(Minute(*m)))
        .light_line_style(RGBColor(235, 235, 235))
        .label_style(("sans-serif", 13))
        .draw()
        .map_err(e)?;

    // The insight band, Start to End.
    chart
        .draw_series(std::iter::once(Rectangle::new(
            [(g.start.0, 0.0), (end.0, y_max)],
            INSIGHT_FILL.mix(0.35).filled(),
        )))
        .map_err(e)?
        .label(match g.end {
            Some(_) => format!(
                "insight {}–{} UTC (avg {:.1}/min)",
                hhmm(g.start),
                hhmm(end),
                g.insight_average
            ),
            None => format!("insight since {} UTC (open)", hhmm(g.start)),
        })
        .legend(|(x, y)| Rectangle::new([(x, y - 6), (x + 16, y + 6)], INSIGHT_FILL.filled()));

    // Per-minute counts, drawn as steps (a count covers its whole minute).
    let steps: Vec<(i64, f64)> = g
        .minutes
        .iter()
        .flat_map(|(m, c)| [(m.0, *c as f64), (m.0 + 1, *c as f64)])
        .collect();
    chart
        .draw_series(LineSeries::new(steps, SERIES.stroke_width(2)))
        .map_err(e)?
        .label("events per minute")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 16, y)], SERIES.stroke_width(2)));

    // The baseline average.
    chart
        .draw_series(DashedLineSeries::new(
            [(first.0, g.baseline), (last.0 + 1, g.baseline)],
            8,
            5,
            BASELINE.stroke_width(2),
        ))
        .map_err(e)?
        .label(format!("baseline average {:.4}/min", g.baseline))
        .legend(|(x, y)| PathElement::new([(x, y), (x + 16, y)], BASELINE.stroke_width(2)));

    // Start and End marks.
    let mut marks = vec![("Start", g.start)];
    if let Some(end) = g.end {
        marks.push(("End", end));
    }
    for (i, (label, m)) in marks.into_iter().enumerate() {
        chart
            .draw_series(std::iter::once(PathElement::new(
                [(m.0, 0.0), (m.0, y_max)],
                MARK.stroke_width(2),
            )))
            .map_err(e)?;
        chart
            .draw_series(std::iter::once(Text::new(
                format!(" {label} {}", hhmm(m)),
                // Stacked so close Start and End labels do not overlap.
                (m.0, y_max * (0.99 - 0.06 * i as f64)),
                ("sans-serif", 14).into_font().color(&MARK),
            )))
            .map_err(e)?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3))
        .label_font(("sans-serif", 13))
        .draw()
        .map_err(e)?;

    // Top callers, under the chart.
    let style = TextStyle::from(("sans-serif", 14).into_font());
    legend_area
        .draw(&Text::new(
            "Top callers during the insight (userIdentityArn, average events per minute):",
            (20, 8),
            style.clone().font.style(FontStyle::Bold),
        ))
        .map_err(e)?;
    if g.callers.is_empty() {
        legend_area
            .draw(&Text::new("(none recorded)", (30, 30), style.clone()))
            .map_err(e)?;
    }
    for (i, (arn, avg)) in g.callers.iter().enumerate() {
        legend_area
            .draw(&Text::new(
                format!("{}. {arn}  {avg:.2}", i + 1),
                (30, 30 + 18 * i as i32),
                style.clone(),
            ))
            .map_err(e)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph() -> InsightGraph {
        let start = Minute::parse_event_time("2026-01-12T10:23:00Z").unwrap();
        InsightGraph {
            title: "ApiCallRateInsight — ec2.amazonaws.com RunInstances calls".into(),
            minutes: (0..30)
                .map(|i| {
                    (
                        start.plus(i - 10),
                        if (10..16).contains(&i) { 40 } else { 1 },
                    )
                })
                .collect(),
            baseline: 0.8,
            insight_average: 40.0,
            start,
            end: Some(start.plus(6)),
            callers: vec![("arn:aws:iam::123456789012:user/ci".into(), 38.5)],
        }
    }

    #[test]
    fn svg_has_the_series_band_marks_and_callers() {
        let svg = render_svg(&graph()).unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..80]);
        for needle in [
            " Start 10:23",
            " End 10:29",
            "baseline average 0.8000/min",
            "arn:aws:iam::123456789012:user/ci",
            "RunInstances",
        ] {
            assert!(svg.contains(needle), "missing {needle}");
        }
        assert!(svg.contains("<polyline"), "the series line");
        assert!(svg.contains("<rect"), "the band");
    }

    #[test]
    fn output_format_comes_from_the_name() {
        assert_eq!(Format::from_path(Path::new("a.SVG")), Ok(Format::Svg));
        assert_eq!(Format::from_path(Path::new("a.png")), Ok(Format::Png));
        assert!(Format::from_path(Path::new("a.pdf")).is_err());
    }
}
