//! Terminal rendering: aligned fields and box-drawn tables.

use super::document::{Block, Table};
use super::visible::Visible;
use comfy_table::{presets, CellAlignment, ContentArrangement};

/// Renders `document` for a terminal; `width` wraps tables when given.
pub fn render(document: &Visible, width: Option<u16>) -> String {
    let mut out = String::new();
    out.push_str(&document.title());
    out.push('\n');
    for block in document.blocks() {
        match &*block {
            Block::Heading(heading) => {
                out.push('\n');
                out.push_str(heading);
                out.push('\n');
            }
            Block::Fields(fields) => {
                let name_width = fields.iter().map(|(name, _)| name.chars().count()).max();
                for (name, value) in fields {
                    let pad = name_width.unwrap_or(0) - name.chars().count();
                    out.push_str(&format!("  {name}{}  {value}\n", " ".repeat(pad)));
                }
            }
            Block::Table(table) => {
                out.push_str(&table_text(table, width));
                out.push('\n');
                if let Some(rest) = table.shown().1 {
                    out.push_str("  ");
                    out.push_str(&rest);
                    out.push('\n');
                }
            }
            Block::Code(lines) => {
                for line in lines {
                    out.push_str("      ");
                    out.push_str(line);
                    out.push('\n');
                }
            }
            Block::Bullets(items) => {
                for item in items {
                    out.push_str("  - ");
                    out.push_str(item);
                    out.push('\n');
                }
            }
            Block::Text(text) => {
                out.push_str("  ");
                out.push_str(text);
                out.push('\n');
            }
            // The numbers behind a chart are in the tables around it.
            Block::Chart(_) | Block::Strip(_) => {}
            Block::Alert(lines) => {
                for line in lines {
                    out.push_str("  WARNING: ");
                    out.push_str(line);
                    out.push('\n');
                }
            }
        }
    }
    out
}

fn table_text(table: &Table, width: Option<u16>) -> String {
    let mut rendered = comfy_table::Table::new();
    rendered.load_preset(presets::UTF8_FULL_CONDENSED);
    match width {
        Some(width) => {
            rendered
                .set_content_arrangement(ContentArrangement::Dynamic)
                .set_width(width);
        }
        None => {
            rendered.set_content_arrangement(ContentArrangement::Disabled);
        }
    }
    rendered.set_header(table.headers.clone());
    for row in table.shown().0 {
        rendered.add_row(row.clone());
    }
    for (index, numeric) in table.numeric.iter().enumerate() {
        if *numeric {
            if let Some(column) = rendered.column_mut(index) {
                column.set_cell_alignment(CellAlignment::Right);
            }
        }
    }
    rendered.to_string()
}
