//! The tracemart shop: its services, their stores, and the launcher that runs any set of them
//! in one process.

pub mod config;
pub mod error;
pub mod launcher;
pub mod loadgen;
pub mod scenario;
pub mod server;
pub mod services;
pub mod store;

pub use config::{Database, ServiceName, ShopConfig};
pub use launcher::{LaunchError, RunningShop, start};
