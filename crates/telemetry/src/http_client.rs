//! The one HTTP client every service calls its peers with: a CLIENT span per call with the
//! stable HTTP attributes, trace context and baggage injected, errors (4xx, 5xx, connection
//! failures, timeouts) marked on the span, and `http.client.request.duration` recorded.

use std::time::{Duration, Instant};

use opentelemetry::KeyValue;
use serde::Serialize;
use tracing::Instrument as _;
use tracing::field::Empty;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use crate::ServiceTelemetry;
use crate::baggage::{TRAFFIC_TYPE, baggage_value};
use crate::http_server::method_name;

/// A peer service: its name (for `peer.service`) and base URL.
#[derive(Debug, Clone)]
pub struct Upstream {
    pub service: &'static str,
    pub base_url: String,
    address: String,
    port: u16,
}

impl Upstream {
    pub fn new(service: &'static str, base_url: impl Into<String>) -> Self {
        let base_url = base_url.into().trim_end_matches('/').to_owned();
        let (address, port) = reqwest::Url::parse(&base_url)
            .map(|u| {
                (
                    u.host_str().unwrap_or_default().to_owned(),
                    u.port_or_known_default().unwrap_or(80),
                )
            })
            .unwrap_or_default();
        Self {
            service,
            base_url,
            address,
            port,
        }
    }
}

/// A peer's answer, whatever its status.
#[derive(Debug)]
pub struct ClientResponse {
    pub status: http::StatusCode,
    pub body: Vec<u8>,
}

impl ClientResponse {
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_slice(&self.body)
    }
}

/// A call that got no HTTP answer.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("{service} did not answer within the timeout")]
    Timeout { service: &'static str },
    #[error("{service} is unreachable")]
    Unreachable {
        service: &'static str,
        #[source]
        source: reqwest::Error,
    },
    #[error("request to {service} failed")]
    Other {
        service: &'static str,
        #[source]
        source: reqwest::Error,
    },
}

impl ClientError {
    fn error_type(&self) -> &'static str {
        match self {
            ClientError::Timeout { .. } => "timeout",
            ClientError::Unreachable { .. } => "connection_error",
            ClientError::Other { .. } => "request_error",
        }
    }
}

/// The `User-Agent` of synthetic shoppers (the load generator): a server span whose request
/// carries it gets `user_agent.synthetic.type = test`, so a backend can tell them from people.
pub const SYNTHETIC_USER_AGENT: &str =
    concat!("tracemart-load-generator/", env!("CARGO_PKG_VERSION"));

#[derive(Clone)]
pub struct HttpClient {
    http: reqwest::Client,
    telemetry: ServiceTelemetry,
    /// Requests are a synthetic shopper's: [`SYNTHETIC_USER_AGENT`], and the CLIENT span says so.
    synthetic: bool,
}

impl HttpClient {
    pub fn new(telemetry: ServiceTelemetry, timeout: Duration) -> Self {
        let http = crate::tls::client_builder()
            .timeout(timeout)
            .connect_timeout(Duration::from_secs(2))
            .pool_idle_timeout(Duration::from_secs(30))
            .user_agent(concat!("tracemart/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        Self {
            http,
            telemetry,
            synthetic: false,
        }
    }

    /// The same client for synthetic traffic (the load generator's shoppers).
    pub fn synthetic(mut self) -> Self {
        self.synthetic = true;
        self
    }

    pub fn telemetry(&self) -> &ServiceTelemetry {
        &self.telemetry
    }

    /// Sends one request to `upstream`: `template` is the route (`/products/{id}`), `path` the
    /// concrete path and query (`/products/42`).
    pub async fn send<B: Serialize + ?Sized>(
        &self,
        upstream: &Upstream,
        method: http::Method,
        template: &str,
        path: &str,
        body: Option<&B>,
    ) -> Result<ClientResponse, ClientError> {
        let url = format!("{}{}", upstream.base_url, path);
        let method_name = method_name(&method);
        let span = tracing::info_span!(
            "http.client",
            // An unknown method is named `HTTP`, as the conventions say.
            otel.name = %format_args!(
                "{} {template}",
                if method_name == "_OTHER" { "HTTP" } else { method_name }
            ),
            otel.kind = "client",
            otel.status_code = Empty,
            http.request.method = method_name,
            server.address = %upstream.address,
            server.port = i64::from(upstream.port),
            url.full = %url,
            url.template = template,
            // `peer.service` is deprecated for `service.peer.name`; both, as backends read
            // either.
            peer.service = upstream.service,
            service.peer.name = upstream.service,
            user_agent.synthetic.type = self.synthetic.then_some("test"),
            http.response.status_code = Empty,
            error.type = Empty,
        );
        let started = Instant::now();
        // Without a subscriber the span is disabled; the ambient context still carries baggage.
        let cx = if span.is_disabled() {
            opentelemetry::Context::current()
        } else {
            span.context()
        };
        let traffic_type = baggage_value(&cx, TRAFFIC_TYPE);
        let mut headers = http::HeaderMap::new();
        crate::propagation::inject(self.telemetry.propagator(), &cx, &mut headers);
        if self.synthetic {
            headers.insert(
                http::header::USER_AGENT,
                http::HeaderValue::from_static(SYNTHETIC_USER_AGENT),
            );
        }
        let mut request = self.http.request(method, &url).headers(headers);
        if let Some(b) = body {
            request = request.json(b);
        }
        let result = async {
            let response = request.send().await?;
            let status = response.status();
            let body = response.bytes().await?;
            Ok::<_, reqwest::Error>(ClientResponse {
                status,
                body: body.to_vec(),
            })
        }
        .instrument(span.clone())
        .await
        .map_err(|e| {
            let service = upstream.service;
            if e.is_timeout() {
                ClientError::Timeout { service }
            } else if e.is_connect() {
                ClientError::Unreachable { service, source: e }
            } else {
                ClientError::Other { service, source: e }
            }
        });

        let mut attrs = vec![
            KeyValue::new("http.request.method", method_name),
            KeyValue::new("server.address", upstream.address.clone()),
            KeyValue::new("server.port", i64::from(upstream.port)),
        ];
        let error_type = match &result {
            Ok(r) => {
                span.record("http.response.status_code", i64::from(r.status.as_u16()));
                attrs.push(KeyValue::new(
                    "http.response.status_code",
                    i64::from(r.status.as_u16()),
                ));
                (r.status.is_client_error() || r.status.is_server_error())
                    .then(|| r.status.as_str().to_owned())
            }
            Err(e) => Some(e.error_type().to_owned()),
        };
        if let Some(t) = error_type {
            span.record("otel.status_code", "ERROR");
            span.record("error.type", t.as_str());
            attrs.push(KeyValue::new("error.type", t));
        }
        if let Some(t) = traffic_type {
            attrs.push(KeyValue::new(TRAFFIC_TYPE, t));
        }
        self.telemetry
            .http_client_duration()
            .record(started.elapsed().as_secs_f64(), &attrs);
        result
    }
}
