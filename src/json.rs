//! JSON as dumpleak writes it (the report stage writes it; the models' long lists say how they
//! are written with [`parallel_seq`]): serde_json's pretty layout (two spaces an indentation level),
//! with each line break and its indentation written at once. serde_json's own pretty
//! formatter writes an indentation level at a time, which is a third of the cost of writing
//! the JSON of a report listing thousands of handles, each with its stack.
//!
//! Long lists of a report ([`parallel_seq`]) are written on all cores when [`to_writer`] writes
//! the model itself: their elements are laid out in blocks, in parallel, at the depth they
//! will stand at, and the serialiser writes the laid-out text. Any other serialiser (a JSON
//! value, the redactor's) gets the elements one by one, as without it.

use rayon::prelude::*;
use serde::{Serialize, Serializer};
use serde_json::ser::Formatter;
use serde_json::value::RawValue;
use std::cell::Cell;
use std::io::{self, Write};

/// `,` and a line break, then enough spaces for the deepest indentation written at once.
const BREAK: &[u8; 2 + 2 * DEEPEST] = &{
    let mut bytes = [b' '; 2 + 2 * DEEPEST];
    bytes[0] = b',';
    bytes[1] = b'\n';
    bytes
};
/// The deepest level of indentation [`BREAK`] holds; deeper levels are written in parts.
const DEEPEST: usize = 32;

/// serde_json's `PrettyFormatter` with two-space indentation, byte for byte.
#[derive(Debug, Default)]
struct Pretty {
    depth: usize,
    has_value: bool,
    /// Whether the depth is told to [`parallel_seq`] ([`WRITING`]).
    telling: bool,
}

thread_local! {
    /// While [`to_writer`] writes a model on this thread: the depth its formatter is at.
    static WRITING: Cell<Option<usize>> = const { Cell::new(None) };
}

/// Lists with at least this many elements are laid out in parallel.
const PARALLEL_FROM: usize = 256;
/// Elements laid out at a time: what is held of a list's text at once.
const BLOCK: usize = 4096;

impl Pretty {
    fn set_depth(&mut self, depth: usize) {
        self.depth = depth;
        if self.telling {
            WRITING.with(|writing| writing.set(Some(depth)));
        }
    }

    /// A line break (after a comma unless `first`), then the current indentation.
    fn line<W: ?Sized + Write>(&self, writer: &mut W, first: bool) -> io::Result<()> {
        let start = usize::from(first);
        if self.depth <= DEEPEST {
            return writer.write_all(&BREAK[start..2 + 2 * self.depth]);
        }
        writer.write_all(&BREAK[start..2])?;
        for _ in 0..self.depth {
            writer.write_all(b"  ")?;
        }
        Ok(())
    }

    fn close<W: ?Sized + Write>(&mut self, writer: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.set_depth(self.depth - 1);
        if self.has_value {
            self.line(writer, true)?;
        }
        writer.write_all(bracket)
    }
}

impl Formatter for Pretty {
    fn begin_array<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.set_depth(self.depth + 1);
        self.has_value = false;
        writer.write_all(b"[")
    }

    fn end_array<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.close(writer, b"]")
    }

    fn begin_array_value<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.line(writer, first)
    }

    fn end_array_value<W: ?Sized + Write>(&mut self, _writer: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }

    fn begin_object<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.set_depth(self.depth + 1);
        self.has_value = false;
        writer.write_all(b"{")
    }

    fn end_object<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.close(writer, b"}")
    }

    fn begin_object_key<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.line(writer, first)
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        writer.write_all(b": ")
    }

    fn end_object_value<W: ?Sized + Write>(&mut self, _writer: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

/// Writes `model` as pretty JSON to `writer` (no final line break), its long lists
/// ([`parallel_seq`]) laid out on all cores.
pub(crate) fn to_writer<M: Serialize + ?Sized, W: Write>(
    writer: W,
    model: &M,
) -> serde_json::Result<()> {
    let outer = WRITING.with(|writing| writing.replace(Some(0)));
    let formatter = Pretty {
        telling: true,
        ..Pretty::default()
    };
    let written = model.serialize(&mut serde_json::Serializer::with_formatter(
        writer, formatter,
    ));
    WRITING.with(|writing| writing.set(outer));
    written
}

/// Runs `write` with long lists serialised one element after another: for a model that wraps
/// the serialiser it is given (the redactor's), whose elements must go through the wrapper.
// The redactor's model wraps the serialiser (see report/redact).
#[allow(dead_code)]
pub(crate) fn serially<R>(write: impl FnOnce() -> R) -> R {
    let outer = WRITING.with(|writing| writing.replace(None));
    let written = write();
    WRITING.with(|writing| writing.set(outer));
    written
}

/// Serialises `items` as a list; written by [`to_writer`], a long list is laid out on all cores
/// (`#[serde(serialize_with = "parallel_seq")]` on a report's long lists).
pub fn parallel_seq<T: Serialize + Sync, S: Serializer>(
    items: &[T],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let Some(depth) = WRITING
        .with(Cell::get)
        .filter(|_| items.len() >= PARALLEL_FROM)
    else {
        return serializer.collect_seq(items);
    };
    use serde::ser::{Error, SerializeSeq};
    let mut seq = serializer.serialize_seq(Some(items.len()))?;
    for block in items.chunks(BLOCK) {
        let laid_out: Vec<Box<RawValue>> = block
            .par_iter()
            .map(|item| laid_out_at(item, depth + 1))
            .collect::<serde_json::Result<_>>()
            .map_err(S::Error::custom)?;
        for element in &laid_out {
            seq.serialize_element(element)?;
        }
    }
    seq.end()
}

/// `item` laid out as [`to_writer`] lays out an element of a list at `depth`.
fn laid_out_at<T: Serialize>(item: &T, depth: usize) -> serde_json::Result<Box<RawValue>> {
    // A thread that lays out an element writes no model of its own meanwhile.
    let outer = WRITING.with(|writing| writing.replace(None));
    let mut bytes = Vec::with_capacity(256);
    let formatter = Pretty {
        depth,
        ..Pretty::default()
    };
    let written = item.serialize(&mut serde_json::Serializer::with_formatter(
        &mut bytes, formatter,
    ));
    WRITING.with(|writing| writing.set(outer));
    written?;
    // serde_json writes UTF-8 only.
    RawValue::from_string(String::from_utf8(bytes).expect("serde_json writes UTF-8"))
}

/// `model` as pretty JSON text (no final line break).
pub(crate) fn to_string<M: Serialize + ?Sized>(model: &M) -> serde_json::Result<String> {
    let mut bytes = Vec::with_capacity(128);
    to_writer(&mut bytes, model)?;
    // serde_json writes UTF-8 only.
    Ok(String::from_utf8(bytes).expect("serde_json writes UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_layout_is_serde_jsons_pretty_layout_at_every_depth() {
        let mut deep =
            serde_json::json!({"leaf": [1, "two", {"three": null}], "empty": [], "none": {}});
        for level in 0..40 {
            deep = serde_json::json!({ format!("level {level}"): [deep, level, []] });
        }
        for value in [
            serde_json::json!(null),
            serde_json::json!([]),
            serde_json::json!({}),
            deep,
        ] {
            assert_eq!(
                to_string(&value).unwrap(),
                serde_json::to_string_pretty(&value).unwrap()
            );
        }
    }

    #[derive(Serialize)]
    struct Element {
        value: usize,
        text: String,
        inner: Vec<u32>,
        nested: Option<Box<Report>>,
    }

    #[derive(Serialize)]
    struct Report {
        title: &'static str,
        #[serde(serialize_with = "parallel_seq")]
        items: Vec<Element>,
        after: Vec<u8>,
    }

    fn report(count: usize, nested: usize) -> Report {
        Report {
            title: "t",
            items: (0..count)
                .map(|value| Element {
                    value,
                    text: format!("\"{value}\"\n\u{1b}"),
                    inner: (0..value as u32 % 3).collect(),
                    nested: (value % 1000 == 7).then(|| Box::new(report(nested, 0))),
                })
                .collect(),
            after: vec![1, 2],
        }
    }

    #[test]
    fn long_lists_laid_out_in_parallel_are_the_text_written_in_one_go() {
        // Short and long lists, across blocks, nested in an element of another long list.
        for count in [0, 1, PARALLEL_FROM - 1, PARALLEL_FROM, BLOCK + 3] {
            let model = report(count, PARALLEL_FROM + 1);
            let expected = serde_json::to_string_pretty(&model).unwrap();
            assert_eq!(to_string(&model).unwrap(), expected, "{count} elements");
            let value = serde_json::to_value(&model).unwrap();
            assert_eq!(
                value,
                serde_json::from_str::<serde_json::Value>(&expected).unwrap()
            );
        }
    }

    /// A model that hands its serialiser another model's elements one by one, as the redactor
    /// does when it wraps the serialiser.
    struct Serially<'a>(&'a Report);

    impl Serialize for Serially<'_> {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            assert_eq!(WRITING.with(Cell::get), Some(0), "written by to_writer");
            assert_eq!(
                serially(|| WRITING.with(Cell::get)),
                None,
                "lists written serially"
            );
            serially(|| self.0.serialize(serializer))
        }
    }

    #[test]
    fn a_model_written_serially_gives_the_same_text() {
        let model = report(PARALLEL_FROM + 1, PARALLEL_FROM);
        assert_eq!(
            to_string(&Serially(&model)).unwrap(),
            serde_json::to_string_pretty(&model).unwrap()
        );
    }
}
