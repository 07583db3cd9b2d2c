//! frontend's wire types: the public API of the shop.

use serde::{Deserialize, Serialize};

use crate::api::ad::model::Ad;
use crate::api::cart::model::Cart;
use crate::api::checkout::model::Order;
use crate::api::payment::model::Card;
use crate::api::product_catalog::model::Product;

#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BrowseRequest {
    #[schema(pattern = "^[A-Za-z0-9_-]{1,64}$", example = "s-demo-1")]
    pub cart_id: Option<String>,
    #[schema(example = "books")]
    pub category: Option<String>,
    #[schema(minimum = 1, maximum = 100, example = 12)]
    pub limit: Option<i64>,
    /// Show prices in this currency too: USD, EUR, GBP, JPY or CAD.
    #[schema(pattern = "^[A-Z]{3}$", example = "EUR")]
    pub currency: Option<String>,
}

/// A price shown in the shopper's currency.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct DisplayPrice {
    pub product_id: i64,
    /// Minor units of the display currency.
    pub amount: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CartSummary {
    pub cart_id: String,
    pub item_count: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BrowsePage {
    pub products: Vec<Product>,
    pub cart: Option<CartSummary>,
    pub ads: Vec<Ad>,
    /// The display currency and each product's price in it (empty when it is USD or the
    /// rates could not be read).
    pub currency: String,
    pub display_prices: Vec<DisplayPrice>,
    /// The parts left out because their service is down (`cart`, `ads`, `rates`): the page
    /// is served without them rather than not at all.
    #[serde(default)]
    pub degraded: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CheckoutRequest {
    /// The cart to check out: it must hold at least one item.
    #[schema(pattern = "^[A-Za-z0-9_-]{1,64}$", example = "s-demo-1")]
    pub cart_id: String,
    #[schema(max_length = 254, example = "ada@shoppers.example")]
    pub email: Option<String>,
    /// Display currency; the shop charges in USD.
    #[schema(pattern = "^[A-Z]{3}$", example = "EUR")]
    pub currency: Option<String>,
    /// Destination, ISO 3166 alpha-2; `US` when absent.
    #[schema(pattern = "^[A-Z]{2}$", example = "DE")]
    pub country: Option<String>,
    pub card: Card,
}

/// The order's amounts in the shopper's currency.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct DisplayTotal {
    pub currency: String,
    pub items: i64,
    pub shipping: i64,
    pub total: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CheckoutResult {
    pub order: Order,
    pub recommendations: Vec<Product>,
    pub transaction_id: String,
    pub display: DisplayTotal,
    pub estimated_delivery_days: u32,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProductsQuery {
    pub q: Option<String>,
    pub category: Option<String>,
    pub min_price_cents: Option<i64>,
    pub max_price_cents: Option<i64>,
    pub limit: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CartView {
    #[serde(flatten)]
    pub cart: Cart,
    pub lines: Vec<CartLine>,
    pub total_cents: i64,
    pub currency: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CartLine {
    pub product: Product,
    pub quantity: i64,
    pub line_total_cents: i64,
}

/// `GET /api/products/{id}/recommendations`: products to show beside one.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RecommendedProducts {
    pub product_id: i64,
    pub products: Vec<crate::api::product_catalog::model::Product>,
}

/// `GET /api/ads?category=`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AdsQuery {
    pub category: Option<String>,
}
