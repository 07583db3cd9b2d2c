//! OTLP export as the standard variables configure it: gRPC and HTTP/protobuf reach a real
//! receiver with the service's resource, the configured headers, and trace-linked logs.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message as _;
use telemetry::{Env, LogFormat, Settings, TelemetryHub};

#[derive(Default, Clone)]
struct Received {
    traces: Arc<Mutex<Vec<(http::HeaderMap, ExportTraceServiceRequest)>>>,
    logs: Arc<Mutex<Vec<ExportLogsServiceRequest>>>,
}

fn attr(resource: &Option<Resource>, key: &str) -> Option<String> {
    resource
        .as_ref()?
        .attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
            Value::StringValue(s) => Some(s.clone()),
            _ => None,
        })
}

/// Emits one span with a log record inside it from service `frontend`, then flushes.
async fn emit(hub: TelemetryHub) {
    tokio::task::spawn_blocking(move || {
        let t = hub.service("frontend").expect("service telemetry");
        tracing::dispatcher::with_default(t.dispatch(), || {
            let span = tracing::info_span!("work", otel.name = "GET /things", otel.kind = "server");
            let _entered = span.enter();
            tracing::info!("inside the span");
        });
        t.flush();
        t.shutdown();
    })
    .await
    .expect("emit");
}

fn settings(pairs: &[(&str, &str)]) -> Settings {
    Settings::from_env(&Env::from_pairs(pairs.iter().copied())).expect("settings")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_protobuf_export_carries_resource_headers_and_trace_linked_logs() {
    let received = Received::default();
    let app = axum::Router::new()
        .route(
            "/v1/traces",
            axum::routing::post({
                let r = received.clone();
                move |headers: http::HeaderMap, body: axum::body::Bytes| async move {
                    let req = ExportTraceServiceRequest::decode(body).expect("protobuf traces");
                    r.traces.lock().expect("lock").push((headers, req));
                    axum::body::Bytes::new()
                }
            }),
        )
        .route(
            "/v1/logs",
            axum::routing::post({
                let r = received.clone();
                move |body: axum::body::Bytes| async move {
                    r.logs
                        .lock()
                        .expect("lock")
                        .push(ExportLogsServiceRequest::decode(body).expect("protobuf logs"));
                    axum::body::Bytes::new()
                }
            }),
        )
        .route(
            "/v1/metrics",
            axum::routing::post(|| async { axum::body::Bytes::new() }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move { axum::serve(listener, app).await });

    let endpoint = format!("http://127.0.0.1:{port}");
    let hub = TelemetryHub::new(
        settings(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
            (
                "OTEL_EXPORTER_OTLP_HEADERS",
                "authorization=Bearer%20secret-key",
            ),
            ("CX_APPLICATION_NAME", "tracemart-demo"),
            ("OTEL_RESOURCE_ATTRIBUTES", "team=sre"),
            ("DEPLOYMENT_ENVIRONMENT", "staging"),
        ]),
        LogFormat::Off,
    )
    .expect("hub");
    emit(hub).await;

    let traces = received.traces.lock().expect("lock").clone();
    let (headers, req) = traces.first().expect("traces arrived over HTTP");
    assert_eq!(headers["authorization"], "Bearer secret-key");
    assert_eq!(headers["content-type"], "application/x-protobuf");
    let rs = &req.resource_spans[0];
    assert_eq!(
        attr(&rs.resource, "service.name").as_deref(),
        Some("frontend")
    );
    assert_eq!(
        attr(&rs.resource, "service.namespace").as_deref(),
        Some("tracemart")
    );
    assert_eq!(
        attr(&rs.resource, "cx.application.name").as_deref(),
        Some("tracemart-demo")
    );
    assert_eq!(
        attr(&rs.resource, "cx.subsystem.name").as_deref(),
        Some("frontend")
    );
    assert_eq!(
        attr(&rs.resource, "deployment.environment.name").as_deref(),
        Some("staging")
    );
    assert_eq!(attr(&rs.resource, "team").as_deref(), Some("sre"));
    assert!(attr(&rs.resource, "service.instance.id").is_some());
    let span = &rs.scope_spans[0].spans[0];
    assert_eq!(span.name, "GET /things");

    let logs = received.logs.lock().expect("lock").clone();
    let record = logs
        .iter()
        .flat_map(|l| &l.resource_logs)
        .flat_map(|r| &r.scope_logs)
        .flat_map(|s| &s.log_records)
        .next()
        .expect("a log record arrived");
    assert_eq!(
        record.trace_id, span.trace_id,
        "the log record carries the span's trace id"
    );
    assert_eq!(record.span_id, span.span_id);
}

struct Collector(Received);

#[async_trait::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let headers = request.metadata().clone().into_headers();
        self.0
            .traces
            .lock()
            .expect("lock")
            .push((headers, request.into_inner()));
        Ok(tonic::Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_export_reaches_a_collector_with_metadata() {
    let received = Received::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let server = tonic::transport::Server::builder()
        .add_service(
            TraceServiceServer::new(Collector(received.clone()))
                .accept_compressed(tonic::codec::CompressionEncoding::Gzip),
        )
        .serve_with_incoming(tokio_stream_from(listener));
    tokio::spawn(server);

    let hub = TelemetryHub::new(
        settings(&[
            (
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                &format!("http://127.0.0.1:{port}"),
            ),
            (
                "OTEL_EXPORTER_OTLP_HEADERS",
                "CX-Application-Name=tracemart",
            ),
            ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"),
        ]),
        LogFormat::Off,
    )
    .expect("hub");
    emit(hub).await;

    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while received.traces.lock().expect("lock").is_empty() && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let traces = received.traces.lock().expect("lock").clone();
    let (headers, req) = traces.first().expect("traces arrived over gRPC");
    assert_eq!(headers["cx-application-name"], "tracemart");
    let rs = &req.resource_spans[0];
    assert_eq!(
        attr(&rs.resource, "service.name").as_deref(),
        Some("frontend")
    );
    assert_eq!(rs.scope_spans[0].spans[0].name, "GET /things");
}

/// tonic wants a stream of connections; a tokio listener becomes one here.
fn tokio_stream_from(
    listener: tokio::net::TcpListener,
) -> impl futures::Stream<Item = std::io::Result<tokio::net::TcpStream>> {
    futures::stream::unfold(listener, |l| async move {
        let next = l.accept().await.map(|(s, _)| s);
        Some((next, l))
    })
}
