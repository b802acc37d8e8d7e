//! Redaction for reports sent outside (`--redact`): user names in paths, machine names and,
//! optionally, object names become stable placeholders — the same input always the same
//! placeholder within a report (`<user1>`, `<host1>`, `<name1>`), case-insensitively, as
//! Windows compares them.
//!
//! Redacted: the folder after `Users`, `Documents and Settings` or `home` in any path (drive,
//! device or Unix; `Public`, `Default`, `Default User` and `All Users` are kept); the server of
//! a UNC path (`\\host\share`) and the host of a URL (`https://host:port/…`); with `names`,
//! the name of every handle's object (the `Name` column, JSON `name` beside a `type`) wherever
//! it appears. Not redacted: module names, versions, identities and the rest of paths, handle
//! values and types, stacks, and messages on standard error.
//!
//! The same [`Redactor`] rewrites a [`Document`] (every string of every block, table and
//! highlight) and a report model as JSON, so that every format is redacted alike.

use super::document::{Block, Document};
use std::collections::HashMap;

/// Rewrites reports; remembers the placeholders it gave.
#[derive(Debug, Default)]
pub struct Redactor {
    names: bool,
    users: Placeholders,
    hosts: Placeholders,
    objects: Placeholders,
}

#[derive(Debug, Default)]
struct Placeholders(HashMap<String, String>);

impl Placeholders {
    fn get(&mut self, kind: &str, key: &str) -> String {
        let next = self.0.len() + 1;
        self.0
            .entry(key.to_lowercase())
            .or_insert_with(|| format!("<{kind}{next}>"))
            .clone()
    }
}

/// Folders whose next component is a user name.
const USER_ROOTS: [&str; 3] = ["users", "documents and settings", "home"];
/// Folders under them that are no one's.
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
        document.title = self.text(&document.title);
        for block in &mut document.blocks {
            super::visible::each_text_mut(block, &mut |text| *text = self.text(text));
        }
        for table in &mut document.hidden {
            for text in table
                .headers
                .iter_mut()
                .chain(table.rows.iter_mut().flatten())
            {
                *text = self.text(text);
            }
        }
        for (phrase, _) in &mut document.marks {
            *phrase = self.text(phrase);
        }
    }

    /// Rewrites every string of a report model as JSON (keys stay).
    pub fn json(&mut self, value: &mut serde_json::Value) {
        if self.names {
            self.learn_json_names(value);
        }
        self.json_strings(value);
    }

    fn json_strings(&mut self, value: &mut serde_json::Value) {
        use serde_json::Value;
        match value {
            Value::String(text) => *text = self.text(text),
            Value::Array(items) => items.iter_mut().for_each(|item| self.json_strings(item)),
            Value::Object(map) => map.values_mut().for_each(|item| self.json_strings(item)),
            _ => {}
        }
    }

    /// Gives each object name of the JSON (a `name` beside a `type`) its placeholder.
    fn learn_json_names(&mut self, value: &serde_json::Value) {
        use serde_json::Value;
        match value {
            Value::Array(items) => items.iter().for_each(|item| self.learn_json_names(item)),
            Value::Object(map) => {
                if let (Some(Value::String(name)), Some(Value::String(_))) =
                    (map.get("name"), map.get("type"))
                {
                    self.learn_name(name);
                }
                map.values().for_each(|item| self.learn_json_names(item));
            }
            _ => {}
        }
    }

    /// Gives each cell of a `Name` column its placeholder.
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
                }
            }
        }
    }

    fn learn_name(&mut self, name: &str) {
        if !name.is_empty() {
            self.objects.get("name", name);
        }
    }

    /// `text` with object names (when learned), user names in paths and machine names
    /// replaced.
    pub fn text(&mut self, text: &str) -> String {
        let mut text = text.to_string();
        if self.names && !self.objects.0.is_empty() {
            text = self.replace_names(&text);
        }
        let text = self.replace_users(&text);
        self.replace_hosts(&text)
    }

    /// Object names learned, replaced wherever they stand as a whole (longest first).
    fn replace_names(&self, text: &str) -> String {
        if let Some(placeholder) = self.objects.0.get(&text.to_lowercase()) {
            return placeholder.clone();
        }
        let mut names: Vec<(&String, &String)> = self
            .objects
            .0
            .iter()
            .filter(|(name, _)| name.chars().count() >= 3)
            .collect();
        names.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.0.cmp(b.0)));
        let mut out = text.to_string();
        for (name, placeholder) in names {
            out = replace_whole(&out, name, placeholder);
        }
        out
    }

    /// `…\Users\alice\…` → `…\Users\<user1>\…` (and `Documents and Settings`, `/home/`).
    fn replace_users(&mut self, text: &str) -> String {
        let lower = text.to_lowercase();
        if lower.len() != text.len() {
            // Case folding changed byte offsets (rare scripts): search the text itself.
            return self.replace_users_exact(text);
        }
        let mut out = String::new();
        let mut at = 0;
        while let Some((start, end)) = next_user(&lower, at) {
            let name = &text[start..end];
            out.push_str(&text[at..start]);
            if SHARED_PROFILES.contains(&name.to_lowercase().as_str()) {
                out.push_str(name);
            } else {
                out.push_str(&self.users.get("user", name));
            }
            at = end;
        }
        out.push_str(&text[at..]);
        out
    }

    fn replace_users_exact(&mut self, text: &str) -> String {
        let mut out = String::new();
        let mut at = 0;
        while let Some((start, end)) = next_user(text, at) {
            out.push_str(&text[at..start]);
            out.push_str(&self.users.get("user", &text[start..end]));
            at = end;
        }
        out.push_str(&text[at..]);
        out
    }

    /// `\\host\share` → `\\<host1>\share`; `https://host:443/x` → `https://<host1>:443/x`.
    fn replace_hosts(&mut self, text: &str) -> String {
        let mut out = String::new();
        let mut at = 0;
        while let Some((start, end)) = next_host(text, at) {
            out.push_str(&text[at..start]);
            out.push_str(&self.hosts.get("host", &text[start..end]));
            at = end;
        }
        out.push_str(&text[at..]);
        out
    }
}

/// The byte range of the next user name (in `text` lower-cased by the caller, or exact) at or
/// after `from`: the component after a user root folder preceded by a separator.
fn next_user(text: &str, from: usize) -> Option<(usize, usize)> {
    let mut best: Option<(usize, usize)> = None;
    for root in USER_ROOTS {
        for separator in ['\\', '/'] {
            let needle = format!("{separator}{root}{separator}");
            let Some(found) = text[from..].find(&needle).map(|at| at + from) else {
                continue;
            };
            let start = found + needle.len();
            let rest = &text[start..];
            let end = start
                + rest
                    .find(['\\', '/', '"', '\'', ')', ',', ';'])
                    .or_else(|| rest.find(char::is_whitespace))
                    .unwrap_or(rest.len());
            if end > start && best.is_none_or(|(best_start, _)| start < best_start) {
                best = Some((start, end));
            }
        }
    }
    best
}

/// The byte range of the next machine name at or after `from`: a UNC server (`\\host\share`,
/// not `\\?\` or `\\.\`; also as Windows writes UNC paths in object names:
/// `\\?\UNC\host`, `\??\UNC\host`, `\Device\Mup\host`,
/// `\Device\LanmanRedirector\;X:…\host`) or a URL's host.
fn next_host(text: &str, from: usize) -> Option<(usize, usize)> {
    let unc = next_unc_server(text, from);
    let url = text[from..].find("://").map(|at| at + from).and_then(|at| {
        let start = at + 3;
        let rest = &text[start..];
        let end = start
            + rest
                .find(['/', ':', ' ', '"', '\'', ')', ']'])
                .unwrap_or(rest.len());
        let host = &text[start..end];
        let host = host.rsplit('@').next().unwrap_or(host);
        (!host.is_empty()).then_some((end - host.len(), end))
    });
    match (unc, url) {
        (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
        (a, b) => a.or(b),
    }
}

/// Prefixes after which a UNC path's server name stands, lower-case.
const UNC_PREFIXES: [&str; 5] = [
    r"\\?\unc\",
    r"\??\unc\",
    r"\device\mup\",
    r"\device\lanmanredirector\",
    r"\\",
];

/// The byte range of the next UNC server name at or after `from`.
fn next_unc_server(text: &str, from: usize) -> Option<(usize, usize)> {
    let lower = text.to_ascii_lowercase();
    let mut at = from;
    while at < text.len() {
        let (found, prefix) = UNC_PREFIXES
            .iter()
            .filter_map(|prefix| lower[at..].find(prefix).map(|i| (at + i, *prefix)))
            .min_by_key(|(found, prefix)| (*found, std::cmp::Reverse(prefix.len())))?;
        let mut start = found + prefix.len();
        if prefix == r"\device\lanmanredirector\" && text[start..].starts_with(';') {
            // `;Z:0000000000003e7\server\share`: a drive mapping's session component.
            start += text[start..].find('\\')? + 1;
        }
        at = start;
        let Some(length) = text[start..].find(['\\', '/', ' ', '"', '\'']) else {
            continue;
        };
        let host = &text[start..start + length];
        let plain = prefix == r"\\";
        let before_ok = !plain || text[..found].chars().next_back().is_none_or(|c| c != '\\');
        if before_ok && !host.is_empty() && !(plain && (host == "?" || host == ".")) {
            return Some((start, start + length));
        }
    }
    None
}

/// `text` with `name` (any case) replaced by `placeholder` where it stands as a whole.
fn replace_whole(text: &str, name: &str, placeholder: &str) -> String {
    let lower = text.to_lowercase();
    if lower.len() != text.len() || !lower.contains(name) {
        return text.to_string();
    }
    let joins = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    let mut out = String::new();
    let mut at = 0;
    for (start, _) in lower.match_indices(name) {
        let end = start + name.len();
        if start < at
            || joins(text[..start].chars().next_back())
            || joins(text[end..].chars().next())
        {
            continue;
        }
        out.push_str(&text[at..start]);
        out.push_str(placeholder);
        at = end;
    }
    out.push_str(&text[at..]);
    out
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
}
