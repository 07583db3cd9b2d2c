//! What an APM shows, computed over the store: services, the service graph from CLIENT →
//! SERVER pairs (and CLIENT → database, PRODUCER → queue → CONSUMER), RED per service and
//! traffic type, trace depth,
//! orphans, database operations, logs linked to traces, metric names.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use serde::Serialize;

use crate::store::{Counters, SpanId, Store, StoredSpan, hex, kind, now_ns};

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Edge {
    pub from: String,
    pub to: String,
    /// `service`, `database` or `queue` (a messaging destination).
    pub to_kind: String,
    /// `service`, or `queue` for a queue's deliveries to a consumer.
    #[serde(default = "service_kind")]
    pub from_kind: String,
    pub calls: u64,
    /// Calls that failed, by the rule the callee's node follows (`call_failed`): a 4xx
    /// answer is not one.
    pub errors: u64,
    /// Calls the callee answered with a 4xx (a declined card is a 402): counted apart, as
    /// no failure of the callee.
    #[serde(default)]
    pub status_4xx: u64,
    pub error_rate: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
}

fn service_kind() -> String {
    "service".to_owned()
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Red {
    pub service: String,
    pub traffic_type: String,
    pub requests: u64,
    pub errors: u64,
    pub error_rate: f64,
    pub rate_per_s: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct DbOp {
    pub system: String,
    pub service: String,
    pub statement: String,
    pub calls: u64,
    pub errors: u64,
    pub p50_ms: f64,
    pub p95_ms: f64,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct TraceSummary {
    pub trace_id: String,
    pub root_service: String,
    pub root_name: String,
    pub start_unix_ms: u64,
    pub duration_ms: f64,
    pub spans: usize,
    pub services: Vec<String>,
    pub error: bool,
    pub traffic_type: Option<String>,
    pub depth: usize,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Summary {
    pub counters: Counters,
    pub services: Vec<String>,
    pub edges: Vec<Edge>,
    pub red: Vec<Red>,
    pub databases: Vec<DbOp>,
    pub traces: usize,
    pub max_depth: usize,
    /// Spans whose parent never arrived (traces quiet for the settle time only).
    pub orphan_spans: u64,
    pub spans: u64,
    pub spans_without_traffic_type: u64,
    /// Database spans with the stable names, and with the old ones.
    pub db_spans_stable_names: u64,
    pub db_spans_old_names: u64,
    pub logs: u64,
    pub logs_with_trace_id: u64,
    pub metrics: BTreeMap<String, Vec<String>>,
    /// The event path: messages published and processed, queue gauges.
    #[serde(default)]
    pub messaging: crate::messaging::Messaging,
    /// The storefront as the browsers report it: web vitals per page, calls reaching the
    /// backend.
    #[serde(default)]
    pub browser: crate::browser::Browser,
    /// The graph and RED of the last seconds only, when asked for (`?window_s=`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<Window>,
}

/// `edges` and `red` over the requests that started in the last `seconds`: what a page shows
/// as live from its first answer on, with no earlier answer to subtract.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Window {
    /// The seconds covered: those asked for, or fewer when the store holds less (its oldest
    /// span started later), so that rates are not diluted by time nothing was stored for.
    pub seconds: f64,
    pub edges: Vec<Edge>,
    pub red: Vec<Red>,
}

fn ms(ns: u64) -> f64 {
    (ns as f64 / 10_000.0).round() / 100.0
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    ms(sorted[((sorted.len() - 1) as f64 * p).round() as usize])
}

/// p50, p95 and p99 of durations in ns, as ms.
fn percentiles(durations: &mut [u64]) -> (f64, f64, f64) {
    durations.sort_unstable();
    (
        percentile(durations, 0.5),
        percentile(durations, 0.95),
        percentile(durations, 0.99),
    )
}

/// The service-map edge of a messaging span: producer → destination (`queue`), or
/// destination → consumer, with whether it leaves a queue.
fn messaging_edge(s: &StoredSpan) -> Option<((&str, &str, &'static str), bool)> {
    s.attr("messaging.system")?;
    let destination = s.attr("messaging.destination.name")?;
    match s.kind {
        kind::PRODUCER => Some(((&*s.service, destination, "queue"), false)),
        kind::CONSUMER => Some(((destination, &*s.service, "service"), true)),
        _ => None,
    }
}

fn db_system(s: &StoredSpan) -> Option<&str> {
    s.attr("db.system.name").or_else(|| s.attr("db.system"))
}

/// Depth of a trace: the longest chain of parent links from a root.
pub fn depth(spans: &[StoredSpan]) -> usize {
    let parents: HashMap<SpanId, Option<SpanId>> =
        spans.iter().map(|s| (s.span_id, s.parent)).collect();
    spans
        .iter()
        .map(|s| {
            let mut d = 1;
            let mut cur = s.parent;
            while let Some(p) = cur {
                match parents.get(&p) {
                    Some(next) if d < 256 => {
                        d += 1;
                        cur = *next;
                    }
                    _ => break,
                }
            }
            d
        })
        .max()
        .unwrap_or(0)
}

fn root(spans: &[StoredSpan]) -> Option<&StoredSpan> {
    let ids: HashSet<SpanId> = spans.iter().map(|s| s.span_id).collect();
    spans
        .iter()
        .filter(|s| s.parent.is_none_or(|p| !ids.contains(&p)))
        .min_by_key(|s| s.start_ns)
}

pub fn trace_summary(trace_id: &[u8; 16], spans: &[StoredSpan]) -> Option<TraceSummary> {
    let root = root(spans)?;
    let start = spans
        .iter()
        .map(|s| s.start_ns)
        .min()
        .unwrap_or(root.start_ns);
    let end = spans.iter().map(|s| s.end_ns).max().unwrap_or(root.end_ns);
    let services: BTreeSet<String> = spans.iter().map(|s| s.service.to_string()).collect();
    Some(TraceSummary {
        trace_id: hex(trace_id),
        root_service: root.service.to_string(),
        root_name: root.name.clone(),
        start_unix_ms: start / 1_000_000,
        duration_ms: ms(end.saturating_sub(start)),
        spans: spans.len(),
        services: services.into_iter().collect(),
        error: spans.iter().any(|s| s.error),
        traffic_type: root.attr("traffic.type").map(str::to_owned),
        depth: depth(spans),
    })
}

/// RED of one operation (a SERVER span name) of one service, per traffic type.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct OperationRed {
    pub service: String,
    pub operation: String,
    pub traffic_type: String,
    pub requests: u64,
    pub errors: u64,
    pub error_rate: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
}

/// Which operations to measure (the query of `/api/operations`).
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct OperationFilter {
    pub service: Option<String>,
    /// The exact span name, e.g. `GET /products/recommendations`.
    pub operation: Option<String>,
    pub traffic_type: Option<String>,
    /// Only requests that started at or after this time (Unix ms): what happened since a
    /// scenario changed, not before.
    pub since_ms: Option<u64>,
    /// One row per service and traffic type, all its operations together (`operation` `*`).
    #[serde(default)]
    pub merge_operations: bool,
}

/// RED per service, operation and traffic type over the SERVER spans that match.
pub fn operations(store: &Store, f: &OperationFilter) -> Vec<OperationRed> {
    let since_ns = f.since_ms.unwrap_or(0).saturating_mul(1_000_000);
    let mut groups: BTreeMap<(String, String, String), Tally> = BTreeMap::new();
    for s in store.traces.values().flat_map(|t| t.spans.iter()) {
        let traffic = s.attr("traffic.type").unwrap_or("none");
        let wanted = s.kind == kind::SERVER
            && s.start_ns >= since_ns
            && f.service.as_deref().is_none_or(|x| x == &*s.service)
            && f.operation.as_deref().is_none_or(|x| x == s.name)
            && f.traffic_type.as_deref().is_none_or(|x| x == traffic);
        if wanted {
            let operation = if f.merge_operations {
                "*".to_owned()
            } else {
                s.name.clone()
            };
            let e = groups
                .entry((s.service.to_string(), operation, traffic.to_owned()))
                .or_default();
            e.0 += 1;
            e.1 += u64::from(s.error);
            e.2.push(s.duration_ns());
        }
    }
    groups
        .into_iter()
        .map(
            |((service, operation, traffic_type), (requests, errors, mut d))| {
                let (p50, p95, p99) = percentiles(&mut d);
                OperationRed {
                    service,
                    operation,
                    traffic_type,
                    requests,
                    errors,
                    error_rate: errors as f64 / requests.max(1) as f64,
                    p50_ms: p50,
                    p95_ms: p95,
                    p99_ms: p99,
                }
            },
        )
        .collect()
}

/// Filters of the trace list.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct TraceFilter {
    pub service: Option<String>,
    /// Matches span names (e.g. a route).
    pub route: Option<String>,
    /// `error` or `ok`.
    pub status: Option<String>,
    pub traffic_type: Option<String>,
    pub min_duration_ms: Option<f64>,
    pub limit: Option<usize>,
}

pub fn traces(store: &Store, f: &TraceFilter) -> Vec<TraceSummary> {
    let mut out: Vec<TraceSummary> = store
        .traces
        .iter()
        .filter(|(_, t)| {
            f.service
                .as_deref()
                .is_none_or(|s| t.spans.iter().any(|x| &*x.service == s))
                && f.route
                    .as_deref()
                    .is_none_or(|r| t.spans.iter().any(|x| x.name.contains(r)))
        })
        .filter_map(|(id, t)| trace_summary(id, &t.spans))
        .filter(|t| match f.status.as_deref() {
            Some("error") => t.error,
            Some("ok") => !t.error,
            _ => true,
        })
        .filter(|t| {
            f.traffic_type
                .as_deref()
                .is_none_or(|x| t.traffic_type.as_deref() == Some(x))
        })
        .filter(|t| f.min_duration_ms.is_none_or(|m| t.duration_ms >= m))
        .collect();
    out.sort_by_key(|t| std::cmp::Reverse(t.start_unix_ms));
    out.truncate(f.limit.unwrap_or(100).min(1000));
    out
}

/// Calls, errors and durations (ns) of one group.
type Tally = (u64, u64, Vec<u64>);

/// The HTTP status a call was answered with: as the caller recorded it, else as the callee
/// did. None when there was no answer (a timeout, a dropped connection) or no HTTP.
fn http_status(client: &StoredSpan, server: &StoredSpan) -> Option<u16> {
    client
        .attr("http.response.status_code")
        .or_else(|| server.attr("http.response.status_code"))
        .and_then(|v| v.parse().ok())
}

/// Whether a call along an edge failed, by the rule the callee's node follows: its SERVER
/// span is an error (a 5xx, an error status). The caller's error counts too when it got no
/// usable answer (a timeout, a dropped connection, a 5xx from something in between), but not
/// for a 4xx: the semantic conventions make a 4xx an error on the CLIENT span only, and a
/// declined card (402) or a sold-out item is the callee working as it should.
fn call_failed(client: &StoredSpan, server: &StoredSpan, status: Option<u16>) -> bool {
    server.error || (client.error && !is_4xx(status))
}

fn is_4xx(status: Option<u16>) -> bool {
    status.is_some_and(|c| (400..500).contains(&c))
}

/// The service graph and RED of a set of spans (everything stored, or a recent window).
#[derive(Default)]
struct Flows {
    /// Per (from, to, to_kind): the tally and the calls answered with a 4xx.
    edges: BTreeMap<(String, String, &'static str), (Tally, u64)>,
    /// The edges that leave a queue (its deliveries to a consumer).
    from_queue: HashSet<(String, String)>,
    red: BTreeMap<(String, String), Tally>,
}

impl Flows {
    /// A request a service served (a SERVER span, or the root of a trace).
    fn request(&mut self, s: &StoredSpan) {
        let e = self
            .red
            .entry((
                s.service.to_string(),
                s.attr("traffic.type").unwrap_or("none").to_owned(),
            ))
            .or_default();
        e.0 += 1;
        e.1 += u64::from(s.error);
        e.2.push(s.duration_ns());
    }

    fn call(
        &mut self,
        (from, to, to_kind): (&str, &str, &'static str),
        failed: bool,
        status_4xx: bool,
        duration_ns: u64,
    ) {
        let (t, s4xx) = self
            .edges
            .entry((from.to_owned(), to.to_owned(), to_kind))
            .or_default();
        t.0 += 1;
        t.1 += u64::from(failed);
        t.2.push(duration_ns);
        *s4xx += u64::from(status_4xx);
    }

    /// A message published to a queue (PRODUCER) or processed from one (CONSUMER): a
    /// queue has no spans of its own, so the edges fail as these spans say.
    fn queue_call(&mut self, edge: (&str, &str, &'static str), from_queue: bool, s: &StoredSpan) {
        if from_queue {
            self.from_queue
                .insert((edge.0.to_owned(), edge.1.to_owned()));
        }
        self.call(edge, s.error, false, s.duration_ns());
    }

    /// The rows, rates over `seconds`.
    fn rows(self, seconds: f64) -> (Vec<Edge>, Vec<Red>) {
        let Flows {
            edges,
            red,
            from_queue,
        } = self;
        let edges = edges
            .into_iter()
            .map(
                |((from, to, to_kind), ((calls, errors, mut d), status_4xx))| {
                    let (p50, p95, _) = percentiles(&mut d);
                    let from_kind = if from_queue.contains(&(from.clone(), to.clone())) {
                        "queue"
                    } else {
                        "service"
                    };
                    Edge {
                        from_kind: from_kind.to_owned(),
                        from,
                        to,
                        to_kind: to_kind.to_owned(),
                        calls,
                        errors,
                        status_4xx,
                        error_rate: errors as f64 / calls.max(1) as f64,
                        p50_ms: p50,
                        p95_ms: p95,
                    }
                },
            )
            .collect();
        let red = red
            .into_iter()
            .map(|((service, traffic_type), (requests, errors, mut d))| {
                let (p50, p95, p99) = percentiles(&mut d);
                Red {
                    service,
                    traffic_type,
                    requests,
                    errors,
                    error_rate: errors as f64 / requests.max(1) as f64,
                    rate_per_s: (requests as f64 / seconds * 100.0).round() / 100.0,
                    p50_ms: p50,
                    p95_ms: p95,
                    p99_ms: p99,
                }
            })
            .collect();
        (edges, red)
    }
}

/// Everything at once; traces quiet for less than `settle_ns` do not count their missing
/// parents as orphans yet (each service exports on its own schedule). With `window_ns`, the
/// graph and RED of the requests that started within that time before now as well.
pub fn summary(store: &Store, settle_ns: u64, window_ns: Option<u64>) -> Summary {
    let now = now_ns();
    let mut services = BTreeSet::new();
    let mut all = Flows::default();
    // The start of the window, and its flows.
    let mut window = window_ns.map(|w| (now.saturating_sub(w), Flows::default()));
    let mut dbs: BTreeMap<(String, String, String), Tally> = BTreeMap::new();
    let (mut max_depth, mut orphans, mut spans, mut without_traffic, mut stable, mut old) =
        (0, 0u64, 0u64, 0u64, 0u64, 0u64);
    let (mut first, mut last) = (u64::MAX, 0u64);

    for trace in store.traces.values() {
        let by_id: HashMap<SpanId, &StoredSpan> =
            trace.spans.iter().map(|s| (s.span_id, s)).collect();
        max_depth = max_depth.max(depth(&trace.spans));
        let settled = now.saturating_sub(trace.last_seen_ns) >= settle_ns;
        for s in &trace.spans {
            spans += 1;
            first = first.min(s.start_ns);
            last = last.max(s.end_ns);
            services.insert(s.service.to_string());
            if s.attr("traffic.type").is_none() {
                without_traffic += 1;
            }
            if let Some(p) = s.parent
                && settled
                && !by_id.contains_key(&p)
            {
                orphans += 1;
            }
            // in the window: the request (or call) started within it
            let mut recent = window
                .as_mut()
                .and_then(|(since, w)| (s.start_ns >= *since).then_some(w));
            let is_root = s.parent.is_none_or(|p| !by_id.contains_key(&p));
            if s.kind == kind::SERVER || s.kind == kind::CONSUMER || is_root {
                all.request(s);
                if let Some(w) = &mut recent {
                    w.request(s);
                }
            }
            if s.kind == kind::SERVER
                && let Some(parent) = s.parent.and_then(|p| by_id.get(&p))
                && parent.kind == kind::CLIENT
                && parent.service != s.service
            {
                let status = http_status(parent, s);
                let failed = call_failed(parent, s, status);
                let status_4xx = is_4xx(status);
                let edge = (&*parent.service, &*s.service, "service");
                all.call(edge, failed, status_4xx, parent.duration_ns());
                if let Some(w) = &mut recent {
                    w.call(edge, failed, status_4xx, parent.duration_ns());
                }
            }
            if let Some((edge, from_queue)) = messaging_edge(s) {
                all.queue_call(edge, from_queue, s);
                if let Some(w) = &mut recent {
                    w.queue_call(edge, from_queue, s);
                }
            }
            if s.kind == kind::CLIENT
                && let Some(system) = db_system(s)
            {
                if s.attr("db.system.name").is_some() {
                    stable += 1;
                }
                if s.attr("db.system").is_some() {
                    old += 1;
                }
                // a database has no SERVER spans: its calls fail as their CLIENT spans say
                let edge = (&*s.service, system, "database");
                all.call(edge, s.error, false, s.duration_ns());
                if let Some(w) = &mut recent {
                    w.call(edge, s.error, false, s.duration_ns());
                }
                let statement = s
                    .attr("db.query.text")
                    .or_else(|| s.attr("db.statement"))
                    .unwrap_or(&s.name)
                    .to_owned();
                let d = dbs
                    .entry((system.to_owned(), s.service.to_string(), statement))
                    .or_default();
                d.0 += 1;
                d.1 += u64::from(s.error);
                d.2.push(s.duration_ns());
            }
        }
    }
    // the time the stored spans cover
    let stored_s = if last > first {
        ((last - first) as f64 / 1e9).max(1.0)
    } else {
        1.0
    };
    let window = window.map(|(since, flows)| {
        // a store whose oldest span started within the window covers only part of it
        let from = if first <= now {
            since.max(first)
        } else {
            since
        };
        let seconds = (now.saturating_sub(from) as f64 / 1e9).max(1.0);
        let (edges, red) = flows.rows(seconds);
        Window {
            seconds: (seconds * 10.0).round() / 10.0,
            edges,
            red,
        }
    });
    let (edges, red) = all.rows(stored_s);
    let logs = store.logs.len() as u64;
    let mut metrics: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (service, name) in &store.metrics {
        metrics
            .entry(service.to_string())
            .or_default()
            .push(name.clone());
    }
    Summary {
        counters: store.counters(),
        services: services.into_iter().collect(),
        edges,
        red,
        databases: dbs
            .into_iter()
            .map(|((system, service, statement), (calls, errors, mut d))| {
                let (p50, p95, _) = percentiles(&mut d);
                DbOp {
                    system,
                    service,
                    statement,
                    calls,
                    errors,
                    p50_ms: p50,
                    p95_ms: p95,
                }
            })
            .collect(),
        traces: store.traces.len(),
        max_depth,
        orphan_spans: orphans,
        spans,
        spans_without_traffic_type: without_traffic,
        db_spans_stable_names: stable,
        db_spans_old_names: old,
        logs,
        logs_with_trace_id: store.logs.iter().filter(|l| l.trace_id.is_some()).count() as u64,
        metrics,
        messaging: crate::messaging::messaging(store, now, settle_ns),
        browser: crate::browser::browser(store, now, settle_ns),
        window,
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
    use opentelemetry_proto::tonic::resource::v1::Resource;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};

    use super::*;
    use crate::store::Limits;

    fn kv(k: &str, v: &str) -> KeyValue {
        KeyValue {
            key: k.to_owned(),
            value: Some(AnyValue {
                value: Some(any_value::Value::StringValue(v.to_owned())),
            }),
            ..Default::default()
        }
    }

    /// One span as a service exports it.
    struct S<'a> {
        service: &'a str,
        trace: u8,
        id: u8,
        parent: u8,
        kind: i32,
        /// Seconds before now it started; it lasts 10 ms.
        ago_s: u64,
        error: bool,
        attrs: &'a [(&'a str, &'a str)],
    }

    fn store(spans: &[S]) -> Store {
        let start_of = |ago_s: u64| now_ns() - ago_s * 1_000_000_000;
        let resource_spans = spans
            .iter()
            .map(|s| ResourceSpans {
                resource: Some(Resource {
                    attributes: vec![kv("service.name", s.service)],
                    ..Default::default()
                }),
                scope_spans: vec![ScopeSpans {
                    spans: vec![Span {
                        trace_id: vec![s.trace; 16],
                        span_id: vec![s.id; 8],
                        parent_span_id: if s.parent == 0 {
                            vec![]
                        } else {
                            vec![s.parent; 8]
                        },
                        name: format!("{} {}", s.service, s.id),
                        kind: s.kind,
                        start_time_unix_nano: start_of(s.ago_s),
                        end_time_unix_nano: start_of(s.ago_s) + 10_000_000,
                        attributes: s.attrs.iter().map(|(k, v)| kv(k, v)).collect(),
                        status: Some(Status {
                            code: if s.error { 2 } else { 0 },
                            ..Default::default()
                        }),
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
                ..Default::default()
            })
            .collect();
        let mut store = Store::new(Limits::default());
        store.add_traces(ExportTraceServiceRequest { resource_spans });
        store
    }

    #[test]
    fn the_browser_s_calls_that_reach_the_backend_and_its_vitals_per_page_are_counted() {
        let web = crate::browser::BROWSER_SERVICE;
        let fetch = [
            ("http.response.status_code", "201"),
            ("session.id", "web-1"),
        ];
        let lcp = |v: &'static str, rating: &'static str| {
            [
                ("browser.web_vital.name", "lcp"),
                ("browser.web_vital.value", v),
                ("browser.web_vital.rating", rating),
                ("page.route", "/product/:id"),
                ("session.id", "web-2"),
            ]
        };
        let (a, b, c) = (
            lcp("800", "good"),
            lcp("2600", "needs-improvement"),
            lcp("900", "good"),
        );
        let spans = [
            // a click, its fetch, and the frontend serving it
            S {
                service: web,
                trace: 1,
                id: 1,
                parent: 0,
                kind: kind::INTERNAL,
                ago_s: 20,
                error: false,
                attrs: &[],
            },
            S {
                service: web,
                trace: 1,
                id: 2,
                parent: 1,
                kind: kind::CLIENT,
                ago_s: 20,
                error: false,
                attrs: &fetch,
            },
            S {
                service: "frontend",
                trace: 1,
                id: 3,
                parent: 2,
                kind: kind::SERVER,
                ago_s: 20,
                error: false,
                attrs: &[],
            },
            // a fetch whose request never became part of the backend's trace
            S {
                service: web,
                trace: 2,
                id: 4,
                parent: 0,
                kind: kind::CLIENT,
                ago_s: 20,
                error: false,
                attrs: &fetch,
            },
            // one still in flight as far as the store knows: not judged
            S {
                service: web,
                trace: 3,
                id: 5,
                parent: 0,
                kind: kind::CLIENT,
                ago_s: 0,
                error: false,
                attrs: &fetch,
            },
            S {
                service: web,
                trace: 4,
                id: 6,
                parent: 0,
                kind: kind::INTERNAL,
                ago_s: 10,
                error: false,
                attrs: &a,
            },
            S {
                service: web,
                trace: 5,
                id: 7,
                parent: 0,
                kind: kind::INTERNAL,
                ago_s: 10,
                error: false,
                attrs: &b,
            },
            S {
                service: web,
                trace: 6,
                id: 8,
                parent: 0,
                kind: kind::INTERNAL,
                ago_s: 10,
                error: false,
                attrs: &c,
            },
        ];
        let sum = summary(&store(&spans), 5_000_000_000, None);
        let b = &sum.browser;
        assert_eq!((b.fetches, b.fetches_reaching_backend), (2, 1));
        assert_eq!(b.unconnected.len(), 1);
        assert_eq!(b.sessions, 2);
        assert_eq!(b.vitals.len(), 1);
        let v = &b.vitals[0];
        assert_eq!(
            (v.page.as_str(), v.name.as_str(), v.reports),
            ("/product/:id", "lcp", 3)
        );
        assert_eq!(v.p75, 2600.0);
        assert!((v.good_share - 2.0 / 3.0).abs() < 1e-9);
        assert!(
            sum.edges
                .iter()
                .any(|e| e.from == web && e.to == "frontend")
        );
    }

    /// checkout calling payment in trace `trace`, `ago_s` seconds ago: the CLIENT span as
    /// the telemetry crate records it (an error for any 4xx or 5xx, or no answer) and the
    /// SERVER span (an error for a 5xx only). `status` None: the call timed out.
    fn charge(trace: u8, ago_s: u64, status: Option<&'static str>) -> [S<'static>; 2] {
        let code: &'static [(&str, &str)] = match status {
            Some("402") => &[("http.response.status_code", "402")],
            Some("503") => &[("http.response.status_code", "503")],
            Some("200") => &[("http.response.status_code", "200")],
            _ => &[("error.type", "timeout")],
        };
        let server_error = status.is_some_and(|c| c.starts_with('5'));
        [
            S {
                service: "checkout",
                trace,
                id: 1,
                parent: 0,
                kind: kind::CLIENT,
                ago_s,
                error: status != Some("200"),
                attrs: code,
            },
            S {
                service: "payment",
                trace,
                id: 2,
                parent: 1,
                kind: kind::SERVER,
                ago_s,
                error: server_error,
                // the callee answered, late, when the caller had given up
                attrs: if status.is_some() {
                    code
                } else {
                    &[("http.response.status_code", "200")]
                },
            },
        ]
    }

    fn edge<'a>(edges: &'a [Edge], from: &str, to: &str) -> &'a Edge {
        edges
            .iter()
            .find(|e| e.from == from && e.to == to)
            .unwrap_or_else(|| panic!("no edge {from} → {to}"))
    }

    #[test]
    fn a_declined_call_is_no_error_on_its_edge_and_a_503_or_a_timeout_is() {
        let spans: Vec<S> = [
            charge(1, 5, Some("402")),
            charge(2, 5, Some("402")),
            charge(3, 5, Some("200")),
            charge(4, 5, Some("503")),
            charge(5, 5, None),
        ]
        .into_iter()
        .flatten()
        .collect();
        let sum = summary(&store(&spans), 0, None);
        let e = edge(&sum.edges, "checkout", "payment");
        assert_eq!(e.calls, 5);
        assert_eq!(e.errors, 2, "the 503 and the timeout, not the two 402s");
        assert_eq!(e.status_4xx, 2);
        assert!((e.error_rate - 0.4).abs() < 1e-9);
        // the callee's node counts its SERVER spans: the 503, and neither 402
        let payment = sum
            .red
            .iter()
            .find(|r| r.service == "payment")
            .expect("payment's RED");
        assert_eq!((payment.requests, payment.errors), (5, 1));

        // declines alone leave the edge without errors
        let declines: Vec<S> = [charge(1, 5, Some("402")), charge(2, 5, Some("402"))]
            .into_iter()
            .flatten()
            .collect();
        let sum = summary(&store(&declines), 0, None);
        let e = edge(&sum.edges, "checkout", "payment");
        assert_eq!((e.calls, e.errors, e.status_4xx), (2, 0, 2));
        assert_eq!(e.error_rate, 0.0);
    }

    #[test]
    fn the_window_holds_the_requests_that_started_within_it() {
        // a minute ago every charge failed; in the last 30 s one of four did
        let spans: Vec<S> = [
            charge(1, 60, Some("503")),
            charge(2, 55, Some("503")),
            charge(3, 20, Some("200")),
            charge(4, 10, Some("200")),
            charge(5, 5, Some("503")),
            charge(6, 1, Some("402")),
        ]
        .into_iter()
        .flatten()
        .collect();
        let stored = store(&spans);
        assert!(
            summary(&stored, 0, None).window.is_none(),
            "only when asked"
        );
        let sum = summary(&stored, 0, Some(30_000_000_000));
        let all = edge(&sum.edges, "checkout", "payment");
        assert_eq!((all.calls, all.errors), (6, 3), "everything stored");
        let w = sum.window.expect("the window");
        assert_eq!(w.seconds, 30.0);
        let recent = edge(&w.edges, "checkout", "payment");
        assert_eq!(
            (recent.calls, recent.errors, recent.status_4xx),
            (4, 1, 1),
            "the last 30 s"
        );
        let payment = w
            .red
            .iter()
            .find(|r| r.service == "payment")
            .expect("payment's RED in the window");
        assert_eq!((payment.requests, payment.errors), (4, 1));
        assert!((payment.rate_per_s - 4.0 / 30.0).abs() < 0.01);
        let checkout = w
            .red
            .iter()
            .find(|r| r.service == "checkout")
            .expect("checkout's root spans");
        assert_eq!(checkout.requests, 4);

        // a store whose oldest span started 20 s ago covers 20 s of a 30-s window
        let young: Vec<S> = [charge(1, 20, Some("200")), charge(2, 2, Some("200"))]
            .into_iter()
            .flatten()
            .collect();
        let w = summary(&store(&young), 0, Some(30_000_000_000))
            .window
            .expect("the window");
        assert!((w.seconds - 20.0).abs() <= 0.2, "{}", w.seconds);
        let payment = w.red.iter().find(|r| r.service == "payment").expect("RED");
        assert!((payment.rate_per_s - 0.1).abs() < 0.01, "2 in 20 s");
        // an empty store covers the whole window, with nothing in it
        let w = summary(&Store::new(Limits::default()), 0, Some(30_000_000_000))
            .window
            .expect("the window");
        assert_eq!(w.seconds, 30.0);
        assert!(w.red.is_empty() && w.edges.is_empty());
    }
}
