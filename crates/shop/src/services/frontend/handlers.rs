use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use http::StatusCode;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use super::model::{
    BrowsePage, BrowseRequest, CartLine, CartSummary, CartView, CheckoutRequest, CheckoutResult,
    ProductsQuery,
};
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult, OptionalJson};
use crate::services::cart::handlers::{validate_cart_id, validate_product_id};
use crate::services::cart::model::{AddItem, Cart};
use crate::services::checkout::model::{Order, OrderLine, PaymentRef, PlaceOrder};
use crate::services::payment::model::ChargeRequest;
use crate::services::product_catalog::model::{Product, ProductList};

/// The only currency until a currency service converts prices.
const SHOP_CURRENCY: &str = "USD";

/// Baseline flow: the cart summary and a page of products. Never touches recommendations.
pub(super) async fn browse(
    State(s): State<Arc<super::State>>,
    OptionalJson(req): OptionalJson<BrowseRequest>,
) -> ApiResult<Json<BrowsePage>> {
    let mut filters = vec![("limit", req.limit.unwrap_or(12).to_string())];
    if let Some(c) = req.category.filter(|c| !c.is_empty()) {
        filters.push(("category", c));
    }
    let cart = match &req.cart_id {
        Some(id) => {
            validate_cart_id(id)?;
            let cart = s.cart.get(id).await?;
            Some(CartSummary {
                cart_id: cart.cart_id,
                item_count: cart.item_count,
            })
        }
        None => None,
    };
    let ProductList { products, .. } = s.catalog.list(&filters).await?;
    Ok(Json(BrowsePage { products, cart }))
}

/// Demo flow: cart → recommendations → pricing → payment → order → clear cart.
pub(super) async fn checkout(
    State(s): State<Arc<super::State>>,
    ApiJson(req): ApiJson<CheckoutRequest>,
) -> ApiResult<(StatusCode, Json<CheckoutResult>)> {
    validate_cart_id(&req.cart_id)?;
    let currency = req
        .currency
        .clone()
        .unwrap_or_else(|| SHOP_CURRENCY.to_owned());
    if currency != SHOP_CURRENCY {
        return Err(ApiError::bad_request(
            "unsupported_currency",
            "the shop sells in USD only",
        ));
    }
    let cart = s.cart.get(&req.cart_id).await?;
    let Some(first) = cart.items.first() else {
        return Err(ApiError::bad_request("cart_empty", "the cart is empty"));
    };
    let recommendations = s
        .catalog
        .recommendations(first.product_id, 4)
        .await?
        .recommendations;

    let ids: Vec<i64> = cart.items.iter().map(|i| i.product_id).collect();
    let products = s.catalog.by_ids(&ids).await?.products;
    let amount_cents = total_cents(&cart, &products)?;

    let charge = s
        .payment
        .charge(&ChargeRequest {
            amount_cents,
            currency: currency.clone(),
            card: req.card.clone(),
        })
        .await?;

    let session_id =
        telemetry::baggage::baggage_value(&tracing::Span::current().context(), "session.id");
    let order = s
        .checkout
        .place(&PlaceOrder {
            currency,
            customer_email: req.email.clone(),
            session_id,
            items: cart
                .items
                .iter()
                .map(|i| OrderLine {
                    product_id: i.product_id,
                    quantity: i.quantity,
                })
                .collect(),
            payment: PaymentRef {
                transaction_id: charge.transaction_id.clone(),
                amount_cents,
                card_last4: Some(charge.card_last4.clone()),
            },
        })
        .await
        .inspect_err(|e| {
            tracing::error!(transaction_id = %charge.transaction_id, error = %e, "payment captured but the order failed; refund due");
        })?;

    // The order stands even if the cart cannot be emptied now; its TTL empties it later.
    if let Err(e) = s.cart.clear(&req.cart_id).await {
        tracing::warn!(cart.id = %req.cart_id, error = %e, "order placed but the cart was not cleared");
    }
    tracing::info!(order.id = %order.id, order.total_cents = order.total_cents, "checkout complete");
    Ok((
        StatusCode::CREATED,
        Json(CheckoutResult {
            transaction_id: charge.transaction_id,
            order,
            recommendations,
        }),
    ))
}

/// Prices every cart line from the catalogue; a product that vanished is a 409.
fn total_cents(cart: &Cart, products: &[Product]) -> ApiResult<i64> {
    cart.items.iter().try_fold(0i64, |sum, item| {
        let product = products
            .iter()
            .find(|p| p.id == item.product_id)
            .ok_or_else(|| {
                ApiError::conflict(
                    "product_unavailable",
                    format!("product {} in the cart is no longer sold", item.product_id),
                )
            })?;
        Ok(sum + product.price_cents * item.quantity)
    })
}

pub(super) async fn products(
    State(s): State<Arc<super::State>>,
    ApiQuery(q): ApiQuery<ProductsQuery>,
) -> ApiResult<Json<ProductList>> {
    if let Some(text) = q.q.as_deref().filter(|t| !t.trim().is_empty()) {
        return Ok(Json(s.catalog.search(text, q.limit.unwrap_or(20)).await?));
    }
    let mut filters = Vec::new();
    if let Some(c) = q.category {
        filters.push(("category", c));
    }
    if let Some(v) = q.min_price_cents {
        filters.push(("min_price_cents", v.to_string()));
    }
    if let Some(v) = q.max_price_cents {
        filters.push(("max_price_cents", v.to_string()));
    }
    if let Some(v) = q.limit {
        filters.push(("limit", v.to_string()));
    }
    Ok(Json(s.catalog.list(&filters).await?))
}

pub(super) async fn product(
    State(s): State<Arc<super::State>>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Product>> {
    validate_product_id(id)?;
    Ok(Json(s.catalog.product(id).await?))
}

pub(super) async fn view_cart(
    State(s): State<Arc<super::State>>,
    ApiPath(cart_id): ApiPath<String>,
) -> ApiResult<Json<CartView>> {
    validate_cart_id(&cart_id)?;
    let cart = s.cart.get(&cart_id).await?;
    let products = if cart.items.is_empty() {
        Vec::new()
    } else {
        let ids: Vec<i64> = cart.items.iter().map(|i| i.product_id).collect();
        s.catalog.by_ids(&ids).await?.products
    };
    let lines: Vec<CartLine> = cart
        .items
        .iter()
        .filter_map(|item| {
            let product = products.iter().find(|p| p.id == item.product_id)?.clone();
            Some(CartLine {
                line_total_cents: product.price_cents * item.quantity,
                quantity: item.quantity,
                product,
            })
        })
        .collect();
    Ok(Json(CartView {
        total_cents: lines.iter().map(|l| l.line_total_cents).sum(),
        currency: SHOP_CURRENCY.to_owned(),
        lines,
        cart,
    }))
}

pub(super) async fn add_to_cart(
    State(s): State<Arc<super::State>>,
    ApiPath(cart_id): ApiPath<String>,
    ApiJson(item): ApiJson<AddItem>,
) -> ApiResult<(StatusCode, Json<Cart>)> {
    item.validate(&cart_id)?;
    // Unknown products are refused here (404), before they reach the cart.
    let product = s.catalog.product(item.product_id).await?;
    if product.stock < item.quantity {
        return Err(ApiError::conflict(
            "out_of_stock",
            format!("only {} left of {}", product.stock, product.name),
        ));
    }
    Ok((
        StatusCode::CREATED,
        Json(s.cart.add(&cart_id, &item).await?),
    ))
}

pub(super) async fn order(
    State(s): State<Arc<super::State>>,
    ApiPath(order_id): ApiPath<String>,
) -> ApiResult<Json<Order>> {
    Ok(Json(s.checkout.get(&order_id).await?))
}
