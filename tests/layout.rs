//! The source layout keeps the shape README's "Design" section describes: imports between the
//! top-level folders of `src/` point one way (down the pipeline, towards `base/`), few files sit
//! loose at the top, and no file grows past what a reader can hold.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Top-level modules by layer: a module may use only modules of a higher number (further down
/// the pipeline). Modules in the same layer do not use each other.
const LAYERS: &[(&str, u32)] = &[
    ("app", 0),
    ("evaluation", 1),
    ("engine", 2),
    ("aws", 3),
    ("config", 3),
    ("synth", 3),
    ("insight", 4),
    ("detect", 5),
    ("count", 6),
    ("cloudtrail", 7),
    ("store", 7),
    ("base", 8),
];

const MAX_LOOSE_FILES: usize = 6;
const MAX_FILE_LINES: usize = 1000;

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files() -> Vec<PathBuf> {
    walkdir::WalkDir::new(src())
        .into_iter()
        .map(|e| e.unwrap().into_path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .collect()
}

/// The top-level module a file under `src/` belongs to (`None` for lib.rs and the binaries).
fn top_module(path: &Path) -> Option<String> {
    let rel = path.strip_prefix(src()).unwrap();
    let first = rel.components().next()?.as_os_str().to_str()?.to_string();
    let name = first.strip_suffix(".rs").unwrap_or(&first).to_string();
    (name != "lib" && name != "bin").then_some(name)
}

/// The modules named as `crate::<name>` in the file's code outside its unit tests.
fn crate_uses(text: &str) -> Vec<String> {
    let code = text.split("#[cfg(test)]").next().unwrap_or("");
    // Grouped paths (`crate::{a, b}`) would hide the modules they name from this check.
    assert!(
        !code.contains("crate::{"),
        "write `use crate::a::…` paths one module at a time"
    );
    let mut out = Vec::new();
    for (i, _) in code.match_indices("crate::") {
        let rest = &code[i + "crate::".len()..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || *c == '_')
            .collect();
        if !name.is_empty() && !out.contains(&name) {
            out.push(name);
        }
    }
    out
}

#[test]
fn imports_point_down_the_pipeline() {
    let layer: BTreeMap<&str, u32> = LAYERS.iter().copied().collect();
    let files = rust_files();
    let mut wrong = Vec::new();
    for path in &files {
        let Some(top) = top_module(path) else {
            continue;
        };
        let Some(&own) = layer.get(top.as_str()) else {
            wrong.push(format!(
                "{}: top-level module `{top}` has no layer",
                path.display()
            ));
            continue;
        };
        let text = std::fs::read_to_string(path).unwrap();
        for used in crate_uses(&text) {
            if used == top {
                continue;
            }
            match layer.get(used.as_str()) {
                Some(&l) if l > own => {}
                _ => wrong.push(format!("{} uses crate::{used}", path.display())),
            }
        }
    }
    assert!(files.len() > 40, "found only {} source files", files.len());
    assert!(
        wrong.is_empty(),
        "imports against the layers:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn few_loose_files_and_none_too_long() {
    let loose: Vec<String> = std::fs::read_dir(src())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert!(
        loose.len() <= MAX_LOOSE_FILES,
        "loose files at the top of src/: {loose:?}"
    );
    let files = rust_files();
    let long: Vec<String> = files
        .iter()
        .map(|p| (p, std::fs::read_to_string(p).unwrap().lines().count()))
        .filter(|(_, n)| *n > MAX_FILE_LINES)
        .map(|(p, n)| format!("{}: {n} lines", p.display()))
        .collect();
    assert!(
        long.is_empty(),
        "files over {MAX_FILE_LINES} lines:\n{}",
        long.join("\n")
    );
}
