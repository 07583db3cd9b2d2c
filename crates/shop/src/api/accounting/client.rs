//! How the tools read the ledger.

use http::Method;
use telemetry::{HttpClient, Upstream};

use super::model::{DailyTotals, OrderLedger};
use crate::config::ServiceName;
use crate::error::ApiError;
use crate::peer::{call, encode_query};
use crate::service::ServiceContext;

#[derive(Clone)]
pub struct AccountingClient {
    http: HttpClient,
    upstream: Upstream,
}

impl AccountingClient {
    pub fn new(ctx: &ServiceContext) -> Self {
        Self {
            http: ctx.http.clone(),
            upstream: ctx.upstream(ServiceName::Accounting),
        }
    }

    pub async fn ledger(&self, order_id: &str) -> Result<OrderLedger, ApiError> {
        let path = format!("/ledger?order_id={}", encode_query(order_id));
        call::<_, ()>(
            &self.http,
            &self.upstream,
            Method::GET,
            "/ledger",
            &path,
            None,
        )
        .await
    }

    pub async fn daily(&self, date: &str) -> Result<DailyTotals, ApiError> {
        let path = format!("/ledger/daily?date={}", encode_query(date));
        call::<_, ()>(
            &self.http,
            &self.upstream,
            Method::GET,
            "/ledger/daily",
            &path,
            None,
        )
        .await
    }
}
