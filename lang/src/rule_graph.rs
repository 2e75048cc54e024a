//! The helper-rule graph in linear time: which references may close a cycle, and how deep the
//! acyclic part nests. A policy of 10 000 chained helpers is checked in milliseconds, and every
//! later pass (evaluator, explainer, the Wasm call stack) only ever sees chains of at most
//! [`MAX_HELPER_DEPTH`] helpers.
use std::collections::{HashMap, HashSet, VecDeque};

use crate::ir::RuleId;

/// Longest chain of helper rules a rule may reach (`a` uses `b` uses `c`: depth 3).
pub const MAX_HELPER_DEPTH: usize = 64;

/// A graph of helper references `from → to`.
pub(crate) struct RuleGraph {
    forward: HashMap<RuleId, Vec<RuleId>>,
    backward: HashMap<RuleId, Vec<RuleId>>,
    nodes: HashSet<RuleId>,
}

impl RuleGraph {
    pub(crate) fn new(edges: impl IntoIterator<Item = (RuleId, RuleId)>) -> RuleGraph {
        let mut graph = RuleGraph { forward: HashMap::new(), backward: HashMap::new(), nodes: HashSet::new() };
        for (from, to) in edges {
            graph.forward.entry(from).or_default().push(to);
            graph.backward.entry(to).or_default().push(from);
            graph.nodes.extend([from, to]);
        }
        graph
    }

    /// Rules that may lie on a cycle: those that both reach a cycle and are reached from one
    /// (Kahn's peeling in each direction). Empty for an acyclic graph.
    pub(crate) fn cycle_candidates(&self) -> HashSet<RuleId> {
        let reached_from_cycle = self.unpeeled(&self.forward, &self.backward);
        let reaching_cycle = self.unpeeled(&self.backward, &self.forward);
        reached_from_cycle.intersection(&reaching_cycle).copied().collect()
    }

    /// The nodes Kahn's algorithm cannot remove along `out` edges (in-degrees from `into`).
    fn unpeeled(&self, out: &HashMap<RuleId, Vec<RuleId>>, into: &HashMap<RuleId, Vec<RuleId>>) -> HashSet<RuleId> {
        let mut indegree: HashMap<RuleId, usize> =
            self.nodes.iter().map(|&n| (n, into.get(&n).map_or(0, Vec::len))).collect();
        let mut ready: VecDeque<RuleId> = indegree.iter().filter(|(_, &d)| d == 0).map(|(&n, _)| n).collect();
        while let Some(node) = ready.pop_front() {
            indegree.remove(&node);
            for next in out.get(&node).into_iter().flatten() {
                if let Some(degree) = indegree.get_mut(next) {
                    *degree = degree.saturating_sub(1);
                    if *degree == 0 {
                        ready.push_back(*next);
                    }
                }
            }
        }
        indegree.into_keys().collect()
    }

    /// For an acyclic graph: a rule whose helper chain is deeper than [`MAX_HELPER_DEPTH`]
    /// (counting the rule itself), if any; `None` otherwise (or when the graph has a cycle,
    /// which is reported on its own).
    pub(crate) fn too_deep(&self) -> Option<RuleId> {
        // Depth of the chain below each node, leaves first (Kahn on the reversed edges).
        let mut pending: HashMap<RuleId, usize> =
            self.nodes.iter().map(|&n| (n, self.forward.get(&n).map_or(0, Vec::len))).collect();
        let mut ready: VecDeque<RuleId> = pending.iter().filter(|(_, &d)| d == 0).map(|(&n, _)| n).collect();
        let mut depth: HashMap<RuleId, usize> = HashMap::new();
        while let Some(node) = ready.pop_front() {
            let below = self.forward.get(&node).into_iter().flatten().filter_map(|n| depth.get(n)).max();
            let here = below.map_or(1, |d| d + 1);
            if here > MAX_HELPER_DEPTH {
                return Some(node);
            }
            depth.insert(node, here);
            for caller in self.backward.get(&node).into_iter().flatten() {
                if let Some(count) = pending.get_mut(caller) {
                    *count = count.saturating_sub(1);
                    if *count == 0 {
                        ready.push_back(*caller);
                    }
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cycles_are_candidates_and_chains_are_not() {
        let graph = RuleGraph::new([(0, 1), (1, 2), (2, 1), (3, 0)]);
        assert_eq!(graph.cycle_candidates(), HashSet::from([1, 2]));
        let chain = RuleGraph::new((0..10_000).map(|i| (i, i + 1)));
        assert!(chain.cycle_candidates().is_empty());
    }

    #[test]
    fn depth_is_bounded() {
        let ok = RuleGraph::new((0..MAX_HELPER_DEPTH as RuleId - 1).map(|i| (i, i + 1)));
        assert_eq!(ok.too_deep(), None);
        let deep = RuleGraph::new((0..MAX_HELPER_DEPTH as RuleId).map(|i| (i, i + 1)));
        assert_eq!(deep.too_deep(), Some(0));
        let long = RuleGraph::new((0..10_000).map(|i| (i, i + 1)));
        assert!(long.too_deep().is_some());
    }
}
