//! notification (8021): order confirmations by (simulated) e-mail, with the latency of a mail
//! relay. A failure here never fails the order: checkout logs it and its span is an error.

pub mod client;
pub(crate) mod handlers;
pub mod model;

use std::sync::Arc;

use axum::Router;
use axum::routing::post;
use opentelemetry::metrics::Counter;

use super::{Service, ServiceContext};
use crate::config::NotificationConfig;

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
