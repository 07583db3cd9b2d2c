//! How product-catalog asks for recommendations.

use http::Method;
use telemetry::{HttpClient, Upstream};

use super::model::Recommended;
use crate::config::ServiceName;
use crate::error::ApiError;
use crate::peer::{call, encode_query};
use crate::service::ServiceContext;

#[derive(Clone)]
pub struct RecommendationClient {
    http: HttpClient,
    upstream: Upstream,
}

impl RecommendationClient {
    pub fn new(ctx: &ServiceContext) -> Self {
        Self {
            http: ctx.http.clone(),
            upstream: ctx.upstream(ServiceName::Recommendation),
        }
    }

    pub async fn for_product(&self, product_id: i64, limit: i64) -> Result<Recommended, ApiError> {
        self.recommendations(&format!("product_id={product_id}&limit={limit}"))
            .await
    }

    pub async fn for_category(&self, category: &str, limit: i64) -> Result<Recommended, ApiError> {
        self.recommendations(&format!(
            "category={}&limit={limit}",
            encode_query(category)
        ))
        .await
    }

    async fn recommendations(&self, query: &str) -> Result<Recommended, ApiError> {
        let path = format!("/recommendations?{query}");
        call::<_, ()>(
            &self.http,
            &self.upstream,
            Method::GET,
            "/recommendations",
            &path,
            None,
        )
        .await
    }
}
