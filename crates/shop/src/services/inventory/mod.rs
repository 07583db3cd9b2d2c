//! inventory (8020): stock reservation in PostgreSQL (`UPDATE … WHERE stock >= n`), called by
//! checkout for every order; not enough stock is a 409. A periodic delivery restocks what runs
//! low, so a long demo does not sell out.

mod handlers;
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

use crate::service::{Service, ServiceContext};
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
    let sql = ctx.sql_database()?;
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
                    // Recorded as i64: tracing-opentelemetry exports unsigned integers as
                    // strings.
                    tracing::Span::current()
                        .record("products", i64::try_from(n).unwrap_or(i64::MAX));
                    if n > 0 {
                        tracing::info!(event.name = "inventory.restocked", inventory.products = n, "restocked");
                    }
                }
                Err(e) => tracing::warn!(event.name = "inventory.restock_failed", exception.type = std::any::type_name_of_val(&e), exception.message = %e, "restock failed"),
            }
        }
        .instrument(span)
        .await;
    }
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
            ServiceName::Inventory,
            &[
                (Method::POST, "/reservations", Some(json!({"order_id": "o1", "items": [{"product_id": 1, "quantity": 0}]})), 400, "invalid_quantity"),
                (Method::POST, "/reservations", Some(json!({"order_id": "o1", "items": [{"product_id": 99999, "quantity": 1}]})), 400, "unknown_product"),
                (Method::POST, "/reservations", Some(json!({"order_id": "o1", "items": [{"product_id": 1, "quantity": 99}, {"product_id": 2, "quantity": 99}, {"product_id": 3, "quantity": 99}]})), 409, "insufficient_stock"),
                (Method::POST, "/reservations", Some(json!({"order_id": "bad id", "items": [{"product_id": 1, "quantity": 1}]})), 400, "invalid_order_id"),
                (Method::GET, "/stock/0", None, 400, "invalid_product_id"),
                (Method::GET, "/stock/99999", None, 404, "product_not_found"),
                (Method::DELETE, "/reservations/bad%20id", None, 400, "invalid_order_id"),
            ],
        )
        .await;
    }
}
