//! The kernel every service is built on: what a service is built from ([`ServiceContext`]),
//! what it gives back ([`Service`]: routes, readiness, background tasks), and readiness.

use std::sync::Arc;

use axum::Router;
use futures::future::BoxFuture;
use telemetry::{HttpClient, ServiceTelemetry, Upstream};
use tokio::sync::watch;

use crate::broker::Broker;
use crate::config::{ServiceName, ShopConfig};
use crate::scenario::{Faults, ScenarioStore};
use crate::store::{Schema, SqlDatabase};

/// Whether a service's stores are reachable; `Err` carries the reason.
pub type Readiness = Arc<dyn Fn() -> BoxFuture<'static, Result<(), String>> + Send + Sync>;

/// Readiness of a service without stores.
pub fn always_ready() -> Readiness {
    Arc::new(|| Box::pin(async { Ok(()) }))
}

/// What a service is built from.
#[derive(Clone)]
pub struct ServiceContext {
    pub name: ServiceName,
    pub telemetry: ServiceTelemetry,
    pub config: Arc<ShopConfig>,
    pub http: HttpClient,
    /// Turns `true` when the process shuts down.
    pub shutdown: watch::Receiver<bool>,
    /// The live scenario state, shared with every service (and replica, through Redis).
    pub scenarios: ScenarioStore,
    /// What the scenarios break in this service, now.
    pub faults: Faults,
    /// The relational schema its database is prepared with.
    pub schema: &'static Schema,
    /// Its way to the message broker of the order events.
    pub broker: Broker,
}

impl ServiceContext {
    pub fn new(
        name: ServiceName,
        telemetry: ServiceTelemetry,
        config: Arc<ShopConfig>,
        shutdown: watch::Receiver<bool>,
        scenarios: ScenarioStore,
        schema: &'static Schema,
        broker: Broker,
    ) -> Self {
        let http = HttpClient::new(telemetry.clone(), config.request_timeout);
        let faults = Faults::new(name, &scenarios);
        Self {
            name,
            telemetry,
            config,
            http,
            shutdown,
            scenarios,
            faults,
            schema,
            broker,
        }
    }

    /// The service's SQL database, with the schema and the latency model it runs with.
    pub fn sql_database(&self) -> anyhow::Result<SqlDatabase> {
        SqlDatabase::open(
            &self.config.database,
            self.schema,
            &self.telemetry,
            self.config.latency,
        )
    }

    /// How this service reaches another one.
    pub fn upstream(&self, service: ServiceName) -> Upstream {
        Upstream::new(service.as_str(), self.config.url(service))
    }
}

/// A built service: its routes, its readiness check, and tasks to run beside the server.
pub struct Service {
    /// The shop routes: traced, and subject to scenario faults.
    pub routes: Router,
    /// Admin routes of the control plane: answered without spans.
    pub control: Router,
    pub readiness: Readiness,
    pub background: Vec<BoxFuture<'static, ()>>,
    /// Routes of the demo flow: a request that reaches one without a `traffic.type` is `demo`
    /// traffic (any other untagged request is `baseline`).
    pub demo_routes: &'static [&'static str],
}

impl Service {
    /// A service whose store is `sql`: ready when the database answers with its schema in
    /// place; the schema is prepared in the background as soon as the database answers.
    pub fn on_database(routes: Router, sql: &SqlDatabase, shutdown: watch::Receiver<bool>) -> Self {
        let db = sql.clone();
        let readiness: Readiness = Arc::new(move || {
            let db = db.clone();
            Box::pin(async move { db.check().await })
        });
        Self {
            routes,
            control: Router::new(),
            readiness,
            background: vec![Box::pin(crate::store::prepare_in_background(
                sql.clone(),
                shutdown,
            ))],
            demo_routes: &[],
        }
    }

    /// Names the routes of the demo flow (see [`Service::demo_routes`]).
    pub fn with_demo_routes(mut self, routes: &'static [&'static str]) -> Self {
        self.demo_routes = routes;
        self
    }

    /// One more task to run beside the server.
    pub fn with_background(
        mut self,
        task: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Self {
        self.background.push(Box::pin(task));
        self
    }

    /// A service with no store: always ready, nothing in the background.
    pub fn without_store(routes: Router) -> Self {
        Self {
            routes,
            control: Router::new(),
            readiness: always_ready(),
            background: Vec::new(),
            demo_routes: &[],
        }
    }
}
