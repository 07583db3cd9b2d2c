//! OTLP in: gRPC (with gzip) and HTTP with protobuf or JSON bodies (gzip or not), for traces,
//! metrics and logs.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, StatusCode};
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_server::{
    LogsService, LogsServiceServer,
};
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message;
use tonic::codec::CompressionEncoding;

use crate::store::Store;

pub type Shared = Arc<Mutex<Store>>;

fn lock(store: &Shared) -> std::sync::MutexGuard<'_, Store> {
    store.lock().unwrap_or_else(|e| e.into_inner())
}

/// The largest body accepted, before and after decompression.
const MAX_BODY: usize = 16 * 1024 * 1024;

fn decode<T: Message + Default + serde::de::DeserializeOwned>(
    headers: &HeaderMap,
    body: Bytes,
) -> Result<(T, bool), (StatusCode, String)> {
    telemetry::otlp_in::decode(headers, &body, MAX_BODY).map_err(|r| (r.status, r.message))
}

fn answer<R: Message + serde::Serialize>(response: R, json: bool) -> Response {
    if json {
        (
            [(http::header::CONTENT_TYPE, "application/json")],
            serde_json::to_vec(&response).unwrap_or_default(),
        )
            .into_response()
    } else {
        (
            [(http::header::CONTENT_TYPE, "application/x-protobuf")],
            response.encode_to_vec(),
        )
            .into_response()
    }
}

async fn http_traces(State(store): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    match decode::<ExportTraceServiceRequest>(&headers, body) {
        Ok((req, json)) => {
            lock(&store).add_traces(req);
            answer(
                ExportTraceServiceResponse {
                    partial_success: None,
                },
                json,
            )
        }
        Err(e) => e.into_response(),
    }
}

async fn http_logs(State(store): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    match decode::<ExportLogsServiceRequest>(&headers, body) {
        Ok((req, json)) => {
            lock(&store).add_logs(req);
            answer(
                ExportLogsServiceResponse {
                    partial_success: None,
                },
                json,
            )
        }
        Err(e) => e.into_response(),
    }
}

async fn http_metrics(State(store): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    match decode::<ExportMetricsServiceRequest>(&headers, body) {
        Ok((req, json)) => {
            lock(&store).add_metrics(req);
            answer(
                ExportMetricsServiceResponse {
                    partial_success: None,
                },
                json,
            )
        }
        Err(e) => e.into_response(),
    }
}

/// OTLP/HTTP: `POST /v1/traces`, `/v1/metrics`, `/v1/logs`.
pub fn http_router(store: Shared) -> axum::Router {
    axum::Router::new()
        .route("/v1/traces", axum::routing::post(http_traces))
        .route("/v1/logs", axum::routing::post(http_logs))
        .route("/v1/metrics", axum::routing::post(http_metrics))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .with_state(store)
}

struct Grpc(Shared);

#[tonic::async_trait]
impl TraceService for Grpc {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        lock(&self.0).add_traces(request.into_inner());
        Ok(tonic::Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

#[tonic::async_trait]
impl LogsService for Grpc {
    async fn export(
        &self,
        request: tonic::Request<ExportLogsServiceRequest>,
    ) -> Result<tonic::Response<ExportLogsServiceResponse>, tonic::Status> {
        lock(&self.0).add_logs(request.into_inner());
        Ok(tonic::Response::new(ExportLogsServiceResponse {
            partial_success: None,
        }))
    }
}

#[tonic::async_trait]
impl MetricsService for Grpc {
    async fn export(
        &self,
        request: tonic::Request<ExportMetricsServiceRequest>,
    ) -> Result<tonic::Response<ExportMetricsServiceResponse>, tonic::Status> {
        lock(&self.0).add_metrics(request.into_inner());
        Ok(tonic::Response::new(ExportMetricsServiceResponse {
            partial_success: None,
        }))
    }
}

/// OTLP/gRPC services, accepting gzip.
pub fn grpc_routes(store: Shared) -> tonic::service::Routes {
    let gz = CompressionEncoding::Gzip;
    tonic::service::Routes::new(
        TraceServiceServer::new(Grpc(store.clone()))
            .accept_compressed(gz)
            .max_decoding_message_size(MAX_BODY),
    )
    .add_service(
        LogsServiceServer::new(Grpc(store.clone()))
            .accept_compressed(gz)
            .max_decoding_message_size(MAX_BODY),
    )
    .add_service(
        MetricsServiceServer::new(Grpc(store))
            .accept_compressed(gz)
            .max_decoding_message_size(MAX_BODY),
    )
}
