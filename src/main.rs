//! The `dumpleak` command line; its definitions and wiring are in `src/cli/`, the work in the
//! library.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
