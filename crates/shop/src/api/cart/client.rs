//! How other services use carts.

use http::Method;
use telemetry::{HttpClient, Upstream};

use super::model::{AddItem, Cart, SetQuantity};
use crate::config::ServiceName;
use crate::error::ApiError;
use crate::peer::call;
use crate::service::ServiceContext;

#[derive(Clone)]
pub struct CartClient {
    http: HttpClient,
    upstream: Upstream,
}

impl CartClient {
    pub fn new(ctx: &ServiceContext) -> Self {
        Self {
            http: ctx.http.clone(),
            upstream: ctx.upstream(ServiceName::Cart),
        }
    }

    pub async fn get(&self, cart_id: &str) -> Result<Cart, ApiError> {
        call::<_, ()>(
            &self.http,
            &self.upstream,
            Method::GET,
            "/cart/{cart_id}",
            &format!("/cart/{cart_id}"),
            None,
        )
        .await
    }

    pub async fn add(&self, cart_id: &str, item: &AddItem) -> Result<Cart, ApiError> {
        call(
            &self.http,
            &self.upstream,
            Method::POST,
            "/cart/{cart_id}/items",
            &format!("/cart/{cart_id}/items"),
            Some(item),
        )
        .await
    }

    pub async fn set_quantity(
        &self,
        cart_id: &str,
        product_id: i64,
        change: &SetQuantity,
    ) -> Result<Cart, ApiError> {
        call(
            &self.http,
            &self.upstream,
            Method::PUT,
            "/cart/{cart_id}/items/{product_id}",
            &format!("/cart/{cart_id}/items/{product_id}"),
            Some(change),
        )
        .await
    }

    pub async fn remove(&self, cart_id: &str, product_id: i64) -> Result<Cart, ApiError> {
        call::<_, ()>(
            &self.http,
            &self.upstream,
            Method::DELETE,
            "/cart/{cart_id}/items/{product_id}",
            &format!("/cart/{cart_id}/items/{product_id}"),
            None,
        )
        .await
    }

    pub async fn clear(&self, cart_id: &str) -> Result<(), ApiError> {
        call::<(), ()>(
            &self.http,
            &self.upstream,
            Method::DELETE,
            "/cart/{cart_id}",
            &format!("/cart/{cart_id}"),
            None,
        )
        .await
    }
}
