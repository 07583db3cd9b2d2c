//! Payment's wire types. The card number is kept in a type that never prints it.

use serde::{Deserialize, Serialize};

/// A card number: `Debug` and `Display` show only the last four digits.
#[derive(Clone, Deserialize, Serialize, PartialEq, utoipa::ToSchema)]
#[serde(transparent)]
pub struct CardNumber(String);

impl CardNumber {
    pub fn new(number: impl Into<String>) -> Self {
        Self(number.into())
    }

    /// The digits without spaces or dashes.
    pub fn digits(&self) -> String {
        self.0.chars().filter(|c| !matches!(c, ' ' | '-')).collect()
    }

    pub fn last4(&self) -> String {
        let d = self.digits();
        d[d.len().saturating_sub(4)..].to_owned()
    }
}

impl std::fmt::Debug for CardNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "****{}", self.last4())
    }
}

/// The CVV: never printed at all.
#[derive(Clone, Deserialize, Serialize, PartialEq, utoipa::ToSchema)]
#[serde(transparent)]
pub struct Cvv(String);

impl Cvv {
    pub fn new(cvv: impl Into<String>) -> Self {
        Self(cvv.into())
    }

    pub fn is_valid(&self) -> bool {
        (3..=4).contains(&self.0.len()) && self.0.chars().all(|c| c.is_ascii_digit())
    }
}

impl std::fmt::Debug for Cvv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Card {
    /// 4242424242424242 is approved (apart from the gateway's random declines),
    /// 4000000000000002 always declined; spaces and dashes are allowed.
    #[schema(value_type = String, pattern = "^[0-9 -]{12,23}$", example = "4242424242424242")]
    pub number: CardNumber,
    #[schema(value_type = String, pattern = "^[0-9]{3,4}$", example = "123")]
    pub cvv: Cvv,
    #[schema(minimum = 1, maximum = 12, example = 12)]
    pub exp_month: u32,
    #[schema(example = 2034)]
    pub exp_year: u32,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ChargeRequest {
    pub amount_cents: i64,
    pub currency: String,
    pub card: Card,
    /// One checkout attempt: the same key never charges twice (the first charge is answered
    /// again).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
}

/// A charge as the gateway keeps it: `charged` or `refunded`, and whether the shop has
/// settled it (its order confirmed, or its refund made final).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct ChargeRecord {
    pub transaction_id: String,
    pub amount_cents: i64,
    pub currency: String,
    pub status: ChargeStatus,
    pub settled: bool,
    pub idempotency_key: Option<String>,
    /// Unix milliseconds.
    pub created_at_ms: i64,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ChargeStatus {
    Charged,
    Refunded,
}

impl ChargeStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ChargeStatus::Charged => "charged",
            ChargeStatus::Refunded => "refunded",
        }
    }
}

/// `GET /charges?unsettled_before_ms=…`: charges not settled yet, oldest first.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Unsettled {
    pub charges: Vec<ChargeRecord>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct RefundRequest {
    pub transaction_id: String,
    pub amount_cents: i64,
    pub reason: String,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct Refund {
    pub refund_id: String,
    pub transaction_id: String,
    pub amount_cents: i64,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct Charge {
    pub transaction_id: String,
    pub status: String,
    pub amount_cents: i64,
    pub currency: String,
    pub card_brand: String,
    pub card_last4: String,
}
