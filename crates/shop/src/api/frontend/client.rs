//! How shoppers (the load generator) call the shop. Returns the raw answer: a journey counts
//! failures instead of stopping at them.

use http::Method;
use telemetry::{ClientError, ClientResponse, HttpClient, Upstream};

use super::model::{BrowseRequest, CheckoutRequest};
use crate::api::cart::model::AddItem;
use crate::config::ServiceName;

#[derive(Clone)]
pub struct FrontendClient {
    http: HttpClient,
    upstream: Upstream,
}

impl FrontendClient {
    /// The shoppers' client: its requests are synthetic traffic (`user_agent.synthetic.type`).
    pub fn new(http: HttpClient, base_url: &str) -> Self {
        Self {
            http: http.synthetic(),
            upstream: Upstream::new(ServiceName::Frontend.as_str(), base_url),
        }
    }

    pub async fn browse(&self, req: &BrowseRequest) -> Result<ClientResponse, ClientError> {
        self.http
            .send(
                &self.upstream,
                Method::POST,
                "/api/browse",
                "/api/browse",
                Some(req),
            )
            .await
    }

    pub async fn add_to_cart(
        &self,
        cart_id: &str,
        item: &AddItem,
    ) -> Result<ClientResponse, ClientError> {
        self.http
            .send(
                &self.upstream,
                Method::POST,
                "/api/cart/{cart_id}/items",
                &format!("/api/cart/{cart_id}/items"),
                Some(item),
            )
            .await
    }

    pub async fn view_cart(&self, cart_id: &str) -> Result<ClientResponse, ClientError> {
        self.http
            .send::<()>(
                &self.upstream,
                Method::GET,
                "/api/cart/{cart_id}",
                &format!("/api/cart/{cart_id}"),
                None,
            )
            .await
    }

    /// A plain GET of any path (benchmarks against a trivial target).
    pub async fn get_raw(&self, path: &str) -> Result<ClientResponse, ClientError> {
        self.http
            .send::<()>(&self.upstream, Method::GET, path, path, None)
            .await
    }

    pub async fn checkout(&self, req: &CheckoutRequest) -> Result<ClientResponse, ClientError> {
        self.http
            .send(
                &self.upstream,
                Method::POST,
                "/api/checkout",
                "/api/checkout",
                Some(req),
            )
            .await
    }
}
