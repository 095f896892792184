//! The layering of the top-level modules holds: they form no cycle, `facts` uses none of the
//! others, and every dependency is one `src/lib.rs` documents (and every documented one is
//! real), so the map there stays true.
//!
//! Reads `src/**/*.rs` as text: for each top-level module, the other top-level modules its
//! code names through `crate::X`, `crate::{X, …}` (also across lines) or a `super::` chain that
//! climbs to the crate root. Comments and string literals are skipped, so doc links do not
//! count. `src/main.rs` and `src/main/` are the binary, a crate of its own, and not looked at.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Module → (module it names → first place it does, as `file:line`).
type Graph = BTreeMap<String, BTreeMap<String, String>>;

#[test]
fn top_level_modules_form_no_cycle() {
    let graph = graph(&src_dir());
    if let Some(cycle) = find_cycle(&graph) {
        let mut text = cycle.join(" -> ");
        for pair in cycle.windows(2) {
            text.push_str(&format!("\n  {} -> {} at {}", pair[0], pair[1], graph[&pair[0]][&pair[1]]));
        }
        panic!("the top-level modules form a cycle: {text}");
    }
}

#[test]
fn facts_names_no_other_module() {
    let graph = graph(&src_dir());
    let uses = graph.get("facts").expect("src/facts/ exists");
    assert!(uses.is_empty(), "facts must stay at the bottom, but it names {uses:?}");
}

#[test]
fn lib_rs_documents_the_dependencies_there_are() {
    let graph = graph(&src_dir());
    let documented = documented(&std::fs::read_to_string(src_dir().join("lib.rs")).unwrap());
    let mut wrong = Vec::new();
    for (module, uses) in &graph {
        let allowed = documented.get(module);
        for (used, at) in uses {
            if !allowed.is_some_and(|a| a.contains(used)) {
                wrong.push(format!("{module} -> {used} (at {at}) is not in lib.rs's map"));
            }
        }
    }
    for (module, allowed) in &documented {
        for used in allowed {
            if !graph.get(module).is_some_and(|u| u.contains_key(used)) {
                wrong.push(format!("lib.rs's map says {module} -> {used}, but {module} does not use {used}"));
            }
        }
        if !graph.contains_key(module) {
            wrong.push(format!("lib.rs's map names a module {module} that src/ does not have"));
        }
    }
    for module in graph.keys() {
        if !documented.contains_key(module) {
            wrong.push(format!("module {module} has no line in lib.rs's map"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_reader_sees_every_form() {
    let text = "use crate::{\n    a::B,\n    b::{self, C},\n    c as d,\n};\nuse super::super::k::L;\n\
                // crate::commented\nfn f() { let s = \"crate::quoted\"; crate::e::g(); }\n\
                mod tests { use super::super::super::h::I; use super::super::not_top; }";
    let mut found = BTreeMap::new();
    references(text, "z/y.rs", 2, &mut found);
    let names: BTreeSet<_> = found.keys().map(String::as_str).collect();
    assert_eq!(names, BTreeSet::from(["a", "b", "c", "e", "h", "k"]));
}

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The module graph of the crate under `src`.
fn graph(src: &Path) -> Graph {
    let mut graph = Graph::new();
    let mut files = Vec::new();
    rust_files(src, &mut files);
    // Names `crate::X` may give that are top-level modules; anything else is an item of the
    // crate root itself (`crate::corpus_dir`, the test-data helper), not a layer.
    let modules: BTreeSet<String> = files
        .iter()
        .filter_map(|f| f.strip_prefix(src).ok()?.components().next())
        .map(|c| c.as_os_str().to_string_lossy().trim_end_matches(".rs").to_string())
        .filter(|m| m != "lib" && m != "main")
        .collect();
    for file in files {
        let rel = file.strip_prefix(src).unwrap().to_string_lossy().replace('\\', "/");
        if rel == "lib.rs" || rel == "main.rs" || rel.starts_with("main/") {
            continue;
        }
        let top = rel.split('/').next().unwrap().trim_end_matches(".rs").to_string();
        // Depth of the file's module below the crate root: `a.rs` and `a/mod.rs` 1, `a/b.rs` 2.
        let parts: Vec<&str> = rel.split('/').collect();
        let depth = parts.len() - usize::from(parts.last() == Some(&"mod.rs"));
        let text = std::fs::read_to_string(&file).unwrap();
        let uses = graph.entry(top.clone()).or_default();
        let mut found = BTreeMap::new();
        references(&text, &rel, depth, &mut found);
        for (module, at) in found {
            if module != top && modules.contains(&module) {
                uses.entry(module).or_insert(at);
            }
        }
    }
    graph
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// One token of Rust source: an identifier or keyword, or one punctuation character, with its
/// line. Comments, strings and character literals are dropped.
fn tokens(text: &str) -> Vec<(String, usize)> {
    let b = text.as_bytes();
    let (mut i, mut line, mut out) = (0, 1, Vec::new());
    while i < b.len() {
        let c = b[i];
        if c == b'\n' {
            line += 1;
            i += 1;
        } else if b[i..].starts_with(b"//") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i..].starts_with(b"/*") {
            let mut depth = 0;
            while i < b.len() {
                if b[i..].starts_with(b"/*") {
                    depth += 1;
                    i += 2;
                } else if b[i..].starts_with(b"*/") {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    line += usize::from(b[i] == b'\n');
                    i += 1;
                }
            }
        } else if c == b'r' && matches!(b.get(i + 1), Some(b'"' | b'#')) && raw_string_end(b, i).is_some() {
            let end = raw_string_end(b, i).unwrap();
            line += b[i..end].iter().filter(|&&c| c == b'\n').count();
            i = end;
        } else if c == b'"' || (c == b'b' && b.get(i + 1) == Some(&b'"')) {
            i += if c == b'b' { 2 } else { 1 };
            while i < b.len() && b[i] != b'"' {
                line += usize::from(b[i] == b'\n');
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
        } else if c == b'\'' && (b.get(i + 2) == Some(&b'\'') || b.get(i + 1) == Some(&b'\\')) {
            // A character literal ('x', '\n', '\u{..}'); a lifetime has no closing quote.
            i += 2;
            while i < b.len() && b[i] != b'\'' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
        } else if c.is_ascii_alphabetic() || c == b'_' {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            out.push((text[start..i].to_string(), line));
        } else {
            if !c.is_ascii_whitespace() {
                out.push(((c as char).to_string(), line));
            }
            i += 1;
        }
    }
    out
}

/// The end of a raw string starting at `i` (`r"…"`, `r#"…"#`), if it is one.
fn raw_string_end(b: &[u8], i: usize) -> Option<usize> {
    let hashes = b[i + 1..].iter().take_while(|&&c| c == b'#').count();
    if b.get(i + 1 + hashes) != Some(&b'"') {
        return None;
    }
    let close: Vec<u8> = std::iter::once(b'"').chain(std::iter::repeat_n(b'#', hashes)).collect();
    let body = i + 2 + hashes;
    (body..b.len()).find(|&j| b[j..].starts_with(&close)).map(|j| j + close.len())
}

/// The top-level modules `text` (a file `depth` modules below the crate root) names, each with
/// its first place.
fn references(text: &str, file: &str, depth: usize, found: &mut BTreeMap<String, String>) {
    let t = tokens(text);
    let tok = |k: usize| t.get(k).map_or("", |(s, _)| s.as_str());
    let is_path_sep = |k: usize| tok(k) == ":" && tok(k + 1) == ":";
    let mut add = |name: &str, line: usize| {
        if name != "self" && name != "super" && name != "crate" && !name.is_empty() {
            found.entry(name.to_string()).or_insert_with(|| format!("{file}:{line}"));
        }
    };
    // Inline `mod name {` blocks open at this point, as the brace depth they opened at.
    let (mut braces, mut inline_mods) = (0usize, Vec::new());
    let mut k = 0;
    while k < t.len() {
        match tok(k) {
            "{" => braces += 1,
            "}" => {
                braces = braces.saturating_sub(1);
                if inline_mods.last() == Some(&braces) {
                    inline_mods.pop();
                }
            }
            "mod" if tok(k + 2) == "{" => inline_mods.push(braces),
            "crate" if is_path_sep(k + 1) => {
                if tok(k + 3) == "{" {
                    group(&t, k + 3, &mut add);
                } else {
                    add(tok(k + 3), t[k].1);
                }
            }
            "super" if tok(k.wrapping_sub(1)) != ":" => {
                let mut climbs = 0;
                let mut j = k;
                while tok(j) == "super" && is_path_sep(j + 1) {
                    climbs += 1;
                    j += 3;
                }
                if climbs == depth + inline_mods.len() {
                    if tok(j) == "{" {
                        group(&t, j, &mut add);
                    } else {
                        add(tok(j), t[k].1);
                    }
                }
            }
            _ => {}
        }
        k += 1;
    }
}

/// The first name of each item of the `{ … }` group opening at token `open`.
fn group(t: &[(String, usize)], open: usize, add: &mut impl FnMut(&str, usize)) {
    let mut depth = 0;
    let mut item_start = true;
    for (s, line) in &t[open..] {
        match s.as_str() {
            "{" => {
                depth += 1;
                item_start = depth == 1;
                continue;
            }
            "}" => {
                depth -= 1;
                if depth == 0 {
                    return;
                }
            }
            "," if depth == 1 => {
                item_start = true;
                continue;
            }
            name if item_start && depth == 1 => add(name, *line),
            _ => {}
        }
        item_start = false;
    }
}

/// A cycle of the graph, as the modules along it with the first repeated at the end.
fn find_cycle(graph: &Graph) -> Option<Vec<String>> {
    fn visit(graph: &Graph, node: &str, path: &mut Vec<String>, done: &mut BTreeSet<String>) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut cycle = path[at..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flat_map(|u| u.keys()) {
            if let Some(cycle) = visit(graph, next, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph.keys().find_map(|n| visit(graph, n, &mut Vec::new(), &mut done))
}

/// The map in lib.rs's doc comment: the lines between `Allowed dependencies` and the end of
/// the code block after it, each `module → dep, dep` (or `module → nothing`).
fn documented(lib: &str) -> BTreeMap<String, BTreeSet<String>> {
    let doc: Vec<&str> = lib.lines().filter_map(|l| l.strip_prefix("//!")).map(str::trim).collect();
    let start = doc.iter().position(|l| l.contains("Allowed dependencies")).expect("lib.rs has the map");
    let mut map = BTreeMap::new();
    let mut fences = 0;
    for line in &doc[start..] {
        if line.starts_with("```") {
            fences += 1;
            if fences == 2 {
                break;
            }
            continue;
        }
        if fences == 1 {
            let (module, deps) = line.split_once('→').expect("each line of the map is `module → deps`");
            let deps = deps.split(',').map(str::trim).filter(|d| *d != "nothing" && !d.is_empty());
            map.insert(module.trim().to_string(), deps.map(str::to_string).collect());
        }
    }
    map
}
