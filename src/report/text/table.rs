//! Box-drawn tables, fitted to the terminal here and drawn by comfy-table: at their natural
//! width when they fit; else wrapped at spaces (never inside a word, version or name) with
//! paths shortened in the middle; else without their optional columns; else as a list of
//! `key: value` records. Columns empty in every row are left out whenever there is a width to
//! fit. comfy-table's own wrapping splits words and cannot shorten paths or drop optional
//! columns, so it draws what this module has fitted.

use super::super::document::Table;
use super::paint::{Ink, Paint};
use super::wrap::{longest_word, shorten_middle, width, wrap};

/// Shortest width a path column is given before the table becomes a list.
const MIN_PATH: usize = 12;
/// Narrowest value column of the list layout before its keys stop being aligned.
const MIN_LIST_VALUE: usize = 20;

/// Appends `table` (its shown rows) to `out`, fitted to `max` columns when given.
pub(super) fn render(out: &mut String, table: &Table, max: Option<usize>, paint: Paint) {
    let rows = table.shown().0;
    let mut columns: Vec<usize> = (0..table.headers.len()).collect();
    let Some(max) = max else {
        let widths: Vec<usize> = columns.iter().map(|&c| natural(table, rows, c)).collect();
        return draw(out, table, rows, &columns, &widths, paint);
    };
    if !rows.is_empty() {
        let filled = |c: &usize| {
            rows.iter()
                .any(|row| row.get(*c).is_some_and(|s| !s.is_empty()))
        };
        if columns.iter().any(filled) {
            columns.retain(filled);
        }
    }
    let mut left_out: Vec<usize> = Vec::new();
    loop {
        if let Some(widths) = fit(table, rows, &columns, max) {
            draw(out, table, rows, &columns, &widths, paint);
            if !left_out.is_empty() {
                left_out.reverse();
                let names: Vec<&str> = left_out
                    .iter()
                    .map(|&c| table.headers[c].as_str())
                    .collect();
                let note = format!(
                    "(left out at this width: {}; a wider terminal, --format csv or json show them)",
                    names.join(", ")
                );
                for range in wrap(&note, max.saturating_sub(2)) {
                    out.push_str("  ");
                    out.push_str(&note[range]);
                    out.push('\n');
                }
            }
            return;
        }
        match columns
            .iter()
            .rposition(|&c| table.optional.get(c) == Some(&true))
        {
            Some(at) => left_out.push(columns.remove(at)),
            None => break,
        }
    }
    columns.extend(left_out);
    columns.sort_unstable();
    list(out, table, rows, &columns, max, paint);
}

fn cell(row: &[String], column: usize) -> &str {
    row.get(column).map_or("", String::as_str)
}

fn is_path(table: &Table, column: usize) -> bool {
    table.paths.get(column) == Some(&true)
}

fn is_number(table: &Table, column: usize) -> bool {
    table.numeric.get(column) == Some(&true)
}

/// The width of the widest cell and heading (at least 1).
fn natural(table: &Table, rows: &[Vec<String>], column: usize) -> usize {
    rows.iter()
        .map(|row| width(cell(row, column)))
        .chain(std::iter::once(width(&table.headers[column])))
        .max()
        .unwrap_or(0)
        .max(1)
}

/// The narrowest the column can be: its widest word (numbers: its widest number), a path
/// column down to its widest file name.
fn minimum(table: &Table, rows: &[Vec<String>], column: usize) -> usize {
    let heading = longest_word(&table.headers[column]);
    let cells = rows.iter().map(|row| cell(row, column));
    let widest = if is_number(table, column) {
        cells.map(width).max()
    } else if is_path(table, column) {
        let names = cells.map(|path| {
            let name = path.rsplit(['\\', '/']).next().unwrap_or(path);
            width(name) + 2
        });
        names.max().map(|name| name.max(MIN_PATH))
    } else {
        cells.map(longest_word).max()
    };
    widest
        .unwrap_or(0)
        .max(heading)
        .min(natural(table, rows, column))
        .max(1)
}

/// Content widths for `columns` that make the table at most `max` wide, when there are.
fn fit(table: &Table, rows: &[Vec<String>], columns: &[usize], max: usize) -> Option<Vec<usize>> {
    let borders = 3 * columns.len() + 1;
    let room = max.checked_sub(borders)?;
    let natural: Vec<usize> = columns.iter().map(|&c| natural(table, rows, c)).collect();
    if natural.iter().sum::<usize>() <= room {
        return Some(natural);
    }
    let mut widths: Vec<usize> = columns.iter().map(|&c| minimum(table, rows, c)).collect();
    let spare = room.checked_sub(widths.iter().sum())?;
    // The spare room goes to the columns in proportion to what they lack, the rest of a
    // column at a time to those that lack most.
    let lack: Vec<usize> = natural.iter().zip(&widths).map(|(n, w)| n - w).collect();
    let total: usize = lack.iter().sum();
    for (width, lack) in widths.iter_mut().zip(&lack) {
        *width += spare * lack / total.max(1);
    }
    let mut left = room - widths.iter().sum::<usize>();
    while left > 0 {
        let Some(at) = (0..widths.len())
            .filter(|&at| widths[at] < natural[at])
            .max_by_key(|&at| (natural[at] - widths[at], std::cmp::Reverse(at)))
        else {
            break;
        };
        widths[at] += 1;
        left -= 1;
    }
    Some(widths)
}

/// The lines of a cell `max` wide: a path shortened in the middle, other text wrapped.
fn cell_lines(text: &str, max: usize, path: bool) -> Vec<String> {
    if path && width(text) > max {
        return vec![shorten_middle(text, max)];
    }
    wrap(text, max)
        .into_iter()
        .map(|range| text[range].to_string())
        .collect()
}

/// The text of one cell for comfy-table: its lines, each painted, joined by newlines.
fn painted_cell(lines: &[String], ink: Option<Ink>, paint: Paint) -> String {
    let painted: Vec<String> = lines.iter().map(|line| paint.ink(line, ink)).collect();
    painted.join("\n")
}

/// Draws the fitted table with comfy-table: content already wrapped to `widths` (so comfy-table
/// never wraps or measures the terminal), numeric columns right-aligned, colour already in the
/// text (comfy-table's `custom_styling` measures text without its escape codes).
fn draw(
    out: &mut String,
    table: &Table,
    rows: &[Vec<String>],
    columns: &[usize],
    widths: &[usize],
    paint: Paint,
) {
    let mut drawn = comfy_table::Table::new();
    drawn
        .load_preset(comfy_table::presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(comfy_table::ContentArrangement::Disabled);
    let header: Vec<comfy_table::Cell> = columns
        .iter()
        .zip(widths)
        .map(|(&c, &w)| {
            let lines = cell_lines(&table.headers[c], w, false);
            comfy_table::Cell::new(painted_cell(&lines, Some(Ink::Header), paint))
        })
        .collect();
    drawn.set_header(header);
    for (index, row) in rows.iter().enumerate() {
        let cells: Vec<comfy_table::Cell> = columns
            .iter()
            .zip(widths)
            .map(|(&c, &w)| {
                let lines = cell_lines(cell(row, c), w, is_path(table, c));
                let ink = table.tone(index, c).map(Ink::Tone);
                comfy_table::Cell::new(painted_cell(&lines, ink, paint))
            })
            .collect();
        drawn.add_row(cells);
    }
    for (position, (&c, &w)) in columns.iter().zip(widths).enumerate() {
        let Some(column) = drawn.column_mut(position) else {
            continue;
        };
        // Cells are cut at 4 KiB, so a content width always fits comfy-table's u16.
        let fixed = u16::try_from(w + 2).unwrap_or(u16::MAX);
        column.set_constraint(comfy_table::ColumnConstraint::Absolute(
            comfy_table::Width::Fixed(fixed),
        ));
        if is_number(table, c) {
            column.set_cell_alignment(comfy_table::CellAlignment::Right);
        }
    }
    for line in drawn.lines() {
        out.push_str(&line);
        out.push('\n');
    }
}

/// The table as records: one `key: value` line per non-empty cell, a blank line between
/// rows; keys aligned when that leaves the values room.
fn list(
    out: &mut String,
    table: &Table,
    rows: &[Vec<String>],
    columns: &[usize],
    max: usize,
    paint: Paint,
) {
    let key_width = columns
        .iter()
        .map(|&c| width(&table.headers[c]) + 1)
        .max()
        .unwrap_or(0);
    let aligned = max >= 2 + key_width + 1 + MIN_LIST_VALUE;
    for (index, row) in rows.iter().enumerate() {
        if index > 0 {
            out.push('\n');
        }
        for &c in columns {
            let value = cell(row, c);
            if value.is_empty() {
                continue;
            }
            let key = format!("{}:", table.headers[c]);
            let (first, next) = if aligned {
                let first = format!("  {key:key_width$} ");
                let next = " ".repeat(width(&first));
                (first, next)
            } else {
                (format!("  {key} "), "    ".to_string())
            };
            let room = max.saturating_sub(width(&first)).max(8);
            let lines = if is_path(table, c) {
                vec![shorten_middle(value, room)]
            } else {
                let room_next = max.saturating_sub(width(&next)).max(8);
                rewrap(value, room, room_next)
            };
            let ink = table.tone(index, c).map(Ink::Tone);
            for (number, line) in lines.iter().enumerate() {
                let prefix = if number == 0 { &first } else { &next };
                out.push_str(&paint.ink(prefix, (number == 0).then_some(Ink::Header)));
                out.push_str(&paint.ink(line, ink));
                out.push('\n');
            }
        }
    }
}

/// `text` wrapped with a first line `first` wide and the others `next` wide.
fn rewrap(text: &str, first: usize, next: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let ranges = wrap(text, first);
    let Some(head) = ranges.first() else {
        return lines;
    };
    lines.push(text[head.clone()].to_string());
    let rest = text[head.end..].trim_start_matches(' ');
    if !rest.is_empty() {
        lines.extend(
            wrap(rest, next)
                .into_iter()
                .map(|range| rest[range].to_string()),
        );
    }
    lines
}
