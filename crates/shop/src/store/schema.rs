//! Applying the schema (statements that PostgreSQL and SQLite both accept) and the seed.
//! Migrations are numbered and recorded; they and the seed are idempotent, so two services
//! starting at once on one database cannot break each other (PostgreSQL also takes an
//! advisory lock).

use sqlx::AnyPool;

use super::catalog_seed::PRODUCTS;
use crate::config::ServiceName;

/// One numbered step of the schema. Its statements come from the services that own the
/// tables (each service's `store.rs`); the numbering is global, so a database migrated by an
/// older build keeps its history.
pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub statements: &'static [&'static str],
}

/// A table, the service that owns it (the one that creates and writes it), and the services
/// that also touch it, with how.
pub struct Table {
    pub name: &'static str,
    pub owner: ServiceName,
    /// Other services that use it, and why they may.
    pub shared_with: &'static [(ServiceName, &'static str)],
}

/// The shop's relational schema: the tables and their owners, and the migrations that make
/// them. Assembled from the services (`services::SCHEMA`); the store applies it.
pub struct Schema {
    pub tables: &'static [Table],
    pub migrations: &'static [Migration],
}

impl Schema {
    /// The table called `name`.
    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables.iter().find(|t| t.name == name)
    }
}

const SEED_PRODUCT: &str = "INSERT INTO products \
    (id, sku, name, description, category, price_cents, currency, stock, weight_grams) \
    VALUES ($1, $2, $3, $4, $5, $6, 'USD', $7, $8) ON CONFLICT (id) DO NOTHING";

/// Applies every migration not yet recorded, then the seed, in one transaction.
pub(super) async fn migrate(
    pool: &AnyPool,
    postgres: bool,
    schema: &Schema,
) -> Result<(), sqlx::Error> {
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
    for m in schema.migrations {
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
