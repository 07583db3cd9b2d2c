//! product-catalog (8014): the seeded catalogue in PostgreSQL (or the embedded SQLite) —
//! listing with filters, product detail, search, and `/products/recommendations` (answered by
//! the recommendation service), the route the Black Friday story degrades.

mod handlers;
pub mod store;

use std::sync::Arc;

use axum::Router;
use axum::routing::get;

use crate::api::recommendation::client::RecommendationClient;
use crate::service::{Service, ServiceContext};
use store::ProductStore;

pub(crate) struct State {
    faults: crate::scenario::Faults,
    products: ProductStore,
    recommendation: RecommendationClient,
}

pub async fn build(ctx: ServiceContext) -> anyhow::Result<Service> {
    let sql = ctx.sql_database()?;
    let state = Arc::new(State {
        faults: ctx.faults.clone(),
        products: ProductStore::new(sql.clone()),
        recommendation: RecommendationClient::new(&ctx),
    });
    let service = Service::on_database(router(state), &sql, ctx.shutdown.clone());
    Ok(service)
}

pub(crate) fn router(state: Arc<State>) -> Router {
    Router::new()
        .route("/products", get(handlers::list))
        .route("/products/search", get(handlers::search))
        .route("/products/recommendations", get(handlers::recommendations))
        .route("/products/{id}", get(handlers::get))
        .with_state(state)
}

#[cfg(test)]
mod tests {
    use http::Method;

    use crate::config::ServiceName;
    use crate::testing::check_cases;

    #[tokio::test]
    async fn bad_input_gets_a_json_4xx_with_its_code() {
        check_cases(
            ServiceName::ProductCatalog,
            &[
                (Method::GET, "/products?ids=1,x", None, 400, "invalid_ids"),
                (Method::GET, "/products?ids=0", None, 400, "invalid_ids"),
                (
                    Method::GET,
                    "/products?offset=-5",
                    None,
                    400,
                    "invalid_offset",
                ),
                (
                    Method::GET,
                    "/products?max_price_cents=-1",
                    None,
                    400,
                    "invalid_price",
                ),
                (
                    Method::GET,
                    "/products/search?q=",
                    None,
                    400,
                    "invalid_query",
                ),
                (
                    Method::GET,
                    "/products/recommendations?product_id=-4",
                    None,
                    400,
                    "invalid_product_id",
                ),
                (
                    Method::GET,
                    "/products/18446744073709551616",
                    None,
                    400,
                    "invalid_path",
                ),
            ],
        )
        .await;
    }
}
