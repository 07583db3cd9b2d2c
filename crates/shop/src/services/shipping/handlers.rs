use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use http::StatusCode;
use rand::Rng as _;

use crate::api::shipping::model::{Quote, QuoteRequest, Shipment, ShipmentRequest};
use crate::error::code;
use crate::error::{ApiError, ApiJson, ApiResult};
use crate::scenario::Scenario;
use crate::types::CountryCode;

/// The shop ships from here; anywhere else is international.
pub const HOME_COUNTRY: &str = "US";
const MAX_WEIGHT_GRAMS: i64 = 500_000;

/// Carrier, cost and delivery time of a parcel.
pub(crate) fn rate(country: &str, weight_grams: i64) -> (&'static str, i64, u32) {
    let half_kilos = (weight_grams + 499) / 500;
    if country == HOME_COUNTRY {
        ("ground", 499 + 75 * half_kilos, 3)
    } else {
        ("international-express", 1999 + 350 * half_kilos, 9)
    }
}

fn validate(country: &str, weight_grams: i64) -> ApiResult<()> {
    CountryCode::parse(country)?;
    if !(1..=MAX_WEIGHT_GRAMS).contains(&weight_grams) {
        return Err(ApiError::bad_request(
            code::INVALID_WEIGHT,
            format!("weight_grams must be 1 to {MAX_WEIGHT_GRAMS}"),
        ));
    }
    Ok(())
}

/// International rating asks more carriers, so it takes longer.
async fn carrier_latency(international: bool) {
    let ms = if international {
        rand::rng().random_range(60..=150)
    } else {
        rand::rng().random_range(5..=25)
    };
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

pub(super) async fn quote(
    State(s): State<Arc<super::State>>,
    ApiJson(req): ApiJson<QuoteRequest>,
) -> ApiResult<Json<Quote>> {
    validate(&req.country, req.weight_grams)?;
    let international = req.country != HOME_COUNTRY;
    carrier_latency(international).await;
    if international && let Some(f) = s.faults.active(Scenario::SlowInternationalShipping) {
        f.mark();
        tokio::time::sleep(Duration::from_millis(500 * u64::from(f.level))).await;
    }
    let (carrier, cost_usd_cents, estimated_days) = rate(&req.country, req.weight_grams);
    let currency = req.currency.unwrap_or_else(|| "USD".to_owned());
    let cost = if currency == "USD" {
        cost_usd_cents
    } else {
        s.currency
            .convert("USD", &currency, cost_usd_cents)
            .await?
            .converted
    };
    Ok(Json(Quote {
        country: req.country,
        international,
        carrier: carrier.to_owned(),
        cost_usd_cents,
        cost,
        currency,
        estimated_days,
    }))
}

pub(super) async fn ship(
    ApiJson(req): ApiJson<ShipmentRequest>,
) -> ApiResult<(StatusCode, Json<Shipment>)> {
    validate(&req.country, req.weight_grams)?;
    if req.order_id.trim().is_empty() {
        return Err(ApiError::bad_request(
            code::INVALID_ORDER,
            "order_id is required",
        ));
    }
    carrier_latency(req.country != HOME_COUNTRY).await;
    let (carrier, _, estimated_days) = rate(&req.country, req.weight_grams);
    Ok((
        StatusCode::CREATED,
        Json(Shipment {
            tracking_id: format!("trk_{}", uuid::Uuid::new_v4().simple()),
            order_id: req.order_id,
            carrier: carrier.to_owned(),
            estimated_days,
        }),
    ))
}

#[cfg(test)]
mod tests {
    use super::rate;

    #[test]
    fn international_is_dearer_and_slower() {
        let (_, home, home_days) = rate("US", 1200);
        let (_, abroad, abroad_days) = rate("DE", 1200);
        assert!(abroad > home && abroad_days > home_days);
        assert!(rate("US", 5000).1 > home, "heavier costs more");
    }
}
