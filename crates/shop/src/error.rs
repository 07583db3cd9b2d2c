//! The one error type of every HTTP surface: a typed JSON body for the client, the cause chain
//! in the log (and on the span) for 5xx, never internals in a 500 body.

use axum::extract::FromRequest;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::response::{IntoResponse, Response};
use axum::{Json, extract::FromRequestParts};
use http::StatusCode;
use serde::{Deserialize, Serialize};

use crate::store::StoreError;

/// Every error code the shop answers with, so each documented code is found here once.
pub mod code {
    pub const ALREADY_RESERVED: &str = "already_reserved";
    pub const AMOUNT_MISMATCH: &str = "amount_mismatch";
    pub const ATTEMPT_CANCELLED: &str = "attempt_cancelled";
    pub const ATTEMPT_ORDERED: &str = "attempt_ordered";
    pub const BODY_TOO_LARGE: &str = "body_too_large";
    pub const CARD_DECLINED: &str = "card_declined";
    pub const CARD_EXPIRED: &str = "card_expired";
    pub const CART_EMPTY: &str = "cart_empty";
    pub const CART_FULL: &str = "cart_full";
    pub const CHARGE_NOT_FOUND: &str = "charge_not_found";
    pub const CHECKOUT_OUTCOME_UNKNOWN: &str = "checkout_outcome_unknown";
    pub const DATABASE_UNAVAILABLE: &str = "database_unavailable";
    pub const DEADLINE_EXCEEDED: &str = "deadline_exceeded";
    pub const DUPLICATE_PRODUCT: &str = "duplicate_product";
    pub const IDEMPOTENCY_KEY_REUSED: &str = "idempotency_key_reused";
    pub const INSUFFICIENT_STOCK: &str = "insufficient_stock";
    pub const INTERNAL: &str = "internal";
    pub const INVALID_AMOUNT: &str = "invalid_amount";
    pub const INVALID_CARD: &str = "invalid_card";
    pub const INVALID_CART_ID: &str = "invalid_cart_id";
    pub const INVALID_COUNTRY: &str = "invalid_country";
    pub const INVALID_CURRENCY: &str = "invalid_currency";
    pub const INVALID_DATE: &str = "invalid_date";
    pub const INVALID_EMAIL: &str = "invalid_email";
    pub const INVALID_IDEMPOTENCY_KEY: &str = "invalid_idempotency_key";
    pub const INVALID_IDS: &str = "invalid_ids";
    pub const INVALID_ITEMS: &str = "invalid_items";
    pub const INVALID_JSON: &str = "invalid_json";
    pub const INVALID_LEVEL: &str = "invalid_level";
    pub const INVALID_LIMIT: &str = "invalid_limit";
    pub const INVALID_OFFSET: &str = "invalid_offset";
    pub const INVALID_ORDER: &str = "invalid_order";
    pub const INVALID_ORDER_ID: &str = "invalid_order_id";
    pub const INVALID_OTLP: &str = "invalid_otlp";
    pub const INVALID_PATH: &str = "invalid_path";
    pub const INVALID_PAYMENT: &str = "invalid_payment";
    pub const INVALID_PRICE: &str = "invalid_price";
    pub const INVALID_PRODUCT_ID: &str = "invalid_product_id";
    pub const INVALID_QUANTITY: &str = "invalid_quantity";
    pub const INVALID_QUERY: &str = "invalid_query";
    pub const INVALID_RATE: &str = "invalid_rate";
    pub const INVALID_SHIPPING: &str = "invalid_shipping";
    pub const INVALID_SPEED: &str = "invalid_speed";
    pub const INVALID_STARTED_AT: &str = "invalid_started_at";
    pub const INVALID_TARGET: &str = "invalid_target";
    pub const INVALID_TEXT: &str = "invalid_text";
    pub const INVALID_TRANSACTION: &str = "invalid_transaction";
    pub const INVALID_USERS: &str = "invalid_users";
    pub const INVALID_WEIGHT: &str = "invalid_weight";
    pub const MAIL_RELAY_UNAVAILABLE: &str = "mail_relay_unavailable";
    pub const METHOD_NOT_ALLOWED: &str = "method_not_allowed";
    pub const ORDER_NOT_FOUND: &str = "order_not_found";
    pub const OUT_OF_STOCK: &str = "out_of_stock";
    pub const PAYMENT_MISMATCH: &str = "payment_mismatch";
    pub const PROCESSOR_UNAVAILABLE: &str = "processor_unavailable";
    pub const PRODUCT_NOT_FOUND: &str = "product_not_found";
    pub const PRODUCT_UNAVAILABLE: &str = "product_unavailable";
    pub const RATE_LIMITED: &str = "rate_limited";
    pub const RECOMMENDATIONS_OVERLOADED: &str = "recommendations_overloaded";
    pub const REDIS_UNAVAILABLE: &str = "redis_unavailable";
    pub const ROUTE_NOT_FOUND: &str = "route_not_found";
    pub const SCENARIO_CONTENDED: &str = "scenario_contended";
    pub const SCENARIO_NOT_FOUND: &str = "scenario_not_found";
    pub const SCENARIO_STORE_UNAVAILABLE: &str = "scenario_store_unavailable";
    pub const UNAUTHORIZED: &str = "unauthorized";
    pub const UNKNOWN_CATEGORY: &str = "unknown_category";
    pub const UNKNOWN_PRODUCT: &str = "unknown_product";
    pub const UNKNOWN_PROFILE: &str = "unknown_profile";
    pub const UNSUPPORTED_CURRENCY: &str = "unsupported_currency";
    pub const UNSUPPORTED_MEDIA_TYPE: &str = "unsupported_media_type";
    pub const UPSTREAM_ERROR: &str = "upstream_error";
    pub const UPSTREAM_INVALID: &str = "upstream_invalid";
    pub const UPSTREAM_REJECTED: &str = "upstream_rejected";
    pub const UPSTREAM_UNAVAILABLE: &str = "upstream_unavailable";
}

/// The body of every error answer: `{"error": {"code": "...", "message": "..."}}`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
}

/// How a handler answers when a service it calls fails (see the mapping on [`ApiError`]), for
/// the OpenAPI documents: every path that calls a peer lists these.
#[derive(utoipa::IntoResponses)]
pub enum PeerFailure {
    /// A service it calls failed.
    #[response(status = 502)]
    BadGateway(ErrorBody),
    /// A service it calls is unavailable, or a scenario fails it.
    #[response(status = 503)]
    Unavailable(ErrorBody),
    /// A service it calls did not answer in time.
    #[response(status = 504)]
    Timeout(ErrorBody),
}

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
    source: Option<anyhow::Error>,
    /// The Rust type of `source` as it was given (`exception.type` of the log).
    source_type: &'static str,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.code,
            self.message
        )
    }
}

impl ApiError {
    pub fn new(status: StatusCode, code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            status,
            code: code.into(),
            message: message.into(),
            source: None,
            source_type: "",
        }
    }

    pub fn bad_request(code: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, message)
    }

    pub fn conflict(code: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }

    /// A store or dependency this request needs (`what`) is down: 503, fail fast.
    pub fn unavailable(code: &'static str, what: &str, cause: impl Into<anyhow::Error>) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            code,
            format!("{what} is unavailable; try again shortly"),
        )
        .with_source(cause)
    }

    /// An unexpected failure: 500 with a generic body; the cause goes to the log.
    pub fn internal(cause: impl Into<anyhow::Error>) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            code::INTERNAL,
            "internal error",
        )
        .with_source(cause)
    }

    pub fn with_source<E: Into<anyhow::Error>>(mut self, cause: E) -> Self {
        self.source_type = std::any::type_name::<E>();
        self.source = Some(cause.into());
        self
    }

    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            error: ErrorDetail {
                code: self.code.clone(),
                message: self.message.clone(),
            },
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            match &self.source {
                Some(cause) => {
                    tracing::error!(event.name = "http.request.failed", http.response.status_code = i64::from(self.status.as_u16()), error.type = %self.code, exception.type = self.source_type, exception.message = %format!("{cause:#}"), "{}", self.message)
                }
                None => {
                    tracing::error!(event.name = "http.request.failed", http.response.status_code = i64::from(self.status.as_u16()), error.type = %self.code, "{}", self.message)
                }
            }
        } else {
            tracing::info!(event.name = "http.request.refused", http.response.status_code = i64::from(self.status.as_u16()), error.type = %self.code, "{}", self.message);
        }
        (self.status, Json(self.body())).into_response()
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        let status = r.status();
        let code = match status {
            StatusCode::PAYLOAD_TOO_LARGE => code::BODY_TOO_LARGE,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => code::UNSUPPORTED_MEDIA_TYPE,
            _ => code::INVALID_JSON,
        };
        let status = if status.is_client_error() {
            status
        } else {
            StatusCode::BAD_REQUEST
        };
        ApiError::new(status, code, without_values(&r.body_text()))
    }
}

/// serde's messages quote the value that did not fit (``invalid type: integer `6011…`,
/// expected a string``): for a card number or a CVV sent with the wrong type that would put
/// the secret in the 400/422 body, the log and the exported log records. The field path and
/// what was expected stay; the value is left out.
pub fn without_values(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    loop {
        let found = ["invalid type: ", "invalid value: ", "unknown variant "]
            .iter()
            .filter_map(|m| rest.find(m).map(|at| (at, m.len())))
            .min();
        let Some((at, len)) = found else {
            out.push_str(rest);
            return out;
        };
        out.push_str(&rest[..at + len]);
        let after = &rest[at + len..];
        // The value runs to the last ", expected" (a quoted value may itself contain one).
        let end = after.rfind(", expected").unwrap_or(after.len());
        let value = &after[..end];
        // Keep the kind ("integer", "string", "floating point"), drop the literal.
        let kind = value
            .find(['`', '"'])
            .map_or(value, |q| &value[..q])
            .trim_end();
        if kind.is_empty() {
            out.push_str("(value left out)");
        } else {
            out.push_str(kind);
            out.push_str(" (value left out)");
        }
        rest = &after[end..];
    }
}

#[cfg(test)]
mod tests {
    use super::without_values;

    #[test]
    fn rejected_values_are_left_out_of_messages() {
        let cases = [
            (
                "card.number: invalid type: integer `6011111111111117`, expected a string at line 1 column 40",
                "card.number: invalid type: integer (value left out), expected a string at line 1 column 40",
            ),
            (
                "card: invalid type: string \"6011000990139424\", expected struct Card at line 1 column 30",
                "card: invalid type: string (value left out), expected struct Card at line 1 column 30",
            ),
            (
                "card.cvv: invalid type: integer `737`, expected a string",
                "card.cvv: invalid type: integer (value left out), expected a string",
            ),
            (
                "x: invalid value: floating point `1.5`, expected u32",
                "x: invalid value: floating point (value left out), expected u32",
            ),
            (
                "kind: unknown variant `4242424242424242`, expected one of `a`, `b`",
                "kind: unknown variant (value left out), expected one of `a`, `b`",
            ),
            (
                "missing field `cvv` at line 1 column 2",
                "missing field `cvv` at line 1 column 2",
            ),
            (
                "a: invalid type: string \"x, expected y\", expected u8",
                "a: invalid type: string (value left out), expected u8",
            ),
        ];
        for (message, want) in cases {
            assert_eq!(without_values(message), want);
        }
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        ApiError::bad_request(code::INVALID_PATH, r.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        ApiError::bad_request(code::INVALID_QUERY, r.body_text())
    }
}

/// `Json` whose rejections are [`ApiError`]s.
#[derive(Debug, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

/// `Path` whose rejections are [`ApiError`]s.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

/// `Query` whose rejections are [`ApiError`]s.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

pub type ApiResult<T> = Result<T, ApiError>;

/// A JSON body that may be left out: no body at all is `T::default()`; a body present is
/// held to the same rules as [`ApiJson`] (content type, size, syntax).
#[derive(Debug)]
pub struct OptionalJson<T>(pub T);

impl<S, T> FromRequest<S> for OptionalJson<T>
where
    S: Send + Sync,
    T: serde::de::DeserializeOwned + Default,
{
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        let headers = req.headers();
        let empty = headers.get(http::header::TRANSFER_ENCODING).is_none()
            && headers
                .get(http::header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .is_none_or(|v| v.trim() == "0");
        if empty {
            return Ok(OptionalJson(T::default()));
        }
        let ApiJson(value) = ApiJson::<T>::from_request(req, state).await?;
        Ok(OptionalJson(value))
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable { store, source } => {
                let code = match store {
                    crate::store::REDIS => code::REDIS_UNAVAILABLE,
                    _ => code::DATABASE_UNAVAILABLE,
                };
                ApiError::unavailable(code, store, source)
            }
            StoreError::InvalidText { source } => ApiError::bad_request(
                code::INVALID_TEXT,
                "text in the request contains characters that cannot be stored (such as NUL)",
            )
            .with_source(source),
            other => ApiError::internal(other),
        }
    }
}
