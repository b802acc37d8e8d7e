//! Where user and machine names stand in a text: the byte ranges [`super::Redactor`] replaces,
//! found left to right in time linear in the text, however many there are.

/// Folders whose next component is a user name, lower-case, between separators.
const USER_ROOTS: [&str; 6] = [
    r"\users\",
    "/users/",
    r"\documents and settings\",
    "/documents and settings/",
    r"\home\",
    "/home/",
];

/// Prefixes after which a UNC path's server name stands, lower-case.
const UNC_PREFIXES: [&str; 5] = [
    r"\\?\unc\",
    r"\??\unc\",
    r"\device\mup\",
    r"\device\lanmanredirector\",
    r"\\",
];

/// Whether `text` may hold a user name in a path or a machine name: it has a path separator
/// (every user root, UNC prefix and `://` has one). Most strings of a report have none.
pub(super) fn may_name_anyone(text: &str) -> bool {
    text.bytes().any(|byte| byte == b'\\' || byte == b'/')
}

/// Whether a character joins a name to its neighbour (a name stands as a whole only between
/// characters that do not).
pub(super) fn joins(c: Option<char>) -> bool {
    c.is_some_and(|c| c.is_alphanumeric() || c == '_')
}

/// What a scan knows of one needle's next occurrence.
#[derive(Clone, Copy)]
enum Next {
    /// Not searched yet.
    Unknown,
    /// Found at this byte offset, with the name range it leads to (if any).
    At(usize, Option<(usize, usize)>),
    /// Not in the rest of the text.
    Never,
}

/// The user names of one text (lower-cased by the caller, or exact), left to right: the
/// component after a user root folder preceded by a separator. Each root's next occurrence is
/// searched for again only once the scan has passed it.
pub(super) struct Users<'t> {
    text: &'t str,
    next: [Next; USER_ROOTS.len()],
}

impl<'t> Users<'t> {
    pub(super) fn new(text: &'t str) -> Users<'t> {
        Users {
            text,
            next: [Next::Unknown; USER_ROOTS.len()],
        }
    }

    /// The byte range of the next user name at or after `from`.
    pub(super) fn next(&mut self, from: usize) -> Option<(usize, usize)> {
        let mut best: Option<(usize, usize)> = None;
        for (index, root) in USER_ROOTS.iter().enumerate() {
            let range = match self.next[index] {
                Next::Never => continue,
                Next::At(found, range) if found >= from => range,
                _ => match self.text[from..].find(root) {
                    None => {
                        self.next[index] = Next::Never;
                        continue;
                    }
                    Some(at) => {
                        let range = self.name_after(from + at + root.len());
                        self.next[index] = Next::At(from + at, range);
                        range
                    }
                },
            };
            if let Some((start, end)) = range {
                if best.is_none_or(|(best_start, _)| start < best_start) {
                    best = Some((start, end));
                }
            }
        }
        best
    }

    /// The user name starting at `start`, if not empty.
    fn name_after(&self, start: usize) -> Option<(usize, usize)> {
        let rest = &self.text[start..];
        let end = start
            + rest
                .find(['\\', '/', '"', '\'', ')', ',', ';'])
                .or_else(|| rest.find(char::is_whitespace))
                .unwrap_or(rest.len());
        (end > start).then_some((start, end))
    }
}

/// The machine names of one text, left to right: UNC servers (`\\host\share`, not `\\?\` or
/// `\\.\`; also as Windows writes UNC paths in object names: `\\?\UNC\host`, `\??\UNC\host`,
/// `\Device\Mup\host`, `\Device\LanmanRedirector\;X:…\host`) and URLs' hosts.
pub(super) struct Hosts<'t> {
    text: &'t str,
    /// `text` ASCII lower-cased.
    lower: String,
    unc: [Next; UNC_PREFIXES.len()],
    url: Next,
}

impl<'t> Hosts<'t> {
    pub(super) fn new(text: &'t str) -> Hosts<'t> {
        Hosts {
            text,
            lower: text.to_ascii_lowercase(),
            unc: [Next::Unknown; UNC_PREFIXES.len()],
            url: Next::Unknown,
        }
    }

    /// The byte range of the next machine name at or after `from`.
    pub(super) fn next(&mut self, from: usize) -> Option<(usize, usize)> {
        let unc = self.next_unc_server(from);
        let url = self.next_url_host(from);
        match (unc, url) {
            (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
            (a, b) => a.or(b),
        }
    }

    fn next_url_host(&mut self, from: usize) -> Option<(usize, usize)> {
        match self.url {
            Next::Never => return None,
            Next::At(found, range) if found >= from => return range,
            _ => {}
        }
        let Some(at) = self.text[from..].find("://").map(|at| at + from) else {
            self.url = Next::Never;
            return None;
        };
        let start = at + 3;
        let rest = &self.text[start..];
        let end = start
            + rest
                .find(['/', ':', ' ', '"', '\'', ')', ']'])
                .unwrap_or(rest.len());
        let host = &self.text[start..end];
        let host = host.rsplit('@').next().unwrap_or(host);
        let range = (!host.is_empty()).then_some((end - host.len(), end));
        self.url = Next::At(at, range);
        range
    }

    /// The next occurrence at or after `at` of the UNC prefix `index`.
    fn unc_prefix(&mut self, index: usize, at: usize) -> Option<usize> {
        match self.unc[index] {
            Next::Never => None,
            Next::At(found, _) if found >= at => Some(found),
            _ => {
                let found = self.lower[at..].find(UNC_PREFIXES[index]).map(|i| at + i);
                self.unc[index] = found.map_or(Next::Never, |found| Next::At(found, None));
                found
            }
        }
    }

    /// The byte range of the next UNC server name at or after `from`.
    fn next_unc_server(&mut self, from: usize) -> Option<(usize, usize)> {
        let text = self.text;
        let mut at = from;
        while at < text.len() {
            let (found, prefix) = (0..UNC_PREFIXES.len())
                .filter_map(|index| {
                    self.unc_prefix(index, at)
                        .map(|found| (found, UNC_PREFIXES[index]))
                })
                .min_by_key(|(found, prefix)| (*found, std::cmp::Reverse(prefix.len())))?;
            let mut start = found + prefix.len();
            if prefix == r"\device\lanmanredirector\" && text[start..].starts_with(';') {
                // `;Z:0000000000003e7\server\share`: a drive mapping's session component.
                start += text[start..].find('\\')? + 1;
            }
            at = start;
            // No end here: none later either.
            let length = text[start..].find(['\\', '/', ' ', '"', '\''])?;
            let host = &text[start..start + length];
            let plain = prefix == r"\\";
            let before_ok = !plain || text[..found].chars().next_back().is_none_or(|c| c != '\\');
            if before_ok && !host.is_empty() && !(plain && (host == "?" || host == ".")) {
                return Some((start, start + length));
            }
        }
        None
    }
}
