//! product-catalog (8014): the seeded catalogue in PostgreSQL (or the embedded SQLite) —
//! listing with filters, product detail, search, and `/products/recommendations` (answered by
//! the recommendation service), the route the Black Friday story degrades.

pub mod client;
mod handlers;
pub mod model;
pub mod store;

use std::sync::Arc;

use axum::Router;
use axum::routing::get;

use super::recommendation::client::RecommendationClient;
use super::{Service, ServiceContext};
use crate::store::SqlDatabase;
use store::ProductStore;

pub(crate) struct State {
    faults: crate::scenario::Faults,
    products: ProductStore,
    recommendation: RecommendationClient,
}

pub async fn build(ctx: ServiceContext) -> anyhow::Result<Service> {
    let sql = SqlDatabase::open(&ctx.config.database, &ctx.telemetry)?;
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
