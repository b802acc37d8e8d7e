//! HTML rendering: one self-contained page (inline CSS, inline SVG charts drawn with plotters,
//! no scripts, no fonts, no images, no network), legible on screen and on paper.
//!
//! [`page`] writes the page skeleton and the text blocks, [`chart`] the charts; the style
//! sheet is `style.css`, embedded at build time.

mod chart;
mod page;
mod strip;

use crate::report::document::Block;
use crate::report::visible::Visible;

/// Renders `document` as one self-contained HTML page. Tables kept for CSV only
/// (`Document::hidden`) are not shown.
pub fn render(document: &Visible) -> String {
    let mut out = page::head(&document.title());
    let mut in_section = false;
    let mut chart_index = 0;
    for block in document.blocks() {
        match &*block {
            Block::Heading(heading) => {
                if in_section {
                    out.push_str(page::SECTION_END);
                }
                in_section = true;
                out.push_str(&page::section_start(heading));
            }
            Block::Fields(fields) => out.push_str(&page::fields(fields)),
            Block::Table(table) => out.push_str(&page::table(table)),
            Block::Code(lines) => out.push_str(&page::code(lines)),
            Block::Bullets(items) => out.push_str(&page::bullets(items)),
            Block::Text(text) => out.push_str(&page::text(text)),
            Block::Alert(lines) => out.push_str(&page::alert(lines)),
            Block::Strip(strip) => {
                out.push_str(&strip::strip_figure(strip, chart_index));
                chart_index += 1;
            }
            Block::Chart(chart) => {
                out.push_str(&chart::figure(chart, chart_index));
                chart_index += 1;
            }
        }
    }
    if in_section {
        out.push_str(page::SECTION_END);
    }
    out.push_str(page::FOOT);
    out
}
