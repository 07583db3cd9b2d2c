//! notification (8021): order confirmations by (simulated) e-mail, with the latency of a mail
//! relay. A failure here never fails the order: checkout logs it and its span is an error.

pub(crate) mod handlers;

use std::sync::Arc;

use axum::Router;
use axum::routing::post;
use opentelemetry::metrics::Counter;

use crate::config::NotificationConfig;
use crate::service::{Service, ServiceContext};

pub(crate) struct State {
    config: NotificationConfig,
    sent: Counter<u64>,
}

pub async fn build(ctx: ServiceContext) -> anyhow::Result<Service> {
    let state = Arc::new(State {
        config: ctx.config.notification.clone(),
        sent: ctx
            .telemetry
            .meter()
            .u64_counter("shop.notifications")
            .with_unit("{notification}")
            .with_description("Order confirmations, by outcome.")
            .build(),
    });
    Ok(Service::without_store(router(state)))
}

pub(crate) fn router(state: Arc<State>) -> Router {
    Router::new()
        .route(
            "/notifications/order-confirmation",
            post(handlers::order_confirmation),
        )
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
            ServiceName::Notification,
            &[
                (Method::POST, "/notifications/order-confirmation", Some(json!({"order_id": "o1", "email": "nobody", "total_cents": 1, "currency": "USD"})), 400, "invalid_email"),
                (Method::POST, "/notifications/order-confirmation", Some(json!({"order_id": "o1", "email": "a@b.example", "total_cents": -1, "currency": "USD"})), 400, "invalid_order"),
            ],
        )
        .await;
    }
}
