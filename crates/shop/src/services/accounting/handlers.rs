use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use opentelemetry::KeyValue;

use super::store::{Booked, day_of};
use crate::api::accounting::model::{DailyQuery, DailyTotals, LedgerQuery, OrderLedger};
use crate::api::checkout::events::OrderEvent;
use crate::broker::Message;
use crate::consumer::ConsumeError;
use crate::error::code;
use crate::error::{ApiError, ApiQuery, ApiResult};
use crate::types::OrderId;

/// Books one order event.
pub(super) async fn consume(s: Arc<super::State>, message: Message) -> Result<(), ConsumeError> {
    let event = OrderEvent::parse(&message.body).map_err(ConsumeError::Invalid)?;
    let now = crate::scenario::state::now_ms();
    let booked = s
        .ledger
        .book(&event, now)
        .await
        .map_err(|e| ConsumeError::failed("ledger_unavailable", e))?;
    let span = tracing::Span::current();
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;
    span.set_attribute("order.id", event.order_id.clone());
    span.set_attribute("accounting.duplicate", booked == Booked::AlreadyBooked);
    if booked == Booked::New {
        s.booked
            .add(1, &[KeyValue::new("event.type", event.event_type.clone())]);
        s.delay.record(
            (now - event.occurred_at_ms).max(0) as f64 / 1000.0,
            &[KeyValue::new("event.type", event.event_type.clone())],
        );
        tracing::info!(event.name = "ledger.booked", order.id = %event.order_id, messaging.message.id = %event.event_id, "order event booked");
    } else {
        tracing::info!(event.name = "ledger.duplicate", order.id = %event.order_id, messaging.message.id = %event.event_id, "order event already booked");
    }
    Ok(())
}

pub(super) async fn ledger(
    State(s): State<Arc<super::State>>,
    ApiQuery(q): ApiQuery<LedgerQuery>,
) -> ApiResult<Json<OrderLedger>> {
    let Some(order_id) = q.order_id else {
        return Err(ApiError::bad_request(
            code::INVALID_ORDER_ID,
            "order_id is required: /ledger?order_id=ord_…",
        ));
    };
    OrderId::parse(&order_id)?;
    let entries = s.ledger.of_order(&order_id).await?;
    let debit_cents = entries.iter().map(|e| e.debit_cents).sum();
    let credit_cents = entries.iter().map(|e| e.credit_cents).sum();
    Ok(Json(OrderLedger {
        order_id,
        entries,
        debit_cents,
        credit_cents,
        balanced: debit_cents == credit_cents,
    }))
}

pub(super) async fn daily(
    State(s): State<Arc<super::State>>,
    ApiQuery(q): ApiQuery<DailyQuery>,
) -> ApiResult<Json<DailyTotals>> {
    let date = match q.date {
        Some(d) => {
            let valid =
                d.len() == 10 && humantime::parse_rfc3339(&format!("{d}T00:00:00Z")).is_ok();
            if !valid {
                return Err(ApiError::bad_request(
                    code::INVALID_DATE,
                    "date must be a day, YYYY-MM-DD",
                ));
            }
            d
        }
        None => day_of(crate::scenario::state::now_ms()),
    };
    let (accounts, orders_placed, orders_cancelled) = s.ledger.daily(&date).await?;
    let balanced = accounts.iter().map(|a| a.debit_cents).sum::<i64>()
        == accounts.iter().map(|a| a.credit_cents).sum::<i64>();
    Ok(Json(DailyTotals {
        date,
        orders_placed,
        orders_cancelled,
        accounts,
        balanced,
    }))
}
