//! Shopper journeys through the frontend only. Each journey is one trace: a root span in the
//! load generator carrying `session.id` and the journey's `traffic.type` as baggage, then one
//! client span per request with the request's own `traffic.type` (see [`super::Tagging`]).
//! Every request is timed from when it was meant to start.

use std::time::{Duration, Instant};

use opentelemetry::KeyValue;
use opentelemetry::baggage::BaggageExt as _;
use opentelemetry::context::FutureExt as _;
use rand::Rng;
use rand::rngs::StdRng;
use tracing::Instrument as _;
use tracing::field::Empty;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use super::JourneyKind;
use super::stats::{ErrorKind, Stats};
use crate::api::cart::model::AddItem;
use crate::api::frontend::client::FrontendClient;
use crate::api::frontend::model::{BrowsePage, BrowseRequest, CheckoutRequest};
use crate::api::payment::model::{Card, CardNumber, Cvv};

/// A card the simulated gateway approves (apart from its random declines).
const TEST_CARD: &str = "4242424242424242";

/// Shoppers' display currencies, with weights.
const CURRENCIES: &[(&str, u32)] = &[
    ("USD", 60),
    ("EUR", 15),
    ("GBP", 10),
    ("JPY", 8),
    ("CAD", 7),
];
/// Destinations, with weights: most orders are domestic.
const COUNTRIES: &[(&str, u32)] = &[
    ("US", 75),
    ("DE", 6),
    ("GB", 6),
    ("JP", 5),
    ("CA", 5),
    ("FR", 3),
];

fn weighted(rng: &mut impl Rng, choices: &[(&'static str, u32)]) -> &'static str {
    let total: u32 = choices.iter().map(|(_, w)| w).sum();
    let mut roll = rng.random_range(0..total);
    for (choice, weight) in choices {
        if roll < *weight {
            return choice;
        }
        roll -= weight;
    }
    choices[0].0
}

/// Picks a journey by the original's weights.
pub fn pick(rng: &mut impl Rng) -> JourneyKind {
    pick_from(rng, &JourneyKind::ALL)
}

/// Picks one of `kinds` by their weights.
pub fn pick_from(rng: &mut impl Rng, kinds: &[JourneyKind]) -> JourneyKind {
    let total: u32 = kinds.iter().map(|k| k.weight()).sum();
    if total == 0 {
        return kinds.first().copied().unwrap_or(JourneyKind::Browse);
    }
    let mut roll = rng.random_range(0..total);
    for kind in kinds {
        if roll < kind.weight() {
            return *kind;
        }
        roll -= kind.weight();
    }
    kinds[0]
}

/// Why a journey stopped early.
#[derive(Debug)]
pub struct StepFailed {
    pub step: &'static str,
    pub kind: ErrorKind,
    pub reason: String,
}

/// What journeys are sent to.
#[derive(Clone)]
pub struct Target {
    pub frontend: FrontendClient,
    /// The path a `ping` journey requests.
    pub ping_path: String,
    /// `loadgen.journeys`, when the run reports metrics.
    pub journeys: Option<opentelemetry::metrics::Counter<u64>>,
}

pub struct Journey {
    pub kind: JourneyKind,
    /// The journey's own `traffic.type`, on its root span.
    pub traffic_type: String,
    /// The `traffic.type` of its checkout request, and of its other requests.
    pub request_types: RequestTypes,
    pub session_id: String,
    pub think_time: (Duration, Duration),
    pub rng: StdRng,
    /// When the schedule wanted it to start.
    pub intended_start: Instant,
}

/// The `traffic.type` each request of a journey carries.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestTypes {
    /// `POST /api/checkout`, the demo flow.
    pub checkout: String,
    /// Browse, add to cart, view the cart, ping.
    pub other: String,
}

impl Journey {
    /// The context a step's request runs in: the journey's span, with the step's traffic type
    /// and the journey's session in the baggage.
    fn step_context(&self, step: &str) -> opentelemetry::Context {
        opentelemetry::Context::current().with_baggage(vec![
            KeyValue::new("traffic.type", self.request_type(step).to_owned()),
            KeyValue::new("session.id", self.session_id.clone()),
        ])
    }

    fn request_type(&self, step: &str) -> &str {
        if step == "checkout" {
            &self.request_types.checkout
        } else {
            &self.request_types.other
        }
    }

    /// Runs the journey as one trace and records it; `Err` names the step that failed.
    pub async fn run(mut self, target: &Target, stats: &Stats) -> Result<(), StepFailed> {
        let cx = opentelemetry::Context::new().with_baggage(vec![
            KeyValue::new("traffic.type", self.traffic_type.clone()),
            KeyValue::new("session.id", self.session_id.clone()),
        ]);
        let span = tracing::info_span!(
            "journey",
            otel.name = %format_args!("journey {}", self.kind.as_str()),
            otel.kind = "internal",
            otel.status_code = Empty,
            journey.name = self.kind.as_str(),
            journey.failed_step = Empty,
            error.type = Empty,
        );
        let _ = span.set_parent(cx.clone());
        let started = self.intended_start;
        // The span inside the context: when the span is entered its context (with the
        // baggage) is the current one; without a subscriber the baggage context still is.
        let result = self
            .steps(target, stats)
            .instrument(span.clone())
            .with_context(cx)
            .await;
        if let Err(e) = &result {
            span.record("otel.status_code", "ERROR");
            span.record("journey.failed_step", e.step);
            span.record("error.type", e.reason.as_str());
        }
        stats.journey(
            self.kind.as_str(),
            &self.traffic_type,
            started.elapsed(),
            result.is_err(),
        );
        if let Some(counter) = &target.journeys {
            counter.add(
                1,
                &[
                    KeyValue::new("journey.name", self.kind.as_str()),
                    KeyValue::new("traffic.type", self.traffic_type.clone()),
                    KeyValue::new(
                        "journey.outcome",
                        if result.is_ok() { "success" } else { "failure" },
                    ),
                ],
            );
        }
        result
    }

    /// Pauses like a shopper; the next step is meant to start when the pause ends.
    async fn think(&mut self) -> Instant {
        let (min, max) = self.think_time;
        let ms = self
            .rng
            .random_range(min.as_millis()..=max.as_millis().max(min.as_millis()));
        tokio::time::sleep(Duration::from_millis(ms as u64)).await;
        Instant::now()
    }

    /// Times one request from `intended` and records it.
    async fn step<T: serde::de::DeserializeOwned>(
        &self,
        stats: &Stats,
        step: &'static str,
        intended: Instant,
        request: impl std::future::Future<
            Output = Result<telemetry::ClientResponse, telemetry::ClientError>,
        >,
    ) -> Result<T, StepFailed> {
        // The request's span starts when the future is first polled, in the step's context.
        let outcome = expect(step, request.with_context(self.step_context(step)).await);
        stats.request(
            self.kind.as_str(),
            step,
            self.request_type(step),
            intended.elapsed(),
            outcome.as_ref().err().map(|e| e.kind),
        );
        outcome
    }

    async fn steps(&mut self, target: &Target, stats: &Stats) -> Result<(), StepFailed> {
        let frontend = &target.frontend;
        let mut at = self.intended_start;
        if self.kind == JourneyKind::Ping {
            let path = target.ping_path.clone();
            // Any 2xx will do: the target may answer anything.
            let answer = frontend
                .get_raw(&path)
                .with_context(self.step_context("ping"))
                .await;
            let outcome = match answer {
                Ok(r) if r.status.is_success() => Ok(()),
                other => expect::<serde::de::IgnoredAny>("ping", other).map(|_| ()),
            };
            let error = outcome.as_ref().err().map(|e| e.kind);
            stats.request(
                self.kind.as_str(),
                "ping",
                self.request_type("ping"),
                at.elapsed(),
                error,
            );
            outcome?;
            return Ok(());
        }
        let cart_id = self.session_id.clone();
        let currency = weighted(&mut self.rng, CURRENCIES);
        let browse = BrowseRequest {
            cart_id: Some(cart_id.clone()),
            currency: Some(currency.to_owned()),
            ..BrowseRequest::default()
        };
        let page: BrowsePage = self
            .step(stats, "browse", at, frontend.browse(&browse))
            .await?;
        if self.kind == JourneyKind::Browse {
            return Ok(());
        }
        if page.products.is_empty() {
            return Err(StepFailed {
                step: "browse",
                kind: ErrorKind::InvalidBody,
                reason: "empty_catalogue".to_owned(),
            });
        }
        let lines = if self.kind == JourneyKind::Checkout {
            self.rng.random_range(1..=3)
        } else {
            1
        };
        for _ in 0..lines {
            at = self.think().await;
            let product = &page.products[self.rng.random_range(0..page.products.len())];
            let item = AddItem {
                product_id: product.id,
                quantity: self.rng.random_range(1..=2),
            };
            self.step::<serde::de::IgnoredAny>(
                stats,
                "add_to_cart",
                at,
                frontend.add_to_cart(&cart_id, &item),
            )
            .await?;
        }
        at = self.think().await;
        if self.kind == JourneyKind::BrowseAndCart {
            self.step::<serde::de::IgnoredAny>(
                stats,
                "view_cart",
                at,
                frontend.view_cart(&cart_id),
            )
            .await?;
            return Ok(());
        }
        let request = CheckoutRequest {
            cart_id,
            email: Some(format!("{}@shoppers.example", self.session_id)),
            currency: Some(currency.to_owned()),
            country: Some(weighted(&mut self.rng, COUNTRIES).to_owned()),
            card: Card {
                number: CardNumber::new(TEST_CARD),
                cvv: Cvv::new("123"),
                exp_month: 12,
                exp_year: 2034,
            },
        };
        self.step::<serde::de::IgnoredAny>(stats, "checkout", at, frontend.checkout(&request))
            .await?;
        Ok(())
    }
}

/// A step succeeds on any 2xx whose body decodes.
fn expect<T: serde::de::DeserializeOwned>(
    step: &'static str,
    result: Result<telemetry::ClientResponse, telemetry::ClientError>,
) -> Result<T, StepFailed> {
    match result {
        Ok(r) if r.status.is_success() => {
            let body: &[u8] = if r.body.is_empty() { b"null" } else { &r.body };
            serde_json::from_slice(body).map_err(|_| StepFailed {
                step,
                kind: ErrorKind::InvalidBody,
                reason: "invalid_body".to_owned(),
            })
        }
        Ok(r) => Err(StepFailed {
            step,
            kind: ErrorKind::of_status(r.status.as_u16()),
            reason: r.status.as_str().to_owned(),
        }),
        Err(e) => {
            let (kind, reason) = match e {
                telemetry::ClientError::Timeout { .. } => (ErrorKind::Timeout, "timeout"),
                telemetry::ClientError::Unreachable { .. } => {
                    (ErrorKind::Connection, "connection_error")
                }
                telemetry::ClientError::Other { .. } => (ErrorKind::Other, "request_error"),
            };
            Err(StepFailed {
                step,
                kind,
                reason: reason.to_owned(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn journey_mix_follows_the_weights() {
        let mut rng = StdRng::seed_from_u64(7);
        let n = 20_000;
        let mut counts = [0u32; 3];
        for _ in 0..n {
            counts[pick(&mut rng) as usize] += 1;
        }
        // Binomial standard deviation at n = 20 000 is under 0.4 points; allow 1.5.
        for (kind, count) in JourneyKind::ALL.iter().zip(counts) {
            let share = f64::from(count) * 100.0 / f64::from(n);
            assert!(
                (share - f64::from(kind.weight())).abs() < 1.5,
                "{kind:?}: {share}%"
            );
        }
    }

    #[test]
    fn same_seed_same_journeys() {
        let a: Vec<_> = (0..50)
            .scan(StdRng::seed_from_u64(42), |r, _| Some(pick(r)))
            .collect();
        let b: Vec<_> = (0..50)
            .scan(StdRng::seed_from_u64(42), |r, _| Some(pick(r)))
            .collect();
        assert_eq!(a, b);
    }
}
