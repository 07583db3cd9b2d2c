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
        }
    }

    /// The original's mix, in percent.
    pub fn weight(self) -> u32 {
        match self {
            JourneyKind::Browse => 60,
            JourneyKind::BrowseAndCart => 25,
            JourneyKind::Checkout => 15,
        }
    }

    /// The `traffic.type` the journey carries in baggage.
    pub fn traffic_type(self) -> &'static str {
        match self {
            JourneyKind::Browse | JourneyKind::BrowseAndCart => "baseline",
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
    pub journeys_per_second: f64,
    pub in_flight: usize,
    pub journeys: BTreeMap<JourneyKind, JourneyCounts>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SetRate {
    pub journeys_per_second: f64,
}
