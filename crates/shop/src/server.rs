//! What every service's HTTP surface shares: `/health` and `/ready`, the telemetry layer, the
//! body limit, a JSON 404 and 405, and serving with a bounded graceful drain.

use std::future::Future;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, State};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use http::StatusCode;
use serde_json::json;
use telemetry::ServiceTelemetry;

use crate::error::ApiError;
use crate::error::code;
use crate::service::Readiness;

/// Request bodies larger than this are refused with 413.
pub const MAX_BODY_BYTES: usize = telemetry::http_server::MAX_BODY_BYTES;

/// How long in-flight requests may take to finish after shutdown begins.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone)]
struct Probe {
    service: String,
    readiness: Readiness,
}

async fn health(State(p): State<Probe>) -> impl IntoResponse {
    Json(json!({ "status": "ok", "service": p.service }))
}

async fn ready(State(p): State<Probe>) -> impl IntoResponse {
    match (p.readiness)().await {
        Ok(()) => (
            StatusCode::OK,
            Json(json!({ "status": "ready", "service": p.service })),
        ),
        Err(reason) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "not_ready", "service": p.service, "reason": reason })),
        ),
    }
}

/// Tells the telemetry layer which traffic type a request without one belongs to: `demo` on
/// the service's demo-flow routes, `baseline` (its default) elsewhere.
async fn untagged_traffic(
    State(demo_routes): State<&'static [&'static str]>,
    mut request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let demo = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .is_some_and(|m| demo_routes.contains(&m.as_str()));
    if demo {
        request
            .extensions_mut()
            .insert(telemetry::baggage::UntaggedTraffic("demo"));
    }
    next.run(request).await
}

/// Refuses changes (any method but GET and HEAD) without `Authorization: Bearer <token>`
/// when a control token is configured: the admin APIs of the control plane.
pub async fn changes_need_token(
    State(token): State<Option<std::sync::Arc<str>>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let reads = matches!(*request.method(), http::Method::GET | http::Method::HEAD);
    match token {
        Some(token)
            if !reads
                && !telemetry::http_server::bearer_matches(
                    request.headers().get(http::header::AUTHORIZATION),
                    &token,
                ) =>
        {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                code::UNAUTHORIZED,
                "changes need Authorization: Bearer <control token>",
            )
            .into_response()
        }
        _ => next.run(request).await,
    }
}

async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        code::ROUTE_NOT_FOUND,
        "no such route",
    )
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        code::METHOD_NOT_ALLOWED,
        "this route does not take this method",
    )
}

/// Wraps a service's own routes with the shared layers: its shop routes get the per-request
/// scenario faults and the telemetry layer; the control plane — probes, the scenario control
/// API and the service's own admin routes — is answered without spans, so an APM shows shop
/// traffic only (and `traffic.type` stays on every span).
pub fn app(service: crate::service::Service, ctx: &crate::service::ServiceContext) -> Router {
    let telemetry: ServiceTelemetry = ctx.telemetry.clone();
    let probe = Probe {
        service: telemetry.name().to_owned(),
        readiness: service.readiness,
    };
    let control = Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
        .with_state(probe)
        .merge(crate::scenario::api::router(
            ctx.scenarios.clone(),
            ctx.config.control_token.clone(),
        ))
        .merge(service.control)
        .method_not_allowed_fallback(method_not_allowed);
    let traced = service
        .routes
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            (ctx.name, ctx.config.latency),
            crate::latency::per_request,
        ))
        .layer(axum::middleware::from_fn_with_state(
            ctx.faults.clone(),
            crate::scenario::faults::per_request,
        ))
        .layer(axum::middleware::from_fn_with_state(
            telemetry.clone(),
            telemetry::http_server::trace_http,
        ))
        .layer(axum::middleware::from_fn_with_state(
            (ctx.faults.clone(), telemetry),
            crate::scenario::faults::route_release,
        ))
        .layer(axum::middleware::from_fn_with_state(
            service.demo_routes,
            untagged_traffic,
        ));
    traced
        .merge(control)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
}

/// Serves until `shutdown` resolves, then drains for at most [`DRAIN_TIMEOUT`].
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (drain_tx, drain_rx) = tokio::sync::oneshot::channel::<()>();
    // The peer's address reaches the server span as `client.address` / `network.peer.*`.
    let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
    let server = axum::serve(listener, app).with_graceful_shutdown(async move {
        shutdown.await;
        let _ = drain_tx.send(());
    });
    let mut server = std::pin::pin!(server.into_future());
    tokio::select! {
        result = &mut server => result,
        _ = async {
            let _ = drain_rx.await;
            tokio::time::sleep(DRAIN_TIMEOUT).await;
        } => {
            tracing::warn!(event.name = "server.drain_timeout", "requests still in flight after {DRAIN_TIMEOUT:?}; closing");
            Ok(())
        }
    }
}
