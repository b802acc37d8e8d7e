//! HTML rendering: one self-contained page (inline CSS, inline SVG charts drawn with plotters,
//! no scripts, no fonts, no images, no network), legible on screen and on paper.

use super::document::{Block, Chart, Document, Table};
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use std::fmt::Write as _;
use std::ops::Range;

/// Chart size in SVG user units; the page scales it down to fit.
const CHART_WIDTH: u32 = 900;
const CHART_HEIGHT: u32 = 420;
/// Longest x label drawn, in characters; longer ones are cut with an ellipsis.
const MAX_X_LABEL_CHARS: usize = 24;
/// Longest chart title drawn inside the SVG, in characters.
const MAX_TITLE_CHARS: usize = 90;
/// Table cells longer than this (in characters) get a minimum width.
const LONG_CELL_CHARS: usize = 40;
/// Markers are drawn on the lines up to this many x positions.
const MAX_MARKER_POSITIONS: usize = 60;
/// Line colours (d3 category10); past ten series the marker shape changes.
const PALETTE: [(u8, u8, u8); 10] = [
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

const STYLE: &str = "\
:root{color-scheme:light;--text:#1f2328;--muted:#59636e;--rule:#d1d9e0;--zebra:#f6f8fa;\
--head:#eaeef2;--code:#f6f8fa;--sans:system-ui,-apple-system,\"Segoe UI\",Roboto,\"Helvetica Neue\",\
Arial,\"Noto Sans\",sans-serif;--mono:ui-monospace,SFMono-Regular,\"SF Mono\",Menlo,Consolas,\
\"Liberation Mono\",monospace}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;background:#fff;color:var(--text);font:16px/1.5 var(--sans)}
main{max-width:1200px;margin:0 auto;padding:1.5rem 1.5rem 3rem}
h1{font-size:1.6rem;line-height:1.25;margin:0 0 1rem;padding-bottom:.4rem;border-bottom:2px solid var(--rule);overflow-wrap:anywhere}
h2{font-size:1.2rem;line-height:1.3;margin:2rem 0 .6rem;padding-bottom:.25rem;border-bottom:1px solid var(--rule);overflow-wrap:anywhere}
p{margin:.5rem 0;overflow-wrap:anywhere}
dl.fields{display:grid;grid-template-columns:max-content minmax(0,1fr);gap:.2rem 1.25rem;margin:.5rem 0 1rem}
dl.fields dt{font-weight:600;color:var(--muted)}
dl.fields dd{margin:0;overflow-wrap:anywhere}
.table-wrap{overflow-x:auto;margin:.5rem 0 1rem;border:1px solid var(--rule);border-radius:4px}
table{border-collapse:collapse;font-size:.875rem;min-width:100%}
th,td{padding:.3rem .6rem;text-align:left;vertical-align:top;border-bottom:1px solid var(--rule)}
thead th{background:var(--head);font-weight:600;white-space:nowrap}
tbody tr:nth-child(even){background:var(--zebra)}
tbody tr:last-child td{border-bottom:0}
td{overflow-wrap:break-word}
.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.long{min-width:20rem}
td.none{color:var(--muted);font-style:italic}
pre{margin:.4rem 0 1rem;padding:.6rem .8rem;background:var(--code);border:1px solid var(--rule);border-radius:4px;\
overflow-x:auto;font:13px/1.45 var(--mono);white-space:pre;tab-size:4}
ul{margin:.4rem 0 1rem;padding-left:1.5rem}
li{margin:.15rem 0;overflow-wrap:anywhere}
section.notes{margin:2rem 0 1rem;padding:.2rem 1rem .4rem;background:#fff8e6;border-left:5px solid #d97706;border-radius:0 4px 4px 0}
section.notes h2{margin-top:.6rem;border-bottom-color:#f0c674;color:#7a4100}
figure.chart{margin:1rem 0 1.5rem;padding:.5rem;border:1px solid var(--rule);border-radius:4px;background:#fff}
figure.chart>svg{display:block;width:100%;max-width:900px;height:auto;margin:0 auto}
figure.chart svg text{font-family:var(--sans)}
figure.chart figcaption{font-size:.85rem;margin-top:.4rem}
ul.legend{list-style:none;margin:0;padding:0;display:flex;flex-wrap:wrap;gap:.2rem 1.2rem;justify-content:center}
ul.legend li{display:flex;align-items:center;gap:.35rem;max-width:100%;margin:0}
ul.legend svg{flex:none}
.muted{color:var(--muted)}
footer{margin-top:2.5rem;font-size:.8rem;color:var(--muted)}
@media print{
body{font-size:11pt}
main{max-width:none;padding:0}
.table-wrap{overflow:visible;border:0}
table{font-size:8.5pt}
td{overflow-wrap:anywhere}
pre{white-space:pre-wrap;overflow-wrap:anywhere;font-size:8pt}
h2{break-after:avoid}
tr,figure.chart,li{break-inside:avoid}
tbody tr:nth-child(even),thead th,section.notes{-webkit-print-color-adjust:exact;print-color-adjust:exact}
}
";

/// Renders `document` as one self-contained HTML page. Tables kept for CSV only
/// (`Document::hidden`) are not shown.
pub fn render(document: &Document) -> String {
    let mut out = String::new();
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    // The page needs nothing from anywhere: say so, so that a browser loads nothing either.
    out.push_str(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         style-src 'unsafe-inline'\">\n",
    );
    out.push_str("<meta name=\"generator\" content=\"dumpleak\">\n");
    let _ = writeln!(out, "<title>{}</title>", escape(&document.title));
    let _ = writeln!(out, "<style>\n{STYLE}</style>\n</head>\n<body>\n<main>");
    let _ = writeln!(out, "<h1>{}</h1>", escape(&document.title));

    let mut in_section = false;
    let mut chart_index = 0;
    for block in &document.blocks {
        match block {
            Block::Heading(heading) => {
                if in_section {
                    out.push_str("</section>\n");
                }
                in_section = true;
                // The warnings section ("Notes: what this evidence cannot support") stands out.
                let class = if heading.trim_start().starts_with("Notes") {
                    " class=\"notes\""
                } else {
                    ""
                };
                let _ = writeln!(out, "<section{class}>\n<h2>{}</h2>", escape(heading));
            }
            Block::Fields(fields) => {
                out.push_str("<dl class=\"fields\">\n");
                for (name, value) in fields {
                    let _ = writeln!(out, "<dt>{}</dt><dd>{}</dd>", escape(name), escape(value));
                }
                out.push_str("</dl>\n");
            }
            Block::Table(table) => out.push_str(&table_html(table)),
            Block::Code(lines) => {
                out.push_str("<pre><code>");
                for (index, line) in lines.iter().enumerate() {
                    if index > 0 {
                        out.push('\n');
                    }
                    out.push_str(&escape(line));
                }
                out.push_str("</code></pre>\n");
            }
            Block::Bullets(items) => {
                out.push_str("<ul>\n");
                for item in items {
                    let _ = writeln!(out, "<li>{}</li>", escape(item));
                }
                out.push_str("</ul>\n");
            }
            Block::Text(text) => {
                let _ = writeln!(out, "<p>{}</p>", escape(text));
            }
            Block::Chart(chart) => {
                out.push_str(&chart_html(chart, chart_index));
                chart_index += 1;
            }
        }
    }
    if in_section {
        out.push_str("</section>\n");
    }
    out.push_str("<footer>Generated by dumpleak.</footer>\n</main>\n</body>\n</html>\n");
    out
}

fn table_html(table: &Table) -> String {
    let numeric = |index: usize| table.numeric.get(index).copied().unwrap_or(false);
    let cell = |tag: &str, index: usize, text: &str| {
        if numeric(index) {
            format!("<{tag} class=\"num\">{}</{tag}>", escape(text))
        } else if text.chars().count() > LONG_CELL_CHARS {
            // Keeps long names and stacks from being squeezed into a tall, narrow column.
            format!("<{tag} class=\"long\">{}</{tag}>", escape(text))
        } else {
            format!("<{tag}>{}</{tag}>", escape(text))
        }
    };
    let mut out = format!(
        "<div class=\"table-wrap\">\n<table data-table=\"{}\">\n<thead><tr>",
        escape(table.id)
    );
    for (index, header) in table.headers.iter().enumerate() {
        out.push_str(&cell("th", index, header));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    if table.rows.is_empty() {
        let _ = writeln!(
            out,
            "<tr><td class=\"none\" colspan=\"{}\">none</td></tr>",
            table.headers.len().max(1)
        );
    }
    for row in &table.rows {
        out.push_str("<tr>");
        for (index, text) in row.iter().enumerate() {
            out.push_str(&cell("td", index, text));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n</div>\n");
    out
}

/// A chart as a figure: the SVG drawn by plotters, then the legend as HTML (it wraps, so
/// many series and long names stay legible).
fn chart_html(chart: &Chart, index: usize) -> String {
    let title_id = format!("chart-{index}-title");
    let mut out = String::from("<figure class=\"chart\">\n");
    let has_values = chart
        .series
        .iter()
        .any(|(_, values)| values.iter().any(|value| drawable(*value)));
    match chart_svg(chart, &title_id) {
        // An empty plot says less than a line of text.
        _ if !has_values => {
            let _ = writeln!(
                out,
                "<p class=\"muted\"><strong>{}</strong>: no values to draw</p>",
                escape(&chart.title)
            );
        }
        Ok(svg) => out.push_str(&svg),
        Err(error) => {
            let _ = writeln!(
                out,
                "<p class=\"muted\">{}: the chart could not be drawn ({})</p>",
                escape(&chart.title),
                escape(&error)
            );
        }
    }
    if !chart.series.is_empty() {
        out.push_str("<figcaption><ul class=\"legend\">\n");
        for (index, (name, _)) in chart.series.iter().enumerate() {
            let _ = writeln!(
                out,
                "<li>{}<span>{}</span></li>",
                swatch(index),
                escape(name)
            );
        }
        out.push_str("</ul></figcaption>\n");
    }
    out.push_str("</figure>\n");
    out
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
        let mut context = ChartBuilder::on(&root)
            .caption(truncate(&chart.title, MAX_TITLE_CHARS), ("sans-serif", 21))
            .margin_top(8)
            .margin_left(10)
            .margin_right(right_margin)
            .margin_bottom(6)
            .x_label_area_size(50)
            .y_label_area_size(y_area)
            .build_cartesian_2d(
                Positions {
                    inner: x_range.into(),
                    labelled: key_points.clone(),
                },
                bottom..top,
            )
            .map_err(|error| error.to_string())?;
        let label_style = ("sans-serif", 15)
            .into_font()
            .color(&RGBColor(0x33, 0x33, 0x33));
        let desc_style = ("sans-serif", 16)
            .into_font()
            .color(&RGBColor(0x22, 0x22, 0x22));
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
            .x_labels(key_points.len().max(1))
            .y_labels(y_labels)
            .x_label_formatter(&x_label)
            .y_label_formatter(&|y: &f64| number(*y))
            .x_desc(chart.axes.0.as_str())
            .y_desc(chart.axes.1.as_str())
            .label_style(label_style)
            .axis_desc_style(desc_style)
            .axis_style(RGBColor(0x55, 0x55, 0x55))
            .bold_line_style(RGBColor(0xe3, 0xe6, 0xea))
            .light_line_style(TRANSPARENT)
            .draw()
            .map_err(|error| error.to_string())?;

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

    // plotters opens with `<svg width height viewBox xmlns>`: the namespace is implied inside
    // HTML, and the page sizes the chart through CSS; label it for screen readers instead.
    let body = match svg.find('>') {
        Some(end) if svg.starts_with("<svg") => &svg[end + 1..],
        _ => return Err("unexpected SVG output".to_string()),
    };
    Ok(format!(
        "<svg width=\"{CHART_WIDTH}\" height=\"{CHART_HEIGHT}\" viewBox=\"0 0 {CHART_WIDTH} {CHART_HEIGHT}\" \
         role=\"img\" aria-labelledby=\"{title_id}\">\n<title id=\"{title_id}\">{}</title>{body}",
        escape(&chart.title)
    ))
}

/// Whether a value is drawn: NaN, infinities and magnitudes past 1e300 (whose axis span would
/// not be finite) are left out.
fn drawable(value: f64) -> bool {
    value.is_finite() && value.abs() <= 1e300
}

/// The x axis: dump positions, labelled (and ticked) only at the chosen ones.
struct Positions {
    inner: RangedCoordf64,
    labelled: Vec<f64>,
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
fn number(value: f64) -> String {
    if value.abs() >= 1e15 {
        format!("{value:.1e}")
    } else if (value - value.round()).abs() < 1e-9 {
        format!("{}", value.round() as i64)
    } else {
        let text = format!("{value:.2}");
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
        cut.push('…');
        cut
    }
}

/// Escapes text for HTML element content and quoted attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}
