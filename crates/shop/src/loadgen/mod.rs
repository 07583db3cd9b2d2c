//! The load engine behind the load-generator service and `tracemart load`: shopper journeys
//! in an open model (journeys per second, constant or ramping) or a closed one (virtual users),
//! bounded by time or journey count, shaped by a profile, measured without coordinated
//! omission.

pub mod journeys;
mod kind;
pub mod stats;

pub use kind::JourneyKind;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use serde::{Deserialize, Serialize};
use tokio::sync::{Semaphore, watch};

use journeys::{Journey, Target};
use stats::Stats;

/// Journeys per second over time.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "shape", rename_all = "snake_case")]
pub enum Rate {
    Constant {
        per_second: f64,
    },
    /// Linear from `from` to `to` over `over_s` seconds, then `to`.
    Ramp {
        from: f64,
        to: f64,
        over_s: f64,
    },
}

impl Rate {
    pub fn at(&self, elapsed: Duration) -> f64 {
        match *self {
            Rate::Constant { per_second } => per_second,
            Rate::Ramp { from, to, over_s } => {
                let f = if over_s <= 0.0 {
                    1.0
                } else {
                    (elapsed.as_secs_f64() / over_s).min(1.0)
                };
                from + (to - from) * f
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "model", rename_all = "snake_case")]
pub enum Model {
    /// Journeys start on a schedule, whether or not earlier ones have finished.
    Open { rate: Rate },
    /// Each virtual user runs one journey after another.
    Closed { users: usize },
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "snake_case")]
pub enum Profile {
    /// The original's mix: browse 60%, browse-and-cart 25%, checkout 15%.
    Shop,
    /// Black Friday's crowd: baseline journeys at the model's rate, plus checkouts ramping
    /// from 60 to 180 a minute over the story's first ten minutes (`600 / speed` seconds), so
    /// checkouts rise from a quarter of the journeys to over half of them at the default rate.
    Blackfriday { speed: f64 },
    /// One GET of the target per journey: benchmarks.
    Ping,
}

/// Black Friday's checkouts per second, at the start of the story and from its tenth minute:
/// enough that `tracemart validate` can judge every step of the story at `--speed 10` (its
/// first step then lasts 24 seconds and needs 20 checkouts).
pub const BLACKFRIDAY_CHECKOUTS: (f64, f64) = (1.0, 3.0);

impl Profile {
    pub fn parse(name: &str, speed: f64) -> Option<Profile> {
        match name {
            "shop" | "default" => Some(Profile::Shop),
            "blackfriday" => Some(Profile::Blackfriday { speed }),
            "ping" => Some(Profile::Ping),
            _ => None,
        }
    }
}

/// When a bounded run stops starting journeys.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Bound {
    Unbounded,
    Duration(Duration),
    Journeys(u64),
}

/// How a journey's requests get their `traffic.type`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Tagging {
    /// As the original: the checkout request (and everything it calls) is demo traffic, every
    /// other request baseline, whichever journey it belongs to.
    #[default]
    PerRequest,
    /// Every request of a journey carries the journey's type: a checkout journey's browse and
    /// add-to-cart requests are demo traffic too.
    PerJourney,
}

/// What to run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub model: Model,
    pub profile: Profile,
    /// `traffic.type` of baseline traffic: browse and browse-and-cart journeys, and every
    /// request but the checkout.
    pub baseline_type: String,
    /// `traffic.type` of demo traffic: checkout journeys and their checkout request.
    pub demo_type: String,
    #[serde(default)]
    pub tagging: Tagging,
    pub think_time_ms: (u64, u64),
    pub max_in_flight: usize,
}

impl Plan {
    /// The journey's own traffic type.
    pub fn traffic_type(&self, kind: JourneyKind) -> &str {
        match kind {
            JourneyKind::Checkout => &self.demo_type,
            _ => &self.baseline_type,
        }
    }

    /// The traffic types of a journey's requests under the plan's tagging.
    pub fn request_types(&self, kind: JourneyKind) -> journeys::RequestTypes {
        match self.tagging {
            Tagging::PerRequest => journeys::RequestTypes {
                checkout: self.demo_type.clone(),
                other: self.baseline_type.clone(),
            },
            Tagging::PerJourney => journeys::RequestTypes {
                checkout: self.traffic_type(kind).to_owned(),
                other: self.traffic_type(kind).to_owned(),
            },
        }
    }

    /// The open-model streams: which journeys, at which rate.
    fn streams(&self) -> Vec<(Vec<JourneyKind>, Rate)> {
        let Model::Open { rate } = self.model else {
            return Vec::new();
        };
        match self.profile {
            Profile::Shop => vec![(JourneyKind::ALL.to_vec(), rate)],
            Profile::Ping => vec![(vec![JourneyKind::Ping], rate)],
            Profile::Blackfriday { speed } => vec![
                (vec![JourneyKind::Browse, JourneyKind::BrowseAndCart], rate),
                (
                    vec![JourneyKind::Checkout],
                    Rate::Ramp {
                        from: BLACKFRIDAY_CHECKOUTS.0,
                        to: BLACKFRIDAY_CHECKOUTS.1,
                        over_s: 600.0 / speed.max(1e-3),
                    },
                ),
            ],
        }
    }

    /// The journeys a closed-model user picks from.
    fn closed_mix(&self) -> Vec<JourneyKind> {
        match self.profile {
            Profile::Ping => vec![JourneyKind::Ping],
            _ => JourneyKind::ALL.to_vec(),
        }
    }
}

/// Everything the journeys of one run share.
struct Run {
    plan: Plan,
    target: Target,
    stats: Arc<Stats>,
    permits: Arc<Semaphore>,
    started: AtomicU64,
    limit: Option<u64>,
    seeds: std::sync::Mutex<StdRng>,
    /// Journeys spawned and not finished, counted from the moment they are spawned (before
    /// they wait for a permit), so the run ends only after the last one: a journey still
    /// starting when the caller flushes its telemetry would send requests whose parent span
    /// no backend gets.
    outstanding: watch::Sender<usize>,
}

/// One spawned journey, counted until it is dropped, however it ends: in `Run::outstanding`
/// (the run ends after the last one) and in the stats' journeys in flight (waiting for a
/// permit counts).
struct Outstanding(Arc<Run>);

impl Outstanding {
    fn new(run: &Arc<Run>) -> Self {
        run.outstanding.send_modify(|n| *n += 1);
        run.stats.in_flight.fetch_add(1, Ordering::Relaxed);
        Self(run.clone())
    }
}

impl Drop for Outstanding {
    fn drop(&mut self) {
        self.0.stats.in_flight.fetch_sub(1, Ordering::Relaxed);
        self.0.outstanding.send_modify(|n| *n = n.saturating_sub(1));
    }
}

impl Run {
    /// Claims the right to start one more journey under a count bound.
    fn claim(&self) -> bool {
        let n = self.started.fetch_add(1, Ordering::Relaxed);
        self.limit.is_none_or(|limit| n < limit)
    }

    fn journey(&self, kinds: &[JourneyKind], intended_start: Instant) -> Journey {
        let mut rng = self.seeds.lock().unwrap_or_else(|e| e.into_inner());
        let kind = journeys::pick_from(&mut *rng, kinds);
        Journey {
            kind,
            traffic_type: self.plan.traffic_type(kind).to_owned(),
            request_types: self.plan.request_types(kind),
            session_id: format!("s-{:016x}", rng.random::<u64>()),
            think_time: (
                Duration::from_millis(self.plan.think_time_ms.0),
                Duration::from_millis(self.plan.think_time_ms.1),
            ),
            rng: StdRng::seed_from_u64(rng.random()),
            intended_start,
        }
    }
}

/// Runs `plan` until `bound`, `stop` turns true, or (for the service) the plan changes; waits for
/// the journeys in flight. Returns how many journeys it started.
pub async fn run(
    plan: Plan,
    bound: Bound,
    seed: Option<u64>,
    target: Target,
    stats: Arc<Stats>,
    mut stop: watch::Receiver<bool>,
) -> u64 {
    let run = Arc::new(Run {
        permits: Arc::new(Semaphore::new(plan.max_in_flight.max(1))),
        limit: match bound {
            Bound::Journeys(n) => Some(n),
            _ => None,
        },
        seeds: std::sync::Mutex::new(match seed {
            Some(s) => StdRng::seed_from_u64(s),
            None => StdRng::from_os_rng(),
        }),
        started: AtomicU64::new(0),
        outstanding: watch::Sender::new(0),
        plan,
        target,
        stats,
    });
    let deadline = match bound {
        Bound::Duration(d) => Some(tokio::time::Instant::now() + d),
        _ => None,
    };
    let mut schedulers = tokio::task::JoinSet::new();
    match run.plan.model {
        Model::Open { .. } => {
            for (kinds, rate) in run.plan.streams() {
                schedulers.spawn(open_stream(run.clone(), kinds, rate, deadline));
            }
        }
        Model::Closed { users } => {
            for _ in 0..users.max(1) {
                schedulers.spawn(closed_user(run.clone(), deadline));
            }
        }
    }
    let mut stopping = false;
    loop {
        tokio::select! {
            done = schedulers.join_next() => if done.is_none() { break },
            _ = stop.wait_for(|s| *s), if !stopping => {
                stopping = true;
                schedulers.abort_all();
            }
        }
    }
    // The schedulers are done: wait for every journey they spawned.
    let _ = run.outstanding.subscribe().wait_for(|n| *n == 0).await;
    run.started
        .load(Ordering::Relaxed)
        .min(run.limit.unwrap_or(u64::MAX))
}

/// One journey under the in-flight cap; waiting for a permit counts in its latency.
async fn launch(spawned: Outstanding, journey: Journey) {
    let run = &spawned.0;
    if let Ok(_permit) = run.permits.clone().acquire_owned().await {
        let _ = journey.run(&run.target, &run.stats).await;
    }
}

/// Starts journeys at their intended times, each in a task of its own.
async fn open_stream(
    run: Arc<Run>,
    kinds: Vec<JourneyKind>,
    rate: Rate,
    deadline: Option<tokio::time::Instant>,
) {
    let t0 = Instant::now();
    let mut next = t0;
    loop {
        let per_second = rate.at(next - t0).max(1e-3);
        next += Duration::from_secs_f64(1.0 / per_second);
        let when = tokio::time::Instant::from_std(next);
        if deadline.is_some_and(|d| when > d) {
            return;
        }
        tokio::time::sleep_until(when).await;
        if !run.claim() {
            return;
        }
        tokio::spawn(launch(Outstanding::new(&run), run.journey(&kinds, next)));
    }
}

/// One virtual user: a journey, then the next, until the bound.
async fn closed_user(run: Arc<Run>, deadline: Option<tokio::time::Instant>) {
    let kinds = run.plan.closed_mix();
    while deadline.is_none_or(|d| tokio::time::Instant::now() < d) && run.claim() {
        // A task of its own: stopping the users lets the journey in progress finish.
        let journey = run.journey(&kinds, Instant::now());
        let _ = tokio::spawn(launch(Outstanding::new(&run), journey)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ramps_are_linear_then_flat() {
        let r = Rate::Ramp {
            from: 0.5,
            to: 2.0,
            over_s: 600.0,
        };
        assert_eq!(r.at(Duration::ZERO), 0.5);
        assert!((r.at(Duration::from_secs(300)) - 1.25).abs() < 1e-9);
        assert_eq!(r.at(Duration::from_secs(601)), 2.0);
    }

    #[test]
    fn the_blackfriday_profile_ramps_checkouts_by_speed() {
        let plan = Plan {
            model: Model::Open {
                rate: Rate::Constant { per_second: 2.0 },
            },
            profile: Profile::Blackfriday { speed: 10.0 },
            baseline_type: "baseline".into(),
            demo_type: "demo".into(),
            tagging: Tagging::PerRequest,
            think_time_ms: (0, 0),
            max_in_flight: 10,
        };
        let per_request = plan.request_types(JourneyKind::Checkout);
        assert_eq!(
            (per_request.checkout.as_str(), per_request.other.as_str()),
            ("demo", "baseline")
        );
        let per_journey = Plan {
            tagging: Tagging::PerJourney,
            ..plan.clone()
        };
        for (kind, t) in [
            (JourneyKind::Checkout, "demo"),
            (JourneyKind::Browse, "baseline"),
        ] {
            let types = per_journey.request_types(kind);
            assert_eq!(
                (types.checkout.as_str(), types.other.as_str()),
                (t, t),
                "{kind:?}"
            );
        }
        let streams = plan.streams();
        assert_eq!(streams.len(), 2);
        assert_eq!(streams[1].0, vec![JourneyKind::Checkout]);
        assert_eq!(
            streams[1].1,
            Rate::Ramp {
                from: 1.0,
                to: 3.0,
                over_s: 60.0
            }
        );
    }
}
