//! How a service asks "what is broken here, now?": a cheap read of the last known state, the
//! seeded dice that decide each faulty request, the generic per-request faults (memory leak,
//! CPU hotspot), the watcher that logs level changes as ground truth, and the level metric.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Request, State as AxumState};
use axum::middleware::Next;
use axum::response::Response;
use opentelemetry::KeyValue;
use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use tokio::sync::watch;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use axum::response::IntoResponse as _;
use telemetry::ServiceTelemetry;
use telemetry::http_server::ServedBy;

use super::catalogue::{
    RELEASE_DELAY, RELEASE_FAILURE_SHARE, RELEASE_SHARE_PER_LEVEL, Scenario, release_version,
};
use super::state::{Activation, State, now_ms};
use super::store::ScenarioStore;
use crate::config::ServiceName;
use crate::error::ApiError;

/// Bytes a memory-leak request adds per level, and the cap per level: 200 MiB at level 5,
/// which with the process's own ~30 MiB stays under the services' 256 Mi pod limit, so the
/// leak is seen growing and flattening, not the pod killed.
const LEAK_PER_REQUEST: usize = 64 * 1024;
pub const LEAK_CAP: usize = 40 * 1024 * 1024;
/// CPU a hotspot request burns per level.
const BURN_PER_LEVEL: Duration = Duration::from_millis(15);

#[derive(Clone)]
pub struct Faults {
    service: ServiceName,
    state: watch::Receiver<Arc<State>>,
    inner: Arc<Inner>,
    ground_truth: bool,
}

#[derive(Default)]
struct Inner {
    dice: Mutex<HashMap<(Scenario, i64), StdRng>>,
    leak: Mutex<Vec<Vec<u8>>>,
    leaked: AtomicU64,
}

/// A scenario acting on this service right now.
pub struct Fault {
    pub scenario: Scenario,
    pub level: u8,
    activation: Activation,
    service: ServiceName,
    inner: Arc<Inner>,
    ground_truth: bool,
}

impl Fault {
    /// True with probability `p`, from the activation's seeded dice.
    pub fn roll(&self, p: f64) -> bool {
        let key = (self.scenario, self.activation.started_at_ms);
        let mut dice = self.inner.dice.lock().unwrap_or_else(|e| e.into_inner());
        let rng = dice
            .entry(key)
            .or_insert_with(|| match self.activation.seed {
                // One stream per service, so replicas of different services do not mirror each other.
                Some(seed) => StdRng::seed_from_u64(seed ^ fnv(self.service.as_str())),
                None => StdRng::from_os_rng(),
            });
        rng.random::<f64>() < p
    }

    /// With `--mark-faults`, the current span says it was hit on purpose.
    pub fn mark(&self) {
        if self.activation.mark_faults && self.ground_truth {
            let span = tracing::Span::current();
            span.set_attribute("fault.injected", true);
            span.set_attribute("fault.scenario", self.scenario.as_str());
        }
    }

    pub fn activation(&self) -> &Activation {
        &self.activation
    }
}

fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

impl Faults {
    pub fn new(service: ServiceName, store: &ScenarioStore) -> Self {
        Self {
            service,
            state: store.subscribe(),
            inner: Arc::default(),
            ground_truth: store.ground_truth_in_telemetry(),
        }
    }

    /// Whether faults and scenario changes show in this service's telemetry.
    pub fn ground_truth_in_telemetry(&self) -> bool {
        self.ground_truth
    }

    /// The scenario, if it is on and acts on this service.
    pub fn active(&self, scenario: Scenario) -> Option<Fault> {
        let state = self.state.borrow();
        let activation = state
            .get(scenario)
            .filter(|a| a.target == self.service)?
            .clone();
        Some(Fault {
            scenario,
            level: activation.level_at(now_ms()),
            activation,
            service: self.service,
            inner: self.inner.clone(),
            ground_truth: self.ground_truth,
        })
    }

    /// The scenario's activation wherever it acts (for options other services honour).
    pub fn activation(&self, scenario: Scenario) -> Option<Activation> {
        self.state.borrow().get(scenario).cloned()
    }

    /// Levels of the scenarios acting on this service now.
    fn levels(&self) -> Vec<(Scenario, u8)> {
        let now = now_ms();
        self.state
            .borrow()
            .active
            .iter()
            .filter(|a| a.target == self.service)
            .map(|a| (a.scenario, a.level_at(now)))
            .collect()
    }

    pub fn leaked_bytes(&self) -> u64 {
        self.inner.leaked.load(Ordering::Relaxed)
    }

    fn leak(&self, level: u8) {
        let cap = LEAK_CAP * usize::from(level);
        let mut leak = self.inner.leak.lock().unwrap_or_else(|e| e.into_inner());
        if (self.inner.leaked.load(Ordering::Relaxed) as usize) < cap {
            // Touch every page, so the memory is really resident.
            leak.push(vec![0xA5; LEAK_PER_REQUEST * usize::from(level)]);
            self.inner.leaked.fetch_add(
                (LEAK_PER_REQUEST * usize::from(level)) as u64,
                Ordering::Relaxed,
            );
        }
    }

    fn free(&self) {
        let mut leak = self.inner.leak.lock().unwrap_or_else(|e| e.into_inner());
        if !leak.is_empty() {
            *leak = Vec::new();
            self.inner.leaked.store(0, Ordering::Relaxed);
        }
    }

    /// Registers `tracemart.scenario.level` and `tracemart.scenario.leaked_bytes`.
    pub fn register_metrics(&self, meter: &opentelemetry::metrics::Meter) {
        let faults = self.clone();
        meter
            .u64_observable_gauge("tracemart.scenario.level")
            .with_description("Level of each scenario acting on this service (0 when off).")
            .with_callback(move |observer| {
                let on = faults.levels();
                for s in Scenario::ALL.into_iter().filter(|s| {
                    s.definition().target == faults.service || on.iter().any(|(x, _)| x == s)
                }) {
                    let level = on
                        .iter()
                        .find(|(x, _)| *x == s)
                        .map(|(_, l)| u64::from(*l))
                        .unwrap_or(0);
                    observer.observe(level, &[KeyValue::new("scenario.name", s.as_str())]);
                }
            })
            .build();
        let faults = self.clone();
        meter
            .u64_observable_gauge("tracemart.scenario.leaked_bytes")
            .with_unit("By")
            .with_description("Memory held by the memory-leak scenario in this service.")
            .with_callback(move |observer| observer.observe(faults.leaked_bytes(), &[]))
            .build();
    }

    /// Logs every level this service starts applying (ground truth as seen where the fault
    /// acts) and frees leaked memory once the leak is switched off.
    pub async fn watch(self, mut shutdown: watch::Receiver<bool>) {
        let mut seen: Vec<(Scenario, u8)> = Vec::new();
        let mut state = self.state.clone();
        loop {
            let levels = self.levels();
            for (scenario, level) in &levels {
                if self.ground_truth && !seen.contains(&(*scenario, *level)) {
                    let d = scenario.definition();
                    tracing::info!(
                        event.name = "scenario.applied",
                        scenario.name = scenario.as_str(),
                        scenario.level = *level,
                        fault.operation = d.operation,
                        fault.type = d.fault_type,
                        "scenario {} now applies at level {level}",
                        scenario.as_str()
                    );
                }
            }
            for (scenario, _) in seen
                .iter()
                .filter(|(s, _)| self.ground_truth && !levels.iter().any(|(x, _)| x == s))
            {
                tracing::info!(
                    event.name = "scenario.lifted",
                    scenario.name = scenario.as_str(),
                    "scenario {} no longer applies",
                    scenario.as_str()
                );
            }
            if !levels.iter().any(|(s, _)| *s == Scenario::MemoryLeak) {
                self.free();
            }
            seen = levels;
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                _ = state.changed() => {}
                _ = shutdown.wait_for(|s| *s) => return,
            }
        }
    }
}

/// Paths the generic faults leave alone: probes and the control API.
fn exempt(path: &str) -> bool {
    path == "/health" || path == "/ready" || path.starts_with("/scenarios")
}

/// Middleware, outside the telemetry layer: while `bad-release` acts on this service, a share
/// of its requests is served by the new release, whose telemetry reports the new
/// `service.version` ([`ServiceTelemetry::release`]).
pub async fn route_release(
    AxumState((faults, telemetry)): AxumState<(Faults, ServiceTelemetry)>,
    mut request: Request,
    next: Next,
) -> Response {
    if !exempt(request.uri().path())
        && let Some(f) = faults.active(Scenario::BadRelease)
        && f.roll((RELEASE_SHARE_PER_LEVEL * f64::from(f.level)).min(1.0))
    {
        match telemetry.release(&release_version(telemetry.version())) {
            Ok(release) => {
                request.extensions_mut().insert(ServedBy(release));
            }
            Err(e) => {
                tracing::warn!(event.name = "scenario.release_failed", exception.type = std::any::type_name_of_val(&e), exception.message = %e, "the new release's telemetry could not be built");
            }
        }
    }
    next.run(request).await
}

/// Middleware: the memory leak and the CPU hotspot act on every request of their service, and
/// the bad release on the requests it serves.
pub async fn per_request(
    AxumState(faults): AxumState<Faults>,
    request: Request,
    next: Next,
) -> Response {
    if let Some(ServedBy(release)) = request.extensions().get::<ServedBy>()
        && let Some(f) = faults.active(Scenario::BadRelease)
    {
        f.mark();
        if f.roll(RELEASE_FAILURE_SHARE) {
            return ApiError::internal(anyhow::anyhow!(
                "release {} of {}: unhandled state in the new code path",
                release.version(),
                release.name()
            ))
            .into_response();
        }
        tokio::time::sleep(RELEASE_DELAY).await;
    }
    if !exempt(request.uri().path()) {
        if let Some(f) = faults.active(Scenario::MemoryLeak) {
            f.mark();
            faults.leak(f.level);
        }
        if let Some(f) = faults.active(Scenario::CpuHotspot) {
            f.mark();
            burn(BURN_PER_LEVEL * u32::from(f.level));
        }
    }
    next.run(request).await
}

/// Spins the current thread, hashing, for `budget`.
fn burn(budget: Duration) {
    let start = Instant::now();
    let mut h = 0u64;
    while start.elapsed() < budget {
        for i in 0..10_000u64 {
            h = h.rotate_left(5) ^ i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    std::hint::black_box(h);
}

#[cfg(test)]
mod leak_tests {
    /// The services' pod memory limit (deploy/k8s/base/generated/*.yaml, from
    /// scripts/gen-manifests.py's RESOURCES).
    const POD_LIMIT: usize = 256 * 1024 * 1024;
    /// What a service process holds besides the leak, with room to spare.
    const PROCESS: usize = 40 * 1024 * 1024;

    #[test]
    fn the_leak_at_level_five_fits_the_pod_limit() {
        let manifest = include_str!("../../../../deploy/k8s/base/generated/recommendation.yaml");
        assert!(
            manifest.contains("memory: \"256Mi\""),
            "the pod limit is still 256Mi"
        );
        const { assert!(super::LEAK_CAP * 5 + PROCESS < POD_LIMIT) };
    }
}
