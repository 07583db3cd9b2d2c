//! How other services send notifications.

use http::Method;
use telemetry::{HttpClient, Upstream};

use super::model::{OrderConfirmation, Sent};
use crate::config::ServiceName;
use crate::error::ApiError;
use crate::peer::call;
use crate::service::ServiceContext;

#[derive(Clone)]
pub struct NotificationClient {
    http: HttpClient,
    upstream: Upstream,
}

impl NotificationClient {
    pub fn new(ctx: &ServiceContext) -> Self {
        Self {
            http: ctx.http.clone(),
            upstream: ctx.upstream(ServiceName::Notification),
        }
    }

    pub async fn order_confirmation(&self, message: &OrderConfirmation) -> Result<Sent, ApiError> {
        call(
            &self.http,
            &self.upstream,
            Method::POST,
            "/notifications/order-confirmation",
            "/notifications/order-confirmation",
            Some(message),
        )
        .await
    }
}
