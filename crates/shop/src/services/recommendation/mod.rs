//! recommendation (8019): products bought together with a given one, from the order history in
//! PostgreSQL, filled up with the category's best sellers. product-catalog calls it; it calls
//! nobody, so there is no cycle.

pub mod client;
mod handlers;
pub mod model;
pub mod store;

use std::sync::Arc;

use axum::Router;
use axum::routing::get;

use super::{Service, ServiceContext};
use crate::store::SqlDatabase;
use store::RecommendationStore;

pub(crate) struct State {
    store: RecommendationStore,
}

pub async fn build(ctx: ServiceContext) -> anyhow::Result<Service> {
    let sql = SqlDatabase::open(&ctx.config.database, &ctx.telemetry)?;
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
