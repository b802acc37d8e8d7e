//! Redaction for reports sent outside (`--redact`): user names in paths, machine names and,
//! optionally, object names become stable placeholders — the same input always the same
//! placeholder within a report (`<user1>`, `<host1>`, `<name1>`), case-insensitively, as
//! Windows compares them, numbered in the order they are met.
//!
//! Redacted: the folder after `Users`, `Documents and Settings` or `home` in any path (drive,
//! device or Unix; `Public`, `Default`, `Default User` and `All Users` are kept); the server of
//! a UNC path (`\\host\share`) and the host of a URL (`https://host:port/…`); with `names`,
//! the name of every handle's object (the `Name` column, JSON `name` beside a `type`) wherever
//! it appears. Not redacted: module names, versions, identities and the rest of paths, handle
//! values and types, stacks, and messages on standard error.
//!
//! The same [`Redactor`] rewrites a [`Document`] (every string of every block, table and
//! highlight) and a report model as it is serialised ([`Redactor::json_of`]), so that every
//! format is redacted alike. Its cost is linear in the text it rewrites: a string without a
//! path separator is only scanned for object names, and object names are looked up by their
//! first bytes, not tried one by one.

mod learn;
mod scan;
mod serialize;

pub use serialize::Redacted;

use super::document::{Block, Document};
use foldhash::HashMap;
use std::borrow::Cow;
use std::fmt::Write as _;

/// Rewrites reports; remembers the placeholders it gave.
#[derive(Debug, Default)]
pub struct Redactor {
    names: bool,
    users: Placeholders,
    hosts: Placeholders,
    objects: Placeholders,
    /// The byte lengths of the learned object names of three characters or more (lower-case),
    /// longest first, by their first three bytes: where a name may start in a text.
    starts: HashMap<[u8; 3], Vec<usize>>,
    /// Whether a learned name starts with this byte (lower-case).
    first_bytes: FirstBytes,
}

/// One flag for each byte value.
#[derive(Debug)]
struct FirstBytes([bool; 256]);

impl Default for FirstBytes {
    fn default() -> FirstBytes {
        FirstBytes([false; 256])
    }
}

/// The numbers given, by the lower-cased text they stand for.
#[derive(Debug, Default)]
struct Placeholders(HashMap<Box<str>, usize>);

impl Placeholders {
    /// The number of `key` (any case), the next one if `key` is new; whether it is.
    fn number(&mut self, key: &str) -> (usize, bool) {
        let key = lowercase(key);
        if let Some(number) = self.0.get(&*key) {
            return (*number, false);
        }
        let number = self.0.len() + 1;
        self.0.insert(key.into_owned().into_boxed_str(), number);
        (number, true)
    }
}

/// Appends the placeholder `<{kind}{number}>`.
fn push_placeholder(out: &mut String, kind: &str, number: usize) {
    let _ = write!(out, "<{kind}{number}>");
}

/// `text` lower-cased, borrowed when it already is.
fn lowercase(text: &str) -> Cow<'_, str> {
    if !text
        .bytes()
        .any(|byte| byte.is_ascii_uppercase() || !byte.is_ascii())
    {
        Cow::Borrowed(text)
    } else if text.is_ascii() {
        Cow::Owned(text.to_ascii_lowercase())
    } else {
        Cow::Owned(text.to_lowercase())
    }
}

/// `text` lower-cased character by character where that keeps the character's length in
/// bytes (all but a few, such as `İ` and `ẞ`, which stay as they are): offsets in `text` are
/// offsets in it.
fn aligned_lowercase(text: &str) -> Cow<'_, str> {
    if text.is_ascii() {
        return lowercase(text);
    }
    let mut lower = String::with_capacity(text.len());
    for c in text.chars() {
        let mut folded = c.to_lowercase();
        match (folded.next(), folded.next()) {
            (Some(one), None) if one.len_utf8() == c.len_utf8() => lower.push(one),
            _ => lower.push(c),
        }
    }
    Cow::Owned(lower)
}

/// Folders under the user roots that are no one's.
const SHARED_PROFILES: [&str; 4] = ["public", "default", "default user", "all users"];

impl Redactor {
    /// A redactor of user and machine names, and of object names too when `names`.
    pub fn new(names: bool) -> Redactor {
        Redactor {
            names,
            ..Default::default()
        }
    }

    /// Rewrites every string of `document`.
    pub fn document(&mut self, document: &mut Document) {
        if self.names {
            self.learn_document_names(document);
        }
        let mut redact = |text: &mut String| {
            let rewritten = match self.rewrite(text) {
                Cow::Owned(rewritten) => Some(rewritten),
                Cow::Borrowed(_) => None,
            };
            if let Some(rewritten) = rewritten {
                *text = rewritten;
            }
        };
        redact(&mut document.title);
        for block in &mut document.blocks {
            super::visible::each_text_mut(block, &mut redact);
        }
        for table in &mut document.hidden {
            table
                .headers
                .iter_mut()
                .chain(table.rows.iter_mut().flatten())
                .for_each(&mut redact);
        }
        for (phrase, _) in &mut document.marks {
            redact(phrase);
        }
        // Rows laid out as CSV text (`--format csv`): their cells, laid out again.
        let blocks = document.blocks.iter_mut().filter_map(|block| match block {
            Block::Table(table) => Some(table),
            _ => None,
        });
        for table in blocks.chain(&mut document.hidden) {
            if table.held_rows() > table.rows.len() {
                table.csv_rows_mut().rewrite(|cell| self.rewrite(cell));
            }
        }
    }

    /// `model` as it serialises with every string redacted (keys stay), never copied: write
    /// it with [`super::write_json`] or any serde serialiser. With object names, a first pass
    /// serialises `model` to nothing to learn them.
    pub fn json_of<'a, M: serde::Serialize + ?Sized>(
        &'a mut self,
        model: &'a M,
    ) -> Redacted<'a, M> {
        let failed = if self.names {
            let learner = learn::Learner {
                redactor: self,
                keep: false,
            };
            model
                .serialize(learner)
                .err()
                .map(|error| error.to_string())
        } else {
            None
        };
        Redacted {
            model,
            redactor: std::cell::RefCell::new(self),
            failed,
        }
    }

    /// Rewrites every string of a report model as JSON (keys stay).
    pub fn json(&mut self, value: &mut serde_json::Value) {
        if let Ok(redacted) = serde_json::to_value(self.json_of(&*value)) {
            *value = redacted;
        }
    }

    /// Gives each cell of a `Name` column its placeholder (held as cells or as CSV text).
    fn learn_document_names(&mut self, document: &Document) {
        let tables = document.blocks.iter().filter_map(|block| match block {
            Block::Table(table) => Some(table),
            _ => None,
        });
        for table in tables.chain(&document.hidden) {
            for (index, header) in table.headers.iter().enumerate() {
                if header == "Name" {
                    for row in &table.rows {
                        if let Some(name) = row.get(index) {
                            self.learn_name(name);
                        }
                    }
                    table.csv_rows().each_cell(|column, name| {
                        if column == index {
                            self.learn_name(name);
                        }
                    });
                }
            }
        }
    }

    /// Gives the object name `name` its placeholder, and indexes it by its first bytes.
    fn learn_name(&mut self, name: &str) {
        if name.is_empty() {
            return;
        }
        let (_, new) = self.objects.number(name);
        let key = lowercase(name);
        let bytes = key.as_bytes();
        self.first_bytes.0[usize::from(bytes[0])] = true;
        if !new || key.chars().count() < 3 {
            return;
        }
        let lengths = self
            .starts
            .entry([bytes[0], bytes[1], bytes[2]])
            .or_default();
        if let Err(at) = lengths.binary_search_by(|length| key.len().cmp(length)) {
            lengths.insert(at, key.len());
        }
    }

    /// `text` with object names (when learned), user names in paths and machine names
    /// replaced.
    pub fn text(&mut self, text: &str) -> String {
        self.rewrite(text).into_owned()
    }

    /// [`Redactor::text`], borrowed when nothing is replaced.
    fn rewrite<'t>(&mut self, text: &'t str) -> Cow<'t, str> {
        let mut text = Cow::Borrowed(text);
        if self.names && !self.objects.0.is_empty() {
            if let Some(named) = self.replace_names(&text) {
                text = Cow::Owned(named);
            }
        }
        if !scan::may_name_anyone(&text) {
            return text;
        }
        if let Some(replaced) = self.replace_users(&text) {
            text = Cow::Owned(replaced);
        }
        if let Some(replaced) = self.replace_hosts(&text) {
            text = Cow::Owned(replaced);
        }
        text
    }

    /// Object names learned, replaced wherever they stand as a whole (at each place, the
    /// longest that does), or the text's placeholder when it is one; `None` when there are
    /// none.
    fn replace_names(&self, text: &str) -> Option<String> {
        // The test most strings fail: no byte of theirs starts a learned name in any case.
        let may_start = |byte: u8| {
            !byte.is_ascii() || self.first_bytes.0[usize::from(byte.to_ascii_lowercase())]
        };
        if !text.bytes().any(may_start) {
            return None;
        }
        let lower = lowercase(text);
        if let Some(number) = self.objects.0.get(&*lower) {
            let mut out = String::new();
            push_placeholder(&mut out, "name", *number);
            return Some(out);
        }
        if self.starts.is_empty() {
            return None;
        }
        let lower = if text.is_ascii() {
            lower
        } else {
            aligned_lowercase(text)
        };
        let mut out = String::new();
        let (mut copied, mut at) = (0, 0);
        while at + 3 <= lower.len() {
            match self.name_at(text, &lower, at) {
                Some((end, number)) => {
                    out.push_str(&text[copied..at]);
                    push_placeholder(&mut out, "name", number);
                    (copied, at) = (end, end);
                }
                None => at += 1,
            }
        }
        if copied == 0 {
            return None;
        }
        out.push_str(&text[copied..]);
        Some(out)
    }

    /// The end and number of the longest learned name (three characters or more) standing
    /// as a whole at byte `at` of `text` (`lower`: the same lower-cased, offsets aligned).
    fn name_at(&self, text: &str, lower: &str, at: usize) -> Option<(usize, usize)> {
        let bytes = lower.as_bytes();
        if !self.first_bytes.0[usize::from(bytes[at])] {
            return None;
        }
        let lengths = self
            .starts
            .get(&[bytes[at], bytes[at + 1], bytes[at + 2]])?;
        if !text.is_char_boundary(at) || scan::joins(text[..at].chars().next_back()) {
            return None;
        }
        // The cheap test first: a name must end where a word does.
        lengths.iter().find_map(|length| {
            let end = at + length;
            let name = lower.get(at..end)?;
            if scan::joins(text[end..].chars().next()) {
                return None;
            }
            let number = self.objects.0.get(name)?;
            (name.chars().count() >= 3).then_some((end, *number))
        })
    }

    /// `…\Users\alice\…` → `…\Users\<user1>\…` (and `Documents and Settings`, `/home/`);
    /// `None` when there are none.
    fn replace_users(&mut self, text: &str) -> Option<String> {
        let lower = aligned_lowercase(text);
        let mut users = scan::Users::new(&lower);
        let mut out = String::new();
        let mut at = 0;
        while let Some((start, end)) = users.next(at) {
            let name = &text[start..end];
            out.push_str(&text[at..start]);
            if SHARED_PROFILES.contains(&&lower[start..end]) {
                out.push_str(name);
            } else {
                push_placeholder(&mut out, "user", self.users.number(name).0);
            }
            at = end;
        }
        if at == 0 {
            return None;
        }
        out.push_str(&text[at..]);
        Some(out)
    }

    /// `\\host\share` → `\\<host1>\share`; `https://host:443/x` → `https://<host1>:443/x`;
    /// `None` when there are none.
    fn replace_hosts(&mut self, text: &str) -> Option<String> {
        if !text.contains('\\') && !text.contains("://") {
            return None;
        }
        let mut hosts = scan::Hosts::new(text);
        let mut out = String::new();
        let mut at = 0;
        while let Some((start, end)) = hosts.next(at) {
            out.push_str(&text[at..start]);
            push_placeholder(&mut out, "host", self.hosts.number(&text[start..end]).0);
            at = end;
        }
        if at == 0 {
            return None;
        }
        out.push_str(&text[at..]);
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::document::Table;

    #[test]
    fn user_names_become_stable_placeholders() {
        let mut redactor = Redactor::new(false);
        assert_eq!(
            redactor.text(r"C:\Users\alice\AppData\Local\x.dll and c:\users\ALICE\y"),
            r"C:\Users\<user1>\AppData\Local\x.dll and c:\users\<user1>\y"
        );
        assert_eq!(
            redactor.text(r"\Device\HarddiskVolume3\Users\bob\a.txt; /home/carol/dumps/a.dmp"),
            r"\Device\HarddiskVolume3\Users\<user2>\a.txt; /home/<user3>/dumps/a.dmp"
        );
        assert_eq!(
            redactor.text(r"C:\Documents and Settings\alice\x C:\Users\Public\y"),
            r"C:\Documents and Settings\<user1>\x C:\Users\Public\y"
        );
        assert_eq!(
            redactor.text("MSMAPI32.DLL 11.0.5601.0"),
            "MSMAPI32.DLL 11.0.5601.0"
        );
    }

    #[test]
    fn machine_names_in_unc_paths_and_urls() {
        let mut redactor = Redactor::new(false);
        assert_eq!(
            redactor.text(
                r"\\FILESRV01\share\a.dll via https://symbols.corp.example:8443/sym and \\?\C:\x"
            ),
            r"\\<host1>\share\a.dll via https://<host2>:8443/sym and \\?\C:\x"
        );
        assert_eq!(redactor.text(r"\\filesrv01\other"), r"\\<host1>\other");
        // A server after a `\\?\` path, and UNC paths as object names write them.
        assert_eq!(
            redactor
                .text(r"\\?\C:\x \\srv2\s \Device\Mup\FileServer01\share\doc.txt \??\UNC\srv3\s"),
            r"\\?\C:\x \\<host3>\s \Device\Mup\<host4>\share\doc.txt \??\UNC\<host5>\s"
        );
        assert_eq!(
            redactor
                .text(r"\Device\LanmanRedirector\;Z:00000000000003e7\filesrv01\s \\?\UNC\srv2\t"),
            r"\Device\LanmanRedirector\;Z:00000000000003e7\<host1>\s \\?\UNC\<host3>\t"
        );
    }

    #[test]
    fn object_names_in_tables_and_prose_and_json() {
        let mut table = Table::new("handles", &["Handle", "Name"]);
        table.row(vec!["0x38".into(), r"\BaseNamedObjects\MAPI_LOCK".into()]);
        let mut document = Document::new("t");
        document.push(Block::Table(table));
        document.push(Block::Bullets(vec![
            r"Mutant \BaseNamedObjects\MAPI_LOCK: 5 handles".into(),
        ]));
        let mut redactor = Redactor::new(true);
        redactor.document(&mut document);
        let Block::Table(table) = &document.blocks[0] else {
            panic!()
        };
        assert_eq!(table.rows[0], ["0x38", "<name1>"]);
        assert!(
            matches!(&document.blocks[1], Block::Bullets(items) if items[0] == "Mutant <name1>: 5 handles")
        );
        let mut json = serde_json::json!({"new_handles": [{"type": "Mutant", "name": r"\BaseNamedObjects\MAPI_LOCK"}],
            "modules": [{"name": "MSMAPI32.DLL", "path": r"C:\Users\alice\m.dll"}]});
        let mut redactor = Redactor::new(true);
        redactor.json(&mut json);
        assert_eq!(json["new_handles"][0]["name"], "<name1>");
        assert_eq!(json["modules"][0]["name"], "MSMAPI32.DLL");
        assert_eq!(json["modules"][0]["path"], r"C:\Users\<user1>\m.dll");
    }

    #[test]
    fn csv_text_is_redacted_as_cells_are() {
        use crate::report::document::Rows;
        use crate::report::{csv_table, write_csv};
        let csv_of = |rows: &Rows| {
            let mut table = Table::new("t", &["Handle", "Name", "Path"]).holding(rows);
            for cells in [
                ["0x0", "", "-"],
                ["0x4", "=cmd|x", r"\\FILESRV\share\Users\bob\=cmd|x"],
                ["0x8", r"\Sessions\1\BaseNamedObjects\Lock", "-1"],
                [
                    "0xc",
                    "'=quoted",
                    "line\nbreak, \"\\sessions\\1\\basenamedobjects\\LOCK\"",
                ],
                ["0x10", "", "-"],
            ] {
                table.row(cells.map(String::from).to_vec());
            }
            let mut document = Document::new("t");
            document.push(Block::Table(table));
            Redactor::new(true).document(&mut document);
            let mut text = Vec::new();
            write_csv(csv_table(&document, "t").unwrap(), &mut text).unwrap();
            String::from_utf8(text).unwrap()
        };
        let cells = csv_of(&Rows::All);
        assert_eq!(
            cells,
            "Handle,Name,Path\n0x0,,'-\n0x4,<name1>,\\\\<host1>\\share\\Users\\<user1>\\<name1>\n\
             0x8,<name2>,-1\n0xc,<name3>,\"line\nbreak, \"\"<name2>\"\"\"\n0x10,,'-\n"
        );
        assert_eq!(csv_of(&Rows::Csv("t".to_string())), cells);
    }

    #[derive(serde::Serialize)]
    struct Handle {
        name: Option<String>,
        #[serde(rename = "type")]
        kind: &'static str,
        note: String,
    }

    #[test]
    fn models_are_redacted_as_they_serialise_in_their_own_order() {
        let handles = vec![
            Handle {
                name: Some(r"\BaseNamedObjects\Second".into()),
                kind: "Event",
                note: r"waits on \basenamedobjects\first, C:\Users\carol\x".into(),
            },
            Handle {
                name: Some(r"\BaseNamedObjects\First".into()),
                kind: "Mutant",
                note: r"\\srv\share \BaseNamedObjects\Second2".into(),
            },
            Handle {
                name: None,
                kind: "File",
                note: String::new(),
            },
        ];
        let mut redactor = Redactor::new(true);
        let json = serde_json::to_string(&redactor.json_of(&handles)).unwrap();
        assert_eq!(
            json,
            r#"[{"name":"<name1>","type":"Event","note":"waits on <name2>, C:\\Users\\<user1>\\x"},"#
                .to_string()
                + r#"{"name":"<name2>","type":"Mutant","note":"\\\\<host1>\\share \\BaseNamedObjects\\Second2"},"#
                + r#"{"name":null,"type":"File","note":""}]"#
        );
    }

    #[test]
    fn characters_whose_case_folding_changes_their_length_stay_in_place() {
        // `İ` lower-cases to three bytes, `ẞ` to two: the text as long, other offsets.
        let mut redactor = Redactor::new(true);
        redactor.learn_name("ẞİ-lock");
        redactor.learn_name("Global-Lock");
        assert_eq!(
            redactor.text(r"İẞ\Users\Dave\x \\SRV\s global-LOCK ẞİ-lock"),
            r"İẞ\Users\<user1>\x \\<host1>\s <name2> ẞİ-lock"
        );
        assert_eq!(redactor.text("ẞİ-LOCK"), "<name1>");
    }
}
