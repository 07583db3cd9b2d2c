//! inventory (8020): stock reservation in PostgreSQL (`UPDATE … WHERE stock >= n`), called by
//! checkout for every order; not enough stock is a 409. A periodic delivery restocks what runs
//! low, so a long demo does not sell out.

pub mod client;
mod handlers;
pub mod model;
pub mod store;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::{delete, get, post};
use opentelemetry::KeyValue;
use opentelemetry::baggage::BaggageExt as _;
use tokio::sync::watch;
use tracing::Instrument as _;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use super::{Service, ServiceContext};
use crate::store::SqlDatabase;
use store::InventoryStore;

/// Products below this stock get a delivery…
pub const RESTOCK_BELOW: i64 = 25;
/// …of this many units…
pub const RESTOCK_AMOUNT: i64 = 100;
/// …this often.
pub const RESTOCK_EVERY: Duration = Duration::from_secs(60);

pub(crate) struct State {
    stock: InventoryStore,
}

pub async fn build(ctx: ServiceContext) -> anyhow::Result<Service> {
    let sql = SqlDatabase::open(&ctx.config.database, &ctx.telemetry)?;
    let stock = InventoryStore::new(sql.clone());
    let state = Arc::new(State {
        stock: stock.clone(),
    });
    let service = Service::on_database(router(state), &sql, ctx.shutdown.clone());
    Ok(service.with_background(restock(stock, ctx.shutdown.clone())))
}

pub(crate) fn router(state: Arc<State>) -> Router {
    Router::new()
        .route("/reservations", post(handlers::reserve))
        .route("/reservations/{order_id}", delete(handlers::release))
        .route("/stock/{product_id}", get(handlers::stock))
        .with_state(state)
}

/// The delivery job: its own trace each time, marked as baseline traffic (background work a
/// healthy shop always does).
async fn restock(stock: InventoryStore, mut shutdown: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(RESTOCK_EVERY) => {}
            _ = shutdown.wait_for(|s| *s) => return,
        }
        let span = tracing::info_span!(
            "restock",
            otel.name = "restock",
            otel.kind = "internal",
            products = tracing::field::Empty
        );
        let _ = span.set_parent(
            opentelemetry::Context::new().with_baggage([KeyValue::new("traffic.type", "baseline")]),
        );
        async {
            match stock.restock(RESTOCK_BELOW, RESTOCK_AMOUNT).await {
                Ok(n) => {
                    tracing::Span::current().record("products", n);
                    if n > 0 {
                        tracing::info!(products = n, "restocked");
                    }
                }
                Err(e) => tracing::warn!(error = %e, "restock failed"),
            }
        }
        .instrument(span)
        .await;
    }
}
