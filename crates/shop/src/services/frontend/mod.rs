//! frontend (8018): the shop's public API and the orchestrator of every flow.
//! `POST /api/browse` is the baseline flow, `POST /api/checkout` the demo flow.

pub mod client;
mod handlers;
pub mod model;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};

use super::ad::client::AdClient;
use super::cart::client::CartClient;
use super::checkout::client::CheckoutClient;
use super::currency::client::CurrencyClient;
use super::payment::client::PaymentClient;
use super::product_catalog::client::ProductCatalogClient;
use super::shipping::client::ShippingClient;
use super::{Service, ServiceContext};

pub(crate) struct State {
    faults: crate::scenario::Faults,
    cart: CartClient,
    catalog: ProductCatalogClient,
    currency: CurrencyClient,
    shipping: ShippingClient,
    ads: AdClient,
    payment: PaymentClient,
    checkout: CheckoutClient,
}

pub async fn build(ctx: ServiceContext) -> anyhow::Result<Service> {
    let state = Arc::new(State {
        faults: ctx.faults.clone(),
        cart: CartClient::new(&ctx),
        catalog: ProductCatalogClient::new(&ctx),
        currency: CurrencyClient::new(&ctx),
        shipping: ShippingClient::new(&ctx),
        ads: AdClient::new(&ctx),
        payment: PaymentClient::new(&ctx),
        checkout: CheckoutClient::new(&ctx),
    });
    // A checkout from a curl or a browser is the demo flow, as the load generator's are.
    Ok(Service::without_store(router(state)).with_demo_routes(&["/api/checkout"]))
}

pub(crate) fn router(state: Arc<State>) -> Router {
    Router::new()
        .route("/api/browse", post(handlers::browse))
        .route("/api/checkout", post(handlers::checkout))
        .route("/api/products", get(handlers::products))
        .route("/api/products/{id}", get(handlers::product))
        .route("/api/cart/{cart_id}", get(handlers::view_cart))
        .route("/api/cart/{cart_id}/items", post(handlers::add_to_cart))
        .route("/api/orders/{order_id}", get(handlers::order))
        .with_state(state)
}
