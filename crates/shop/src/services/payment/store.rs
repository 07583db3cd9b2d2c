//! The gateway's charges: one row per charge, found again by its idempotency key, marked
//! refunded, and settled once the shop has confirmed its order or made its refund final.

use telemetry::DbOperation;

use crate::api::payment::model::{ChargeRecord, ChargeStatus};
use crate::store::{ConstraintKind, SqlDatabase, StoreError};

/// Charges (migration 3).
pub const CREATE_PAYMENTS: &str = "CREATE TABLE IF NOT EXISTS payments (
            transaction_id TEXT PRIMARY KEY,
            idempotency_key TEXT UNIQUE,
            amount_cents BIGINT NOT NULL CHECK (amount_cents > 0),
            currency TEXT NOT NULL,
            card_last4 TEXT NOT NULL,
            status TEXT NOT NULL,
            settled BIGINT NOT NULL DEFAULT 0,
            created_at_ms BIGINT NOT NULL,
            refund_reason TEXT
        )";
pub const CREATE_PAYMENTS_UNSETTLED_INDEX: &str =
    "CREATE INDEX IF NOT EXISTS payments_unsettled_idx ON payments (settled, created_at_ms)";

const COLUMNS: &str =
    "transaction_id, amount_cents, currency, status, settled, idempotency_key, created_at_ms";

type Row = (String, i64, String, String, i64, Option<String>, i64);

fn record(
    (transaction_id, amount_cents, currency, status, settled, idempotency_key, created_at_ms): Row,
) -> ChargeRecord {
    ChargeRecord {
        transaction_id,
        amount_cents,
        currency,
        status: if status == ChargeStatus::Refunded.as_str() {
            ChargeStatus::Refunded
        } else {
            ChargeStatus::Charged
        },
        settled: settled != 0,
        idempotency_key,
        created_at_ms,
    }
}

/// A new charge to keep.
pub struct NewCharge<'a> {
    pub transaction_id: &'a str,
    pub idempotency_key: Option<&'a str>,
    pub amount_cents: i64,
    pub currency: &'a str,
    pub card_last4: &'a str,
    pub created_at_ms: i64,
}

/// What a refund found.
#[derive(Debug, PartialEq)]
pub enum RefundOutcome {
    /// Refunded now.
    Refunded(ChargeRecord),
    /// It was refunded before: nothing changes.
    AlreadyRefunded(ChargeRecord),
    /// The amount is not the charge's (refunds are whole).
    AmountMismatch(ChargeRecord),
    NotFound,
}

#[derive(Clone)]
pub struct PaymentStore {
    sql: SqlDatabase,
}

impl PaymentStore {
    pub fn new(sql: SqlDatabase) -> Self {
        Self { sql }
    }

    pub fn database(&self) -> &SqlDatabase {
        &self.sql
    }

    pub async fn get(&self, transaction_id: &str) -> Result<Option<ChargeRecord>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM payments WHERE transaction_id = $1");
        let row: Option<Row> = self
            .sql
            .run(
                DbOperation::on("SELECT", "payments", &sql),
                sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                    .bind(transaction_id.to_owned())
                    .fetch_optional(self.sql.pool()),
            )
            .await?;
        Ok(row.map(record))
    }

    pub async fn by_key(&self, key: &str) -> Result<Option<ChargeRecord>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM payments WHERE idempotency_key = $1");
        let row: Option<Row> = self
            .sql
            .run(
                DbOperation::on("SELECT", "payments", &sql),
                sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                    .bind(key.to_owned())
                    .fetch_optional(self.sql.pool()),
            )
            .await?;
        Ok(row.map(record))
    }

    /// Keeps a charge; `Ok(Some(first))` when its idempotency key already has one.
    pub async fn insert(&self, charge: &NewCharge<'_>) -> Result<Option<ChargeRecord>, StoreError> {
        const INSERT: &str = "INSERT INTO payments (transaction_id, idempotency_key, amount_cents, \
             currency, card_last4, status, settled, created_at_ms) VALUES ($1, $2, $3, $4, $5, 'charged', 0, $6)";
        let inserted = self
            .sql
            .run(
                DbOperation::on("INSERT", "payments", INSERT),
                sqlx::query(INSERT)
                    .bind(charge.transaction_id.to_owned())
                    .bind(charge.idempotency_key.map(str::to_owned))
                    .bind(charge.amount_cents)
                    .bind(charge.currency.to_owned())
                    .bind(charge.card_last4.to_owned())
                    .bind(charge.created_at_ms)
                    .execute(self.sql.pool()),
            )
            .await;
        match (inserted, charge.idempotency_key) {
            (Ok(_), _) => Ok(None),
            (
                Err(StoreError::Constraint {
                    kind: ConstraintKind::Unique,
                    ..
                }),
                Some(key),
            ) => self.by_key(key).await,
            (Err(e), _) => Err(e),
        }
    }

    /// Gives a charge back, once: a second refund changes nothing.
    pub async fn refund(
        &self,
        transaction_id: &str,
        amount_cents: i64,
        reason: &str,
    ) -> Result<RefundOutcome, StoreError> {
        let Some(current) = self.get(transaction_id).await? else {
            return Ok(RefundOutcome::NotFound);
        };
        if current.amount_cents != amount_cents {
            return Ok(RefundOutcome::AmountMismatch(current));
        }
        const REFUND: &str = "UPDATE payments SET status = 'refunded', refund_reason = $1 \
             WHERE transaction_id = $2 AND status = 'charged'";
        let done = self
            .sql
            .run(
                DbOperation::on("UPDATE", "payments", REFUND),
                sqlx::query(REFUND)
                    .bind(reason.to_owned())
                    .bind(transaction_id.to_owned())
                    .execute(self.sql.pool()),
            )
            .await?;
        let after = self.get(transaction_id).await?.unwrap_or(current);
        Ok(if done.rows_affected() == 1 {
            RefundOutcome::Refunded(after)
        } else {
            RefundOutcome::AlreadyRefunded(after)
        })
    }

    /// Charges made before `before_ms` that are not settled, oldest first (at most 200).
    pub async fn unsettled(&self, before_ms: i64) -> Result<Vec<ChargeRecord>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM payments WHERE settled = 0 AND created_at_ms < $1 \
             ORDER BY created_at_ms LIMIT 200"
        );
        let rows: Vec<Row> = self
            .sql
            .run(
                DbOperation::on("SELECT", "payments", &sql),
                sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                    .bind(before_ms)
                    .fetch_all(self.sql.pool()),
            )
            .await?;
        Ok(rows.into_iter().map(record).collect())
    }

    pub async fn settle(&self, transaction_id: &str) -> Result<Option<ChargeRecord>, StoreError> {
        const SETTLE: &str = "UPDATE payments SET settled = 1 WHERE transaction_id = $1";
        self.sql
            .run(
                DbOperation::on("UPDATE", "payments", SETTLE),
                sqlx::query(SETTLE)
                    .bind(transaction_id.to_owned())
                    .execute(self.sql.pool()),
            )
            .await?;
        self.get(transaction_id).await
    }
}
