//! load-generator (8010): starts by itself and runs shopper journeys against the frontend at a
//! configurable rate, mixing browse (baseline) and checkout (demo) traffic. Its admin API
//! (`/status`, `/start`, `/stop`, `/rate`) never waits for the traffic it controls.

pub mod client;
mod handlers;
pub mod journeys;
pub mod model;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post, put};
use opentelemetry::KeyValue;
use opentelemetry::metrics::Counter;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::sync::watch;

use super::frontend::client::FrontendClient;
use super::{Service, ServiceContext};
use crate::config::{LoadConfig, ServiceName};
use crate::server::always_ready;
use journeys::Journey;
use model::{JourneyCounts, JourneyKind, LoadStatus};

/// The highest rate the admin API accepts.
pub const MAX_RATE: f64 = 1000.0;

#[derive(Debug, Clone, Copy, PartialEq)]
struct Control {
    running: bool,
    rate: f64,
}

pub(crate) struct State {
    control: watch::Sender<Control>,
    counts: Mutex<BTreeMap<JourneyKind, JourneyCounts>>,
    in_flight: AtomicUsize,
}

impl State {
    fn status(&self) -> LoadStatus {
        let c = *self.control.borrow();
        LoadStatus {
            running: c.running,
            journeys_per_second: c.rate,
            in_flight: self.in_flight.load(Ordering::Relaxed),
            journeys: self
                .counts
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
        }
    }

    fn count(&self, kind: JourneyKind, f: impl FnOnce(&mut JourneyCounts)) {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        f(counts.entry(kind).or_default());
    }
}

pub async fn build(ctx: ServiceContext) -> anyhow::Result<Service> {
    let load = ctx.config.load.clone();
    if !(load.rate > 0.0 && load.rate <= MAX_RATE) {
        anyhow::bail!("the load rate must be above 0 and at most {MAX_RATE} journeys per second");
    }
    let (control, _) = watch::channel(Control {
        running: load.autostart,
        rate: load.rate,
    });
    let state = Arc::new(State {
        control,
        counts: Mutex::default(),
        in_flight: AtomicUsize::new(0),
    });
    let frontend = FrontendClient::new(ctx.http.clone(), &ctx.config.url(ServiceName::Frontend));
    let journeys = ctx
        .telemetry
        .meter()
        .u64_counter("loadgen.journeys")
        .with_unit("{journey}")
        .with_description("Shopper journeys run, by journey, traffic type and outcome.")
        .build();
    let engine = generate(
        state.clone(),
        frontend,
        load,
        journeys,
        ctx.shutdown.clone(),
    );
    Ok(Service {
        routes: router(state),
        readiness: always_ready(),
        background: vec![Box::pin(engine)],
    })
}

pub(crate) fn router(state: Arc<State>) -> Router {
    Router::new()
        .route("/status", get(handlers::status))
        .route("/start", post(handlers::start))
        .route("/stop", post(handlers::stop))
        .route("/rate", put(handlers::set_rate))
        .with_state(state)
}

/// Starts journeys at the configured rate until shutdown; each journey runs in its own task.
async fn generate(
    state: Arc<State>,
    frontend: FrontendClient,
    load: LoadConfig,
    journeys: Counter<u64>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut rng = match load.seed {
        Some(seed) => StdRng::seed_from_u64(seed),
        None => StdRng::from_os_rng(),
    };
    let mut control = state.control.subscribe();
    let mut tasks = tokio::task::JoinSet::new();
    loop {
        let Control { running, rate } = *control.borrow_and_update();
        if running && state.in_flight.load(Ordering::Relaxed) < load.max_in_flight {
            let kind = journeys::pick(&mut rng);
            let journey = Journey {
                kind,
                session_id: format!("s-{:016x}", rng.random::<u64>()),
                think_time: load.think_time,
                rng: StdRng::seed_from_u64(rng.random()),
            };
            let (state, frontend, journeys) = (state.clone(), frontend.clone(), journeys.clone());
            state.in_flight.fetch_add(1, Ordering::Relaxed);
            state.count(kind, |c| c.started += 1);
            tasks.spawn(async move {
                let outcome = journey.run(&frontend).await;
                state.in_flight.fetch_sub(1, Ordering::Relaxed);
                state.count(kind, |c| match outcome {
                    Ok(()) => c.succeeded += 1,
                    Err(_) => c.failed += 1,
                });
                journeys.add(
                    1,
                    &[
                        KeyValue::new("journey.name", kind.as_str()),
                        KeyValue::new("traffic.type", kind.traffic_type()),
                        KeyValue::new(
                            "journey.outcome",
                            if outcome.is_ok() {
                                "success"
                            } else {
                                "failure"
                            },
                        ),
                    ],
                );
            });
        }
        while tasks.try_join_next().is_some() {}
        let pause = if running {
            Duration::from_secs_f64(1.0 / rate)
        } else {
            Duration::from_secs(3600)
        };
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = control.changed() => {}
            _ = shutdown.wait_for(|stop| *stop) => break,
        }
    }
    // Journeys in flight end with the process; their spans are flushed at shutdown.
    tasks.abort_all();
}
