//! How other services charge a card.

use http::Method;
use telemetry::{HttpClient, Upstream};

use super::model::{Charge, ChargeRecord, ChargeRequest, Refund, RefundRequest, Unsettled};
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

    /// The gateway's record of a charge (404 `charge_not_found` for one it never made).
    pub async fn record(&self, transaction_id: &str) -> Result<ChargeRecord, ApiError> {
        call::<_, ()>(
            &self.http,
            &self.upstream,
            Method::GET,
            "/charges/{transaction_id}",
            &format!("/charges/{}", crate::peer::encode_query(transaction_id)),
            None,
        )
        .await
    }

    /// Charges made before `before_ms` (Unix ms) that are not settled.
    pub async fn unsettled(&self, before_ms: i64) -> Result<Unsettled, ApiError> {
        call::<_, ()>(
            &self.http,
            &self.upstream,
            Method::GET,
            "/charges",
            &format!("/charges?unsettled_before_ms={before_ms}"),
            None,
        )
        .await
    }

    /// Marks a charge settled: its order stands, or its refund is final.
    pub async fn settle(&self, transaction_id: &str) -> Result<ChargeRecord, ApiError> {
        call::<_, ()>(
            &self.http,
            &self.upstream,
            Method::POST,
            "/charges/{transaction_id}/settle",
            &format!(
                "/charges/{}/settle",
                crate::peer::encode_query(transaction_id)
            ),
            None,
        )
        .await
    }
}
