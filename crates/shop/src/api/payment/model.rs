//! Payment's wire types. The card number is kept in a type that never prints it.

use serde::{Deserialize, Serialize};

/// A card number: `Debug` and `Display` show only the last four digits.
#[derive(Clone, Deserialize, Serialize, PartialEq)]
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
#[derive(Clone, Deserialize, Serialize, PartialEq)]
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

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct Card {
    pub number: CardNumber,
    pub cvv: Cvv,
    pub exp_month: u32,
    pub exp_year: u32,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ChargeRequest {
    pub amount_cents: i64,
    pub currency: String,
    pub card: Card,
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
