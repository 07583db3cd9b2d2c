//! What was sent for which order event (its id is the key: a redelivery sends nothing twice).

use telemetry::DbOperation;

use crate::store::{ConstraintKind, SqlDatabase, StoreError};

/// Notifications (migration 4).
pub const CREATE_NOTIFICATIONS: &str = "CREATE TABLE IF NOT EXISTS notifications (
            event_id TEXT PRIMARY KEY,
            order_id TEXT NOT NULL,
            outcome TEXT NOT NULL,
            notification_id TEXT,
            sent_at_ms BIGINT NOT NULL
        )";

#[derive(Clone)]
pub struct Sent {
    sql: SqlDatabase,
}

impl Sent {
    pub fn new(sql: SqlDatabase) -> Self {
        Self { sql }
    }

    pub async fn seen(&self, event_id: &str) -> Result<bool, StoreError> {
        const SQL: &str = "SELECT COUNT(*) FROM notifications WHERE event_id = $1";
        let (n,): (i64,) = self
            .sql
            .run(
                DbOperation::on("SELECT", "notifications", SQL),
                sqlx::query_as(SQL)
                    .bind(event_id.to_owned())
                    .fetch_one(self.sql.pool()),
            )
            .await?;
        Ok(n > 0)
    }

    /// Records what was done for an event (`sent`, `skipped`).
    pub async fn record(
        &self,
        event_id: &str,
        order_id: &str,
        outcome: &str,
        notification_id: Option<&str>,
        at_ms: i64,
    ) -> Result<(), StoreError> {
        const SQL: &str = "INSERT INTO notifications (event_id, order_id, outcome, notification_id, sent_at_ms) \
             VALUES ($1, $2, $3, $4, $5)";
        let done = self
            .sql
            .run(
                DbOperation::on("INSERT", "notifications", SQL),
                sqlx::query(SQL)
                    .bind(event_id.to_owned())
                    .bind(order_id.to_owned())
                    .bind(outcome.to_owned())
                    .bind(notification_id.map(str::to_owned))
                    .bind(at_ms)
                    .execute(self.sql.pool()),
            )
            .await;
        match done {
            Ok(_)
            | Err(StoreError::Constraint {
                kind: ConstraintKind::Unique,
                ..
            }) => Ok(()),
            Err(e) => Err(e),
        }
    }
}
