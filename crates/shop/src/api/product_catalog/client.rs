//! How other services read the catalogue.

use http::Method;
use telemetry::{HttpClient, Upstream};

use super::model::{Product, ProductList, Recommendations};
use crate::config::ServiceName;
use crate::error::ApiError;
use crate::peer::{call, encode_query};
use crate::service::ServiceContext;

#[derive(Clone)]
pub struct ProductCatalogClient {
    http: HttpClient,
    upstream: Upstream,
}

impl ProductCatalogClient {
    pub fn new(ctx: &ServiceContext) -> Self {
        Self {
            http: ctx.http.clone(),
            upstream: ctx.upstream(ServiceName::ProductCatalog),
        }
    }

    async fn get<T: serde::de::DeserializeOwned>(
        &self,
        template: &str,
        path: &str,
    ) -> Result<T, ApiError> {
        call::<T, ()>(
            &self.http,
            &self.upstream,
            Method::GET,
            template,
            path,
            None,
        )
        .await
    }

    /// `GET /products` with filters given as `(name, value)` pairs.
    pub async fn list(&self, filters: &[(&str, String)]) -> Result<ProductList, ApiError> {
        let query: Vec<String> = filters
            .iter()
            .map(|(k, v)| format!("{k}={}", encode_query(v)))
            .collect();
        let path = if query.is_empty() {
            "/products".to_owned()
        } else {
            format!("/products?{}", query.join("&"))
        };
        self.get("/products", &path).await
    }

    pub async fn by_ids(&self, ids: &[i64]) -> Result<ProductList, ApiError> {
        let ids: Vec<String> = ids.iter().map(i64::to_string).collect();
        self.list(&[("ids", ids.join(","))]).await
    }

    pub async fn product(&self, id: i64) -> Result<Product, ApiError> {
        self.get("/products/{id}", &format!("/products/{id}")).await
    }

    pub async fn search(&self, text: &str, limit: i64) -> Result<ProductList, ApiError> {
        self.get(
            "/products/search",
            &format!("/products/search?q={}&limit={limit}", encode_query(text)),
        )
        .await
    }

    pub async fn recommendations(
        &self,
        product_id: i64,
        limit: i64,
    ) -> Result<Recommendations, ApiError> {
        self.get(
            "/products/recommendations",
            &format!("/products/recommendations?product_id={product_id}&limit={limit}"),
        )
        .await
    }
}
