//! `handle -v` output: comma-separated rows under a `Process,PID,Type,Handle,Name` header.
//! Fields are RFC 4180 CSV (a field in double quotes may hold commas, `""` is a quote).
//! Versions differ in their columns (some add the user, the share flags and the access mask,
//! some put the type after the handle), and some print a header that does not match their
//! rows: each row is mapped by its header where the two agree, an unquoted name with commas
//! taking the extra fields, and otherwise read by content (the pid is decimal, the handle hex
//! with `0x`, the type a word without a path separator, the name last).

/// The fields of one CSV line (RFC 4180): commas split fields except inside double quotes,
/// `""` inside quotes is one quote. A quote inside an unquoted field is kept as it is; an
/// unclosed quote runs to the end of the line.
pub fn split_fields(line: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        let mut field = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '"' if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    '"' => break,
                    c => field.push(c),
                }
            }
            // Text between the closing quote and the comma is kept, not dropped.
            while let Some(c) = chars.next_if(|c| *c != ',') {
                field.push(c);
            }
        } else {
            while let Some(c) = chars.next_if(|c| *c != ',') {
                field.push(c);
            }
        }
        fields.push(field);
        if chars.next().is_none() {
            return fields;
        }
    }
}

/// The columns of a header line, lower case; `None` when the line is no `handle -v` header.
pub fn header(trimmed: &str) -> Option<Vec<String>> {
    let columns: Vec<String> = split_fields(trimmed)
        .iter()
        .map(|column| column.trim().to_ascii_lowercase())
        .collect();
    let has = |name: &str| columns.iter().any(|column| column == name);
    (columns.len() >= 4 && columns[0] == "process" && has("pid") && has("handle"))
        .then_some(columns)
}

/// One row, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvRow {
    /// Image name.
    pub process: String,
    /// Process id.
    pub pid: u32,
    /// Handle value.
    pub handle: u64,
    /// Object type.
    pub type_name: String,
    /// Object name, when the row gives one.
    pub name: Option<String>,
    /// The user column, when there is one.
    pub user: Option<String>,
    /// The share flags column (`RW-`), when there is one and it is filled.
    pub share: Option<String>,
    /// The access mask column (`0x0012019F`), when there is one and it reads as hex.
    pub access: Option<u32>,
}

/// Reads a row under `columns`; `None` when it is no row of a listing.
pub fn row(columns: &[String], line: &str) -> Option<CsvRow> {
    let fields = split_fields(line);
    if fields.len() < 4 {
        return None;
    }
    by_header(columns, &fields).or_else(|| by_content(&fields))
}

fn hex_handle(field: &str) -> Option<u64> {
    let digits = field
        .trim()
        .strip_prefix("0x")
        .or_else(|| field.trim().strip_prefix("0X"))?;
    u64::from_str_radix(digits, 16).ok()
}

fn looks_like_type(field: &str) -> bool {
    let field = field.trim();
    field.starts_with(|c: char| c.is_ascii_uppercase())
        && field.len() <= 40
        && !field.contains(['\\', '/', ':', '.'])
        && hex_handle(field).is_none()
}

/// The row as its header names the columns, when every named column reads as it should.
/// More fields than columns are taken as commas in an unquoted name (the one free-text
/// column); fewer fields, or extra fields without a name column, do not match the header.
fn by_header(columns: &[String], fields: &[String]) -> Option<CsvRow> {
    let at = |name: &str| columns.iter().position(|column| column == name);
    let (pid, handle, kind) = (at("pid")?, at("handle")?, at("type")?);
    let name = at("name");
    let extra = fields.len().checked_sub(columns.len())?;
    if extra > 0 && name.is_none() {
        return None;
    }
    // The field of column `index`: columns after the name shift by the extra fields.
    let field = |index: usize| -> &str {
        match name {
            Some(name) if index > name => &fields[index + extra],
            _ => &fields[index],
        }
    };
    if !looks_like_type(field(kind)) {
        return None;
    }
    Some(CsvRow {
        process: field(0).trim().to_owned(),
        pid: field(pid).trim().parse().ok()?,
        handle: hex_handle(field(handle))?,
        type_name: field(kind).trim().to_owned(),
        name: name.and_then(|at| non_empty(&fields[at..=at + extra].join(","))),
        user: at("user").and_then(|at| non_empty(field(at))),
        share: at("share flags").and_then(|at| non_empty(field(at))),
        access: at("access")
            .and_then(|at| hex_handle(field(at)))
            .and_then(|mask| u32::try_from(mask).ok()),
    })
}

/// The row read by what its fields look like.
fn by_content(fields: &[String]) -> Option<CsvRow> {
    let pid_at = 1 + fields[1..].iter().position(|field| {
        !field.trim().is_empty() && field.trim().bytes().all(|b| b.is_ascii_digit())
    })?;
    let handle_at = pid_at
        + 1
        + fields[pid_at + 1..]
            .iter()
            .position(|field| hex_handle(field).is_some())?;
    let (type_at, name_from) = if fields
        .get(handle_at + 1)
        .is_some_and(|field| looks_like_type(field))
    {
        (handle_at + 1, handle_at + 2)
    } else if handle_at > pid_at + 1 && looks_like_type(&fields[handle_at - 1]) {
        (handle_at - 1, handle_at + 1)
    } else {
        return None;
    };
    let user = (pid_at + 1..handle_at)
        .find(|at| *at != type_at)
        .and_then(|at| non_empty(&fields[at]));
    Some(CsvRow {
        process: fields[0].trim().to_owned(),
        pid: fields[pid_at].trim().parse().ok()?,
        handle: hex_handle(&fields[handle_at])?,
        type_name: fields[type_at].trim().to_owned(),
        name: fields
            .get(name_from..)
            .and_then(|rest| non_empty(&rest.join(","))),
        user,
        share: None,
        access: None,
    })
}

fn non_empty(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_follow_their_header_or_their_content() {
        let columns = header("Process,PID,Type,Handle,Name").unwrap();
        let row1 = row(
            &columns,
            r"Viewer.exe,3600,File,0x00000050,C:\notes, draft.txt",
        )
        .unwrap();
        assert_eq!((row1.pid, row1.handle), (3600, 0x50));
        assert_eq!(row1.name.as_deref(), Some(r"C:\notes, draft.txt"));
        let row2 = row(
            &columns,
            r"Viewer.exe,3600,PC\ana,0x4C,Mutant,\BaseNamedObjects\L",
        )
        .unwrap();
        assert_eq!((row2.type_name.as_str(), row2.handle), ("Mutant", 0x4c));
        assert_eq!(row2.user.as_deref(), Some(r"PC\ana"));
        assert_eq!(row2.name.as_deref(), Some(r"\BaseNamedObjects\L"));
        let row3 = row(&columns, "Viewer.exe,3600,Event,0x44,").unwrap();
        assert_eq!(row3.name, None);
        assert!(header("Process,Count").is_none());
        assert!(row(&columns, "a,b,c,d").is_none());
    }

    #[test]
    fn quoted_fields_follow_rfc_4180() {
        let cases: [(&str, &[&str]); 5] = [
            ("a,b,,", &["a", "b", "", ""]),
            (r#""a, b",c"#, &["a, b", "c"]),
            (r#""say ""hi""",x"#, &[r#"say "hi""#, "x"]),
            (r#"a"b,c"#, &[r#"a"b"#, "c"]),
            (r#""open, end"#, &["open, end"]),
        ];
        for (line, want) in cases {
            assert_eq!(split_fields(line), want, "{line}");
        }
    }

    #[test]
    fn columns_after_the_name_are_mapped_by_the_header() {
        let columns = header("Process,PID,User,Handle,Type,Share Flags,Name,Access").unwrap();
        let line = r"Viewer.exe,3600,PC\ana,0x40,File,RW-,C:\Program Files\Viewer,0x00100020";
        let read = row(&columns, line).unwrap();
        assert_eq!(read.name.as_deref(), Some(r"C:\Program Files\Viewer"));
        assert_eq!(
            (read.share.as_deref(), read.access),
            (Some("RW-"), Some(0x100020))
        );
        let line = r#""Viewer, Beta.exe",3601,PC\ana,0x48,Mutant,,"\a""b",0x001F0001"#;
        let read = row(&columns, line).unwrap();
        assert_eq!(read.process, "Viewer, Beta.exe");
        assert_eq!(read.name.as_deref(), Some(r#"\a"b"#));
        let read = row(&columns, r"V.exe,1,u,0x44,Event,,,0x001F0003").unwrap();
        assert_eq!((read.name, read.share), (None, None));
        // An unquoted name with a comma takes the extra field; the access stays last.
        let read = row(&columns, r"V.exe,1,u,0x50,File,R--,C:\a, b.txt,0x1").unwrap();
        assert_eq!(
            (read.name.as_deref(), read.access),
            (Some(r"C:\a, b.txt"), Some(1))
        );
    }
}
