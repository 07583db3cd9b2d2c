//! accounting (8022): consumes the order events and books each one as double entries to the
//! ledger (integer minor units; an event delivered twice is booked once), and answers what
//! the ledger holds: an order's entries, a day's totals.

mod handlers;
pub mod store;

use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use opentelemetry::metrics::{Counter, Histogram};

use crate::consumer::consuming_service;
use crate::service::{Service, ServiceContext};
use store::Ledger;

pub(crate) struct State {
    ledger: Ledger,
    booked: Counter<u64>,
    delay: Histogram<f64>,
}

pub async fn build(ctx: ServiceContext) -> anyhow::Result<Service> {
    let sql = ctx.sql_database()?;
    let meter = ctx.telemetry.meter();
    let state = Arc::new(State {
        ledger: Ledger::new(sql.clone()),
        booked: meter
            .u64_counter("shop.ledger.events")
            .with_unit("{event}")
            .with_description("Order events booked to the ledger.")
            .build(),
        delay: meter
            .f64_histogram("shop.ledger.delay")
            .with_unit("s")
            .with_description("Time from an order event to its booking in the ledger.")
            .with_boundaries(vec![
                0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
            ])
            .build(),
    });
    consuming_service(&ctx, &sql, router(state.clone()), state, handlers::consume)
}

pub(crate) fn router(state: Arc<State>) -> Router {
    Router::new()
        .route("/ledger", get(handlers::ledger))
        .route("/ledger/daily", get(handlers::daily))
        .with_state(state)
}

#[cfg(test)]
mod tests {
    use http::Method;

    use crate::config::ServiceName;
    use crate::testing::check_cases;

    #[tokio::test]
    async fn bad_input_gets_a_json_4xx_with_its_code() {
        check_cases(
            ServiceName::Accounting,
            &[
                (Method::GET, "/ledger", None, 400, "invalid_order_id"),
                (
                    Method::GET,
                    "/ledger?order_id=%00",
                    None,
                    400,
                    "invalid_order_id",
                ),
                (
                    Method::GET,
                    "/ledger/daily?date=yesterday",
                    None,
                    400,
                    "invalid_date",
                ),
                (
                    Method::GET,
                    "/ledger/daily?date=2026-13-45",
                    None,
                    400,
                    "invalid_date",
                ),
                (Method::GET, "/ledger/nope", None, 404, "route_not_found"),
            ],
        )
        .await;
    }
}
