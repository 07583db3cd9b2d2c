use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use http::StatusCode;
use opentelemetry::KeyValue;

use super::store::PlaceError;
use crate::api::checkout::model::{Order, PlaceOrder};
use crate::api::inventory::model::{ReservationLine, ReserveRequest};
use crate::api::payment::model::ChargeStatus;
use crate::error::code;
use crate::error::{ApiError, ApiJson, ApiPath, ApiResult};
use crate::types::{CountryCode, CurrencyCode, IdempotencyKey, OrderId, is_email, parse_lines};

fn validate(req: &PlaceOrder) -> ApiResult<()> {
    if let Some(key) = &req.idempotency_key {
        IdempotencyKey::parse(key)?;
    }
    let lines: Vec<(i64, i64)> = req
        .items
        .iter()
        .map(|l| (l.product_id, l.quantity))
        .collect();
    parse_lines(&lines, "an order")?;
    CurrencyCode::parse(&req.currency)?;
    if let Some(shipping) = &req.shipping
        && (shipping.cost_cents < 0 || CountryCode::parse(&shipping.country).is_err())
    {
        return Err(ApiError::bad_request(
            code::INVALID_SHIPPING,
            "shipping needs a country code and a cost of 0 or more",
        ));
    }
    if req.payment.transaction_id.trim().is_empty() || req.payment.amount_cents <= 0 {
        return Err(ApiError::bad_request(
            code::INVALID_PAYMENT,
            "a paid transaction is required",
        ));
    }
    if let Some(email) = &req.customer_email
        && !is_email(email)
    {
        return Err(ApiError::bad_request(
            code::INVALID_EMAIL,
            "customer_email is not an e-mail address",
        ));
    }
    Ok(())
}

/// How long before the caller's deadline the order must be written, so the answer still
/// reaches it.
const DEADLINE_MARGIN: Duration = Duration::from_millis(250);

pub(super) async fn place(
    State(s): State<Arc<super::State>>,
    ApiJson(req): ApiJson<PlaceOrder>,
) -> ApiResult<(StatusCode, Json<Order>)> {
    validate(&req)?;
    let budget = match req.deadline_unix_ms {
        Some(deadline) => {
            let left = deadline - crate::scenario::state::now_ms();
            let left = Duration::from_millis(u64::try_from(left).unwrap_or(0))
                .saturating_sub(DEADLINE_MARGIN);
            if left.is_zero() {
                return Err(deadline_exceeded());
            }
            Some(left)
        }
        None => None,
    };
    // The same attempt again: its order is the answer, never a second one.
    if let Some(key) = &req.idempotency_key
        && let Some(existing) = same_attempt(&s, key).await?
    {
        return Ok((StatusCode::OK, Json(existing)));
    }
    let order_id = OrderId::generate().as_str().to_owned();
    let created_at = humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string();

    // The catalogue's prices, from the service that owns them.
    let ids: Vec<i64> = req.items.iter().map(|l| l.product_id).collect();
    let prices: Vec<(i64, i64)> = s
        .catalog
        .by_ids(&ids)
        .await?
        .products
        .iter()
        .map(|p| (p.id, p.price_cents))
        .collect();
    // What the order costs must be what was paid, and the payment must be a charge the
    // gateway made for that amount and still holds — not whatever the caller says.
    let priced = super::store::total_of(&req, &prices)?;
    verify_charge(&s, &req).await?;

    // Stock first: not enough of something is a 409 the shopper sees as such.
    s.inventory
        .reserve(&ReserveRequest {
            order_id: order_id.clone(),
            items: req
                .items
                .iter()
                .map(|l| ReservationLine {
                    product_id: l.product_id,
                    quantity: l.quantity,
                })
                .collect(),
        })
        .await?;

    let context = telemetry::messaging::current_context_headers(&s.telemetry);
    let writing = s
        .orders
        .place(&order_id, &created_at, &req, priced, budget, &context);
    let placed = match budget {
        // Past the deadline the caller has given up (and refunds): the transaction is dropped,
        // which rolls it back; one that commits anyway is cancelled by the reconciliation.
        Some(left) => match tokio::time::timeout(left, writing).await {
            Ok(placed) => placed.map_err(ApiError::from),
            Err(_) => Err(deadline_exceeded()),
        },
        None => writing.await.map_err(ApiError::from),
    };
    let order = match placed {
        Ok(order) => order,
        Err(e) => {
            if let Err(release) = s.inventory.release(&order_id).await {
                tracing::error!(event.name = "checkout.stock_release_failed", order.id = %order_id, exception.type = std::any::type_name_of_val(&release), exception.message = %release, "order failed and its stock could not be released");
            }
            // Two requests of one attempt at once: the first one's order is the answer.
            if e.code == code::ATTEMPT_ORDERED
                && let Some(key) = &req.idempotency_key
                && let Some(existing) = same_attempt(&s, key).await?
            {
                return Ok((StatusCode::OK, Json(existing)));
            }
            return Err(e);
        }
    };

    let attrs = [KeyValue::new("currency", order.currency.clone())];
    s.orders_placed.add(1, &attrs);
    s.revenue.add(order.total_cents as u64, &attrs);
    tracing::info!(event.name = "checkout.order_placed", order.id = %order.id, order.total_cents = order.total_cents, order.items = order.item_count, "order placed");
    // Its event is in the outbox: the relay publishes it now (the confirmation e-mail, the
    // ledger and the fraud check follow from it, without this request waiting for them).
    s.relay_wake.notify_one();
    Ok((StatusCode::CREATED, Json(order)))
}

pub(super) async fn get(
    State(s): State<Arc<super::State>>,
    ApiPath(order_id): ApiPath<String>,
) -> ApiResult<Json<Order>> {
    OrderId::parse(&order_id)?;
    s.orders
        .get(&order_id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(code::ORDER_NOT_FOUND, format!("no order {order_id}")))
}

fn deadline_exceeded() -> ApiError {
    ApiError::new(
        StatusCode::GATEWAY_TIMEOUT,
        code::DEADLINE_EXCEEDED,
        "the caller's deadline passed before the order could be written",
    )
}

/// The order an attempt already made, if it stands. One whose charge was refunded (it
/// committed after its caller gave up) is cancelled here and now, and the attempt is over.
async fn same_attempt(s: &super::State, key: &str) -> ApiResult<Option<Order>> {
    let Some(id) = s.orders.by_key(key).await? else {
        return Ok(None);
    };
    let Some(order) = s.orders.get(&id).await? else {
        return Ok(None);
    };
    let charge = s.payment.record(&order.payment_transaction_id).await?;
    if order.status == "placed" && charge.status == ChargeStatus::Charged {
        return Ok(Some(order));
    }
    let context = telemetry::messaging::current_context_headers(&s.telemetry);
    if s.orders.cancel(&order.id, &context).await? {
        s.relay_wake.notify_one();
        s.inventory.release(&order.id).await?;
        tracing::warn!(event.name = "checkout.order_cancelled", order.id = %order.id, "an order whose charge was refunded was cancelled");
    }
    Err(ApiError::conflict(
        code::ATTEMPT_CANCELLED,
        "this checkout attempt failed and its charge was refunded: start a new checkout",
    ))
}

/// The payment an order names is a charge of this amount that the gateway still holds.
async fn verify_charge(s: &super::State, req: &PlaceOrder) -> ApiResult<()> {
    let record = s
        .payment
        .record(&req.payment.transaction_id)
        .await
        .map_err(|e| {
            if e.status == StatusCode::NOT_FOUND || e.status == StatusCode::BAD_REQUEST {
                ApiError::conflict(
                    code::PAYMENT_MISMATCH,
                    format!(
                        "{} is not a charge of the gateway",
                        req.payment.transaction_id
                    ),
                )
            } else {
                e
            }
        })?;
    if record.status != ChargeStatus::Charged {
        return Err(ApiError::conflict(
            code::ATTEMPT_CANCELLED,
            "the charge of this checkout was refunded: start a new checkout",
        ));
    }
    if record.amount_cents != req.payment.amount_cents {
        return Err(ApiError::conflict(
            code::PAYMENT_MISMATCH,
            format!(
                "the charge was {} cents, not {}",
                record.amount_cents, req.payment.amount_cents
            ),
        ));
    }
    Ok(())
}

/// A refused order as the caller sees it.
impl From<PlaceError> for ApiError {
    fn from(e: PlaceError) -> Self {
        match e {
            PlaceError::SameAttempt(key) => ApiError::conflict(
                code::ATTEMPT_ORDERED,
                format!("the attempt {key} has an order already"),
            ),
            PlaceError::UnknownProduct(id) => {
                ApiError::bad_request(code::UNKNOWN_PRODUCT, format!("no product with id {id}"))
            }
            PlaceError::AmountMismatch { .. } => {
                ApiError::conflict(code::AMOUNT_MISMATCH, e.to_string())
            }
            PlaceError::Store(s) => s.into(),
        }
    }
}

/// The order a checkout attempt made.
pub(super) async fn attempt(
    State(s): State<Arc<super::State>>,
    ApiPath(key): ApiPath<String>,
) -> ApiResult<Json<Order>> {
    IdempotencyKey::parse(&key)?;
    same_attempt(&s, &key).await?.map(Json).ok_or_else(|| {
        ApiError::not_found(
            code::ORDER_NOT_FOUND,
            format!("no order for the attempt {key}"),
        )
    })
}
