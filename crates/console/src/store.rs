//! The bounded in-memory store: traces (oldest dropped first once the span or byte cap is
//! reached, with a count of what was dropped), recent log records, and the metric names seen.
//!
//! Every kept byte is counted — names, attribute keys and values, log bodies, and the
//! per-item overhead of the allocations and indexes that hold them — against one budget:
//! logs get a quarter of it, traces the rest. Values are cut to a bounded length, so one huge
//! record cannot blow the budget, and the table of interned strings is bounded and emptied
//! when full (what is stored keeps its strings, counted with it). Traces and logs are shared
//! (`Arc`), so [`Store::snapshot`] is cheap and the analysis runs without the ingest lock.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::{metric, number_data_point};
use serde::Serialize;

pub type TraceId = [u8; 16];
pub type SpanId = [u8; 8];

/// Span kinds as OTLP numbers them.
pub mod kind {
    pub const INTERNAL: i32 = 1;
    pub const SERVER: i32 = 2;
    pub const CLIENT: i32 = 3;
    pub const PRODUCER: i32 = 4;
    pub const CONSUMER: i32 = 5;
}

/// The gauges the console keeps the latest value of: a queue's depth, a consumer's lag, the
/// outbox's backlog.
pub const WATCHED_GAUGES: &[&str] = &[
    "tracemart.messaging.queue.depth",
    "tracemart.messaging.consumer.lag",
    "tracemart.outbox.pending",
];

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
            + ALLOCATION
            + self.name.capacity()
            + attributes_bytes(&self.attributes)
    }
}

/// What one heap allocation costs beyond its bytes (allocator header and rounding).
const ALLOCATION: usize = 32;
/// The share of `max_bytes` the stored data may take; the rest is the process's own.
const DATA_SHARE_PERCENT: usize = 60;
/// Resident memory per counted byte, as measured under a flood of small unique strings
/// (`crates/console/tests/memory.rs`): the allocator's size classes and free lists.
const RESIDENT_PER_COUNTED: (usize, usize) = (3, 2);

/// `bytes` as the resident memory they hold.
fn resident(bytes: usize) -> usize {
    bytes / RESIDENT_PER_COUNTED.1 * RESIDENT_PER_COUNTED.0
}
/// The longest value kept: a span name, an attribute value.
pub const MAX_VALUE_BYTES: usize = 4 * 1024;
/// The longest attribute key kept.
pub const MAX_KEY_BYTES: usize = 256;
/// The longest log body kept.
pub const MAX_BODY_BYTES: usize = 16 * 1024;
/// Interned strings (service names, attribute keys) kept for sharing; when the table is full
/// it starts afresh.
const MAX_INTERNED: usize = 10_000;

/// `s` cut to at most `max` bytes, on a character boundary. A cut value is copied into an
/// allocation of its own size and the large one freed whole: shrinking in place would leave
/// the rest of a megabyte-sized block stranded between live ones.
fn bounded(s: String, max: usize) -> String {
    if s.len() <= max {
        return s;
    }
    s[..floor_boundary(&s, max)].to_owned()
}

/// Keys are counted with every attribute that holds them (shared or not), so the count
/// never depends on what the interning table still holds.
fn attributes_bytes(attributes: &[(Arc<str>, String)]) -> usize {
    ALLOCATION
        + std::mem::size_of_val(attributes)
        + attributes
            .iter()
            .map(|(k, v)| 2 * ALLOCATION + 16 + k.len() + v.capacity())
            .sum::<usize>()
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

impl StoredLog {
    fn bytes(&self) -> usize {
        resident(
            std::mem::size_of::<Self>()
                + 2 * ALLOCATION
                + self.body.capacity()
                + self.severity.capacity()
                + attributes_bytes(&self.attributes),
        )
    }
}

#[derive(Clone)]
pub struct Trace {
    pub spans: Vec<StoredSpan>,
    /// When the store last received a span of it, Unix ns.
    pub last_seen_ns: u64,
    bytes: usize,
}

/// What a trace costs beyond its spans: its map entry, its place in the eviction order, its
/// span vector.
const TRACE_OVERHEAD: usize = std::mem::size_of::<Trace>() + 64 + 16 + ALLOCATION;

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
    /// Bytes the stored traces take.
    pub bytes_stored: usize,
    pub logs_received: u64,
    pub logs_stored: usize,
    /// Bytes the stored log records take.
    #[serde(default)]
    pub log_bytes_stored: usize,
    pub metric_points_received: u64,
}

pub struct Store {
    limits: Limits,
    pub traces: HashMap<TraceId, Arc<Trace>>,
    order: VecDeque<TraceId>,
    pub logs: VecDeque<Arc<StoredLog>>,
    log_bytes: usize,
    /// (service, metric name) pairs seen.
    pub metrics: BTreeSet<(Arc<str>, String)>,
    /// The latest value of each watched gauge ([`WATCHED_GAUGES`]), per (service,
    /// name, the queue it is about or "").
    pub gauges: BTreeMap<(Arc<str>, String, String), f64>,
    counters: Counters,
    interned: HashSet<Arc<str>>,
}

pub fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or_default()
}

/// An attribute's value as text, taking the decoded string rather than copying it (a huge
/// value would otherwise exist twice).
fn into_text(v: Option<AnyValue>) -> String {
    match v.and_then(|v| v.value) {
        Some(any_value::Value::StringValue(s)) => s,
        other => value_text(&other.map(|value| AnyValue { value: Some(value) })),
    }
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

/// The largest index ≤ `max` that is a character boundary of `s`.
fn floor_boundary(s: &str, max: usize) -> usize {
    if s.len() <= max {
        return s.len();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    end
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
            log_bytes: 0,
            metrics: BTreeSet::new(),
            gauges: BTreeMap::new(),
            counters: Counters::default(),
            interned: HashSet::new(),
        }
    }

    fn intern(&mut self, s: &str) -> Arc<str> {
        let s = &s[..floor_boundary(s, MAX_KEY_BYTES)];
        if let Some(v) = self.interned.get(s) {
            return v.clone();
        }
        let v: Arc<str> = Arc::from(s);
        if self.interned.len() >= MAX_INTERNED {
            // A flood of unique keys: start afresh; stored data keeps (and counts) its own.
            self.interned = HashSet::new();
        }
        self.interned.insert(v.clone());
        v
    }

    pub fn counters(&self) -> Counters {
        Counters {
            logs_stored: self.logs.len(),
            log_bytes_stored: self.log_bytes,
            traces_stored: self.traces.len(),
            ..self.counters.clone()
        }
    }

    /// A copy to analyse without holding the ingest lock: the traces and logs are shared,
    /// so it costs a pointer per trace and per log record.
    pub fn snapshot(&self) -> Store {
        Store {
            limits: self.limits,
            traces: self.traces.clone(),
            order: VecDeque::new(),
            logs: self.logs.clone(),
            log_bytes: self.log_bytes,
            metrics: self.metrics.clone(),
            gauges: self.gauges.clone(),
            counters: self.counters.clone(),
            // The analysis neither interns nor evicts.
            interned: HashSet::new(),
        }
    }

    /// What the stored data may take: `max_bytes` less the room the process needs besides it
    /// (its code and runtimes, requests being decoded, the allocator's free lists).
    fn data_budget(&self) -> usize {
        self.limits.max_bytes / 100 * DATA_SHARE_PERCENT
    }

    /// Traces get what logs do not: three quarters of the data budget.
    fn span_budget(&self) -> usize {
        self.data_budget() - self.log_budget()
    }

    fn log_budget(&self) -> usize {
        self.data_budget() / 4
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
                    let attributes: Vec<_> = span
                        .attributes
                        .into_iter()
                        .take(128)
                        .map(|kv| {
                            (
                                self.intern(&kv.key),
                                bounded(into_text(kv.value), MAX_VALUE_BYTES),
                            )
                        })
                        .collect();
                    let stored = StoredSpan {
                        trace_id,
                        span_id,
                        parent,
                        service: service.clone(),
                        name: bounded(span.name, MAX_VALUE_BYTES),
                        kind: span.kind,
                        start_ns: span.start_time_unix_nano,
                        end_ns: span.end_time_unix_nano,
                        // OTLP status code 2 is ERROR.
                        error: span.status.as_ref().is_some_and(|s| s.code == 2),
                        attributes,
                    };
                    let mut bytes = stored.bytes();
                    let trace = self.traces.entry(trace_id).or_insert_with(|| {
                        self.order.push_back(trace_id);
                        bytes += TRACE_OVERHEAD;
                        Arc::new(Trace {
                            spans: Vec::new(),
                            last_seen_ns: now,
                            bytes: 0,
                        })
                    });
                    // Copied only if a snapshot still holds this trace.
                    let trace = Arc::make_mut(trace);
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
            || self.counters.bytes_stored > self.span_budget()
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
                        .into_iter()
                        .take(64)
                        .map(|kv| {
                            (
                                self.intern(&kv.key),
                                bounded(into_text(kv.value), MAX_VALUE_BYTES),
                            )
                        })
                        .collect();
                    let log = StoredLog {
                        time_ns: if record.time_unix_nano > 0 {
                            record.time_unix_nano
                        } else {
                            record.observed_time_unix_nano
                        },
                        service: service.clone(),
                        severity: bounded(
                            if record.severity_text.is_empty() {
                                format!("{}", record.severity_number)
                            } else {
                                record.severity_text
                            },
                            64,
                        ),
                        body: bounded(into_text(record.body), MAX_BODY_BYTES),
                        trace_id: TraceId::try_from(record.trace_id.as_slice())
                            .ok()
                            .filter(|t| *t != [0; 16]),
                        span_id: SpanId::try_from(record.span_id.as_slice())
                            .ok()
                            .filter(|s| *s != [0; 8]),
                        attributes,
                    };
                    self.log_bytes += log.bytes();
                    self.logs.push_back(Arc::new(log));
                    while self.logs.len() > self.limits.max_logs
                        || self.log_bytes > self.log_budget()
                    {
                        let Some(oldest) = self.logs.pop_front() else {
                            break;
                        };
                        self.log_bytes = self.log_bytes.saturating_sub(oldest.bytes());
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
                    if WATCHED_GAUGES.contains(&m.name.as_str())
                        && let Some(metric::Data::Gauge(g)) = &m.data
                    {
                        for p in &g.data_points {
                            let value = match p.value {
                                Some(number_data_point::Value::AsDouble(v)) => v,
                                Some(number_data_point::Value::AsInt(v)) => v as f64,
                                None => continue,
                            };
                            let subscription = p
                                .attributes
                                .iter()
                                .find(|kv| kv.key == "messaging.destination.subscription.name")
                                .map(|kv| bounded(value_text(&kv.value), MAX_KEY_BYTES))
                                .unwrap_or_default();
                            let key = (service.clone(), m.name.clone(), subscription);
                            if self.gauges.len() < 1_000 || self.gauges.contains_key(&key) {
                                self.gauges.insert(key, value);
                            }
                        }
                    }
                    if self.metrics.len() < 10_000 {
                        self.metrics
                            .insert((service.clone(), bounded(m.name, MAX_KEY_BYTES)));
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
