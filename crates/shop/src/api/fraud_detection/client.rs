//! How the tools read fraud-detection's scores.

use http::Method;
use telemetry::{HttpClient, Upstream};

use super::model::{Flags, FraudScore};
use crate::config::ServiceName;
use crate::error::ApiError;
use crate::peer::{call, encode_query};
use crate::service::ServiceContext;

#[derive(Clone)]
pub struct FraudDetectionClient {
    http: HttpClient,
    upstream: Upstream,
}

impl FraudDetectionClient {
    pub fn new(ctx: &ServiceContext) -> Self {
        Self {
            http: ctx.http.clone(),
            upstream: ctx.upstream(ServiceName::FraudDetection),
        }
    }

    pub async fn flags(&self) -> Result<Flags, ApiError> {
        call::<_, ()>(
            &self.http,
            &self.upstream,
            Method::GET,
            "/flags",
            "/flags",
            None,
        )
        .await
    }

    pub async fn score(&self, order_id: &str) -> Result<FraudScore, ApiError> {
        let path = format!("/scores/{}", encode_query(order_id));
        call::<_, ()>(
            &self.http,
            &self.upstream,
            Method::GET,
            "/scores/{order_id}",
            &path,
            None,
        )
        .await
    }
}
