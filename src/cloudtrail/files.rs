//! Local CloudTrail log files: finding them under directories, in delivery order.

use crate::cloudtrail::key::classify_key;
use anyhow::{Context, Result, bail};
use std::path::PathBuf;

/// Find log files under `paths`, sorted in delivery order (the file name's stamp, then the name).
pub fn find_log_files(paths: &[PathBuf]) -> Result<Vec<(String, PathBuf)>> {
    let mut files = Vec::new();
    for p in paths {
        if !p.exists() {
            bail!("{} does not exist", p.display());
        }
        for entry in walkdir::WalkDir::new(p).follow_links(true) {
            let entry = entry.with_context(|| format!("cannot list {}", p.display()))?;
            if !entry.file_type().is_file() {
                continue;
            }
            let path = entry.path().to_string_lossy().replace('\\', "/");
            if let Ok(k) = classify_key(&path) {
                files.push((k.delivered, k.file_name.clone(), path, entry.into_path()));
            }
        }
    }
    files.sort();
    files.dedup_by(|a, b| a.2 == b.2);
    Ok(files
        .into_iter()
        .map(|(_, _, key, path)| (key, path))
        .collect())
}
