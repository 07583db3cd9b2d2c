//! Database CLIENT spans: one per PostgreSQL, SQLite or Redis operation, named
//! `{operation} {collection}`, carrying the stable attribute names and — unless
//! `OTEL_SEMCONV_STABILITY_OPT_IN=database` — the old ones Coralogix Database APM reads.
//! Neither sqlx nor redis creates spans, so every store call goes through [`DbClient::run`].

use std::future::Future;
use std::time::Instant;

use opentelemetry::KeyValue;
use tracing::Instrument as _;
use tracing::field::Empty;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use crate::ServiceTelemetry;
use crate::baggage::{TRAFFIC_TYPE, baggage_value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbSystem {
    Postgresql,
    Sqlite,
    Redis,
}

impl DbSystem {
    pub fn as_str(self) -> &'static str {
        match self {
            DbSystem::Postgresql => "postgresql",
            DbSystem::Sqlite => "sqlite",
            DbSystem::Redis => "redis",
        }
    }
}

/// What a failed operation reports on its span.
pub trait DbFailure {
    /// Low-cardinality `error.type`, e.g. `unavailable`, `constraint_violation`.
    fn error_type(&self) -> &'static str;
    /// `db.response.status_code`, e.g. a PostgreSQL SQLSTATE.
    fn status_code(&self) -> Option<String> {
        None
    }
}

/// One operation to run: `operation` (`SELECT`, `HGETALL`), the table or key space it touches,
/// and the query text with parameters as placeholders — never values.
#[derive(Debug, Clone, Copy)]
pub struct DbOperation<'a> {
    pub operation: &'a str,
    pub collection: Option<&'a str>,
    pub query_text: &'a str,
}

impl<'a> DbOperation<'a> {
    /// An operation on a table: `SELECT` on `products`.
    pub fn on(operation: &'a str, collection: &'a str, query_text: &'a str) -> Self {
        Self {
            operation,
            collection: Some(collection),
            query_text,
        }
    }

    /// An operation without a table (a Redis command, `COMMIT`).
    pub fn command(operation: &'a str, query_text: &'a str) -> Self {
        Self {
            operation,
            collection: None,
            query_text,
        }
    }
}

/// A service's connection to one database, as telemetry sees it.
#[derive(Clone)]
pub struct DbClient {
    telemetry: ServiceTelemetry,
    system: DbSystem,
    namespace: String,
    address: Option<String>,
    port: Option<u16>,
    /// A Redis connection's database index, when its namespace is a name (see
    /// [`DbClient::with_redis_database_index`]).
    redis_database_index: Option<i64>,
}

impl DbClient {
    pub fn new(
        telemetry: ServiceTelemetry,
        system: DbSystem,
        namespace: impl Into<String>,
        address: Option<String>,
        port: Option<u16>,
    ) -> Self {
        Self {
            telemetry,
            system,
            namespace: namespace.into(),
            address,
            port,
            redis_database_index: None,
        }
    }

    /// For Redis, whose conventions make the namespace the database index (`0`), which names
    /// nothing in a database catalog: the namespace given to [`DbClient::new`] is then the
    /// keyspace's name, and the index goes in `db.redis.database_index`.
    pub fn with_redis_database_index(mut self, index: i64) -> Self {
        self.redis_database_index = Some(index);
        self
    }

    pub fn system(&self) -> DbSystem {
        self.system
    }

    /// Runs `fut` inside a CLIENT span describing `op`, and records its duration.
    pub async fn run<T, E, F>(&self, op: DbOperation<'_>, fut: F) -> Result<T, E>
    where
        F: Future<Output = Result<T, E>>,
        E: DbFailure,
    {
        // `{operation} {target}`: the table, or for a SQL command on none (`COMMIT`) the
        // database. A Redis command keeps its own name (its namespace is a number).
        let name = match op.collection {
            Some(c) => format!("{} {}", op.operation, c),
            None if self.namespace.is_empty() || self.system == DbSystem::Redis => {
                op.operation.to_owned()
            }
            None => format!("{} {}", op.operation, self.namespace),
        };
        let span = tracing::info_span!(
            "db.client",
            otel.name = %name,
            otel.kind = "client",
            otel.status_code = Empty,
            db.system.name = Empty,
            db.namespace = Empty,
            db.collection.name = Empty,
            db.operation.name = Empty,
            db.query.text = Empty,
            db.response.status_code = Empty,
            server.address = Empty,
            server.port = Empty,
            error.type = Empty,
            db.system = Empty,
            db.name = Empty,
            db.operation = Empty,
            db.sql.table = Empty,
            db.statement = Empty,
            net.peer.name = Empty,
            net.peer.port = Empty,
            db.redis.database_index = self.redis_database_index,
        );
        let system = self.system.as_str();
        span.record("db.system.name", system);
        span.record("db.namespace", self.namespace.as_str());
        span.record("db.operation.name", op.operation);
        span.record("db.query.text", op.query_text);
        if let Some(c) = op.collection {
            span.record("db.collection.name", c);
        }
        if let Some(a) = &self.address {
            span.record("server.address", a.as_str());
        }
        if let Some(p) = self.port {
            span.record("server.port", i64::from(p));
        }
        if self.telemetry.db_semconv().emits_old() {
            span.record("db.system", system);
            span.record("db.name", self.namespace.as_str());
            span.record("db.operation", op.operation);
            span.record("db.statement", op.query_text);
            if let Some(c) = op.collection {
                span.record("db.sql.table", c);
            }
            if let Some(a) = &self.address {
                span.record("net.peer.name", a.as_str());
            }
            if let Some(p) = self.port {
                span.record("net.peer.port", i64::from(p));
            }
        }

        let started = Instant::now();
        let traffic_type = baggage_value(&span.context(), TRAFFIC_TYPE);
        let result = fut.instrument(span.clone()).await;

        let mut attrs = vec![
            KeyValue::new("db.system.name", system),
            KeyValue::new("db.namespace", self.namespace.clone()),
            KeyValue::new("db.operation.name", op.operation.to_owned()),
        ];
        if let Some(c) = op.collection {
            attrs.push(KeyValue::new("db.collection.name", c.to_owned()));
        }
        if let Some(a) = &self.address {
            attrs.push(KeyValue::new("server.address", a.clone()));
        }
        if let Err(e) = &result {
            span.record("otel.status_code", "ERROR");
            span.record("error.type", e.error_type());
            if let Some(code) = e.status_code() {
                span.record("db.response.status_code", code.as_str());
            }
            attrs.push(KeyValue::new("error.type", e.error_type()));
        }
        if let Some(t) = traffic_type {
            attrs.push(KeyValue::new(TRAFFIC_TYPE, t));
        }
        self.telemetry
            .db_duration()
            .record(started.elapsed().as_secs_f64(), &attrs);
        result
    }
}
