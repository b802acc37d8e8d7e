//! What is generated from the command-line definitions: shell completions and the man page
//! (`dumpleak generate`), and the usage summary of `dumpleak --help` (which README.md's
//! "Usage" block repeats; a test keeps the two equal).

use super::commands::{GenerateArgs, Generated};
use clap::{Arg, ArgAction, Command};
use clap_complete::Shell;
use dumpleak::Error;
use std::io::Write;
use std::process::ExitCode;

/// Widest line of the usage summary (clap wraps help text at 100 columns when it cannot ask
/// a terminal).
const SUMMARY_WIDTH: usize = 100;

/// The command that `dumpleak-NAME(1)` documents: the subcommand `name`, titled as the pages
/// dumpleak(1) lists.
fn man_page_of(command: &Command, name: &str) -> Result<Command, Error> {
    let sub = command
        .get_subcommands()
        .find(|sub| sub.get_name() == name && name != "help")
        .ok_or_else(|| {
            let names: Vec<&str> = command
                .get_subcommands()
                .map(|sub| sub.get_name())
                .filter(|name| *name != "help")
                .collect();
            Error::Usage(format!(
                "no subcommand `{}`; man pages: {}",
                dumpleak::sanitize::visible(name),
                names.join(", ")
            ))
        })?;
    Ok(sub
        .clone()
        .name(format!("dumpleak-{name}"))
        .bin_name(format!("dumpleak {name}"))
        .version(env!("CARGO_PKG_VERSION")))
}

/// `generate`: writes the completions or the man page to standard output.
pub fn run(args: &GenerateArgs) -> Result<ExitCode, Error> {
    let mut command = super::command();
    let mut out = Vec::new();
    let shell = match args.what {
        Generated::CompleteBash => Some(Shell::Bash),
        Generated::CompleteZsh => Some(Shell::Zsh),
        Generated::CompleteFish => Some(Shell::Fish),
        Generated::CompletePowershell => Some(Shell::PowerShell),
        Generated::Man => None,
    };
    if shell.is_some() && args.page.is_some() {
        return Err(Error::Usage(
            "a SUBCOMMAND goes with `generate man` only (completions cover every subcommand)"
                .to_string(),
        ));
    }
    let page = match &args.page {
        Some(name) => man_page_of(&command, name)?,
        None => command.clone(),
    };
    match shell {
        Some(shell) => clap_complete::generate(shell, &mut command, "dumpleak", &mut out),
        None => clap_mangen::Man::new(page)
            .render(&mut out)
            .map_err(|source| Error::Output {
                path: "standard output".into(),
                source,
            })?,
    }
    let text = String::from_utf8_lossy(&out);
    dumpleak::pipeline::output::write_report(None, &text)?;
    std::io::stdout().flush().ok();
    Ok(ExitCode::SUCCESS)
}

/// One line per subcommand with its arguments and own options, then one line per option
/// group (inputs, symbols, output, blame) that several subcommands share; lines wrap at
/// [`SUMMARY_WIDTH`] under their first argument.
pub fn usage_summary(command: &Command) -> String {
    let mut lines = Vec::new();
    let mut groups: Vec<(String, Vec<String>)> = Vec::new();
    let mut subcommands: Vec<&Command> = command.get_subcommands().collect();
    subcommands.sort_by_key(|sub| sub.get_display_order());
    for sub in subcommands {
        let mut words = vec![format!("dumpleak {}", sub.get_name())];
        let mut arguments: Vec<&Arg> = sub.get_arguments().collect();
        // Positionals first, in their order; then options as help lists them.
        arguments.sort_by_key(|arg| (!arg.is_positional(), arg.get_display_order()));
        for arg in arguments {
            if arg.is_hide_set() || matches!(arg.get_id().as_str(), "help" | "version") {
                continue;
            }
            let word = synopsis_word(arg);
            match arg.get_help_heading() {
                None => words.push(word),
                Some(heading) => {
                    let heading = heading.to_lowercase();
                    let at = match groups.iter().position(|(name, _)| *name == heading) {
                        Some(at) => at,
                        None => {
                            groups.push((heading, Vec::new()));
                            groups.len() - 1
                        }
                    };
                    if !groups[at].1.contains(&word) {
                        groups[at].1.push(word);
                    }
                }
            }
        }
        lines.push(wrapped(&words));
    }
    let label_width = groups.iter().map(|(name, _)| name.len() + 1).max();
    for (name, words) in groups {
        let label = format!("{name}:");
        let label = format!("{label:width$}", width = label_width.unwrap_or(0));
        let words: Vec<String> = std::iter::once(label).chain(words).collect();
        lines.push(wrapped(&words));
    }
    lines.join("\n") + "\n"
}

/// `INPUT`, `DUMPS|DIR…`, `[SUBCOMMAND]` (optional), `[--flag]`, `[--option VALUE]`, `[--name VALUE]…` (repeatable),
/// `[--redact[=WHAT]]` (optional value).
fn synopsis_word(arg: &Arg) -> String {
    let value = arg
        .get_value_names()
        .and_then(|names| names.first())
        .map_or_else(
            || arg.get_id().as_str().to_uppercase(),
            |name| name.to_string(),
        );
    let repeated = matches!(arg.get_action(), ArgAction::Append);
    let Some(long) = arg.get_long() else {
        let value = if repeated {
            format!("{value}…")
        } else {
            value
        };
        return if arg.is_required_set() {
            value
        } else {
            format!("[{value}]")
        };
    };
    let takes_value = arg.get_action().takes_values();
    let optional_value = arg
        .get_num_args()
        .is_some_and(|range| range.min_values() == 0);
    let word = match (takes_value, optional_value) {
        (false, _) => format!("[--{long}]"),
        (true, true) => format!("[--{long}[={value}]]"),
        (true, false) => format!("[--{long} {value}]"),
    };
    if repeated {
        word + "…"
    } else {
        word
    }
}

/// `words` joined by spaces, wrapped at [`SUMMARY_WIDTH`] with continuation lines indented
/// under the second word.
fn wrapped(words: &[String]) -> String {
    let indent = words.first().map_or(0, |first| first.chars().count() + 1);
    let mut out = String::new();
    let mut line_width = 0;
    for (index, word) in words.iter().enumerate() {
        let width = word.chars().count();
        if index > 0 && line_width + 1 + width > SUMMARY_WIDTH {
            out.push('\n');
            out.push_str(&" ".repeat(indent));
            line_width = indent;
        } else if index > 0 {
            out.push(' ');
            line_width += 1;
        }
        out.push_str(word);
        line_width += width;
    }
    out
}
