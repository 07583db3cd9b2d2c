use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use http::StatusCode;

use super::model::{Reservation, ReserveRequest, Stock};
use super::store::ReserveError;
use crate::error::{ApiError, ApiJson, ApiPath, ApiResult};
use crate::services::cart::handlers::{validate_lines, validate_product_id};

const MAX_LINES: usize = 50;

pub(crate) fn validate_order_id(order_id: &str) -> ApiResult<()> {
    let ok = (1..=64).contains(&order_id.len())
        && order_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(ApiError::bad_request(
            "invalid_order_id",
            "order id is malformed",
        ))
    }
}

pub(super) async fn reserve(
    State(s): State<Arc<super::State>>,
    ApiJson(req): ApiJson<ReserveRequest>,
) -> ApiResult<(StatusCode, Json<Reservation>)> {
    validate_order_id(&req.order_id)?;
    let lines: Vec<(i64, i64)> = req
        .items
        .iter()
        .map(|l| (l.product_id, l.quantity))
        .collect();
    validate_lines(&lines, MAX_LINES, "a reservation")?;
    let reservation = s
        .stock
        .reserve(&req.order_id, &req.items)
        .await
        .map_err(|e| match e {
            ReserveError::UnknownProduct(id) => {
                ApiError::bad_request("unknown_product", format!("no product with id {id}"))
            }
            ReserveError::Insufficient { .. } => {
                ApiError::conflict("insufficient_stock", e.to_string())
            }
            ReserveError::AlreadyReserved(_) => {
                ApiError::conflict("already_reserved", e.to_string())
            }
            ReserveError::Store(s) => s.into(),
        })?;
    Ok((StatusCode::CREATED, Json(reservation)))
}

pub(super) async fn release(
    State(s): State<Arc<super::State>>,
    ApiPath(order_id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    validate_order_id(&order_id)?;
    let lines = s.stock.release(&order_id).await?;
    tracing::info!(order.id = %order_id, lines, "reservation released");
    Ok(StatusCode::NO_CONTENT)
}

pub(super) async fn stock(
    State(s): State<Arc<super::State>>,
    ApiPath(product_id): ApiPath<i64>,
) -> ApiResult<Json<Stock>> {
    validate_product_id(product_id)?;
    let stock = s.stock.stock(product_id).await?.ok_or_else(|| {
        ApiError::not_found("product", format!("no product with id {product_id}"))
    })?;
    Ok(Json(Stock { product_id, stock }))
}
