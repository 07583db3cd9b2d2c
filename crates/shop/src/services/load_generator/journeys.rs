//! Shopper journeys through the frontend only. Each journey is one trace: a root span in the
//! load generator carrying `traffic.type` and `session.id` as baggage, then one client span per
//! request.

use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry::baggage::BaggageExt as _;
use rand::Rng;
use rand::rngs::StdRng;
use tracing::Instrument as _;
use tracing::field::Empty;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use super::model::JourneyKind;
use crate::services::cart::model::AddItem;
use crate::services::frontend::client::FrontendClient;
use crate::services::frontend::model::{BrowsePage, BrowseRequest, CheckoutRequest};
use crate::services::payment::model::{Card, CardNumber, Cvv};

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
    let total: u32 = JourneyKind::ALL.iter().map(|k| k.weight()).sum();
    let mut roll = rng.random_range(0..total);
    for kind in JourneyKind::ALL {
        if roll < kind.weight() {
            return kind;
        }
        roll -= kind.weight();
    }
    JourneyKind::Browse
}

/// Why a journey stopped early.
#[derive(Debug)]
pub struct StepFailed {
    pub step: &'static str,
    pub reason: String,
}

pub struct Journey {
    pub kind: JourneyKind,
    pub session_id: String,
    pub think_time: (Duration, Duration),
    pub rng: StdRng,
}

impl Journey {
    /// Runs the journey as one trace; `Err` names the step that failed.
    pub async fn run(mut self, frontend: &FrontendClient) -> Result<(), StepFailed> {
        let cx = opentelemetry::Context::new().with_baggage(vec![
            KeyValue::new("traffic.type", self.kind.traffic_type()),
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
        let _ = span.set_parent(cx);
        let result = self.steps(frontend).instrument(span.clone()).await;
        if let Err(e) = &result {
            span.record("otel.status_code", "ERROR");
            span.record("journey.failed_step", e.step);
            span.record("error.type", e.reason.as_str());
        }
        result
    }

    async fn think(&mut self) {
        let (min, max) = self.think_time;
        let ms = self
            .rng
            .random_range(min.as_millis()..=max.as_millis().max(min.as_millis()));
        tokio::time::sleep(Duration::from_millis(ms as u64)).await;
    }

    async fn steps(&mut self, frontend: &FrontendClient) -> Result<(), StepFailed> {
        let cart_id = self.session_id.clone();
        let currency = weighted(&mut self.rng, CURRENCIES);
        let page: BrowsePage = expect(
            "browse",
            frontend
                .browse(&BrowseRequest {
                    cart_id: Some(cart_id.clone()),
                    currency: Some(currency.to_owned()),
                    ..BrowseRequest::default()
                })
                .await,
        )?;
        if self.kind == JourneyKind::Browse {
            return Ok(());
        }
        let lines = if self.kind == JourneyKind::Checkout {
            self.rng.random_range(1..=3)
        } else {
            1
        };
        for _ in 0..lines {
            self.think().await;
            if page.products.is_empty() {
                return Err(StepFailed {
                    step: "browse",
                    reason: "empty_catalogue".to_owned(),
                });
            }
            let product = &page.products[self.rng.random_range(0..page.products.len())];
            let item = AddItem {
                product_id: product.id,
                quantity: self.rng.random_range(1..=2),
            };
            expect::<serde_json::Value>(
                "add_to_cart",
                frontend.add_to_cart(&cart_id, &item).await,
            )?;
        }
        self.think().await;
        match self.kind {
            JourneyKind::BrowseAndCart => {
                expect::<serde_json::Value>("view_cart", frontend.view_cart(&cart_id).await)?;
            }
            _ => {
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
                expect::<serde_json::Value>("checkout", frontend.checkout(&request).await)?;
            }
        }
        Ok(())
    }
}

/// A step succeeds on any 2xx whose body decodes.
fn expect<T: serde::de::DeserializeOwned>(
    step: &'static str,
    result: Result<telemetry::ClientResponse, telemetry::ClientError>,
) -> Result<T, StepFailed> {
    match result {
        Ok(r) if r.status.is_success() => r.json::<T>().map_err(|_| StepFailed {
            step,
            reason: "invalid_body".to_owned(),
        }),
        Ok(r) => Err(StepFailed {
            step,
            reason: r.status.as_str().to_owned(),
        }),
        Err(e) => Err(StepFailed {
            step,
            reason: match e {
                telemetry::ClientError::Timeout { .. } => "timeout".to_owned(),
                telemetry::ClientError::Unreachable { .. } => "connection_error".to_owned(),
                telemetry::ClientError::Other { .. } => "request_error".to_owned(),
            },
        }),
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
