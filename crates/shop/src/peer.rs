//! How a service calls its peers: one typed call, and the mapping of a peer's answer (or of
//! no answer) onto our own error.

use http::StatusCode;
use telemetry::{HttpClient, Upstream};

use crate::error::{ApiError, ErrorBody, code};

/// Turns a peer's error answer into ours: its 4xx keep their status and code (the shopper
/// sees "out of stock", not "bad gateway"), so does 503 (a store is down); other 5xx
/// become 502, an unreachable peer 503 and a slow one 504 — never a 200 that hides the failure.
pub fn upstream_error(upstream: &Upstream, response: &telemetry::ClientResponse) -> ApiError {
    let peer = upstream.service;
    // 4xx keep their meaning for the shopper; 503 says which store is down.
    if response.status.is_client_error() || response.status == StatusCode::SERVICE_UNAVAILABLE {
        return match response.json::<ErrorBody>() {
            Ok(body) => ApiError::new(response.status, body.error.code, body.error.message),
            Err(_) => ApiError::new(
                response.status,
                code::UPSTREAM_REJECTED,
                format!("{peer} answered {}", response.status.as_u16()),
            ),
        };
    }
    ApiError::new(
        StatusCode::BAD_GATEWAY,
        code::UPSTREAM_ERROR,
        format!("{peer} failed with status {}", response.status.as_u16()),
    )
}

/// A call that got no answer at all.
pub fn unreachable(e: telemetry::ClientError) -> ApiError {
    let status = match e {
        telemetry::ClientError::Timeout { .. } => StatusCode::GATEWAY_TIMEOUT,
        _ => StatusCode::SERVICE_UNAVAILABLE,
    };
    let message = e.to_string();
    ApiError::new(status, code::UPSTREAM_UNAVAILABLE, message).with_source(e)
}

/// Percent-encodes a query-string value.
pub fn encode_query(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// One typed call to a peer: 2xx bodies decode into `T` (an empty body decodes as `null`,
/// so `()` works for 204); everything else becomes the matching [`ApiError`].
///
/// [`ApiError`]: crate::error::ApiError
pub async fn call<T, B>(
    http: &HttpClient,
    upstream: &Upstream,
    method: http::Method,
    template: &str,
    path: &str,
    body: Option<&B>,
) -> Result<T, ApiError>
where
    T: serde::de::DeserializeOwned,
    B: serde::Serialize + ?Sized,
{
    let response = http
        .send(upstream, method, template, path, body)
        .await
        .map_err(unreachable)?;
    if !response.status.is_success() {
        return Err(upstream_error(upstream, &response));
    }
    let body: &[u8] = if response.body.is_empty() {
        b"null"
    } else {
        &response.body
    };
    serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            http::StatusCode::BAD_GATEWAY,
            code::UPSTREAM_INVALID,
            format!("{} answered with an unexpected body", upstream.service),
        )
        .with_source(e)
    })
}
