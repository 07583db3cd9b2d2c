//! ad (8015): ads by category for the browse page.

pub mod client;
mod handlers;
pub mod model;

use axum::Router;
use axum::routing::get;

use super::{Service, ServiceContext};

pub async fn build(_ctx: ServiceContext) -> anyhow::Result<Service> {
    Ok(Service::without_store(router()))
}

pub(crate) fn router() -> Router {
    Router::new().route("/ads", get(handlers::ads))
}
