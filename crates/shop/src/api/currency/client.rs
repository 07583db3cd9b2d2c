//! How other services convert money.

use http::Method;
use telemetry::{HttpClient, Upstream};

use super::model::{Conversion, Rates};
use crate::config::ServiceName;
use crate::error::ApiError;
use crate::peer::call;
use crate::service::ServiceContext;

#[derive(Clone)]
pub struct CurrencyClient {
    http: HttpClient,
    upstream: Upstream,
}

impl CurrencyClient {
    pub fn new(ctx: &ServiceContext) -> Self {
        Self {
            http: ctx.http.clone(),
            upstream: ctx.upstream(ServiceName::Currency),
        }
    }

    pub async fn rates(&self) -> Result<Rates, ApiError> {
        call::<_, ()>(
            &self.http,
            &self.upstream,
            Method::GET,
            "/rates",
            "/rates",
            None,
        )
        .await
    }

    pub async fn convert(&self, from: &str, to: &str, amount: i64) -> Result<Conversion, ApiError> {
        let path = format!(
            "/convert?from={}&to={}&amount={amount}",
            crate::peer::encode_query(from),
            crate::peer::encode_query(to)
        );
        call::<_, ()>(
            &self.http,
            &self.upstream,
            Method::GET,
            "/convert",
            &path,
            None,
        )
        .await
    }
}
