use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use http::StatusCode;

use crate::api::cart::model::{AddItem, Cart, SetQuantity};
use crate::error::code;
use crate::error::{ApiError, ApiJson, ApiPath, ApiResult};
use crate::types::limits::MAX_LINES;
use crate::types::{CartId, ProductId};

pub(super) async fn get(
    State(s): State<Arc<super::State>>,
    ApiPath(cart_id): ApiPath<String>,
) -> ApiResult<Json<Cart>> {
    CartId::parse(&cart_id)?;
    let items = s.carts.items(&cart_id).await?;
    let cart = Cart::new(&cart_id, items);
    s.cart_size.record(cart.item_count as u64, &[]);
    Ok(Json(cart))
}

/// The cart has a line for the product, or room for one more (409 when full).
async fn room_for(s: &super::State, cart_id: &str, product_id: i64) -> ApiResult<()> {
    let items = s.carts.items(cart_id).await?;
    if items.len() >= MAX_LINES && !items.iter().any(|i| i.product_id == product_id) {
        return Err(ApiError::conflict(
            code::CART_FULL,
            format!("a cart holds at most {MAX_LINES} products"),
        ));
    }
    Ok(())
}

pub(super) async fn add_item(
    State(s): State<Arc<super::State>>,
    ApiPath(cart_id): ApiPath<String>,
    ApiJson(item): ApiJson<AddItem>,
) -> ApiResult<(StatusCode, Json<Cart>)> {
    item.validate(&cart_id)?;
    room_for(&s, &cart_id, item.product_id).await?;
    s.carts
        .add(&cart_id, item.product_id, item.quantity)
        .await?;
    let cart = Cart::new(&cart_id, s.carts.items(&cart_id).await?);
    tracing::debug!(cart.id = %cart_id, product.id = item.product_id, quantity = item.quantity, "item added to cart");
    Ok((StatusCode::CREATED, Json(cart)))
}

/// Sets a line's quantity; 0 removes the line (an absent one included).
pub(super) async fn set_quantity(
    State(s): State<Arc<super::State>>,
    ApiPath((cart_id, product_id)): ApiPath<(String, i64)>,
    ApiJson(change): ApiJson<SetQuantity>,
) -> ApiResult<Json<Cart>> {
    change.validate(&cart_id, product_id)?;
    if change.quantity == 0 {
        s.carts.remove(&cart_id, product_id).await?;
    } else {
        room_for(&s, &cart_id, product_id).await?;
        s.carts.set(&cart_id, product_id, change.quantity).await?;
    }
    Ok(Json(Cart::new(&cart_id, s.carts.items(&cart_id).await?)))
}

pub(super) async fn remove_item(
    State(s): State<Arc<super::State>>,
    ApiPath((cart_id, product_id)): ApiPath<(String, i64)>,
) -> ApiResult<Json<Cart>> {
    CartId::parse(&cart_id)?;
    ProductId::parse(product_id)?;
    s.carts.remove(&cart_id, product_id).await?;
    Ok(Json(Cart::new(&cart_id, s.carts.items(&cart_id).await?)))
}

pub(super) async fn clear(
    State(s): State<Arc<super::State>>,
    ApiPath(cart_id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    CartId::parse(&cart_id)?;
    s.carts.clear(&cart_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
