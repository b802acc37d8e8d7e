//! Line charts as inline SVG drawn with plotters, each in a `<figure>` with an HTML legend.

use super::page::escape;
use crate::report::document::Chart;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use std::fmt::Write as _;
use std::ops::Range;

/// Chart size in SVG user units; the page scales it down to fit.
pub(super) const CHART_WIDTH: u32 = 900;
pub(super) const CHART_HEIGHT: u32 = 420;
/// Longest x label drawn, in characters; longer ones are cut with an ellipsis.
pub(super) const MAX_X_LABEL_CHARS: usize = 24;
/// Longest chart title drawn inside the SVG, in characters.
pub(super) const MAX_TITLE_CHARS: usize = 90;
/// Markers are drawn on the lines up to this many x positions.
const MAX_MARKER_POSITIONS: usize = 60;
/// Line colours (d3 category10); past ten series the marker shape changes.
pub(super) const PALETTE: [(u8, u8, u8); 10] = [
    (0x1f, 0x77, 0xb4),
    (0xff, 0x7f, 0x0e),
    (0x2c, 0xa0, 0x2c),
    (0xd6, 0x27, 0x28),
    (0x94, 0x67, 0xbd),
    (0x8c, 0x56, 0x4b),
    (0xe3, 0x77, 0xc2),
    (0x7f, 0x7f, 0x7f),
    (0xbc, 0xbd, 0x22),
    (0x17, 0xbe, 0xcf),
];
/// Marker shapes, in the order series use them after each round of colours.
const SHAPES: [Shape; 4] = [
    Shape::Circle,
    Shape::Triangle,
    Shape::Square,
    Shape::Diamond,
];

/// A chart as a figure: the SVG drawn by plotters, then the legend as HTML (it wraps, so
/// many series and long names stay legible).
pub(super) fn figure(chart: &Chart, index: usize) -> String {
    let title_id = format!("chart-{index}-title");
    let has_values = chart
        .series
        .iter()
        .any(|(_, values)| values.iter().any(|value| drawable(*value)));
    let mut legend = String::new();
    if !chart.series.is_empty() {
        legend.push_str("<figcaption><ul class=\"legend\">\n");
        for (index, (name, _)) in chart.series.iter().enumerate() {
            let _ = writeln!(
                legend,
                "<li>{}<span>{}</span></li>",
                swatch(index),
                escape(name)
            );
        }
        legend.push_str("</ul></figcaption>\n");
    }
    figure_of(
        &chart.title,
        has_values,
        || chart_svg(chart, &title_id),
        &legend,
    )
}

/// The `<figure>` around a drawn chart: the SVG (or a line saying why there is none), then
/// `legend`.
pub(super) fn figure_of(
    title: &str,
    has_values: bool,
    draw: impl FnOnce() -> Result<String, String>,
    legend: &str,
) -> String {
    let mut out = String::from("<figure class=\"chart\">\n");
    if !has_values {
        // An empty plot says less than a line of text.
        let _ = writeln!(
            out,
            "<p class=\"muted\"><strong>{}</strong>: no values to draw</p>",
            escape(title)
        );
    } else {
        match draw() {
            Ok(svg) => out.push_str(&svg),
            Err(error) => {
                let _ = writeln!(
                    out,
                    "<p class=\"muted\">{}: the chart could not be drawn ({})</p>",
                    escape(title),
                    escape(&error)
                );
            }
        }
    }
    out.push_str(legend);
    out.push_str("</figure>\n");
    out
}

/// The SVG plotters wrote, as an inline `<svg>` element: plotters opens with `<svg width
/// height viewBox xmlns>`; the namespace is implied inside HTML and the page sizes the chart
/// through CSS, so it is labelled for screen readers instead.
pub(super) fn inline_svg(svg: &str, title: &str, title_id: &str) -> Result<String, String> {
    let body = match svg.find('>') {
        Some(end) if svg.starts_with("<svg") => &svg[end + 1..],
        _ => return Err("unexpected SVG output".to_string()),
    };
    Ok(format!(
        "<svg width=\"{CHART_WIDTH}\" height=\"{CHART_HEIGHT}\" viewBox=\"0 0 {CHART_WIDTH} {CHART_HEIGHT}\" \
         role=\"img\" aria-labelledby=\"{title_id}\">\n<title id=\"{title_id}\">{}</title>{body}",
        escape(title)
    ))
}

#[derive(Clone, Copy)]
enum Shape {
    Circle,
    Triangle,
    Square,
    Diamond,
}

fn series_style(index: usize) -> (RGBColor, Shape) {
    let (r, g, b) = PALETTE[index % PALETTE.len()];
    (
        RGBColor(r, g, b),
        SHAPES[(index / PALETTE.len()) % SHAPES.len()],
    )
}

/// A small legend sample: a line with the series' marker on it.
fn swatch(index: usize) -> String {
    let (RGBColor(r, g, b), shape) = series_style(index);
    let colour = format!("#{r:02x}{g:02x}{b:02x}");
    let marker = match shape {
        Shape::Circle => format!("<circle cx=\"14\" cy=\"7\" r=\"3.5\" fill=\"{colour}\"/>"),
        Shape::Triangle => {
            format!("<polygon points=\"14,2.5 18.5,10.5 9.5,10.5\" fill=\"{colour}\"/>")
        }
        Shape::Square => {
            format!("<rect x=\"10.5\" y=\"3.5\" width=\"7\" height=\"7\" fill=\"{colour}\"/>")
        }
        Shape::Diamond => format!("<polygon points=\"14,2 19,7 14,12 9,7\" fill=\"{colour}\"/>"),
    };
    format!(
        "<svg width=\"28\" height=\"14\" viewBox=\"0 0 28 14\" aria-hidden=\"true\">\
         <line x1=\"1\" y1=\"7\" x2=\"27\" y2=\"7\" stroke=\"{colour}\" stroke-width=\"2.5\"/>{marker}</svg>"
    )
}

/// The chart as an inline `<svg>` element (scaled by CSS through its `viewBox`).
fn chart_svg(chart: &Chart, title_id: &str) -> Result<String, String> {
    let positions = chart
        .series
        .iter()
        .map(|(_, values)| values.len())
        .chain([chart.x_labels.len()])
        .max()
        .unwrap_or(0);
    let drawn = || {
        chart
            .series
            .iter()
            .flat_map(|(_, values)| values.iter().copied())
            .filter(|value| drawable(*value))
    };
    let max = drawn().fold(0.0_f64, f64::max);
    let min = drawn().fold(0.0_f64, f64::min);
    let integral = drawn().all(|value| value.fract() == 0.0);
    // Counts start at 0; a little headroom above the highest value.
    let top = if max > 0.0 { max * 1.08 } else { 1.0 };
    let bottom = if min < 0.0 { min * 1.08 } else { 0.0 };
    let y_labels = if integral {
        ((top - bottom).floor().min(9.0) as usize + 1).max(2)
    } else {
        10
    };

    // x: one position per dump; a little room either side so end markers are not cut.
    let x_range = if positions <= 1 {
        -1.0..1.0
    } else {
        let last = (positions - 1) as f64;
        let pad = (last * 0.02).max(0.2);
        -pad..last + pad
    };
    let labels: Vec<String> = (0..positions)
        .map(|index| {
            chart
                .x_labels
                .get(index)
                .map_or_else(String::new, |label| truncate(label, MAX_X_LABEL_CHARS))
        })
        .collect();
    let label_chars = labels
        .iter()
        .map(|label| label.chars().count())
        .max()
        .unwrap_or(1)
        .max(1);
    let y_label_chars = number(top)
        .chars()
        .count()
        .max(number(bottom).chars().count());
    let y_area = (y_label_chars as u32 * 8 + 42).min(200);
    let right_margin = ((label_chars as u32 * 7) / 2 + 8).clamp(20, 110);
    let plot_width = CHART_WIDTH
        .saturating_sub(y_area + right_margin + 10)
        .max(100) as usize;
    let fit = (plot_width / (label_chars * 7 + 18)).max(1);
    let key_points = spread(positions, fit);

    let mut svg = String::new();
    {
        let root =
            SVGBackend::with_string(&mut svg, (CHART_WIDTH, CHART_HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(|error| error.to_string())?;
        let mut context = framed(&root, &chart.title, right_margin, (50, y_area))
            .build_cartesian_2d(
                Positions {
                    inner: x_range.into(),
                    labelled: key_points.clone(),
                },
                bottom..top,
            )
            .map_err(|error| error.to_string())?;
        draw_axes(
            &mut context,
            &labels,
            (key_points.len().max(1), y_labels),
            &chart.axes,
            15,
        )?;

        for (index, (_, values)) in chart.series.iter().enumerate() {
            let (colour, shape) = series_style(index);
            let line = colour.stroke_width(2);
            // Values that cannot be drawn are left out: the line breaks there.
            let mut segments: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
            for (x, value) in values.iter().enumerate() {
                if drawable(*value) {
                    segments.last_mut().unwrap().push((x as f64, *value));
                } else if !segments.last().unwrap().is_empty() {
                    segments.push(Vec::new());
                }
            }
            for segment in segments.iter().filter(|segment| !segment.is_empty()) {
                context
                    .draw_series(LineSeries::new(segment.iter().copied(), line))
                    .map_err(|error| error.to_string())?;
            }
            if positions <= MAX_MARKER_POSITIONS {
                let points = segments.iter().flatten().copied();
                let fill = colour.filled();
                let result = match shape {
                    Shape::Circle => context
                        .draw_series(points.map(|point| Circle::new(point, 3, fill)))
                        .map(|_| ()),
                    Shape::Triangle => context
                        .draw_series(points.map(|point| TriangleMarker::new(point, 5, fill)))
                        .map(|_| ()),
                    Shape::Square => context
                        .draw_series(points.map(|point| {
                            EmptyElement::at(point) + Rectangle::new([(-3, -3), (3, 3)], fill)
                        }))
                        .map(|_| ()),
                    Shape::Diamond => context
                        .draw_series(points.map(|point| {
                            EmptyElement::at(point)
                                + Polygon::new(vec![(0, -5), (5, 0), (0, 5), (-5, 0)], fill)
                        }))
                        .map(|_| ()),
                };
                result.map_err(|error| error.to_string())?;
            }
        }
        root.present().map_err(|error| error.to_string())?;
    }

    inline_svg(&svg, &chart.title, title_id)
}

/// Whether a value is drawn: NaN, infinities and magnitudes past 1e300 (whose axis span would
/// not be finite) are left out.
/// A chart builder on `root` with the report's title style and margins: `right_margin` and
/// the label areas `(x, y)` in pixels.
pub(super) fn framed<'a, 'b>(
    root: &'a DrawingArea<SVGBackend<'b>, plotters::coord::Shift>,
    title: &str,
    right_margin: u32,
    (x_area, y_area): (u32, u32),
) -> ChartBuilder<'a, 'b, SVGBackend<'b>> {
    let mut builder = ChartBuilder::on(root);
    builder
        .caption(truncate(title, MAX_TITLE_CHARS), ("sans-serif", 21))
        .margin_top(8)
        .margin_left(10)
        .margin_right(right_margin)
        .margin_bottom(6)
        .x_label_area_size(x_area)
        .y_label_area_size(y_area);
    builder
}

pub(super) fn drawable(value: f64) -> bool {
    value.is_finite() && value.abs() <= 1e300
}

/// Draws the axes of a chart over dump positions: `labels` at the labelled positions,
/// `counts` (x, y) labels at most, the axes' descriptions, labels `label_size` px.
pub(super) fn draw_axes<DB: DrawingBackend>(
    context: &mut ChartContext<'_, DB, Cartesian2d<Positions, RangedCoordf64>>,
    labels: &[String],
    counts: (usize, usize),
    axes: &(String, String),
    label_size: u32,
) -> Result<(), String> {
    let x_label = |x: &f64| {
        let index = x.round();
        if index >= 0.0 && (x - index).abs() < 1e-6 {
            labels.get(index as usize).cloned().unwrap_or_default()
        } else {
            String::new()
        }
    };
    context
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(counts.0)
        .y_labels(counts.1)
        .x_label_formatter(&x_label)
        .y_label_formatter(&|y: &f64| number(*y))
        .x_desc(axes.0.as_str())
        .y_desc(axes.1.as_str())
        .label_style(
            ("sans-serif", label_size)
                .into_font()
                .color(&RGBColor(0x33, 0x33, 0x33)),
        )
        .axis_desc_style(
            ("sans-serif", 16)
                .into_font()
                .color(&RGBColor(0x22, 0x22, 0x22)),
        )
        .axis_style(RGBColor(0x55, 0x55, 0x55))
        .bold_line_style(RGBColor(0xe3, 0xe6, 0xea))
        .light_line_style(TRANSPARENT)
        .draw()
        .map_err(|error| error.to_string())
}

/// The x axis: dump positions, labelled (and ticked) only at the chosen ones.
pub(super) struct Positions {
    pub(super) inner: RangedCoordf64,
    pub(super) labelled: Vec<f64>,
}

impl Ranged for Positions {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.inner.map(value, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.labelled.clone()
        }
    }

    fn range(&self) -> Range<f64> {
        self.inner.range()
    }
}

/// `count` evenly spread positions out of `positions` (first and last included).
fn spread(positions: usize, count: usize) -> Vec<f64> {
    if positions == 0 {
        return Vec::new();
    }
    if positions <= count {
        return (0..positions).map(|index| index as f64).collect();
    }
    if count <= 1 {
        return vec![0.0];
    }
    let mut points: Vec<usize> = (0..count)
        .map(|step| (step * (positions - 1) + (count - 1) / 2) / (count - 1))
        .collect();
    points.dedup();
    points.into_iter().map(|index| index as f64).collect()
}

/// A y axis value: whole numbers without decimals, others with at most two.
pub(super) fn number(value: f64) -> String {
    if value.abs() >= 1e15 {
        format!("{value:.1e}")
    } else if (value - value.round()).abs() < 1e-9 {
        format!("{}", value.round() as i64)
    } else {
        let text = format!("{value:.2}");
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

pub(super) fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
        cut.push('…');
        cut
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_keeps_both_ends_and_never_more_than_asked() {
        assert_eq!(spread(0, 5), Vec::<f64>::new());
        assert_eq!(spread(3, 5), vec![0.0, 1.0, 2.0]);
        assert_eq!(spread(10, 1), vec![0.0]);
        let points = spread(100, 7);
        assert_eq!(points.len(), 7);
        assert_eq!(points.first(), Some(&0.0));
        assert_eq!(points.last(), Some(&99.0));
        assert!(points.windows(2).all(|pair| pair[0] < pair[1]));
    }

    #[test]
    fn axis_numbers_drop_needless_decimals() {
        assert_eq!(number(12.0), "12");
        assert_eq!(number(-3.0), "-3");
        assert_eq!(number(2.5), "2.5");
        assert_eq!(number(0.126), "0.13");
        assert_eq!(number(1.2), "1.2");
        assert_eq!(number(2e15), "2.0e15");
    }

    #[test]
    fn truncate_counts_characters_not_bytes() {
        assert_eq!(truncate("Käfer", 5), "Käfer");
        assert_eq!(truncate("Käferchen", 5), "Käfe…");
    }

    #[test]
    fn only_finite_moderate_values_are_drawn() {
        assert!(drawable(0.0) && drawable(-1e300));
        assert!(!drawable(f64::NAN) && !drawable(f64::INFINITY) && !drawable(1e301));
    }

    #[test]
    fn series_past_the_palette_change_marker_shape() {
        assert!(swatch(0).contains("<circle") && swatch(0).contains("#1f77b4"));
        assert!(swatch(PALETTE.len()).contains("<polygon points=\"14,2.5"));
        assert!(swatch(PALETTE.len()).contains("#1f77b4"));
    }
}
