//! Ingest benchmark: realistic OTLP trace batches, decoded and stored on one thread, as the
//! receiver does. Measures spans per second and the memory the store holds per 100,000 spans.

use std::time::Instant;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use prost::Message as _;
use serde::Serialize;

use crate::store::{Limits, Store};

fn kv(k: &str, v: &str) -> KeyValue {
    KeyValue {
        key: k.to_owned(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(v.to_owned())),
        }),
        ..Default::default()
    }
}

/// One encoded export request of `spans` spans shaped like the shop's (server, client and
/// database spans with their attributes) from `services`, trace ids starting at
/// `first_trace`.
pub fn batch(first_trace: u64, spans: usize, services: &[&str]) -> Vec<u8> {
    let services = if services.is_empty() {
        &["shop"][..]
    } else {
        services
    };
    let mut by_service: Vec<Vec<Span>> = vec![Vec::new(); services.len()];
    for i in 0..spans {
        let trace = first_trace + (i / 24) as u64;
        let mut trace_id = [0u8; 16];
        trace_id[..8].copy_from_slice(&trace.to_be_bytes());
        let n = (i % 24) as u64;
        let service = (i % 24) % services.len();
        let db = n % 4 == 3;
        let attributes = if db {
            vec![
                kv("db.system.name", "postgresql"),
                kv("db.system", "postgresql"),
                kv("db.namespace", "shop"),
                kv("db.operation.name", "SELECT"),
                kv(
                    "db.query.text",
                    "SELECT id, name, price_cents FROM products WHERE id = $1",
                ),
                kv(
                    "db.statement",
                    "SELECT id, name, price_cents FROM products WHERE id = $1",
                ),
                kv("server.address", "postgres"),
                kv("traffic.type", "demo"),
                kv("session.id", "s-0123456789abcdef"),
            ]
        } else {
            vec![
                kv("http.request.method", "POST"),
                kv("http.route", "/api/checkout"),
                kv("url.path", "/api/checkout"),
                kv("http.response.status_code", "201"),
                kv("server.address", "frontend"),
                kv("server.port", "8018"),
                kv("traffic.type", "demo"),
                kv("session.id", "s-0123456789abcdef"),
            ]
        };
        by_service[service].push(Span {
            trace_id: trace_id.to_vec(),
            span_id: (n + 1 + (trace << 8)).to_be_bytes().to_vec(),
            parent_span_id: if n == 0 {
                Vec::new()
            } else {
                (n + (trace << 8)).to_be_bytes().to_vec()
            },
            name: if db {
                "SELECT products".to_owned()
            } else {
                "POST /api/checkout".to_owned()
            },
            kind: if db { 3 } else { 2 },
            start_time_unix_nano: 1_700_000_000_000_000_000 + i as u64 * 1000,
            end_time_unix_nano: 1_700_000_000_000_000_000 + i as u64 * 1000 + 2_500_000,
            attributes,
            status: Some(Status::default()),
            ..Default::default()
        });
    }
    let request = ExportTraceServiceRequest {
        resource_spans: by_service
            .into_iter()
            .enumerate()
            .filter(|(_, s)| !s.is_empty())
            .map(|(i, spans)| ResourceSpans {
                resource: Some(Resource {
                    attributes: vec![
                        kv("service.name", services[i]),
                        kv("service.namespace", "tracemart"),
                        kv("service.version", "0.1.0"),
                    ],
                    ..Default::default()
                }),
                scope_spans: vec![ScopeSpans {
                    spans,
                    ..Default::default()
                }],
                ..Default::default()
            })
            .collect(),
    };
    request.encode_to_vec()
}

#[derive(Debug, Clone, Serialize)]
pub struct IngestReport {
    pub spans: u64,
    pub seconds: f64,
    pub spans_per_second: f64,
    /// The store's own accounting, per 100,000 spans.
    pub store_mib_per_100k_spans: f64,
    /// Resident memory growth of the process while the first 100,000 spans were stored.
    pub rss_mib_per_100k_spans: Option<f64>,
    pub max_spans: usize,
    pub spans_stored_at_end: usize,
    pub bytes_stored_at_end: usize,
    pub peak_rss_mib: Option<f64>,
}

fn rss_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// Decodes and stores `total` spans of `services` in batches of `batch_size` into a store
/// capped at `limits`.
pub fn run(total: u64, batch_size: usize, limits: Limits, services: &[&str]) -> IngestReport {
    // Encoded up front: the benchmark measures decoding and storing, not generating.
    let batches: Vec<Vec<u8>> = (0..16)
        .map(|i| batch(i * 1_000_000, batch_size, services))
        .collect();
    let mut store = Store::new(limits);
    let mut sent = 0u64;
    let mut round = 0u64;
    let rss_before = rss_bytes();
    let mut rss_at_100k = None;
    let mut peak = rss_before.unwrap_or(0);
    let started = Instant::now();
    while sent < total {
        let raw = &batches[(round % batches.len() as u64) as usize];
        let mut request = ExportTraceServiceRequest::decode(raw.as_slice()).unwrap_or_default();
        // Fresh trace ids every round, as live traffic has.
        for rs in &mut request.resource_spans {
            for ss in &mut rs.scope_spans {
                for s in &mut ss.spans {
                    s.trace_id[8..].copy_from_slice(&round.to_be_bytes());
                }
            }
        }
        store.add_traces(request);
        sent += batch_size as u64;
        round += 1;
        if rss_at_100k.is_none() && sent >= 100_000 {
            rss_at_100k = rss_bytes();
        }
        if round.is_multiple_of(64) {
            peak = peak.max(rss_bytes().unwrap_or(0));
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let c = store.counters();
    let mib = |b: f64| (b / 1024.0 / 1024.0 * 10.0).round() / 10.0;
    IngestReport {
        spans: sent,
        seconds: (seconds * 1000.0).round() / 1000.0,
        spans_per_second: (sent as f64 / seconds).round(),
        store_mib_per_100k_spans: mib(
            c.bytes_stored as f64 / c.spans_stored.max(1) as f64 * 100_000.0
        ),
        rss_mib_per_100k_spans: match (rss_before, rss_at_100k) {
            (Some(a), Some(b)) => Some(mib(b.saturating_sub(a) as f64)),
            _ => None,
        },
        max_spans: limits.max_spans,
        spans_stored_at_end: c.spans_stored,
        bytes_stored_at_end: c.bytes_stored,
        peak_rss_mib: (peak > 0).then(|| mib(peak as f64)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sustained_ingest_stays_within_the_cap() {
        let limits = Limits {
            max_spans: 20_000,
            ..Limits::default()
        };
        let r = run(100_000, 512, limits, &["frontend", "cart", "checkout"]);
        assert!(r.spans >= 100_000);
        assert!(r.spans_stored_at_end <= 20_000, "{r:?}");
        assert!(
            r.spans_stored_at_end > 15_000,
            "the newest traces stay: {r:?}"
        );
        assert!(r.store_mib_per_100k_spans > 1.0);
    }
}
