//! `handle -v` output: comma-separated rows under a `Process,PID,Type,Handle,Name` header.
//! Versions differ in their columns (some add the user, some put the type after the handle),
//! and some print a header that does not match their rows: each row is checked against its
//! header and, where they disagree, read by content (the pid is decimal, the handle hex with
//! `0x`, the type a word without a path separator, the name last and possibly with commas).

/// The columns of a header line, lower case; `None` when the line is no `handle -v` header.
pub fn header(trimmed: &str) -> Option<Vec<String>> {
    let columns: Vec<String> = trimmed
        .split(',')
        .map(|column| column.trim().trim_matches('"').to_ascii_lowercase())
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
}

/// Reads a row under `columns`; `None` when it is no row of a listing.
pub fn row(columns: &[String], line: &str) -> Option<CsvRow> {
    let fields: Vec<&str> = line
        .split(',')
        .map(|field| field.trim_matches('"'))
        .collect();
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
fn by_header(columns: &[String], fields: &[&str]) -> Option<CsvRow> {
    let at = |name: &str| columns.iter().position(|column| column == name);
    let (pid, handle, kind) = (at("pid")?, at("handle")?, at("type")?);
    let name = at("name");
    // The name is the last column and may hold commas: more fields than columns only then.
    if fields.len() < columns.len()
        || (fields.len() > columns.len() && name != Some(columns.len() - 1))
    {
        return None;
    }
    if !looks_like_type(fields[kind]) {
        return None;
    }
    Some(CsvRow {
        process: fields[0].trim().to_owned(),
        pid: fields[pid].trim().parse().ok()?,
        handle: hex_handle(fields[handle])?,
        type_name: fields[kind].trim().to_owned(),
        name: name.and_then(|at| non_empty(&fields[at..].join(","))),
        user: at("user").and_then(|at| non_empty(fields[at])),
    })
}

/// The row read by what its fields look like.
fn by_content(fields: &[&str]) -> Option<CsvRow> {
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
    } else if handle_at > pid_at + 1 && looks_like_type(fields[handle_at - 1]) {
        (handle_at - 1, handle_at + 1)
    } else {
        return None;
    };
    let user = (pid_at + 1..handle_at)
        .find(|at| *at != type_at)
        .and_then(|at| non_empty(fields[at]));
    Some(CsvRow {
        process: fields[0].trim().to_owned(),
        pid: fields[pid_at].trim().parse().ok()?,
        handle: hex_handle(fields[handle_at])?,
        type_name: fields[type_at].trim().to_owned(),
        name: fields
            .get(name_from..)
            .and_then(|rest| non_empty(&rest.join(","))),
        user,
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
}
