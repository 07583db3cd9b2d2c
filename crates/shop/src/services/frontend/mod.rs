//! frontend (8018): the shop's public API and the orchestrator of every flow.
//! `POST /api/browse` is the baseline flow, `POST /api/checkout` the demo flow.

mod browser;
mod handlers;
pub mod openapi;
mod web;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};

use crate::api::ad::client::AdClient;
use crate::api::cart::client::CartClient;
use crate::api::checkout::client::CheckoutClient;
use crate::api::currency::client::CurrencyClient;
use crate::api::payment::client::PaymentClient;
use crate::api::product_catalog::client::ProductCatalogClient;
use crate::api::shipping::client::ShippingClient;
use crate::service::{Service, ServiceContext};

pub(crate) struct State {
    faults: crate::scenario::Faults,
    cart: CartClient,
    catalog: ProductCatalogClient,
    currency: CurrencyClient,
    shipping: ShippingClient,
    ads: AdClient,
    payment: PaymentClient,
    checkout: CheckoutClient,
    /// How long checkout may take to write an order: a second less than this service waits
    /// for its answer.
    order_budget: std::time::Duration,
}

pub async fn build(ctx: ServiceContext) -> anyhow::Result<Service> {
    let state = Arc::new(State {
        faults: ctx.faults.clone(),
        order_budget: ctx
            .config
            .request_timeout
            .saturating_sub(std::time::Duration::from_secs(1)),
        cart: CartClient::new(&ctx),
        catalog: ProductCatalogClient::new(&ctx),
        currency: CurrencyClient::new(&ctx),
        shipping: ShippingClient::new(&ctx),
        ads: AdClient::new(&ctx),
        payment: PaymentClient::new(&ctx),
        checkout: CheckoutClient::new(&ctx),
    });
    // A checkout from a curl or a browser is the demo flow, as the load generator's are.
    let mut service = Service::without_store(router(state)).with_demo_routes(&["/api/checkout"]);
    // The API's description, the storefront's files and the browser's own telemetry are not
    // shop traffic: no spans (the browser traces the page itself).
    service.control = Router::new()
        .route("/openapi.json", get(openapi::serve))
        .merge(web::router(ctx.faults.clone(), ctx.telemetry.clone()))
        .merge(browser::router(&ctx.telemetry));
    Ok(service)
}

pub(crate) fn router(state: Arc<State>) -> Router {
    Router::new()
        .route("/api/browse", post(handlers::browse))
        .route("/api/checkout", post(handlers::checkout))
        .route("/api/products", get(handlers::products))
        .route("/api/products/{id}", get(handlers::product))
        .route(
            "/api/products/{id}/recommendations",
            get(handlers::recommendations),
        )
        .route("/api/ads", get(handlers::ads))
        .route("/api/currencies", get(handlers::currencies))
        .route("/api/cart/{cart_id}", get(handlers::view_cart))
        .route("/api/cart/{cart_id}/items", post(handlers::add_to_cart))
        .route(
            "/api/cart/{cart_id}/items/{product_id}",
            axum::routing::put(handlers::set_cart_quantity).delete(handlers::remove_from_cart),
        )
        .route("/api/orders/{order_id}", get(handlers::order))
        .with_state(state)
}
