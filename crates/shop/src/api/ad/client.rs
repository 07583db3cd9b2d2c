//! How other services fetch ads.

use http::Method;
use telemetry::{HttpClient, Upstream};

use super::model::Ads;
use crate::config::ServiceName;
use crate::error::ApiError;
use crate::peer::call;
use crate::service::ServiceContext;

#[derive(Clone)]
pub struct AdClient {
    http: HttpClient,
    upstream: Upstream,
}

impl AdClient {
    pub fn new(ctx: &ServiceContext) -> Self {
        Self {
            http: ctx.http.clone(),
            upstream: ctx.upstream(ServiceName::Ad),
        }
    }

    pub async fn for_category(
        &self,
        category: Option<&str>,
        limit: usize,
    ) -> Result<Ads, ApiError> {
        let path = match category {
            Some(c) => format!(
                "/ads?category={}&limit={limit}",
                crate::peer::encode_query(c)
            ),
            None => format!("/ads?limit={limit}"),
        };
        call::<_, ()>(&self.http, &self.upstream, Method::GET, "/ads", &path, None).await
    }
}
