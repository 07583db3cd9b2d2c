//! currency's wire types.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct Rate {
    pub currency: String,
    /// Units of `currency` for one US dollar.
    pub per_usd: f64,
    /// Digits after the decimal point of the currency (2 for EUR, 0 for JPY).
    pub minor_digits: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct Rates {
    pub base: String,
    pub rates: Vec<Rate>,
    /// When the rates were read, RFC 3339.
    pub as_of: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConvertQuery {
    pub from: String,
    pub to: String,
    /// Minor units of `from`.
    pub amount: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Conversion {
    pub from: String,
    pub to: String,
    /// Minor units of `from`.
    pub amount: i64,
    /// Minor units of `to`, rounded half away from zero.
    pub converted: i64,
    pub rate: f64,
}

/// Converts minor units of one currency into minor units of another.
pub fn convert(rates: &[Rate], from: &str, to: &str, amount: i64) -> Option<(i64, f64)> {
    let f = rates.iter().find(|r| r.currency == from)?;
    let t = rates.iter().find(|r| r.currency == to)?;
    let rate = t.per_usd / f.per_usd;
    let major = amount as f64 / 10f64.powi(f.minor_digits as i32);
    let converted = (major * rate * 10f64.powi(t.minor_digits as i32)).round();
    if !converted.is_finite() || converted.abs() > i64::MAX as f64 / 2.0 {
        return None;
    }
    Some((converted as i64, rate))
}
