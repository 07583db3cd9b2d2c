use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use http::StatusCode;
use opentelemetry::KeyValue;

use super::store::PlaceError;
use crate::api::checkout::model::{Order, PlaceOrder};
use crate::api::inventory::model::{ReservationLine, ReserveRequest};
use crate::api::notification::model::OrderConfirmation;
use crate::error::code;
use crate::error::{ApiError, ApiJson, ApiPath, ApiResult};
use crate::types::{CountryCode, CurrencyCode, OrderId, is_email, parse_lines};

fn validate(req: &PlaceOrder) -> ApiResult<()> {
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

pub(super) async fn place(
    State(s): State<Arc<super::State>>,
    ApiJson(req): ApiJson<PlaceOrder>,
) -> ApiResult<(StatusCode, Json<Order>)> {
    validate(&req)?;
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
    if let Some(missing) = ids.iter().find(|id| !prices.iter().any(|(p, _)| p == *id)) {
        return Err(ApiError::bad_request(
            code::UNKNOWN_PRODUCT,
            format!("no product with id {missing}"),
        ));
    }

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

    let placed = s
        .orders
        .place(&order_id, &created_at, &req, &prices)
        .await
        .map_err(ApiError::from);
    let order = match placed {
        Ok(order) => order,
        Err(e) => {
            if let Err(release) = s.inventory.release(&order_id).await {
                tracing::error!(order.id = %order_id, error = %release, "order failed and its stock could not be released");
            }
            return Err(e);
        }
    };

    let attrs = [KeyValue::new("currency", order.currency.clone())];
    s.orders_placed.add(1, &attrs);
    s.revenue.add(order.total_cents as u64, &attrs);
    tracing::info!(order.id = %order.id, order.total_cents = order.total_cents, order.items = order.item_count, "order placed");

    // The order stands whether or not the confirmation goes out.
    if let Some(email) = &order.customer_email {
        let confirmation = OrderConfirmation {
            order_id: order.id.clone(),
            email: email.clone(),
            total_cents: order.total_cents,
            currency: order.currency.clone(),
        };
        if let Err(e) = s.notification.order_confirmation(&confirmation).await {
            tracing::warn!(order.id = %order.id, error = %e, "order confirmation not sent");
        }
    }
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

/// A refused order as the caller sees it.
impl From<PlaceError> for ApiError {
    fn from(e: PlaceError) -> Self {
        match e {
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
