//! Markdown rendering (GitHub-flavoured tables), for bug reports.

use super::document::{Block, Document, Table};

/// Renders `document` as Markdown.
pub fn render(document: &Document) -> String {
    let mut out = format!("# {}\n", escape(&document.title));
    for block in &document.blocks {
        out.push('\n');
        match block {
            Block::Heading(heading) => out.push_str(&format!("## {}\n", escape(heading))),
            Block::Fields(fields) => {
                for (name, value) in fields {
                    out.push_str(&format!("- **{}**: {}\n", escape(name), escape(value)));
                }
            }
            Block::Table(table) => out.push_str(&table_markdown(table)),
            Block::Code(lines) => {
                out.push_str("```\n");
                for line in lines {
                    out.push_str(line);
                    out.push('\n');
                }
                out.push_str("```\n");
            }
            Block::Bullets(items) => {
                for item in items {
                    out.push_str(&format!("- {}\n", escape(item)));
                }
            }
            Block::Text(text) => {
                out.push_str(&escape(text));
                out.push('\n');
            }
            // The numbers behind a chart are in the tables around it.
            Block::Chart(_) => {}
            Block::Alert(lines) => {
                for line in lines {
                    out.push_str(&format!("> **Warning:** {}\n>\n", escape(line)));
                }
            }
        }
    }
    out
}

fn table_markdown(table: &Table) -> String {
    let mut out = String::new();
    let cells = |row: &[String]| {
        row.iter()
            .map(|cell| escape(cell).replace('|', "\\|"))
            .collect::<Vec<_>>()
            .join(" | ")
    };
    out.push_str(&format!("| {} |\n", cells(&table.headers)));
    let rule: Vec<&str> = table
        .numeric
        .iter()
        .map(|numeric| if *numeric { "---:" } else { "---" })
        .collect();
    out.push_str(&format!("| {} |\n", rule.join(" | ")));
    let (rows, rest) = table.shown();
    for row in rows {
        out.push_str(&format!("| {} |\n", cells(row)));
    }
    if let Some(rest) = rest {
        // Our own sentence: its code spans are meant as Markdown.
        out.push_str(&format!("\n{rest}\n"));
    }
    out
}

/// Escapes characters Markdown would interpret in names such as `\BaseNamedObjects\X_Y*`.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        if matches!(ch, '\\' | '*' | '_' | '`' | '<' | '>' | '[' | ']') {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}
