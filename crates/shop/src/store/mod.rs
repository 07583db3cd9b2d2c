//! The shop's relational store: one schema (assembled from the services that own its tables)
//! for PostgreSQL and the embedded SQLite, migrations
//! and seed data applied at start-up, and a CLIENT span around every query.

pub mod catalog_seed;
mod schema;

pub use schema::{Migration, Schema, Table};

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt as _;
use futures::future::{BoxFuture, Shared};
use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{Any, AnyPool, Transaction};
use telemetry::{DbClient, DbFailure, DbOperation, DbSystem, ServiceTelemetry};

use crate::config::{Database, LatencyModel};
use crate::latency::{self, Rows};

/// The relational database, as a store name in errors (`database_unavailable`).
pub const DATABASE: &str = "database";
/// Redis, as a store name in errors (`redis_unavailable`).
pub const REDIS: &str = "redis";

/// Why a store operation failed, in the terms a handler needs.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The store cannot be reached: the request fails fast with 503.
    #[error("{store} is unavailable")]
    Unavailable {
        store: &'static str,
        #[source]
        source: anyhow::Error,
    },
    /// A constraint refused the write (unknown product, duplicate, check).
    #[error("constraint violated: {}", constraint.as_deref().unwrap_or("unnamed"))]
    Constraint {
        constraint: Option<String>,
        kind: ConstraintKind,
        #[source]
        source: anyhow::Error,
    },
    /// The store cannot hold a value the request carried (PostgreSQL refuses NUL characters
    /// in text): the request is at fault, 400.
    #[error("the database cannot store this text")]
    InvalidText {
        #[source]
        source: anyhow::Error,
    },
    #[error("{store} query failed")]
    Query {
        store: &'static str,
        code: Option<String>,
        #[source]
        source: anyhow::Error,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConstraintKind {
    ForeignKey,
    Unique,
    Check,
    Other,
}

impl StoreError {
    pub fn unavailable(store: &'static str, source: impl Into<anyhow::Error>) -> Self {
        StoreError::Unavailable {
            store,
            source: source.into(),
        }
    }

    fn from_sqlx(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_)
            | sqlx::Error::WorkerCrashed => StoreError::unavailable(DATABASE, e),
            sqlx::Error::Database(db) => {
                let kind = match db.kind() {
                    sqlx::error::ErrorKind::ForeignKeyViolation => Some(ConstraintKind::ForeignKey),
                    sqlx::error::ErrorKind::UniqueViolation => Some(ConstraintKind::Unique),
                    sqlx::error::ErrorKind::CheckViolation => Some(ConstraintKind::Check),
                    sqlx::error::ErrorKind::NotNullViolation => Some(ConstraintKind::Other),
                    _ => None,
                };
                let code = db.code().map(|c| c.into_owned());
                let constraint = db.constraint().map(str::to_owned);
                let source = anyhow::Error::from(sqlx::Error::Database(db));
                // 22021: a character not in the encoding (NUL); 22P05: untranslatable.
                if matches!(code.as_deref(), Some("22021" | "22P05")) {
                    return StoreError::InvalidText { source };
                }
                match kind {
                    Some(kind) => StoreError::Constraint {
                        constraint,
                        kind,
                        source,
                    },
                    None => StoreError::Query {
                        store: "database",
                        code,
                        source,
                    },
                }
            }
            other => StoreError::Query {
                store: "database",
                code: None,
                source: other.into(),
            },
        }
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        StoreError::from_sqlx(e)
    }
}

impl DbFailure for StoreError {
    fn error_type(&self) -> &'static str {
        match self {
            StoreError::Unavailable { .. } => "unavailable",
            StoreError::Constraint { .. } => "constraint_violation",
            StoreError::InvalidText { .. } => "invalid_text",
            StoreError::Query { .. } => "query_error",
        }
    }

    fn status_code(&self) -> Option<String> {
        match self {
            StoreError::Query { code, .. } => code.clone(),
            _ => None,
        }
    }
}

/// Runs a sqlx future with no `tracing` subscriber. sqlx's SQLite driver carries the caller's
/// span into its own worker thread and drops it there, where a different dispatch is the
/// default; tracing-subscriber then closes the span's parent in the wrong registry and
/// panics. Our own CLIENT span is made around the call, so sqlx needs none of ours.
fn isolated<F: Future>(fut: F) -> tracing::instrument::WithDispatch<F> {
    use tracing::instrument::WithSubscriber as _;
    fut.with_subscriber(tracing::subscriber::NoSubscriber::default())
}

/// A pool on PostgreSQL or SQLite that creates its schema once, lazily: a service whose
/// database is down still starts, reports not-ready, and recovers when the database returns.
#[derive(Clone)]
pub struct SqlDatabase {
    pool: AnyPool,
    db: DbClient,
    postgres: bool,
    schema: &'static Schema,
    preparation: Arc<Preparation>,
    latency: LatencyModel,
    pool_metrics: Arc<PoolMetrics>,
}

/// What the pool's instruments need beyond the pool itself: the requests waiting for a
/// connection and how long they waited (counted where the shop takes a connection for a
/// transaction or holds one, the waits pool exhaustion makes).
struct PoolMetrics {
    pending: std::sync::atomic::AtomicI64,
    wait_time: opentelemetry::metrics::Histogram<f64>,
    attrs: Vec<opentelemetry::KeyValue>,
}

/// One attempt at creating the schema, shared by everyone who waits for it.
type Attempt = Shared<BoxFuture<'static, Result<(), Arc<sqlx::Error>>>>;

/// The schema is created once. While the database is down, at most one attempt runs at a
/// time and every caller joins it, so a request never waits for more than one attempt (one
/// acquire timeout) — not for the background's attempt and then its own.
#[derive(Default)]
struct Preparation {
    done: std::sync::atomic::AtomicBool,
    attempt: std::sync::Mutex<Option<Attempt>>,
}

impl Preparation {
    fn current(&self) -> std::sync::MutexGuard<'_, Option<Attempt>> {
        self.attempt
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl SqlDatabase {
    /// The database `config` names, with the `schema` it is prepared with.
    pub fn open(
        config: &Database,
        schema: &'static Schema,
        telemetry: &ServiceTelemetry,
        latency: LatencyModel,
    ) -> anyhow::Result<Self> {
        install_default_drivers();
        let (url, db, postgres) = match config {
            Database::Postgres { url } => {
                let parsed = reqwest::Url::parse(url)
                    .map_err(|e| anyhow::anyhow!("invalid PostgreSQL URL: {e}"))?;
                let name = parsed.path().trim_start_matches('/');
                let name = if name.is_empty() {
                    parsed.username()
                } else {
                    name
                };
                let db = DbClient::new(
                    telemetry.clone(),
                    DbSystem::Postgresql,
                    name,
                    parsed.host_str().map(str::to_owned),
                    Some(parsed.port().unwrap_or(5432)),
                );
                (url.clone(), db, true)
            }
            Database::Sqlite { path } => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir)?;
                }
                // An embedded file is on this host: `localhost`, so an APM's database view
                // (which keys databases by their server) lists it.
                let db = DbClient::new(
                    telemetry.clone(),
                    DbSystem::Sqlite,
                    path.display().to_string(),
                    Some("localhost".to_owned()),
                    None,
                );
                (format!("sqlite://{}?mode=rwc", path.display()), db, false)
            }
        };
        let pool = AnyPoolOptions::new()
            .max_connections(if postgres { 10 } else { 4 })
            .min_connections(0)
            .acquire_timeout(Duration::from_secs(2))
            .connect_lazy(&url)?;
        let pool_metrics = Arc::new(PoolMetrics {
            pending: Default::default(),
            wait_time: telemetry
                .meter()
                .f64_histogram("db.client.connection.wait_time")
                .with_unit("s")
                .with_description("The time it took to obtain an open connection from the pool.")
                .with_boundaries(telemetry::DB_DURATION_BUCKETS.to_vec())
                .build(),
            attrs: vec![opentelemetry::KeyValue::new(
                "db.client.connection.pool.name",
                format!("{}/{}", telemetry.name(), db.system().as_str()),
            )],
        });
        let sql = Self {
            pool,
            db,
            postgres,
            schema,
            preparation: Arc::default(),
            latency,
            pool_metrics,
        };
        if telemetry.metrics_read() {
            sql.register_pool_metrics(telemetry);
        }
        Ok(sql)
    }

    /// `db.client.connection.count` by state, `.max` and `.pending_requests`, as the
    /// database conventions name them.
    fn register_pool_metrics(&self, telemetry: &ServiceTelemetry) {
        use std::sync::atomic::Ordering;
        let meter = telemetry.meter();
        let (pool, m) = (self.pool.clone(), self.pool_metrics.clone());
        meter
            .i64_observable_up_down_counter("db.client.connection.count")
            .with_unit("{connection}")
            .with_description("The number of connections that are currently in the state described by the state attribute.")
            .with_callback(move |o| {
                let (size, idle) = (i64::from(pool.size()), pool.num_idle() as i64);
                for (state, n) in [("idle", idle), ("used", (size - idle).max(0))] {
                    let mut attrs = m.attrs.clone();
                    attrs.push(opentelemetry::KeyValue::new("db.client.connection.state", state));
                    o.observe(n, &attrs);
                }
            })
            .build();
        let (max, m) = (self.max_connections() as i64, self.pool_metrics.clone());
        meter
            .i64_observable_up_down_counter("db.client.connection.max")
            .with_unit("{connection}")
            .with_description("The maximum number of open connections allowed.")
            .with_callback(move |o| o.observe(max, &m.attrs))
            .build();
        let m = self.pool_metrics.clone();
        meter
            .i64_observable_up_down_counter("db.client.connection.pending_requests")
            .with_unit("{request}")
            .with_description("The number of current pending requests for an open connection.")
            .with_callback(move |o| o.observe(m.pending.load(Ordering::Relaxed).max(0), &m.attrs))
            .build();
    }

    /// Takes a connection for `acquire`, counted as pending while it waits, its wait timed.
    async fn acquired<T>(
        &self,
        acquire: impl Future<Output = Result<T, sqlx::Error>>,
    ) -> Result<T, sqlx::Error> {
        use std::sync::atomic::Ordering;
        let m = &self.pool_metrics;
        m.pending.fetch_add(1, Ordering::Relaxed);
        let started = std::time::Instant::now();
        let result = isolated(acquire).await;
        m.pending.fetch_sub(1, Ordering::Relaxed);
        m.wait_time
            .record(started.elapsed().as_secs_f64(), &m.attrs);
        result
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Creates the schema and seeds the catalogue, once per process; retried on the next call
    /// while the database is down. The attempt runs as a task of its own, so a caller that
    /// gives up never cancels a migration half-way.
    pub async fn prepare(&self) -> Result<(), StoreError> {
        use std::sync::atomic::Ordering;
        let preparation = &self.preparation;
        if preparation.done.load(Ordering::Acquire) {
            return Ok(());
        }
        let attempt = preparation
            .current()
            .get_or_insert_with(|| {
                let (pool, postgres, schema) = (self.pool.clone(), self.postgres, self.schema);
                let task = tokio::spawn(isolated(async move {
                    schema::migrate(&pool, postgres, schema).await
                }));
                async move {
                    match task.await {
                        Ok(result) => result.map_err(Arc::new),
                        Err(_) => Err(Arc::new(sqlx::Error::WorkerCrashed)),
                    }
                }
                .boxed()
                .shared()
            })
            .clone();
        let result = attempt.clone().await;
        if result.is_ok() {
            preparation.done.store(true, Ordering::Release);
        }
        // Finished: the next caller starts afresh (unless someone already has).
        let mut current = preparation.current();
        if current.as_ref().is_some_and(|a| a.ptr_eq(&attempt)) {
            *current = None;
        }
        result.map_err(|e| StoreError::unavailable(DATABASE, e))
    }

    /// Readiness: the database answers and the schema is in place.
    pub async fn check(&self) -> Result<(), String> {
        isolated(sqlx::query("SELECT 1").execute(&self.pool))
            .await
            .map_err(|e| format!("database unreachable: {e}"))?;
        self.prepare()
            .await
            .map_err(|e| format!("database schema not ready: {e:#}"))
    }

    /// Runs one statement inside a CLIENT span, which lasts its cost under the latency model
    /// too.
    pub async fn run<T: Rows>(
        &self,
        op: DbOperation<'_>,
        query: impl Future<Output = Result<T, sqlx::Error>>,
    ) -> Result<T, StoreError> {
        self.prepare().await?;
        let cost = if self.postgres {
            latency::POSTGRESQL
        } else {
            latency::SQLITE
        };
        self.db
            .run(op, async {
                let result = isolated(query).await.map_err(StoreError::from)?;
                latency::statement(self.latency, cost, result.rows()).await;
                Ok(result)
            })
            .await
    }

    /// Runs one statement without a span, for a background poll: traced, an idle poll would
    /// open a trace of its own at every tick. Whatever it finds is handled in traced spans.
    pub async fn poll<T>(
        &self,
        query: impl Future<Output = Result<T, sqlx::Error>>,
    ) -> Result<T, StoreError> {
        self.prepare().await?;
        Ok(isolated(query).await?)
    }

    /// Bounds every later statement of `tx` to `budget` on PostgreSQL (`SET LOCAL
    /// statement_timeout`), so a stalled database cannot hold a transaction past its caller's
    /// deadline. A session setting, not a query: no span of its own. SQLite has no such limit.
    pub async fn limit_statements(
        &self,
        tx: &mut Transaction<'static, Any>,
        budget: Duration,
    ) -> Result<(), StoreError> {
        if !self.postgres {
            return Ok(());
        }
        let ms = budget.as_millis().clamp(1, 600_000);
        let sql = format!("SET LOCAL statement_timeout = {ms}");
        isolated(sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut **tx)).await?;
        Ok(())
    }

    /// The most connections the pool opens.
    pub fn max_connections(&self) -> usize {
        self.pool.options().get_max_connections() as usize
    }

    /// Takes a connection out of the pool and keeps it until dropped (the pool-exhaustion
    /// scenario's stuck job).
    pub async fn hold_connection(&self) -> Result<sqlx::pool::PoolConnection<Any>, StoreError> {
        Ok(self.acquired(self.pool.acquire()).await?)
    }

    /// Starts a transaction; its statements go through [`run`](Self::run) too.
    pub async fn begin(&self) -> Result<Transaction<'static, Any>, StoreError> {
        self.prepare().await?;
        if self.postgres {
            Ok(self.acquired(self.pool.begin()).await?)
        } else {
            // SQLite upgrades a deferred transaction's read lock to a write lock and answers
            // "database is locked" at once when two writers meet; taking the write lock up
            // front makes concurrent orders queue (busy timeout) instead of failing.
            Ok(self
                .acquired(self.pool.begin_with("BEGIN IMMEDIATE"))
                .await?)
        }
    }

    /// Commits inside a span of its own, so the trace shows where the transaction ended.
    pub async fn commit(&self, tx: Transaction<'static, Any>) -> Result<(), StoreError> {
        self.run(DbOperation::command("COMMIT", "COMMIT"), tx.commit())
            .await
    }
}

/// Creates the schema as soon as the database answers, so the first request does not pay for
/// it; retries every two seconds while the database is down, stops at shutdown.
pub async fn prepare_in_background(
    sql: SqlDatabase,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        match sql.prepare().await {
            Ok(()) => return,
            Err(e) => {
                tracing::warn!(event.name = "db.not_ready", exception.type = std::any::type_name_of_val(&e), exception.message = %format!("{e:#}"), "database not ready; retrying in 2 s")
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(2)) => {}
            _ = shutdown.wait_for(|stop| *stop) => return,
        }
    }
}
