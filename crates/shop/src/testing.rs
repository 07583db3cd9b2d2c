//! Router tests of one service: the service built as the launcher builds it (embedded SQLite
//! in a temporary file, carts in memory, no telemetry export, peers at an address that
//! refuses), wrapped in the shared HTTP layers, and asked with `oneshot` — no port, no other
//! service.

use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use http::{Method, Request};
use serde_json::Value;
use tower::ServiceExt as _;

use crate::config::{Database, ServiceName, ShopConfig};
use crate::scenario::ScenarioStore;
use crate::service::ServiceContext;

/// One bad request and the answer it must get: method, path, JSON body, status, error code.
pub type Case = (Method, &'static str, Option<Value>, u16, &'static str);

/// One service's router, with what it needs to stay alive.
pub struct Routed {
    pub app: Router,
    dir: PathBuf,
    _stop: tokio::sync::watch::Sender<bool>,
}

impl Drop for Routed {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Builds `name` alone.
pub async fn router(name: ServiceName) -> Routed {
    router_with(name, |_| {}).await
}

/// Builds `name` alone, with `configure` applied to its configuration.
pub async fn router_with(name: ServiceName, configure: impl FnOnce(&mut ShopConfig)) -> Routed {
    let dir = std::env::temp_dir().join(format!(
        "tracemart-router-{}",
        uuid::Uuid::new_v4().simple()
    ));
    let mut config = ShopConfig::new(
        Database::Sqlite {
            path: dir.join("shop.db"),
        },
        None,
    );
    // Port 9 (discard) is not listened on: a peer call fails at once.
    for s in ServiceName::ALL {
        config.urls.insert(s, "http://127.0.0.1:9".to_owned());
    }
    config.payment.latency = (std::time::Duration::ZERO, std::time::Duration::ZERO);
    config.payment.decline_rate = 0.0;
    config.latency = crate::config::LatencyModel::None;
    configure(&mut config);
    let settings = telemetry::Settings {
        disabled: true,
        ..telemetry::Settings::default()
    };
    let hub = telemetry::TelemetryHub::new(settings, telemetry::LogFormat::Off)
        .expect("telemetry without export");
    let telemetry = hub.service(name.as_str()).expect("a service's telemetry");
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let ctx = ServiceContext::new(
        name,
        telemetry,
        Arc::new(config),
        stopped,
        ScenarioStore::local(),
        &crate::services::SCHEMA,
        crate::broker::Broker::new(
            None,
            "tracemart",
            &crate::broker::embedded::EmbeddedBroker::new(),
        )
        .expect("the embedded broker"),
    );
    let service = crate::services::build(ctx.clone())
        .await
        .expect("the service builds");
    Routed {
        app: crate::server::app(service, &ctx),
        dir,
        _stop: stop,
    }
}

/// One request through the router: the status and the JSON body (`null` when there is none).
pub async fn ask(app: &Router, method: Method, path: &str, body: Option<&Value>) -> (u16, Value) {
    ask_with(app, Request::builder().method(method).uri(path), body).await
}

/// The same, from a request with headers of its own.
pub async fn ask_with(
    app: &Router,
    mut request: http::request::Builder,
    body: Option<&Value>,
) -> (u16, Value) {
    let body = match body {
        Some(b) => {
            request = request.header("content-type", "application/json");
            Body::from(b.to_string())
        }
        None => Body::empty(),
    };
    let response = app
        .clone()
        .oneshot(request.body(body).expect("a request"))
        .await
        .expect("the router answers");
    let status = response.status().as_u16();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap_or_default();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// Asks `name` every case and fails with every wrong answer at once.
pub async fn check_cases(name: ServiceName, cases: &[Case]) {
    let routed = router(name).await;
    let mut wrong = Vec::new();
    for (method, path, body, status, code) in cases {
        let (got, answer) = ask(&routed.app, method.clone(), path, body.as_ref()).await;
        if got != *status
            || answer["error"]["code"] != *code
            || !answer["error"]["message"].is_string()
        {
            wrong.push(format!(
                "{method} {path}: got {got} {answer}, want {status} {code}"
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{name}: {} of {} cases wrong:\n{}",
        wrong.len(),
        cases.len(),
        wrong.join("\n")
    );
}

/// A test card with a valid expiry.
pub fn card(number: &str) -> Value {
    serde_json::json!({"number": number, "cvv": "123", "exp_month": 12, "exp_year": 2034})
}
