//! `trail-insights plot` on the demo trail: each injected incident's insight is drawn from the
//! embedded store and the Insights files, as SVG and PNG, through the binary.

mod common;

use common::demo_trail;
use std::process::Command;
use trail_insights::app::cli::plot::{CountsFrom, plot_command};
use trail_insights::app::cli::replay::replay;
use trail_insights::config::Config;
use trail_insights::insight::pairs::lookup;
use trail_insights::insight::plot::{CONTEXT_MINUTES, HEIGHT, WIDTH};

#[test]
fn demo_insights_are_drawn_with_series_baseline_band_marks_and_callers() {
    let (dir, trail) = demo_trail();
    let work = tempfile::tempdir().unwrap();
    let (state, out) = (work.path().join("state"), work.path().join("out"));
    replay(
        std::slice::from_ref(dir),
        &state,
        &out,
        Config::default(),
        true,
        false,
    )
    .unwrap();
    let found = lookup(&out).unwrap();
    assert_eq!(found.len(), trail.incidents.len());
    for p in &found {
        let start = p.start.as_ref().unwrap();
        let end = p.end.as_ref().unwrap();
        let id = &start.shared_event_id;
        let inc = trail
            .incidents
            .iter()
            .find(|i| i.event_name == start.insight_details.event_name)
            .unwrap();

        let svg_path = work.path().join(format!("{id}.svg"));
        let g = plot_command(
            id,
            out.to_str().unwrap(),
            CountsFrom::State(&state),
            None,
            &svg_path,
        )
        .unwrap();
        // The series in the graph is the injected traffic: every minute of the incident holds at
        // least the injected calls, and the window reaches half an hour either side.
        let injected_start = trail_insights::base::time::Minute::from_datetime(inc.start);
        let injected_end = trail_insights::base::time::Minute::from_datetime(inc.end);
        for (m, c) in &g.minutes {
            if *m >= injected_start && *m < injected_end {
                assert!(*c >= u64::from(inc.per_minute), "{m:?}: {c}");
            }
        }
        assert_eq!(g.minutes.first().unwrap().0, g.start.plus(-CONTEXT_MINUTES));
        assert_eq!(
            g.minutes.last().unwrap().0,
            g.end.unwrap().plus(CONTEXT_MINUTES)
        );
        let svg = std::fs::read_to_string(&svg_path).unwrap();
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        let hhmm = |t: &str| t[11..16].to_string();
        for needle in [
            format!(" Start {}", hhmm(&start.event_time)),
            format!(" End {}", hhmm(&end.event_time)),
            format!(
                "baseline average {:.4}/min",
                end.insight_details
                    .insight_context
                    .statistics
                    .baseline
                    .average
            ),
            inc.caller_arn.clone(),
            start.insight_details.event_name.clone(),
            "Top callers during the insight".to_string(),
        ] {
            assert!(svg.contains(&needle), "{id}: the SVG lacks {needle}");
        }
        assert!(svg.contains("<polyline"), "series line");
        assert!(svg.matches("<rect").count() >= 2, "background and band");

        // The same through the binary, as PNG.
        let png_path = work.path().join(format!("{id}.png"));
        let status = Command::new(env!("CARGO_BIN_EXE_trail-insights"))
            .args(["plot", "--insight", id, "--state"])
            .arg(&state)
            .arg("--out")
            .arg(&out)
            .arg("--output")
            .arg(&png_path)
            .status()
            .unwrap();
        assert!(status.success());
        let png = std::fs::read(&png_path).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
        assert_eq!(
            (be(&png[16..20]), be(&png[20..24])),
            (WIDTH, HEIGHT),
            "IHDR"
        );
        assert!(png.len() > 20_000, "a drawn picture, not a blank one");
    }
}

#[test]
fn plot_errors_name_the_problem() {
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("none");
    std::fs::create_dir_all(&out).unwrap();
    let e = plot_command(
        "nope",
        out.to_str().unwrap(),
        CountsFrom::State(work.path()),
        None,
        &work.path().join("x.svg"),
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("no Insights record with sharedEventID nope"),
        "{e}"
    );
    let e = plot_command(
        "nope",
        out.to_str().unwrap(),
        CountsFrom::State(work.path()),
        None,
        &work.path().join("x.pdf"),
    )
    .unwrap_err();
    assert!(e.to_string().contains(".svg or .png"), "{e}");
}
