//! The one server layer every service uses: extracts W3C trace context and baggage, opens the
//! SERVER span named `{method} {route}` with the stable HTTP attributes, marks 5xx as errors and
//! records `http.server.request.duration`. A request that carries no `traffic.type` is given
//! one here (see [`UntaggedTraffic`]), so every span of every trace has it.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use opentelemetry::KeyValue;
use tracing::Instrument as _;
use tracing::field::Empty;
use tracing::instrument::WithSubscriber as _;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use crate::ServiceTelemetry;
use crate::baggage::{BASELINE, TRAFFIC_TYPE, UntaggedTraffic, with_traffic_type};

/// The product part of [`crate::http_client::SYNTHETIC_USER_AGENT`].
const SYNTHETIC_PREFIX: &str = "tracemart-load-generator/";

/// Paths answered without a span: probes would drown the traces an APM shows.
const UNTRACED_PATHS: &[&str] = &["/health", "/ready"];

/// Known methods keep their name; anything else is `_OTHER`, as the conventions say.
pub(crate) fn method_name(method: &http::Method) -> &'static str {
    match *method {
        http::Method::GET => "GET",
        http::Method::POST => "POST",
        http::Method::PUT => "PUT",
        http::Method::DELETE => "DELETE",
        http::Method::PATCH => "PATCH",
        http::Method::HEAD => "HEAD",
        http::Method::OPTIONS => "OPTIONS",
        http::Method::TRACE => "TRACE",
        http::Method::CONNECT => "CONNECT",
        _ => "_OTHER",
    }
}

/// `client.address`: the first hop of `X-Forwarded-For` (or `Forwarded: for=`) when a proxy
/// says who the client is, else the socket's peer; and the socket's peer itself, when the
/// server was started with connection info.
fn client_of(request: &Request) -> (Option<String>, Option<std::net::SocketAddr>) {
    let peer = request
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0);
    let header = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|h| h.to_str().ok())
            .map(str::trim)
    };
    let forwarded = header("x-forwarded-for")
        .and_then(|v| v.split(',').next())
        .or_else(|| {
            header("forwarded")?
                .split([';', ','])
                .find_map(|p| p.trim().strip_prefix("for="))
        })
        .map(|v| v.trim().trim_matches('"'))
        .filter(|v| !v.is_empty() && v.len() <= 128)
        .map(str::to_owned);
    (forwarded.or(peer.map(|p| p.ip().to_string())), peer)
}

/// A request extension: the release of the service that serves this request (see
/// [`ServiceTelemetry::release`]). Its spans, logs and server metrics are that release's, under
/// its `service.version`.
#[derive(Clone)]
pub struct ServedBy(pub ServiceTelemetry);

/// axum middleware: `Router::layer(axum::middleware::from_fn_with_state(telemetry, trace_http))`.
pub async fn trace_http(
    State(telemetry): State<ServiceTelemetry>,
    request: Request,
    next: Next,
) -> Response {
    if UNTRACED_PATHS.contains(&request.uri().path()) {
        return next.run(request).await;
    }
    match request.extensions().get::<ServedBy>() {
        Some(ServedBy(release)) => {
            let release = release.clone();
            let dispatch = release.dispatch().clone();
            traced(release, request, next)
                .with_subscriber(dispatch)
                .await
        }
        None => traced(telemetry, request, next).await,
    }
}

async fn traced(telemetry: ServiceTelemetry, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let parent = crate::propagation::extract(telemetry.propagator(), request.headers());
    // Every request gets a traffic type: its caller's, or the one this route gives the untagged.
    let untagged = request
        .extensions()
        .get::<UntaggedTraffic>()
        .map_or(BASELINE, |u| u.0);
    let (parent, traffic_type) = with_traffic_type(parent, untagged);
    let method = method_name(request.method());
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned());
    // An unknown method is named `HTTP`, as the conventions say.
    let named = if method == "_OTHER" { "HTTP" } else { method };
    let name = match &route {
        Some(r) => format!("{named} {r}"),
        None => named.to_owned(),
    };
    let host = request
        .headers()
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    let (server_address, server_port) = match host.rsplit_once(':') {
        Some((h, p)) => (h.to_owned(), p.parse::<u16>().ok()),
        None => (host.to_owned(), None),
    };
    let user_agent = request
        .headers()
        .get(http::header::USER_AGENT)
        .and_then(|h| h.to_str().ok())
        .filter(|ua| !ua.trim().is_empty())
        .map(str::to_owned);
    // An unknown method is `_OTHER` in the name and `http.request.method`; what was sent is
    // kept beside it (bounded: it is the client's text).
    let method_original = (method == "_OTHER").then(|| {
        let m = request.method().as_str();
        m[..m.floor_char_boundary(64)].to_owned()
    });
    let (client_address, peer) = client_of(&request);
    let protocol_version = match request.version() {
        http::Version::HTTP_10 => "1.0",
        http::Version::HTTP_2 => "2",
        _ => "1.1",
    };
    let span = tracing::info_span!(
        "http.server",
        otel.name = %name,
        otel.kind = "server",
        otel.status_code = Empty,
        http.request.method = method,
        http.route = route.as_deref(),
        url.path = request.uri().path(),
        url.query = request.uri().query(),
        url.scheme = "http",
        server.address = %server_address,
        // Integers as i64: tracing-opentelemetry exports unsigned ones through `Debug`, as
        // strings, where the conventions (and a backend's `>= 500` filter) want ints.
        server.port = server_port.map(i64::from),
        network.protocol.version = protocol_version,
        user_agent.original = user_agent.as_deref(),
        user_agent.synthetic.type = user_agent
            .as_deref()
            .is_some_and(|ua| ua.starts_with(SYNTHETIC_PREFIX))
            .then_some("test"),
        http.request.method_original = method_original.as_deref(),
        client.address = client_address.as_deref(),
        network.peer.address = peer.map(|p| p.ip().to_string()),
        network.peer.port = peer.map(|p| i64::from(p.port())),
        http.response.status_code = Empty,
        error.type = Empty,
    );
    // Must happen before the span is first entered.
    let _ = span.set_parent(parent);

    let response = next.run(request).instrument(span.clone()).await;

    let status = response.status();
    span.record("http.response.status_code", i64::from(status.as_u16()));
    let mut attrs = vec![
        KeyValue::new("http.request.method", method),
        KeyValue::new("url.scheme", "http"),
        KeyValue::new("http.response.status_code", i64::from(status.as_u16())),
    ];
    if let Some(r) = route {
        attrs.push(KeyValue::new("http.route", r));
    }
    if status.is_server_error() {
        span.record("otel.status_code", "ERROR");
        span.record("error.type", status.as_str());
        attrs.push(KeyValue::new("error.type", status.as_str().to_owned()));
    }
    attrs.push(KeyValue::new(TRAFFIC_TYPE, traffic_type));
    telemetry
        .http_server_duration()
        .record(started.elapsed().as_secs_f64(), &attrs);
    response
}

/// Request bodies larger than this are refused with 413, by every service and by the
/// console's forwarding.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Tokens are compared over at least this many bytes, so the time taken says nothing about
/// the configured token's length (up to this length).
const TOKEN_COMPARE_BYTES: usize = 256;

/// Whether an `Authorization` header carries `Bearer <token>` (the scheme in any case, as
/// RFC 9110 has it), compared in time that depends neither on where the values differ nor
/// on the configured token's length.
pub fn bearer_matches(authorization: Option<&http::HeaderValue>, token: &str) -> bool {
    let given = authorization
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim_start().as_bytes())
        .unwrap_or_default();
    let want = token.as_bytes();
    let span = TOKEN_COMPARE_BYTES.max(given.len()).max(want.len());
    let mut differ = u8::from(given.len() != want.len() || want.is_empty());
    for i in 0..span {
        let a = given.get(i).copied().unwrap_or(0);
        let b = want.get(i).copied().unwrap_or(0);
        differ |= a ^ b;
    }
    std::hint::black_box(differ) == 0
}

#[cfg(test)]
mod synthetic_tests {
    #[test]
    fn the_load_generator_s_user_agent_is_recognised_as_synthetic() {
        assert!(crate::http_client::SYNTHETIC_USER_AGENT.starts_with(super::SYNTHETIC_PREFIX));
    }
}

#[cfg(test)]
mod auth_tests {
    use super::bearer_matches;
    use http::HeaderValue;

    #[test]
    fn bearer_tokens_match_exactly_with_any_case_of_the_scheme() {
        let h = |v: &'static str| Some(HeaderValue::from_static(v));
        assert!(bearer_matches(h("Bearer s3cret").as_ref(), "s3cret"));
        assert!(bearer_matches(h("bearer s3cret").as_ref(), "s3cret"));
        assert!(bearer_matches(h("BEARER  s3cret").as_ref(), "s3cret"));
        assert!(!bearer_matches(h("Bearer s3cre").as_ref(), "s3cret"));
        assert!(!bearer_matches(h("Bearer s3cret2").as_ref(), "s3cret"));
        assert!(!bearer_matches(h("Basic s3cret").as_ref(), "s3cret"));
        assert!(!bearer_matches(h("s3cret").as_ref(), "s3cret"));
        assert!(!bearer_matches(None, "s3cret"));
        assert!(!bearer_matches(h("Bearer ").as_ref(), ""));
    }
}
