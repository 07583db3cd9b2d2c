//! The storefront's own telemetry, taken in same-origin (`POST /otlp/v1/traces`, OTLP/HTTP JSON
//! or protobuf, gzip or not) so the page needs no CORS: bounded in size before and after
//! decompression, rate-limited per client, checked span by span, then forwarded untouched —
//! but for a `traffic.type` on every span — to where the shop's own traces go (the configured
//! OTLP endpoint, the console). Bad input is a 4xx and never reaches the pipeline; a backend
//! that is down costs the browser spans, never the request.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use opentelemetry::KeyValue;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue as ProtoKeyValue, any_value};
use prost::Message as _;
use telemetry::otlp_in::TraceForwarder;

use crate::error::{ApiError, code};

/// The `service.name` browser spans must carry: a page may not speak for a backend service.
pub const BROWSER_SERVICE: &str = "storefront-web";
/// The largest body taken, compressed ...
const MAX_BODY: usize = 512 * 1024;
/// ... and once decompressed.
const MAX_INFLATED: usize = 2 * 1024 * 1024;
/// The most spans one request may carry.
const MAX_SPANS: usize = 2_000;
/// The most attributes one span may carry, and the longest name.
const MAX_ATTRIBUTES: usize = 128;
const MAX_NAME: usize = 512;
/// Exports a client may make in a burst, and per second after it.
const BURST: f64 = 20.0;
const PER_SECOND: f64 = 5.0;
/// Clients remembered by the rate limiter; beyond that the idle ones are forgotten.
const MAX_CLIENTS: usize = 10_000;
/// Forwards in flight at once; more is a 429 (the page retries with its next batch).
const IN_FLIGHT: usize = 16;

#[derive(Clone)]
pub(super) struct Intake {
    forwarder: Option<TraceForwarder>,
    limiter: Arc<Mutex<HashMap<IpAddr, Bucket>>>,
    in_flight: Arc<tokio::sync::Semaphore>,
    spans: opentelemetry::metrics::Counter<u64>,
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

pub(super) fn router(telemetry: &telemetry::ServiceTelemetry) -> Router {
    let forwarder = match telemetry.trace_forwarder() {
        Ok(f) if !f.is_empty() => Some(f),
        Ok(_) => None,
        Err(e) => {
            tracing::warn!(event.name = "browser.forwarder_failed", exception.type = std::any::type_name_of_val(&e), exception.message = %e, "browser telemetry cannot be forwarded");
            None
        }
    };
    let spans = telemetry
        .meter()
        .u64_counter("tracemart.browser.spans")
        .with_description("Browser spans the storefront sent, by outcome (forwarded or refused).")
        .build();
    Router::new()
        .route("/otlp/v1/traces", post(traces))
        .with_state(Intake {
            forwarder,
            limiter: Arc::default(),
            in_flight: Arc::new(tokio::sync::Semaphore::new(IN_FLIGHT)),
            spans,
        })
}

fn refused(status: StatusCode, error_code: &'static str, message: impl Into<String>) -> Response {
    ApiError::new(status, error_code, message).into_response()
}

impl Intake {
    /// Takes one token from the client's bucket, if it has one.
    fn admit(&self, client: IpAddr) -> bool {
        let mut buckets = self.limiter.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        if buckets.len() >= MAX_CLIENTS {
            buckets.retain(|_, b| now.duration_since(b.at) < Duration::from_secs(60));
        }
        if buckets.len() >= MAX_CLIENTS && !buckets.contains_key(&client) {
            return false;
        }
        let b = buckets.entry(client).or_insert(Bucket {
            tokens: BURST,
            at: now,
        });
        b.tokens = (b.tokens + now.duration_since(b.at).as_secs_f64() * PER_SECOND).min(BURST);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

async fn traces(State(intake): State<Intake>, request: axum::extract::Request) -> Response {
    let client = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::from([0, 0, 0, 0]), |ConnectInfo(a)| a.ip());
    let (parts, body) = request.into_parts();
    let headers: HeaderMap = parts.headers;
    if !intake.admit(client) {
        let mut r = refused(
            StatusCode::TOO_MANY_REQUESTS,
            code::RATE_LIMITED,
            "too many telemetry exports from this client; send fewer, larger batches",
        );
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        return r;
    }
    let body: Bytes = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(_) => {
            return refused(
                StatusCode::PAYLOAD_TOO_LARGE,
                code::BODY_TOO_LARGE,
                format!("a telemetry export may be at most {MAX_BODY} bytes"),
            );
        }
    };
    let (mut request, json) = match telemetry::otlp_in::decode::<ExportTraceServiceRequest>(
        &headers,
        &body,
        MAX_INFLATED,
    ) {
        Ok(decoded) => decoded,
        Err(r) => {
            let error_code = match r.status {
                StatusCode::PAYLOAD_TOO_LARGE => code::BODY_TOO_LARGE,
                StatusCode::UNSUPPORTED_MEDIA_TYPE => code::UNSUPPORTED_MEDIA_TYPE,
                _ => code::INVALID_OTLP,
            };
            return refused(r.status, error_code, r.message);
        }
    };
    let count = match check(&mut request) {
        Ok(n) => n,
        Err(message) => {
            intake.spans.add(0, &[KeyValue::new("outcome", "refused")]);
            return refused(StatusCode::BAD_REQUEST, code::INVALID_OTLP, message);
        }
    };
    if let Some(forwarder) = intake.forwarder.clone() {
        let Ok(permit) = intake.in_flight.clone().try_acquire_owned() else {
            intake
                .spans
                .add(count as u64, &[KeyValue::new("outcome", "refused")]);
            return refused(
                StatusCode::TOO_MANY_REQUESTS,
                code::RATE_LIMITED,
                "the shop is forwarding many browser batches; try again shortly",
            );
        };
        intake
            .spans
            .add(count as u64, &[KeyValue::new("outcome", "forwarded")]);
        tokio::spawn(async move {
            let failures = forwarder.forward(&request).await;
            drop(permit);
            for e in failures {
                tracing::warn!(event.name = "browser.forward_failed", exception.type = std::any::type_name_of_val(&e), exception.message = %e, "browser spans could not be forwarded");
            }
        });
    }
    let answer = ExportTraceServiceResponse {
        partial_success: None,
    };
    if json {
        (
            [(header::CONTENT_TYPE, "application/json")],
            serde_json::to_vec(&answer).unwrap_or_else(|_| b"{}".to_vec()),
        )
            .into_response()
    } else {
        (
            [(header::CONTENT_TYPE, "application/x-protobuf")],
            answer.encode_to_vec(),
        )
            .into_response()
    }
}

fn string_of(attrs: &[ProtoKeyValue], key: &str) -> Option<String> {
    attrs.iter().find(|kv| kv.key == key).and_then(|kv| {
        match kv.value.as_ref()?.value.as_ref()? {
            any_value::Value::StringValue(s) => Some(s.clone()),
            _ => None,
        }
    })
}

/// Checks a batch and returns its span count: browser spans only, ids of the right length,
/// bounded names and attributes, end not before start. Every span gets a `traffic.type`
/// (`baseline` when the page set none), like every request of the backend.
fn check(request: &mut ExportTraceServiceRequest) -> Result<usize, String> {
    let mut count = 0;
    if request.resource_spans.is_empty() {
        return Err("no resourceSpans".to_owned());
    }
    for rs in &mut request.resource_spans {
        let attrs = rs
            .resource
            .as_ref()
            .map(|r| &r.attributes[..])
            .unwrap_or(&[]);
        match string_of(attrs, "service.name") {
            Some(name) if name == BROWSER_SERVICE => {}
            Some(name) => {
                return Err(format!(
                    "service.name must be {BROWSER_SERVICE}, not {:?}",
                    &name[..name.floor_char_boundary(64)]
                ));
            }
            None => {
                return Err(format!(
                    "the resource has no service.name ({BROWSER_SERVICE})"
                ));
            }
        }
        for ss in &mut rs.scope_spans {
            for span in &mut ss.spans {
                count += 1;
                if count > MAX_SPANS {
                    return Err(format!("more than {MAX_SPANS} spans in one request"));
                }
                if span.trace_id.len() != 16 || span.trace_id.iter().all(|b| *b == 0) {
                    return Err(
                        "a span's traceId is not 16 bytes (32 hex digits), or is zero".to_owned(),
                    );
                }
                if span.span_id.len() != 8 || span.span_id.iter().all(|b| *b == 0) {
                    return Err(
                        "a span's spanId is not 8 bytes (16 hex digits), or is zero".to_owned()
                    );
                }
                if !(span.parent_span_id.is_empty() || span.parent_span_id.len() == 8) {
                    return Err("a span's parentSpanId is not 8 bytes".to_owned());
                }
                if span.name.is_empty() || span.name.len() > MAX_NAME {
                    return Err(format!("a span's name is empty or longer than {MAX_NAME}"));
                }
                if span.end_time_unix_nano < span.start_time_unix_nano {
                    return Err("a span ends before it starts".to_owned());
                }
                if span.attributes.len() > MAX_ATTRIBUTES {
                    return Err(format!("a span has more than {MAX_ATTRIBUTES} attributes"));
                }
                if string_of(&span.attributes, telemetry::TRAFFIC_TYPE).is_none() {
                    span.attributes
                        .retain(|kv| kv.key != telemetry::TRAFFIC_TYPE);
                    span.attributes.push(ProtoKeyValue {
                        key: telemetry::TRAFFIC_TYPE.to_owned(),
                        value: Some(AnyValue {
                            value: Some(any_value::Value::StringValue("baseline".to_owned())),
                        }),
                        ..Default::default()
                    });
                }
            }
        }
    }
    if count == 0 {
        return Err("no spans".to_owned());
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::metrics::MeterProvider as _;

    fn batch(service: &str) -> String {
        format!(
            r#"{{"resourceSpans":[{{"resource":{{"attributes":[{{"key":"service.name","value":{{"stringValue":"{service}"}}}}]}},"scopeSpans":[{{"spans":[{{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"click","kind":1,"startTimeUnixNano":"1","endTimeUnixNano":"2"}}]}}]}}]}}"#
        )
    }

    fn decoded(json: &str) -> ExportTraceServiceRequest {
        serde_json::from_str(json).expect("OTLP JSON")
    }

    #[test]
    fn a_browser_batch_passes_and_every_span_gets_a_traffic_type() {
        let mut req = decoded(&batch(BROWSER_SERVICE));
        assert_eq!(check(&mut req), Ok(1));
        let span = &req.resource_spans[0].scope_spans[0].spans[0];
        assert_eq!(
            string_of(&span.attributes, telemetry::TRAFFIC_TYPE).as_deref(),
            Some("baseline")
        );
    }

    #[test]
    fn a_batch_that_speaks_for_another_service_or_is_malformed_is_refused() {
        assert!(check(&mut decoded(&batch("checkout"))).is_err());
        assert!(check(&mut decoded(r#"{"resourceSpans":[]}"#)).is_err());
        let zero = batch(BROWSER_SERVICE).replace(
            "5b8efff798038103d269b633813fc60c",
            "00000000000000000000000000000000",
        );
        assert!(check(&mut decoded(&zero)).is_err());
        let backwards =
            batch(BROWSER_SERVICE).replace(r#""endTimeUnixNano":"2""#, r#""endTimeUnixNano":"0""#);
        assert!(check(&mut decoded(&backwards)).is_err());
        let unnamed = batch(BROWSER_SERVICE).replace(r#""name":"click""#, r#""name":"""#);
        assert!(check(&mut decoded(&unnamed)).is_err());
    }

    #[test]
    fn a_client_gets_its_burst_then_its_rate() {
        let intake = Intake {
            forwarder: None,
            limiter: Arc::default(),
            in_flight: Arc::new(tokio::sync::Semaphore::new(1)),
            spans: opentelemetry::metrics::noop::NoopMeterProvider::new()
                .meter("t")
                .u64_counter("c")
                .build(),
        };
        let a = IpAddr::from([10, 0, 0, 1]);
        let admitted = (0..100).filter(|_| intake.admit(a)).count();
        assert_eq!(admitted, BURST as usize);
        assert!(
            intake.admit(IpAddr::from([10, 0, 0, 2])),
            "another client has its own bucket"
        );
    }
}
