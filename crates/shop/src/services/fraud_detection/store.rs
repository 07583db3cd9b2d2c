//! Fraud scores, one per order event (its id is the key: a redelivery is scored once).

use telemetry::DbOperation;

use crate::api::fraud_detection::model::FraudScore;
use crate::store::{ConstraintKind, SqlDatabase, StoreError};

/// Scores (migration 4).
pub const CREATE_FRAUD_SCORES: &str = "CREATE TABLE IF NOT EXISTS fraud_scores (
            event_id TEXT PRIMARY KEY,
            order_id TEXT NOT NULL,
            customer_key TEXT,
            score BIGINT NOT NULL CHECK (score >= 0 AND score <= 100),
            reasons TEXT NOT NULL,
            flagged BIGINT NOT NULL,
            scored_at_ms BIGINT NOT NULL
        )";
pub const CREATE_FRAUD_SCORES_CUSTOMER_INDEX: &str = "CREATE INDEX IF NOT EXISTS fraud_scores_customer_idx \
     ON fraud_scores (customer_key, scored_at_ms)";

#[derive(sqlx::FromRow)]
struct Row {
    event_id: String,
    order_id: String,
    customer_key: Option<String>,
    score: i64,
    reasons: String,
    flagged: i64,
    scored_at_ms: i64,
}

impl From<Row> for FraudScore {
    fn from(r: Row) -> Self {
        FraudScore {
            event_id: r.event_id,
            order_id: r.order_id,
            customer_key: r.customer_key,
            score: r.score,
            reasons: r
                .reasons
                .split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            flagged: r.flagged != 0,
            scored_at_ms: r.scored_at_ms,
        }
    }
}

#[derive(Clone)]
pub struct Scores {
    sql: SqlDatabase,
}

impl Scores {
    pub fn new(sql: SqlDatabase) -> Self {
        Self { sql }
    }

    /// The score an event already has (a redelivery), if any.
    pub async fn of_event(&self, event_id: &str) -> Result<Option<FraudScore>, StoreError> {
        const SQL: &str = "SELECT event_id, order_id, customer_key, score, reasons, flagged, scored_at_ms \
             FROM fraud_scores WHERE event_id = $1";
        let row: Option<Row> = self
            .sql
            .run(
                DbOperation::on("SELECT", "fraud_scores", SQL),
                sqlx::query_as(SQL)
                    .bind(event_id.to_owned())
                    .fetch_optional(self.sql.pool()),
            )
            .await?;
        Ok(row.map(FraudScore::from))
    }

    /// Orders by the same customer scored since `since_ms`.
    pub async fn recent_orders(
        &self,
        customer_key: &str,
        since_ms: i64,
    ) -> Result<i64, StoreError> {
        const SQL: &str =
            "SELECT COUNT(*) FROM fraud_scores WHERE customer_key = $1 AND scored_at_ms >= $2";
        let (n,): (i64,) = self
            .sql
            .run(
                DbOperation::on("SELECT", "fraud_scores", SQL),
                sqlx::query_as(SQL)
                    .bind(customer_key.to_owned())
                    .bind(since_ms)
                    .fetch_one(self.sql.pool()),
            )
            .await?;
        Ok(n)
    }

    /// Records a score; `false` when the event was scored already.
    pub async fn record(&self, s: &FraudScore) -> Result<bool, StoreError> {
        const SQL: &str = "INSERT INTO fraud_scores (event_id, order_id, customer_key, score, reasons, flagged, scored_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)";
        let done = self
            .sql
            .run(
                DbOperation::on("INSERT", "fraud_scores", SQL),
                sqlx::query(SQL)
                    .bind(s.event_id.clone())
                    .bind(s.order_id.clone())
                    .bind(s.customer_key.clone())
                    .bind(s.score)
                    .bind(s.reasons.join(","))
                    .bind(i64::from(s.flagged))
                    .bind(s.scored_at_ms)
                    .execute(self.sql.pool()),
            )
            .await;
        match done {
            Ok(_) => Ok(true),
            Err(StoreError::Constraint {
                kind: ConstraintKind::Unique,
                ..
            }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    pub async fn flagged(&self, limit: i64) -> Result<(Vec<FraudScore>, i64), StoreError> {
        const SQL: &str = "SELECT event_id, order_id, customer_key, score, reasons, flagged, scored_at_ms \
             FROM fraud_scores WHERE flagged = 1 ORDER BY scored_at_ms DESC, event_id LIMIT $1";
        let rows: Vec<Row> = self
            .sql
            .run(
                DbOperation::on("SELECT", "fraud_scores", SQL),
                sqlx::query_as(SQL).bind(limit).fetch_all(self.sql.pool()),
            )
            .await?;
        const COUNT: &str = "SELECT COUNT(*) FROM fraud_scores";
        let (scored,): (i64,) = self
            .sql
            .run(
                DbOperation::on("SELECT", "fraud_scores", COUNT),
                sqlx::query_as(COUNT).fetch_one(self.sql.pool()),
            )
            .await?;
        Ok((rows.into_iter().map(FraudScore::from).collect(), scored))
    }

    pub async fn of_order(&self, order_id: &str) -> Result<Option<FraudScore>, StoreError> {
        const SQL: &str = "SELECT event_id, order_id, customer_key, score, reasons, flagged, scored_at_ms \
             FROM fraud_scores WHERE order_id = $1 ORDER BY scored_at_ms LIMIT 1";
        let row: Option<Row> = self
            .sql
            .run(
                DbOperation::on("SELECT", "fraud_scores", SQL),
                sqlx::query_as(SQL)
                    .bind(order_id.to_owned())
                    .fetch_optional(self.sql.pool()),
            )
            .await?;
        Ok(row.map(FraudScore::from))
    }
}
