//! cart (8013): shopping carts in Redis (a hash per cart with a TTL), or in memory when no
//! Redis is configured.

pub(crate) mod handlers;
pub mod store;

use std::sync::Arc;

use axum::Router;
use axum::routing::{delete, get};
use opentelemetry::metrics::Histogram;

use crate::service::{Service, ServiceContext};
use store::CartStore;

pub(crate) struct State {
    carts: CartStore,
    cart_size: Histogram<u64>,
}

pub async fn build(ctx: ServiceContext) -> anyhow::Result<Service> {
    let carts = CartStore::open(
        ctx.config.redis_url.as_deref(),
        ctx.config.cart_ttl,
        &ctx.telemetry,
        ctx.faults.clone(),
        ctx.config.latency,
    )?;
    let state = Arc::new(State {
        carts: carts.clone(),
        cart_size: ctx
            .telemetry
            .meter()
            .u64_histogram("shop.cart.size")
            .with_unit("{item}")
            .with_description("Items in a cart when it is read.")
            .with_boundaries(vec![0.0, 1.0, 2.0, 3.0, 5.0, 8.0, 13.0, 21.0, 50.0])
            .build(),
    });
    Ok(Service {
        routes: router(state),
        control: axum::Router::new(),
        readiness: Arc::new(move || {
            let carts = carts.clone();
            Box::pin(async move { carts.check().await })
        }),
        background: Vec::new(),
        demo_routes: &[],
    })
}

pub(crate) fn router(state: Arc<State>) -> Router {
    Router::new()
        .route(
            "/cart/{cart_id}",
            get(handlers::get).delete(handlers::clear),
        )
        .route(
            "/cart/{cart_id}/items",
            axum::routing::post(handlers::add_item),
        )
        .route(
            "/cart/{cart_id}/items/{product_id}",
            delete(handlers::remove_item).put(handlers::set_quantity),
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
            ServiceName::Cart,
            &[
                (
                    Method::POST,
                    "/cart/c1/items",
                    Some(json!({"product_id": 1, "quantity": 0})),
                    400,
                    "invalid_quantity",
                ),
                (
                    Method::POST,
                    "/cart/c1/items",
                    Some(json!({"product_id": "one", "quantity": 1})),
                    422,
                    "invalid_json",
                ),
                (
                    Method::DELETE,
                    "/cart/c1/items/zero",
                    None,
                    400,
                    "invalid_path",
                ),
                (
                    Method::DELETE,
                    "/cart/c1/items/0",
                    None,
                    400,
                    "invalid_product_id",
                ),
            ],
        )
        .await;
    }
}
