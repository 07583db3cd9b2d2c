//! The one schema, as statements that PostgreSQL and SQLite both accept, and the seed.
//! Migrations are numbered and recorded; they and the seed are idempotent, so two services
//! starting at once on one database cannot break each other (PostgreSQL also takes an
//! advisory lock).

use sqlx::AnyPool;

use super::catalog_seed::PRODUCTS;

struct Migration {
    version: i64,
    name: &'static str,
    statements: &'static [&'static str],
}

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "products, orders, order items",
        statements: &[
            "CREATE TABLE IF NOT EXISTS products (
            id BIGINT PRIMARY KEY,
            sku TEXT NOT NULL UNIQUE,
            name TEXT NOT NULL,
            description TEXT NOT NULL,
            category TEXT NOT NULL,
            price_cents BIGINT NOT NULL CHECK (price_cents > 0),
            currency TEXT NOT NULL DEFAULT 'USD',
            stock BIGINT NOT NULL CHECK (stock >= 0),
            weight_grams BIGINT NOT NULL CHECK (weight_grams > 0)
        )",
            "CREATE INDEX IF NOT EXISTS products_category_idx ON products (category)",
            "CREATE TABLE IF NOT EXISTS orders (
            id TEXT PRIMARY KEY,
            status TEXT NOT NULL,
            customer_email TEXT,
            session_id TEXT,
            currency TEXT NOT NULL,
            total_cents BIGINT NOT NULL CHECK (total_cents >= 0),
            item_count BIGINT NOT NULL CHECK (item_count > 0),
            payment_transaction_id TEXT NOT NULL,
            card_last4 TEXT,
            created_at TEXT NOT NULL
        )",
            "CREATE TABLE IF NOT EXISTS order_items (
            order_id TEXT NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
            product_id BIGINT NOT NULL REFERENCES products (id),
            quantity BIGINT NOT NULL CHECK (quantity > 0),
            unit_price_cents BIGINT NOT NULL CHECK (unit_price_cents > 0),
            PRIMARY KEY (order_id, product_id)
        )",
            "CREATE INDEX IF NOT EXISTS order_items_product_idx ON order_items (product_id)",
        ],
    },
    Migration {
        version: 2,
        name: "stock reservations, shipping on orders",
        statements: &[
            "CREATE TABLE IF NOT EXISTS stock_reservations (
            order_id TEXT NOT NULL,
            product_id BIGINT NOT NULL REFERENCES products (id),
            quantity BIGINT NOT NULL CHECK (quantity > 0),
            created_at TEXT NOT NULL,
            PRIMARY KEY (order_id, product_id)
        )",
            "ALTER TABLE orders ADD COLUMN shipping_cents BIGINT NOT NULL DEFAULT 0",
            "ALTER TABLE orders ADD COLUMN shipping_country TEXT",
        ],
    },
];

const SEED_PRODUCT: &str = "INSERT INTO products \
    (id, sku, name, description, category, price_cents, currency, stock, weight_grams) \
    VALUES ($1, $2, $3, $4, $5, $6, 'USD', $7, $8) ON CONFLICT (id) DO NOTHING";

/// Applies every migration not yet recorded, then the seed, in one transaction.
pub(super) async fn migrate(pool: &AnyPool, postgres: bool) -> Result<(), sqlx::Error> {
    let mut tx = if postgres {
        pool.begin().await?
    } else {
        pool.begin_with("BEGIN IMMEDIATE").await?
    };
    if postgres {
        sqlx::query("SELECT pg_advisory_xact_lock(7240011)")
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version BIGINT PRIMARY KEY,
            name TEXT NOT NULL
        )",
    )
    .execute(&mut *tx)
    .await?;
    let applied: Vec<(i64,)> = sqlx::query_as("SELECT version FROM schema_migrations")
        .fetch_all(&mut *tx)
        .await?;
    for m in MIGRATIONS {
        if applied.iter().any(|(v,)| *v == m.version) {
            continue;
        }
        for statement in m.statements {
            sqlx::query(*statement).execute(&mut *tx).await?;
        }
        sqlx::query("INSERT INTO schema_migrations (version, name) VALUES ($1, $2) ON CONFLICT (version) DO NOTHING")
            .bind(m.version)
            .bind(m.name)
            .execute(&mut *tx)
            .await?;
    }
    for p in PRODUCTS {
        sqlx::query(SEED_PRODUCT)
            .bind(p.id)
            .bind(p.sku)
            .bind(p.name)
            .bind(p.description)
            .bind(p.category)
            .bind(p.price_cents)
            .bind(p.stock)
            .bind(p.weight_grams)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await
}
