use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use http::StatusCode;

use super::store::ReserveError;
use crate::api::inventory::model::{Reservation, ReserveRequest, Stock};
use crate::error::code;
use crate::error::{ApiError, ApiJson, ApiPath, ApiResult};
use crate::types::{OrderId, ProductId, parse_lines};

pub(super) async fn reserve(
    State(s): State<Arc<super::State>>,
    ApiJson(req): ApiJson<ReserveRequest>,
) -> ApiResult<(StatusCode, Json<Reservation>)> {
    OrderId::parse(&req.order_id)?;
    let lines: Vec<(i64, i64)> = req
        .items
        .iter()
        .map(|l| (l.product_id, l.quantity))
        .collect();
    parse_lines(&lines, "a reservation")?;
    let reservation = s.stock.reserve(&req.order_id, &req.items).await?;
    Ok((StatusCode::CREATED, Json(reservation)))
}

pub(super) async fn release(
    State(s): State<Arc<super::State>>,
    ApiPath(order_id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    OrderId::parse(&order_id)?;
    let lines = s.stock.release(&order_id).await?;
    tracing::info!(event.name = "inventory.reservation_released", order.id = %order_id, inventory.lines = lines, "reservation released");
    Ok(StatusCode::NO_CONTENT)
}

pub(super) async fn stock(
    State(s): State<Arc<super::State>>,
    ApiPath(product_id): ApiPath<i64>,
) -> ApiResult<Json<Stock>> {
    ProductId::parse(product_id)?;
    let stock = s.stock.stock(product_id).await?.ok_or_else(|| {
        ApiError::not_found(
            code::PRODUCT_NOT_FOUND,
            format!("no product with id {product_id}"),
        )
    })?;
    Ok(Json(Stock { product_id, stock }))
}

/// A refused reservation as the caller sees it.
impl From<ReserveError> for ApiError {
    fn from(e: ReserveError) -> Self {
        match e {
            ReserveError::UnknownProduct(id) => {
                ApiError::bad_request(code::UNKNOWN_PRODUCT, format!("no product with id {id}"))
            }
            ReserveError::Insufficient { .. } => {
                ApiError::conflict(code::INSUFFICIENT_STOCK, e.to_string())
            }
            ReserveError::AlreadyReserved(_) => {
                ApiError::conflict(code::ALREADY_RESERVED, e.to_string())
            }
            ReserveError::Store(s) => s.into(),
        }
    }
}
