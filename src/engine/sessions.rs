//! DECIDE, part two: the deploy-session rule on the Starts of a unit of work. A Start made
//! through a deploy tool may be one API of a Terraform run spiking many at once: it is held until
//! its session window has been delivered, then withheld (logged, not written) or written.

use super::error::Abort;
use super::series_cache::SeriesCache;
use super::trail::{MAX_HELD_PER_SERIES, MAX_HELD_SERIES, TrailState, context};
use super::{Engine, LOG_TARGET, Transitions};
use crate::base::series::SeriesKey;
use crate::base::time::Minute;
use crate::count::attribution::TopCounts;
use crate::count::minutes::MINUTE_ATTRIBUTION_CAPACITY;
use crate::detect::detector::{Phase, TrailContext, Transition};
use crate::detect::session::{self, HeldStart, SESSION_HOLD_MINUTES};
use std::collections::BTreeMap;

/// What the deploy-session rule made of a unit of work's Starts and Ends.
pub(super) struct Verdicts {
    /// To write, in order.
    pub(super) write: Transitions,
    /// Starts withheld: series ID and Start minute.
    pub(super) withheld: Vec<(String, Minute)>,
    /// New Starts held until their session window has been delivered.
    pub(super) held: Vec<(String, Minute)>,
}

impl Engine<'_> {
    /// The deploy-session rule (see [`crate::detect::session`]) on this unit of work's transitions.
    ///
    /// A new Start made through a deploy tool is held in its series' state (the trail keeps an
    /// index), written with the decision as a written Start would be, until files up to
    /// [`SESSION_HOLD_MINUTES`] after its session window have been delivered, or the window is
    /// closed, or `release_all` (the end-of-input flush): a Terraform run reaches its APIs one
    /// after another, so its first API's Start is decided before the rest of the session shows.
    /// What is decided for a held insight meanwhile (a moved Start, its End) waits with it. Then
    /// it is judged on the whole window: withheld (logged, not written, and so is its End) or
    /// written. A Start that moves a written or withheld one keeps that verdict.
    ///
    /// The transitions to write come out in order, released ones first.
    pub(super) fn judge_sessions(
        &self,
        pk: &str,
        trail: &mut TrailState,
        series: &mut SeriesCache,
        transitions: Transitions,
        release_all: bool,
        key: &str,
    ) -> Result<Verdicts, Abort> {
        let ctx = context(trail).filter(|_| self.config.deploy_session_apis > 0);
        let (closed, delivered) = (trail.closed_through, trail.newest_delivery);
        let ready = |until: Minute| {
            release_all
                || ctx.is_none()
                || closed.is_some_and(|c| c >= until)
                || delivered.is_some_and(|d| d >= until.plus(SESSION_HOLD_MINUTES))
        };
        // This unit's transitions: into the hold of their insight, into a new hold, or out.
        let mut now: Transitions = Vec::new();
        let mut judged_now: Vec<usize> = Vec::new();
        let mut held = Vec::new();
        for (sid, t) in transitions {
            let indexed = trail.held.len() < MAX_HELD_SERIES || trail.held.contains_key(&sid);
            let state = series.get(self, pk, &sid, key)?;
            if let Some(h) = state.held.iter_mut().find(|h| !t.drop && h.holds(&t)) {
                h.hold(t);
                continue;
            }
            if ctx.is_some() && self.is_deploy_start(&t) {
                let (_, until) = session::window_of(&t);
                if !ready(until) && indexed && state.held.len() < MAX_HELD_PER_SERIES {
                    tracing::info!(
                        target: LOG_TARGET,
                        key,
                        series = %sid,
                        start = %t.start.to_rfc3339(),
                        until = %until.to_rfc3339(),
                        "insight held: made through a deploy tool, judged once its session \
                         window is delivered"
                    );
                    held.push((sid.clone(), t.start));
                    state.held.push(HeldStart {
                        start: t.start,
                        until,
                        transitions: vec![t],
                    });
                    // Listed now for the cap; `save_series` derives the list from the states.
                    trail.held.entry(sid).or_insert(until);
                    continue;
                }
                judged_now.push(now.len());
            }
            now.push((sid, t));
        }
        // Then the holds whose window has been delivered, before this unit's own (older Starts).
        let due: Vec<String> = trail
            .held
            .iter()
            .filter(|(_, until)| ready(**until))
            .map(|(sid, _)| sid.clone())
            .collect();
        let mut list: Transitions = Vec::new();
        let mut judged: Vec<usize> = Vec::new();
        for sid in due {
            let state = series.get(self, pk, &sid, key)?;
            let (go, keep): (Vec<HeldStart>, Vec<HeldStart>) = std::mem::take(&mut state.held)
                .into_iter()
                .partition(|h| ready(h.until));
            state.held = keep;
            for h in go {
                judged.push(list.len());
                list.extend(h.transitions.into_iter().map(|t| (sid.clone(), t)));
            }
        }
        judged.extend(judged_now.into_iter().map(|i| i + list.len()));
        list.extend(now);
        let withheld = match ctx {
            Some(ctx) => self.withhold_sessions(pk, ctx, series, &mut list, &judged, key)?,
            None => Vec::new(),
        };
        Ok(Verdicts {
            write: list,
            withheld,
            held,
        })
    }

    /// Judge the Starts at `judged` in `list` on their session windows as stored now: mark each
    /// deploy session's Start (and End, when it ended while held) withheld, and its open insight
    /// too. Returns them.
    fn withhold_sessions(
        &self,
        pk: &str,
        ctx: TrailContext,
        series: &mut SeriesCache,
        list: &mut Transitions,
        judged: &[usize],
        key: &str,
    ) -> Result<Vec<(String, Minute)>, Abort> {
        let windows: Vec<(Minute, Minute)> = judged
            .iter()
            .map(|&i| session::window_of(&list[i].1))
            .collect();
        let (Some(from), Some(to)) = (
            windows.iter().map(|w| w.0).min(),
            windows.iter().map(|w| w.1).max(),
        ) else {
            return Ok(Vec::new());
        };
        let minutes = self.minutes_between(pk, from, to, key)?;
        let min_apis = self.config.deploy_session_apis;
        let mut withheld = Vec::new();
        for (&i, &(from, to)) in judged.iter().zip(&windows) {
            let (sid, t) = &list[i];
            let (Some(own), Some((caller, _))) = (
                SeriesKey::from_id(sid),
                t.insight_attribution.callers.first(),
            ) else {
                continue;
            };
            let (sid, start, caller) = (sid.clone(), t.start, caller.clone());
            // The other series in the window: who led each there, and whether its events there
            // are far above its usual rate (a state is read only for those this caller led).
            let mut window: BTreeMap<&str, (u64, TopCounts)> = BTreeMap::new();
            for (_, bucket) in minutes.iter().filter(|(m, _)| (from..=to).contains(m)) {
                for (other, s) in bucket.series.iter().filter(|(other, _)| **other != sid) {
                    let (sum, callers) = window.entry(other.as_str()).or_default();
                    *sum += s.count;
                    callers.merge(&s.attribution.callers, MINUTE_ATTRIBUTION_CAPACITY);
                }
            }
            let mut seen: Vec<(SeriesKey, Option<String>, bool)> = Vec::new();
            for (other, (sum, callers)) in window {
                let Some(other_key) = SeriesKey::from_id(other) else {
                    continue;
                };
                let top = callers.top(1).into_iter().next().map(|(c, _)| c);
                let unusual = top.as_ref() == Some(&caller) && {
                    let cfg = self.config.detector_for(other);
                    let state = series.get(self, pk, other, key)?;
                    state.is_unusual_over(start, sum, to.0 - from.0 + 1, ctx, cfg)
                };
                seen.push((other_key, top, unusual));
            }
            let observations = seen.iter().map(|(k, top, unusual)| session::Observation {
                series: k,
                top_caller: top.as_deref(),
                unusual: *unusual,
            });
            let Some(found) = session::deploy_session(&own, &caller, observations, min_apis) else {
                continue;
            };
            tracing::info!(
                target: LOG_TARGET,
                key,
                series = %own.label(),
                start = %start.to_rfc3339(),
                caller = %found.caller,
                other_apis = ?found.other_apis,
                "insight withheld: deploy session"
            );
            withheld.push((sid.clone(), start));
            // Its Start, and its End when it ended while held.
            for (s, t) in list.iter_mut() {
                if *s == sid && t.start == start && !t.drop {
                    t.withheld = true;
                }
            }
            let state = series.get(self, pk, &sid, key)?;
            if let Some(ins) = state.insight.as_mut().filter(|ins| ins.start == start) {
                ins.withheld = true;
            }
        }
        Ok(withheld)
    }

    /// A new Start (not a moved one, not a drop) whose top user agent is a deploy tool's.
    fn is_deploy_start(&self, t: &Transition) -> bool {
        t.phase == Phase::Start
            && !t.withheld
            && !t.drop
            && t.replaces.is_none()
            && t.insight_attribution
                .agents
                .first()
                .is_some_and(|(agent, _)| {
                    session::is_deploy_agent(agent, &self.config.deploy_session_agents)
                })
    }
}
