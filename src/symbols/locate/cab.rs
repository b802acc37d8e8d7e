//! Expanding compressed store files (`foo.pd_`): a CAB holding exactly the one file.

use std::fs::File;
use std::io::{self, Read, Seek, Write};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use tempfile::NamedTempFile;

/// Expands the CAB at `cab_path`, which must hold exactly one file named `expected`
/// (case-insensitively) of at most `max_bytes`, into a temporary file in `dir`.
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
    let [(name, size)] = entries.as_slice() else {
        return Err(format!(
            "it holds {} files, expected exactly {expected}",
            entries.len()
        ));
    };
    if name.to_lowercase() != expected.to_lowercase() {
        return Err(format!("it holds {name:?}, expected {expected}"));
    }
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
