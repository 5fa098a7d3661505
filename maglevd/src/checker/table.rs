//! The backends of a snapshot: a persistent (copy-on-write) table, so that
//! publishing a snapshot after a probe result costs what changed, not what
//! exists.
//!
//! The backends sit in name order at the leaves of a trie of fixed fan-out
//! whose nodes are shared through `Arc`s. The checker keeps one table as
//! its working copy and publishes clones of it: a clone is one reference
//! count per top-level node, and changing a backend afterwards copies only
//! the nodes on its path (`Arc::make_mut`), at most once per publication
//! (a node already copied since the last publication is no longer shared).
//! With 10,000 backends that is three nodes of 32 entries instead of
//! 10,000 backend copies. The name index is shared between snapshots and
//! rebuilt only when the set of backends changes (reload).

use std::collections::BTreeMap;
use std::sync::Arc;

use super::snapshot::BackendSnapshot;

/// Children per node: a copied path is `depth` nodes of this many `Arc`s.
const FANOUT: usize = 32;

#[derive(Debug, Clone)]
enum Node {
    Leaf(Arc<Vec<Arc<BackendSnapshot>>>),
    Inner(Arc<Vec<Node>>),
}

/// Every backend of a snapshot, by name. Read it like a `BTreeMap`
/// (`get`, `iter`, `values`, `len`); iteration is in name order.
#[derive(Debug, Clone)]
pub struct BackendTable {
    /// Name -> position; shared by every snapshot with the same backends.
    index: Arc<BTreeMap<String, usize>>,
    root: Node,
    /// Leaves are at this depth below the root (0: the root is a leaf).
    depth: u32,
}

impl Default for BackendTable {
    fn default() -> Self {
        BackendTable::new(Vec::new())
    }
}

impl BackendTable {
    /// A table of `backends`, which must be sorted by name without
    /// duplicates (they come from a `BTreeMap`).
    pub(crate) fn new(backends: Vec<Arc<BackendSnapshot>>) -> BackendTable {
        debug_assert!(backends.windows(2).all(|w| w[0].name < w[1].name), "backends not sorted by name");
        let index = Arc::new(backends.iter().enumerate().map(|(i, b)| (b.name.clone(), i)).collect());
        let mut level: Vec<Node> =
            chunks(backends).into_iter().map(|leaf| Node::Leaf(Arc::new(leaf))).collect();
        let mut depth = 0;
        while level.len() > 1 {
            level = chunks(level).into_iter().map(|inner| Node::Inner(Arc::new(inner))).collect();
            depth += 1;
        }
        let root = level.pop().unwrap_or_else(|| Node::Leaf(Arc::default()));
        BackendTable { index, root, depth }
    }

    pub fn len(&self) -> usize {
        self.index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    pub fn contains_key(&self, name: &str) -> bool {
        self.index.contains_key(name)
    }

    /// Position of `name` in name order, for [`set`](Self::set).
    pub(crate) fn position(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }

    pub fn get(&self, name: &str) -> Option<&BackendSnapshot> {
        self.at(self.position(name)?)
    }

    /// The name of the backend at `pos`.
    pub(crate) fn name_at(&self, pos: usize) -> Option<&str> {
        self.at(pos).map(|b| b.name.as_str())
    }

    fn at(&self, pos: usize) -> Option<&BackendSnapshot> {
        let mut node = &self.root;
        for level in (0..=self.depth).rev() {
            let i = (pos / FANOUT.pow(level)) % FANOUT;
            node = match node {
                Node::Inner(children) => children.get(i)?,
                Node::Leaf(backends) => return backends.get(i).map(|b| &**b),
            };
        }
        None
    }

    /// Replaces the backend at `pos` (whose name must not change), copying
    /// only the nodes on its path that a published snapshot still shares.
    pub(crate) fn set(&mut self, pos: usize, backend: Arc<BackendSnapshot>) {
        debug_assert!(pos < self.len(), "position {pos} outside a table of {}", self.len());
        debug_assert_eq!(self.position(&backend.name), Some(pos), "a backend moved");
        let mut node = &mut self.root;
        for level in (0..=self.depth).rev() {
            let i = (pos / FANOUT.pow(level)) % FANOUT;
            node = match node {
                Node::Inner(children) => match Arc::make_mut(children).get_mut(i) {
                    Some(child) => child,
                    None => return,
                },
                Node::Leaf(backends) => {
                    if let Some(slot) = Arc::make_mut(backends).get_mut(i) {
                        *slot = backend;
                    }
                    return;
                }
            };
        }
    }

    /// The backends in name order, to change them in place (tests and
    /// benchmarks that fake a state); every node is unshared first. A
    /// backend's name must not change.
    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut Arc<BackendSnapshot>> + '_ {
        fn walk<'a>(node: &'a mut Node, out: &mut Vec<&'a mut Arc<BackendSnapshot>>) {
            match node {
                Node::Leaf(backends) => out.extend(Arc::make_mut(backends).iter_mut()),
                Node::Inner(children) => {
                    for child in Arc::make_mut(children).iter_mut() {
                        walk(child, out);
                    }
                }
            }
        }
        let mut out = Vec::with_capacity(self.len());
        walk(&mut self.root, &mut out);
        out.into_iter()
    }

    /// The backends in name order.
    pub fn values(&self) -> impl Iterator<Item = &BackendSnapshot> + '_ {
        let mut stack = vec![&self.root];
        let mut leaf: std::slice::Iter<'_, Arc<BackendSnapshot>> = [].iter();
        std::iter::from_fn(move || loop {
            if let Some(b) = leaf.next() {
                return Some(&**b);
            }
            match stack.pop()? {
                Node::Leaf(backends) => leaf = backends.iter(),
                Node::Inner(children) => stack.extend(children.iter().rev()),
            }
        })
    }

    /// `(name, backend)` in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &BackendSnapshot)> + '_ {
        self.values().map(|b| (&b.name, b))
    }

    pub fn keys(&self) -> impl Iterator<Item = &String> + '_ {
        self.index.keys()
    }
}

impl<'a> IntoIterator for &'a BackendTable {
    type Item = (&'a String, &'a BackendSnapshot);
    type IntoIter = Box<dyn Iterator<Item = Self::Item> + 'a>;

    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
    }
}

/// `items` cut into vectors of at most `FANOUT`, in order.
fn chunks<T>(items: Vec<T>) -> Vec<Vec<T>> {
    let mut out = Vec::with_capacity(items.len().div_ceil(FANOUT));
    let mut items = items.into_iter().peekable();
    while items.peek().is_some() {
        out.push(items.by_ref().take(FANOUT).collect());
    }
    out
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    use super::*;
    use crate::health::BackendState;

    fn backend(i: usize, state: BackendState) -> Arc<BackendSnapshot> {
        Arc::new(BackendSnapshot {
            name: format!("be{i:05}"),
            address: IpAddr::V4(Ipv4Addr::LOCALHOST),
            state,
            enabled: true,
            healthcheck: None,
            counter: None,
            last_result: None,
            last_result_at: None,
            history: Arc::default(),
        })
    }

    fn table(n: usize) -> BackendTable {
        BackendTable::new((0..n).map(|i| backend(i, BackendState::Unknown)).collect())
    }

    #[test]
    fn reads_like_a_sorted_map_at_every_depth() {
        for n in [0, 1, 31, 32, 33, 1024, 1025, 40_000] {
            let t = table(n);
            assert_eq!(t.len(), n);
            let names: Vec<String> = t.values().map(|b| b.name.clone()).collect();
            let expected: Vec<String> = (0..n).map(|i| format!("be{i:05}")).collect();
            assert_eq!(names, expected, "iteration order of {n} backends");
            assert!(t.keys().eq(expected.iter()), "keys of {n} backends");
            for i in [0, n / 2, n.saturating_sub(1)] {
                if n > 0 {
                    let name = format!("be{i:05}");
                    assert_eq!(t.get(&name).map(|b| b.name.as_str()), Some(name.as_str()), "{n} backends");
                }
            }
            assert!(t.get("nope").is_none());
            assert!(!t.contains_key("nope"));
        }
    }

    #[test]
    fn set_changes_the_working_copy_and_no_earlier_clone() {
        let mut working = table(5000);
        let published = working.clone();
        let pos = working.position("be04321").expect("position");
        working.set(pos, backend(4321, BackendState::Up));
        assert_eq!(working.get("be04321").map(|b| b.state), Some(BackendState::Up));
        assert_eq!(published.get("be04321").map(|b| b.state), Some(BackendState::Unknown));
        // Everything else is shared, not copied.
        let pos0 = working.position("be00000").expect("position");
        let a = working.values().nth(pos0).expect("first") as *const BackendSnapshot;
        let b = published.values().nth(pos0).expect("first") as *const BackendSnapshot;
        assert_eq!(a, b, "an unchanged backend was copied");
        assert_eq!(working.values().filter(|b| b.state == BackendState::Up).count(), 1);
    }

    #[test]
    fn a_shared_path_is_copied_once_per_publication() {
        let mut working = table(100);
        let published = working.clone();
        for i in 0..3 {
            working.set(i, backend(i, BackendState::Up));
        }
        // The root is now the working copy's own; the published one is intact.
        let Node::Inner(w) = &working.root else { panic!("100 backends have an inner root") };
        let Node::Inner(p) = &published.root else { panic!("100 backends have an inner root") };
        assert!(!Arc::ptr_eq(w, p));
        assert_eq!(Arc::strong_count(w), 1);
        assert_eq!(published.values().filter(|b| b.state == BackendState::Up).count(), 0);
        assert_eq!(working.values().filter(|b| b.state == BackendState::Up).count(), 3);
    }
}
