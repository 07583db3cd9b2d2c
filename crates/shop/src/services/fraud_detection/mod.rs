//! fraud-detection (8023): consumes `order.placed` events and scores each order with simple,
//! explainable rules (amount, shipping country against currency, orders per customer in ten
//! minutes); flags the orders scoring 50 or more, and answers which ones it flagged. The score
//! is an attribute of the consumer span (`fraud.score`) and a metric (`shop.fraud.score`).

mod handlers;
pub mod rules;
pub mod store;

use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use opentelemetry::metrics::Histogram;

use crate::consumer::consuming_service;
use crate::service::{Service, ServiceContext};
use store::Scores;

pub(crate) struct State {
    scores: Scores,
    score_metric: Histogram<u64>,
}

pub async fn build(ctx: ServiceContext) -> anyhow::Result<Service> {
    let sql = ctx.sql_database()?;
    let state = Arc::new(State {
        scores: Scores::new(sql.clone()),
        score_metric: ctx
            .telemetry
            .meter()
            .u64_histogram("shop.fraud.score")
            .with_unit("1")
            .with_description("Fraud score of each order, 0 to 100, by outcome.")
            .with_boundaries(vec![
                0.0, 10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 100.0,
            ])
            .build(),
    });
    consuming_service(&ctx, &sql, router(state.clone()), state, handlers::consume)
}

pub(crate) fn router(state: Arc<State>) -> Router {
    Router::new()
        .route("/flags", get(handlers::flags))
        .route("/scores/{order_id}", get(handlers::score_of))
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
            ServiceName::FraudDetection,
            &[
                (Method::GET, "/flags?limit=0", None, 400, "invalid_limit"),
                (Method::GET, "/flags?limit=lots", None, 400, "invalid_query"),
                (Method::GET, "/scores/%00", None, 400, "invalid_order_id"),
                (
                    Method::GET,
                    "/scores/ord_nothere",
                    None,
                    404,
                    "order_not_found",
                ),
            ],
        )
        .await;
    }
}
