//! A check on the crate's shape: no module of `src/` uses one that uses it
//! back, directly or around a longer loop.
//!
//! It reads the `use` declarations of every file (up to the file's tests),
//! resolves each path to the module file it names (`crate::`, `super::`,
//! `self::` or a child module), and looks for a cycle in that graph. A
//! parent's `mod child;` declaration is not a use; a parent's `pub use
//! child::Item` is, so a child that reached its siblings through the parent
//! would show up as a loop.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// A module path, as segments after `crate`: `["signaling", "hub"]`.
type Module = Vec<String>;

/// Every module file under `src/`, by module path.
fn modules(src: &Path) -> BTreeMap<Module, String> {
    let mut found = BTreeMap::new();
    let mut folders = vec![src.to_path_buf()];
    while let Some(folder) = folders.pop() {
        let entries = std::fs::read_dir(&folder).expect("read a source folder");
        for entry in entries {
            let path = entry.expect("a folder entry").path();
            if path.is_dir() {
                folders.push(path);
                continue;
            }
            if path.extension().is_none_or(|ext| ext != "rs") {
                continue;
            }
            let relative = path.strip_prefix(src).expect("under src");
            let mut module: Module = relative
                .with_extension("")
                .iter()
                .map(|part| part.to_string_lossy().into_owned())
                .collect();
            if matches!(module.last().map(String::as_str), Some("mod" | "lib")) {
                module.pop();
            }
            let text = std::fs::read_to_string(&path).expect("read a source file");
            found.insert(module, text);
        }
    }
    found
}

/// The `use` declarations of `text` before its tests, each as one string
/// without `use` and `;` (`super::peers::{NoId, PeerId}`).
fn uses(text: &str) -> Vec<String> {
    let code = text.split("#[cfg(test)]").next().unwrap_or(text);
    let mut found = Vec::new();
    let mut current: Option<String> = None;
    for line in code.lines() {
        let line = line.trim();
        if let Some(open) = current.as_mut() {
            open.push_str(line);
        } else if let Some(rest) = line
            .strip_prefix("pub use ")
            .or_else(|| line.strip_prefix("pub(crate) use "))
            .or_else(|| line.strip_prefix("use "))
        {
            current = Some(rest.to_string());
        }
        if current.as_ref().is_some_and(|open| open.ends_with(';')) {
            let done = current.take().unwrap_or_default();
            found.push(done.trim_end_matches(';').replace(' ', ""));
        }
    }
    found
}

/// The leaf paths of one `use` tree: `a::{b,c::{d}}` gives `a::b` and `a::c::d`.
fn leaves(tree: &str) -> Vec<String> {
    let Some(open) = tree.find('{') else {
        return vec![tree.to_string()];
    };
    let prefix = &tree[..open];
    let inner = &tree[open + 1..tree.len().saturating_sub(1)];
    let mut parts = Vec::new();
    let mut depth = 0;
    let mut start = 0;
    for (at, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&inner[start..at]);
                start = at + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    parts
        .into_iter()
        .filter(|part| !part.is_empty())
        .flat_map(|part| leaves(&format!("{prefix}{part}")))
        .collect()
}

/// The module file a `use` path from `from` leads to, if it is in this crate.
fn target(from: &Module, path: &str, known: &BTreeMap<Module, String>) -> Option<Module> {
    let mut segments = path.split("::").filter(|s| *s != "self" || path == "self");
    let first = segments.next()?;
    let mut at: Module = match first {
        "crate" => Vec::new(),
        "super" => from[..from.len().saturating_sub(1)].to_vec(),
        "self" => from.clone(),
        child => {
            // A path that starts with a child module of this one (the 2018
            // edition's uniform paths); anything else is another crate.
            let mut module = from.clone();
            module.push(child.to_string());
            if !known.contains_key(&module) {
                return None;
            }
            module
        }
    };
    for segment in segments {
        if segment == "super" {
            at.pop();
            continue;
        }
        let mut deeper = at.clone();
        deeper.push(segment.to_string());
        if known.contains_key(&deeper) {
            at = deeper;
        } else {
            break;
        }
    }
    Some(at)
}

/// A loop in `graph`, as the modules along it, if there is one.
fn find_cycle(graph: &BTreeMap<Module, BTreeSet<Module>>) -> Option<Vec<Module>> {
    fn visit(
        node: &Module,
        graph: &BTreeMap<Module, BTreeSet<Module>>,
        path: &mut Vec<Module>,
        done: &mut BTreeSet<Module>,
    ) -> Option<Vec<Module>> {
        if let Some(at) = path.iter().position(|seen| seen == node) {
            let mut cycle = path[at..].to_vec();
            cycle.push(node.clone());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.clone());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.clone());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut Vec::new(), &mut done))
}

fn name(module: &Module) -> String {
    std::iter::once("crate")
        .chain(module.iter().map(String::as_str))
        .collect::<Vec<_>>()
        .join("::")
}

#[test]
fn module_imports_go_one_way() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let known = modules(&src);
    let mut graph: BTreeMap<Module, BTreeSet<Module>> = BTreeMap::new();
    for (module, text) in &known {
        let edges = graph.entry(module.clone()).or_default();
        for tree in uses(text) {
            for leaf in leaves(&tree) {
                if let Some(to) = target(module, &leaf, &known) {
                    if &to != module {
                        edges.insert(to);
                    }
                }
            }
        }
    }
    // The check itself must see the chain, or it proves nothing.
    let session = vec!["signaling".to_string(), "session".to_string()];
    let hub = vec!["signaling".to_string(), "hub".to_string()];
    assert!(graph[&session].contains(&hub), "{:?}", graph[&session]);
    if let Some(cycle) = find_cycle(&graph) {
        let names: Vec<String> = cycle.iter().map(name).collect();
        panic!("modules import each other: {}", names.join(" -> "));
    }
}

#[test]
fn a_loop_is_found() {
    let a = vec!["a".to_string()];
    let b = vec!["b".to_string()];
    let graph = BTreeMap::from([
        (a.clone(), BTreeSet::from([b.clone()])),
        (b.clone(), BTreeSet::from([a.clone()])),
    ]);
    assert_eq!(find_cycle(&graph), Some(vec![a.clone(), b, a]));
    assert_eq!(
        leaves("super::x::{A,y::{B,C}}"),
        ["super::x::A", "super::x::y::B", "super::x::y::C"]
    );
}
