//! Service times as production shows them. Without a model every operation of the shop takes
//! what the machine takes (browse p95 ~6 ms, most spans under 2 ms), and an APM's latency
//! charts and waterfalls look synthetic. With it (the default), each route does its own work
//! for a log-normal time of its own before answering, each database statement costs a
//! per-call time plus a per-row time, and the payment gateway has a long tail; scenario delays
//! add to it. `--latency none` (`TRACEMART_LATENCY=none`) turns it off for benchmarks and for
//! tests that time injected delays. The figures per service are in docs/services.md.

use std::time::Duration;

use rand::Rng;

pub use crate::config::LatencyModel;
use crate::config::ServiceName;

/// A log-normal time: half the samples below `median_ms`, spread by `sigma` (the standard
/// deviation of its logarithm: 0.5 puts p95 at 2.3 × the median).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LogNormal {
    pub median_ms: f64,
    pub sigma: f64,
}

/// No sample exceeds this many medians (z ≈ 6 at σ = 0.5): a model never stalls a request.
const MAX_MEDIANS: f64 = 20.0;

impl LogNormal {
    pub const fn new(median_ms: f64, sigma: f64) -> Self {
        Self { median_ms, sigma }
    }

    pub fn sample_ms(&self, rng: &mut impl Rng) -> f64 {
        (self.median_ms * (self.sigma * standard_normal(rng)).exp())
            .clamp(0.0, self.median_ms * MAX_MEDIANS)
    }

    /// The `q` quantile (0.5 is the median), from the normal quantile `z_q`.
    pub fn quantile_ms(&self, z_q: f64) -> f64 {
        self.median_ms * (self.sigma * z_q).exp()
    }
}

/// One standard normal draw (Box–Muller).
fn standard_normal(rng: &mut impl Rng) -> f64 {
    let u1: f64 = 1.0 - rng.random::<f64>(); // (0, 1]: ln is finite
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// A route's own work: mostly `body`, and for a share of requests the slower `tail` (a
/// gateway's retries, a cold cache).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Work {
    pub body: LogNormal,
    pub tail: Option<(f64, LogNormal)>,
}

impl Work {
    const fn of(median_ms: f64, sigma: f64) -> Self {
        Self {
            body: LogNormal::new(median_ms, sigma),
            tail: None,
        }
    }

    pub fn sample(&self, rng: &mut impl Rng) -> Duration {
        let ms = match self.tail {
            Some((share, tail)) if rng.random::<f64>() < share => tail.sample_ms(rng),
            _ => self.body.sample_ms(rng),
        };
        Duration::from_secs_f64(ms / 1000.0)
    }
}

use ServiceName::*;

/// Each route's own work, besides the calls it makes and its statements. Chosen so the
/// frontend's baseline p95 lands where the original's checklist expected it (250–500 ms) and a
/// checkout, a dozen calls in a row, takes high hundreds of milliseconds.
pub const ROUTES: &[(ServiceName, &str, &str, Work)] = &[
    (Frontend, "POST", "/api/browse", Work::of(120.0, 0.45)),
    (Frontend, "POST", "/api/checkout", Work::of(90.0, 0.4)),
    (Frontend, "GET", "/api/products", Work::of(60.0, 0.45)),
    (Frontend, "GET", "/api/products/{id}", Work::of(40.0, 0.45)),
    (Frontend, "GET", "/api/cart/{cart_id}", Work::of(50.0, 0.45)),
    (
        Frontend,
        "POST",
        "/api/cart/{cart_id}/items",
        Work::of(70.0, 0.45),
    ),
    (
        Frontend,
        "GET",
        "/api/orders/{order_id}",
        Work::of(40.0, 0.45),
    ),
    (ProductCatalog, "GET", "/products", Work::of(45.0, 0.5)),
    (
        ProductCatalog,
        "GET",
        "/products/search",
        Work::of(70.0, 0.6),
    ),
    (
        ProductCatalog,
        "GET",
        "/products/recommendations",
        Work::of(35.0, 0.5),
    ),
    (ProductCatalog, "GET", "/products/{id}", Work::of(12.0, 0.5)),
    (
        Recommendation,
        "GET",
        "/recommendations",
        Work::of(30.0, 0.5),
    ),
    (Currency, "GET", "/rates", Work::of(6.0, 0.4)),
    (Currency, "GET", "/convert", Work::of(4.0, 0.4)),
    (Ad, "GET", "/ads", Work::of(22.0, 0.6)),
    (Cart, "GET", "/cart/{cart_id}", Work::of(8.0, 0.4)),
    (Cart, "POST", "/cart/{cart_id}/items", Work::of(9.0, 0.4)),
    (Cart, "DELETE", "/cart/{cart_id}", Work::of(6.0, 0.4)),
    (Inventory, "POST", "/reservations", Work::of(15.0, 0.5)),
    (
        Inventory,
        "DELETE",
        "/reservations/{order_id}",
        Work::of(10.0, 0.5),
    ),
    (Inventory, "GET", "/stock/{product_id}", Work::of(6.0, 0.4)),
    (Checkout, "POST", "/orders", Work::of(35.0, 0.5)),
    (Checkout, "GET", "/orders/{order_id}", Work::of(10.0, 0.4)),
    // The gateway's own latency (100–200 ms, the original's) is payment's; this is the
    // service's work around it, and the gateway's slow authorisations: 3% take about a second.
    (
        Payment,
        "POST",
        "/charge",
        Work {
            body: LogNormal::new(12.0, 0.4),
            tail: Some((0.03, LogNormal::new(900.0, 0.35))),
        },
    ),
    (Shipping, "POST", "/quote", Work::of(40.0, 0.5)),
    (Shipping, "POST", "/shipments", Work::of(30.0, 0.5)),
];

/// Any route the table does not name: a small handler.
pub const OTHER_ROUTE: Work = Work::of(5.0, 0.5);

/// The work of `method route` in `service`.
pub fn route_work(service: ServiceName, method: &str, route: &str) -> Work {
    ROUTES
        .iter()
        .find(|(s, m, r, _)| *s == service && *m == method && *r == route)
        .map_or(OTHER_ROUTE, |(.., w)| *w)
}

/// What one database statement costs: a log-normal per call, plus a time per row it returns
/// or touches.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StatementCost {
    pub per_call: LogNormal,
    pub per_row_ms: f64,
}

/// PostgreSQL over a network: about a millisecond and a half a statement.
pub const POSTGRESQL: StatementCost = StatementCost {
    per_call: LogNormal::new(1.5, 0.5),
    per_row_ms: 0.08,
};
/// SQLite in the process: no round trip.
pub const SQLITE: StatementCost = StatementCost {
    per_call: LogNormal::new(0.6, 0.5),
    per_row_ms: 0.05,
};
/// Redis over a network: a fraction of a millisecond.
pub const REDIS: StatementCost = StatementCost {
    per_call: LogNormal::new(0.35, 0.4),
    per_row_ms: 0.02,
};

impl StatementCost {
    pub fn sample(&self, rows: u64, rng: &mut impl Rng) -> Duration {
        let ms = self.per_call.sample_ms(rng) + self.per_row_ms * rows.min(100_000) as f64;
        Duration::from_secs_f64(ms / 1000.0)
    }
}

/// The per-request middleware: the route's own work, inside its SERVER span, before the
/// handler.
pub async fn per_request(
    axum::extract::State((service, model)): axum::extract::State<(ServiceName, LatencyModel)>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let work = (model == LatencyModel::Realistic)
        .then(|| request.extensions().get::<axum::extract::MatchedPath>())
        .flatten()
        .map(|route| route_work(service, request.method().as_str(), route.as_str()));
    if let Some(work) = work {
        let d = work.sample(&mut rand::rng());
        tokio::time::sleep(d).await;
    }
    next.run(request).await
}

/// Sleeps for the statement's cost under `model`.
pub async fn statement(model: LatencyModel, cost: StatementCost, rows: u64) {
    if model == LatencyModel::None {
        return;
    }
    let d = cost.sample(rows, &mut rand::rng());
    tokio::time::sleep(d).await;
}

/// How many rows a statement's result holds, for its per-row cost.
pub trait Rows {
    fn rows(&self) -> u64;
}

impl<T> Rows for Vec<T> {
    fn rows(&self) -> u64 {
        self.len() as u64
    }
}

impl<T> Rows for Option<T> {
    fn rows(&self) -> u64 {
        u64::from(self.is_some())
    }
}

impl Rows for sqlx::any::AnyQueryResult {
    fn rows(&self) -> u64 {
        self.rows_affected()
    }
}

/// One row: a scalar, a single record, or a statement that returns nothing.
macro_rules! one_row {
    ($($t:ty),*) => { $(impl Rows for $t { fn rows(&self) -> u64 { 1 } })* };
}
one_row!((), bool, i64, u64, String, (i64,));

impl<A, B> Rows for (A, B) {
    fn rows(&self) -> u64 {
        1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng as _;

    #[test]
    fn samples_follow_the_log_normal() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let m = LogNormal::new(100.0, 0.5);
        let mut xs: Vec<f64> = (0..20_000).map(|_| m.sample_ms(&mut rng)).collect();
        xs.sort_by(f64::total_cmp);
        let at = |q: f64| xs[(q * xs.len() as f64) as usize];
        // Median 100, p95 at exp(0.5 × 1.645) = 2.28 medians.
        assert!((at(0.5) - 100.0).abs() < 3.0, "median {}", at(0.5));
        assert!(
            (at(0.95) - m.quantile_ms(1.645)).abs() < 8.0,
            "p95 {}",
            at(0.95)
        );
        assert!(xs.iter().all(|x| *x >= 0.0 && *x <= 2000.0));
    }

    #[test]
    fn the_gateway_has_its_tail_and_unknown_routes_a_small_cost() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(5);
        let charge = route_work(Payment, "POST", "/charge");
        let slow = (0..10_000)
            .filter(|_| charge.sample(&mut rng) > Duration::from_millis(400))
            .count();
        // 3% of 10 000, give or take four standard deviations.
        assert!((230..=370).contains(&slow), "{slow} slow charges");
        assert_eq!(route_work(Frontend, "GET", "/nowhere"), OTHER_ROUTE);
        assert_eq!(
            route_work(Frontend, "POST", "/api/browse").body.median_ms,
            120.0
        );
    }

    #[test]
    fn every_route_in_the_table_is_a_route_of_its_service() {
        // The table names routes by their templates: a renamed route would silently fall
        // back to the small default.
        for (service, method, route, _) in ROUTES {
            let src = std::fs::read_to_string(format!(
                "{}/src/services/{}/mod.rs",
                env!("CARGO_MANIFEST_DIR"),
                service.as_str().replace('-', "_")
            ))
            .expect("the service's module");
            let verb = method.to_ascii_lowercase();
            assert!(
                src.contains(&format!("\"{route}\"")) && src.contains(&format!("{verb}(")),
                "{service} has no route {method} {route}"
            );
        }
    }

    #[test]
    fn the_docs_give_every_route_s_median() {
        let doc = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../docs/services.md"
        ))
        .expect("docs/services.md");
        for (service, method, route, work) in ROUTES {
            let row = format!(
                "| {service} | `{method} {route}` | {} ms",
                work.body.median_ms
            );
            assert!(doc.contains(&row), "docs/services.md lacks {row:?}");
        }
    }

    #[test]
    fn statements_cost_per_call_and_per_row() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(9);
        let mut mean = |rows| {
            (0..2000)
                .map(|_| POSTGRESQL.sample(rows, &mut rng).as_secs_f64() * 1000.0)
                .sum::<f64>()
                / 2000.0
        };
        let (one, hundred) = (mean(1), mean(100));
        assert!((1.3..2.2).contains(&one), "{one} ms for one row");
        assert!(
            (hundred - one - 7.92).abs() < 0.6,
            "{hundred} ms for 100 rows"
        );
    }
}
