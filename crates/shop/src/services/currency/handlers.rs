use axum::Json;

use super::rates::{now_seconds, rates_at, supported};
use crate::api::currency::model::convert as convert_amount;
use crate::api::currency::model::{Conversion, ConvertQuery, Rates};
use crate::error::code;
use crate::error::{ApiError, ApiQuery, ApiResult};

fn known(code: &str) -> ApiResult<()> {
    if supported().any(|c| c == code) {
        Ok(())
    } else {
        Err(ApiError::bad_request(
            code::UNSUPPORTED_CURRENCY,
            format!(
                "{code:?} is not one of {}",
                supported().collect::<Vec<_>>().join(", ")
            ),
        ))
    }
}

pub(super) async fn rates() -> Json<Rates> {
    Json(Rates {
        base: "USD".to_owned(),
        rates: rates_at(now_seconds()),
        as_of: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
    })
}

pub(super) async fn convert(ApiQuery(q): ApiQuery<ConvertQuery>) -> ApiResult<Json<Conversion>> {
    known(&q.from)?;
    known(&q.to)?;
    if q.amount < 0 || q.amount > 1_000_000_000_000 {
        return Err(ApiError::bad_request(
            code::INVALID_AMOUNT,
            "amount must be 0 to 10^12 minor units",
        ));
    }
    let (converted, rate) = convert_amount(&rates_at(now_seconds()), &q.from, &q.to, q.amount)
        .ok_or_else(|| ApiError::bad_request(code::INVALID_AMOUNT, "amount cannot be converted"))?;
    Ok(Json(Conversion {
        from: q.from,
        to: q.to,
        amount: q.amount,
        converted,
        rate,
    }))
}
