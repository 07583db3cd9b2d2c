//! The import rules of the crate (docs/architecture.md, "Layout"), checked over the `crate::`
//! and `super::` paths of every source file: which part may import which, and no circle
//! between parts.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A part of the crate: a top-level module (`store`, `service`, `loadgen`, …), or one service
/// (`services/cart`) or one contract (`api/cart`).
type Part = String;

fn part_of(relative: &Path) -> Part {
    let parts: Vec<String> = relative
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    match parts.as_slice() {
        [top, name, ..] if (top == "services" || top == "api") && name != "mod.rs" => {
            format!("{top}/{name}")
        }
        [top, ..] => top.trim_end_matches(".rs").to_owned(),
        [] => String::new(),
    }
}

/// The code of a file without comments and without its `#[cfg(test)] mod tests` (tests may
/// reach anywhere).
fn code(source: &str) -> String {
    let without_tests = match source.find("#[cfg(test)]\nmod tests") {
        Some(at) => &source[..at],
        None => source,
    };
    without_tests
        .lines()
        .map(|l| match l.find("//") {
            Some(at) => &l[..at],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The parts a file's code names through `crate::…` paths, and through `super::super::…`
/// from inside a service or a contract.
fn imports(part: &str, code: &str, src: &Path) -> BTreeSet<Part> {
    let mut found = BTreeSet::new();
    let words: Vec<&str> = code
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .filter(|w| w.starts_with("crate::") || w.starts_with("super::super::"))
        .collect();
    for word in words {
        let segments: Vec<&str> = word.split("::").filter(|s| !s.is_empty()).collect();
        let target = match segments.as_slice() {
            ["crate", top, name, ..]
                if (*top == "services" || *top == "api") && src.join(top).join(name).is_dir() =>
            {
                format!("{top}/{name}")
            }
            ["crate", top, ..] => (*top).to_owned(),
            ["super", "super", name, ..] => match part.split_once('/') {
                Some((top, _)) => format!("{top}/{name}"),
                None => continue,
            },
            _ => continue,
        };
        if target != part {
            found.insert(target);
        }
    }
    found
}

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn graph() -> BTreeMap<Part, BTreeSet<Part>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    assert!(files.len() > 40, "the crate's sources are found");
    let mut graph: BTreeMap<Part, BTreeSet<Part>> = BTreeMap::new();
    for file in files {
        let relative = file.strip_prefix(&src).unwrap_or(&file);
        if relative == Path::new("layers.rs") {
            continue;
        }
        let part = part_of(relative);
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        graph
            .entry(part.clone())
            .or_default()
            .extend(imports(&part, &code(&text), &src));
    }
    graph
}

/// A circle through the parts, if there is one.
fn circle(graph: &BTreeMap<Part, BTreeSet<Part>>) -> Option<Vec<Part>> {
    fn visit(
        node: &Part,
        graph: &BTreeMap<Part, BTreeSet<Part>>,
        path: &mut Vec<Part>,
        done: &mut BTreeSet<Part>,
    ) -> Option<Vec<Part>> {
        if let Some(at) = path.iter().position(|p| p == node) {
            let mut c = path[at..].to_vec();
            c.push(node.clone());
            return Some(c);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.clone());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(c) = visit(next, graph, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(node.clone());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|start| visit(start, graph, &mut Vec::new(), &mut done))
}

/// Every rule broken in `graph`, as sentences.
fn broken_rules(graph: &BTreeMap<Part, BTreeSet<Part>>) -> Vec<String> {
    let mut broken = Vec::new();
    for (part, targets) in graph {
        for target in targets {
            let service = |p: &str| p.starts_with("services/") || p == "services";
            let rule = if part.starts_with("services/") && service(target) {
                Some("a service imports no other service, only its contract in api")
            } else if part.starts_with("api/") && service(target) {
                Some("a contract imports no service")
            } else if part == "store" && !matches!(target.as_str(), "config" | "latency") {
                Some("the store depends on config and the latency model (and telemetry) only")
            } else if part == "latency" && target != "config" {
                Some("the latency model depends on config only")
            } else if part == "broker" && target != "config" {
                Some("the broker depends on config only: it carries messages, whatever they say")
            } else if matches!(
                part.as_str(),
                "service" | "peer" | "server" | "error" | "types" | "consumer"
            ) && (service(target) || target.starts_with("api"))
            {
                Some("the kernel imports no service and no contract")
            } else if matches!(part.as_str(), "loadgen" | "scenario") && service(target) {
                Some("the load engine and the scenario engine import no service")
            } else {
                None
            };
            if let Some(rule) = rule {
                broken.push(format!("{part} imports {target}: {rule}"));
            }
        }
    }
    if let Some(c) = circle(graph) {
        broken.push(format!("imports run in a circle: {}", c.join(" → ")));
    }
    broken
}

#[test]
fn imports_flow_one_way() {
    let graph = graph();
    for part in [
        "service",
        "peer",
        "store",
        "loadgen",
        "api/cart",
        "services/checkout",
    ] {
        assert!(graph.contains_key(part), "{part} is one of the parts");
    }
    let broken = broken_rules(&graph);
    assert!(broken.is_empty(), "{}", broken.join("\n"));
}

#[test]
fn the_check_sees_a_broken_rule_and_a_circle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let code = code(
        "use crate::services::cart::store::X; // crate::store\nuse super::super::payment::model::Card;\n",
    );
    let found = imports("services/checkout", &code, &src);
    assert_eq!(
        found.into_iter().collect::<Vec<_>>(),
        ["services/cart", "services/payment"]
    );
    let mut graph: BTreeMap<Part, BTreeSet<Part>> = BTreeMap::new();
    graph.insert("services/checkout".into(), ["services/cart".into()].into());
    graph.insert("store".into(), ["service".into()].into());
    graph.insert("service".into(), ["store".into()].into());
    let broken = broken_rules(&graph);
    assert!(
        broken
            .iter()
            .any(|b| b.contains("services/checkout imports services/cart")),
        "{broken:?}"
    );
    assert!(
        broken.iter().any(|b| b.contains("store imports service")),
        "{broken:?}"
    );
    assert!(broken.iter().any(|b| b.contains("circle")), "{broken:?}");
}

/// The tables a service's code names in its SQL (`FROM`, `JOIN`, `INTO`, `UPDATE`), less the
/// common table expressions it defines (`WITH [RECURSIVE] name`).
fn tables_in(code: &str) -> BTreeSet<String> {
    let words: Vec<&str> = code
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .collect();
    let ctes: BTreeSet<&str> = words
        .windows(2)
        .filter(|w| matches!(w[0], "WITH" | "RECURSIVE") && w[1] != "RECURSIVE")
        .map(|w| w[1])
        .collect();
    words
        .windows(2)
        .filter(|w| matches!(w[0], "FROM" | "JOIN" | "INTO" | "UPDATE"))
        .map(|w| w[1])
        .filter(|t| t.chars().all(|c| c.is_ascii_lowercase() || c == '_') && !ctes.contains(t))
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_service_touches_only_tables_it_owns_or_shares() {
    use crate::services::SCHEMA;
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src")
        .join("services");
    let mut checked = 0;
    for spec in crate::config::SERVICES {
        let dir = src.join(spec.id.replace('-', "_"));
        let mut files = Vec::new();
        sources(&dir, &mut files);
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap_or_default();
            for table in tables_in(&code(&text)) {
                let declared = SCHEMA.table(&table);
                assert!(
                    declared.is_some_and(|t| t.owner == spec.name
                        || t.shared_with.iter().any(|(s, _)| *s == spec.name)),
                    "{} uses table {table} ({}), which it neither owns nor shares in SCHEMA",
                    spec.id,
                    file.display()
                );
                checked += 1;
            }
        }
    }
    assert!(checked >= 6, "the services' SQL was found ({checked} uses)");
    for table in SCHEMA.tables {
        let created = SCHEMA
            .migrations
            .iter()
            .flat_map(|m| m.statements)
            .any(|s| s.contains(&format!("CREATE TABLE IF NOT EXISTS {} (", table.name)));
        assert!(created, "{} is created by a migration", table.name);
    }
    assert_eq!(
        tables_in(
            "WITH RECURSIVE s(n) AS (SELECT 1 FROM s) SELECT a FROM products p \
             JOIN order_items i; INSERT INTO orders"
        ),
        ["order_items", "orders", "products"]
            .map(String::from)
            .into()
    );
}
