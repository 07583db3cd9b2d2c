//! currency (8011): exchange rates for a handful of currencies, drifting slowly over time, and
//! conversion between them in integer minor units.

pub mod client;
mod handlers;
pub mod model;
pub mod rates;

use axum::Router;
use axum::routing::get;

use super::{Service, ServiceContext};

pub async fn build(_ctx: ServiceContext) -> anyhow::Result<Service> {
    Ok(Service::without_store(router()))
}

pub(crate) fn router() -> Router {
    Router::new()
        .route("/rates", get(handlers::rates))
        .route("/convert", get(handlers::convert))
}
