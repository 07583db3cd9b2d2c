//! Everything OpenTelemetry in tracemart, in one place: per-service providers and resources,
//! the HTTP server and client layers (propagation, semantic-convention spans, duration
//! metrics), database spans, baggage → attributes, and the `OTEL_*` environment variables.

pub mod baggage;
pub mod db;
pub mod http_client;
pub mod http_server;
pub mod propagation;
pub mod service;
pub mod settings;
mod stdout;

pub use baggage::TRAFFIC_TYPE;
pub use db::{DbClient, DbFailure, DbOperation, DbSystem};
pub use http_client::{ClientError, ClientResponse, HttpClient, Upstream};
pub use service::{LogFormat, MemorySink, ServiceTelemetry, TelemetryHub};
pub use settings::{Env, Settings};
