//! Which inputs form the series, in which order, and where the process restarted: pure
//! decisions on a few facts per input ([`InputFacts`]), so that they can be tested without
//! dumps.
//!
//! 1. **Order** ([`Order`]): by capture time when every input has one (ties keep the given
//!    order); otherwise as given — files in command-line order, the files of a directory by
//!    name, which changes the conclusion when the names do not sort in time order and is said
//!    first. `--order given` keeps the given order whatever the times say; `--order time`
//!    refuses inputs without a capture time.
//! 2. **Program**: the image most inputs belong to (on a tie, the image of the input given
//!    first: on the command line, or by name in a directory); the inputs of other programs
//!    are left out, named in a `different-program` warning shown first.
//! 3. **Processes** of that program (pid and start time): each is a run; runs that follow one
//!    another (one's dumps all after the other's, and started after the other's last dump) are
//!    the segments of a restarted series. A run that overlaps another — a second instance
//!    running at the same time — is left out, the larger run (then the earlier) kept.

use super::{Order, OrderUsed};
use crate::snapshot::Snapshot;
use crate::time::iso8601;
use crate::warning::{Warning, WarningCode};
use std::collections::BTreeMap;
use std::path::Path;

/// What ordering and segmentation need to know about one input.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InputFacts {
    /// The file.
    pub path: String,
    /// Capture time, seconds since 1970.
    pub captured_at: Option<u64>,
    /// Process id.
    pub pid: Option<u32>,
    /// Process start time, seconds since 1970.
    pub started_at: Option<u64>,
    /// Process image name.
    pub image: Option<String>,
    /// The directory the input was found in, when the command line named the directory
    /// rather than the file.
    pub from_dir: Option<String>,
}

impl InputFacts {
    /// The facts of a loaded snapshot; `from_dir` as above.
    pub fn of(snapshot: &Snapshot, from_dir: Option<&Path>) -> InputFacts {
        InputFacts {
            path: snapshot.source.display().to_string(),
            captured_at: snapshot.captured_at,
            pid: snapshot.process.pid,
            started_at: snapshot.process.started_at,
            image: snapshot.process.image_name.clone(),
            from_dir: from_dir.map(|dir| dir.display().to_string()),
        }
    }

    /// `Indexer.exe pid 7300 started 2026-03-02T15:00:00Z`.
    fn process(&self) -> String {
        format!(
            "{} pid {} started {}",
            self.image.as_deref().unwrap_or("?"),
            self.pid.map_or("?".to_string(), |pid| pid.to_string()),
            self.started_at.map_or("?".to_string(), iso8601)
        )
    }

    fn file_name(&self) -> &str {
        Path::new(&self.path)
            .file_name()
            .and_then(|name| name.to_str())
            .unwrap_or(&self.path)
    }
}

/// The series decided: its order, its segments and what was left out.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// How the inputs were ordered.
    pub order: OrderUsed,
    /// Indices into the inputs, one list per segment (run of the process), in series order.
    pub segments: Vec<Vec<usize>>,
    /// Inputs left out: index and reason.
    pub excluded: Vec<(usize, String)>,
    /// What the order and the restarts mean for the conclusion.
    pub warnings: Vec<Warning>,
}

/// Decides the series (see the module documentation); `Err` is a usage error (`--order time`
/// with inputs that have no capture time).
pub fn plan(inputs: &[InputFacts], order: Order) -> Result<Plan, String> {
    let (ordered, order, mut warnings) = order_inputs(inputs, order)?;
    let mut excluded = Vec::new();
    let (program, different) = one_program(inputs, &ordered, &mut excluded);
    if let Some(different) = different {
        warnings.insert(0, different);
    }
    let runs = runs(inputs, &program);
    let segments = segments(inputs, runs, &mut excluded);
    for pair in segments.windows(2) {
        let (before, after) = (&inputs[pair[0][pair[0].len() - 1]], &inputs[pair[1][0]]);
        warnings.push(Warning::new(
            WarningCode::ProcessRestarted,
            format!(
                "the process restarted: {} is {}, {} is {}; the series is split there and each \
                 segment is analysed on its own",
                before.file_name(),
                before.process(),
                after.file_name(),
                after.process()
            ),
        ));
    }
    excluded.sort();
    Ok(Plan {
        order,
        segments,
        excluded,
        warnings,
    })
}

/// The inputs in series order (indices), the order used and what to say about it.
fn order_inputs(
    inputs: &[InputFacts],
    order: Order,
) -> Result<(Vec<usize>, OrderUsed, Vec<Warning>), String> {
    let given: Vec<usize> = (0..inputs.len()).collect();
    let untimed: Vec<&InputFacts> = inputs
        .iter()
        .filter(|input| input.captured_at.is_none())
        .collect();
    let by_time = || {
        let mut sorted = given.clone();
        sorted.sort_by_key(|&index| inputs[index].captured_at);
        sorted
    };
    match order {
        Order::Time if !untimed.is_empty() => Err(format!(
            "--order time: {} of {} inputs have no capture time ({})",
            untimed.len(),
            inputs.len(),
            names(&untimed)
        )),
        Order::Time => Ok((by_time(), OrderUsed::Time, Vec::new())),
        Order::Auto if untimed.is_empty() => Ok((by_time(), OrderUsed::Time, Vec::new())),
        Order::Given => {
            let warnings = out_of_time_order(inputs).into_iter().collect();
            Ok((given, OrderUsed::Given, warnings))
        }
        Order::Auto => {
            let mut dirs: Vec<&str> = inputs
                .iter()
                .filter_map(|input| input.from_dir.as_deref())
                .collect();
            dirs.dedup();
            if dirs.is_empty() {
                return Ok((given, OrderUsed::Given, Vec::new()));
            }
            let warning = Warning::new(
                WarningCode::OrderByName,
                format!(
                    "the dumps are in file-name order: {} of {} inputs have no capture time, so \
                     the files of {} are taken by name; if the names do not sort in the order \
                     the dumps were taken, name the files on the command line in that order",
                    untimed.len(),
                    inputs.len(),
                    dirs.join(", ")
                ),
            );
            Ok((given, OrderUsed::Name, vec![warning]))
        }
    }
}

/// With `--order given`: the first dump captured before the one given ahead of it.
fn out_of_time_order(inputs: &[InputFacts]) -> Option<Warning> {
    inputs.windows(2).find_map(|pair| {
        let (Some(earlier), Some(later)) = (pair[0].captured_at, pair[1].captured_at) else {
            return None;
        };
        (later < earlier).then(|| {
            Warning::new(
                WarningCode::OrderNotTime,
                format!(
                    "--order given keeps an order that is not the capture-time order: {} \
                     (captured {}) comes after {} (captured {}); capture times are not used for \
                     rates",
                    pair[1].file_name(),
                    iso8601(later),
                    pair[0].file_name(),
                    iso8601(earlier)
                ),
            )
        })
    })
}

fn names(inputs: &[&InputFacts]) -> String {
    const SHOWN: usize = 3;
    let mut text: Vec<&str> = inputs.iter().take(SHOWN).map(|i| i.file_name()).collect();
    if inputs.len() > SHOWN {
        text.push("…");
    }
    text.join(", ")
}

/// The inputs (series order) of the program most inputs belong to — on a tie, the program of
/// the input given first — and, when inputs of other programs are left out, the warning that
/// names them, shown first.
fn one_program(
    inputs: &[InputFacts],
    ordered: &[usize],
    excluded: &mut Vec<(usize, String)>,
) -> (Vec<usize>, Option<Warning>) {
    let image = |index: usize| inputs[index].image.as_ref().map(|name| name.to_lowercase());
    // Image → (inputs, first input given: its index).
    let mut programs: BTreeMap<Option<String>, (usize, usize)> = BTreeMap::new();
    for &index in ordered {
        let entry = programs.entry(image(index)).or_insert((0, index));
        entry.0 += 1;
        entry.1 = entry.1.min(index);
    }
    let chosen = programs
        .iter()
        .max_by(|(_, (count_a, first_a)), (_, (count_b, first_b))| {
            count_a.cmp(count_b).then(first_b.cmp(first_a))
        })
        .map(|(image, &(count, _))| (image.clone(), count));
    let Some((chosen, count)) = chosen else {
        return (Vec::new(), None);
    };
    let chosen_input = ordered
        .iter()
        .copied()
        .filter(|&index| image(index) == chosen)
        .min()
        .map(|index| &inputs[index]);
    let series_process = chosen_input.map(InputFacts::process).unwrap_or_default();
    let mut kept = Vec::new();
    let mut others: Vec<&InputFacts> = Vec::new();
    for &index in ordered {
        if image(index) == chosen {
            kept.push(index);
        } else {
            others.push(&inputs[index]);
            excluded.push((
                index,
                format!(
                    "another program ({}), not the series' {series_process}",
                    inputs[index].process()
                ),
            ));
        }
    }
    let warning = (!others.is_empty()).then(|| {
        let program = chosen_input
            .and_then(|input| input.image.as_deref())
            .unwrap_or("an unnamed program");
        let tie = programs.values().filter(|(n, _)| *n == count).count() > 1;
        // Grouped by process, in series order.
        let mut groups: Vec<(String, Vec<&InputFacts>)> = Vec::new();
        for input in &others {
            match groups
                .iter_mut()
                .find(|(process, _)| *process == input.process())
            {
                Some((_, members)) => members.push(input),
                None => groups.push((input.process(), vec![input])),
            }
        }
        let left_out: Vec<String> = groups
            .iter()
            .map(|(process, members)| format!("{process} ({})", names(members)))
            .collect();
        Warning::new(
            WarningCode::DifferentProgram,
            format!(
                "inputs of another program left out: {}; the series is of {program}, the \
                 program of the most inputs ({count} of {}{})",
                left_out.join(", "),
                ordered.len(),
                if tie {
                    "; on a tie, the program of the first input given"
                } else {
                    ""
                }
            ),
        )
    });
    (kept, warning)
}

/// One process of the program: its inputs in series order.
struct Run {
    members: Vec<usize>,
    /// Positions in the series order of its first and last input.
    first: usize,
    last: usize,
}

/// The runs of `program` (indices in series order), largest first, then earliest.
fn runs(inputs: &[InputFacts], program: &[usize]) -> Vec<Run> {
    let mut by_process: BTreeMap<(Option<u32>, Option<u64>), Run> = BTreeMap::new();
    for (position, &index) in program.iter().enumerate() {
        let input = &inputs[index];
        let run = by_process
            .entry((input.pid, input.started_at))
            .or_insert(Run {
                members: Vec::new(),
                first: position,
                last: position,
            });
        run.members.push(index);
        run.last = position;
    }
    let mut runs: Vec<Run> = by_process.into_values().collect();
    runs.sort_by(|a, b| {
        b.members
            .len()
            .cmp(&a.members.len())
            .then(a.first.cmp(&b.first))
    });
    runs
}

/// Whether run `a` ends before run `b` begins: its inputs all come first and, when the times
/// are known, `b`'s process started no earlier than `a`'s last capture.
fn precedes(inputs: &[InputFacts], a: &Run, b: &Run) -> bool {
    let last_capture = inputs[a.members[a.members.len() - 1]].captured_at;
    let started = inputs[b.members[0]].started_at;
    a.last < b.first
        && match (last_capture, started) {
            (Some(captured), Some(started)) => started >= captured,
            _ => true,
        }
}

/// The runs that follow one another, in series order; the others are excluded.
fn segments(
    inputs: &[InputFacts],
    runs: Vec<Run>,
    excluded: &mut Vec<(usize, String)>,
) -> Vec<Vec<usize>> {
    let mut kept: Vec<Run> = Vec::new();
    for run in runs {
        let apart = kept
            .iter()
            .all(|other| precedes(inputs, other, &run) || precedes(inputs, &run, other));
        if apart {
            kept.push(run);
            continue;
        }
        let main = inputs[kept[0].members[0]].process();
        for &index in &run.members {
            excluded.push((
                index,
                format!(
                    "another process ({}) running at the same time as the series' {main}",
                    inputs[index].process()
                ),
            ));
        }
    }
    kept.sort_by_key(|run| run.first);
    kept.into_iter().map(|run| run.members).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(path: &str, captured_at: Option<u64>, pid: u32, started_at: u64) -> InputFacts {
        InputFacts {
            path: path.to_string(),
            captured_at,
            pid: Some(pid),
            started_at: Some(started_at),
            image: Some("Svc.exe".to_string()),
            from_dir: None,
        }
    }

    fn listing(path: &str, pid: u32) -> InputFacts {
        InputFacts {
            started_at: None,
            ..input(path, None, pid, 0)
        }
    }

    #[test]
    fn capture_time_orders_when_every_input_has_one() {
        let inputs = [
            input("c", Some(300), 1, 0),
            input("a", Some(100), 1, 0),
            input("b", Some(200), 1, 0),
        ];
        let plan = plan(&inputs, Order::Auto).unwrap();
        assert_eq!(plan.order, OrderUsed::Time);
        assert_eq!(plan.segments, [vec![1, 2, 0]]);
        assert!(plan.warnings.is_empty() && plan.excluded.is_empty());
        assert_eq!(super::plan(&inputs, Order::Time).unwrap(), plan);
    }

    #[test]
    fn inputs_without_times_keep_the_given_order_and_a_directory_is_said_to_be_by_name() {
        let inputs = [listing("z", 7), listing("a", 7), listing("m", 7)];
        let plan = plan(&inputs, Order::Auto).unwrap();
        assert_eq!(
            (plan.order, &plan.segments),
            (OrderUsed::Given, &vec![vec![0, 1, 2]])
        );
        assert!(plan.warnings.is_empty());
        let from_dir: Vec<InputFacts> = inputs
            .iter()
            .map(|input| InputFacts {
                from_dir: Some("logs".to_string()),
                ..input.clone()
            })
            .collect();
        let plan = super::plan(&from_dir, Order::Auto).unwrap();
        assert_eq!(plan.order, OrderUsed::Name);
        assert_eq!(plan.warnings[0].code, WarningCode::OrderByName);
        assert!(plan.warnings[0].changes_conclusion());
        assert!(plan.warnings[0]
            .message
            .contains("files of logs are taken by name"));
        let refused = super::plan(&inputs, Order::Time).unwrap_err();
        assert!(refused.contains("3 of 3 inputs have no capture time (z, a, m)"));
    }

    #[test]
    fn order_given_keeps_the_order_and_says_when_times_disagree() {
        let inputs = [input("b", Some(200), 1, 0), input("a", Some(100), 1, 0)];
        let plan = plan(&inputs, Order::Given).unwrap();
        assert_eq!(
            (plan.order, &plan.segments),
            (OrderUsed::Given, &vec![vec![0, 1]])
        );
        assert_eq!(plan.warnings[0].code, WarningCode::OrderNotTime);
        assert!(plan.warnings[0].message.contains("a (captured"));
    }

    #[test]
    fn a_restart_splits_the_series_and_a_concurrent_instance_is_left_out() {
        let inputs = [
            input("a0", Some(100), 1, 50),
            input("a1", Some(200), 1, 50),
            input("other", Some(250), 2, 150),
            input("a2", Some(300), 1, 50),
            input("b0", Some(400), 3, 350),
            input("b1", Some(500), 3, 350),
            InputFacts {
                image: Some("Other.exe".to_string()),
                ..input("x", Some(150), 9, 10)
            },
        ];
        let plan = plan(&inputs, Order::Auto).unwrap();
        assert_eq!(plan.segments, [vec![0, 1, 3], vec![4, 5]]);
        assert_eq!(plan.excluded.len(), 2);
        assert_eq!(plan.excluded[0].0, 2);
        assert!(plan.excluded[0].1.contains("pid 2") && plan.excluded[0].1.contains("same time"));
        assert_eq!(plan.excluded[1].0, 6);
        assert!(plan.excluded[1]
            .1
            .starts_with("another program (Other.exe pid 9"));
        assert_eq!(plan.warnings.len(), 2);
        // The program left out is said first, with how the program was chosen.
        assert_eq!(plan.warnings[0].code, WarningCode::DifferentProgram);
        assert_eq!(
            plan.warnings[0].message,
            "inputs of another program left out: Other.exe pid 9 started \
             1970-01-01T00:00:10Z (x); the series is of Svc.exe, the program of the most inputs \
             (6 of 7)"
        );
        assert_eq!(plan.warnings[1].code, WarningCode::ProcessRestarted);
        assert!(plan.warnings[1].message.contains("a2 is Svc.exe pid 1"));
        assert!(plan.warnings[1].message.contains("b0 is Svc.exe pid 3"));
    }

    #[test]
    fn on_a_tie_the_program_of_the_first_input_given_is_kept() {
        let other = |path: &str, captured_at: u64| InputFacts {
            image: Some("Other.exe".to_string()),
            ..input(path, Some(captured_at), 9, 10)
        };
        // Other.exe is given first but captured later: it is still the series.
        let inputs = [
            other("o1", 500),
            other("o2", 600),
            input("s1", Some(100), 1, 50),
            input("s2", Some(200), 1, 50),
        ];
        let plan = plan(&inputs, Order::Auto).unwrap();
        assert_eq!(plan.segments, [vec![0, 1]]);
        assert_eq!(plan.excluded.len(), 2);
        assert_eq!(plan.warnings[0].code, WarningCode::DifferentProgram);
        assert!(plan.warnings[0].message.ends_with(
            "the series is of Other.exe, the program of the most inputs (2 of 4; on a tie, \
             the program of the first input given)"
        ));
        // Given the other way round, Svc.exe is.
        let swapped = [
            inputs[2].clone(),
            inputs[3].clone(),
            inputs[0].clone(),
            inputs[1].clone(),
        ];
        assert_eq!(
            super::plan(&swapped, Order::Auto).unwrap().segments,
            [vec![0, 1]]
        );
    }

    #[test]
    fn a_process_started_before_the_last_dump_of_another_is_concurrent() {
        // b started at 150, while a was still being dumped (until 200): not a restart.
        let inputs = [
            input("a0", Some(100), 1, 50),
            input("a1", Some(200), 1, 50),
            input("b0", Some(300), 2, 150),
        ];
        let plan = plan(&inputs, Order::Auto).unwrap();
        assert_eq!(plan.segments, [vec![0, 1]]);
        assert_eq!(plan.excluded[0].0, 2);
        // Listings without times: a pid change in the given order is a restart.
        let listings = [
            listing("1", 7),
            listing("2", 7),
            listing("3", 8),
            listing("4", 8),
        ];
        let plan = super::plan(&listings, Order::Auto).unwrap();
        assert_eq!(plan.segments, [vec![0, 1], vec![2, 3]]);
        // Interleaved pids are two instances: the larger (then earlier) one is kept.
        let listings = [listing("1", 7), listing("2", 8), listing("3", 7)];
        let plan = super::plan(&listings, Order::Auto).unwrap();
        assert_eq!(plan.segments, [vec![0, 2]]);
    }
}
