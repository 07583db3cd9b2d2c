//! fraud-detection's wire types.

use serde::{Deserialize, Serialize};

/// Scores at or above this flag the order.
pub const FLAG_THRESHOLD: i64 = 50;

/// One order's score and the rules that made it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FraudScore {
    pub event_id: String,
    pub order_id: String,
    pub customer_key: Option<String>,
    /// 0 (nothing suspicious) to 100.
    pub score: i64,
    /// The rules that fired (`large_amount`, `currency_mismatch`, `velocity`).
    pub reasons: Vec<String>,
    pub flagged: bool,
    pub scored_at_ms: i64,
}

/// `GET /flags`: the flagged orders, newest first.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Flags {
    pub flags: Vec<FraudScore>,
    /// Orders scored in all, flagged or not.
    pub scored: i64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct FlagsQuery {
    /// At most this many (1–500, 100 when absent).
    pub limit: Option<i64>,
}
