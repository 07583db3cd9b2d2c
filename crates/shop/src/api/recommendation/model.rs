//! recommendation's wire types.

use serde::{Deserialize, Serialize};

pub use crate::api::product_catalog::model::Product;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RecommendationQuery {
    pub product_id: Option<i64>,
    pub category: Option<String>,
    pub limit: Option<i64>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Strategy {
    /// Products that were bought in the same orders.
    BoughtTogether,
    /// The category's best sellers.
    PopularInCategory,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Recommended {
    pub product_id: Option<i64>,
    pub products: Vec<Product>,
    /// Which strategies filled the list, in order.
    pub strategies: Vec<Strategy>,
}
