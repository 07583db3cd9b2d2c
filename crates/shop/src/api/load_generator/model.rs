//! load-generator's wire types.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use crate::loadgen::JourneyKind;

/// The highest rate the admin API accepts.
pub const MAX_RATE: f64 = 1000.0;
/// The most virtual users the admin API accepts.
pub const MAX_USERS: usize = 10_000;

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct JourneyCounts {
    pub started: u64,
    pub succeeded: u64,
    pub failed: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoadStatus {
    pub running: bool,
    pub plan: crate::loadgen::Plan,
    /// The plan running now (`plan`, or Black Friday's crowd while that story runs); none
    /// when stopped.
    #[serde(default)]
    pub effective_plan: Option<crate::loadgen::Plan>,
    /// Journeys per second of the open model (0 for the closed model).
    pub journeys_per_second: f64,
    pub in_flight: u64,
    /// Finished journeys by kind.
    pub journeys: BTreeMap<JourneyKind, JourneyCounts>,
    /// Latencies and errors since the service started.
    pub stats: crate::loadgen::stats::Snapshot,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SetRate {
    pub journeys_per_second: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SetUsers {
    pub users: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SetProfile {
    /// `shop`, `blackfriday` or `ping`.
    pub name: String,
    /// Black Friday: how much faster than the original's 10-minute ramp.
    pub speed: Option<f64>,
}
