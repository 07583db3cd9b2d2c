//! Shared by the integration tests: real PostgreSQL and Redis, the shop started in-process on
//! port 0 with in-memory exporters, a TCP proxy to cut a store off, and polling with deadlines.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use opentelemetry::trace::{SpanId, SpanKind, TraceId};
use opentelemetry_sdk::trace::SpanData;
use shop::{Database, RunningShop, ServiceName, ShopConfig};
use sqlx::Connection as _;
use telemetry::{LogFormat, MemorySink, Settings, TelemetryHub};

pub fn postgres_admin_url() -> String {
    telemetry::Env::process()
        .get("TEST_DATABASE_URL")
        .unwrap_or("postgres://postgres@127.0.0.1:5432/postgres")
        .to_owned()
}

pub fn redis_url() -> String {
    telemetry::Env::process()
        .get("TEST_REDIS_URL")
        .unwrap_or("redis://127.0.0.1:6379/0")
        .to_owned()
}

pub fn amqp_url() -> String {
    telemetry::Env::process()
        .get("TEST_AMQP_URL")
        .unwrap_or("amqp://guest:guest@127.0.0.1:5672/%2f")
        .to_owned()
}

/// A PostgreSQL database of its own for one test, dropped by [`TestDatabase::drop_now`].
pub struct TestDatabase {
    pub name: String,
    pub url: String,
}

impl TestDatabase {
    pub async fn create() -> Self {
        sqlx::any::install_default_drivers();
        let admin = postgres_admin_url();
        let name = format!("tracemart_test_{}", uuid::Uuid::new_v4().simple());
        let mut conn = sqlx::AnyConnection::connect(&admin)
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "PostgreSQL is needed at {admin} (set TEST_DATABASE_URL): {e}. \
                 `.ci/run` starts it; see the README."
                )
            });
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .expect("create test database");
        let base = admin
            .rsplit_once('/')
            .map(|(b, _)| b.to_owned())
            .unwrap_or(admin);
        Self {
            url: format!("{base}/{name}"),
            name,
        }
    }

    pub async fn connect(&self) -> sqlx::AnyConnection {
        sqlx::AnyConnection::connect(&self.url)
            .await
            .expect("connect to test database")
    }

    pub async fn drop_now(self) {
        if let Ok(mut conn) = sqlx::AnyConnection::connect(&postgres_admin_url()).await {
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            )))
            .execute(&mut conn)
            .await;
        }
    }
}

/// A shop config for tests: no autostarted load, no think time, no declines, no latency model
/// (the tests that time injected delays would see its noise).
pub fn test_config(database: Database, redis: Option<String>) -> ShopConfig {
    let mut c = ShopConfig::new(database, redis);
    c.latency = shop::config::LatencyModel::None;
    c.load.autostart = false;
    c.load.think_time = (Duration::ZERO, Duration::from_millis(5));
    c.load.seed = Some(7);
    c.payment.decline_rate = 0.0;
    c.payment.latency = (Duration::from_millis(1), Duration::from_millis(5));
    c.notification.latency = (Duration::from_millis(1), Duration::from_millis(5));
    // Tests share one Redis: each shop gets scenario keys of its own.
    c.namespace = format!("tracemart-test-{}", uuid::Uuid::new_v4().simple());
    c
}

pub fn temp_sqlite() -> (Database, std::path::PathBuf) {
    let dir =
        std::env::temp_dir().join(format!("tracemart-test-{}", uuid::Uuid::new_v4().simple()));
    let path = dir.join("shop.db");
    (Database::Sqlite { path: path.clone() }, dir)
}

pub struct TestShop {
    pub shop: Option<RunningShop>,
    pub sink: MemorySink,
    pub http: reqwest::Client,
    /// The shop's Redis and namespace, to remove its scenario keys at the end.
    redis: Option<(String, String)>,
}

impl TestShop {
    /// Starts every service on port 0 with the given telemetry settings.
    pub fn start_with(config: ShopConfig, settings: Settings) -> Self {
        Self::start_exporting(config, settings, None)
    }

    /// The same, also exporting over OTLP/HTTP to `otlp_http` (a console).
    pub fn start_exporting(
        config: ShopConfig,
        settings: Settings,
        otlp_http: Option<&str>,
    ) -> Self {
        Self::start_services(config, settings, otlp_http, &ServiceName::ALL)
    }

    /// Only `services`, on port 0 (the others may run in another shop on the same stores).
    pub fn start_services(
        config: ShopConfig,
        settings: Settings,
        otlp_http: Option<&str>,
        services: &[ServiceName],
    ) -> Self {
        let sink = MemorySink::new();
        let mut hub = TelemetryHub::new(settings, LogFormat::Off)
            .expect("telemetry hub")
            .with_memory_sink(sink.clone());
        if let Some(url) = otlp_http {
            hub = hub.with_extra_otlp_http(url);
        }
        let listen: Vec<(ServiceName, SocketAddr)> = services
            .iter()
            .map(|s| (*s, SocketAddr::from(([127, 0, 0, 1], 0))))
            .collect();
        let redis = config
            .redis_url
            .clone()
            .map(|url| (url, config.namespace.clone()));
        let shop = shop::start(config, &hub, &listen).expect("shop starts");
        Self {
            shop: Some(shop),
            redis,
            sink,
            http: telemetry::tls::client_builder()
                .timeout(Duration::from_secs(15))
                .build()
                .expect("client"),
        }
    }

    pub fn start(config: ShopConfig) -> Self {
        Self::start_with(config, Settings::default())
    }

    pub fn url(&self, service: ServiceName, path: &str) -> String {
        format!(
            "{}{path}",
            self.shop.as_ref().expect("running").url(service)
        )
    }

    pub async fn get(&self, service: ServiceName, path: &str) -> (u16, serde_json::Value) {
        let r = self
            .http
            .get(self.url(service, path))
            .send()
            .await
            .expect("request");
        decode(r).await
    }

    pub async fn send_json(
        &self,
        method: reqwest::Method,
        service: ServiceName,
        path: &str,
        body: &serde_json::Value,
    ) -> (u16, serde_json::Value) {
        let r = self
            .http
            .request(method, self.url(service, path))
            .json(body)
            .send()
            .await
            .expect("request");
        decode(r).await
    }

    /// A real charge of `amount_cents` at the gateway: checkout verifies the payment an order
    /// names, so an order placed at checkout directly needs one.
    pub async fn charge(&self, amount_cents: i64) -> String {
        let (status, charge) = self
            .send_json(
                reqwest::Method::POST,
                ServiceName::Payment,
                "/charge",
                &serde_json::json!({"amount_cents": amount_cents, "currency": "USD", "card": card("4242424242424242")}),
            )
            .await;
        assert_eq!(status, 200, "a charge for the order: {charge}");
        charge["transaction_id"]
            .as_str()
            .expect("a transaction id")
            .to_owned()
    }

    pub async fn post_raw(
        &self,
        service: ServiceName,
        path: &str,
        body: Vec<u8>,
    ) -> (u16, serde_json::Value) {
        let r = self
            .http
            .post(self.url(service, path))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("request");
        decode(r).await
    }

    pub async fn stop(mut self) {
        if let Some(shop) = self.shop.take() {
            tokio::task::spawn_blocking(move || shop.shutdown())
                .await
                .expect("shutdown");
        }
        // Leave nothing behind in the shared Redis (best effort: it may be the one cut off).
        if let Some((url, namespace)) = self.redis.take()
            && let Ok(client) = redis::Client::open(url)
            && let Ok(mut c) = client.get_multiplexed_async_connection().await
        {
            let _: redis::RedisResult<()> = redis::cmd("DEL")
                .arg(format!("{namespace}:scenarios:state"))
                .arg(format!("{namespace}:scenarios:history"))
                .query_async(&mut c)
                .await;
        }
    }
}

async fn decode(r: reqwest::Response) -> (u16, serde_json::Value) {
    let status = r.status().as_u16();
    let bytes = r.bytes().await.expect("body");
    let value = if bytes.is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or_else(|_| {
            panic!(
                "status {status}: body is not JSON: {}",
                String::from_utf8_lossy(&bytes)
            )
        })
    };
    (status, value)
}

/// Polls `f` until it returns `Some`, or panics with `what` after `deadline`.
pub async fn eventually<T, F, Fut>(what: &str, deadline: Duration, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = f().await {
            return v;
        }
        if start.elapsed() > deadline {
            panic!("timed out after {deadline:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A span with the service that produced it.
#[derive(Debug, Clone)]
pub struct Span {
    pub service: String,
    /// The `service.version` of the release that produced it, when not the one started.
    pub release: Option<String>,
    pub data: SpanData,
}

impl Span {
    pub fn attr(&self, key: &str) -> Option<String> {
        self.data
            .attributes
            .iter()
            .find(|kv| kv.key.as_str() == key)
            .map(|kv| kv.value.as_str().into_owned())
    }

    pub fn name(&self) -> &str {
        &self.data.name
    }

    pub fn kind(&self) -> &SpanKind {
        &self.data.span_kind
    }

    pub fn id(&self) -> SpanId {
        self.data.span_context.span_id()
    }

    pub fn parent(&self) -> SpanId {
        self.data.parent_span_id
    }

    pub fn is_error(&self) -> bool {
        matches!(self.data.status, opentelemetry::trace::Status::Error { .. })
    }
}

pub fn spans(sink: &MemorySink) -> Vec<Span> {
    sink.spans_with_release()
        .into_iter()
        .map(|(service, release, data)| Span {
            service,
            release,
            data,
        })
        .collect()
}

pub fn traces(spans: &[Span]) -> HashMap<TraceId, Vec<Span>> {
    let mut map: HashMap<TraceId, Vec<Span>> = HashMap::new();
    for s in spans {
        map.entry(s.data.span_context.trace_id())
            .or_default()
            .push(s.clone());
    }
    map
}

/// Spans whose parent is set but not in the trace.
pub fn orphans(trace: &[Span]) -> Vec<&Span> {
    let ids: HashSet<SpanId> = trace.iter().map(Span::id).collect();
    trace
        .iter()
        .filter(|s| s.parent() != SpanId::INVALID && !ids.contains(&s.parent()))
        .collect()
}

/// The number of span levels from the root to the deepest leaf.
pub fn depth(trace: &[Span]) -> usize {
    let by_id: HashMap<SpanId, &Span> = trace.iter().map(|s| (s.id(), s)).collect();
    trace
        .iter()
        .map(|s| {
            let mut d = 1;
            let mut cur = s;
            while let Some(p) = by_id.get(&cur.parent()) {
                d += 1;
                cur = p;
            }
            d
        })
        .max()
        .unwrap_or(0)
}

pub fn services_of(trace: &[Span]) -> HashSet<String> {
    trace.iter().map(|s| s.service.clone()).collect()
}

/// A TCP proxy in front of a real store: `cut()` closes the listener and every connection, so
/// new ones are refused, as by a store that is down; `restore()` listens again on the same
/// port. While cut, the port stays bound (not listening): no outgoing connection on the
/// machine can take it as its own port in the meantime.
///
/// `stall()` keeps every connection open and accepts new ones but forwards nothing, as a
/// database that hangs (SIGSTOP); `resume()` lets the bytes through again.
pub struct Proxy {
    pub addr: SocketAddr,
    target: SocketAddr,
    task: Option<tokio::task::JoinHandle<()>>,
    reserved: Option<tokio::net::TcpSocket>,
    stalled: tokio::sync::watch::Sender<bool>,
}

/// Copies `from` to `to`, holding every chunk while stalled.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut stalled: tokio::sync::watch::Receiver<bool>,
) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if stalled.wait_for(|s| !*s).await.is_err() || to.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
}

fn proxy_socket(addr: SocketAddr) -> tokio::net::TcpSocket {
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.set_reuseaddr(true).expect("SO_REUSEADDR");
    socket.bind(addr).expect("proxy bind");
    socket
}

impl Proxy {
    pub async fn start(target: SocketAddr) -> Self {
        let listener = proxy_socket("127.0.0.1:0".parse().expect("addr"))
            .listen(1024)
            .expect("proxy listen");
        let addr = listener.local_addr().expect("proxy addr");
        let (stalled, watching) = tokio::sync::watch::channel(false);
        Self {
            addr,
            target,
            task: Some(tokio::spawn(Self::accept(listener, target, watching))),
            reserved: None,
            stalled,
        }
    }

    async fn accept(
        listener: tokio::net::TcpListener,
        target: SocketAddr,
        stalled: tokio::sync::watch::Receiver<bool>,
    ) {
        let mut connections = tokio::task::JoinSet::new();
        loop {
            let Ok((inbound, _)) = listener.accept().await else {
                return;
            };
            let stalled = stalled.clone();
            connections.spawn(async move {
                if let Ok(outbound) = tokio::net::TcpStream::connect(target).await {
                    let (in_read, in_write) = inbound.into_split();
                    let (out_read, out_write) = outbound.into_split();
                    tokio::join!(
                        pump(in_read, out_write, stalled.clone()),
                        pump(out_read, in_write, stalled)
                    );
                }
            });
        }
    }

    /// Holds every byte, both ways, until [`resume`](Self::resume).
    pub fn stall(&self) {
        let _ = self.stalled.send(true);
    }

    pub fn resume(&self) {
        let _ = self.stalled.send(false);
    }

    pub async fn cut(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
            let _ = t.await; // the listener and every connection are gone
        }
        if self.reserved.is_none() {
            self.reserved = Some(proxy_socket(self.addr));
        }
    }

    pub async fn restore(&mut self) {
        let socket = self
            .reserved
            .take()
            .unwrap_or_else(|| proxy_socket(self.addr));
        let listener = socket.listen(1024).expect("proxy listen again");
        self.task = Some(tokio::spawn(Self::accept(
            listener,
            self.target,
            self.stalled.subscribe(),
        )));
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let Some(t) = &self.task {
            t.abort();
        }
    }
}

pub fn card(number: &str) -> serde_json::Value {
    serde_json::json!({ "number": number, "cvv": "123", "exp_month": 12, "exp_year": 2034 })
}

/// A request in a trace of its own: `traceparent` and `baggage` (traffic.type) are set, so the
/// spans it causes can be picked out of the sink by trace id.
pub struct Traced {
    pub status: u16,
    pub body: serde_json::Value,
    pub trace_id: opentelemetry::trace::TraceId,
    pub elapsed: Duration,
}

impl TestShop {
    pub async fn traced(
        &self,
        method: reqwest::Method,
        service: ServiceName,
        path: &str,
        body: Option<&serde_json::Value>,
        traffic_type: &str,
    ) -> Traced {
        let baggage = format!("traffic.type={traffic_type}");
        self.traced_with_baggage(method, service, path, body, Some(&baggage))
            .await
    }

    /// The same with any `baggage` header, or none.
    pub async fn traced_with_baggage(
        &self,
        method: reqwest::Method,
        service: ServiceName,
        path: &str,
        body: Option<&serde_json::Value>,
        baggage: Option<&str>,
    ) -> Traced {
        let trace_id = opentelemetry::trace::TraceId::from_bytes(uuid::Uuid::new_v4().into_bytes());
        let span_id = format!("{:016x}", rand_u64());
        let mut r = self
            .http
            .request(method, self.url(service, path))
            .header("traceparent", format!("00-{trace_id}-{span_id}-01"));
        if let Some(b) = baggage {
            r = r.header("baggage", b);
        }
        if let Some(b) = body {
            r = r.json(b);
        }
        let started = Instant::now();
        let response = r.send().await.expect("request");
        let (status, body) = decode(response).await;
        Traced {
            status,
            body,
            trace_id,
            elapsed: started.elapsed(),
        }
    }

    /// The spans of one trace, once the trace's server span in `service` has ended.
    pub async fn spans_of(
        &self,
        trace_id: opentelemetry::trace::TraceId,
        service: &str,
    ) -> Vec<Span> {
        eventually("the trace's spans", Duration::from_secs(10), || async {
            let t: Vec<Span> = spans(&self.sink)
                .into_iter()
                .filter(|s| s.data.span_context.trace_id() == trace_id)
                .collect();
            t.iter()
                .any(|s| s.service == service && *s.kind() == SpanKind::Server)
                .then_some(t)
        })
        .await
    }

    /// Runs journeys at 20 a second until `checkouts` checkouts (and as many browse journeys)
    /// have succeeded, then stops the load and waits for the journeys in flight.
    pub async fn run_journeys(&self, checkouts: u64) {
        let (status, _) = self
            .send_json(
                reqwest::Method::PUT,
                ServiceName::LoadGenerator,
                "/rate",
                &serde_json::json!({"journeys_per_second": 20.0}),
            )
            .await;
        assert_eq!(status, 200);
        let (status, _) = self
            .send_json(
                reqwest::Method::POST,
                ServiceName::LoadGenerator,
                "/start",
                &serde_json::json!({}),
            )
            .await;
        assert_eq!(status, 200);
        eventually(
            "successful checkout and browse journeys",
            Duration::from_secs(60),
            || async {
                let (_, s) = self.get(ServiceName::LoadGenerator, "/status").await;
                let ok = |k: &str| s["journeys"][k]["succeeded"].as_u64().unwrap_or(0);
                (ok("checkout") >= checkouts && ok("browse") >= checkouts).then_some(())
            },
        )
        .await;
        self.send_json(
            reqwest::Method::POST,
            ServiceName::LoadGenerator,
            "/stop",
            &serde_json::json!({}),
        )
        .await;
        eventually(
            "journeys in flight to finish",
            Duration::from_secs(30),
            || async {
                let (_, s) = self.get(ServiceName::LoadGenerator, "/status").await;
                (s["in_flight"].as_u64() == Some(0)).then_some(())
            },
        )
        .await;
    }

    /// Waits until `service` answers `/ready` with 200.
    pub async fn wait_ready(&self, service: ServiceName) {
        eventually(
            &format!("{service} ready"),
            Duration::from_secs(20),
            || async { (self.get(service, "/ready").await.0 == 200).then_some(()) },
        )
        .await;
    }

    /// Switches a scenario through the control API of `frontend`.
    pub async fn set_scenario(&self, name: &str, body: serde_json::Value) -> serde_json::Value {
        let (status, answer) = self
            .send_json(
                reqwest::Method::PUT,
                ServiceName::Frontend,
                &format!("/scenarios/{name}"),
                &body,
            )
            .await;
        assert_eq!(status, 200, "set {name}: {answer}");
        answer
    }

    pub async fn clear_scenario(&self, name: &str) {
        let r = self
            .http
            .delete(self.url(ServiceName::Frontend, &format!("/scenarios/{name}")))
            .send()
            .await
            .expect("clear");
        assert_eq!(r.status().as_u16(), 200);
    }
}

fn rand_u64() -> u64 {
    let b = uuid::Uuid::new_v4().into_bytes();
    u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]) | 1
}

/// A plain OTLP/HTTP protobuf receiver of traces, independent of the shop's own decoding:
/// what an OTLP backend would be sent, as it would decode it.
pub struct OtlpReceiver {
    pub url: String,
    requests: std::sync::Arc<
        std::sync::Mutex<
            Vec<opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest>,
        >,
    >,
}

impl OtlpReceiver {
    pub async fn start() -> Self {
        use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
        use prost::Message as _;
        let requests = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let kept = requests.clone();
        let app = axum::Router::new()
            .route(
                "/v1/traces",
                axum::routing::post(move |body: axum::body::Bytes| {
                    let kept = kept.clone();
                    async move {
                        let Ok(req) = ExportTraceServiceRequest::decode(body) else {
                            return http::StatusCode::BAD_REQUEST;
                        };
                        kept.lock().unwrap_or_else(|e| e.into_inner()).push(req);
                        http::StatusCode::OK
                    }
                }),
            )
            .route("/v1/metrics", axum::routing::post(|| async { "" }))
            .route("/v1/logs", axum::routing::post(|| async { "" }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, requests }
    }

    /// Every span received, with its resource's attributes.
    pub fn spans(&self) -> Vec<ExportedSpan> {
        let requests = self.requests.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = Vec::new();
        for req in requests.iter() {
            for rs in &req.resource_spans {
                let resource = rs
                    .resource
                    .as_ref()
                    .map(|r| r.attributes.clone())
                    .unwrap_or_default();
                for ss in &rs.scope_spans {
                    for span in &ss.spans {
                        out.push(ExportedSpan {
                            resource: resource.clone(),
                            span: span.clone(),
                        });
                    }
                }
            }
        }
        out
    }
}

/// A span as an OTLP receiver decoded it.
#[derive(Debug, Clone)]
pub struct ExportedSpan {
    pub resource: Vec<opentelemetry_proto::tonic::common::v1::KeyValue>,
    pub span: opentelemetry_proto::tonic::trace::v1::Span,
}

impl ExportedSpan {
    /// A span attribute, as text.
    pub fn attr(&self, key: &str) -> Option<String> {
        text_of(&self.span.attributes, key)
    }

    /// A resource attribute, as text.
    pub fn resource_attr(&self, key: &str) -> Option<String> {
        text_of(&self.resource, key)
    }
}

fn text_of(
    attrs: &[opentelemetry_proto::tonic::common::v1::KeyValue],
    key: &str,
) -> Option<String> {
    use opentelemetry_proto::tonic::common::v1::any_value::Value;
    let value = attrs.iter().find(|kv| kv.key == key)?.value.as_ref()?;
    Some(match value.value.as_ref()? {
        Value::StringValue(s) => s.clone(),
        Value::IntValue(i) => i.to_string(),
        Value::BoolValue(b) => b.to_string(),
        Value::DoubleValue(d) => d.to_string(),
        other => format!("{other:?}"),
    })
}

/// The shop's console on free ports, in this process.
pub fn start_console() -> console::RunningConsole {
    console::start(console::ConsoleConfig {
        api: "127.0.0.1:0".parse().expect("addr"),
        otlp_grpc: "127.0.0.1:0".parse().expect("addr"),
        otlp_http: "127.0.0.1:0".parse().expect("addr"),
        limits: console::Limits::default(),
    })
    .expect("console starts")
}

/// The shop on PostgreSQL and Redis, exporting OTLP/HTTP to a plain receiver: `checkouts`
/// journeys, a failing call and a 4xx (for the error paths' attributes), time for the order
/// events to reach their consumers, then stopped (every exporter flushed). What was sent is
/// in the receiver.
pub async fn exported_run(checkouts: u64) -> (OtlpReceiver, TestDatabase) {
    let receiver = OtlpReceiver::start().await;
    let db = TestDatabase::create().await;
    let config = test_config(
        Database::Postgres {
            url: db.url.clone(),
        },
        Some(redis_url()),
    );
    let shop = TestShop::start_exporting(config, Settings::default(), Some(&receiver.url));
    shop.wait_ready(ServiceName::Checkout).await;
    shop.run_journeys(checkouts).await;
    let _ = shop
        .get(ServiceName::Frontend, "/api/products/999999")
        .await;
    let _ = shop
        .get(ServiceName::Frontend, "/api/orders/ord_missing")
        .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    shop.stop().await;
    (receiver, db)
}
