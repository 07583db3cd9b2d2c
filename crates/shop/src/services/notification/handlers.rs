use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use http::StatusCode;
use opentelemetry::KeyValue;
use rand::Rng as _;

use crate::api::checkout::events::{ORDER_PLACED, OrderEvent};
use crate::api::notification::model::{OrderConfirmation, Sent};
use crate::broker::Message;
use crate::consumer::ConsumeError;
use crate::error::code;
use crate::error::{ApiError, ApiJson, ApiResult};
use crate::types::is_email;

/// Mail to this domain always bounces: a deterministic failure for demos and tests.
pub const BOUNCING_DOMAIN: &str = "@bounce.example";

pub(super) async fn order_confirmation(
    State(s): State<Arc<super::State>>,
    ApiJson(req): ApiJson<OrderConfirmation>,
) -> ApiResult<(StatusCode, Json<Sent>)> {
    Ok((StatusCode::ACCEPTED, Json(send(&s, &req).await?)))
}

/// Sends the confirmation of an `order.placed` event, once: the order's e-mail address comes
/// from checkout (the event carries none).
pub(super) async fn consume(s: Arc<super::State>, message: Message) -> Result<(), ConsumeError> {
    let event = OrderEvent::parse(&message.body).map_err(ConsumeError::Invalid)?;
    if event.event_type != ORDER_PLACED {
        return Ok(());
    }
    let unavailable =
        |e: &dyn std::fmt::Display| ConsumeError::failed("notifications_unavailable", e);
    if s.sent_log
        .seen(&event.event_id)
        .await
        .map_err(|e| unavailable(&e))?
    {
        return Ok(());
    }
    let order = s
        .checkout
        .get(&event.order_id)
        .await
        .map_err(|e| ConsumeError::failed("order_unavailable", e))?;
    let now = crate::scenario::state::now_ms();
    let Some(email) = order.customer_email else {
        return s
            .sent_log
            .record(&event.event_id, &event.order_id, "skipped", None, now)
            .await
            .map_err(|e| unavailable(&e));
    };
    let confirmation = OrderConfirmation {
        order_id: order.id,
        email,
        total_cents: order.total_cents,
        currency: order.currency,
    };
    if confirmation.email.trim().ends_with(BOUNCING_DOMAIN) {
        // The mailbox refuses for good: recorded, and not tried again.
        let _ = send(&s, &confirmation).await;
        s.sent_log
            .record(&event.event_id, &event.order_id, "bounced", None, now)
            .await
            .map_err(|e| unavailable(&e))?;
        return Err(ConsumeError::Final {
            error_type: "mail_bounced",
            message: "the recipient's mail server refused the confirmation".to_owned(),
        });
    }
    let sent = send(&s, &confirmation)
        .await
        .map_err(|e| ConsumeError::failed("mail_relay_unavailable", e))?;
    s.sent_log
        .record(
            &event.event_id,
            &event.order_id,
            "sent",
            Some(&sent.notification_id),
            now,
        )
        .await
        .map_err(|e| unavailable(&e))
}

/// Sends one confirmation through the (simulated) mail relay.
async fn send(s: &super::State, req: &OrderConfirmation) -> ApiResult<Sent> {
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
    tracing::info!(event.name = "notification.sent", order.id = %req.order_id, notification.id = %notification_id, "order confirmation sent");
    Ok(Sent {
        notification_id,
        channel: "email".to_owned(),
    })
}
