//! How other services place and read orders.

use http::Method;
use telemetry::{HttpClient, Upstream};

use super::model::{Order, PlaceOrder};
use crate::config::ServiceName;
use crate::error::ApiError;
use crate::peer::call;
use crate::service::ServiceContext;

#[derive(Clone)]
pub struct CheckoutClient {
    http: HttpClient,
    upstream: Upstream,
}

impl CheckoutClient {
    pub fn new(ctx: &ServiceContext) -> Self {
        Self {
            http: ctx.http.clone(),
            upstream: ctx.upstream(ServiceName::Checkout),
        }
    }

    pub async fn place(&self, order: &PlaceOrder) -> Result<Order, ApiError> {
        call(
            &self.http,
            &self.upstream,
            Method::POST,
            "/orders",
            "/orders",
            Some(order),
        )
        .await
    }

    pub async fn get(&self, order_id: &str) -> Result<Order, ApiError> {
        call::<_, ()>(
            &self.http,
            &self.upstream,
            Method::GET,
            "/orders/{order_id}",
            &format!("/orders/{order_id}"),
            None,
        )
        .await
    }

    /// The order a checkout attempt (idempotency key) made, if it made one.
    pub async fn attempt(&self, key: &str) -> Result<Option<Order>, ApiError> {
        let found = call::<_, ()>(
            &self.http,
            &self.upstream,
            Method::GET,
            "/attempts/{key}",
            &format!("/attempts/{}", crate::peer::encode_query(key)),
            None,
        )
        .await;
        match found {
            Ok(order) => Ok(Some(order)),
            Err(e) if e.status == http::StatusCode::NOT_FOUND => Ok(None),
            Err(e) => Err(e),
        }
    }
}
