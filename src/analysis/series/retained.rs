//! Retained handles (heapy's three-way diff, generalised): a handle first seen in dump k ≥ 1
//! and open in every later dump is *retained since k*. Retained handles are grouped by the
//! stack of their newest OPEN in the last dump and summed per blamed module; each stack and
//! each module gets the verdict on its retained count.

use super::model::{ModuleGrowth, RetainedStack};
use super::words::{Headline, Timeline};
use crate::analysis::attribution::Attribution;
use crate::analysis::model::hex;
use crate::analysis::stacks::group_by_stack;
use crate::analysis::trend::Verdict;
use crate::snapshot::{HandleIdentity, Snapshot, NO_TYPE};
use crate::symbols::SymbolTable;
use foldhash::HashSet;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// The retained handles of the last dump: identity → first dump from which it is open in
/// every dump to the last (≥ 1; handles open since the first dump are the baseline).
pub fn retained_since(series: &[Snapshot]) -> BTreeMap<HandleIdentity<'_>, usize> {
    let sets: Vec<HashSet<HandleIdentity<'_>>> = series
        .iter()
        .map(|snapshot| {
            snapshot
                .handles
                .iter()
                .flatten()
                .map(|handle| handle.identity())
                .collect()
        })
        .collect();
    let mut retained = BTreeMap::new();
    let Some(last) = sets.last() else {
        return retained;
    };
    for handle in last {
        let mut since = sets.len() - 1;
        while since > 0 && sets[since - 1].contains(handle) {
            since -= 1;
        }
        if since > 0 {
            retained.insert(*handle, since);
        }
    }
    retained
}

/// Return addresses of the retained handles' stacks, for the symbolizer.
pub fn retained_addresses(series: &[Snapshot]) -> Vec<u64> {
    match series.last() {
        Some(last) => retained_addresses_of(last, &retained_since(series)),
        None => Vec::new(),
    }
}

/// Return addresses of the stacks of `retained` (handles of `last`, the last dump), for the
/// symbolizer.
pub fn retained_addresses_of(
    last: &Snapshot,
    retained: &BTreeMap<HandleIdentity<'_>, usize>,
) -> Vec<u64> {
    let Some(trace) = last.trace.as_ref() else {
        return Vec::new();
    };
    let newest = trace.open_stacks();
    let mut addresses: BTreeSet<u64> = BTreeSet::new();
    for handle in retained.keys() {
        if let Some(stack) = newest.get(&handle.value) {
            addresses.extend(stack.iter().copied());
        }
    }
    addresses.into_iter().collect()
}

/// Retained handles grouped by the stack of their newest OPEN in the last dump (handles
/// without one share the empty stack), each with its verdict; leaks first, fastest first,
/// numbered from 1. `retained` is [`retained_since`] of the series (of which only the last
/// dump is read here).
pub fn retained_stacks(
    series: &[Snapshot],
    retained: &BTreeMap<HandleIdentity<'_>, usize>,
    symbols: &SymbolTable,
    attribution: &Attribution,
    timeline: &Timeline,
) -> Vec<RetainedStack> {
    let n = series.len();
    let last = &series[n - 1];
    let newest = last
        .trace
        .as_ref()
        .map(|trace| trace.open_stacks())
        .unwrap_or_default();
    let retained = retained.iter().map(|(handle, &since)| {
        let stack = newest
            .get(&handle.value)
            .map_or_else(|| Arc::from([]), |stack| Arc::clone(stack));
        (stack, (*handle, since))
    });
    let groups = group_by_stack(retained, symbols, attribution, last);
    let mut stacks: Vec<RetainedStack> = groups
        .into_iter()
        .map(|group| {
            let retained_per_dump: Vec<usize> = (0..n)
                .map(|dump| {
                    group
                        .members
                        .iter()
                        .filter(|(_, since)| *since <= dump)
                        .count()
                })
                .collect();
            let mut types = BTreeMap::new();
            for (handle, _) in &group.members {
                *types
                    .entry(handle.type_name.unwrap_or(NO_TYPE).to_string())
                    .or_insert(0) += 1;
            }
            let mut values: Vec<u64> = group.members.iter().map(|(h, _)| h.value).collect();
            values.sort_unstable();
            RetainedStack {
                id: 0,
                types,
                verdict: timeline.classify(&retained_per_dump),
                retained_per_dump,
                blamed_module: group.blame.module,
                blamed_version: group.blame.version,
                frames: group.blame.lines,
                handles: values.into_iter().map(hex).collect(),
            }
        })
        .collect();
    stacks.sort_by(|a, b| {
        verdict_order(&a.verdict, &b.verdict).then_with(|| a.handles.cmp(&b.handles))
    });
    for (index, stack) in stacks.iter_mut().enumerate() {
        stack.id = index + 1;
    }
    stacks
}

/// Report order of verdicts: leaks, plateaus, declines, churn, stable, then those without a
/// class; within a class the faster growth (then the larger change) first.
pub(super) fn verdict_order(a: &Verdict, b: &Verdict) -> std::cmp::Ordering {
    let rank = |verdict: &Verdict| verdict.class.map_or(usize::MAX, |class| class as usize);
    rank(a)
        .cmp(&rank(b))
        .then(b.slope_per_cycle.total_cmp(&a.slope_per_cycle))
        .then(b.change.total_cmp(&a.change))
}

/// Retained handles summed per blamed module (stacks with frames only), each with its
/// verdict, in [`verdict_order`].
pub fn module_growth(
    stacks: &[RetainedStack],
    last: &Snapshot,
    timeline: &Timeline,
) -> Vec<ModuleGrowth> {
    let mut by_module: BTreeMap<Option<String>, Vec<&RetainedStack>> = BTreeMap::new();
    for stack in stacks.iter().filter(|stack| !stack.frames.is_empty()) {
        by_module
            .entry(stack.blamed_module.clone())
            .or_default()
            .push(stack);
    }
    let mut modules: Vec<ModuleGrowth> = by_module
        .into_iter()
        .map(|(module, stacks)| one_module(module, &stacks, last, timeline))
        .collect();
    modules.sort_by(|a, b| {
        verdict_order(&a.verdict, &b.verdict).then_with(|| a.module.cmp(&b.module))
    });
    modules
}

fn one_module(
    module: Option<String>,
    stacks: &[&RetainedStack],
    last: &Snapshot,
    timeline: &Timeline,
) -> ModuleGrowth {
    let n = timeline.dumps;
    let later_dumps = n.saturating_sub(1);
    let retained_per_dump: Vec<usize> = (0..n)
        .map(|dump| {
            stacks
                .iter()
                .map(|stack| stack.retained_per_dump[dump])
                .sum()
        })
        .collect();
    let verdict = timeline.classify(&retained_per_dump);
    let mut types = BTreeMap::new();
    for stack in stacks {
        for (type_name, count) in &stack.types {
            *types.entry(type_name.clone()).or_insert(0) += count;
        }
    }
    let retained_in = (1..n)
        .filter(|&dump| retained_per_dump[dump] > retained_per_dump[dump - 1])
        .count();
    let loaded = module.as_deref().and_then(|name| last.module_named(name));
    let version = loaded.and_then(|module| module.file_version.clone());
    let headline = Headline {
        module: module.as_deref(),
        version: version.as_deref(),
        verdict: &verdict,
        types: &types,
        stacks: stacks.len(),
        retained_in: (retained_in, later_dumps),
        verdict_words: timeline.words(&verdict),
    }
    .text();
    ModuleGrowth {
        path: loaded.map(|module| module.path.clone()),
        version,
        module,
        retained_per_dump,
        verdict,
        types,
        stacks: stacks.len(),
        retained_in,
        later_dumps,
        headline,
    }
}
