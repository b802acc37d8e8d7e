//! Byte-identical copies among a batch's files: a dump copied into a folder twice is one
//! dump. Only files that share their size with another are hashed (the content hash a row
//! carries, [`crate::snapshot::file_content_hash`]), so a folder of distinct files costs one
//! `stat` per file.

use crate::analysis::batch::{SkippedInput, IDENTICAL_TO};
use rayon::prelude::*;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

/// `files` without the later copies of identical content, and those copies as skipped inputs
/// ("identical to FIRST"). Of identical files the first by path (as the report sorts them)
/// is kept, whatever order they were given in; empty files are never copies (each fails on
/// its own).
pub fn split_identical(files: &[PathBuf]) -> (Vec<PathBuf>, Vec<SkippedInput>) {
    // Sizes are read on all the batch's threads: a `stat` a file is most of this pass.
    let sizes: Vec<Option<u64>> = files
        .par_iter()
        .map(|path| {
            let metadata = std::fs::metadata(path).ok()?;
            (metadata.is_file() && metadata.len() > 0).then_some(metadata.len())
        })
        .collect();
    let mut by_size: HashMap<u64, Vec<usize>> = HashMap::new();
    for (index, size) in sizes.into_iter().enumerate() {
        if let Some(size) = size {
            by_size.entry(size).or_default().push(index);
        }
    }
    // Per content hash, the files that carry it (only of sizes met more than once).
    // Files of one size are told apart by a cheap fingerprint first; only those that still
    // match are hashed in full.
    let sized: Vec<(usize, u64)> = by_size
        .into_iter()
        .filter(|(_, indices)| indices.len() > 1)
        .flat_map(|(size, indices)| indices.into_iter().map(move |index| (index, size)))
        .collect();
    let mut by_print: HashMap<(u64, u64), Vec<usize>> = HashMap::new();
    let prints: Vec<(usize, Option<(u64, u64)>)> = sized
        .into_par_iter()
        .map(|(index, size)| (index, fingerprint(&files[index], size)))
        .collect();
    for (index, print) in prints {
        if let Some(print) = print {
            by_print.entry(print).or_default().push(index);
        }
    }
    let candidates: Vec<usize> = by_print
        .into_values()
        .filter(|indices| indices.len() > 1)
        .flatten()
        .collect();
    let hashes: Vec<(usize, Option<String>)> = candidates
        .into_par_iter()
        .map(|index| (index, crate::snapshot::file_content_hash(&files[index])))
        .collect();
    let mut by_hash: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (index, hash) in hashes {
        if let Some(hash) = hash {
            by_hash.entry(hash).or_default().push(index);
        }
    }
    let mut copy_of: BTreeMap<usize, usize> = BTreeMap::new();
    for mut indices in by_hash.into_values().filter(|indices| indices.len() > 1) {
        indices.sort_by_key(|&index| (files[index].display().to_string(), index));
        for &copy in &indices[1..] {
            copy_of.insert(copy, indices[0]);
        }
    }
    let mut kept = Vec::with_capacity(files.len() - copy_of.len());
    let mut skipped = Vec::with_capacity(copy_of.len());
    for (index, path) in files.iter().enumerate() {
        match copy_of.get(&index) {
            Some(&first) => skipped.push(SkippedInput {
                file: path.display().to_string(),
                reason: format!("{IDENTICAL_TO}{}", files[first].display()),
            }),
            None => kept.push(path.clone()),
        }
    }
    (kept, skipped)
}

/// Size and a fast (non-cryptographic) hash of the first and last 64 KiB of the file at
/// `path`, `size` bytes long: equal for identical files, and nearly always different for
/// different ones. A file no longer `size` bytes long fails its reads or hashes differently.
fn fingerprint(path: &std::path::Path, size: u64) -> Option<(u64, u64)> {
    use std::hash::{BuildHasher, Hasher};
    use std::io::{Read, Seek, SeekFrom};
    const PART: u64 = 64 << 10;
    let mut file = std::fs::File::open(path).ok()?;
    let mut hasher = foldhash::quality::FixedState::with_seed(0).build_hasher();
    let mut buffer = vec![0u8; PART.min(size) as usize];
    file.read_exact(&mut buffer).ok()?;
    hasher.write(&buffer);
    if size > PART {
        let tail = PART.min(size - PART);
        file.seek(SeekFrom::Start(size - tail)).ok()?;
        buffer.truncate(tail as usize);
        file.read_exact(&mut buffer).ok()?;
        hasher.write(&buffer);
    }
    Some((size, hasher.finish()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_by_path_is_kept_whatever_the_order_given() {
        let dir = tempfile::tempdir().unwrap();
        let dump =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/batch/cust-0c91.dmp");
        let other =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/batch/cust-18c7.dmp");
        let (a, b, c) = (
            dir.path().join("a.dmp"),
            dir.path().join("b.dmp"),
            dir.path().join("c.dmp"),
        );
        std::fs::copy(&dump, &a).unwrap();
        std::fs::copy(&dump, &c).unwrap();
        std::fs::copy(&other, &b).unwrap();
        let (empty1, empty2) = (dir.path().join("e1.dmp"), dir.path().join("e2.dmp"));
        std::fs::write(&empty1, b"").unwrap();
        std::fs::write(&empty2, b"").unwrap();
        let given = vec![
            c.clone(),
            b.clone(),
            a.clone(),
            empty1.clone(),
            empty2.clone(),
        ];
        let (kept, skipped) = split_identical(&given);
        assert_eq!(kept, vec![b, a.clone(), empty1, empty2]);
        assert_eq!(skipped.len(), 1);
        assert_eq!(skipped[0].file, c.display().to_string());
        assert_eq!(skipped[0].reason, format!("identical to {}", a.display()));
    }
}
