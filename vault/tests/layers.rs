//! The floors of `vault/src`, enforced.
//!
//! `src/lib.rs` lists the top-level modules under `// Floor N` headings.
//! This test reads every `crate::…` and `super::…` path in `src/` (use
//! trees expanded, comments and strings left out) and fails when:
//! * a module uses one on a higher floor;
//! * the graph of top-level modules, or of the files inside one module,
//!   has a cycle;
//! * a feature (floor 4) reaches into another feature's submodules instead
//!   of the items its root offers.
//!
//! It also runs the same checks on small made-up trees, so a check that
//! could not fail would be seen failing to fail.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::Path,
};

/// Floor of the features: they may use each other only through the root.
const FEATURES: usize = 4;

/// Module path (`["pieces", "upload"]`) → source text.
type Sources = BTreeMap<Vec<String>, String>;

fn read_sources(root: &Path) -> Sources {
    let mut out = Sources::new();
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let rel = path.strip_prefix(root).unwrap();
            let mut module: Vec<String> = rel.iter().map(|s| s.to_string_lossy().into_owned()).collect();
            let file = module.pop().unwrap();
            match file.as_str() {
                "lib.rs" | "main.rs" if module.is_empty() => continue,
                "mod.rs" => {}
                f => module.push(f.trim_end_matches(".rs").to_owned()),
            }
            out.insert(module, std::fs::read_to_string(&path).unwrap());
        }
    }
    out
}

/// The floors `lib.rs` declares: module name → floor.
fn floors(lib: &str) -> BTreeMap<String, usize> {
    let mut floor = None;
    let mut out = BTreeMap::new();
    for line in lib.lines() {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("// Floor ") {
            floor = rest.split(|c: char| !c.is_ascii_digit()).next().and_then(|n| n.parse().ok());
        } else if let Some(rest) = line.strip_prefix("pub mod ") {
            let name = rest.split(';').next().unwrap().trim().to_owned();
            out.insert(name, floor.expect("a `pub mod` before the first `// Floor N` heading"));
        }
    }
    out
}

/// The text without comments, string and char literals (kept as blanks so
/// that a path inside a string is not read as one).
fn code_only(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let mut depth = 0;
                while i < b.len() {
                    if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
                        depth += 1;
                        i += 2;
                    } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        i += 1;
                    }
                }
            }
            b'r' if matches!(b.get(i + 1), Some(b'"' | b'#')) && (i == 0 || !is_ident(b[i - 1])) => {
                let mut j = i + 1;
                let mut hashes = 0;
                while b.get(j) == Some(&b'#') {
                    hashes += 1;
                    j += 1;
                }
                if b.get(j) != Some(&b'"') {
                    out.push('r');
                    i += 1;
                    continue;
                }
                j += 1;
                let close: Vec<u8> = std::iter::once(b'"').chain(std::iter::repeat_n(b'#', hashes)).collect();
                while j < b.len() && !b[j..].starts_with(&close) {
                    j += 1;
                }
                i = j + close.len();
                out.push_str("\"\"");
            }
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
                out.push_str("\"\"");
            }
            // A char literal ('a', '\n', '{'), not a lifetime ('a).
            b'\'' if b.get(i + 2) == Some(&b'\'') || b.get(i + 1) == Some(&b'\\') => {
                i += 1;
                while i < b.len() && b[i] != b'\'' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
                out.push_str("' '");
            }
            c => {
                out.push(char::from(c));
                i += 1;
            }
        }
    }
    out
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// Expands the path or use tree at `s` (just after `crate::` or
/// `super::`) into the paths it names.
fn expand(s: &[u8], prefix: Vec<String>, out: &mut Vec<Vec<String>>) -> usize {
    let mut i = 0;
    let mut path = prefix;
    loop {
        while s.get(i).is_some_and(|c| c.is_ascii_whitespace()) {
            i += 1;
        }
        if s.get(i) == Some(&b'{') {
            i += 1;
            loop {
                while s.get(i).is_some_and(|c| c.is_ascii_whitespace() || *c == b',') {
                    i += 1;
                }
                if s.get(i) == Some(&b'}') || i >= s.len() {
                    return i + 1;
                }
                i += expand(&s[i..], path.clone(), out);
            }
        }
        let start = i;
        while s.get(i).copied().is_some_and(is_ident) {
            i += 1;
        }
        if i > start {
            let seg = String::from_utf8_lossy(&s[start..i]).into_owned();
            if seg != "self" {
                path.push(seg);
            }
        }
        if s[i..].starts_with(b"::") {
            i += 2;
            continue;
        }
        // The last segment may be an item rather than a module; the caller
        // resolves to the longest known module prefix.
        out.push(path);
        return i;
    }
}

/// Every module path (resolved to a known module) that `module`'s source names.
fn references(module: &[String], src: &str, known: &BTreeSet<Vec<String>>) -> BTreeSet<Vec<String>> {
    let code = code_only(src);
    let b = code.as_bytes();
    let mut raw = Vec::new();
    for (needle, base) in [("crate::", Vec::new()), ("super::", parent_of(module))] {
        let mut from = 0;
        while let Some(pos) = code[from..].find(needle) {
            let at = from + pos;
            from = at + needle.len();
            if at > 0 && (is_ident(b[at - 1]) || b[at - 1] == b':') {
                continue;
            }
            expand(&b[from..], base.clone(), &mut raw);
        }
    }
    raw.into_iter()
        .filter_map(|p| (1..=p.len()).rev().map(|n| p[..n].to_vec()).find(|m| known.contains(m)))
        .filter(|m| m.as_slice() != module)
        .collect()
}

/// What `super` names from a module (a `mod.rs` file is its directory's
/// module, so `a/mod.rs` and `a.rs` have the same parent).
fn parent_of(module: &[String]) -> Vec<String> {
    module[..module.len().saturating_sub(1)].to_vec()
}

/// A cycle in a directed graph, if any (as the list of its nodes).
fn find_cycle<N: Ord + Clone>(edges: &BTreeMap<N, BTreeSet<N>>) -> Option<Vec<N>> {
    fn visit<N: Ord + Clone>(
        n: &N,
        edges: &BTreeMap<N, BTreeSet<N>>,
        state: &mut BTreeMap<N, u8>,
        stack: &mut Vec<N>,
    ) -> Option<Vec<N>> {
        match state.get(n) {
            Some(2) => return None,
            Some(1) => {
                let from = stack.iter().position(|s| s == n).unwrap_or(0);
                return Some(stack[from..].to_vec());
            }
            _ => {}
        }
        state.insert(n.clone(), 1);
        stack.push(n.clone());
        for m in edges.get(n).into_iter().flatten() {
            if let Some(c) = visit(m, edges, state, stack) {
                return Some(c);
            }
        }
        stack.pop();
        state.insert(n.clone(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for n in edges.keys() {
        if let Some(c) = visit(n, edges, &mut state, &mut Vec::new()) {
            return Some(c);
        }
    }
    None
}

/// Every rule broken by these sources under these floors, in words.
fn violations(sources: &Sources, floors: &BTreeMap<String, usize>) -> Vec<String> {
    let known: BTreeSet<Vec<String>> = sources.keys().cloned().collect();
    let mut problems = Vec::new();
    let mut top: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut files: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    for (module, src) in sources {
        let Some(own) = module.first() else { continue };
        let Some(&own_floor) = floors.get(own) else {
            problems.push(format!("module `{own}` is not listed under a floor in lib.rs"));
            continue;
        };
        top.entry(own.clone()).or_default();
        for r in references(module, src, &known) {
            let target = &r[0];
            if target == own {
                files.entry(module.clone()).or_default().insert(r.clone());
                continue;
            }
            let Some(&floor) = floors.get(target) else { continue };
            if floor > own_floor {
                problems.push(format!(
                    "`{}` (floor {own_floor}) uses `{}` (floor {floor}): nothing imports upward",
                    module.join("::"),
                    r.join("::")
                ));
            }
            if own_floor == FEATURES && floor == FEATURES && r.len() > 1 {
                problems.push(format!(
                    "feature `{}` reaches into `{}`: use what `{target}` offers at its root",
                    module.join("::"),
                    r.join("::")
                ));
            }
            top.entry(own.clone()).or_default().insert(target.clone());
        }
    }
    if let Some(c) = find_cycle(&top) {
        problems.push(format!("the top-level modules form a cycle: {}", c.join(" → ")));
    }
    for m in floors.keys() {
        let inside: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = files
            .iter()
            .filter(|(k, _)| k.first() == Some(m))
            // A parent naming its own child (`mod x; pub use x::…`) is the
            // module tree itself, not a dependency back up.
            .map(|(k, v)| (k.clone(), v.iter().filter(|t| !t.starts_with(k)).cloned().collect()))
            .collect();
        if let Some(c) = find_cycle(&inside) {
            let names: Vec<String> = c.iter().map(|p| p.join("::")).collect();
            problems.push(format!("the files of `{m}` form a cycle: {}", names.join(" → ")));
        }
    }
    problems
}

fn src_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn the_vault_keeps_its_floors() {
    let root = src_dir();
    let sources = read_sources(&root);
    let floors = floors(&std::fs::read_to_string(root.join("lib.rs")).unwrap());
    assert!(floors.len() >= 20, "lib.rs lists its modules by floor: {floors:?}");
    let problems = violations(&sources, &floors);
    assert!(problems.is_empty(), "{} layering problem(s):\n{}", problems.len(), problems.join("\n"));
}

fn made_up(files: &[(&str, &str)]) -> Sources {
    files.iter().map(|(m, s)| (m.split("::").map(str::to_owned).collect(), (*s).to_owned())).collect()
}

fn made_up_floors() -> BTreeMap<String, usize> {
    [("error", 0), ("db", 1), ("app", 2), ("access", 3), ("pieces", 4), ("export", 4), ("web", 5)]
        .into_iter()
        .map(|(m, f)| (m.to_owned(), f))
        .collect()
}

#[test]
fn an_upward_import_is_caught_even_in_a_use_tree() {
    let sources =
        made_up(&[("error", ""), ("db", "use crate::{error::Error, web::page};"), ("web", "use crate::db::Db;")]);
    let problems = violations(&sources, &made_up_floors());
    assert!(problems.iter().any(|p| p.contains("`db` (floor 1) uses `web`")), "{problems:?}");
    assert!(problems.iter().any(|p| p.contains("cycle")), "{problems:?}");
}

#[test]
fn paths_in_comments_and_strings_are_not_imports() {
    let sources = made_up(&[
        ("db", "//! see [`crate::web`]\nconst S: &str = \"crate::web::x\";\n/* crate::web */ fn f() {}"),
        ("web", "use crate::db::Db;"),
    ]);
    assert!(violations(&sources, &made_up_floors()).is_empty());
}

#[test]
fn a_feature_uses_another_through_its_root_only() {
    let sources = made_up(&[
        ("pieces", "pub use upload::Upload;"),
        ("pieces::upload", ""),
        ("export", "use crate::pieces::{Upload, upload::helper};"),
    ]);
    let problems = violations(&sources, &made_up_floors());
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].contains("reaches into `pieces::upload`"), "{problems:?}");
}

#[test]
fn a_cycle_between_files_of_one_module_is_caught() {
    let sources = made_up(&[
        ("export", "mod a; mod b;"),
        ("export::a", "use super::b::g;"),
        ("export::b", "use crate::export::a::f;"),
    ]);
    let problems = violations(&sources, &made_up_floors());
    assert!(problems.iter().any(|p| p.contains("files of `export` form a cycle")), "{problems:?}");
}

/// The graph of a crate's top-level modules, counting an item its root
/// re-exports (`pub use m::{A, B}`) and a module names as `crate::A` as a
/// use of `m`, where it is defined.
fn module_graph(root: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let sources = read_sources(root);
    let known: BTreeSet<Vec<String>> = sources.keys().cloned().collect();
    let lib = code_only(&std::fs::read_to_string(root.join("lib.rs")).unwrap());
    let mut defined_in: BTreeMap<String, String> = BTreeMap::new();
    for stmt in lib.split(';') {
        let Some(rest) = stmt.trim().strip_prefix("pub use ") else { continue };
        let mut paths = Vec::new();
        expand(rest.as_bytes(), Vec::new(), &mut paths);
        for p in paths.into_iter().filter(|p| p.len() >= 2) {
            defined_in.insert(p[p.len() - 1].clone(), p[0].clone());
        }
    }
    let mut top: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (module, src) in &sources {
        let own = module[0].clone();
        let mut uses: BTreeSet<String> = references(module, src, &known).into_iter().map(|r| r[0].clone()).collect();
        let code = code_only(src);
        let mut from = 0;
        while let Some(pos) = code[from..].find("crate::") {
            from += pos + "crate::".len();
            let mut paths = Vec::new();
            expand(&code.as_bytes()[from..], Vec::new(), &mut paths);
            uses.extend(paths.iter().filter_map(|p| defined_in.get(p.first()?)).cloned());
        }
        uses.remove(&own);
        top.entry(own).or_default().extend(uses);
    }
    top
}

/// The vault's neighbours keep no module cycle either (intake's compose
/// and pdf_out, and policies' engine, scope and evaluate, each used the
/// other).
#[test]
fn the_other_crates_have_no_module_cycle() {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    // `jail` is one file: no modules to keep apart.
    for krate in ["intake", "policies", "api", "scanner-ingest"] {
        let graph = module_graph(&workspace.join(krate).join("src"));
        assert!(graph.len() >= 3, "{krate}: {graph:?}");
        assert_eq!(find_cycle(&graph), None, "{krate}: modules in a cycle");
    }
    // And the check sees one through a root re-export.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("lib.rs"), "mod a;\nmod b;\nmod c;\npub use b::Thing;\n").unwrap();
    std::fs::write(dir.path().join("a.rs"), "use crate::Thing;\n").unwrap();
    std::fs::write(dir.path().join("b.rs"), "pub struct Thing;\nfn f() { crate::a::g() }\n").unwrap();
    std::fs::write(dir.path().join("c.rs"), "").unwrap();
    let graph = module_graph(dir.path());
    assert!(find_cycle(&graph).is_some(), "{graph:?}");
}
