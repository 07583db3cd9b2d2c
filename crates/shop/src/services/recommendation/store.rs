//! Recommendations from real SQL over orders: co-purchases first, then the category's best
//! sellers.

use telemetry::DbOperation;

use crate::api::recommendation::model::Product;
use crate::store::{SqlDatabase, StoreError};

#[derive(Clone)]
pub struct RecommendationStore {
    sql: SqlDatabase,
}

impl RecommendationStore {
    pub fn new(sql: SqlDatabase) -> Self {
        Self { sql }
    }

    pub async fn category_of(&self, product_id: i64) -> Result<Option<String>, StoreError> {
        const SQL: &str = "SELECT category FROM products WHERE id = $1";
        let row: Option<(String,)> = self
            .sql
            .run(
                DbOperation::on("SELECT", "products", SQL),
                sqlx::query_as(SQL)
                    .bind(product_id)
                    .fetch_optional(self.sql.pool()),
            )
            .await?;
        Ok(row.map(|(c,)| c))
    }

    /// In-stock products that share orders with `product_id`, most shared first.
    pub async fn bought_together(
        &self,
        product_id: i64,
        limit: i64,
    ) -> Result<Vec<Product>, StoreError> {
        const SQL: &str = "SELECT p.id, p.sku, p.name, p.description, p.category, p.price_cents, p.currency, p.stock, p.weight_grams \
             FROM order_items mine \
             JOIN order_items other ON other.order_id = mine.order_id AND other.product_id <> mine.product_id \
             JOIN products p ON p.id = other.product_id \
             WHERE mine.product_id = $1 AND p.stock > 0 \
             GROUP BY p.id, p.sku, p.name, p.description, p.category, p.price_cents, p.currency, p.stock, p.weight_grams \
             ORDER BY COUNT(*) DESC, p.id LIMIT $2";
        self.sql
            .run(
                DbOperation::on("SELECT", "order_items", SQL),
                sqlx::query_as::<_, Product>(SQL)
                    .bind(product_id)
                    .bind(limit)
                    .fetch_all(self.sql.pool()),
            )
            .await
    }

    /// The category's in-stock best sellers, `exclude` left out.
    pub async fn popular_in_category(
        &self,
        category: &str,
        exclude: i64,
        limit: i64,
    ) -> Result<Vec<Product>, StoreError> {
        const SQL: &str = "SELECT p.id, p.sku, p.name, p.description, p.category, p.price_cents, p.currency, p.stock, p.weight_grams \
             FROM products p LEFT JOIN order_items oi ON oi.product_id = p.id \
             WHERE p.category = $1 AND p.id <> $2 AND p.stock > 0 \
             GROUP BY p.id, p.sku, p.name, p.description, p.category, p.price_cents, p.currency, p.stock, p.weight_grams \
             ORDER BY COALESCE(SUM(oi.quantity), 0) DESC, p.id LIMIT $3";
        self.sql
            .run(
                DbOperation::on("SELECT", "products", SQL),
                sqlx::query_as::<_, Product>(SQL)
                    .bind(category.to_owned())
                    .bind(exclude)
                    .bind(limit)
                    .fetch_all(self.sql.pool()),
            )
            .await
    }
}
