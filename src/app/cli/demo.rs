//! `trail-insights demo`: generate a trail with injected incidents, replay it, and check that
//! exactly the incidents are found.

use super::replay::{print_summary, replay};
use crate::base::time::Minute;
use crate::config::Config;
use crate::insight::pairs::{PairedInsight, pair};
use crate::synth::demo::Incident;
use anyhow::{Result, bail};
use clap::Args;
use comfy_table::Table;
use std::path::PathBuf;

// The flags of `demo` (its description is on `Command::Demo`).
#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Keep the generated trail, state and Insights here instead of a temporary directory.
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Days of traffic to generate.
    #[arg(long, default_value_t = 9)]
    pub days: u32,
    /// Random seed (the same seed gives the same trail).
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
}

/// Run `demo`: an error when an incident is missed or any other insight is raised.
pub fn command(args: DemoArgs) -> Result<()> {
    let DemoArgs { dir, days, seed } = args;
    let temp = match dir {
        Some(_) => None,
        None => Some(tempfile::tempdir()?),
    };
    let root = match (&dir, &temp) {
        (Some(d), _) => d.clone(),
        (None, Some(t)) => t.path().to_path_buf(),
        (None, None) => bail!("no directory for the demo"),
    };
    let spec = crate::synth::demo::DemoSpec {
        seed,
        days,
        ..Default::default()
    };
    eprintln!(
        "Generating {days} days of CloudTrail logs for account {} in {} ...",
        spec.account, spec.region
    );
    let trail = crate::synth::demo::generate(&root.join("trail"), &spec)?;
    eprintln!(
        "  {} log files, {} events, {} injected incidents",
        trail.files.len(),
        trail.events,
        trail.incidents.len()
    );
    let started = std::time::Instant::now();
    let summary = replay(
        &[root.join("trail")],
        &root.join("state"),
        &root.join("insights"),
        Config::load(None)?,
        true,
        true,
    )?;
    eprintln!("Replayed in {:.1} s.", started.elapsed().as_secs_f64());
    print_summary(&summary);
    let found = pair(summary.insights.clone());
    println!("\nInjected incidents and what was found:");
    let (t, matched) = incidents_table(&trail.incidents, &found);
    println!("{t}");
    let others = found
        .iter()
        .filter(|p| !trail.incidents.iter().any(|i| demo_matches(p, i)))
        .count();
    println!(
        "{matched} of {} injected incidents found; {others} other insights.",
        trail.incidents.len()
    );
    match temp {
        Some(_) => println!("(The generated files were temporary; use --dir DIR to keep them.)"),
        None => println!(
            "Files kept in {}: trail/, state/, insights/",
            root.display()
        ),
    }
    if matched < trail.incidents.len() || others > 0 {
        bail!(
            "the demo's claim does not hold: {matched} of {} incidents found, {others} other \
             insights",
            trail.incidents.len()
        );
    }
    Ok(())
}

/// One row per injected incident with the insight found for it, and how many were found.
fn incidents_table(incidents: &[Incident], found: &[PairedInsight]) -> (Table, usize) {
    let mut t = Table::new();
    t.set_header(vec![
        "Incident",
        "Series",
        "Injected",
        "Insight Start",
        "Insight End",
        "Found",
    ]);
    let mut matched = 0;
    for inc in incidents {
        let hit = found.iter().find(|p| demo_matches(p, inc));
        if hit.is_some() {
            matched += 1;
        }
        t.add_row(vec![
            inc.name.clone(),
            format!(
                "{} {} {}",
                inc.event_source,
                inc.event_name,
                inc.error_code.clone().unwrap_or_default()
            ),
            format!(
                "{} .. {}",
                inc.start.format("%Y-%m-%dT%H:%MZ"),
                inc.end.format("%H:%MZ")
            ),
            hit.and_then(|p| p.start.as_ref())
                .map_or("-".into(), |r| r.event_time.clone()),
            hit.and_then(|p| p.end.as_ref())
                .map_or("-".into(), |r| r.event_time.clone()),
            if hit.is_some() {
                "yes".into()
            } else {
                "MISSED".into()
            },
        ]);
    }
    (t, matched)
}

/// Whether an insight is the one raised for an injected incident (same series, overlapping).
pub fn demo_matches(p: &PairedInsight, inc: &Incident) -> bool {
    let Some(r) = p.start_or_end() else {
        return false;
    };
    let d = &r.insight_details;
    let start = p.start_minute();
    let inc_start = Minute::from_datetime(inc.start);
    let inc_end = Minute::from_datetime(inc.end);
    d.event_source == inc.event_source
        && d.event_name == inc.event_name
        && d.insight_type == inc.insight_type
        && d.error_code == inc.error_code
        && start >= inc_start.plus(-5)
        && start < inc_end
}
