use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use http::StatusCode;
use opentelemetry::KeyValue;

use super::model::{Order, PlaceOrder};
use super::store::PlaceError;
use crate::error::{ApiError, ApiJson, ApiPath, ApiResult};
use crate::services::cart::handlers::validate_lines;
use crate::services::inventory::model::{ReservationLine, ReserveRequest};
use crate::services::notification::model::OrderConfirmation;

const MAX_LINES: usize = 50;

fn validate(req: &PlaceOrder) -> ApiResult<()> {
    let lines: Vec<(i64, i64)> = req
        .items
        .iter()
        .map(|l| (l.product_id, l.quantity))
        .collect();
    validate_lines(&lines, MAX_LINES, "an order")?;
    if req.currency.len() != 3 || !req.currency.chars().all(|c| c.is_ascii_uppercase()) {
        return Err(ApiError::bad_request(
            "invalid_currency",
            "currency must be a three-letter ISO 4217 code",
        ));
    }
    if let Some(shipping) = &req.shipping
        && (shipping.cost_cents < 0 || shipping.country.len() != 2)
    {
        return Err(ApiError::bad_request(
            "invalid_shipping",
            "shipping needs a country code and a cost of 0 or more",
        ));
    }
    if req.payment.transaction_id.trim().is_empty() || req.payment.amount_cents <= 0 {
        return Err(ApiError::bad_request(
            "invalid_payment",
            "a paid transaction is required",
        ));
    }
    if let Some(email) = &req.customer_email
        && (email.len() > 254 || !email.contains('@'))
    {
        return Err(ApiError::bad_request(
            "invalid_email",
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
    let order_id = format!("ord_{}", uuid::Uuid::new_v4().simple());
    let created_at = humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string();

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
        .place(&order_id, &created_at, &req)
        .await
        .map_err(|e| match e {
            PlaceError::UnknownProduct(id) => {
                ApiError::bad_request("unknown_product", format!("no product with id {id}"))
            }
            PlaceError::AmountMismatch { .. } => {
                ApiError::conflict("amount_mismatch", e.to_string())
            }
            PlaceError::Store(s) => s.into(),
        });
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
    let well_formed = order_id.len() <= 64
        && order_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !well_formed {
        return Err(ApiError::bad_request(
            "invalid_order_id",
            "order id is malformed",
        ));
    }
    s.orders
        .get(&order_id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found("order", format!("no order {order_id}")))
}
