//! JSON as dumpleak writes it: serde_json's pretty layout (two spaces an indentation level),
//! with each line break and its indentation written at once. serde_json's own pretty
//! formatter writes an indentation level at a time, which is a third of the cost of writing
//! the JSON of a report listing thousands of handles, each with its stack.

use serde::Serialize;
use serde_json::ser::Formatter;
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
}

impl Pretty {
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

    fn open<W: ?Sized + Write>(&mut self, writer: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.depth += 1;
        self.has_value = false;
        writer.write_all(bracket)
    }

    fn close<W: ?Sized + Write>(&mut self, writer: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.depth -= 1;
        if self.has_value {
            self.line(writer, true)?;
        }
        writer.write_all(bracket)
    }
}

impl Formatter for Pretty {
    fn begin_array<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.open(writer, b"[")
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
        self.open(writer, b"{")
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

/// Writes `model` as pretty JSON to `writer` (no final line break).
pub(super) fn to_writer<M: Serialize + ?Sized, W: Write>(
    writer: W,
    model: &M,
) -> serde_json::Result<()> {
    model.serialize(&mut serde_json::Serializer::with_formatter(
        writer,
        Pretty::default(),
    ))
}

/// `model` as pretty JSON text (no final line break).
pub(super) fn to_string<M: Serialize + ?Sized>(model: &M) -> serde_json::Result<String> {
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
}
