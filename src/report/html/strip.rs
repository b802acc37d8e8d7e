//! Strip plots as inline SVG: for each group (a module version), one point per value (a
//! dump's handle count), with the group's median marked — the fleet's spread at a glance.

use super::chart::{
    draw_axes, drawable, figure_of, framed, inline_svg, truncate, Positions, CHART_HEIGHT,
    CHART_WIDTH, MAX_X_LABEL_CHARS, PALETTE,
};
use crate::report::document::StripChart;
use plotters::prelude::*;

/// The strip plot as a figure; a line of text when there is nothing to draw.
pub(super) fn strip_figure(chart: &StripChart, index: usize) -> String {
    let title_id = format!("chart-{index}-title");
    let has_values = chart
        .groups
        .iter()
        .any(|(_, values)| values.iter().any(|value| drawable(*value)));
    figure_of(&chart.title, has_values, || strip_svg(chart, &title_id), "")
}

fn strip_svg(chart: &StripChart, title_id: &str) -> Result<String, String> {
    let groups = chart.groups.len();
    let max = chart
        .groups
        .iter()
        .flat_map(|(_, values)| values.iter().copied())
        .filter(|value| drawable(*value))
        .fold(0.0_f64, f64::max);
    let top = if max > 0.0 { max * 1.08 } else { 1.0 };
    let labels: Vec<String> = chart
        .groups
        .iter()
        .map(|(name, _)| truncate(name, MAX_X_LABEL_CHARS))
        .collect();
    let mut svg = String::new();
    {
        let root =
            SVGBackend::with_string(&mut svg, (CHART_WIDTH, CHART_HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(|error| error.to_string())?;
        let mut context = framed(&root, &chart.title, 30, (60, 80))
            .build_cartesian_2d(
                Positions {
                    inner: (-0.5..groups as f64 - 0.5).into(),
                    labelled: (0..groups).map(|index| index as f64).collect(),
                },
                0.0..top,
            )
            .map_err(|error| error.to_string())?;
        draw_axes(&mut context, &labels, (groups.max(1), 8), &chart.axes, 14)?;
        for (group, (_, values)) in chart.groups.iter().enumerate() {
            let (r, g, b) = PALETTE[group % PALETTE.len()];
            let colour = RGBColor(r, g, b);
            let drawn: Vec<f64> = values.iter().copied().filter(|v| drawable(*v)).collect();
            // A fixed spread across the strip, so overlapping points stay visible and two runs
            // draw the same picture.
            let points = drawn.iter().enumerate().map(|(index, value)| {
                let offset = ((index * 7919) % 17) as f64 / 17.0 - 0.5;
                (group as f64 + offset * 0.5, *value)
            });
            context
                .draw_series(points.map(|point| Circle::new(point, 4, colour.mix(0.75).filled())))
                .map_err(|error| error.to_string())?;
            if let Some(median) = median(&drawn) {
                let x = group as f64;
                context
                    .draw_series(LineSeries::new(
                        [(x - 0.3, median), (x + 0.3, median)],
                        colour.stroke_width(3),
                    ))
                    .map_err(|error| error.to_string())?;
            }
        }
        root.present().map_err(|error| error.to_string())?;
    }
    inline_svg(&svg, &chart.title, title_id)
}

fn median(values: &[f64]) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let middle = sorted.len() / 2;
    match sorted.len() {
        0 => None,
        n if n % 2 == 1 => Some(sorted[middle]),
        _ => Some((sorted[middle - 1] + sorted[middle]) / 2.0),
    }
}
