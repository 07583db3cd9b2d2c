//! frontend's wire types: the public API of the shop.

use serde::{Deserialize, Serialize};

use super::super::cart::model::Cart;
use super::super::checkout::model::Order;
use super::super::payment::model::Card;
use super::super::product_catalog::model::Product;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct BrowseRequest {
    pub cart_id: Option<String>,
    pub category: Option<String>,
    pub limit: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CartSummary {
    pub cart_id: String,
    pub item_count: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BrowsePage {
    pub products: Vec<Product>,
    pub cart: Option<CartSummary>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckoutRequest {
    pub cart_id: String,
    pub email: Option<String>,
    pub currency: Option<String>,
    pub card: Card,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckoutResult {
    pub order: Order,
    pub recommendations: Vec<Product>,
    pub transaction_id: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ProductsQuery {
    pub q: Option<String>,
    pub category: Option<String>,
    pub min_price_cents: Option<i64>,
    pub max_price_cents: Option<i64>,
    pub limit: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CartView {
    #[serde(flatten)]
    pub cart: Cart,
    pub lines: Vec<CartLine>,
    pub total_cents: i64,
    pub currency: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CartLine {
    pub product: Product,
    pub quantity: i64,
    pub line_total_cents: i64,
}
