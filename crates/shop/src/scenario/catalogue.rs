//! The scenarios: what each one breaks, where, and how hard at each level.

use serde::{Deserialize, Serialize};

use crate::config::ServiceName;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scenario {
    Blackfriday,
    PaymentFailure,
    SlowQuery,
    PoolExhaustion,
    RedisOutage,
    MemoryLeak,
    CpuHotspot,
    NPlusOne,
    SlowInternationalShipping,
    ConsumerLag,
    BrokerOutage,
    PoisonMessage,
    BadRelease,
    SlowImages,
    CheckoutJsError,
}

/// What a scenario does, for people and for the ground-truth records.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Definition {
    pub name: Scenario,
    /// The service whose behaviour changes (the default one where it can be chosen).
    pub target: ServiceName,
    /// The operation that degrades.
    pub operation: &'static str,
    /// The fault mechanism.
    pub fault_type: &'static str,
    pub description: &'static str,
    /// Whether `--target` may move it to another service.
    pub any_service: bool,
}

/// Levels run 1 (mild) to 5 (severe); Black Friday's level is its schedule step, 0 to 5.
pub const MAX_LEVEL: u8 = 5;
pub const DEFAULT_LEVEL: u8 = 3;

impl Scenario {
    pub const ALL: [Scenario; 15] = [
        Scenario::Blackfriday,
        Scenario::PaymentFailure,
        Scenario::SlowQuery,
        Scenario::PoolExhaustion,
        Scenario::RedisOutage,
        Scenario::MemoryLeak,
        Scenario::CpuHotspot,
        Scenario::NPlusOne,
        Scenario::SlowInternationalShipping,
        Scenario::ConsumerLag,
        Scenario::BrokerOutage,
        Scenario::PoisonMessage,
        Scenario::BadRelease,
        Scenario::SlowImages,
        Scenario::CheckoutJsError,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scenario::Blackfriday => "blackfriday",
            Scenario::PaymentFailure => "payment-failure",
            Scenario::SlowQuery => "slow-query",
            Scenario::PoolExhaustion => "pool-exhaustion",
            Scenario::RedisOutage => "redis-outage",
            Scenario::MemoryLeak => "memory-leak",
            Scenario::CpuHotspot => "cpu-hotspot",
            Scenario::NPlusOne => "n-plus-one",
            Scenario::SlowInternationalShipping => "slow-international-shipping",
            Scenario::ConsumerLag => "consumer-lag",
            Scenario::BrokerOutage => "broker-outage",
            Scenario::PoisonMessage => "poison-message",
            Scenario::BadRelease => "bad-release",
            Scenario::SlowImages => "slow-images",
            Scenario::CheckoutJsError => "checkout-js-error",
        }
    }

    /// The services `--target` may move it to besides its default (every one when
    /// [`Definition::any_service`]).
    pub fn other_targets(self) -> &'static [ServiceName] {
        use ServiceName::*;
        match self {
            Scenario::ConsumerLag | Scenario::PoisonMessage => {
                &[Accounting, FraudDetection, Notification]
            }
            _ => &[],
        }
    }

    pub fn parse(s: &str) -> Option<Scenario> {
        Scenario::ALL.into_iter().find(|x| x.as_str() == s)
    }

    pub fn definition(self) -> Definition {
        use ServiceName::*;
        let (target, operation, fault_type, description, any_service) = match self {
            Scenario::Blackfriday => (
                ProductCatalog,
                "GET /products/recommendations",
                "latency+errors",
                "The original's story: recommendations slow down and fail more, minute by minute (100 ms/2% up to 2800 ms/78%). Checkouts fail with them; browsing stays green.",
                false,
            ),
            Scenario::PaymentFailure => (
                Payment,
                "POST /charge",
                "errors",
                "The card gateway declines (402) and times out (502 after a delay) for 8% of charges per level.",
                false,
            ),
            Scenario::SlowQuery => (
                ProductCatalog,
                "GET /products",
                "slow-query",
                "Product listings run an expensive plan (a recursive scan of level × 100,000 rows) visible as slow SELECT spans with their query text.",
                false,
            ),
            Scenario::PoolExhaustion => (
                Checkout,
                "POST /orders",
                "pool-exhaustion",
                "Level × 20% of checkout's database connections are held by a stuck job; at level 5 orders queue for a connection and fail with 503 after 2 s.",
                false,
            ),
            Scenario::RedisOutage => (
                Cart,
                "cart operations",
                "dependency-outage",
                "The cart cannot reach Redis: every cart operation fails with a real connection error (503); adding to the cart and checkout fail, browse pages are served without the cart summary.",
                false,
            ),
            Scenario::MemoryLeak => (
                Recommendation,
                "every request",
                "memory-leak",
                "Each request adds level × 64 KiB to a cache that is never evicted, capped at level × 64 MiB so the machine survives.",
                true,
            ),
            Scenario::CpuHotspot => (
                Shipping,
                "every request",
                "cpu-hotspot",
                "Each request burns level × 15 ms of CPU on the request thread: latency rises with no child span to explain it.",
                true,
            ),
            Scenario::NPlusOne => (
                ProductCatalog,
                "GET /products",
                "n-plus-one",
                "Product listings read each product with its own query instead of one: a SELECT span per product.",
                false,
            ),
            Scenario::SlowInternationalShipping => (
                Shipping,
                "POST /quote (international)",
                "latency",
                "Quotes to destinations outside the US take level × 500 ms longer; domestic quotes are untouched.",
                false,
            ),
            Scenario::ConsumerLag => (
                Accounting,
                "process tracemart.orders",
                "consumer-lag",
                "The consumer takes level × 500 ms longer per order event: its queue grows and the order-to-ledger delay with it, while every checkout stays green. Any consumer (accounting, fraud-detection, notification) can be the target.",
                false,
            ),
            Scenario::BrokerOutage => (
                Checkout,
                "publish tracemart.orders",
                "dependency-outage",
                "No service reaches the message broker: checkout's outbox grows while orders keep succeeding, consumers wait; when it is lifted, every event is delivered, none lost, none doubled.",
                false,
            ),
            Scenario::PoisonMessage => (
                Accounting,
                "process tracemart.orders",
                "poison-message",
                "Level × 10% of order events fail the consumer's processing every time they are tried: each is retried, then dead-lettered, while the rest of the queue flows. Any consumer (accounting, fraud-detection, notification) can be the target.",
                false,
            ),
            Scenario::BadRelease => (
                Checkout,
                "every request",
                "bad-release",
                "A new release of the service rolls out: it serves level × 20% of its requests (all at level 5) and reports its own service.version; 30% of the requests it serves fail with 500 and the rest take 300 ms longer. Grouped by service.version, the errors and the latency are all the new version's. Clearing it rolls back.",
                true,
            ),
            Scenario::SlowImages => (
                Frontend,
                "GET /images/products/{id}.svg",
                "latency",
                "The storefront's product images are served level × 400 ms late: the browser's LCP degrades (its web-vitals spans show it) while every backend span stays green.",
                false,
            ),
            Scenario::CheckoutJsError => (
                Frontend,
                "checkout submit (browser)",
                "client-error",
                "The storefront's checkout button throws a TypeError for level × 20% of clicks: exceptions on the browser's checkout submit spans, fewer POST /api/checkout reach the backend, and the backend looks healthy.",
                false,
            ),
        };
        Definition {
            name: self,
            target,
            operation,
            fault_type,
            description,
            any_service,
        }
    }
}

/// consumer-lag: the added processing time of each order event, per level.
pub const CONSUMER_LAG_PER_LEVEL: std::time::Duration = std::time::Duration::from_millis(500);
/// poison-message: the share of order events that cannot be processed, per level.
pub const POISON_SHARE_PER_LEVEL: f64 = 0.10;

/// slow-images: how late each product image is, per level.
pub const IMAGE_DELAY_PER_LEVEL: std::time::Duration = std::time::Duration::from_millis(400);
/// checkout-js-error: the share of checkout clicks whose handler throws, per level.
pub const CHECKOUT_JS_ERROR_SHARE_PER_LEVEL: f64 = 0.2;

/// bad-release: the share of the target's requests the new release serves, per level ...
pub const RELEASE_SHARE_PER_LEVEL: f64 = 0.2;
/// ... the share of those that fail with a 500 ...
pub const RELEASE_FAILURE_SHARE: f64 = 0.3;
/// ... and the time it adds to the others.
pub const RELEASE_DELAY: std::time::Duration = std::time::Duration::from_millis(300);

/// The `service.version` a bad release of a service at `current` reports: the next minor
/// version (`1.4.2` → `1.5.0`), or `current` with `-next` when it is not `MAJOR.MINOR.PATCH`.
pub fn release_version(current: &str) -> String {
    let core = current.split(['-', '+']).next().unwrap_or_default();
    let parts: Vec<Option<u64>> = core.split('.').map(|p| p.parse().ok()).collect();
    match parts.as_slice() {
        [Some(major), Some(minor), Some(_)] => format!("{major}.{}.0", minor + 1),
        _ => format!("{current}-next"),
    }
}

/// payment-failure: the share of charges that fail, per level ...
pub const PAYMENT_FAILURES_PER_LEVEL: f64 = 0.08;
/// ... and of those, the share that are processor errors (502); the rest are declines (402).
pub const PAYMENT_FAILURE_ERROR_SHARE: f64 = 0.6;

/// What a scenario does to the error rate of the requests it acts on: the ground truth a
/// check of the telemetry compares with.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FailureSignature {
    /// This share of `service`'s requests (of `operation` when given: a SERVER span name)
    /// fail with a 5xx.
    Fails {
        service: ServiceName,
        operation: Option<&'static str>,
        rate: f64,
    },
    /// Latency, memory or query shape only: no more failures than a healthy shop.
    NoFailures,
    /// Requests fail when they wait too long, so how many depends on the load.
    LoadDependent,
}

impl Scenario {
    /// The failures this scenario causes at `level` when acting on `target`.
    pub fn failure_signature(self, target: ServiceName, level: u8) -> FailureSignature {
        match self {
            Scenario::Blackfriday => FailureSignature::Fails {
                service: target,
                operation: Some(self.definition().operation),
                rate: BLACKFRIDAY_STEPS[usize::from(level).min(BLACKFRIDAY_STEPS.len() - 1)].2,
            },
            Scenario::PaymentFailure => FailureSignature::Fails {
                service: target,
                operation: Some(self.definition().operation),
                rate: (PAYMENT_FAILURES_PER_LEVEL * f64::from(level)).min(1.0)
                    * PAYMENT_FAILURE_ERROR_SHARE,
            },
            Scenario::BadRelease => FailureSignature::Fails {
                service: target,
                operation: None,
                rate: (RELEASE_SHARE_PER_LEVEL * f64::from(level)).min(1.0) * RELEASE_FAILURE_SHARE,
            },
            Scenario::RedisOutage => FailureSignature::Fails {
                service: target,
                operation: None,
                rate: 1.0,
            },
            // Slow statements hold their connections: under load, requests queue for the
            // pool and fail after its timeout, like pool exhaustion's.
            Scenario::PoolExhaustion | Scenario::SlowQuery => FailureSignature::LoadDependent,
            Scenario::MemoryLeak
            | Scenario::CpuHotspot
            | Scenario::NPlusOne
            | Scenario::SlowInternationalShipping
            // The event path is asynchronous: checkouts stay green, what breaks is seen on the
            // messaging spans and the queues.
            | Scenario::ConsumerLag
            | Scenario::BrokerOutage
            | Scenario::PoisonMessage
            // The browser's incidents: the backend stays green.
            | Scenario::SlowImages
            | Scenario::CheckoutJsError => FailureSignature::NoFailures,
        }
    }
}

/// Black Friday's schedule, from the original: (from minute, added delay ms, failure rate).
pub const BLACKFRIDAY_STEPS: [(f64, u64, f64); 6] = [
    (0.0, 0, 0.0),
    (1.0, 100, 0.02),
    (5.0, 500, 0.10),
    (10.0, 1200, 0.25),
    (15.0, 2000, 0.50),
    (20.0, 2800, 0.78),
];

/// The step in force `minutes` after the story started.
pub fn blackfriday_step(minutes: f64) -> u8 {
    BLACKFRIDAY_STEPS
        .iter()
        .rposition(|(from, _, _)| minutes >= *from)
        .unwrap_or(0) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_matches_the_original() {
        assert_eq!(blackfriday_step(0.0), 0);
        assert_eq!(blackfriday_step(0.99), 0);
        assert_eq!(blackfriday_step(1.0), 1);
        assert_eq!(blackfriday_step(4.9), 1);
        assert_eq!(blackfriday_step(5.0), 2);
        assert_eq!(blackfriday_step(12.0), 3);
        assert_eq!(blackfriday_step(19.99), 4);
        assert_eq!(blackfriday_step(20.0), 5);
        assert_eq!(blackfriday_step(500.0), 5);
    }

    #[test]
    fn a_bad_release_is_the_next_minor_version() {
        assert_eq!(release_version("0.1.0"), "0.2.0");
        assert_eq!(release_version("1.4.2"), "1.5.0");
        assert_eq!(release_version("2.9.1-rc.1"), "2.10.0");
        assert_eq!(release_version("2024-06-01"), "2024-06-01-next");
        assert_eq!(release_version(""), "-next");
    }

    #[test]
    fn names_round_trip() {
        for s in Scenario::ALL {
            assert_eq!(Scenario::parse(s.as_str()), Some(s));
            assert_eq!(
                serde_json::to_value(s).ok(),
                Some(serde_json::Value::String(s.as_str().to_owned()))
            );
        }
    }
}
