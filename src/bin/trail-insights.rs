//! The `trail-insights` command line (see `trail_insights::app::cli`).

fn main() {
    std::process::exit(trail_insights::app::cli::main());
}
