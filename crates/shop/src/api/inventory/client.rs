//! How checkout reserves and releases stock.

use http::Method;
use telemetry::{HttpClient, Upstream};

use super::model::{Reservation, ReserveRequest, Stock};
use crate::config::ServiceName;
use crate::error::ApiError;
use crate::peer::call;
use crate::service::ServiceContext;

#[derive(Clone)]
pub struct InventoryClient {
    http: HttpClient,
    upstream: Upstream,
}

impl InventoryClient {
    pub fn new(ctx: &ServiceContext) -> Self {
        Self {
            http: ctx.http.clone(),
            upstream: ctx.upstream(ServiceName::Inventory),
        }
    }

    pub async fn reserve(&self, request: &ReserveRequest) -> Result<Reservation, ApiError> {
        call(
            &self.http,
            &self.upstream,
            Method::POST,
            "/reservations",
            "/reservations",
            Some(request),
        )
        .await
    }

    pub async fn release(&self, order_id: &str) -> Result<(), ApiError> {
        call::<(), ()>(
            &self.http,
            &self.upstream,
            Method::DELETE,
            "/reservations/{order_id}",
            &format!("/reservations/{order_id}"),
            None,
        )
        .await
    }

    pub async fn stock(&self, product_id: i64) -> Result<Stock, ApiError> {
        call::<_, ()>(
            &self.http,
            &self.upstream,
            Method::GET,
            "/stock/{product_id}",
            &format!("/stock/{product_id}"),
            None,
        )
        .await
    }
}
