//! Products in PostgreSQL or SQLite.

use telemetry::DbOperation;

use crate::api::product_catalog::model::Product;
use crate::store::{SqlDatabase, StoreError};

/// The catalogue (migration 1); inventory keeps its `stock` column.
pub const CREATE_PRODUCTS: &str = "CREATE TABLE IF NOT EXISTS products (
            id BIGINT PRIMARY KEY,
            sku TEXT NOT NULL UNIQUE,
            name TEXT NOT NULL,
            description TEXT NOT NULL,
            category TEXT NOT NULL,
            price_cents BIGINT NOT NULL CHECK (price_cents > 0),
            currency TEXT NOT NULL DEFAULT 'USD',
            stock BIGINT NOT NULL CHECK (stock >= 0),
            weight_grams BIGINT NOT NULL CHECK (weight_grams > 0)
        )";
pub const CREATE_PRODUCTS_CATEGORY_INDEX: &str =
    "CREATE INDEX IF NOT EXISTS products_category_idx ON products (category)";

const COLUMNS: &str =
    "id, sku, name, description, category, price_cents, currency, stock, weight_grams";

/// How a listing reads the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// One query.
    Normal,
    /// The slow-query scenario: the same query joined to a recursive scan of this many rows.
    Expensive { scanned_rows: i64 },
    /// The n-plus-one scenario: the ids first, then one query per product.
    OneQueryPerProduct,
}

/// Validated filters for a product listing.
#[derive(Debug, Default, Clone)]
pub struct Filter {
    pub category: Option<String>,
    pub min_price_cents: Option<i64>,
    pub max_price_cents: Option<i64>,
    pub ids: Vec<i64>,
    pub limit: i64,
    pub offset: i64,
}

#[derive(Clone)]
pub struct ProductStore {
    sql: SqlDatabase,
}

enum Bind {
    Int(i64),
    Text(String),
}

impl ProductStore {
    pub fn new(sql: SqlDatabase) -> Self {
        Self { sql }
    }

    pub fn database(&self) -> &SqlDatabase {
        &self.sql
    }

    pub async fn list(&self, f: &Filter, plan: Plan) -> Result<Vec<Product>, StoreError> {
        let mut clauses = Vec::new();
        let mut binds = Vec::new();
        let next = |b: Bind, binds: &mut Vec<Bind>| {
            binds.push(b);
            format!("${}", binds.len())
        };
        if let Some(c) = &f.category {
            let p = next(Bind::Text(c.clone()), &mut binds);
            clauses.push(format!("category = {p}"));
        }
        if let Some(min) = f.min_price_cents {
            let p = next(Bind::Int(min), &mut binds);
            clauses.push(format!("price_cents >= {p}"));
        }
        if let Some(max) = f.max_price_cents {
            let p = next(Bind::Int(max), &mut binds);
            clauses.push(format!("price_cents <= {p}"));
        }
        if !f.ids.is_empty() {
            let ps: Vec<String> = f
                .ids
                .iter()
                .map(|id| next(Bind::Int(*id), &mut binds))
                .collect();
            clauses.push(format!("id IN ({})", ps.join(", ")));
        }
        let limit = next(Bind::Int(f.limit), &mut binds);
        let offset = next(Bind::Int(f.offset), &mut binds);
        let where_clause = if clauses.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", clauses.join(" AND "))
        };
        let columns = if plan == Plan::OneQueryPerProduct {
            "id"
        } else {
            COLUMNS
        };
        let sql = match plan {
            Plan::Expensive { scanned_rows } => {
                let rows = next(Bind::Int(scanned_rows), &mut binds);
                let scan_filter = if where_clause.is_empty() {
                    " WHERE"
                } else {
                    " AND"
                };
                format!(
                    "WITH RECURSIVE scan(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM scan WHERE n < {rows}) \
                     SELECT {columns} FROM products{where_clause}{scan_filter} (SELECT COUNT(*) FROM scan) > 0 \
                     ORDER BY id LIMIT {limit} OFFSET {offset}"
                )
            }
            _ => format!(
                "SELECT {columns} FROM products{where_clause} ORDER BY id LIMIT {limit} OFFSET {offset}"
            ),
        };
        if plan == Plan::OneQueryPerProduct {
            let mut query = sqlx::query_as::<_, (i64,)>(sqlx::AssertSqlSafe(sql.clone()));
            for b in binds {
                query = match b {
                    Bind::Int(v) => query.bind(v),
                    Bind::Text(v) => query.bind(v),
                };
            }
            let ids = self
                .sql
                .run(
                    DbOperation::on("SELECT", "products", &sql),
                    query.fetch_all(self.sql.pool()),
                )
                .await?;
            let mut products = Vec::with_capacity(ids.len());
            for (id,) in ids {
                products.extend(self.get(id).await?);
            }
            return Ok(products);
        }
        let mut query = sqlx::query_as::<_, Product>(sqlx::AssertSqlSafe(sql.clone()));
        for b in binds {
            query = match b {
                Bind::Int(v) => query.bind(v),
                Bind::Text(v) => query.bind(v),
            };
        }
        self.sql
            .run(
                DbOperation::on("SELECT", "products", &sql),
                query.fetch_all(self.sql.pool()),
            )
            .await
    }

    pub async fn get(&self, id: i64) -> Result<Option<Product>, StoreError> {
        const SQL: &str = "SELECT id, sku, name, description, category, price_cents, currency, stock, weight_grams FROM products WHERE id = $1";
        self.sql
            .run(
                DbOperation::on("SELECT", "products", SQL),
                sqlx::query_as::<_, Product>(SQL)
                    .bind(id)
                    .fetch_optional(self.sql.pool()),
            )
            .await
    }

    /// Case-insensitive match on name and description.
    pub async fn search(&self, text: &str, limit: i64) -> Result<Vec<Product>, StoreError> {
        const SQL: &str = "SELECT id, sku, name, description, category, price_cents, currency, stock, weight_grams FROM products \
             WHERE LOWER(name) LIKE $1 ESCAPE '\\' OR LOWER(description) LIKE $1 ESCAPE '\\' ORDER BY id LIMIT $2";
        let pattern = format!("%{}%", escape_like(&text.to_lowercase()));
        self.sql
            .run(
                DbOperation::on("SELECT", "products", SQL),
                sqlx::query_as::<_, Product>(SQL)
                    .bind(pattern)
                    .bind(limit)
                    .fetch_all(self.sql.pool()),
            )
            .await
    }
}

fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}
