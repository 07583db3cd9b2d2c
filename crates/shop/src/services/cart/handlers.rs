use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use http::StatusCode;

use super::model::{AddItem, Cart};
use super::store::{MAX_LINES, MAX_QUANTITY};
use crate::error::{ApiError, ApiJson, ApiPath, ApiResult};

/// Cart ids are 1–64 characters of letters, digits, `-` and `_`.
pub(crate) fn validate_cart_id(id: &str) -> ApiResult<()> {
    let ok = (1..=64).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(ApiError::bad_request(
            "invalid_cart_id",
            "cart id must be 1 to 64 letters, digits, '-' or '_'",
        ))
    }
}

pub(crate) fn validate_quantity(quantity: i64) -> ApiResult<()> {
    if (1..=MAX_QUANTITY).contains(&quantity) {
        Ok(())
    } else {
        Err(ApiError::bad_request(
            "invalid_quantity",
            format!("quantity must be 1 to {MAX_QUANTITY}"),
        ))
    }
}

/// Lines of an order or a reservation: 1 to `max` of them, valid ids and quantities, each
/// product once.
pub(crate) fn validate_lines(lines: &[(i64, i64)], max: usize, what: &str) -> ApiResult<()> {
    if lines.is_empty() || lines.len() > max {
        return Err(ApiError::bad_request(
            "invalid_items",
            format!("{what} has 1 to {max} lines"),
        ));
    }
    for (i, (product_id, quantity)) in lines.iter().enumerate() {
        validate_product_id(*product_id)?;
        validate_quantity(*quantity)?;
        if lines[..i].iter().any(|(p, _)| p == product_id) {
            return Err(ApiError::bad_request(
                "duplicate_product",
                "each product appears on one line",
            ));
        }
    }
    Ok(())
}

pub(crate) fn validate_product_id(product_id: i64) -> ApiResult<()> {
    if product_id > 0 {
        Ok(())
    } else {
        Err(ApiError::bad_request(
            "invalid_product_id",
            "product_id must be positive",
        ))
    }
}

pub(super) async fn get(
    State(s): State<Arc<super::State>>,
    ApiPath(cart_id): ApiPath<String>,
) -> ApiResult<Json<Cart>> {
    validate_cart_id(&cart_id)?;
    let items = s.carts.items(&cart_id).await?;
    let cart = Cart::new(&cart_id, items);
    s.cart_size.record(cart.item_count as u64, &[]);
    Ok(Json(cart))
}

pub(super) async fn add_item(
    State(s): State<Arc<super::State>>,
    ApiPath(cart_id): ApiPath<String>,
    ApiJson(item): ApiJson<AddItem>,
) -> ApiResult<(StatusCode, Json<Cart>)> {
    item.validate(&cart_id)?;
    let items = s.carts.items(&cart_id).await?;
    if items.len() >= MAX_LINES && !items.iter().any(|i| i.product_id == item.product_id) {
        return Err(ApiError::conflict(
            "cart_full",
            format!("a cart holds at most {MAX_LINES} products"),
        ));
    }
    s.carts
        .add(&cart_id, item.product_id, item.quantity)
        .await?;
    let cart = Cart::new(&cart_id, s.carts.items(&cart_id).await?);
    tracing::info!(cart.id = %cart_id, product.id = item.product_id, quantity = item.quantity, "item added to cart");
    Ok((StatusCode::CREATED, Json(cart)))
}

pub(super) async fn remove_item(
    State(s): State<Arc<super::State>>,
    ApiPath((cart_id, product_id)): ApiPath<(String, i64)>,
) -> ApiResult<Json<Cart>> {
    validate_cart_id(&cart_id)?;
    validate_product_id(product_id)?;
    s.carts.remove(&cart_id, product_id).await?;
    Ok(Json(Cart::new(&cart_id, s.carts.items(&cart_id).await?)))
}

pub(super) async fn clear(
    State(s): State<Arc<super::State>>,
    ApiPath(cart_id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    validate_cart_id(&cart_id)?;
    s.carts.clear(&cart_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
