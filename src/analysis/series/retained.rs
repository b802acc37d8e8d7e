//! Retained handles (heapy's three-way diff, generalised): a handle first seen in dump k ≥ 1
//! and open in every later dump is *retained since k*. Retained handles are grouped by the
//! stack of their newest OPEN in the last dump and summed per blamed module.

use super::classify::fit;
use super::model::{ModuleGrowth, RetainedStack};
use crate::analysis::attribution::Attribution;
use crate::analysis::model::hex;
use crate::analysis::stacks::group_by_stack;
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
    let Some(trace) = series.last().and_then(|last| last.trace.as_ref()) else {
        return Vec::new();
    };
    let newest = trace.open_stacks();
    let mut addresses: BTreeSet<u64> = BTreeSet::new();
    for handle in retained_since(series).keys() {
        if let Some(stack) = newest.get(&handle.value) {
            addresses.extend(stack.iter().copied());
        }
    }
    addresses.into_iter().collect()
}

/// Retained handles grouped by the stack of their newest OPEN in the last dump (handles
/// without one share the empty stack), fastest growth first, numbered from 1.
pub fn retained_stacks(
    series: &[Snapshot],
    symbols: &SymbolTable,
    attribution: &Attribution,
) -> Vec<RetainedStack> {
    let n = series.len();
    let last = &series[n - 1];
    let newest = last
        .trace
        .as_ref()
        .map(|trace| trace.open_stacks())
        .unwrap_or_default();
    let retained = retained_since(series).into_iter().map(|(handle, since)| {
        let stack = newest
            .get(&handle.value)
            .map_or_else(|| Arc::from([]), |stack| Arc::clone(stack));
        (stack, (handle, since))
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
            let counts: Vec<f64> = retained_per_dump.iter().map(|&c| c as f64).collect();
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
                retained_per_dump,
                growth_per_cycle: fit(&counts).0,
                blamed_module: group.blame.module,
                blamed_version: group.blame.version,
                frames: group.blame.lines,
                handles: values.into_iter().map(hex).collect(),
            }
        })
        .collect();
    stacks.sort_by(|a, b| {
        b.growth_per_cycle
            .total_cmp(&a.growth_per_cycle)
            .then_with(|| a.handles.cmp(&b.handles))
    });
    for (index, stack) in stacks.iter_mut().enumerate() {
        stack.id = index + 1;
    }
    stacks
}

/// Retained growth summed per blamed module (stacks with frames only), fastest first.
pub fn module_growth(stacks: &[RetainedStack], last: &Snapshot, n: usize) -> Vec<ModuleGrowth> {
    let mut by_module: BTreeMap<Option<String>, Vec<&RetainedStack>> = BTreeMap::new();
    for stack in stacks.iter().filter(|stack| !stack.frames.is_empty()) {
        by_module
            .entry(stack.blamed_module.clone())
            .or_default()
            .push(stack);
    }
    let mut modules: Vec<ModuleGrowth> = by_module
        .into_iter()
        .map(|(module, stacks)| one_module(module, &stacks, last, n))
        .collect();
    modules.sort_by(|a, b| {
        b.growth_per_cycle
            .total_cmp(&a.growth_per_cycle)
            .then_with(|| a.module.cmp(&b.module))
    });
    modules
}

fn one_module(
    module: Option<String>,
    stacks: &[&RetainedStack],
    last: &Snapshot,
    n: usize,
) -> ModuleGrowth {
    let later_dumps = n - 1;
    let growth: f64 = stacks.iter().map(|stack| stack.growth_per_cycle).sum();
    let mut types = BTreeMap::new();
    for stack in stacks {
        for (type_name, count) in &stack.types {
            *types.entry(type_name.clone()).or_insert(0) += count;
        }
    }
    let retained_in = (1..n)
        .filter(|&dump| {
            stacks
                .iter()
                .any(|stack| stack.retained_per_dump[dump] > stack.retained_per_dump[dump - 1])
        })
        .count();
    let loaded = module.as_deref().and_then(|name| last.module_named(name));
    let version = loaded.and_then(|module| module.file_version.clone());
    let headline = headline(
        module.as_deref(),
        version.as_deref(),
        growth,
        &types,
        stacks.len(),
        retained_in,
        later_dumps,
    );
    ModuleGrowth {
        path: loaded.map(|module| module.path.clone()),
        version,
        module,
        growth_per_cycle: growth,
        types,
        stacks: stacks.len(),
        retained_in,
        later_dumps,
        headline,
    }
}

/// `MSMAPI32.DLL 11.0.5601.0: +3.0 handles/cycle (2 Mutant, 1 Section) from 3 stacks,
/// retained in all 6 later dumps`: the module's growth shared out over its types by their
/// retained counts.
fn headline(
    module: Option<&str>,
    version: Option<&str>,
    growth: f64,
    types: &BTreeMap<String, usize>,
    stacks: usize,
    retained_in: usize,
    later_dumps: usize,
) -> String {
    let retained_total: usize = types.values().sum();
    let per_cycle_types = types
        .iter()
        .map(|(type_name, count)| {
            let per_cycle = growth * *count as f64 / retained_total.max(1) as f64;
            format!(
                "{} {type_name}",
                trim_float((per_cycle * 10.0).round() / 10.0)
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "{}{}: {:+.1} handles/cycle ({per_cycle_types}) from {} stack{}, retained in {} later dumps",
        module.unwrap_or("(system modules only)"),
        version.map_or(String::new(), |v| format!(" {v}")),
        growth,
        stacks,
        if stacks == 1 { "" } else { "s" },
        if retained_in == later_dumps {
            format!("all {later_dumps}")
        } else {
            format!("{retained_in} of {later_dumps}")
        }
    )
}

/// `3`, `2.5`, `0.33`: per-cycle type counts without needless decimals.
fn trim_float(value: f64) -> String {
    if (value - value.round()).abs() < 1e-9 {
        format!("{}", value.round() as i64)
    } else {
        let text = format!("{value:.2}");
        text.trim_end_matches('0').to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_cycle_counts_drop_needless_decimals() {
        assert_eq!(trim_float(3.0), "3");
        assert_eq!(trim_float(2.5), "2.5");
        assert_eq!(trim_float(0.333), "0.33");
    }
}
