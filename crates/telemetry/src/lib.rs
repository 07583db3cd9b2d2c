//! Everything OpenTelemetry in tracemart, in one place: per-service providers and resources,
//! the HTTP server and client layers (propagation, semantic-convention spans, duration
//! metrics), database spans, baggage → attributes, and the `OTEL_*` environment variables.

pub mod baggage;
pub mod db;
pub mod http_client;
pub mod http_server;
#[cfg(feature = "test-util")]
mod memory;
pub mod messaging;
pub mod otlp_in;
pub mod process;
pub mod propagation;
pub mod metric {
    //! The names of the metrics every service records (semantic conventions).
    pub const HTTP_SERVER_DURATION: &str = "http.server.request.duration";
    pub const HTTP_CLIENT_DURATION: &str = "http.client.request.duration";
    pub const DB_CLIENT_DURATION: &str = "db.client.operation.duration";
}
pub mod service;
pub mod settings;
mod stdout;
pub mod tls;

pub use baggage::TRAFFIC_TYPE;
pub use db::{DbClient, DbFailure, DbOperation, DbSystem};
pub use http_client::{ClientError, ClientResponse, HttpClient, Upstream};
#[cfg(feature = "test-util")]
pub use memory::MemorySink;
pub use messaging::MessagingClient;
pub use service::{
    DB_DURATION_BUCKETS, LogFormat, SHUTDOWN_BUDGET, ServiceTelemetry, TelemetryHub, shutdown_all,
};
pub use settings::{Env, Settings};
