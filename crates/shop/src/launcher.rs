//! Runs services in this process: each on its own tokio runtime whose threads carry that
//! service's `tracing` dispatch, so every span lands under the right `service.name`.
//! Listeners are bound first — a taken port is reported before anything starts — and
//! shutdown goes in call order: the entry points stop accepting and drain while the services
//! they call keep serving them, then those stop in turn, and telemetry is flushed last, all
//! within a 15-second grace period.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::mpsc;
use std::thread::JoinHandle;

use telemetry::{ServiceTelemetry, TelemetryHub};
use tokio::sync::watch;

use crate::broker::Broker;
use crate::broker::embedded::EmbeddedBroker;
use crate::config::{DemoStart, ServiceName, ShopConfig};
use crate::scenario::{Activation, Command, Scenario, ScenarioStore};
use crate::service::ServiceContext;
use crate::services;

#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    #[error(
        "port {port} for {service} is already in use (another tracemart running?); \
         free it or set {var} to another port"
    )]
    PortTaken {
        service: ServiceName,
        port: u16,
        var: String,
    },
    #[error("cannot listen on {addr} for {service}")]
    Bind {
        service: ServiceName,
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("the scenario store cannot be set up")]
    Scenarios(#[source] anyhow::Error),
    #[error("{service} failed to start")]
    Build {
        service: ServiceName,
        #[source]
        source: anyhow::Error,
    },
}

/// The shop, running. Dropping it without [`shutdown`](RunningShop::shutdown) leaves the
/// services running until the process ends.
pub struct RunningShop {
    addrs: BTreeMap<ServiceName, SocketAddr>,
    /// Stops what is not a service (the scenario follower), last.
    stop: watch::Sender<bool>,
    /// Each service's own stop, its thread, and word that the thread has ended.
    services: Vec<(ServiceName, watch::Sender<bool>, JoinHandle<()>)>,
    ended: mpsc::Receiver<ServiceName>,
    ended_tx: mpsc::Sender<ServiceName>,
    threads: Vec<JoinHandle<()>>,
    telemetry: Vec<ServiceTelemetry>,
}

/// How long the services may take to drain, all together, before whatever is left is
/// stopped at once: with telemetry's [`telemetry::SHUTDOWN_BUDGET`] the whole stop fits a
/// 15-second grace period.
pub const STOP_BUDGET: std::time::Duration = std::time::Duration::from_secs(11);

/// The order services stop in: callers before the services they call (by the longest chain
/// of calls from an entry point), among the services running here.
pub fn stop_order(running: &[ServiceName]) -> Vec<Vec<ServiceName>> {
    let mut depth: BTreeMap<ServiceName, usize> = running.iter().map(|s| (*s, 0)).collect();
    // A chain of calls is at most as long as there are services (the call graph has no cycle).
    for _ in 0..running.len() {
        for caller in running {
            let d = depth[caller];
            for callee in caller.calls() {
                if let Some(c) = depth.get_mut(callee)
                    && *c < d + 1
                {
                    *c = d + 1;
                }
            }
        }
    }
    let mut layers: Vec<Vec<ServiceName>> = Vec::new();
    for (service, d) in depth {
        if layers.len() <= d {
            layers.resize(d + 1, Vec::new());
        }
        layers[d].push(service);
    }
    layers
}

impl RunningShop {
    pub fn addr(&self, service: ServiceName) -> Option<SocketAddr> {
        self.addrs.get(&service).copied()
    }

    /// `http://127.0.0.1:PORT` of a running service.
    pub fn url(&self, service: ServiceName) -> String {
        let port = self.addr(service).map(|a| a.port()).unwrap_or_default();
        format!("http://127.0.0.1:{port}")
    }

    pub fn services(&self) -> impl Iterator<Item = (ServiceName, SocketAddr)> + '_ {
        self.addrs.iter().map(|(s, a)| (*s, *a))
    }

    /// Exports whatever telemetry is buffered. Blocks.
    pub fn flush(&self) {
        for t in &self.telemetry {
            t.flush();
        }
    }

    /// Stops the services in [`stop_order`]: a layer stops accepting and drains while the
    /// layers below it still serve, and the next layer stops once it has ended; whatever is
    /// left when [`STOP_BUDGET`] is spent stops at once. Then every service's telemetry is
    /// flushed, within its own budget. Blocks: call it outside async code or in
    /// `spawn_blocking`.
    pub fn shutdown(self) {
        self.shutdown_with(&[]);
    }

    /// [`shutdown`](Self::shutdown), flushing `also` (the process's own telemetry) beside the
    /// services', within the same budget.
    pub fn shutdown_with(mut self, also: &[ServiceTelemetry]) {
        let deadline = std::time::Instant::now() + STOP_BUDGET;
        let names: Vec<ServiceName> = self.services.iter().map(|(s, _, _)| *s).collect();
        let stop = |service: ServiceName| {
            if let Some((_, tx, _)) = self.services.iter().find(|(s, _, _)| *s == service) {
                let _ = tx.send(true);
            }
        };
        let mut ended: Vec<ServiceName> = Vec::new();
        'layers: for layer in stop_order(&names) {
            for service in &layer {
                stop(*service);
            }
            while !layer.iter().all(|s| ended.contains(s)) {
                let left = deadline.saturating_duration_since(std::time::Instant::now());
                match self.ended.recv_timeout(left) {
                    Ok(service) => ended.push(service),
                    Err(_) => break 'layers,
                }
            }
        }
        // Past the budget (or done): everything still running stops now.
        for service in &names {
            stop(*service);
        }
        drop(self.ended_tx);
        let grace = deadline + std::time::Duration::from_secs(1);
        while ended.len() < names.len() {
            let left = grace.saturating_duration_since(std::time::Instant::now());
            match self.ended.recv_timeout(left) {
                Ok(service) => ended.push(service),
                Err(_) => break,
            }
        }
        for (service, _, thread) in self.services {
            // A thread that has not ended is left to the process's exit.
            if ended.contains(&service) {
                let _ = thread.join();
            }
        }
        let _ = self.stop.send(true);
        for t in self.threads {
            let _ = t.join();
        }
        self.telemetry.extend(also.iter().cloned());
        telemetry::shutdown_all(&self.telemetry, telemetry::SHUTDOWN_BUDGET);
    }
}

/// Binds every listener, then starts each service on its own runtime. Returns once every
/// service is built and serving.
pub fn start(
    config: ShopConfig,
    hub: &TelemetryHub,
    listen: &[(ServiceName, SocketAddr)],
) -> Result<RunningShop, LaunchError> {
    let mut listeners = Vec::new();
    let mut config = config;
    for &(service, addr) in listen {
        let listener = std::net::TcpListener::bind(addr).map_err(|source| {
            if source.kind() == std::io::ErrorKind::AddrInUse {
                LaunchError::PortTaken {
                    service,
                    port: addr.port(),
                    var: service.port_var().to_owned(),
                }
            } else {
                LaunchError::Bind {
                    service,
                    addr,
                    source,
                }
            }
        })?;
        let local = listener.local_addr().map_err(|source| LaunchError::Bind {
            service,
            addr,
            source,
        })?;
        // Services in this process reach each other directly, whatever the configured URLs.
        config
            .urls
            .insert(service, format!("http://127.0.0.1:{}", local.port()));
        listeners.push((service, local, listener));
    }
    let config = Arc::new(config);
    let (stop, _) = watch::channel(false);
    let scenarios = match &config.redis_url {
        Some(url) => {
            ScenarioStore::redis(url, &config.namespace).map_err(LaunchError::Scenarios)?
        }
        None => ScenarioStore::local(),
    };
    scenarios.set_ground_truth_in_telemetry(config.ground_truth_in_telemetry);
    if let Some(m) = &config.markers {
        scenarios.post_markers_to(m.clone());
    }
    let follower = start_scenarios(&scenarios, config.demo.as_ref(), stop.subscribe())
        .map_err(LaunchError::Scenarios)?;
    let (built_tx, built_rx) = mpsc::channel::<(ServiceName, anyhow::Result<()>)>();
    // Without a broker URL, the services of this process share one in-process broker.
    let embedded = EmbeddedBroker::new();

    let (ended_tx, ended) = mpsc::channel::<ServiceName>();
    let mut shop = RunningShop {
        addrs: BTreeMap::new(),
        stop,
        services: Vec::new(),
        ended,
        ended_tx,
        threads: vec![follower],
        telemetry: Vec::new(),
    };
    for (service, addr, listener) in listeners {
        let telemetry = hub
            .service(service.as_str())
            .map_err(|source| LaunchError::Build { service, source })?;
        let (service_stop, stopped) = watch::channel(false);
        let broker = Broker::new(config.amqp_url.as_deref(), &config.namespace, &embedded)
            .map_err(|e| LaunchError::Build {
                service,
                source: anyhow::anyhow!(e),
            })?;
        let ctx = ServiceContext::new(
            service,
            telemetry.clone(),
            config.clone(),
            stopped,
            scenarios.clone(),
            &services::SCHEMA,
            broker,
        );
        let built_tx = built_tx.clone();
        let ended = Ended(service, shop.ended_tx.clone());
        let thread = std::thread::Builder::new()
            .name(service.as_str().to_owned())
            .spawn(move || {
                let _ended = ended;
                run_service(ctx, listener, built_tx)
            })
            .map_err(|e| LaunchError::Build {
                service,
                source: e.into(),
            })?;
        shop.addrs.insert(service, addr);
        shop.services.push((service, service_stop, thread));
        shop.telemetry.push(telemetry);
    }
    drop(built_tx);
    let mut failure = None;
    for _ in 0..shop.services.len() {
        match built_rx.recv() {
            Ok((_, Ok(()))) => {}
            Ok((service, Err(source))) => {
                failure.get_or_insert(LaunchError::Build { service, source });
            }
            Err(_) => break,
        }
    }
    if let Some(e) = failure {
        shop.shutdown();
        return Err(e);
    }
    Ok(shop)
}

/// Says that a service's thread has ended, however it ends (a panic included).
struct Ended(ServiceName, mpsc::Sender<ServiceName>);

impl Drop for Ended {
    fn drop(&mut self) {
        let _ = self.1.send(self.0);
    }
}

/// Applies `DEMO_MODE` and, for a shared store, follows it, on a thread of its own (the
/// launcher may itself be called from async code). Returns once `DEMO_MODE` is applied.
fn start_scenarios(
    store: &ScenarioStore,
    demo: Option<&DemoStart>,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<JoinHandle<()>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (applied_tx, applied_rx) = mpsc::channel::<()>();
    let (store, demo) = (store.clone(), demo.cloned());
    let thread = std::thread::Builder::new()
        .name("scenarios".to_owned())
        .spawn(move || {
            runtime.block_on(async {
                if let Some(demo) = demo {
                    apply_demo_mode(&store, &demo).await;
                }
                let _ = applied_tx.send(());
                store.follow(stop).await;
            })
        })?;
    let _ = applied_rx.recv();
    Ok(thread)
}

/// `DEMO_MODE=blackfriday`: the story starts once, even when several replicas start together.
async fn apply_demo_mode(store: &ScenarioStore, demo: &DemoStart) {
    let current = store.refresh().await.unwrap_or_else(|_| store.current());
    if current.get(Scenario::Blackfriday).is_some() {
        return;
    }
    let activation = Activation {
        scenario: Scenario::Blackfriday,
        target: Scenario::Blackfriday.definition().target,
        level: None,
        speed: demo.speed,
        started_at_ms: demo
            .started_at_ms
            .unwrap_or_else(crate::scenario::state::now_ms),
        seed: None,
        mark_faults: false,
        graceful: false,
    };
    match store.apply(Command::Set(activation)).await {
        Ok((_, changes)) => crate::scenario::api::log_changes(store, &changes),
        Err(e) => {
            tracing::warn!(event.name = "scenario.demo_mode_failed", exception.type = std::any::type_name_of_val(&e), exception.message = %e, "DEMO_MODE=blackfriday could not be applied")
        }
    }
}

/// The body of one service's thread: its runtime, its dispatch, its server.
fn run_service(
    ctx: ServiceContext,
    listener: std::net::TcpListener,
    built: mpsc::Sender<(ServiceName, anyhow::Result<()>)>,
) {
    let service = ctx.name;
    let dispatch = ctx.telemetry.dispatch().clone();
    let thread_dispatch = dispatch.clone();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(format!("{service}-rt"))
        .enable_all()
        .on_thread_start(move || {
            // Lives as long as the thread: every task on this runtime reports as this service.
            std::mem::forget(tracing::dispatcher::set_default(&thread_dispatch));
        })
        .build();
    let runtime = match runtime {
        Ok(rt) => rt,
        Err(e) => {
            let _ = built.send((service, Err(e.into())));
            return;
        }
    };
    tracing::dispatcher::with_default(&dispatch, || {
        runtime.block_on(async move {
            let served = tokio::spawn(async move {
                let mut shutdown = ctx.shutdown.clone();
                let shared = ctx.clone();
                let listener = listener
                    .set_nonblocking(true)
                    .and_then(|()| tokio::net::TcpListener::from_std(listener));
                let (mut service_built, listener) = match (services::build(ctx).await, listener) {
                    (Ok(s), Ok(l)) => (s, l),
                    (Err(e), _) => {
                        let _ = built.send((service, Err(e)));
                        return;
                    }
                    (_, Err(e)) => {
                        let _ = built.send((service, Err(e.into())));
                        return;
                    }
                };
                let _ = built.send((service, Ok(())));
                tracing::info!(event.name = "service.listening", server.address = %listener.local_addr().map(|a| a.to_string()).unwrap_or_default(), "{service} listening");
                if shared.telemetry.metrics_read() && shared.faults.ground_truth_in_telemetry() {
                    shared.faults.register_metrics(shared.telemetry.meter());
                }
                tokio::spawn(shared.faults.clone().watch(shared.shutdown.clone()));
                let background = std::mem::take(&mut service_built.background);
                for task in background {
                    tokio::spawn(task);
                }
                let app = crate::server::app(service_built, &shared);
                let stop = async move {
                    let _ = shutdown.wait_for(|s| *s).await;
                };
                if let Err(e) = crate::server::serve(listener, app, stop).await {
                    tracing::error!(event.name = "service.failed", exception.type = std::any::type_name_of_val(&e), exception.message = %e, "{service} server failed");
                }
            });
            let _ = served.await;
        });
    });
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callers_stop_before_the_services_they_call() {
        let layers = stop_order(&ServiceName::ALL);
        let layer_of = |s: ServiceName| {
            layers
                .iter()
                .position(|l| l.contains(&s))
                .unwrap_or_else(|| panic!("{s} stops"))
        };
        // First the services nothing calls: the load generator and the event consumers.
        let uncalled: Vec<ServiceName> = ServiceName::ALL
            .into_iter()
            .filter(|s| ServiceName::ALL.iter().all(|c| !c.calls().contains(s)))
            .collect();
        assert!(uncalled.contains(&ServiceName::LoadGenerator));
        assert!(uncalled.contains(&ServiceName::Accounting));
        assert_eq!(layers[0], uncalled);
        assert_eq!(layers[1], vec![ServiceName::Frontend]);
        for caller in ServiceName::ALL {
            for callee in caller.calls() {
                assert!(
                    layer_of(caller) < layer_of(*callee),
                    "{caller} before {callee}"
                );
            }
        }
        assert_eq!(
            layers.iter().map(Vec::len).sum::<usize>(),
            ServiceName::ALL.len()
        );
        // Only the services running here count.
        let some = stop_order(&[ServiceName::Payment, ServiceName::Frontend]);
        assert_eq!(
            some,
            vec![vec![ServiceName::Frontend], vec![ServiceName::Payment]]
        );
    }
}
