//! The ledger: double entry, integer minor units, one set of entries per order event (its id
//! is part of each entry's key, so an event delivered twice is booked once).

use telemetry::DbOperation;

use crate::api::accounting::model::{AccountTotal, LedgerEntry, account};
use crate::api::checkout::events::{ORDER_PLACED, OrderEvent};
use crate::store::{ConstraintKind, SqlDatabase, StoreError};

/// Ledger entries (migration 4).
pub const CREATE_LEDGER_ENTRIES: &str = "CREATE TABLE IF NOT EXISTS ledger_entries (
            event_id TEXT NOT NULL,
            event_type TEXT NOT NULL,
            order_id TEXT NOT NULL,
            account TEXT NOT NULL,
            debit_cents BIGINT NOT NULL CHECK (debit_cents >= 0),
            credit_cents BIGINT NOT NULL CHECK (credit_cents >= 0),
            currency TEXT NOT NULL,
            booked_on TEXT NOT NULL,
            booked_at_ms BIGINT NOT NULL,
            PRIMARY KEY (event_id, account)
        )";
pub const CREATE_LEDGER_ORDER_INDEX: &str =
    "CREATE INDEX IF NOT EXISTS ledger_entries_order_idx ON ledger_entries (order_id)";

/// What booking an event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Booked {
    New,
    /// Its entries were there already: a redelivery.
    AlreadyBooked,
}

/// The entries of an event: (account, debit, credit). An order debits receivables with its
/// total and credits sales and shipping; a cancellation reverses that.
pub fn entries_of(event: &OrderEvent) -> Vec<(&'static str, i64, i64)> {
    let placed = event.event_type == ORDER_PLACED;
    let side = |amount: i64| if placed { (0, amount) } else { (amount, 0) };
    let mut entries = Vec::with_capacity(3);
    let (credit, debit) = side(event.total_cents);
    entries.push((account::RECEIVABLES, debit, credit));
    let (d, c) = side(event.subtotal_cents);
    entries.push((account::SALES, d, c));
    if event.shipping_cents > 0 {
        let (d, c) = side(event.shipping_cents);
        entries.push((account::SHIPPING, d, c));
    }
    entries
}

#[derive(Clone)]
pub struct Ledger {
    sql: SqlDatabase,
}

impl Ledger {
    pub fn new(sql: SqlDatabase) -> Self {
        Self { sql }
    }

    /// Books an event's entries in one transaction, once.
    pub async fn book(&self, event: &OrderEvent, now_ms: i64) -> Result<Booked, StoreError> {
        const SEEN: &str = "SELECT COUNT(*) FROM ledger_entries WHERE event_id = $1";
        let (seen,): (i64,) = self
            .sql
            .run(
                DbOperation::on("SELECT", "ledger_entries", SEEN),
                sqlx::query_as(SEEN)
                    .bind(event.event_id.clone())
                    .fetch_one(self.sql.pool()),
            )
            .await?;
        if seen > 0 {
            return Ok(Booked::AlreadyBooked);
        }
        let booked_on = day_of(now_ms);
        let mut tx = self.sql.begin().await?;
        const INSERT: &str = "INSERT INTO ledger_entries (event_id, event_type, order_id, account, debit_cents, \
             credit_cents, currency, booked_on, booked_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
        for (account, debit, credit) in entries_of(event) {
            let inserted = self
                .sql
                .run(
                    DbOperation::on("INSERT", "ledger_entries", INSERT),
                    sqlx::query(INSERT)
                        .bind(event.event_id.clone())
                        .bind(event.event_type.clone())
                        .bind(event.order_id.clone())
                        .bind(account)
                        .bind(debit)
                        .bind(credit)
                        .bind(event.currency.clone())
                        .bind(booked_on.clone())
                        .bind(now_ms)
                        .execute(&mut *tx),
                )
                .await;
            match inserted {
                Ok(_) => {}
                // Another delivery of the same event got there first.
                Err(StoreError::Constraint {
                    kind: ConstraintKind::Unique,
                    ..
                }) => return Ok(Booked::AlreadyBooked),
                Err(e) => return Err(e),
            }
        }
        match self.sql.commit(tx).await {
            Ok(()) => Ok(Booked::New),
            Err(StoreError::Constraint {
                kind: ConstraintKind::Unique,
                ..
            }) => Ok(Booked::AlreadyBooked),
            Err(e) => Err(e),
        }
    }

    pub async fn of_order(&self, order_id: &str) -> Result<Vec<LedgerEntry>, StoreError> {
        const SQL: &str = "SELECT event_id, event_type, order_id, account, debit_cents, credit_cents, currency, \
             booked_on, booked_at_ms FROM ledger_entries WHERE order_id = $1 ORDER BY booked_at_ms, event_id, account";
        self.sql
            .run(
                DbOperation::on("SELECT", "ledger_entries", SQL),
                sqlx::query_as::<_, LedgerEntry>(SQL)
                    .bind(order_id.to_owned())
                    .fetch_all(self.sql.pool()),
            )
            .await
    }

    /// One day's totals per account and currency, and its orders placed and cancelled.
    pub async fn daily(&self, day: &str) -> Result<(Vec<AccountTotal>, i64, i64), StoreError> {
        const TOTALS: &str = "SELECT account, currency, CAST(SUM(debit_cents) AS BIGINT) AS debit_cents, CAST(SUM(credit_cents) AS BIGINT) AS credit_cents \
             FROM ledger_entries WHERE booked_on = $1 GROUP BY account, currency ORDER BY account, currency";
        let totals = self
            .sql
            .run(
                DbOperation::on("SELECT", "ledger_entries", TOTALS),
                sqlx::query_as::<_, AccountTotal>(TOTALS)
                    .bind(day.to_owned())
                    .fetch_all(self.sql.pool()),
            )
            .await?;
        const EVENTS: &str = "SELECT \
             COUNT(DISTINCT CASE WHEN event_type = 'order.placed' THEN event_id END), \
             COUNT(DISTINCT CASE WHEN event_type = 'order.cancelled' THEN event_id END) \
             FROM ledger_entries WHERE booked_on = $1";
        let (placed, cancelled): (i64, i64) = self
            .sql
            .run(
                DbOperation::on("SELECT", "ledger_entries", EVENTS),
                sqlx::query_as(EVENTS)
                    .bind(day.to_owned())
                    .fetch_one(self.sql.pool()),
            )
            .await?;
        Ok((totals, placed, cancelled))
    }
}

/// The UTC day of a Unix-millisecond time, `YYYY-MM-DD`.
pub fn day_of(ms: i64) -> String {
    let t =
        std::time::UNIX_EPOCH + std::time::Duration::from_millis(u64::try_from(ms).unwrap_or(0));
    humantime::format_rfc3339_seconds(t).to_string()[..10].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::checkout::events::ORDER_CANCELLED;
    use crate::api::checkout::model::OrderItem;

    fn event(kind: &str, shipping: i64) -> OrderEvent {
        OrderEvent {
            event_id: "evt_1".into(),
            event_type: kind.into(),
            occurred_at_ms: 0,
            order_id: "ord_1".into(),
            currency: "USD".into(),
            country: None,
            customer_key: None,
            lines: vec![OrderItem {
                product_id: 1,
                quantity: 3,
                unit_price_cents: 500,
            }],
            subtotal_cents: 1500,
            shipping_cents: shipping,
            total_cents: 1500 + shipping,
        }
    }

    #[test]
    fn every_event_balances_and_a_cancellation_reverses_its_order() {
        for e in [
            event(ORDER_PLACED, 0),
            event(ORDER_PLACED, 499),
            event(ORDER_CANCELLED, 499),
        ] {
            let entries = entries_of(&e);
            let debit: i64 = entries.iter().map(|(_, d, _)| d).sum();
            let credit: i64 = entries.iter().map(|(_, _, c)| c).sum();
            assert_eq!(debit, credit, "{}", e.event_type);
            assert_eq!(debit, e.total_cents);
        }
        let placed = entries_of(&event(ORDER_PLACED, 499));
        let cancelled = entries_of(&event(ORDER_CANCELLED, 499));
        for ((a, d, c), (b, d2, c2)) in placed.iter().zip(&cancelled) {
            assert_eq!((a, d, c), (b, c2, d2));
        }
        assert_eq!(entries_of(&event(ORDER_PLACED, 0)).len(), 2);
    }

    #[test]
    fn days_are_utc_dates() {
        assert_eq!(day_of(0), "1970-01-01");
        assert_eq!(day_of(1_764_633_600_000), "2025-12-02");
    }
}
