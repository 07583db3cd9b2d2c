//! shipping (8012): quotes by weight and destination — international is dearer and slower —
//! priced in the shopper's currency through currency, and shipments with a tracking id.

pub mod client;
pub(crate) mod handlers;
pub mod model;

use std::sync::Arc;

use axum::Router;
use axum::routing::post;

use super::currency::client::CurrencyClient;
use super::{Service, ServiceContext};

pub(crate) struct State {
    faults: crate::scenario::Faults,
    currency: CurrencyClient,
}

pub async fn build(ctx: ServiceContext) -> anyhow::Result<Service> {
    let state = Arc::new(State {
        faults: ctx.faults.clone(),
        currency: CurrencyClient::new(&ctx),
    });
    Ok(Service::without_store(router(state)))
}

pub(crate) fn router(state: Arc<State>) -> Router {
    Router::new()
        .route("/quote", post(handlers::quote))
        .route("/shipments", post(handlers::ship))
        .with_state(state)
}
