//! How other services charge a card.

use http::Method;
use telemetry::{HttpClient, Upstream};

use super::model::{Charge, ChargeRequest, Refund, RefundRequest};
use crate::config::ServiceName;
use crate::error::ApiError;
use crate::peer::call;
use crate::service::ServiceContext;

#[derive(Clone)]
pub struct PaymentClient {
    http: HttpClient,
    upstream: Upstream,
}

impl PaymentClient {
    pub fn new(ctx: &ServiceContext) -> Self {
        Self {
            http: ctx.http.clone(),
            upstream: ctx.upstream(ServiceName::Payment),
        }
    }

    pub async fn charge(&self, request: &ChargeRequest) -> Result<Charge, ApiError> {
        call(
            &self.http,
            &self.upstream,
            Method::POST,
            "/charge",
            "/charge",
            Some(request),
        )
        .await
    }

    pub async fn refund(&self, request: &RefundRequest) -> Result<Refund, ApiError> {
        call(
            &self.http,
            &self.upstream,
            Method::POST,
            "/refunds",
            "/refunds",
            Some(request),
        )
        .await
    }
}
