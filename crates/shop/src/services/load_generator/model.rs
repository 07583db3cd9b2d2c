//! load-generator's wire types.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "kebab-case")]
pub enum JourneyKind {
    /// Browse only (60%): baseline traffic.
    Browse,
    /// Browse, add to cart, view the cart (25%): baseline traffic.
    BrowseAndCart,
    /// Browse, add to cart, check out (15%): demo traffic.
    Checkout,
    /// One GET of the target, for benchmarks; not part of the shop mix.
    Ping,
}

impl JourneyKind {
    pub const ALL: [JourneyKind; 3] = [
        JourneyKind::Browse,
        JourneyKind::BrowseAndCart,
        JourneyKind::Checkout,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JourneyKind::Browse => "browse",
            JourneyKind::BrowseAndCart => "browse-and-cart",
            JourneyKind::Checkout => "checkout",
            JourneyKind::Ping => "ping",
        }
    }

    /// The original's mix, in percent.
    pub fn weight(self) -> u32 {
        match self {
            JourneyKind::Browse => 60,
            JourneyKind::BrowseAndCart => 25,
            JourneyKind::Checkout => 15,
            JourneyKind::Ping => 0,
        }
    }

    /// The `traffic.type` the journey carries in baggage.
    pub fn traffic_type(self) -> &'static str {
        match self {
            JourneyKind::Browse | JourneyKind::BrowseAndCart | JourneyKind::Ping => "baseline",
            JourneyKind::Checkout => "demo",
        }
    }
}

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
