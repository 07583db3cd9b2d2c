//! payment (8017): a simulated card gateway — 100–200 ms of latency, about 1% declines (402),
//! validation of amount, currency and card (Luhn), a transaction id for every approval — that
//! keeps every charge: an idempotency key is never charged twice, refunds are whole and
//! once, and the shop settles each charge (its order confirmed or its refund final).

mod handlers;
pub mod store;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use opentelemetry::metrics::Counter;

use crate::config::PaymentConfig;
use crate::service::{Service, ServiceContext};

pub(crate) struct State {
    faults: crate::scenario::Faults,
    /// Every charge, so an attempt is never charged twice and every charge is accounted for.
    charges_kept: store::PaymentStore,
    config: PaymentConfig,
    declines: Counter<u64>,
    charges: Counter<u64>,
    refunds: Counter<u64>,
}

pub async fn build(ctx: ServiceContext) -> anyhow::Result<Service> {
    let meter = ctx.telemetry.meter();
    let sql = ctx.sql_database()?;
    let state = Arc::new(State {
        faults: ctx.faults.clone(),
        charges_kept: store::PaymentStore::new(sql.clone()),
        config: ctx.config.payment.clone(),
        declines: meter
            .u64_counter("shop.payment.declines")
            .with_unit("{charge}")
            .with_description("Card charges the gateway declined.")
            .build(),
        charges: meter
            .u64_counter(crate::api::payment::metric::CHARGES)
            .with_unit("{charge}")
            .with_description("Card charges attempted, by outcome.")
            .build(),
        refunds: meter
            .u64_counter("shop.payment.refunds")
            .with_unit("{refund}")
            .with_description("Charges given back.")
            .build(),
    });
    Ok(Service::on_database(
        router(state),
        &sql,
        ctx.shutdown.clone(),
    ))
}

pub(crate) fn router(state: Arc<State>) -> Router {
    Router::new()
        .route("/charge", post(handlers::charge))
        .route("/refunds", post(handlers::refund))
        .route("/charges", get(handlers::unsettled))
        .route("/charges/{transaction_id}", get(handlers::record))
        .route("/charges/{transaction_id}/settle", post(handlers::settle))
        .with_state(state)
}

#[cfg(test)]
mod tests {
    use http::Method;
    use serde_json::{Value, json};

    use crate::config::ServiceName;
    use crate::testing::{card, check_cases};

    fn charge(amount: i64, currency: &str, number: &str) -> Value {
        json!({"amount_cents": amount, "currency": currency, "card": card(number)})
    }

    #[tokio::test]
    async fn bad_input_gets_a_json_4xx_with_its_code() {
        check_cases(
            ServiceName::Payment,
            &[
                (
                    Method::POST,
                    "/charge",
                    Some(charge(0, "USD", "4242424242424242")),
                    400,
                    "invalid_amount",
                ),
                (
                    Method::POST,
                    "/charge",
                    Some(charge(-100, "USD", "4242424242424242")),
                    400,
                    "invalid_amount",
                ),
                (
                    Method::POST,
                    "/charge",
                    Some(charge(100, "usd", "4242424242424242")),
                    400,
                    "invalid_currency",
                ),
                (
                    Method::POST,
                    "/charge",
                    Some(charge(100, "USD", "1234")),
                    400,
                    "invalid_card",
                ),
                (
                    Method::POST,
                    "/charge",
                    Some(charge(100, "USD", "4000000000000002")),
                    402,
                    "card_declined",
                ),
                (
                    Method::POST,
                    "/refunds",
                    Some(json!({"transaction_id": "nope", "amount_cents": 100, "reason": "x"})),
                    400,
                    "invalid_transaction",
                ),
                (
                    Method::POST,
                    "/refunds",
                    Some(json!({"transaction_id": "txn_1", "amount_cents": 0, "reason": "x"})),
                    400,
                    "invalid_amount",
                ),
            ],
        )
        .await;
    }
}
