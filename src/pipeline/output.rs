//! Where reports go: standard output, or a file written through a temporary file in the
//! target's folder and renamed into place, so an interrupted run never leaves half a report
//! and an output that is one of the inputs is refused before anything is opened for writing.

use crate::error::{Error, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Refuses an output that is one of `inputs`: the same path once canonicalised, or the same
/// file under another name (a hard link or a symbolic link; device and inode on Unix, volume
/// and file index on Windows). Inputs are never modified.
pub fn refuse_overwriting_inputs(output: Option<&Path>, inputs: &[PathBuf]) -> Result<()> {
    let Some(output) = output else {
        return Ok(());
    };
    let canonical = output.canonicalize().ok();
    for input in inputs {
        let same_path = canonical.is_some() && input.canonicalize().ok() == canonical;
        let same_file = same_file_unopened(output, input);
        if same_path || same_file {
            return Err(Error::Usage(format!(
                "--output {} is the input {}; dumpleak never overwrites its inputs",
                output.display(),
                input.display()
            )));
        }
    }
    Ok(())
}

/// Leaves `output` out of the `files` a batch found when it is a report dumpleak wrote there
/// before (`batch D -o D/report.txt`, run again): a report is never an input, so it may be
/// replaced. Anything else at `output` stays among the files, and is then refused by
/// [`refuse_overwriting_inputs`].
pub fn leave_out_previous_report(output: Option<&Path>, files: &mut Vec<PathBuf>) {
    let Some(output) = output else {
        return;
    };
    // Only a regular file can be a report written before (opening a named pipe to look
    // would wait for a writer).
    if !std::fs::metadata(output).is_ok_and(|metadata| metadata.is_file()) {
        return;
    }
    let mut head = [0u8; 64];
    let read = std::fs::File::open(output).and_then(|mut file| {
        use std::io::Read;
        file.read(&mut head)
    });
    let Ok(read) = read else {
        return;
    };
    if !is_report(&head[..read]) {
        return;
    }
    files.retain(|file| !same_file_unopened(output, file));
}

/// Whether `a` and `b` name the same file, told without opening either where the platform
/// allows (opening a named pipe waits for the other end).
fn same_file_unopened(a: &Path, b: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let identity = |path: &Path| std::fs::metadata(path).map(|m| (m.dev(), m.ino())).ok();
        identity(a).is_some_and(|a| Some(a) == identity(b))
    }
    #[cfg(not(unix))]
    {
        same_file::is_same_file(a, b).unwrap_or(false)
    }
}

/// Whether a file starting with `head` is one of dumpleak's reports: its terminal or Markdown
/// title (`dumpleak batch: …`, `# dumpleak batch: …`), an HTML page or JSON.
fn is_report(head: &[u8]) -> bool {
    let text = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
    text.starts_with(b"dumpleak ")
        || text.starts_with(b"# dumpleak ")
        || crate::snapshot::sniff::other_kind(text).is_some_and(|kind| kind.contains("report"))
}

/// Writes `text` to `output` (through a temporary file and a rename), or to standard output.
/// A closed standard output (`| head`) is not an error; every other write failure is.
pub fn write_report(output: Option<&Path>, text: &str) -> Result<()> {
    let mut sink = LineSink::create(output)?;
    sink.write_all(text.as_bytes());
    sink.finish()
}

/// An output written piece by piece (JSONL lines as each dump finishes) that remembers its
/// first write failure instead of dropping lines silently; [`LineSink::finish`] reports it.
pub struct LineSink {
    target: Target,
    error: Option<std::io::Error>,
    path: PathBuf,
}

enum Target {
    /// Standard output, written in blocks ([`STDOUT_BUFFER`]) and flushed after a line that
    /// comes [`FLUSH_AFTER`] after the last flush, or after every line on a terminal: threads
    /// writing lines share the sink, and a system call a line under its lock made them wait
    /// for each other.
    Stdout {
        out: std::io::BufWriter<std::io::Stdout>,
        terminal: bool,
        flushed: std::time::Instant,
    },
    File(std::io::BufWriter<tempfile::NamedTempFile>),
    /// A file that is not a regular file (a device such as `/dev/null`, a named pipe): written
    /// in place, never replaced by a regular file.
    Device(std::io::BufWriter<std::fs::File>),
}

/// The block standard output is written in when it is not a terminal.
const STDOUT_BUFFER: usize = 64 * 1024;
/// At most this long between a line written and its reaching standard output (a reader
/// following a long batch sees its lines as they come).
const FLUSH_AFTER: std::time::Duration = std::time::Duration::from_millis(200);

impl LineSink {
    /// Standard output when `output` is `None`; a device or named pipe `output` itself;
    /// else a temporary file beside `output`, put in its place by [`LineSink::finish`].
    pub fn create(output: Option<&Path>) -> Result<LineSink> {
        let Some(path) = output else {
            use std::io::IsTerminal;
            let stdout = std::io::stdout();
            return Ok(LineSink {
                target: Target::Stdout {
                    terminal: stdout.is_terminal(),
                    out: std::io::BufWriter::with_capacity(STDOUT_BUFFER, stdout),
                    flushed: std::time::Instant::now(),
                },
                error: None,
                path: PathBuf::from("standard output"),
            });
        };
        let output_error = |source| Error::Output {
            path: path.to_path_buf(),
            source,
        };
        if std::fs::metadata(path).is_ok_and(|existing| !existing.is_file() && !existing.is_dir()) {
            let device = std::fs::OpenOptions::new()
                .write(true)
                .open(path)
                .map_err(output_error)?;
            return Ok(LineSink {
                target: Target::Device(std::io::BufWriter::new(device)),
                error: None,
                path: path.to_path_buf(),
            });
        }
        let folder = match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        let mut builder = tempfile::Builder::new();
        builder.prefix(".dumpleak-report-");
        // A report is an ordinary file: created as `open` would create it (0666 less the
        // umask), not with a temporary file's 0600.
        #[cfg(unix)]
        builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
        let file = builder.tempfile_in(folder).map_err(output_error)?;
        // A report written again keeps the permissions its file was given.
        if let Ok(existing) = std::fs::metadata(path) {
            if existing.is_file() {
                // Best effort: a report with default permissions is no reason to fail.
                let _ = file.as_file().set_permissions(existing.permissions());
            }
        }
        Ok(LineSink {
            target: Target::File(std::io::BufWriter::new(file)),
            error: None,
            path: path.to_path_buf(),
        })
    }

    /// Writes `bytes` unless an earlier write failed.
    pub fn write_all(&mut self, bytes: &[u8]) {
        if self.error.is_some() {
            return;
        }
        let result = match &mut self.target {
            Target::Stdout { out, .. } => out.write_all(bytes),
            Target::File(file) => file.write_all(bytes),
            Target::Device(device) => device.write_all(bytes),
        };
        if let Err(error) = result {
            self.error = Some(error);
        }
    }

    /// The first write failure, as a new error of the same kind.
    fn failure(&self) -> Option<std::io::Error> {
        self.error
            .as_ref()
            .map(|error| std::io::Error::new(error.kind(), error.to_string()))
    }

    /// Writes one line (`text` and a newline).
    pub fn write_line(&mut self, text: &str) {
        self.write_all(text.as_bytes());
        self.write_all(b"\n");
        if let Target::Stdout {
            out,
            terminal,
            flushed,
        } = &mut self.target
        {
            if self.error.is_none() && (*terminal || flushed.elapsed() >= FLUSH_AFTER) {
                *flushed = std::time::Instant::now();
                if let Err(error) = out.flush() {
                    self.error = Some(error);
                }
            }
        }
    }

    /// Flushes and puts the file in place; the first write failure, if any, is the error.
    pub fn finish(self) -> Result<()> {
        let output_error = |source| Error::Output {
            path: self.path.clone(),
            source,
        };
        match self.target {
            Target::Stdout { mut out, .. } => {
                let result = match self.error {
                    Some(error) => Err(error),
                    None => out.flush(),
                };
                match result {
                    Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                    other => other.map_err(output_error),
                }
            }
            Target::File(file) => {
                if let Some(error) = self.error {
                    return Err(output_error(error));
                }
                let file = file
                    .into_inner()
                    .map_err(|error| output_error(error.into_error()))?;
                file.as_file().sync_all().map_err(output_error)?;
                file.persist(&self.path)
                    .map_err(|error| output_error(error.error))?;
                Ok(())
            }
            Target::Device(mut device) => match self.error {
                Some(error) => Err(output_error(error)),
                None => device.flush().map_err(output_error),
            },
        }
    }
}

/// A serialiser writing into the sink stops at its first failure, which [`LineSink::finish`]
/// reports.
impl Write for LineSink {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.write_all(bytes);
        match self.failure() {
            Some(error) => Err(error),
            None => Ok(bytes.len()),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.failure().map_or(Ok(()), Err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_input_is_refused_as_output_under_any_name() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("a.dmp");
        std::fs::write(&input, b"MDMP").unwrap();
        let inputs = [input.clone()];
        assert!(refuse_overwriting_inputs(Some(&input), &inputs).is_err());
        let dotted = dir.path().join(".").join("a.dmp");
        assert!(refuse_overwriting_inputs(Some(&dotted), &inputs).is_err());
        let hard = dir.path().join("hard.html");
        std::fs::hard_link(&input, &hard).unwrap();
        assert!(refuse_overwriting_inputs(Some(&hard), &inputs).is_err());
        let other = dir.path().join("report.html");
        assert!(refuse_overwriting_inputs(Some(&other), &inputs).is_ok());
        std::fs::write(&other, b"old").unwrap();
        assert!(refuse_overwriting_inputs(Some(&other), &inputs).is_ok());
        assert_eq!(std::fs::read(&input).unwrap(), b"MDMP");
    }

    #[test]
    fn reports_appear_whole_and_write_failures_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("report.jsonl");
        let mut sink = LineSink::create(Some(&target)).unwrap();
        sink.write_line("{\"kind\":\"dump\"}");
        assert!(
            !target.exists(),
            "nothing under the final name before finish"
        );
        sink.finish().unwrap();
        assert_eq!(
            std::fs::read_to_string(&target).unwrap(),
            "{\"kind\":\"dump\"}\n"
        );
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .filter(|entry| entry.file_name() != "report.jsonl")
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
        assert!(write_report(Some(&dir.path().join("missing/r.txt")), "x").is_err());
    }

    #[cfg(unix)]
    #[test]
    fn reports_get_ordinary_permissions_and_keep_those_of_the_file_they_replace() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        let dir = tempfile::tempdir().unwrap();
        // What `open` gives a new file under this process's umask.
        let reference = dir.path().join("reference");
        std::fs::File::create(&reference).unwrap();
        let report = dir.path().join("report.txt");
        write_report(Some(&report), "x").unwrap();
        assert_eq!(mode(&report), mode(&reference));
        std::fs::set_permissions(&report, std::fs::Permissions::from_mode(0o640)).unwrap();
        write_report(Some(&report), "y").unwrap();
        assert_eq!(mode(&report), 0o640);
        assert_eq!(std::fs::read_to_string(&report).unwrap(), "y");
    }
}
