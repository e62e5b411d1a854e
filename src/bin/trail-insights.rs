//! The `trail-insights` command line (see `trail_insights::cli`).

fn main() {
    std::process::exit(trail_insights::cli::main());
}
