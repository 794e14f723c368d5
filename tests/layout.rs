//! The house keeps its own rules: the flow `src/lib.rs` draws is the flow
//! the imports follow, every file says what it owns, and no file grows past
//! what a reader holds in their head.
//!
//! The layer order is read from `src/lib.rs` itself (its `layers:` line), so
//! the documentation and this check cannot drift apart.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A file past this many lines is split along its concepts (STYLE.md).
const MAX_LINES: usize = 600;

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn all_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    files.sort();
    files
}

/// The layer order, upstream first, from the `layers:` line of `src/lib.rs`
/// (it may run over several doc lines, up to the next blank one).
fn layers() -> Vec<String> {
    let lib = std::fs::read_to_string(src().join("lib.rs")).unwrap();
    let mut words = Vec::new();
    let mut on = false;
    for line in lib.lines() {
        let text = line.trim_start_matches("//!").trim();
        if let Some(rest) = text.strip_prefix("layers:") {
            on = true;
            words.extend(rest.split_whitespace().map(str::to_string));
        } else if on {
            if text.is_empty() {
                break;
            }
            words.extend(text.split_whitespace().map(str::to_string));
        }
    }
    assert!(!words.is_empty(), "src/lib.rs has no `layers:` line");
    words
}

/// The unit a file belongs to: its top-level module, or
/// `schedule::occurrence` for that one file.
fn unit_of(rel: &str) -> String {
    if rel.starts_with("schedule/occurrence") {
        return "schedule::occurrence".to_string();
    }
    rel.split('/')
        .next()
        .unwrap_or(rel)
        .trim_end_matches(".rs")
        .to_string()
}

/// Test code may drive a module through its callers: files under a `tests`
/// folder, `tests.rs`, and everything after an inline `#[cfg(test)] mod`.
fn library_code(rel: &str, text: &str) -> Option<String> {
    if rel.split('/').any(|p| p == "tests" || p == "tests.rs") {
        return None;
    }
    let end = text.find("#[cfg(test)]\nmod ").unwrap_or(text.len());
    Some(text[..end].to_string())
}

/// Every `crate::<unit>` a piece of library code names, outside comments.
fn uses(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in code.lines() {
        let line = line.trim_start();
        if line.starts_with("//") {
            continue;
        }
        let mut rest = line;
        while let Some(at) = rest.find("crate::") {
            rest = &rest[at + "crate::".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                .collect();
            let unit = if name == "schedule" && rest[name.len()..].starts_with("::occurrence") {
                "schedule::occurrence".to_string()
            } else {
                name
            };
            if !unit.is_empty() {
                out.push(unit);
            }
        }
    }
    out
}

#[test]
fn no_module_reaches_back_up_the_flow() {
    let order = layers();
    let rank: BTreeMap<&str, usize> = order
        .iter()
        .enumerate()
        .map(|(i, m)| (m.as_str(), i))
        .collect();
    let mut against = Vec::new();
    for path in all_files() {
        let rel = path
            .strip_prefix(src())
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        if rel == "lib.rs" || rel == "main.rs" {
            continue;
        }
        let unit = unit_of(&rel);
        let Some(&mine) = rank.get(unit.as_str()) else {
            against.push(format!(
                "{rel}: module `{unit}` is not on the `layers:` line of src/lib.rs"
            ));
            continue;
        };
        let Some(code) = library_code(&rel, &std::fs::read_to_string(&path).unwrap()) else {
            continue;
        };
        for used in uses(&code) {
            if used == unit || (unit == "schedule" && used == "schedule::occurrence") {
                continue;
            }
            match rank.get(used.as_str()) {
                Some(&theirs) if theirs < mine => {}
                Some(_) => against.push(format!(
                    "{rel}: `{unit}` uses `crate::{used}`, which stands after it in the flow"
                )),
                None => against.push(format!(
                    "{rel}: uses `crate::{used}`, which is not on the `layers:` line"
                )),
            }
        }
    }
    against.sort();
    against.dedup();
    assert!(against.is_empty(), "{}", against.join("\n"));
}

#[test]
fn the_layers_line_names_every_module_once() {
    let order = layers();
    let mut seen = std::collections::BTreeSet::new();
    for m in &order {
        assert!(seen.insert(m.clone()), "`{m}` twice on the layers line");
    }
    let lib = std::fs::read_to_string(src().join("lib.rs")).unwrap();
    for line in lib.lines() {
        if let Some(name) = line.strip_prefix("pub mod ") {
            let name = name.trim_end_matches(';');
            assert!(
                seen.contains(name),
                "module `{name}` is not on the layers line of src/lib.rs"
            );
        }
    }
}

#[test]
fn no_file_is_longer_than_a_reader_holds_in_their_head() {
    let mut long = Vec::new();
    for path in all_files() {
        let lines = std::fs::read_to_string(&path).unwrap().lines().count();
        if lines > MAX_LINES {
            long.push(format!("{}: {lines} lines", path.display()));
        }
    }
    assert!(
        long.is_empty(),
        "split these along their concepts (at most {MAX_LINES} lines):\n{}",
        long.join("\n")
    );
}

#[test]
fn every_file_says_what_it_owns() {
    let mut silent = Vec::new();
    for path in all_files() {
        let text = std::fs::read_to_string(&path).unwrap();
        if !text.trim_start().starts_with("//!") {
            silent.push(path.display().to_string());
        }
    }
    assert!(
        silent.is_empty(),
        "these files open without a `//!` doc saying what they own:\n{}",
        silent.join("\n")
    );
}
