//! recommendation (8019): products bought together with a given one, from the order history in
//! PostgreSQL, filled up with the category's best sellers. product-catalog calls it; it calls
//! nobody, so there is no cycle.

mod handlers;
pub mod store;

use std::sync::Arc;

use axum::Router;
use axum::routing::get;

use crate::service::{Service, ServiceContext};
use store::RecommendationStore;

pub(crate) struct State {
    store: RecommendationStore,
}

pub async fn build(ctx: ServiceContext) -> anyhow::Result<Service> {
    let sql = ctx.sql_database()?;
    let state = Arc::new(State {
        store: RecommendationStore::new(sql.clone()),
    });
    let service = Service::on_database(router(state), &sql, ctx.shutdown.clone());
    Ok(service)
}

pub(crate) fn router(state: Arc<State>) -> Router {
    Router::new()
        .route("/recommendations", get(handlers::recommend))
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
            ServiceName::Recommendation,
            &[
                (
                    Method::GET,
                    "/recommendations?product_id=-1",
                    None,
                    400,
                    "invalid_product_id",
                ),
                (
                    Method::GET,
                    "/recommendations?product_id=424242",
                    None,
                    404,
                    "product_not_found",
                ),
                (
                    Method::GET,
                    "/recommendations?category=weapons",
                    None,
                    400,
                    "unknown_category",
                ),
                (
                    Method::GET,
                    "/recommendations?limit=0",
                    None,
                    400,
                    "invalid_limit",
                ),
            ],
        )
        .await;
    }
}
