//! How scripts and the CLI steer a running load generator.

use http::Method;
use telemetry::{HttpClient, Upstream};

use super::model::{LoadStatus, SetRate};
use crate::config::ServiceName;
use crate::error::ApiError;
use crate::peer::call;

#[derive(Clone)]
pub struct LoadGeneratorClient {
    http: HttpClient,
    upstream: Upstream,
}

impl LoadGeneratorClient {
    pub fn new(http: HttpClient, base_url: &str) -> Self {
        Self {
            http,
            upstream: Upstream::new(ServiceName::LoadGenerator.as_str(), base_url),
        }
    }

    pub async fn status(&self) -> Result<LoadStatus, ApiError> {
        call::<_, ()>(
            &self.http,
            &self.upstream,
            Method::GET,
            "/status",
            "/status",
            None,
        )
        .await
    }

    pub async fn start(&self) -> Result<LoadStatus, ApiError> {
        call::<_, ()>(
            &self.http,
            &self.upstream,
            Method::POST,
            "/start",
            "/start",
            None,
        )
        .await
    }

    pub async fn stop(&self) -> Result<LoadStatus, ApiError> {
        call::<_, ()>(
            &self.http,
            &self.upstream,
            Method::POST,
            "/stop",
            "/stop",
            None,
        )
        .await
    }

    pub async fn set_rate(&self, journeys_per_second: f64) -> Result<LoadStatus, ApiError> {
        call(
            &self.http,
            &self.upstream,
            Method::PUT,
            "/rate",
            "/rate",
            Some(&SetRate {
                journeys_per_second,
            }),
        )
        .await
    }
}
