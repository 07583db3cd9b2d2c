//! checkout (8016): order creation — prices from product-catalog, stock reserved through
//! inventory, then the order, its items and its `order.placed` event in one transaction,
//! checked against the payment — order lookup, and the outbox relay that publishes the events
//! to the broker (accounting, fraud-detection and notification consume them).

mod handlers;
mod outbox;
pub mod reconcile;
pub mod store;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use opentelemetry::metrics::Counter;

use crate::api::inventory::client::InventoryClient;
use crate::api::payment::client::PaymentClient;
use crate::api::product_catalog::client::ProductCatalogClient;
use crate::service::{Service, ServiceContext};
use crate::store::SqlDatabase;
use store::OrderStore;

pub(crate) struct State {
    orders: OrderStore,
    inventory: InventoryClient,
    catalog: ProductCatalogClient,
    payment: PaymentClient,
    /// Rings the outbox relay after an order's events are written.
    relay_wake: Arc<tokio::sync::Notify>,
    telemetry: telemetry::ServiceTelemetry,
    orders_placed: Counter<u64>,
    revenue: Counter<u64>,
}

pub async fn build(ctx: ServiceContext) -> anyhow::Result<Service> {
    let sql = ctx.sql_database()?;
    let meter = ctx.telemetry.meter();
    let relay = outbox::Relay {
        orders: OrderStore::new(sql.clone()),
        broker: ctx.broker.clone(),
        messaging: telemetry::MessagingClient::new(
            ctx.telemetry.clone(),
            ctx.broker.system(),
            ctx.broker.server(),
        ),
        faults: ctx.faults.clone(),
        wake: Arc::default(),
        backlog: Arc::default(),
    };
    relay.register_metrics();
    let state = Arc::new(State {
        orders: OrderStore::new(sql.clone()),
        inventory: InventoryClient::new(&ctx),
        catalog: ProductCatalogClient::new(&ctx),
        payment: PaymentClient::new(&ctx),
        relay_wake: relay.wake.clone(),
        telemetry: ctx.telemetry.clone(),
        orders_placed: meter
            .u64_counter(crate::api::checkout::metric::ORDERS)
            .with_unit("{order}")
            .with_description("Orders placed.")
            .build(),
        revenue: meter
            .u64_counter(crate::api::checkout::metric::REVENUE)
            .with_unit("{cent}")
            .with_description("Revenue of placed orders, in minor units of the order currency.")
            .build(),
    });
    let service = Service::on_database(router(state.clone()), &sql, ctx.shutdown.clone());
    Ok(service
        .with_background(exhaust_pool(
            sql.clone(),
            ctx.faults.clone(),
            ctx.shutdown.clone(),
        ))
        .with_background(reconcile::run(
            state,
            ctx.config.reconcile_after,
            ctx.shutdown.clone(),
        ))
        .with_background(relay.run(ctx.shutdown.clone())))
}

pub(crate) fn router(state: Arc<State>) -> Router {
    Router::new()
        .route("/orders", post(handlers::place))
        .route("/orders/{order_id}", get(handlers::get))
        .route("/attempts/{key}", get(handlers::attempt))
        .with_state(state)
}

/// The pool-exhaustion scenario: a "stuck job" holds level × 20% of the pool's connections
/// until the scenario is lifted, so orders queue for the rest and, at level 5, time out.
async fn exhaust_pool(
    sql: SqlDatabase,
    faults: crate::scenario::Faults,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    use crate::scenario::Scenario;
    let mut held = Vec::new();
    loop {
        let wanted = faults
            .active(Scenario::PoolExhaustion)
            .map(|f| (sql.max_connections() * usize::from(f.level)).div_ceil(5))
            .unwrap_or(0);
        held.truncate(wanted);
        while held.len() < wanted {
            match sql.hold_connection().await {
                Ok(c) => held.push(c),
                Err(_) => break,
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_millis(250)) => {}
            _ = shutdown.wait_for(|s| *s) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use http::Method;
    use serde_json::{Value, json};

    use crate::config::ServiceName;
    use crate::testing::check_cases;

    fn order(items: Value, amount: i64) -> Value {
        json!({"currency": "USD", "items": items, "payment": {"transaction_id": "txn_x", "amount_cents": amount}})
    }

    #[tokio::test]
    async fn bad_input_gets_a_json_4xx_with_its_code() {
        check_cases(
            ServiceName::Checkout,
            &[
                (
                    Method::POST,
                    "/orders",
                    Some(order(json!([]), 100)),
                    400,
                    "invalid_items",
                ),
                (
                    Method::POST,
                    "/orders",
                    Some(order(json!([{"product_id": 1, "quantity": -1}]), 100)),
                    400,
                    "invalid_quantity",
                ),
                (
                    Method::POST,
                    "/orders",
                    Some(order(
                        json!([{"product_id": 1, "quantity": 1}, {"product_id": 1, "quantity": 2}]),
                        100,
                    )),
                    400,
                    "duplicate_product",
                ),
                (
                    Method::POST,
                    "/orders",
                    Some(order(json!([{"product_id": 1, "quantity": 1}]), 0)),
                    400,
                    "invalid_payment",
                ),
                (Method::GET, "/orders/nope", None, 404, "order_not_found"),
            ],
        )
        .await;
    }
}
