//! Exchange rates that drift slowly: each currency moves a little around its base rate on a
//! period of its own, so a long demo shows realistic, reproducible movement.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::api::currency::model::Rate;
#[cfg(test)]
use crate::api::currency::model::convert;

struct Currency {
    code: &'static str,
    per_usd: f64,
    minor_digits: u32,
    /// Seconds for one full swing.
    period_s: f64,
}

const CURRENCIES: &[Currency] = &[
    Currency {
        code: "USD",
        per_usd: 1.0,
        minor_digits: 2,
        period_s: 1.0,
    },
    Currency {
        code: "EUR",
        per_usd: 0.92,
        minor_digits: 2,
        period_s: 3_600.0,
    },
    Currency {
        code: "GBP",
        per_usd: 0.79,
        minor_digits: 2,
        period_s: 5_400.0,
    },
    Currency {
        code: "JPY",
        per_usd: 151.0,
        minor_digits: 0,
        period_s: 2_700.0,
    },
    Currency {
        code: "CAD",
        per_usd: 1.36,
        minor_digits: 2,
        period_s: 4_500.0,
    },
    Currency {
        code: "AUD",
        per_usd: 1.52,
        minor_digits: 2,
        period_s: 6_300.0,
    },
    Currency {
        code: "CHF",
        per_usd: 0.88,
        minor_digits: 2,
        period_s: 7_200.0,
    },
];

/// The largest relative move away from the base rate.
const DRIFT: f64 = 0.015;

pub fn supported() -> impl Iterator<Item = &'static str> {
    CURRENCIES.iter().map(|c| c.code)
}

/// Rates at `unix_seconds`; the dollar is always 1.
pub fn rates_at(unix_seconds: f64) -> Vec<Rate> {
    CURRENCIES
        .iter()
        .map(|c| {
            let per_usd = if c.code == "USD" {
                1.0
            } else {
                let phase = std::f64::consts::TAU * unix_seconds / c.period_s;
                c.per_usd * (1.0 + DRIFT * phase.sin())
            };
            Rate {
                currency: c.code.to_owned(),
                per_usd,
                minor_digits: c.minor_digits,
            }
        })
        .collect()
}

pub fn now_seconds() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usd_is_fixed_and_others_drift_within_bounds() {
        for t in [0.0, 1_000.0, 77_777.0] {
            let rates = rates_at(t);
            assert_eq!(
                rates
                    .iter()
                    .find(|r| r.currency == "USD")
                    .map(|r| r.per_usd),
                Some(1.0)
            );
            let eur = rates
                .iter()
                .find(|r| r.currency == "EUR")
                .map(|r| r.per_usd)
                .unwrap_or_default();
            assert!((0.92 * 0.98..=0.92 * 1.02).contains(&eur), "{eur}");
        }
        assert_ne!(
            rates_at(0.0)[1].per_usd,
            rates_at(900.0)[1].per_usd,
            "rates move"
        );
    }

    #[test]
    fn conversion_respects_minor_digits() {
        let rates = rates_at(0.0);
        assert_eq!(convert(&rates, "USD", "USD", 1999), Some((1999, 1.0)));
        let (yen, _) = convert(&rates, "USD", "JPY", 1000).expect("known");
        assert_eq!(yen, 1510, "$10.00 is ¥1510 at 151 yen per dollar");
        let (back, _) = convert(&rates, "JPY", "USD", 1510).expect("known");
        assert_eq!(back, 1000);
        assert_eq!(convert(&rates, "USD", "XYZ", 1), None);
    }
}
