//! Logs of several debugger sessions (two dumps opened one after the other, two processes
//! attached): one session is reported, never a merge, with a warning naming them all.

use super::super::fields::pid_label;
use super::WindbgLog;
use crate::warning::{Warning, WarningCode};

/// The session to report and the block to take in it. `pid` picks the session of that
/// process, `block` (0-based over the whole log) the session holding that block; by default
/// the last session. When the log holds several sessions a [`WarningCode::LogSessions`]
/// warning names them. `Err` says why `block` or `pid` selects nothing.
pub fn choose_session(
    mut log: WindbgLog,
    pid: Option<u32>,
    block: Option<usize>,
) -> Result<(WindbgLog, Option<usize>), String> {
    let earlier = std::mem::take(&mut log.earlier_sessions);
    let mut sessions = earlier;
    sessions.push(log);
    let total_blocks: usize = sessions.iter().map(|s| s.htrace_blocks.len()).sum();
    if let Some(block) = block {
        if block >= total_blocks {
            return Err(format!(
                "--block {block}: the log has {total_blocks} !htrace blocks (0-based)"
            ));
        }
    }
    let chosen = match (pid, block) {
        (_, Some(block)) => {
            let (mut index, mut first) = (0, 0);
            while first + sessions[index].htrace_blocks.len() <= block {
                first += sessions[index].htrace_blocks.len();
                index += 1;
            }
            (index, Some(block - first))
        }
        (Some(pid), None) => match sessions.iter().rposition(|s| session_pid(s) == Some(pid)) {
            Some(index) => (index, None),
            // Else the last block of that process in any session; not found: the last
            // session, which the caller then refuses for its pid.
            None => block_of_pid(&sessions, pid).unwrap_or((sessions.len() - 1, None)),
        },
        (None, None) => (sessions.len() - 1, None),
    };
    let warning = (sessions.len() > 1).then(|| sessions_warning(&sessions, chosen.0));
    let mut session = sessions.swap_remove(chosen.0);
    session.notes.extend(warning);
    let block = chosen.1;
    split_processes(&mut session, pid, block);
    Ok((session, block))
}

/// The session and block (within the session) of the last `!htrace` block whose records are
/// of process `pid`.
fn block_of_pid(sessions: &[WindbgLog], pid: u32) -> Option<(usize, Option<usize>)> {
    sessions
        .iter()
        .enumerate()
        .rev()
        .find_map(|(index, session)| {
            let blocks = &session.htrace_blocks;
            let block = blocks
                .iter()
                .rposition(|block| super::block_pid(block) == Some(pid))?;
            Some((index, Some(block)))
        })
}

/// One session whose `!handle` output is of one process (the one its event lines name) and
/// whose chosen `!htrace` block is of another (its records say): the two are reported apart,
/// the block's process unless `pid` names the other, with a warning naming both.
fn split_processes(session: &mut WindbgLog, pid: Option<u32>, block: Option<usize>) {
    let (Some(handle_pid), Some(trace_pid)) = (
        session.process_id,
        session.select_block(block).and_then(super::block_pid),
    ) else {
        return;
    };
    let has_handle_output = !(session.handles.is_empty() && session.handle_summaries.is_empty());
    if handle_pid == trace_pid || !has_handle_output {
        return;
    }
    let handles_chosen = pid == Some(handle_pid);
    let (handle_label, trace_label) = (pid_label(handle_pid), pid_label(trace_pid));
    let reported = if handles_chosen {
        session.htrace_blocks.clear();
        format!("the !handle output (pid {handle_label}) alone; --pid {trace_pid} reports the !htrace block")
    } else {
        session.handles.clear();
        session.handle_summaries.clear();
        format!("the !htrace block (pid {trace_label}) alone; --pid {handle_pid} reports the !handle output")
    };
    session.notes.push(Warning::new(
        WarningCode::LogSessions,
        format!(
            "the log's !handle output is of process {handle_label} (its debugger events) and its !htrace records are of process {trace_label}: they are not one process and are not merged; reported: {reported}"
        ),
    ));
}

/// The process of a session: the pid its `-diff` (else last) block's records give, else the
/// one its event lines give.
fn session_pid(session: &WindbgLog) -> Option<u32> {
    session
        .select_block(None)
        .and_then(super::block_pid)
        .or(session.process_id)
}

fn sessions_warning(sessions: &[WindbgLog], chosen: usize) -> Warning {
    let describe = |session: &WindbgLog| {
        let pid = session_pid(session).map_or("unknown pid".to_owned(), |pid| {
            format!("pid {}", pid_label(pid))
        });
        format!("{pid} from line {}", session.session_line)
    };
    let all: Vec<String> = sessions.iter().map(describe).collect();
    Warning::new(
        WarningCode::LogSessions,
        format!(
            "the log holds {} debugger sessions ({}); reported: the one with {}, alone (choose another with --pid or --block)",
            sessions.len(),
            all.join("; "),
            describe(&sessions[chosen])
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::super::parse_windbg_log;
    use super::*;

    const TWO: &str = "Loading Dump File [a.dmp]\n0:000> !htrace\nHandle = 0x10 - OPEN\n\
Thread ID = 0x1, Process ID = 0xa\n0x7ffb0a98e1d4: ntdll!NtCreateEvent+0x14\n\
Loading Dump File [b.dmp]\n0:000> !htrace\nHandle = 0x20 - OPEN\n\
Thread ID = 0x2, Process ID = 0xb\n0x7ffb0a98e1d4: ntdll!NtCreateEvent+0x14\n";

    fn handles(log: &WindbgLog) -> Vec<u64> {
        let blocks = &log.htrace_blocks;
        blocks
            .iter()
            .flat_map(|b| &b.records)
            .map(|r| r.handle)
            .collect()
    }

    #[test]
    fn sessions_are_chosen_by_pid_block_or_last() {
        let log = parse_windbg_log(TWO);
        assert_eq!(log.earlier_sessions.len(), 1);
        let (last, block) = choose_session(log.clone(), None, None).unwrap();
        assert_eq!((handles(&last), block), (vec![0x20], None));
        assert_eq!(last.notes.last().unwrap().code, WarningCode::LogSessions);
        let (first, _) = choose_session(log.clone(), Some(0xa), None).unwrap();
        assert_eq!(handles(&first), [0x10]);
        let (second, block) = choose_session(log.clone(), None, Some(1)).unwrap();
        assert_eq!((handles(&second), block), (vec![0x20], Some(0)));
        assert!(choose_session(log, None, Some(2)).is_err());
    }

    #[test]
    fn one_session_gives_no_warning() {
        let log = parse_windbg_log("0:000> !htrace\nHandle = 0x10 - OPEN\n");
        let (log, _) = choose_session(log, None, None).unwrap();
        assert!(log
            .notes
            .iter()
            .all(|note| note.code != WarningCode::LogSessions));
    }
}
