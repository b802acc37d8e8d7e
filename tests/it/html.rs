//! The HTML renderer through the public API: structure, escaping, hidden tables, charts, edge
//! cases, determinism, and no reference to anything outside the page.
//!
//! `DUMPLEAK_HTML_SAMPLE=/tmp/page.html cargo test --test it html::` also writes the sample page,
//! to look at in a browser.

use dumpleak::report::document::{Block, Chart, Document, Table};
use dumpleak::report::{render, Format, RenderOptions};

use crate::common::snapshot_settings;

fn html(document: &Document) -> String {
    render(
        &(),
        document,
        Format::Html,
        &RenderOptions::default(),
        "none",
    )
    .unwrap()
}

/// Series lines are drawn 2 units wide; axes and ticks 1.
fn series_lines(page: &str) -> usize {
    page.lines()
        .filter(|line| line.starts_with("<polyline") && line.contains("stroke-width=\"2\""))
        .count()
}

fn chart(series: Vec<(&str, Vec<f64>)>, positions: usize) -> Chart {
    Chart {
        title: "Handles per type".to_string(),
        x_labels: (0..positions)
            .map(|index| format!("{:02}:{:02}", 15 + index / 4, (index % 4) * 15))
            .collect(),
        axes: (
            "dump (capture time, UTC)".to_string(),
            "handles".to_string(),
        ),
        series: series
            .into_iter()
            .map(|(name, values)| (name.to_string(), values))
            .collect(),
    }
}

fn sample() -> Document {
    let mut doc = Document::new("dumpleak series: 8 dumps of Indexer.exe & <friends>");
    doc.push(Block::Fields(vec![
        (
            "Process".to_string(),
            "Indexer.exe, pid 7300, amd64".to_string(),
        ),
        (
            "Handles".to_string(),
            "38 → 50 (+1.8/cycle, leak)".to_string(),
        ),
    ]));
    doc.push(Block::Heading("Handles by type".to_string()));
    let mut types = Table::new("types", &["Type", "Name", "Count#"]);
    types.row(vec![
        "Event".to_string(),
        "<script>alert(1)</script>".to_string(),
        "12".to_string(),
    ]);
    types.row(vec![
        "Section".to_string(),
        "\\BaseNamedObjects\\Tom & Jerry's \"map\"".to_string(),
        "3".to_string(),
    ]);
    doc.push(Block::Table(types));
    doc.push(Block::Chart(chart(
        vec![
            (
                "Section (leak)",
                vec![3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0],
            ),
            (
                "File (plateau)",
                vec![6.0, 9.0, 11.0, 12.0, 12.0, 12.0, 12.0, 12.0],
            ),
            (
                "Thread <churn>",
                vec![6.0, 3.0, 8.0, 4.0, 7.0, 2.0, 8.0, 5.0],
            ),
        ],
        8,
    )));
    doc.push(Block::Heading(
        "Retained handles by allocation stack".to_string(),
    ));
    doc.push(Block::Text(
        "#1 +1.00/cycle (7 Section) blamed: FeedSync.dll 7.3.1.0".to_string(),
    ));
    doc.push(Block::Code(vec![
        "retained per dump: 0 1 2 3 4 5 6 7".to_string(),
        "ntdll!NtCreateSection+0x14".to_string(),
        format!(
            "FeedSync!std::map<std::wstring,Shard*>::emplace{}+0x1a3c",
            "<very_long_template_argument>".repeat(8)
        ),
    ]));
    doc.push(Block::Heading(
        "Notes: what this evidence cannot support".to_string(),
    ));
    doc.push(Block::Bullets(vec![
        "2 inputs left out".to_string(),
        "stacks are only as good as the symbols".to_string(),
    ]));
    let mut hidden = Table::new("retained", &["Stack#", "Frames"]);
    hidden.row(vec!["1".to_string(), "csv-only-frames".to_string()]);
    doc.hidden.push(hidden);
    doc
}

#[test]
fn page_has_headings_fields_tables_code_and_bullets() {
    let page = html(&sample());
    if let Some(path) = std::env::var_os("DUMPLEAK_HTML_SAMPLE") {
        std::fs::write(path, &page).unwrap();
    }
    // Every block of the sample, byte for byte.
    snapshot_settings("report::render(sample(), Format::Html)").bind(|| {
        insta::assert_snapshot!("render-sample.html", page);
    });
    // A header ending in # marks a numeric column, right-aligned.
    assert!(page.contains("<th>Type</th><th>Name</th><th class=\"num\">Count</th>"));
    assert!(page.contains("<td class=\"num\">12</td>"));
    // The warnings stand out.
    let notes = page.find("<section class=\"notes\">").unwrap();
    assert!(page[notes..].contains("<li>stacks are only as good as the symbols</li>"));
    assert_eq!(page.matches("<section class=\"notes\">").count(), 1);
}

#[test]
fn everything_from_the_report_is_escaped() {
    let page = html(&sample());
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!page.contains("<script"));
    assert!(!page.contains("alert(1)</"));
    assert!(page.contains("\\BaseNamedObjects\\Tom &amp; Jerry&#39;s &quot;map&quot;"));
    assert!(page
        .contains("<title>dumpleak series: 8 dumps of Indexer.exe &amp; &lt;friends&gt;</title>"));
    assert!(page.contains("&lt;very_long_template_argument&gt;"));
    assert!(!page.contains("<very_long"));
    assert!(!page.contains("<churn>"));
    assert!(!page.contains("<friends>"));
}

#[test]
fn hidden_tables_are_left_out() {
    let page = html(&sample());
    assert!(!page.contains("csv-only-frames"));
    assert!(!page.contains("data-table=\"retained\""));
    assert!(page.contains("data-table=\"types\""));
}

#[test]
fn chart_is_an_inline_svg_with_one_line_per_series_and_a_legend() {
    let page = html(&sample());
    assert_eq!(page.matches("<svg width=\"900\" height=\"420\"").count(), 1);
    assert!(page.contains("viewBox=\"0 0 900 420\""));
    assert_eq!(series_lines(&page), 3);
    // Distinct colours.
    for colour in ["#1F77B4", "#FF7F0E", "#2CA02C"] {
        assert!(page.contains(&format!("stroke=\"{colour}\" stroke-width=\"2\"")));
    }
    let legend = &page[page.find("<ul class=\"legend\">").unwrap()..];
    for name in ["Section (leak)", "File (plateau)", "Thread &lt;churn&gt;"] {
        assert!(legend.contains(&format!("<span>{name}</span>")), "{name}");
    }
    assert!(page.contains(">\nHandles per type\n</text>"));
    assert!(page.contains(">\ndump (capture time, UTC)\n</text>"));
    assert!(page.contains(">\nhandles\n</text>"));
    assert!(page.contains(">\n15:00\n</text>"));
    assert!(page.contains(">\n16:45\n</text>"));
    // The y axis starts at 0.
    assert!(page.contains(">\n0\n</text>"));
}

#[test]
fn page_refers_to_nothing_outside_itself() {
    let mut doc = sample();
    doc.push(Block::Text("see https://example.com/leak".to_string()));
    let page = html(&doc);
    // The one URL is the report's own text, escaped as text, not a link or a resource.
    assert_eq!(page.matches("https://").count(), 1);
    assert!(page.contains("<p>see https://example.com/leak</p>"));
    let page = html(&sample());
    for needle in [
        "http://", "https://", "src=", "href=", "url(", "@import", "<link", "<script", "<img",
        "<iframe", "<object", "xlink",
    ] {
        assert!(!page.contains(needle), "{needle}");
    }
}

#[test]
fn rendering_is_deterministic() {
    let doc = sample();
    assert_eq!(html(&doc), html(&doc));
    assert_eq!(html(&doc), html(&doc.clone()));
}

#[test]
fn awkward_charts_do_not_panic() {
    let long_name = "Section \\Sessions\\1\\BaseNamedObjects\\".repeat(20);
    let many: Vec<(String, Vec<f64>)> = (0..35)
        .map(|index| {
            (
                format!("type {index}"),
                (0..40).map(|x| (x * index % 17) as f64).collect(),
            )
        })
        .collect();
    let cases = vec![
        chart(Vec::new(), 0),
        chart(Vec::new(), 5),
        chart(vec![("one", vec![7.0])], 1),
        chart(vec![("one", vec![7.0])], 0),
        chart(vec![("zero", vec![0.0; 6]), ("also zero", vec![0.0; 6])], 6),
        chart(
            vec![(
                "gaps",
                vec![1.0, f64::NAN, 3.0, f64::INFINITY, 5.0, f64::NEG_INFINITY],
            )],
            6,
        ),
        chart(vec![("nothing finite", vec![f64::NAN; 4])], 4),
        chart(vec![("negative", vec![-3.0, 2.0, -1.5])], 3),
        chart(vec![("huge", vec![1e300, 2e300])], 2),
        chart(
            vec![("extreme", vec![f64::MAX, -f64::MAX, f64::MIN_POSITIVE])],
            3,
        ),
        chart(vec![("fractions", vec![0.001, 0.002, 0.0015])], 3),
        chart(vec![("longer than the labels", vec![1.0; 12])], 3),
        chart(vec![(long_name.as_str(), vec![1.0, 2.0])], 2),
        chart(vec![("empty", Vec::new())], 0),
        chart(
            vec![("many positions", (0..500).map(f64::from).collect())],
            500,
        ),
        Chart {
            title: "x".repeat(400),
            x_labels: vec!["2026-03-02T15:15:00Z and a very long label indeed".to_string(); 30],
            axes: (String::new(), String::new()),
            series: many,
        },
    ];
    for case in cases {
        let mut doc = Document::new("edge");
        let names: Vec<String> = case.series.iter().map(|(name, _)| name.clone()).collect();
        let drawable = case
            .series
            .iter()
            .any(|(_, values)| values.iter().any(|value| value.is_finite()));
        doc.push(Block::Chart(case));
        let page = html(&doc);
        assert_eq!(page.contains("<svg width=\"900\""), drawable, "{names:?}");
        assert_eq!(page.contains("no values to draw"), !drawable, "{names:?}");
        assert!(!page.contains("NaN") && !page.contains("inf<"), "{names:?}");
        for name in &names {
            assert!(page.contains(&format!("<span>{name}</span>")), "{name}");
        }
    }
}

#[test]
fn edge_charts_draw_what_they_can() {
    let page_of = |chart: Chart| {
        let mut doc = Document::new("edge");
        doc.push(Block::Chart(chart));
        html(&doc)
    };
    let gaps = page_of(chart(
        vec![("gaps", vec![1.0, 2.0, f64::NAN, 3.0, 4.0, f64::INFINITY])],
        6,
    ));
    // The line breaks where a value is missing.
    assert_eq!(series_lines(&gaps), 2);
    let none = page_of(chart(Vec::new(), 3));
    assert!(!none.contains("<svg"));
    assert!(none.contains("<strong>Handles per type</strong>: no values to draw"));
    let nan = page_of(chart(vec![("all NaN", vec![f64::NAN; 3])], 3));
    assert!(!nan.contains("<svg width=\"900\""));
    assert!(nan.contains("no values to draw"));
    assert!(nan.contains("<span>all NaN</span>"));
    let single = page_of(chart(vec![("a", vec![5.0]), ("b", vec![2.0])], 1));
    assert_eq!(series_lines(&single), 2);
    assert!(single.contains("<circle"));
    let many: Vec<(String, Vec<f64>)> = (0..35)
        .map(|index| (format!("type {index}"), vec![index as f64, 1.0, 2.0]))
        .collect();
    let many = page_of(Chart {
        series: many,
        ..chart(Vec::new(), 3)
    });
    assert_eq!(series_lines(&many), 35);
    assert_eq!(many.matches("<li><svg").count(), 35);
}

#[test]
fn empty_and_ragged_documents_render() {
    let page = html(&Document::new(""));
    assert!(page.contains("<h1></h1>"));
    let mut doc = Document::new("ragged");
    doc.push(Block::Table(Table::new("empty", &["A", "B#"])));
    let mut ragged = Table::new("ragged", &["A", "B#"]);
    ragged.row(vec!["only one".to_string()]);
    ragged.row(vec!["1".to_string(), "2".to_string(), "3".to_string()]);
    doc.push(Block::Table(ragged));
    doc.push(Block::Fields(Vec::new()));
    doc.push(Block::Bullets(Vec::new()));
    doc.push(Block::Code(Vec::new()));
    let page = html(&doc);
    assert!(page.contains("<td class=\"none\" colspan=\"2\">none</td>"));
    assert!(page.contains("<td>only one</td></tr>"), "{page}");
    assert!(page.contains("<td class=\"num\">2</td><td>3</td>"));
}
