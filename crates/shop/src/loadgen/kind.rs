//! The journeys a shopper makes, their mix and their traffic type.

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
