//! The bounded in-memory store: traces (oldest dropped first once the span or byte cap is
//! reached, with a count of what was dropped), recent log records, and the metric names seen.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use serde::Serialize;

pub type TraceId = [u8; 16];
pub type SpanId = [u8; 8];

/// Span kinds as OTLP numbers them.
pub mod kind {
    pub const INTERNAL: i32 = 1;
    pub const SERVER: i32 = 2;
    pub const CLIENT: i32 = 3;
}

#[derive(Debug, Clone)]
pub struct StoredSpan {
    pub trace_id: TraceId,
    pub span_id: SpanId,
    pub parent: Option<SpanId>,
    pub service: Arc<str>,
    pub name: String,
    pub kind: i32,
    pub start_ns: u64,
    pub end_ns: u64,
    pub error: bool,
    pub attributes: Vec<(Arc<str>, String)>,
}

impl StoredSpan {
    pub fn attr(&self, key: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| &**k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn duration_ns(&self) -> u64 {
        self.end_ns.saturating_sub(self.start_ns)
    }

    fn bytes(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.name.len()
            + self
                .attributes
                .iter()
                .map(|(_, v)| 24 + v.len())
                .sum::<usize>()
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct StoredLog {
    pub time_ns: u64,
    pub service: Arc<str>,
    pub severity: String,
    pub body: String,
    #[serde(serialize_with = "hex_opt")]
    pub trace_id: Option<TraceId>,
    #[serde(serialize_with = "hex_opt")]
    pub span_id: Option<SpanId>,
    pub attributes: Vec<(Arc<str>, String)>,
}

fn hex_opt<S: serde::Serializer, const N: usize>(
    v: &Option<[u8; N]>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match v {
        Some(b) => s.serialize_str(&hex(b)),
        None => s.serialize_none(),
    }
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn parse_hex<const N: usize>(s: &str) -> Option<[u8; N]> {
    if s.len() != N * 2 {
        return None;
    }
    let mut out = [0u8; N];
    for (i, chunk) in s.as_bytes().chunks(2).enumerate() {
        out[i] = u8::from_str_radix(std::str::from_utf8(chunk).ok()?, 16).ok()?;
    }
    Some(out)
}

pub struct Trace {
    pub spans: Vec<StoredSpan>,
    /// When the store last received a span of it, Unix ns.
    pub last_seen_ns: u64,
    bytes: usize,
}

/// Caps of the store.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_spans: usize,
    pub max_bytes: usize,
    pub max_logs: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_spans: 200_000,
            max_bytes: 256 * 1024 * 1024,
            max_logs: 50_000,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
pub struct Counters {
    pub spans_received: u64,
    pub spans_stored: usize,
    pub spans_dropped: u64,
    pub traces_stored: usize,
    pub traces_dropped: u64,
    pub bytes_stored: usize,
    pub logs_received: u64,
    pub logs_stored: usize,
    pub metric_points_received: u64,
}

pub struct Store {
    limits: Limits,
    pub traces: HashMap<TraceId, Trace>,
    order: VecDeque<TraceId>,
    pub logs: VecDeque<StoredLog>,
    /// (service, metric name) pairs seen.
    pub metrics: BTreeSet<(Arc<str>, String)>,
    counters: Counters,
    interned: HashSet<Arc<str>>,
}

pub fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or_default()
}

fn value_text(v: &Option<AnyValue>) -> String {
    match v.as_ref().and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::StringValue(s)) => s.clone(),
        Some(any_value::Value::BoolValue(b)) => b.to_string(),
        Some(any_value::Value::IntValue(i)) => i.to_string(),
        Some(any_value::Value::DoubleValue(d)) => d.to_string(),
        Some(any_value::Value::BytesValue(b)) => hex(b),
        Some(other) => format!("{other:?}"),
        None => String::new(),
    }
}

fn service_of(attrs: &[KeyValue]) -> String {
    attrs
        .iter()
        .find(|kv| kv.key == "service.name")
        .map(|kv| value_text(&kv.value))
        .unwrap_or_else(|| "unknown_service".to_owned())
}

impl Store {
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            traces: HashMap::new(),
            order: VecDeque::new(),
            logs: VecDeque::new(),
            metrics: BTreeSet::new(),
            counters: Counters::default(),
            interned: HashSet::new(),
        }
    }

    fn intern(&mut self, s: &str) -> Arc<str> {
        if let Some(v) = self.interned.get(s) {
            return v.clone();
        }
        let v: Arc<str> = Arc::from(s);
        if self.interned.len() < 100_000 {
            self.interned.insert(v.clone());
        }
        v
    }

    pub fn counters(&self) -> Counters {
        Counters {
            logs_stored: self.logs.len(),
            traces_stored: self.traces.len(),
            ..self.counters.clone()
        }
    }

    pub fn add_traces(&mut self, request: ExportTraceServiceRequest) {
        let now = now_ns();
        for rs in request.resource_spans {
            let service = service_of(
                rs.resource
                    .as_ref()
                    .map(|r| r.attributes.as_slice())
                    .unwrap_or_default(),
            );
            let service = self.intern(&service);
            for ss in rs.scope_spans {
                for span in ss.spans {
                    self.counters.spans_received += 1;
                    let (Ok(trace_id), Ok(span_id)) = (
                        TraceId::try_from(span.trace_id.as_slice()),
                        SpanId::try_from(span.span_id.as_slice()),
                    ) else {
                        self.counters.spans_dropped += 1;
                        continue;
                    };
                    let parent = SpanId::try_from(span.parent_span_id.as_slice())
                        .ok()
                        .filter(|p| *p != [0; 8]);
                    let attributes = span
                        .attributes
                        .iter()
                        .take(128)
                        .map(|kv| (self.intern(&kv.key), value_text(&kv.value)))
                        .collect();
                    let stored = StoredSpan {
                        trace_id,
                        span_id,
                        parent,
                        service: service.clone(),
                        name: span.name,
                        kind: span.kind,
                        start_ns: span.start_time_unix_nano,
                        end_ns: span.end_time_unix_nano,
                        // OTLP status code 2 is ERROR.
                        error: span.status.as_ref().is_some_and(|s| s.code == 2),
                        attributes,
                    };
                    let bytes = stored.bytes();
                    let trace = self.traces.entry(trace_id).or_insert_with(|| {
                        self.order.push_back(trace_id);
                        Trace {
                            spans: Vec::new(),
                            last_seen_ns: now,
                            bytes: 0,
                        }
                    });
                    trace.spans.push(stored);
                    trace.last_seen_ns = now;
                    trace.bytes += bytes;
                    self.counters.spans_stored += 1;
                    self.counters.bytes_stored += bytes;
                }
            }
        }
        self.evict();
    }

    /// Drops the oldest traces until the store is within its caps again.
    fn evict(&mut self) {
        while self.counters.spans_stored > self.limits.max_spans
            || self.counters.bytes_stored > self.limits.max_bytes
        {
            let Some(oldest) = self.order.pop_front() else {
                break;
            };
            if let Some(t) = self.traces.remove(&oldest) {
                self.counters.spans_stored -= t.spans.len();
                self.counters.bytes_stored -= t.bytes;
                self.counters.spans_dropped += t.spans.len() as u64;
                self.counters.traces_dropped += 1;
            }
        }
    }

    pub fn add_logs(&mut self, request: ExportLogsServiceRequest) {
        for rl in request.resource_logs {
            let service = service_of(
                rl.resource
                    .as_ref()
                    .map(|r| r.attributes.as_slice())
                    .unwrap_or_default(),
            );
            let service = self.intern(&service);
            for sl in rl.scope_logs {
                for record in sl.log_records {
                    self.counters.logs_received += 1;
                    let attributes = record
                        .attributes
                        .iter()
                        .take(64)
                        .map(|kv| (self.intern(&kv.key), value_text(&kv.value)))
                        .collect();
                    self.logs.push_back(StoredLog {
                        time_ns: if record.time_unix_nano > 0 {
                            record.time_unix_nano
                        } else {
                            record.observed_time_unix_nano
                        },
                        service: service.clone(),
                        severity: if record.severity_text.is_empty() {
                            format!("{}", record.severity_number)
                        } else {
                            record.severity_text
                        },
                        body: value_text(&record.body),
                        trace_id: TraceId::try_from(record.trace_id.as_slice())
                            .ok()
                            .filter(|t| *t != [0; 16]),
                        span_id: SpanId::try_from(record.span_id.as_slice())
                            .ok()
                            .filter(|s| *s != [0; 8]),
                        attributes,
                    });
                    if self.logs.len() > self.limits.max_logs {
                        self.logs.pop_front();
                    }
                }
            }
        }
    }

    pub fn add_metrics(&mut self, request: ExportMetricsServiceRequest) {
        for rm in request.resource_metrics {
            let service = service_of(
                rm.resource
                    .as_ref()
                    .map(|r| r.attributes.as_slice())
                    .unwrap_or_default(),
            );
            let service = self.intern(&service);
            for sm in rm.scope_metrics {
                for m in sm.metrics {
                    self.counters.metric_points_received += 1;
                    if self.metrics.len() < 10_000 {
                        self.metrics.insert((service.clone(), m.name));
                    }
                }
            }
        }
    }

    /// Every stored span, trace by trace.
    pub fn spans(&self) -> impl Iterator<Item = &StoredSpan> {
        self.traces.values().flat_map(|t| t.spans.iter())
    }
}
