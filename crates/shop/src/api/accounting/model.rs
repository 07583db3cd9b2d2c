//! accounting's wire types: ledger entries in integer minor units, double entry (every
//! event's debits equal its credits).

use serde::{Deserialize, Serialize};

/// The accounts an order event books to.
pub mod account {
    /// What customers owe (and paid by card): debited by an order, credited by its
    /// cancellation.
    pub const RECEIVABLES: &str = "receivables";
    /// Goods sold.
    pub const SALES: &str = "sales";
    /// Shipping charged.
    pub const SHIPPING: &str = "shipping";
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, sqlx::FromRow)]
pub struct LedgerEntry {
    pub event_id: String,
    pub event_type: String,
    pub order_id: String,
    pub account: String,
    pub debit_cents: i64,
    pub credit_cents: i64,
    pub currency: String,
    /// The UTC day it was booked on, `YYYY-MM-DD`.
    pub booked_on: String,
    pub booked_at_ms: i64,
}

/// `GET /ledger?order_id=`: an order's entries.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct OrderLedger {
    pub order_id: String,
    pub entries: Vec<LedgerEntry>,
    pub debit_cents: i64,
    pub credit_cents: i64,
    /// Debits equal credits.
    pub balanced: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, sqlx::FromRow)]
pub struct AccountTotal {
    pub account: String,
    pub currency: String,
    pub debit_cents: i64,
    pub credit_cents: i64,
}

/// `GET /ledger/daily?date=`: one day's totals.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct DailyTotals {
    pub date: String,
    /// Orders booked (one `order.placed` event each).
    pub orders_placed: i64,
    pub orders_cancelled: i64,
    pub accounts: Vec<AccountTotal>,
    pub balanced: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LedgerQuery {
    pub order_id: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct DailyQuery {
    /// `YYYY-MM-DD` (UTC); today when absent.
    pub date: Option<String>,
}
