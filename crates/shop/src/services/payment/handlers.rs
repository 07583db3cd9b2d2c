use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use http::StatusCode;
use opentelemetry::KeyValue;
use rand::Rng;

use super::store::{NewCharge, RefundOutcome};
use crate::api::payment::model::{
    Card, Charge, ChargeRecord, ChargeRequest, ChargeStatus, Refund, RefundRequest, Unsettled,
};
use crate::error::code;
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult};
use crate::scenario::Scenario;
use crate::scenario::catalogue::{PAYMENT_FAILURE_ERROR_SHARE, PAYMENT_FAILURES_PER_LEVEL};
use crate::types::{CurrencyCode, IdempotencyKey};

/// The card that is always declined, for tests and demos.
pub const DECLINED_TEST_CARD: &str = "4000000000000002";

/// The largest charge the gateway accepts: $100,000.00.
const MAX_AMOUNT_CENTS: i64 = 10_000_000;

pub(super) async fn charge(
    State(state): State<Arc<super::State>>,
    ApiJson(req): ApiJson<ChargeRequest>,
) -> ApiResult<Json<Charge>> {
    if req.amount_cents <= 0 || req.amount_cents > MAX_AMOUNT_CENTS {
        return Err(ApiError::bad_request(
            code::INVALID_AMOUNT,
            format!("amount_cents must be between 1 and {MAX_AMOUNT_CENTS}"),
        ));
    }
    CurrencyCode::parse(&req.currency)?;
    let brand = validate_card(&req.card, current_year_month())?;
    let last4 = req.card.number.last4();
    if let Some(key) = &req.idempotency_key {
        IdempotencyKey::parse(key)?;
        // The same attempt again: answered with its first charge, never charged twice.
        if let Some(first) = state.charges_kept.by_key(key).await? {
            return answer_again(first, &req, brand, &last4);
        }
    }

    let (min, max) = state.config.latency;
    let (latency, roll) = {
        let mut rng = rand::rng();
        let ms = rng.random_range(min.as_millis()..=max.as_millis().max(min.as_millis()));
        (Duration::from_millis(ms as u64), rng.random::<f64>())
    };
    tokio::time::sleep(latency).await;

    // The payment-failure scenario: 8% of charges per level fail, 40% of them as declines
    // and the rest as a gateway that times out.
    let mut declined =
        req.card.number.digits() == DECLINED_TEST_CARD || roll < state.config.decline_rate;
    if let Some(f) = state.faults.active(Scenario::PaymentFailure)
        && f.roll(PAYMENT_FAILURES_PER_LEVEL * f64::from(f.level))
    {
        f.mark();
        if !f.roll(PAYMENT_FAILURE_ERROR_SHARE) {
            declined = true;
        } else {
            tokio::time::sleep(Duration::from_millis(800)).await;
            state.charges.add(
                1,
                &[
                    KeyValue::new("payment.outcome", "error"),
                    KeyValue::new("currency", req.currency.clone()),
                ],
            );
            return Err(ApiError::new(
                StatusCode::BAD_GATEWAY,
                code::PROCESSOR_UNAVAILABLE,
                "the card processor did not answer",
            ));
        }
    }
    let outcome = if declined { "declined" } else { "approved" };
    let attrs = [
        KeyValue::new("payment.outcome", outcome),
        KeyValue::new("payment.card.brand", brand),
        KeyValue::new("currency", req.currency.clone()),
    ];
    state.charges.add(1, &attrs);
    if declined {
        state.declines.add(1, &attrs);
        tracing::warn!(event.name = "payment.declined", payment.card.last4 = %last4, payment.amount_cents = req.amount_cents, "card declined");
        return Err(ApiError::new(
            StatusCode::PAYMENT_REQUIRED,
            code::CARD_DECLINED,
            "the card was declined",
        ));
    }
    let transaction_id = format!("txn_{}", uuid::Uuid::new_v4().simple());
    let kept = state
        .charges_kept
        .insert(&NewCharge {
            transaction_id: &transaction_id,
            idempotency_key: req.idempotency_key.as_deref(),
            amount_cents: req.amount_cents,
            currency: &req.currency,
            card_last4: &last4,
            created_at_ms: crate::scenario::state::now_ms(),
        })
        .await?;
    if let Some(first) = kept {
        // The same attempt arrived twice at once: the first one's charge stands.
        return answer_again(first, &req, brand, &last4);
    }
    tracing::info!(event.name = "payment.approved", payment.card.last4 = %last4, payment.amount_cents = req.amount_cents, payment.transaction_id = %transaction_id, "charge approved");
    Ok(Json(Charge {
        transaction_id,
        status: "approved".to_owned(),
        amount_cents: req.amount_cents,
        currency: req.currency,
        card_brand: brand.to_owned(),
        card_last4: last4,
    }))
}

/// Gives a charge back, e.g. when the order it paid for could not be placed.
pub(super) async fn refund(
    State(state): State<Arc<super::State>>,
    ApiJson(req): ApiJson<RefundRequest>,
) -> ApiResult<(StatusCode, Json<Refund>)> {
    parse_transaction(&req.transaction_id)?;
    if req.amount_cents <= 0 || req.amount_cents > MAX_AMOUNT_CENTS {
        return Err(ApiError::bad_request(
            code::INVALID_AMOUNT,
            format!("amount_cents must be between 1 and {MAX_AMOUNT_CENTS}"),
        ));
    }
    let (min, _) = state.config.latency;
    tokio::time::sleep(min).await;
    let refund_id = format!("rfd_{}", &req.transaction_id["txn_".len()..]);
    match state
        .charges_kept
        .refund(&req.transaction_id, req.amount_cents, &req.reason)
        .await?
    {
        RefundOutcome::Refunded(_) => {
            state.refunds.add(1, &[]);
            tracing::info!(event.name = "payment.refunded", payment.transaction_id = %req.transaction_id, payment.refund.id = %refund_id, payment.amount_cents = req.amount_cents, payment.refund.reason = %req.reason, "charge refunded");
        }
        RefundOutcome::AlreadyRefunded(_) => {
            tracing::info!(event.name = "payment.refund_repeated", payment.transaction_id = %req.transaction_id, payment.refund.id = %refund_id, "charge already refunded");
        }
        RefundOutcome::AmountMismatch(kept) => {
            return Err(ApiError::conflict(
                code::AMOUNT_MISMATCH,
                format!(
                    "refunds are whole: the charge was {} cents",
                    kept.amount_cents
                ),
            ));
        }
        RefundOutcome::NotFound => return Err(no_charge(&req.transaction_id)),
    }
    Ok((
        StatusCode::CREATED,
        Json(Refund {
            refund_id,
            transaction_id: req.transaction_id,
            amount_cents: req.amount_cents,
        }),
    ))
}

/// A charge answered again for its idempotency key: the same amount is the same attempt.
fn answer_again(
    first: ChargeRecord,
    req: &ChargeRequest,
    brand: &str,
    last4: &str,
) -> ApiResult<Json<Charge>> {
    if first.amount_cents != req.amount_cents || first.currency != req.currency {
        return Err(ApiError::conflict(
            code::IDEMPOTENCY_KEY_REUSED,
            "this idempotency key belongs to a charge of another amount",
        ));
    }
    tracing::info!(event.name = "payment.charge_replayed", payment.transaction_id = %first.transaction_id, "charge answered again for its idempotency key");
    Ok(Json(Charge {
        transaction_id: first.transaction_id,
        status: match first.status {
            ChargeStatus::Charged => "approved".to_owned(),
            ChargeStatus::Refunded => "refunded".to_owned(),
        },
        amount_cents: first.amount_cents,
        currency: first.currency,
        card_brand: brand.to_owned(),
        card_last4: last4.to_owned(),
    }))
}

fn parse_transaction(transaction_id: &str) -> ApiResult<()> {
    let well_formed = transaction_id.starts_with("txn_")
        && transaction_id.len() <= 64
        && transaction_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_');
    if well_formed {
        Ok(())
    } else {
        Err(ApiError::bad_request(
            code::INVALID_TRANSACTION,
            "transaction_id is not a transaction of this gateway",
        ))
    }
}

fn no_charge(transaction_id: &str) -> ApiError {
    ApiError::not_found(
        code::CHARGE_NOT_FOUND,
        format!("no charge {transaction_id}"),
    )
}

/// The gateway's record of one charge.
pub(super) async fn record(
    State(state): State<Arc<super::State>>,
    ApiPath(transaction_id): ApiPath<String>,
) -> ApiResult<Json<ChargeRecord>> {
    parse_transaction(&transaction_id)?;
    let kept = state.charges_kept.get(&transaction_id).await?;
    kept.map(Json).ok_or_else(|| no_charge(&transaction_id))
}

#[derive(Debug, serde::Deserialize)]
pub(super) struct UnsettledQuery {
    unsettled_before_ms: i64,
}

/// Charges not settled yet, made before a time: what a reconciliation looks at.
pub(super) async fn unsettled(
    State(state): State<Arc<super::State>>,
    ApiQuery(q): ApiQuery<UnsettledQuery>,
) -> ApiResult<Json<Unsettled>> {
    Ok(Json(Unsettled {
        charges: state.charges_kept.unsettled(q.unsettled_before_ms).await?,
    }))
}

/// Marks a charge settled.
pub(super) async fn settle(
    State(state): State<Arc<super::State>>,
    ApiPath(transaction_id): ApiPath<String>,
) -> ApiResult<Json<ChargeRecord>> {
    parse_transaction(&transaction_id)?;
    let kept = state.charges_kept.settle(&transaction_id).await?;
    kept.map(Json).ok_or_else(|| no_charge(&transaction_id))
}

fn current_year_month() -> (u32, u32) {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let formatted =
        humantime::format_rfc3339_seconds(std::time::UNIX_EPOCH + Duration::from_secs(secs))
            .to_string();
    let year = formatted[0..4].parse().unwrap_or(2026);
    let month = formatted[5..7].parse().unwrap_or(1);
    (year, month)
}

/// Checks number (length, digits, Luhn), CVV and expiry; returns the brand.
pub(crate) fn validate_card(
    card: &Card,
    (year, month): (u32, u32),
) -> Result<&'static str, ApiError> {
    let digits = card.number.digits();
    if !(12..=19).contains(&digits.len()) || !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err(ApiError::bad_request(
            code::INVALID_CARD,
            "card number must be 12 to 19 digits",
        ));
    }
    if !luhn_valid(&digits) {
        return Err(ApiError::bad_request(
            code::INVALID_CARD,
            "card number fails the Luhn check",
        ));
    }
    if !card.cvv.is_valid() {
        return Err(ApiError::bad_request(
            code::INVALID_CARD,
            "cvv must be 3 or 4 digits",
        ));
    }
    if !(1..=12).contains(&card.exp_month) {
        return Err(ApiError::bad_request(
            code::INVALID_CARD,
            "exp_month must be 1 to 12",
        ));
    }
    if (card.exp_year, card.exp_month) < (year, month) {
        return Err(ApiError::bad_request(
            code::CARD_EXPIRED,
            "the card has expired",
        ));
    }
    Ok(match digits.as_bytes()[0] {
        b'4' => "visa",
        b'5' | b'2' => "mastercard",
        b'3' => "amex",
        _ => "other",
    })
}

pub(crate) fn luhn_valid(digits: &str) -> bool {
    let mut sum = 0;
    for (i, c) in digits.chars().rev().enumerate() {
        let Some(mut d) = c.to_digit(10) else {
            return false;
        };
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    sum % 10 == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::payment::model::{CardNumber, Cvv};

    fn card(number: &str) -> Card {
        Card {
            number: CardNumber::new(number),
            cvv: Cvv::new("123"),
            exp_month: 12,
            exp_year: 2030,
        }
    }

    #[test]
    fn luhn_accepts_test_cards_and_rejects_typos() {
        assert!(luhn_valid("4242424242424242"));
        assert!(luhn_valid("4000000000000002"));
        assert!(luhn_valid("5555555555554444"));
        assert!(!luhn_valid("4242424242424241"));
    }

    #[test]
    fn cards_are_validated() {
        let now = (2026, 11);
        assert_eq!(
            validate_card(&card("4242 4242 4242 4242"), now).ok(),
            Some("visa")
        );
        assert_eq!(
            validate_card(&card("4242424242424241"), now)
                .map_err(|e| e.code)
                .err()
                .as_deref(),
            Some("invalid_card")
        );
        assert!(validate_card(&card("42424242abcd4242"), now).is_err());
        let mut expired = card("4242424242424242");
        expired.exp_year = 2026;
        expired.exp_month = 10;
        assert_eq!(
            validate_card(&expired, now)
                .map_err(|e| e.code)
                .err()
                .as_deref(),
            Some("card_expired")
        );
        let mut bad_cvv = card("4242424242424242");
        bad_cvv.cvv = Cvv::new("12a");
        assert!(validate_card(&bad_cvv, now).is_err());
    }

    #[test]
    fn card_details_never_print() {
        let c = card("4242424242424242");
        let printed = format!("{c:?}");
        assert!(printed.contains("****4242"), "{printed}");
        assert!(!printed.contains("424242424242"), "{printed}");
        assert!(!printed.contains("123"), "{printed}");
    }
}
