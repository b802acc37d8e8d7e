//! HTML reports in a real browser (issue 16): headless Chromium lays out every kind of page at
//! 1024 and 1400 px; no table may be wider than its container, the page may not scroll
//! sideways, and every chart has labelled axes. `.ci/run` installs Chromium.

use crate::common::dumpleak;
use serde_json::Value;
use std::path::Path;

/// The pages: a name and the arguments that make them.
const PAGES: &[(&str, &[&str])] = &[
    (
        "diff",
        &[
            "diff",
            "testdata/incident/before.dmp",
            "testdata/incident/after.dmp",
            "--symbols",
            "testdata/incident/images",
            "--suspect",
            "MapiHelper.dll",
        ],
    ),
    (
        "diff-pdb",
        &[
            "diff",
            "testdata/pdb/before.dmp",
            "testdata/pdb/after.dmp",
            "--symbols",
            "testdata/pdb",
        ],
    ),
    (
        "show",
        &[
            "show",
            "testdata/real/breakpad-tiny-cet-x64/tiny-exe-with-cet-xsave.dmp",
            "--modules",
        ],
    ),
    (
        "show-crash",
        &[
            "show",
            "testdata/pdb/crash.dmp",
            "--symbols",
            "testdata/pdb",
        ],
    ),
    ("series", &["series", "testdata/series"]),
    ("batch", &["batch", "testdata/batch", "-q"]),
    (
        "handles",
        &["handles", "testdata/incident/after.dmp", "--history"],
    ),
];

/// Measures the page after layout; the result lands in `body[data-check]`.
const MEASURE: &str = r#"<script>
const out = {tables: [], charts: [], page: document.documentElement.scrollWidth, viewport: window.innerWidth};
for (const table of document.querySelectorAll('table')) {
  out.tables.push({id: table.dataset.table || '', width: table.getBoundingClientRect().width,
                   container: table.parentElement.clientWidth});
}
for (const svg of document.querySelectorAll('figure.chart svg[role=img]')) {
  out.charts.push(Array.from(svg.querySelectorAll('text')).map(text => text.textContent));
}
document.body.setAttribute('data-check', JSON.stringify(out));
</script>"#;

fn chromium() -> &'static str {
    for candidate in [
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
        "/usr/bin/google-chrome",
    ] {
        if Path::new(candidate).exists() {
            return candidate;
        }
    }
    panic!("no Chromium found: install it (Debian: apt-get install chromium); .ci/run does")
}

/// Lays `html` out at `width` px and returns the measurements.
fn measure(html: &str, width: u32, dir: &Path) -> Value {
    // The report forbids scripts (Content-Security-Policy); the measuring copy drops that line.
    let page: String = html
        .lines()
        .filter(|line| !line.contains("Content-Security-Policy"))
        .collect::<Vec<_>>()
        .join("\n")
        .replace("</body>", &format!("{MEASURE}</body>"));
    let file = dir.join(format!("page-{width}.html"));
    std::fs::write(&file, page).unwrap();
    let output = std::process::Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            &format!(
                "--user-data-dir={}",
                dir.join(format!("profile-{width}")).display()
            ),
            &format!("--window-size={width},900"),
            "--dump-dom",
        ])
        .arg(format!("file://{}", file.display()))
        .output()
        .expect("Chromium runs");
    let dom = String::from_utf8_lossy(&output.stdout);
    let start = dom.find("data-check=\"").expect("the measuring script ran") + 12;
    let end = start + dom[start..].find('"').unwrap();
    let json = dom[start..end]
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    serde_json::from_str(&json).unwrap()
}

#[test]
fn every_page_fits_1024_and_1400_pixels_and_charts_have_labelled_axes() {
    let dir = tempfile::tempdir().unwrap();
    let mut checked = 0;
    for (name, args) in PAGES {
        let output = dumpleak()
            .args(*args)
            .args(["--format", "html"])
            .output()
            .unwrap();
        let html = String::from_utf8(output.stdout).unwrap();
        assert!(html.starts_with("<!DOCTYPE html>"), "{name}");
        if name.starts_with("series") {
            assert!(
                html.contains("<th>Class</th>") && html.contains("Per cycle"),
                "{name}"
            );
        }
        for width in [1024, 1400] {
            let check = measure(&html, width, dir.path());
            assert!(
                check["page"].as_f64().unwrap() <= check["viewport"].as_f64().unwrap(),
                "{name} at {width}px scrolls sideways: {check}"
            );
            for table in check["tables"].as_array().unwrap() {
                let (width_px, container) = (
                    table["width"].as_f64().unwrap(),
                    table["container"].as_f64().unwrap(),
                );
                assert!(
                    width_px <= container + 1.0,
                    "{name} at {width}px: table {} is {width_px}px in a {container}px container",
                    table["id"]
                );
                checked += 1;
            }
            for texts in check["charts"].as_array().unwrap() {
                let texts: Vec<&str> = texts
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|text| text.as_str().unwrap().trim())
                    .collect();
                let labelled = |words: &[&str]| words.iter().any(|word| texts.contains(word));
                assert!(
                    labelled(&["dump (capture time, UTC)", "Module version"])
                        && labelled(&["handles", "Handles in the dump"]),
                    "{name}: a chart without axis titles: {texts:?}"
                );
            }
        }
    }
    assert!(checked > 20, "tables were measured");
}
