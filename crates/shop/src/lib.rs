//! The tracemart shop: its services, their stores, and the launcher that runs any set of them
//! in one process.

pub mod api;
pub mod broker;
pub mod config;
pub mod consumer;
pub mod error;
pub mod latency;
pub mod launcher;
#[cfg(test)]
mod layers;
pub mod loadgen;
pub mod peer;
pub mod scenario;
pub mod server;
pub mod service;
pub mod services;
pub mod store;
#[cfg(test)]
mod testing;
pub mod types;

pub use config::{Database, ServiceName, ShopConfig};
pub use launcher::{LaunchError, RunningShop, start};
#[cfg(test)]
mod log_events;
