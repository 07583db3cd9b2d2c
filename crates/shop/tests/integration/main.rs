//! The shop's cross-service tests, in one test binary with shared helpers (`support`): each
//! starts the services it needs on free ports against the real PostgreSQL, Redis and RabbitMQ (or the
//! embedded stores) and asserts on the telemetry they export. A handler's own validation is
//! tested beside it, with `oneshot` on its router.

mod support;

mod bad_input;
mod browser;
mod console;
mod end_to_end;
mod events;
mod fuzz;
mod inventory;
mod latency;
mod loadgen;
mod otlp_types;
mod outage;
mod scenarios;
mod span_metrics;
