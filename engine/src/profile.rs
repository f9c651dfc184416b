//! Exact fuel profiles: where a strategy's fuel goes, by call stack.
//!
//! With [`Config::fuel_profile`](crate::Config::fuel_profile) on, the metering rewrite also
//! makes every function of the module report its entry and exit, with the fuel left at that
//! moment, to two host functions (`lockstep:profile.enter` and `.exit`). Those calls are not
//! metered, so the profiled module spends the same fuel, event by event, as the plain one. The
//! host folds the reports into a call tree: each node holds the fuel its function spent in
//! that stack, itself and not in a callee. Fuel is the same on every tier and machine, so the
//! tree is too.

use std::collections::BTreeMap;

/// Import module of the profile's host functions. Reserved: a module may not import from it.
pub(crate) const PROFILE_MODULE: &str = "lockstep:profile";
/// `enter(func: i32, fuel_left: i64)`, called first in every function.
pub(crate) const ENTER: &str = "enter";
/// `exit(fuel_left: i64)`, called before every way out of a function but a trap.
pub(crate) const EXIT: &str = "exit";

/// Children of a node found by a linear search before a map is used: a few callees each is
/// the common shape, and a dispatcher with thousands stays logarithmic.
const FEW_CHILDREN: usize = 16;

/// Most call-tree nodes a profile keeps (each costs about 64 bytes): a module whose stacks
/// are more varied than this (deep recursion along many paths) has the fuel of the stacks past
/// the limit charged to the deepest node already in the tree, and the profile says so.
pub const MAX_PROFILE_NODES: usize = 1 << 20;

/// One node of a [`FuelProfile`]'s call tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProfileNode {
    /// The function, by its index in the module's function space (imports first), as the
    /// module's name section names it. `None` for the root: the host's call into the guest.
    pub func: Option<u32>,
    /// The caller's node (the root's is itself).
    pub parent: usize,
    /// Fuel spent in this function in this stack, not in its callees.
    pub self_fuel: u64,
}

/// A call tree of fuel, gathered over the calls made since it was started
/// ([`Instance::take_fuel_profile`](crate::Instance::take_fuel_profile)). Node 0 is the root.
#[derive(Clone, Debug)]
pub struct FuelProfile {
    nodes: Vec<ProfileNode>,
    /// Each node's first [`FEW_CHILDREN`] children, searched in order: the common case.
    few: Vec<Vec<(u32, usize)>>,
    /// Children past those, by (parent, function).
    children: BTreeMap<(usize, u32), usize>,
    /// The node running now, and the fuel left at the last report.
    cursor: usize,
    last: u64,
    truncated: bool,
}

impl Default for FuelProfile {
    fn default() -> Self {
        Self {
            nodes: vec![ProfileNode { func: None, parent: 0, self_fuel: 0 }],
            few: vec![Vec::new()],
            children: BTreeMap::new(),
            cursor: 0,
            last: 0,
            truncated: false,
        }
    }
}

impl FuelProfile {
    /// The call tree's nodes, root first; a node's parent always comes before it.
    pub fn nodes(&self) -> &[ProfileNode] {
        &self.nodes
    }

    /// The functions from the outermost call down to `node` (the root excluded).
    pub fn stack(&self, mut node: usize) -> Vec<u32> {
        let mut funcs = Vec::new();
        while let Some(f) = self.nodes.get(node).and_then(|n| n.func) {
            funcs.push(f);
            node = self.nodes[node].parent;
        }
        funcs.reverse();
        funcs
    }

    /// All the fuel the profile holds.
    pub fn total_fuel(&self) -> u64 {
        self.nodes.iter().map(|n| n.self_fuel).fold(0, u64::saturating_add)
    }

    /// Whether stacks were cut at [`MAX_PROFILE_NODES`].
    pub fn is_truncated(&self) -> bool {
        self.truncated
    }

    /// A call into the guest starts with `budget` fuel.
    pub(crate) fn begin(&mut self, budget: u64) {
        self.cursor = 0;
        self.last = budget;
    }

    /// Charges the fuel spent since the last report to the running node.
    fn charge(&mut self, fuel_left: i64) {
        // Fuel left may dip below zero before the meter traps; what was spent is the budget.
        let left = u64::try_from(fuel_left).unwrap_or(0);
        let spent = self.last.saturating_sub(left);
        let node = &mut self.nodes[self.cursor];
        node.self_fuel = node.self_fuel.saturating_add(spent);
        self.last = left.min(self.last);
    }

    /// The guest entered function `func` with `fuel_left`.
    pub(crate) fn enter(&mut self, func: u32, fuel_left: i64) {
        self.charge(fuel_left);
        let few = &self.few[self.cursor];
        let found = match few.iter().find(|(f, _)| *f == func) {
            Some(&(_, child)) => Some(child),
            None if few.len() < FEW_CHILDREN => None,
            None => self.children.get(&(self.cursor, func)).copied(),
        };
        if let Some(child) = found {
            self.cursor = child;
        } else if self.nodes.len() < MAX_PROFILE_NODES {
            let child = self.nodes.len();
            self.nodes.push(ProfileNode { func: Some(func), parent: self.cursor, self_fuel: 0 });
            self.few.push(Vec::new());
            let few = &mut self.few[self.cursor];
            if few.len() < FEW_CHILDREN {
                few.push((func, child));
            } else {
                self.children.insert((self.cursor, func), child);
            }
            self.cursor = child;
        } else {
            self.truncated = true;
        }
    }

    /// The guest is leaving the running function with `fuel_left`.
    pub(crate) fn exit(&mut self, fuel_left: i64) {
        self.charge(fuel_left);
        self.cursor = self.nodes[self.cursor].parent;
    }

    /// The call into the guest is over, having `used` fuel of its budget: what was spent
    /// since the last report (all of the rest, after a trap) goes to the running node.
    pub(crate) fn finish(&mut self, budget: u64, used: u64) {
        let left = budget.saturating_sub(used);
        self.charge(i64::try_from(left).unwrap_or(i64::MAX));
        self.cursor = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fuel_goes_to_the_stack_that_spent_it_and_a_trap_charges_the_rest() {
        let mut p = FuelProfile::default();
        p.begin(100);
        p.enter(7, 100); // on_event
        p.enter(3, 90); // 10 in 7
        p.exit(60); // 30 in 7;3
        p.enter(3, 55); // 5 more in 7
        p.exit(50); // 5 in 7;3
        p.exit(48); // 2 in 7
        p.finish(100, 52);
        assert_eq!(p.total_fuel(), 52);
        let by_stack: Vec<(Vec<u32>, u64)> =
            (0..p.nodes().len()).map(|n| (p.stack(n), p.nodes()[n].self_fuel)).collect();
        assert_eq!(by_stack, [(vec![], 0), (vec![7], 17), (vec![7, 3], 35)]);
        // A trap inside 3: the rest of the budget is charged there, and the next call
        // starts again at the root.
        p.begin(100);
        p.enter(7, 100);
        p.enter(3, 99);
        p.finish(100, 100);
        assert_eq!(p.nodes()[2].self_fuel, 35 + 99);
        assert_eq!(p.total_fuel(), 152);
    }

    #[test]
    fn a_function_with_many_callees_finds_each_again() {
        let mut p = FuelProfile::default();
        p.begin(10_000);
        p.enter(0, 10_000);
        for round in 0..2 {
            for f in 1..100 {
                p.enter(f, 0);
                p.exit(0);
            }
            assert_eq!(p.nodes().len(), 101, "round {round}");
        }
        for n in 2..101 {
            assert_eq!(p.stack(n), [0, u32::try_from(n - 1).unwrap()]);
        }
    }
}
