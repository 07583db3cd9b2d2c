use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use http::StatusCode;
use opentelemetry::KeyValue;
use rand::Rng as _;

use crate::api::notification::model::{OrderConfirmation, Sent};
use crate::error::code;
use crate::error::{ApiError, ApiJson, ApiResult};
use crate::types::is_email;

/// Mail to this domain always bounces: a deterministic failure for demos and tests.
pub const BOUNCING_DOMAIN: &str = "@bounce.example";

pub(super) async fn order_confirmation(
    State(s): State<Arc<super::State>>,
    ApiJson(req): ApiJson<OrderConfirmation>,
) -> ApiResult<(StatusCode, Json<Sent>)> {
    let email = req.email.trim();
    if !is_email(email) {
        return Err(ApiError::bad_request(
            code::INVALID_EMAIL,
            "email is not an e-mail address",
        ));
    }
    if req.order_id.trim().is_empty() || req.total_cents < 0 {
        return Err(ApiError::bad_request(
            code::INVALID_ORDER,
            "order_id and a non-negative total are required",
        ));
    }
    let (min, max) = s.config.latency;
    let (latency, roll) = {
        let mut rng = rand::rng();
        let ms = rng.random_range(min.as_millis()..=max.as_millis().max(min.as_millis()));
        (Duration::from_millis(ms as u64), rng.random::<f64>())
    };
    tokio::time::sleep(latency).await;
    let failed = email.ends_with(BOUNCING_DOMAIN) || roll < s.config.failure_rate;
    s.sent.add(
        1,
        &[KeyValue::new(
            "notification.outcome",
            if failed { "failed" } else { "sent" },
        )],
    );
    if failed {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            code::MAIL_RELAY_UNAVAILABLE,
            "the mail relay refused the message",
        ));
    }
    let notification_id = format!("ntf_{}", uuid::Uuid::new_v4().simple());
    tracing::info!(order.id = %req.order_id, %notification_id, "order confirmation sent");
    Ok((
        StatusCode::ACCEPTED,
        Json(Sent {
            notification_id,
            channel: "email".to_owned(),
        }),
    ))
}
