//! Progress bars of the command line's long runs (replay, backfill).

use indicatif::{ProgressBar, ProgressStyle};

/// A progress bar over files, drawn only on a terminal (and only when `visible`).
pub fn file_progress(verb: &str, files: usize, visible: bool) -> ProgressBar {
    let bar = if visible {
        ProgressBar::new(files as u64)
    } else {
        ProgressBar::hidden()
    };
    let template = format!(
        "{{spinner}} {verb} [{{bar:30}}] {{pos}}/{{len}} files {{per_sec}} eta {{eta}} {{msg}}"
    );
    bar.set_style(
        ProgressStyle::with_template(&template)
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar
}
