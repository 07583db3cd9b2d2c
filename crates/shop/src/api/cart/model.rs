//! cart's wire types.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct CartItem {
    pub product_id: i64,
    pub quantity: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Cart {
    pub cart_id: String,
    pub items: Vec<CartItem>,
    /// Sum of quantities.
    pub item_count: i64,
}

impl Cart {
    pub fn new(cart_id: &str, mut items: Vec<CartItem>) -> Self {
        items.sort_by_key(|i| i.product_id);
        Self {
            cart_id: cart_id.to_owned(),
            item_count: items.iter().map(|i| i.quantity).sum(),
            items,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AddItem {
    #[schema(minimum = 1, example = 3)]
    pub product_id: i64,
    #[schema(minimum = 1, maximum = 99, example = 1)]
    pub quantity: i64,
}

impl AddItem {
    /// The cart id and the line, checked the same way wherever an item is added.
    pub fn validate(&self, cart_id: &str) -> crate::error::ApiResult<()> {
        use crate::types::{CartId, ProductId, Quantity};
        CartId::parse(cart_id)?;
        ProductId::parse(self.product_id)?;
        Quantity::parse(self.quantity)?;
        Ok(())
    }
}

/// `PUT /cart/{cart_id}/items/{product_id}`: the line's new quantity; 0 removes it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SetQuantity {
    #[schema(minimum = 0, maximum = 99, example = 2)]
    pub quantity: i64,
}

impl SetQuantity {
    /// The cart id, the product and the quantity (0 to the most a line holds).
    pub fn validate(&self, cart_id: &str, product_id: i64) -> crate::error::ApiResult<()> {
        use crate::types::{CartId, ProductId, Quantity};
        CartId::parse(cart_id)?;
        ProductId::parse(product_id)?;
        if self.quantity != 0 {
            Quantity::parse(self.quantity)?;
        }
        Ok(())
    }
}
