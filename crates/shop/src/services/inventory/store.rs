//! Stock in the products table: reservations take it with `UPDATE … WHERE stock >= n` in one
//! transaction with the reservation rows, releases give it back, restocking refills it.

use telemetry::DbOperation;

use crate::api::inventory::model::{Reservation, ReservationLine};
use crate::store::{ConstraintKind, SqlDatabase, StoreError};

/// Stock held for orders (migration 2).
pub const CREATE_STOCK_RESERVATIONS: &str = "CREATE TABLE IF NOT EXISTS stock_reservations (
            order_id TEXT NOT NULL,
            product_id BIGINT NOT NULL REFERENCES products (id),
            quantity BIGINT NOT NULL CHECK (quantity > 0),
            created_at TEXT NOT NULL,
            PRIMARY KEY (order_id, product_id)
        )";

#[derive(Debug, thiserror::Error)]
pub enum ReserveError {
    #[error("no product with id {0}")]
    UnknownProduct(i64),
    #[error("only {available} left of product {product_id}")]
    Insufficient { product_id: i64, available: i64 },
    #[error("order {0} already holds a reservation")]
    AlreadyReserved(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Clone)]
pub struct InventoryStore {
    sql: SqlDatabase,
}

const TAKE: &str = "UPDATE products SET stock = stock - $1 WHERE id = $2 AND stock >= $1";
const GIVE_BACK: &str = "UPDATE products SET stock = stock + $1 WHERE id = $2";
const STOCK: &str = "SELECT stock FROM products WHERE id = $1";

impl InventoryStore {
    pub fn new(sql: SqlDatabase) -> Self {
        Self { sql }
    }

    pub fn database(&self) -> &SqlDatabase {
        &self.sql
    }

    pub async fn stock(&self, product_id: i64) -> Result<Option<i64>, StoreError> {
        let row: Option<(i64,)> = self
            .sql
            .run(
                DbOperation::on("SELECT", "products", STOCK),
                sqlx::query_as(STOCK)
                    .bind(product_id)
                    .fetch_optional(self.sql.pool()),
            )
            .await?;
        Ok(row.map(|(s,)| s))
    }

    /// Takes every line's stock or none of it.
    pub async fn reserve(
        &self,
        order_id: &str,
        lines: &[ReservationLine],
    ) -> Result<Reservation, ReserveError> {
        let mut tx = self.sql.begin().await?;
        for line in lines {
            let taken = self
                .sql
                .run(
                    DbOperation::on("UPDATE", "products", TAKE),
                    sqlx::query(TAKE)
                        .bind(line.quantity)
                        .bind(line.product_id)
                        .execute(&mut *tx),
                )
                .await?;
            if taken.rows_affected() == 0 {
                let available: Option<(i64,)> = self
                    .sql
                    .run(
                        DbOperation::on("SELECT", "products", STOCK),
                        sqlx::query_as(STOCK)
                            .bind(line.product_id)
                            .fetch_optional(&mut *tx),
                    )
                    .await?;
                // Dropping the transaction rolls back what was taken so far.
                return Err(match available {
                    None => ReserveError::UnknownProduct(line.product_id),
                    Some((available,)) => ReserveError::Insufficient {
                        product_id: line.product_id,
                        available,
                    },
                });
            }
            const RECORD: &str = "INSERT INTO stock_reservations (order_id, product_id, quantity, created_at) VALUES ($1, $2, $3, $4)";
            let created_at =
                humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string();
            self.sql
                .run(
                    DbOperation::on("INSERT", "stock_reservations", RECORD),
                    sqlx::query(RECORD)
                        .bind(order_id.to_owned())
                        .bind(line.product_id)
                        .bind(line.quantity)
                        .bind(created_at)
                        .execute(&mut *tx),
                )
                .await
                .map_err(|e| match e {
                    StoreError::Constraint {
                        kind: ConstraintKind::Unique,
                        ..
                    } => ReserveError::AlreadyReserved(order_id.to_owned()),
                    other => other.into(),
                })?;
        }
        self.sql.commit(tx).await?;
        Ok(Reservation {
            order_id: order_id.to_owned(),
            items: lines.to_vec(),
        })
    }

    /// Gives an order's reserved stock back; releasing twice gives nothing back twice.
    pub async fn release(&self, order_id: &str) -> Result<usize, StoreError> {
        let mut tx = self.sql.begin().await?;
        const HELD: &str =
            "SELECT product_id, quantity FROM stock_reservations WHERE order_id = $1";
        let held: Vec<(i64, i64)> = self
            .sql
            .run(
                DbOperation::on("SELECT", "stock_reservations", HELD),
                sqlx::query_as(HELD)
                    .bind(order_id.to_owned())
                    .fetch_all(&mut *tx),
            )
            .await?;
        for (product_id, quantity) in &held {
            self.sql
                .run(
                    DbOperation::on("UPDATE", "products", GIVE_BACK),
                    sqlx::query(GIVE_BACK)
                        .bind(*quantity)
                        .bind(*product_id)
                        .execute(&mut *tx),
                )
                .await?;
        }
        const FORGET: &str = "DELETE FROM stock_reservations WHERE order_id = $1";
        self.sql
            .run(
                DbOperation::on("DELETE", "stock_reservations", FORGET),
                sqlx::query(FORGET)
                    .bind(order_id.to_owned())
                    .execute(&mut *tx),
            )
            .await?;
        self.sql.commit(tx).await?;
        Ok(held.len())
    }

    /// A delivery: every product below `threshold` gets `amount` more.
    pub async fn restock(&self, threshold: i64, amount: i64) -> Result<u64, StoreError> {
        const SQL: &str = "UPDATE products SET stock = stock + $1 WHERE stock < $2";
        let done = self
            .sql
            .run(
                DbOperation::on("UPDATE", "products", SQL),
                sqlx::query(SQL)
                    .bind(amount)
                    .bind(threshold)
                    .execute(self.sql.pool()),
            )
            .await?;
        Ok(done.rows_affected())
    }
}
