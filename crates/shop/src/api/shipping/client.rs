//! How other services get shipping quotes.

use http::Method;
use telemetry::{HttpClient, Upstream};

use super::model::{Quote, QuoteRequest};
use crate::config::ServiceName;
use crate::error::ApiError;
use crate::peer::call;
use crate::service::ServiceContext;

#[derive(Clone)]
pub struct ShippingClient {
    http: HttpClient,
    upstream: Upstream,
}

impl ShippingClient {
    pub fn new(ctx: &ServiceContext) -> Self {
        Self {
            http: ctx.http.clone(),
            upstream: ctx.upstream(ServiceName::Shipping),
        }
    }

    pub async fn quote(&self, request: &QuoteRequest) -> Result<Quote, ApiError> {
        call(
            &self.http,
            &self.upstream,
            Method::POST,
            "/quote",
            "/quote",
            Some(request),
        )
        .await
    }
}
