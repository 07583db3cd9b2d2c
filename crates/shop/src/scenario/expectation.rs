//! What demo traffic should show under the scenarios in force: each scenario's failure
//! signature from the catalogue, turned into the measurement `tracemart validate` makes and
//! the failure rate it expects there.

use super::api::ActiveView;
use super::catalogue::FailureSignature;
use crate::config::ServiceName;

/// The failure rate a measurement should show.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ExpectedRate {
    /// Anywhere within these bounds.
    Within(f64, f64),
    /// About this failure probability (judged within binomial bounds).
    About(f64),
}

/// Where the demo's failures are measured, and what they should be.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoExpectation {
    /// The service whose SERVER spans are measured.
    pub service: ServiceName,
    /// The one operation (a SERVER span name) measured, when not all of them.
    pub operation: Option<&'static str>,
    /// Whether only `demo` traffic is measured (the frontend's view of the demo flow); a
    /// scenario's own target is measured on all its requests.
    pub demo_traffic_only: bool,
    pub rate: ExpectedRate,
    /// What is measured and why that rate (the scenario, or none).
    pub reason: String,
}

/// Payment declines and stock are 4xx: a healthy shop fails at most this share of the
/// frontend's demo requests.
pub const HEALTHY_DEMO_FAILURES: f64 = 0.05;

impl DemoExpectation {
    fn healthy(reason: String) -> Self {
        Self {
            service: ServiceName::Frontend,
            operation: None,
            demo_traffic_only: true,
            rate: ExpectedRate::Within(0.0, HEALTHY_DEMO_FAILURES),
            reason,
        }
    }

    /// The expectation under the scenarios `active` (the shop's `/scenarios` view): the first
    /// scenario that fails requests decides; latency-only scenarios leave a healthy shop's.
    pub fn under(active: &[ActiveView]) -> Self {
        let mut demo = Self::healthy("no scenario: payment declines and stock only".to_owned());
        let mut latency_only = Vec::new();
        for a in active {
            let level = a.current_level;
            let scenario = a.activation.scenario;
            let name = scenario.as_str();
            match scenario.failure_signature(a.activation.target, level) {
                FailureSignature::Fails {
                    service,
                    operation,
                    rate,
                } => {
                    // Failures the scenario does not cause yet (Black Friday's minute 0) leave
                    // the healthy expectation in place.
                    if rate <= 0.0 {
                        latency_only.push(format!("{name} at level {level}"));
                        continue;
                    }
                    return Self {
                        service,
                        operation,
                        demo_traffic_only: false,
                        rate: ExpectedRate::About(rate),
                        reason: format!(
                            "{name} at level {level}: {:.0}% of {} fail",
                            rate * 100.0,
                            operation.map_or_else(
                                || format!("{service} requests"),
                                |o| format!("{service} {o}")
                            )
                        ),
                    };
                }
                FailureSignature::LoadDependent => {
                    demo = Self {
                        rate: ExpectedRate::Within(0.0, 1.0),
                        reason: format!(
                            "{name} at level {level}: how many requests time out depends on the load"
                        ),
                        ..Self::healthy(String::new())
                    };
                }
                FailureSignature::NoFailures => {
                    latency_only.push(format!("{name} at level {level}"));
                }
            }
        }
        if matches!(demo.rate, ExpectedRate::Within(_, hi) if hi < 1.0) && !latency_only.is_empty()
        {
            demo.reason = format!(
                "{}: latency only, payment declines and stock as usual",
                latency_only.join(", ")
            );
        }
        demo
    }

    /// The expectation when the shop's scenario state cannot be read.
    pub fn unknown() -> Self {
        let mut d = Self::under(&[]);
        d.reason
            .push_str("; the shop's scenario state was not reachable");
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{Activation, Scenario};

    fn with(scenario: &str, target: &str, level: u8) -> Vec<ActiveView> {
        let view = serde_json::json!({
            "scenario": scenario, "target": target, "level": level, "speed": 1.0,
            "started_at_ms": 0, "seed": null, "mark_faults": false, "graceful": false,
            "current_level": level, "story_minutes": 0.0, "started_at": "1970-01-01T00:00:00Z",
        });
        vec![serde_json::from_value(view).expect("an active scenario's view")]
    }

    #[test]
    fn each_scenario_is_judged_by_its_own_failures() {
        let none = DemoExpectation::under(&[]);
        assert_eq!(none.service, ServiceName::Frontend);
        assert!(none.demo_traffic_only);
        assert_eq!(none.rate, ExpectedRate::Within(0.0, 0.05));

        let bf = DemoExpectation::under(&with("blackfriday", "product-catalog", 2));
        assert_eq!(bf.service, ServiceName::ProductCatalog);
        assert_eq!(bf.operation, Some("GET /products/recommendations"));
        assert!(!bf.demo_traffic_only);
        assert_eq!(bf.rate, ExpectedRate::About(0.10));

        // 8% of charges per level fail, 60% of those with a 502 (the rest are 402 declines).
        let payment = DemoExpectation::under(&with("payment-failure", "payment", 3));
        assert_eq!(payment.operation, Some("POST /charge"));
        let ExpectedRate::About(p) = payment.rate else {
            panic!("{:?}", payment.rate)
        };
        assert!((p - 0.144).abs() < 1e-9, "{p}");

        let redis = DemoExpectation::under(&with("redis-outage", "cart", 3));
        assert_eq!(redis.service, ServiceName::Cart);
        assert_eq!(redis.operation, None);
        assert_eq!(redis.rate, ExpectedRate::About(1.0));

        // Latency only: as healthy as no scenario, and it says why.
        let cpu = DemoExpectation::under(&with("cpu-hotspot", "currency", 4));
        assert_eq!(cpu.service, ServiceName::Frontend);
        assert_eq!(cpu.rate, ExpectedRate::Within(0.0, 0.05));
        assert!(
            cpu.reason.contains("cpu-hotspot at level 4: latency only"),
            "{}",
            cpu.reason
        );
        let minute_zero = DemoExpectation::under(&with("blackfriday", "product-catalog", 0));
        assert_eq!(minute_zero.rate, ExpectedRate::Within(0.0, 0.05));

        let pool = DemoExpectation::under(&with("pool-exhaustion", "checkout", 5));
        assert_eq!(pool.rate, ExpectedRate::Within(0.0, 1.0));
        assert!(
            pool.reason.contains("depends on the load"),
            "{}",
            pool.reason
        );
        assert!(DemoExpectation::unknown().reason.contains("not reachable"));
    }

    #[test]
    fn the_view_decodes_what_the_api_encodes() {
        let active = with("slow-query", "product-catalog", 3);
        let a: &Activation = &active[0].activation;
        assert_eq!(a.scenario, Scenario::SlowQuery);
        assert_eq!(a.target, ServiceName::ProductCatalog);
    }
}
