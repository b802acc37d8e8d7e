//! The line loop: a prompt closes the open section and its command opens the next; lines that
//! mean the same anywhere (`ModLoad:`, `CommandLine:`, the OS line, `|` output, event prefixes)
//! are read first; the rest go to the open section, or open one when they start a structure.

use super::super::fields::pid_label;
use super::handles::{starts_handle_output, HandleState};
use super::htrace::{is_htrace_start, HtraceState};
use super::modules::{file_name, is_lm_header, ModuleTable};
use super::WindbgLog;
use crate::warning::{Warning, WarningCode};

/// Splits a prompt off: `0:008> lmvm AcmeNet` → `lmvm AcmeNet`, `1:023:x86> !htrace` →
/// `!htrace` (with `x86` as the effective machine), `0: kd> !handle` → `!handle`.
pub fn split_prompt(line: &str) -> Option<(&str, Option<&str>)> {
    let line = line.trim_start();
    let gt = line.find('>')?;
    let prompt = &line[..gt];
    let command = line[gt + 1..].trim();
    if prompt == "kd"
        || prompt.ends_with(": kd")
            && prompt[..prompt.len() - 4]
                .bytes()
                .all(|b| b.is_ascii_digit())
    {
        return Some((command, None));
    }
    let mut fields = prompt.split(':');
    let process = fields.next()?;
    let thread = fields.next()?;
    let machine = fields.next();
    if fields.next().is_some()
        || process.is_empty()
        || thread.is_empty()
        || !process.bytes().all(|b| b.is_ascii_digit())
        || !thread.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    if let Some(machine) = machine {
        if machine.is_empty() || !machine.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return None;
        }
    }
    Some((command, machine))
}

/// The kind of output the lines belong to.
#[derive(Debug, Default)]
enum Section {
    #[default]
    None,
    Htrace,
    Handle,
    Lm,
}

/// What any part of the log may add while it is read.
#[derive(Debug, Default)]
pub(super) struct Findings {
    /// Notes for [`WindbgLog::notes`], in the order noticed.
    pub(super) notes: Vec<Warning>,
    /// Process ids in the order seen; the first one is the log's.
    pub(super) pids: Vec<u32>,
}

/// The parse in progress.
#[derive(Debug, Default)]
pub(super) struct Parser {
    /// The log being filled; what the sections read is moved in by [`Parser::finish`].
    log: WindbgLog,
    section: Section,
    htrace: HtraceState,
    handles: HandleState,
    modules: ModuleTable,
    found: Findings,
}

impl Parser {
    /// Reads line `number` (1-based).
    pub(super) fn line(&mut self, number: usize, raw: &str) {
        let line = raw.trim_end_matches(['\r', '\0']);
        let trimmed = line.trim();

        if let Some((command, machine)) = split_prompt(line) {
            self.close_section(number, true);
            if let Some(machine) = machine {
                if self.log.arch.is_none() {
                    self.log.arch = Some(machine.to_ascii_lowercase());
                }
            }
            self.command(number, command);
            return;
        }
        if self.global_line(trimmed) || self.section_line(number, line, trimmed) {
            return;
        }
        if matches!(self.section, Section::Htrace) {
            // The first line outside the htrace grammar ends the block.
            self.close_section(number, true);
        }
        if matches!(self.section, Section::None)
            && self.htrace.orphan_line(number, trimmed, &mut self.found)
        {
            return;
        }
        self.unprompted_start(number, line, trimmed);
    }

    /// Passes the line to the open section. Returns whether the line was taken.
    fn section_line(&mut self, number: usize, line: &str, trimmed: &str) -> bool {
        match self.section {
            Section::Htrace => self.htrace.line(number, trimmed, &mut self.found),
            Section::Handle => self.handles.line(line, trimmed),
            Section::Lm => self.modules.lm_line(trimmed),
            Section::None => false,
        }
    }

    /// Opens a section for a structure pasted without the command that printed it.
    fn unprompted_start(&mut self, number: usize, line: &str, trimmed: &str) {
        if is_htrace_start(trimmed) {
            self.close_section(number, true);
            self.section = Section::Htrace;
            self.htrace.line(number, trimmed, &mut self.found);
        } else if is_lm_header(trimmed) {
            self.close_section(number, true);
            self.section = Section::Lm;
        } else if starts_handle_output(trimmed) {
            self.close_section(number, true);
            self.section = Section::Handle;
            self.handles.line(line, trimmed);
        }
    }

    fn command(&mut self, number: usize, command: &str) {
        let mut words = command.split_whitespace();
        let Some(verb) = words.next() else {
            return;
        };
        let verb = verb.to_ascii_lowercase();
        let args: Vec<String> = words.map(str::to_ascii_lowercase).collect();
        if verb == "!htrace" {
            if self.htrace.command(number, command, &args) {
                self.section = Section::Htrace;
            }
        } else if verb == "!handle" {
            self.section = Section::Handle;
        } else if verb.starts_with("lm") {
            self.section = Section::Lm;
            self.modules.start_lm();
        }
    }

    /// Lines that mean the same wherever they appear. Returns whether the line was taken.
    fn global_line(&mut self, trimmed: &str) -> bool {
        if let Some(rest) = trimmed.strip_prefix("ModLoad:") {
            self.modules.modload(rest);
            return true;
        }
        if let Some(rest) = trimmed.strip_prefix("CommandLine:") {
            let command_line = rest.trim();
            if !command_line.is_empty() && self.log.command_line.is_none() {
                self.log.command_line = Some(command_line.to_owned());
            }
            return true;
        }
        if let Some(pid) = event_prefix_pid(trimmed) {
            self.found.pids.push(pid);
            return false;
        }
        self.os_line(trimmed) || self.process_list_line(trimmed)
    }

    /// The first `Windows 10 Version 19041 MP (8 procs) Free x64` line: OS version and arch.
    fn os_line(&mut self, trimmed: &str) -> bool {
        if !(trimmed.starts_with("Windows ")
            && (trimmed.contains(" Free ") || trimmed.contains(" Checked "))
            && self.log.os_version.is_none())
        {
            return false;
        }
        self.log.os_version = Some(trimmed.to_owned());
        // `… Free x64`, `… Free x86 compatible`, `… Free ARM64`.
        let arch = trimmed
            .split_whitespace()
            .skip_while(|word| *word != "Free" && *word != "Checked")
            .find_map(|word| match word.to_ascii_lowercase().as_str() {
                "x64" | "amd64" => Some("amd64"),
                "x86" => Some("x86"),
                "arm64" => Some("arm64"),
                _ => None,
            });
        if let Some(arch) = arch {
            self.log.arch = Some(arch.to_owned());
        }
        true
    }

    /// `|` output: `.  0  id: 1f3c  attach  name: C:\svc\OrderSync.exe` (tab-separated).
    fn process_list_line(&mut self, trimmed: &str) -> bool {
        if !((trimmed.starts_with(". ") || trimmed.starts_with("# ")) && trimmed.contains("id: ")) {
            return false;
        }
        let id = trimmed
            .split("id: ")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|id| u32::from_str_radix(id, 16).ok());
        if let Some(id) = id {
            self.found.pids.push(id);
        }
        if let Some(name) = trimmed.split("name: ").nth(1) {
            let name = name.trim();
            if !name.is_empty() && self.log.image_path.is_none() {
                self.log.image_path = Some(name.to_owned());
            }
        }
        id.is_some()
    }

    fn close_section(&mut self, number: usize, by_new_output: bool) {
        self.htrace.close(number, by_new_output, &mut self.found);
        self.handles.close();
        self.modules.close_lm();
        self.section = Section::None;
    }

    /// Closes what is open and settles the process facts.
    pub(super) fn finish(mut self, cut_last_line: bool) -> WindbgLog {
        if cut_last_line && !matches!(self.section, Section::None) {
            self.found.notes.push(Warning::new(
                WarningCode::LogIncomplete,
                "the log ends in the middle of a line",
            ));
        }
        self.close_section(usize::MAX, false);

        let Parser {
            mut log,
            htrace,
            handles,
            modules,
            mut found,
            ..
        } = self;
        log.htrace_blocks = htrace.into_blocks();
        (log.handle_summaries, log.handles) = handles.into_parts();
        if modules.dropped > 0 {
            found.notes.push(Warning::new(
                WarningCode::LogNote,
                format!(
                    "the log names more than {} modules; {} line(s) about further modules were ignored",
                    super::modules::MAX_LOG_MODULES,
                    modules.dropped
                ),
            ));
        }
        let (modules, first_exe) = modules.into_parts();
        log.modules = modules;
        log.notes = found.notes;
        log.process_id = main_pid(found.pids, &mut log.notes);
        settle_image(&mut log, first_exe);
        log
    }
}

/// The first process id seen; when others appear too, a warning shown first that names
/// them all and how to choose another.
fn main_pid(mut pids: Vec<u32>, notes: &mut Vec<Warning>) -> Option<u32> {
    let first = *pids.first()?;
    pids.sort_unstable();
    pids.dedup();
    if pids.len() > 1 {
        let list: Vec<String> = pids.iter().map(|pid| pid_label(*pid)).collect();
        // Before the notes on the blocks: which process is reported comes first.
        notes.insert(
            0,
            Warning::new(
            WarningCode::LogSessions,
            format!(
                "{SEVERAL_PIDS} ({}); reported: {} alone, not merged (choose another with --pid or --block)",
                list.join(", "),
                pid_label(first)
            ),
            ),
        );
    }
    Some(first)
}

/// How the warning about several process ids begins.
pub(super) const SEVERAL_PIDS: &str = "several process ids appear in the log";

/// Image path and name of the main module: the `|` output, else the command line, else the
/// first `.exe` of the `ModLoad:` lines (`first_exe`: name and path).
fn settle_image(log: &mut WindbgLog, first_exe: Option<(String, String)>) {
    let exe_from_command = log.command_line.as_deref().and_then(command_image);
    if log.image_path.is_none() {
        log.image_path = exe_from_command.or_else(|| {
            first_exe
                .as_ref()
                .map(|(_, path)| path.clone())
                .filter(|path| path.contains(['\\', '/']))
        });
    }
    log.image_name = log
        .image_path
        .as_deref()
        .map(|path| file_name(path).to_owned())
        .or_else(|| first_exe.map(|(name, _)| name));
}

/// The executable of a command line: quoted, or up to `.exe`, or the first word.
fn command_image(command_line: &str) -> Option<String> {
    let text = command_line.trim();
    if let Some(rest) = text.strip_prefix('"') {
        return rest.split('"').next().map(str::to_owned);
    }
    let lower = text.to_ascii_lowercase();
    if let Some(at) = lower.find(".exe") {
        return Some(text[..at + 4].to_owned());
    }
    text.split_whitespace().next().map(str::to_owned)
}

/// `(1f3c.2a10): Break instruction exception …` → 0x1f3c.
fn event_prefix_pid(line: &str) -> Option<u32> {
    let rest = line.strip_prefix('(')?;
    let close = rest.find("):")?;
    let (pid, tid) = rest[..close].split_once('.')?;
    if tid.is_empty() || !tid.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(pid, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::super::super::fields::assert_cases;
    use super::*;

    #[test]
    fn command_lines_name_their_executable() {
        let cases = [
            (
                r#""C:\Program Files\Acme\svc.exe" -k"#,
                r"C:\Program Files\Acme\svc.exe",
            ),
            (r"C:\svc\OrderSync.EXE /service", r"C:\svc\OrderSync.EXE"),
            ("notepad x.txt", "notepad"),
        ];
        assert_cases(|line| command_image(line).unwrap_or_default(), &cases);
        assert_eq!(command_image("   "), None);
    }

    #[test]
    fn event_prefixes_give_the_process_id() {
        let cases = [
            ("(1f3c.2a10): Break instruction exception", Some(0x1f3c)),
            ("(1f3c.): x", None),
            ("(1f3c.zz): x", None),
            ("1f3c.2a10: x", None),
        ];
        assert_cases(event_prefix_pid, &cases);
    }

    #[test]
    fn several_pids_keep_the_first_and_leave_a_note() {
        let mut notes = Vec::new();
        assert_eq!(main_pid(vec![], &mut notes), None);
        assert_eq!(main_pid(vec![0x20, 0x20], &mut notes), Some(0x20));
        assert!(notes.is_empty());
        assert_eq!(main_pid(vec![0x20, 0x10, 0x20], &mut notes), Some(0x20));
        let note = "several process ids appear in the log (16 (0x10), 32 (0x20)); reported: \
                    32 (0x20) alone, not merged (choose another with --pid or --block)";
        assert_eq!(notes, [Warning::new(WarningCode::LogSessions, note)]);
    }
}
