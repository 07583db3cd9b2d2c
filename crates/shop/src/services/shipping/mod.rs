//! shipping (8012): quotes by weight and destination — international is dearer and slower —
//! priced in the shopper's currency through currency, and shipments with a tracking id.

pub(crate) mod handlers;

use std::sync::Arc;

use axum::Router;
use axum::routing::post;

use crate::api::currency::client::CurrencyClient;
use crate::service::{Service, ServiceContext};

pub(crate) struct State {
    faults: crate::scenario::Faults,
    currency: CurrencyClient,
}

pub async fn build(ctx: ServiceContext) -> anyhow::Result<Service> {
    let state = Arc::new(State {
        faults: ctx.faults.clone(),
        currency: CurrencyClient::new(&ctx),
    });
    Ok(Service::without_store(router(state)))
}

pub(crate) fn router(state: Arc<State>) -> Router {
    Router::new()
        .route("/quote", post(handlers::quote))
        .route("/shipments", post(handlers::ship))
        .with_state(state)
}

#[cfg(test)]
mod tests {
    use http::Method;
    use serde_json::json;

    use crate::config::ServiceName;
    use crate::testing::check_cases;

    #[tokio::test]
    async fn bad_input_gets_a_json_4xx_with_its_code() {
        check_cases(
            ServiceName::Shipping,
            &[
                (
                    Method::POST,
                    "/quote",
                    Some(json!({"country": "usa", "weight_grams": 100})),
                    400,
                    "invalid_country",
                ),
                (
                    Method::POST,
                    "/quote",
                    Some(json!({"country": "US", "weight_grams": 0})),
                    400,
                    "invalid_weight",
                ),
                (
                    Method::POST,
                    "/shipments",
                    Some(json!({"order_id": "", "country": "US", "weight_grams": 100})),
                    400,
                    "invalid_order",
                ),
            ],
        )
        .await;
    }
}
