//! `make-fixtures [OUTDIR]` regenerates every fixture dump (default: the testdata directory).
//! `make-fixtures --facts` prints the facts the README documents.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let arg = std::env::args_os().nth(1);
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
