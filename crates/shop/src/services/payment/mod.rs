//! payment (8017): a simulated card gateway — 100–200 ms of latency, about 1% declines (402),
//! validation of amount, currency and card (Luhn), a transaction id for every approval.

pub mod client;
mod handlers;
pub mod model;

use std::sync::Arc;

use axum::Router;
use axum::routing::post;
use opentelemetry::metrics::Counter;

use super::{Service, ServiceContext};
use crate::config::PaymentConfig;

pub(crate) struct State {
    faults: crate::scenario::Faults,
    config: PaymentConfig,
    declines: Counter<u64>,
    charges: Counter<u64>,
    refunds: Counter<u64>,
}

pub async fn build(ctx: ServiceContext) -> anyhow::Result<Service> {
    let meter = ctx.telemetry.meter();
    let state = Arc::new(State {
        faults: ctx.faults.clone(),
        config: ctx.config.payment.clone(),
        declines: meter
            .u64_counter("shop.payment.declines")
            .with_unit("{charge}")
            .with_description("Card charges the gateway declined.")
            .build(),
        charges: meter
            .u64_counter("shop.payment.charges")
            .with_unit("{charge}")
            .with_description("Card charges attempted, by outcome.")
            .build(),
        refunds: meter
            .u64_counter("shop.payment.refunds")
            .with_unit("{refund}")
            .with_description("Charges given back.")
            .build(),
    });
    Ok(Service::without_store(router(state)))
}

pub(crate) fn router(state: Arc<State>) -> Router {
    Router::new()
        .route("/charge", post(handlers::charge))
        .route("/refunds", post(handlers::refund))
        .with_state(state)
}
