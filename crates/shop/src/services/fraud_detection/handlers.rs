use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use opentelemetry::KeyValue;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use super::rules::{VELOCITY_WINDOW_MS, score};
use crate::api::checkout::events::{ORDER_PLACED, OrderEvent};
use crate::api::fraud_detection::model::{FLAG_THRESHOLD, Flags, FlagsQuery, FraudScore};
use crate::broker::Message;
use crate::consumer::ConsumeError;
use crate::error::code;
use crate::error::{ApiError, ApiPath, ApiQuery, ApiResult};
use crate::types::OrderId;

fn unavailable(e: impl std::fmt::Display) -> ConsumeError {
    ConsumeError::failed("scores_unavailable", e)
}

/// Scores one order event (only `order.placed` reaches this queue).
pub(super) async fn consume(s: Arc<super::State>, message: Message) -> Result<(), ConsumeError> {
    let event = OrderEvent::parse(&message.body).map_err(ConsumeError::Invalid)?;
    if event.event_type != ORDER_PLACED {
        return Ok(());
    }
    let span = tracing::Span::current();
    span.set_attribute("order.id", event.order_id.clone());
    // A redelivery keeps the score it had: velocity would count the order itself otherwise.
    let scored = match s
        .scores
        .of_event(&event.event_id)
        .await
        .map_err(unavailable)?
    {
        Some(existing) => existing,
        None => {
            let now = crate::scenario::state::now_ms();
            let recent = match &event.customer_key {
                Some(k) => s
                    .scores
                    .recent_orders(k, now - VELOCITY_WINDOW_MS)
                    .await
                    .map_err(unavailable)?,
                None => 0,
            };
            let (points, reasons) = score(&event, recent);
            let result = FraudScore {
                event_id: event.event_id.clone(),
                order_id: event.order_id.clone(),
                customer_key: event.customer_key.clone(),
                score: points,
                reasons: reasons.iter().map(|r| (*r).to_owned()).collect(),
                flagged: points >= FLAG_THRESHOLD,
                scored_at_ms: now,
            };
            if s.scores.record(&result).await.map_err(unavailable)? {
                let outcome = if result.flagged { "flagged" } else { "passed" };
                s.score_metric
                    .record(points as u64, &[KeyValue::new("fraud.outcome", outcome)]);
                if result.flagged {
                    tracing::warn!(event.name = "fraud.flagged", order.id = %result.order_id, fraud.score = points, fraud.reasons = %result.reasons.join(","), "order flagged for review");
                }
            }
            result
        }
    };
    span.set_attribute("fraud.score", scored.score);
    span.set_attribute("fraud.flagged", scored.flagged);
    if !scored.reasons.is_empty() {
        span.set_attribute("fraud.reasons", scored.reasons.join(","));
    }
    Ok(())
}

pub(super) async fn flags(
    State(s): State<Arc<super::State>>,
    ApiQuery(q): ApiQuery<FlagsQuery>,
) -> ApiResult<Json<Flags>> {
    let limit = q.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::bad_request(
            code::INVALID_LIMIT,
            "limit must be 1 to 500",
        ));
    }
    let (flags, scored) = s.scores.flagged(limit).await?;
    Ok(Json(Flags { flags, scored }))
}

pub(super) async fn score_of(
    State(s): State<Arc<super::State>>,
    ApiPath(order_id): ApiPath<String>,
) -> ApiResult<Json<FraudScore>> {
    OrderId::parse(&order_id)?;
    s.scores
        .of_order(&order_id)
        .await?
        .map(Json)
        .ok_or_else(|| {
            ApiError::not_found(
                code::ORDER_NOT_FOUND,
                format!("no score for order {order_id} (yet)"),
            )
        })
}
