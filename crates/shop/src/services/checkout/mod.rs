//! checkout (8016): order creation — stock reserved through inventory, then the order and its
//! items in one transaction, priced from the catalogue and checked against the payment, then
//! the confirmation through notification — and order lookup.

pub mod client;
mod handlers;
pub mod model;
pub mod store;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use opentelemetry::metrics::Counter;

use super::inventory::client::InventoryClient;
use super::notification::client::NotificationClient;
use super::{Service, ServiceContext};
use crate::store::SqlDatabase;
use store::OrderStore;

pub(crate) struct State {
    orders: OrderStore,
    inventory: InventoryClient,
    notification: NotificationClient,
    orders_placed: Counter<u64>,
    revenue: Counter<u64>,
}

pub async fn build(ctx: ServiceContext) -> anyhow::Result<Service> {
    let sql = SqlDatabase::open(&ctx.config.database, &ctx.telemetry)?;
    let meter = ctx.telemetry.meter();
    let state = Arc::new(State {
        orders: OrderStore::new(sql.clone()),
        inventory: InventoryClient::new(&ctx),
        notification: NotificationClient::new(&ctx),
        orders_placed: meter
            .u64_counter("shop.orders")
            .with_unit("{order}")
            .with_description("Orders placed.")
            .build(),
        revenue: meter
            .u64_counter("shop.revenue")
            .with_unit("{cent}")
            .with_description("Revenue of placed orders, in minor units of the order currency.")
            .build(),
    });
    let service = Service::on_database(router(state), &sql, ctx.shutdown.clone());
    Ok(service.with_background(exhaust_pool(
        sql.clone(),
        ctx.faults.clone(),
        ctx.shutdown.clone(),
    )))
}

pub(crate) fn router(state: Arc<State>) -> Router {
    Router::new()
        .route("/orders", post(handlers::place))
        .route("/orders/{order_id}", get(handlers::get))
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
