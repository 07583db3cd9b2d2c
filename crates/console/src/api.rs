//! The console's JSON API (and the page that uses it).

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Response};
use http::StatusCode;
use serde::Deserialize;
use serde_json::json;

use crate::analysis::{self, OperationFilter, TraceFilter};
use crate::receiver::Shared;
use crate::store::{hex, parse_hex};

fn lock(store: &Shared) -> std::sync::MutexGuard<'_, crate::store::Store> {
    store.lock().unwrap_or_else(|e| e.into_inner())
}

#[derive(Debug, Deserialize)]
struct SummaryQuery {
    /// Seconds a trace must have been quiet before a missing parent counts as an orphan.
    settle_s: Option<f64>,
}

async fn summary(State(store): State<Shared>, Query(q): Query<SummaryQuery>) -> Response {
    let settle = (q.settle_s.unwrap_or(15.0).clamp(0.0, 3600.0) * 1e9) as u64;
    Json(analysis::summary(&lock(&store), settle)).into_response()
}

async fn operations(State(store): State<Shared>, Query(f): Query<OperationFilter>) -> Response {
    Json(analysis::operations(&lock(&store), &f)).into_response()
}

async fn traces(State(store): State<Shared>, Query(f): Query<TraceFilter>) -> Response {
    Json(analysis::traces(&lock(&store), &f)).into_response()
}

async fn trace(State(store): State<Shared>, Path(id): Path<String>) -> Response {
    let Some(trace_id) = parse_hex::<16>(&id) else {
        return (StatusCode::BAD_REQUEST, Json(json!({"error": {"code": "invalid_trace_id", "message": "a trace id is 32 hex digits"}}))).into_response();
    };
    let store = lock(&store);
    let Some(t) = store.traces.get(&trace_id) else {
        return (StatusCode::NOT_FOUND, Json(json!({"error": {"code": "trace_not_found", "message": "no such trace in the store"}}))).into_response();
    };
    let mut spans: Vec<_> = t.spans.iter().collect();
    spans.sort_by_key(|s| s.start_ns);
    let spans: Vec<_> = spans
        .iter()
        .map(|s| {
            json!({
                "span_id": hex(&s.span_id),
                "parent_span_id": s.parent.map(|p| hex(&p)),
                "service": &*s.service,
                "name": s.name,
                "kind": match s.kind { 1 => "internal", 2 => "server", 3 => "client", 4 => "producer", 5 => "consumer", _ => "unspecified" },
                "start_unix_ns": s.start_ns,
                "duration_ms": s.duration_ns() as f64 / 1e6,
                "error": s.error,
                "attributes": s.attributes.iter().map(|(k, v)| (k.to_string(), serde_json::Value::String(v.clone()))).collect::<serde_json::Map<_, _>>(),
            })
        })
        .collect();
    let logs: Vec<_> = store
        .logs
        .iter()
        .filter(|l| l.trace_id == Some(trace_id))
        .cloned()
        .collect();
    Json(json!({ "summary": analysis::trace_summary(&trace_id, &t.spans), "spans": spans, "logs": logs })).into_response()
}

async fn stats(State(store): State<Shared>) -> Response {
    Json(lock(&store).counters()).into_response()
}

async fn page() -> Html<&'static str> {
    Html(include_str!("ui/index.html"))
}

pub fn router(store: Shared) -> axum::Router {
    axum::Router::new()
        .route("/", axum::routing::get(page))
        .route("/api/summary", axum::routing::get(summary))
        .route("/api/operations", axum::routing::get(operations))
        .route("/api/traces", axum::routing::get(traces))
        .route("/api/traces/{trace_id}", axum::routing::get(trace))
        .route("/api/stats", axum::routing::get(stats))
        .with_state(store)
}

/// Where the console's pages reach the shop's control APIs (scenarios, load), same origin.
#[derive(Debug, Clone, Default)]
pub struct Targets {
    /// Any service of the shop (its `/scenarios` API).
    pub shop: Option<String>,
    /// The load generator.
    pub load: Option<String>,
    /// Sent as `Authorization: Bearer` to the scenario API.
    pub control_token: Option<String>,
}

#[derive(Clone)]
pub struct Proxy {
    pub targets: std::sync::Arc<std::sync::RwLock<Targets>>,
    pub http: reqwest::Client,
}

async fn forward(
    proxy: &Proxy,
    base: Option<String>,
    path: String,
    method: http::Method,
    query: Option<String>,
    body: axum::body::Bytes,
    token: bool,
) -> Response {
    let Some(base) = base else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"error": {"code": "not_connected", "message": "the console is not connected to a shop (start it with --shop-url / --load-url)"}})),
        )
            .into_response();
    };
    let mut url = format!("{}/{}", base.trim_end_matches('/'), path);
    if let Some(q) = query {
        url.push('?');
        url.push_str(&q);
    }
    let mut request = proxy.http.request(method, &url);
    if !body.is_empty() {
        request = request
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(body);
    }
    if token
        && let Some(t) = proxy
            .targets
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .control_token
            .clone()
    {
        request = request.bearer_auth(t);
    }
    match request.send().await {
        Ok(r) => {
            let status = r.status();
            let bytes = r.bytes().await.unwrap_or_default();
            (status, [(http::header::CONTENT_TYPE, "application/json")], bytes).into_response()
        }
        Err(e) => (
            StatusCode::BAD_GATEWAY,
            Json(json!({"error": {"code": "shop_unreachable", "message": format!("the shop did not answer: {e}")}})),
        )
            .into_response(),
    }
}

/// The shop's routes the pages may reach: the scenario API on any service, the load
/// generator's admin API.
fn allowed(target: &str, rest: &str) -> bool {
    match target {
        "shop" => rest == "scenarios" || rest.starts_with("scenarios/"),
        "load" => matches!(
            rest,
            "status" | "start" | "stop" | "rate" | "users" | "profile"
        ),
        _ => false,
    }
}

async fn proxied(
    State(proxy): State<Proxy>,
    Path((target, rest)): Path<(String, String)>,
    method: http::Method,
    uri: http::Uri,
    body: axum::body::Bytes,
) -> Response {
    if !allowed(&target, &rest) {
        return (StatusCode::NOT_FOUND, Json(json!({"error": {"code": "route_not_found", "message": "not a route the console forwards"}}))).into_response();
    }
    let (base, token) = {
        let t = proxy.targets.read().unwrap_or_else(|e| e.into_inner());
        if target == "shop" {
            (t.shop.clone(), true)
        } else {
            (t.load.clone(), false)
        }
    };
    forward(
        &proxy,
        base,
        rest,
        method,
        uri.query().map(str::to_owned),
        body,
        token,
    )
    .await
}

pub fn proxy_router(proxy: Proxy) -> axum::Router {
    axum::Router::new()
        .route("/api/{target}/{*rest}", axum::routing::any(proxied))
        .with_state(proxy)
}
