//! Expanding compressed store files (`foo.pd_`, or a CAB stored under the plain name).

use std::fs::File;
use std::io::{self, Read, Seek, Write};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use tempfile::NamedTempFile;

/// Whether the file at `path` starts like a cabinet (`MSCF`): stores hold compressed files
/// under the plain name too.
pub(super) fn is_cabinet(path: &Path) -> bool {
    let mut magic = [0u8; 4];
    File::open(path)
        .and_then(|mut file| file.read_exact(&mut magic))
        .is_ok_and(|()| &magic == b"MSCF")
}

/// Expands the CAB at `cab_path` into a temporary file in `dir`: its only file, or the one
/// named `expected` (case-insensitively) among several, of at most `max_bytes`. The caller
/// checks that what comes out is the file it asked for.
pub(super) fn expand(
    cab_path: &Path,
    expected: &str,
    dir: &Path,
    max_bytes: u64,
) -> Result<NamedTempFile, String> {
    let describe = |message: String| format!("cannot expand {}: {message}", cab_path.display());
    let file = File::open(cab_path).map_err(|error| describe(error.to_string()))?;
    let mut out = NamedTempFile::with_prefix_in(".expand-", dir).map_err(|error| {
        describe(format!(
            "cannot create a file in {}: {error}",
            dir.display()
        ))
    })?;
    // The cab crate parses data from the network: a panic on a malformed cabinet is an error.
    catch_unwind(AssertUnwindSafe(|| {
        expand_into(file, expected, max_bytes, out.as_file_mut())
    }))
    .unwrap_or_else(|_| Err("malformed cabinet".to_string()))
    .map_err(describe)?;
    Ok(out)
}

fn expand_into<R: Read + Seek>(
    reader: R,
    expected: &str,
    max_bytes: u64,
    out: &mut File,
) -> Result<(), String> {
    let mut cabinet =
        cab::Cabinet::new(reader).map_err(|error| format!("not a valid cabinet: {error}"))?;
    let entries: Vec<(String, u64)> = cabinet
        .folder_entries()
        .flat_map(|folder| folder.file_entries())
        .map(|file| (file.name().to_string(), u64::from(file.uncompressed_size())))
        .collect();
    // The member is usually named like the file, but stores also hold cabinets made from a
    // file of another name (`crash_v2.pdb` stored as `crash.pd_`): one member is taken
    // whatever its name, as its identity is checked after expanding.
    let (name, size) = match entries.as_slice() {
        [only] => only,
        several => several
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(expected))
            .ok_or_else(|| format!("it holds {} files, none of them {expected}", several.len()))?,
    };
    if *size > max_bytes {
        return Err(format!(
            "{name} is {size} bytes, over the {max_bytes}-byte limit"
        ));
    }
    let reader = cabinet
        .read_file(name)
        .map_err(|error| format!("cannot read {name}: {error}"))?;
    let copied = io::copy(&mut reader.take(max_bytes + 1), out)
        .and_then(|copied| out.flush().map(|()| copied))
        .map_err(|error| format!("cannot decompress {name}: {error}"))?;
    if copied > max_bytes {
        return Err(format!("{name} is over the {max_bytes}-byte limit"));
    }
    Ok(())
}
