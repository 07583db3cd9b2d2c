use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use http::StatusCode;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use crate::api::ad::model::Ads;
use crate::api::cart::model::{AddItem, Cart, SetQuantity};
use crate::api::checkout::model::{Order, OrderLine, PaymentRef, PlaceOrder, ShippingRef};
use crate::api::currency::model::Rates;
use crate::api::frontend::model::{
    AdsQuery, BrowsePage, BrowseRequest, CartLine, CartSummary, CartView, CheckoutRequest,
    CheckoutResult, DisplayPrice, DisplayTotal, ProductsQuery, RecommendedProducts,
};
use crate::api::payment::model::{ChargeRequest, RefundRequest};
use crate::api::product_catalog::model::{Product, ProductList};
use crate::api::shipping::model::QuoteRequest;
use crate::error::code;
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult, OptionalJson};
use crate::error::{ErrorBody, PeerFailure};
use crate::scenario::Scenario;
use crate::types::{CartId, CurrencyCode, IdempotencyKey, ProductId};

/// The currency the shop charges in; others are for display.
const SHOP_CURRENCY: &str = "USD";
const HOME_COUNTRY: &str = "US";

/// Baseline flow: cart summary, a page of products, prices in the shopper's currency and ads,
/// fetched side by side. Never touches recommendations. Ads and display prices are extras: if
/// their service fails the page is still served, without them.
#[utoipa::path(
    post,
    path = "/api/browse",
    tag = "shop",
    request_body(content = Option<BrowseRequest>, description = "All fields optional; the body may be empty"),
    responses(
        (status = 200, description = "A page of products, with the cart summary, ads and display prices", body = BrowsePage),
        (status = 400, description = "Invalid cart id, limit or currency", body = ErrorBody),
        (status = 404, description = "No such category", body = ErrorBody),
        (status = 415, description = "The body is not JSON", body = ErrorBody),
        PeerFailure,
    )
)]
pub(super) async fn browse(
    State(s): State<Arc<super::State>>,
    OptionalJson(req): OptionalJson<BrowseRequest>,
) -> ApiResult<Json<BrowsePage>> {
    let mut filters = vec![("limit", req.limit.unwrap_or(12).to_string())];
    let category = req.category.filter(|c| !c.is_empty());
    if let Some(c) = &category {
        filters.push(("category", c.clone()));
    }
    if let Some(id) = &req.cart_id {
        CartId::parse(id)?;
    }
    let currency = req.currency.unwrap_or_else(|| SHOP_CURRENCY.to_owned());
    CurrencyCode::parse(&currency)?;

    let cart = async {
        match &req.cart_id {
            Some(id) => s.cart.get(id).await.map(Some),
            None => Ok(None),
        }
    };
    let (cart, products, rates, ads) = tokio::join!(
        cart,
        s.catalog.list(&filters),
        s.currency.rates(),
        s.ads.for_category(category.as_deref(), 2)
    );
    // The products are the page; the cart summary, ads and rates are extras it can do
    // without while their service (or its store) is down.
    let mut degraded = Vec::new();
    let cart = match cart {
        Ok(cart) => cart.map(|c| CartSummary {
            cart_id: c.cart_id,
            item_count: c.item_count,
        }),
        Err(e) if e.status.is_server_error() => {
            tracing::warn!(event.name = "frontend.degraded", frontend.degraded = "cart", exception.type = std::any::type_name_of_val(&e), exception.message = %e, "cart unavailable; page served without its summary");
            degraded.push("cart".to_owned());
            None
        }
        Err(e) => return Err(e),
    };
    let ProductList { products, .. } = products?;
    let ads = ads.map(|a| a.ads).unwrap_or_else(|e| {
        tracing::warn!(event.name = "frontend.degraded", frontend.degraded = "ad", exception.type = std::any::type_name_of_val(&e), exception.message = %e, "ads unavailable; page served without them");
        degraded.push("ads".to_owned());
        Vec::new()
    });
    let display_prices = match rates {
        Ok(rates) if currency != SHOP_CURRENCY => {
            if !rates.rates.iter().any(|r| r.currency == currency) {
                return Err(ApiError::bad_request(
                    code::UNSUPPORTED_CURRENCY,
                    format!("prices cannot be shown in {currency}"),
                ));
            }
            products
                .iter()
                .filter_map(|p| {
                    let (amount, _) = crate::api::currency::model::convert(
                        &rates.rates,
                        SHOP_CURRENCY,
                        &currency,
                        p.price_cents,
                    )?;
                    Some(DisplayPrice {
                        product_id: p.id,
                        amount,
                    })
                })
                .collect()
        }
        Ok(_) => Vec::new(),
        Err(e) => {
            tracing::warn!(event.name = "frontend.degraded", frontend.degraded = "currency", exception.type = std::any::type_name_of_val(&e), exception.message = %e, "rates unavailable; prices shown in USD only");
            degraded.push("rates".to_owned());
            Vec::new()
        }
    };
    Ok(Json(BrowsePage {
        products,
        cart,
        ads,
        currency,
        display_prices,
        degraded,
    }))
}

/// Demo flow: cart → recommendations → pricing → currency → shipping quote → payment → order
/// (→ inventory, → notification) → clear the cart. A failed order after a successful charge is
/// refunded.
#[utoipa::path(
    post,
    path = "/api/checkout",
    tag = "shop",
    description = "The demo flow: cart, recommendations, prices, shipping quote, charge, order. A 503 with the code `checkout_outcome_unknown` means the order may stand: check out again with the Idempotency-Key its message names to learn the outcome; the same attempt is never charged twice.",
    request_body = CheckoutRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "One checkout attempt: a retry with the same key is never charged or ordered twice")),
    responses(
        (status = 201, description = "Ordered and charged", body = CheckoutResult),
        (status = 200, description = "The same attempt again: its order", body = CheckoutResult),
        (status = 400, description = "Invalid input, or an empty cart", body = ErrorBody),
        (status = 402, description = "The card was declined", body = ErrorBody),
        (status = 404, description = "A product in the cart no longer exists", body = ErrorBody),
        (status = 409, description = "Not enough stock (the charge is refunded)", body = ErrorBody),
        (status = 415, description = "The body is not JSON", body = ErrorBody),
        (status = 422, description = "The body is JSON of the wrong shape", body = ErrorBody),
        PeerFailure,
    )
)]
pub(super) async fn checkout(
    State(s): State<Arc<super::State>>,
    headers: http::HeaderMap,
    ApiJson(req): ApiJson<CheckoutRequest>,
) -> ApiResult<(StatusCode, Json<CheckoutResult>)> {
    CartId::parse(&req.cart_id)?;
    // One key per checkout attempt: a shopper's retry with the same `Idempotency-Key` is the
    // same attempt, and is never charged or ordered twice.
    let attempt = match headers.get("idempotency-key") {
        Some(v) => {
            let key = IdempotencyKey::parse(v.to_str().unwrap_or_default())?;
            // An attempt that already ended in an order is answered with it (its cart is
            // empty by now).
            if let Some(order) = s.checkout.attempt(key.as_str()).await? {
                return Ok((StatusCode::OK, Json(replay(&s, order).await?)));
            }
            key
        }
        None => IdempotencyKey::generate(),
    };
    let currency = req
        .currency
        .clone()
        .unwrap_or_else(|| SHOP_CURRENCY.to_owned());
    CurrencyCode::parse(&currency)?;
    let country = req
        .country
        .clone()
        .unwrap_or_else(|| HOME_COUNTRY.to_owned());
    let cart = s.cart.get(&req.cart_id).await?;
    let Some(first) = cart.items.first() else {
        return Err(ApiError::bad_request(code::CART_EMPTY, "the cart is empty"));
    };
    // Black Friday with graceful degradation: checkout goes on without recommendations.
    let recommendations = match s.catalog.recommendations(first.product_id, 4).await {
        Ok(r) => r.recommendations,
        Err(e)
            if s.faults
                .activation(Scenario::Blackfriday)
                .is_some_and(|a| a.graceful) =>
        {
            tracing::warn!(event.name = "frontend.degraded", frontend.degraded = "recommendations", exception.type = std::any::type_name_of_val(&e), exception.message = %e, "recommendations failed; checking out without them");
            Vec::new()
        }
        Err(e) => return Err(e),
    };

    let ids: Vec<i64> = cart.items.iter().map(|i| i.product_id).collect();
    let products = s.catalog.by_ids(&ids).await?.products;
    let (items_cents, weight_grams) = price_and_weigh(&cart, &products)?;
    let display_items = s
        .currency
        .convert(SHOP_CURRENCY, &currency, items_cents)
        .await?;
    let quote = s
        .shipping
        .quote(&QuoteRequest {
            country: country.clone(),
            weight_grams,
            currency: Some(currency.clone()),
        })
        .await?;
    let amount_cents = items_cents + quote.cost_usd_cents;

    let charge = s
        .payment
        .charge(&ChargeRequest {
            amount_cents,
            currency: SHOP_CURRENCY.to_owned(),
            card: req.card.clone(),
            idempotency_key: Some(attempt.as_str().to_owned()),
        })
        .await?;
    if charge.status == "refunded" {
        return Err(ApiError::conflict(
            code::ATTEMPT_CANCELLED,
            "this checkout attempt failed and its charge was refunded: check out again without its Idempotency-Key",
        ));
    }

    let session_id =
        telemetry::baggage::baggage_value(&tracing::Span::current().context(), "session.id");
    let placed = s
        .checkout
        .place(&PlaceOrder {
            currency: SHOP_CURRENCY.to_owned(),
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
            shipping: Some(ShippingRef {
                country,
                cost_cents: quote.cost_usd_cents,
                carrier: quote.carrier.clone(),
            }),
            idempotency_key: Some(attempt.as_str().to_owned()),
            // Checkout must have answered before this call times out here.
            deadline_unix_ms: Some(
                crate::scenario::state::now_ms()
                    + i64::try_from(s.order_budget.as_millis()).unwrap_or(i64::MAX),
            ),
        })
        .await;
    let order = match placed {
        Ok(order) => order,
        Err(e) => {
            let refund = RefundRequest {
                transaction_id: charge.transaction_id.clone(),
                amount_cents,
                reason: e.code.clone(),
            };
            if let Err(refund_error) = s.payment.refund(&refund).await {
                tracing::error!(event.name = "checkout.refund_failed", payment.transaction_id = %charge.transaction_id, exception.type = std::any::type_name_of_val(&refund_error), exception.message = %refund_error, "order failed and the charge could not be refunded");
                // The order may yet stand (its commit reached the database but not its answer
                // here) with its charge: a shopper told "failed" would be wrong. The attempt's
                // key tells the truth later: the same attempt again is answered with its order,
                // or completes it, and is never charged twice.
                return Err(ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    code::CHECKOUT_OUTCOME_UNKNOWN,
                    format!(
                        "the order may have been placed and charged: check out again with \
                         Idempotency-Key: {} to learn its outcome (it is never charged twice)",
                        attempt.as_str()
                    ),
                ));
            }
            return Err(e);
        }
    };

    // The order stands even if the cart cannot be emptied now; its TTL empties it later.
    if let Err(e) = s.cart.clear(&req.cart_id).await {
        tracing::warn!(event.name = "checkout.cart_not_cleared", cart.id = %req.cart_id, exception.type = std::any::type_name_of_val(&e), exception.message = %e, "order placed but the cart was not cleared");
    }
    tracing::info!(event.name = "checkout.completed", order.id = %order.id, order.total_cents = order.total_cents, "checkout complete");
    Ok((
        StatusCode::CREATED,
        Json(CheckoutResult {
            transaction_id: charge.transaction_id,
            display: DisplayTotal {
                items: display_items.converted,
                shipping: quote.cost,
                total: display_items.converted + quote.cost,
                currency,
            },
            estimated_delivery_days: quote.estimated_days,
            order,
            recommendations,
        }),
    ))
}

/// An attempt's order answered again: its amounts in the shop's currency, its delivery time
/// quoted anew, no recommendations.
async fn replay(s: &super::State, order: Order) -> ApiResult<CheckoutResult> {
    let ids: Vec<i64> = order.items.iter().map(|i| i.product_id).collect();
    let products = s.catalog.by_ids(&ids).await?.products;
    let weight_grams = order
        .items
        .iter()
        .map(|i| {
            products
                .iter()
                .find(|p| p.id == i.product_id)
                .map_or(0, |p| p.weight_grams * i.quantity)
        })
        .sum::<i64>()
        .max(1);
    let quote = s
        .shipping
        .quote(&QuoteRequest {
            country: order
                .shipping_country
                .clone()
                .unwrap_or_else(|| HOME_COUNTRY.to_owned()),
            weight_grams,
            currency: Some(SHOP_CURRENCY.to_owned()),
        })
        .await?;
    Ok(CheckoutResult {
        transaction_id: order.payment_transaction_id.clone(),
        display: DisplayTotal {
            items: order.total_cents - order.shipping_cents,
            shipping: order.shipping_cents,
            total: order.total_cents,
            currency: order.currency.clone(),
        },
        estimated_delivery_days: quote.estimated_days,
        order,
        recommendations: Vec::new(),
    })
}

/// Prices and weighs every cart line from the catalogue; a product that vanished is a 409.
fn price_and_weigh(cart: &Cart, products: &[Product]) -> ApiResult<(i64, i64)> {
    cart.items
        .iter()
        .try_fold((0i64, 0i64), |(sum, weight), item| {
            let product = products
                .iter()
                .find(|p| p.id == item.product_id)
                .ok_or_else(|| {
                    ApiError::conflict(
                        code::PRODUCT_UNAVAILABLE,
                        format!("product {} in the cart is no longer sold", item.product_id),
                    )
                })?;
            Ok((
                sum + product.price_cents * item.quantity,
                weight + product.weight_grams * item.quantity,
            ))
        })
}

#[utoipa::path(
    get,
    path = "/api/products",
    tag = "shop",
    params(ProductsQuery),
    responses(
        (status = 200, description = "Products matching the search text or the filters", body = ProductList),
        (status = 400, description = "Invalid filter", body = ErrorBody),
        PeerFailure,
    )
)]
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

#[utoipa::path(
    get,
    path = "/api/products/{id}",
    tag = "shop",
    params(("id" = i64, Path, description = "Product id")),
    responses(
        (status = 200, description = "The product", body = Product),
        (status = 400, description = "Invalid product id", body = ErrorBody),
        (status = 404, description = "No such product", body = ErrorBody),
        PeerFailure,
    )
)]
pub(super) async fn product(
    State(s): State<Arc<super::State>>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Product>> {
    ProductId::parse(id)?;
    Ok(Json(s.catalog.product(id).await?))
}

#[utoipa::path(
    get,
    path = "/api/cart/{cart_id}",
    tag = "shop",
    params(("cart_id" = String, Path, description = "Any id the shopper chose: 1–64 letters, digits, '-' or '_'")),
    responses(
        (status = 200, description = "The cart with its lines priced (empty when unknown)", body = CartView),
        (status = 400, description = "Invalid cart id", body = ErrorBody),
        PeerFailure,
    )
)]
pub(super) async fn view_cart(
    State(s): State<Arc<super::State>>,
    ApiPath(cart_id): ApiPath<String>,
) -> ApiResult<Json<CartView>> {
    CartId::parse(&cart_id)?;
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

/// A cart line may hold `quantity` of the product: it exists (unknown products are refused
/// here, 404, before they reach the cart) and has that many in stock (409).
async fn in_stock(s: &super::State, product_id: i64, quantity: i64) -> ApiResult<()> {
    let product = s.catalog.product(product_id).await?;
    if product.stock < quantity {
        return Err(ApiError::conflict(
            code::OUT_OF_STOCK,
            format!("only {} left of {}", product.stock, product.name),
        ));
    }
    Ok(())
}

#[utoipa::path(
    post,
    path = "/api/cart/{cart_id}/items",
    tag = "shop",
    params(("cart_id" = String, Path, description = "Any id the shopper chose: 1–64 letters, digits, '-' or '_'")),
    request_body = AddItem,
    responses(
        (status = 201, description = "The cart after the addition", body = Cart),
        (status = 400, description = "Invalid cart id, product id or quantity", body = ErrorBody),
        (status = 404, description = "No such product", body = ErrorBody),
        (status = 409, description = "Not enough stock", body = ErrorBody),
        (status = 415, description = "The body is not JSON", body = ErrorBody),
        (status = 422, description = "The body is JSON of the wrong shape", body = ErrorBody),
        PeerFailure,
    )
)]
pub(super) async fn add_to_cart(
    State(s): State<Arc<super::State>>,
    ApiPath(cart_id): ApiPath<String>,
    ApiJson(item): ApiJson<AddItem>,
) -> ApiResult<(StatusCode, Json<Cart>)> {
    item.validate(&cart_id)?;
    in_stock(&s, item.product_id, item.quantity).await?;
    Ok((
        StatusCode::CREATED,
        Json(s.cart.add(&cart_id, &item).await?),
    ))
}

/// How many recommendations a product page shows.
const RECOMMENDATIONS: i64 = 4;
/// How many ads a page asks for.
const ADS: usize = 2;

#[utoipa::path(
    get,
    path = "/api/products/{id}/recommendations",
    tag = "shop",
    params(("id" = i64, Path, description = "Product id")),
    responses(
        (status = 200, description = "Up to four products to show beside it (the route Black Friday degrades)", body = RecommendedProducts),
        (status = 400, description = "Invalid product id", body = ErrorBody),
        (status = 404, description = "No such product", body = ErrorBody),
        PeerFailure,
    )
)]
pub(super) async fn recommendations(
    State(s): State<Arc<super::State>>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<RecommendedProducts>> {
    ProductId::parse(id)?;
    let found = s.catalog.recommendations(id, RECOMMENDATIONS).await?;
    Ok(Json(RecommendedProducts {
        product_id: id,
        products: found.recommendations,
    }))
}

#[utoipa::path(
    get,
    path = "/api/ads",
    tag = "shop",
    params(("category" = Option<String>, Query, description = "Ads of this category first")),
    responses(
        (status = 200, description = "Ads to show", body = Ads),
        (status = 400, description = "Invalid category", body = ErrorBody),
        PeerFailure,
    )
)]
pub(super) async fn ads(
    State(s): State<Arc<super::State>>,
    ApiQuery(q): ApiQuery<AdsQuery>,
) -> ApiResult<Json<Ads>> {
    let category = q.category.filter(|c| !c.is_empty());
    Ok(Json(s.ads.for_category(category.as_deref(), ADS).await?))
}

#[utoipa::path(
    get,
    path = "/api/currencies",
    tag = "shop",
    responses(
        (status = 200, description = "Display rates per US dollar (prices are charged in USD)", body = Rates),
        (status = 400, description = "Never: the route takes no input", body = ErrorBody),
        PeerFailure,
    )
)]
pub(super) async fn currencies(State(s): State<Arc<super::State>>) -> ApiResult<Json<Rates>> {
    Ok(Json(s.currency.rates().await?))
}

#[utoipa::path(
    put,
    path = "/api/cart/{cart_id}/items/{product_id}",
    tag = "shop",
    params(
        ("cart_id" = String, Path, description = "Any id the shopper chose: 1–64 letters, digits, '-' or '_'"),
        ("product_id" = i64, Path, description = "Product id"),
    ),
    request_body = SetQuantity,
    responses(
        (status = 200, description = "The cart after the change (quantity 0 removes the line)", body = Cart),
        (status = 400, description = "Invalid cart id, product id or quantity", body = ErrorBody),
        (status = 404, description = "No such product", body = ErrorBody),
        (status = 409, description = "Not enough stock, or the cart is full", body = ErrorBody),
        (status = 415, description = "The body is not JSON", body = ErrorBody),
        (status = 422, description = "The body is JSON of the wrong shape", body = ErrorBody),
        PeerFailure,
    )
)]
pub(super) async fn set_cart_quantity(
    State(s): State<Arc<super::State>>,
    ApiPath((cart_id, product_id)): ApiPath<(String, i64)>,
    ApiJson(change): ApiJson<SetQuantity>,
) -> ApiResult<Json<Cart>> {
    change.validate(&cart_id, product_id)?;
    if change.quantity > 0 {
        in_stock(&s, product_id, change.quantity).await?;
    }
    Ok(Json(
        s.cart.set_quantity(&cart_id, product_id, &change).await?,
    ))
}

#[utoipa::path(
    delete,
    path = "/api/cart/{cart_id}/items/{product_id}",
    tag = "shop",
    params(
        ("cart_id" = String, Path, description = "Any id the shopper chose: 1–64 letters, digits, '-' or '_'"),
        ("product_id" = i64, Path, description = "Product id"),
    ),
    responses(
        (status = 200, description = "The cart without the line (removing an absent line is not an error)", body = Cart),
        (status = 400, description = "Invalid cart id or product id", body = ErrorBody),
        PeerFailure,
    )
)]
pub(super) async fn remove_from_cart(
    State(s): State<Arc<super::State>>,
    ApiPath((cart_id, product_id)): ApiPath<(String, i64)>,
) -> ApiResult<Json<Cart>> {
    CartId::parse(&cart_id)?;
    ProductId::parse(product_id)?;
    Ok(Json(s.cart.remove(&cart_id, product_id).await?))
}

#[utoipa::path(
    get,
    path = "/api/orders/{order_id}",
    tag = "shop",
    params(("order_id" = String, Path, description = "The order id a checkout answered")),
    responses(
        (status = 200, description = "The order", body = Order),
        (status = 400, description = "Invalid order id", body = ErrorBody),
        (status = 404, description = "No such order", body = ErrorBody),
        PeerFailure,
    )
)]
pub(super) async fn order(
    State(s): State<Arc<super::State>>,
    ApiPath(order_id): ApiPath<String>,
) -> ApiResult<Json<Order>> {
    Ok(Json(s.checkout.get(&order_id).await?))
}
