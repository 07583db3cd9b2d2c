//! notification (8021): order confirmations by (simulated) e-mail, with the latency of a mail
//! relay. It consumes the `order.placed` events, reads the order's address from checkout and
//! sends each confirmation once; the order never waits for it, and a failure is retried, then
//! dead-lettered. `POST /notifications/order-confirmation` sends one directly.

pub(crate) mod handlers;
pub mod store;

use std::sync::Arc;

use axum::Router;
use axum::routing::post;
use opentelemetry::metrics::Counter;

use crate::api::checkout::client::CheckoutClient;
use crate::config::NotificationConfig;
use crate::consumer::consuming_service;
use crate::service::{Service, ServiceContext};

pub(crate) struct State {
    config: NotificationConfig,
    sent: Counter<u64>,
    sent_log: store::Sent,
    checkout: CheckoutClient,
}

pub async fn build(ctx: ServiceContext) -> anyhow::Result<Service> {
    let sql = ctx.sql_database()?;
    let state = Arc::new(State {
        sent_log: store::Sent::new(sql.clone()),
        checkout: CheckoutClient::new(&ctx),
        config: ctx.config.notification.clone(),
        sent: ctx
            .telemetry
            .meter()
            .u64_counter("shop.notifications")
            .with_unit("{notification}")
            .with_description("Order confirmations, by outcome.")
            .build(),
    });
    consuming_service(&ctx, &sql, router(state.clone()), state, handlers::consume)
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
