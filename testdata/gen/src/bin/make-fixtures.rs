//! `make-fixtures [OUTDIR]` regenerates every fixture dump (default: the testdata directory).
//! `make-fixtures --facts` prints the facts the README documents.
//! `make-fixtures --batch-bench OUTDIR N` writes N small customer-style MailSvc.exe dumps into
//! OUTDIR for a `dumpleak batch` throughput benchmark (not committed anywhere).
//! `make-fixtures --large OUTDIR [GIB]` writes the large benchmark inputs (`large-a.dmp`,
//! `large-b.dmp`: 100,000 handles and 200,000 trace records; `small.dmp`; and sparse
//! full-memory twins of `large-b.dmp` and `small.dmp` with GIB (default 6) GiB of memory), not
//! committed anywhere.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let arg = std::env::args_os().nth(1);
    if arg.as_deref() == Some(std::ffi::OsStr::new("--batch-bench")) {
        return batch_bench(std::env::args_os().skip(2).collect());
    }
    if arg.as_deref() == Some(std::ffi::OsStr::new("--large")) {
        return large(std::env::args_os().skip(2).collect());
    }
    if arg.as_deref() == Some(std::ffi::OsStr::new("--facts")) {
        return match dumpleak_fixtures::scenarios::facts() {
            Ok(f) => {
                print!("{f}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("make-fixtures: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let outdir = arg
        .map(PathBuf::from)
        .unwrap_or_else(dumpleak_fixtures::default_testdata_dir);
    match dumpleak_fixtures::write_all(&outdir) {
        Ok(paths) => {
            for p in paths {
                let len = std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0);
                println!("{len:>8}  {}", p.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("make-fixtures: {e}");
            ExitCode::FAILURE
        }
    }
}

fn batch_bench(args: Vec<std::ffi::OsString>) -> ExitCode {
    let usage = "usage: make-fixtures --batch-bench OUTDIR N";
    let [outdir, n] = args.as_slice() else {
        eprintln!("{usage}");
        return ExitCode::FAILURE;
    };
    let Some(n) = n.to_str().and_then(|s| s.parse::<u32>().ok()) else {
        eprintln!("make-fixtures: N must be a number\n{usage}");
        return ExitCode::FAILURE;
    };
    let start = std::time::Instant::now();
    match dumpleak_fixtures::batch::write_bench(std::path::Path::new(outdir), n) {
        Ok(bytes) => {
            println!(
                "{n} dumps, {bytes} bytes in {} ({:.2} s)",
                PathBuf::from(outdir).display(),
                start.elapsed().as_secs_f64()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("make-fixtures: {e}");
            ExitCode::FAILURE
        }
    }
}

fn large(args: Vec<std::ffi::OsString>) -> ExitCode {
    let usage = "usage: make-fixtures --large OUTDIR [GIB]";
    let (outdir, gib) = match args.as_slice() {
        [outdir] => (outdir, Some(6)),
        [outdir, gib] => (outdir, gib.to_str().and_then(|s| s.parse::<u64>().ok())),
        _ => {
            eprintln!("{usage}");
            return ExitCode::FAILURE;
        }
    };
    let Some(gib) = gib.filter(|g| (1..=1024).contains(g)) else {
        eprintln!("make-fixtures: GIB must be a number from 1 to 1024\n{usage}");
        return ExitCode::FAILURE;
    };
    let start = std::time::Instant::now();
    match dumpleak_fixtures::large::write_large(std::path::Path::new(outdir), gib) {
        Ok(files) => {
            for (path, len) in files {
                println!("{len:>12}  {}", path.display());
            }
            eprintln!("({:.2} s)", start.elapsed().as_secs_f64());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("make-fixtures: {e}");
            ExitCode::FAILURE
        }
    }
}
