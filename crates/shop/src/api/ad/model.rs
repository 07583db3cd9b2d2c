//! ad's wire types.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct Ad {
    pub id: String,
    pub category: String,
    pub headline: String,
    pub text: String,
    /// Where the ad leads, a path of the shop.
    pub target: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct Ads {
    pub ads: Vec<Ad>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AdsQuery {
    pub category: Option<String>,
    pub limit: Option<usize>,
}
