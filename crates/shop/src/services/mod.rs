//! The services. Every one has the same shape: `mod.rs` builds its state and router,
//! `handlers.rs` answers requests, `model.rs` holds its wire types, `client.rs` is how other
//! services call it, and `store.rs` (where it has one) is its data.

pub mod ad;
pub mod cart;
pub mod checkout;
pub mod currency;
pub mod frontend;
pub mod inventory;
pub mod load_generator;
pub mod notification;
pub mod payment;
pub mod product_catalog;
pub mod recommendation;
pub mod shipping;

use std::sync::Arc;

use axum::Router;
use futures::future::BoxFuture;
use telemetry::{HttpClient, ServiceTelemetry, Upstream};
use tokio::sync::watch;

use crate::config::{ServiceName, ShopConfig};
use crate::scenario::{Faults, ScenarioStore};
use crate::server::Readiness;

/// What a service is built from.
#[derive(Clone)]
pub struct ServiceContext {
    pub name: ServiceName,
    pub telemetry: ServiceTelemetry,
    pub config: Arc<ShopConfig>,
    pub http: HttpClient,
    /// Turns `true` when the process shuts down.
    pub shutdown: watch::Receiver<bool>,
    /// The live scenario state, shared with every service (and replica, through Redis).
    pub scenarios: ScenarioStore,
    /// What the scenarios break in this service, now.
    pub faults: Faults,
}

impl ServiceContext {
    pub fn new(
        name: ServiceName,
        telemetry: ServiceTelemetry,
        config: Arc<ShopConfig>,
        shutdown: watch::Receiver<bool>,
        scenarios: ScenarioStore,
    ) -> Self {
        let http = HttpClient::new(telemetry.clone(), config.request_timeout);
        let faults = Faults::new(name, &scenarios);
        Self {
            name,
            telemetry,
            config,
            http,
            shutdown,
            scenarios,
            faults,
        }
    }

    /// How this service reaches another one.
    pub fn upstream(&self, service: ServiceName) -> Upstream {
        Upstream::new(service.as_str(), self.config.url(service))
    }
}

/// A built service: its routes, its readiness check, and tasks to run beside the server.
pub struct Service {
    /// The shop routes: traced, and subject to scenario faults.
    pub routes: Router,
    /// Admin routes of the control plane: answered without spans.
    pub control: Router,
    pub readiness: Readiness,
    pub background: Vec<BoxFuture<'static, ()>>,
    /// Routes of the demo flow: a request that reaches one without a `traffic.type` is `demo`
    /// traffic (any other untagged request is `baseline`).
    pub demo_routes: &'static [&'static str],
}

impl Service {
    /// A service whose store is `sql`: ready when the database answers with its schema in
    /// place; the schema is prepared in the background as soon as the database answers.
    pub fn on_database(
        routes: Router,
        sql: &crate::store::SqlDatabase,
        shutdown: watch::Receiver<bool>,
    ) -> Self {
        let (readiness, prepare) = sql.service_parts(shutdown);
        Self {
            routes,
            control: Router::new(),
            readiness,
            background: vec![prepare],
            demo_routes: &[],
        }
    }

    /// Names the routes of the demo flow (see [`Service::demo_routes`]).
    pub fn with_demo_routes(mut self, routes: &'static [&'static str]) -> Self {
        self.demo_routes = routes;
        self
    }

    /// One more task to run beside the server.
    pub fn with_background(
        mut self,
        task: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Self {
        self.background.push(Box::pin(task));
        self
    }

    /// A service with no store: always ready, nothing in the background.
    pub fn without_store(routes: Router) -> Self {
        Self {
            routes,
            control: Router::new(),
            readiness: crate::server::always_ready(),
            background: Vec::new(),
            demo_routes: &[],
        }
    }
}

/// Builds the named service.
pub async fn build(ctx: ServiceContext) -> anyhow::Result<Service> {
    match ctx.name {
        ServiceName::LoadGenerator => load_generator::build(ctx).await,
        ServiceName::Frontend => frontend::build(ctx).await,
        ServiceName::Cart => cart::build(ctx).await,
        ServiceName::ProductCatalog => product_catalog::build(ctx).await,
        ServiceName::Checkout => checkout::build(ctx).await,
        ServiceName::Payment => payment::build(ctx).await,
        ServiceName::Currency => currency::build(ctx).await,
        ServiceName::Shipping => shipping::build(ctx).await,
        ServiceName::Ad => ad::build(ctx).await,
        ServiceName::Recommendation => recommendation::build(ctx).await,
        ServiceName::Inventory => inventory::build(ctx).await,
        ServiceName::Notification => notification::build(ctx).await,
    }
}

/// Turns a peer's error answer into ours: its 4xx keep their status and code (the shopper
/// sees "out of stock", not "bad gateway"), so does 503 (a store is down); other 5xx
/// become 502, an unreachable peer 503 and a slow one 504 — never a 200 that hides the failure.
pub(crate) fn upstream_error(
    upstream: &Upstream,
    response: &telemetry::ClientResponse,
) -> crate::error::ApiError {
    use crate::error::{ApiError, ErrorBody};
    use http::StatusCode;
    let peer = upstream.service;
    // 4xx keep their meaning for the shopper; 503 says which store is down.
    if response.status.is_client_error() || response.status == StatusCode::SERVICE_UNAVAILABLE {
        return match response.json::<ErrorBody>() {
            Ok(body) => ApiError::new(response.status, body.error.code, body.error.message),
            Err(_) => ApiError::new(
                response.status,
                "upstream_rejected",
                format!("{peer} answered {}", response.status.as_u16()),
            ),
        };
    }
    ApiError::new(
        StatusCode::BAD_GATEWAY,
        "upstream_error",
        format!("{peer} failed with status {}", response.status.as_u16()),
    )
}

/// A call that got no answer at all.
pub(crate) fn unreachable(e: telemetry::ClientError) -> crate::error::ApiError {
    use crate::error::ApiError;
    use http::StatusCode;
    let status = match e {
        telemetry::ClientError::Timeout { .. } => StatusCode::GATEWAY_TIMEOUT,
        _ => StatusCode::SERVICE_UNAVAILABLE,
    };
    let message = e.to_string();
    ApiError::new(status, "upstream_unavailable", message).with_source(e)
}

/// Percent-encodes a query-string value.
pub(crate) fn encode_query(v: &str) -> String {
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
pub(crate) async fn call<T, B>(
    http: &HttpClient,
    upstream: &Upstream,
    method: http::Method,
    template: &str,
    path: &str,
    body: Option<&B>,
) -> Result<T, crate::error::ApiError>
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
        crate::error::ApiError::new(
            http::StatusCode::BAD_GATEWAY,
            "upstream_invalid",
            format!("{} answered with an unexpected body", upstream.service),
        )
        .with_source(e)
    })
}
