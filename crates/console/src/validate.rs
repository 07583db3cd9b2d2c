//! The original's success checklist, checked by machine against what the console received.

use serde::Serialize;

use crate::analysis::{OperationFilter, OperationRed, Summary};

/// What a healthy shop shows.
#[derive(Debug, Clone)]
pub struct Expectations {
    pub services: Vec<String>,
    pub min_depth: usize,
    pub baseline_max_error_rate: f64,
    /// Range of the frontend's baseline p95, ms.
    pub baseline_p95_ms: (f64, f64),
    /// Where the baseline figures are measured: the frontend's baseline requests since the
    /// last scenario change, all operations together.
    pub baseline: OperationFilter,
    /// What the demo traffic shows under the scenario in force.
    pub demo: DemoExpectation,
    /// Whether carts are in Redis (so Redis spans must appear under cart).
    pub redis: bool,
    pub metrics: Vec<String>,
    /// The consumer groups every published order event must reach (none: not checked).
    pub consumer_groups: Vec<String>,
    /// The longest a message may wait between its publish and its processing.
    pub max_event_delay_ms: f64,
}

/// The error rate a scenario (or none) gives demo traffic, measured on the requests it acts
/// on since it last changed — not on what happened before.
#[derive(Debug, Clone)]
pub struct DemoExpectation {
    /// Which requests to measure (the console's `/api/operations` filter).
    pub measure: OperationFilter,
    pub rate: DemoRate,
    /// What is measured and why that rate (the scenario, or none).
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DemoRate {
    /// A failure probability anywhere within these bounds: the upper one widened by three
    /// standard deviations of a binomial at it for the number of requests measured (one
    /// decline in 20 checkouts is no failing shop); judged from 10 requests on.
    Within(f64, f64),
    /// About this failure probability: within three standard deviations for the number of
    /// requests measured; judged from 20 requests on.
    About(f64),
}

/// Three standard deviations of the share of failures among `n` requests failing with
/// probability `p`.
fn slack(p: f64, n: u64) -> f64 {
    3.0 * (p * (1.0 - p) / n.max(1) as f64).sqrt()
}

/// Fewer requests than this say nothing about a failure probability or a percentile.
const MIN_SAMPLE: u64 = 20;
/// An upper bound (a healthy shop's few declines) is judged sooner: with its slack, 10
/// requests tell a failing flow from a healthy one.
const MIN_BOUNDED_SAMPLE: u64 = 10;

impl DemoRate {
    /// The bounds for `n` requests, and the fewest requests that can be judged.
    fn bounds(self, n: u64) -> ((f64, f64), u64) {
        match self {
            DemoRate::Within(lo, hi) => ((lo, (hi + slack(hi, n)).min(1.0)), MIN_BOUNDED_SAMPLE),
            DemoRate::About(p) => {
                let slack = slack(p, n);
                (((p - slack).max(0.0), (p + slack).min(1.0)), MIN_SAMPLE)
            }
        }
    }
}

/// A check's verdict.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pass,
    Fail,
    /// Too few requests since the last scenario change to judge: neither a pass nor a failure.
    NotEnoughData,
}

impl Status {
    /// How the table shows it.
    pub fn label(self) -> &'static str {
        match self {
            Status::Pass => "ok",
            Status::Fail => "FAIL",
            Status::NotEnoughData => "not enough data yet",
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Check {
    pub check: String,
    pub status: Status,
    /// `status == Pass`, for scripts that read only this.
    pub passed: bool,
    pub measured: String,
    pub expected: String,
    /// The requests measured, for the checks judged on a sample.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requests: Option<u64>,
}

fn check(name: &str, passed: bool, measured: String, expected: impl Into<String>) -> Check {
    let status = if passed { Status::Pass } else { Status::Fail };
    Check {
        check: name.to_owned(),
        status,
        passed,
        measured,
        expected: expected.into(),
        requests: None,
    }
}

/// A check judged on `requests` requests: not judged at all below `needed`.
fn sampled(
    name: &str,
    requests: u64,
    needed: u64,
    passed: bool,
    measured: String,
    expected: impl Into<String>,
) -> Check {
    if requests < needed {
        return Check {
            status: Status::NotEnoughData,
            passed: false,
            requests: Some(requests),
            ..check(
                name,
                false,
                format!("{requests} requests so far; {needed} needed to judge"),
                expected,
            )
        };
    }
    Check {
        requests: Some(requests),
        ..check(name, passed, measured, expected)
    }
}

fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

/// What the console measured since the last scenario change: its `/api/operations` answers
/// to `Expectations::baseline` and `Expectations::demo.measure`.
#[derive(Debug, Clone, Default)]
pub struct Recent {
    pub baseline: Vec<OperationRed>,
    pub demo: Vec<OperationRed>,
}

/// The checklist over the console's summary (the whole store: services, graph, spans) and
/// what it measured recently (error rates and latency as they are now).
pub fn evaluate(s: &Summary, recent: &Recent, e: &Expectations) -> Vec<Check> {
    let mut out = Vec::new();
    let missing: Vec<&String> = e
        .services
        .iter()
        .filter(|x| !s.services.contains(x))
        .collect();
    out.push(check(
        "services present",
        missing.is_empty(),
        if missing.is_empty() {
            format!("{} services", s.services.len())
        } else {
            format!(
                "missing: {}",
                missing
                    .iter()
                    .map(|m| m.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        },
        format!("{} services", e.services.len()),
    ));
    let isolated: Vec<&String> = s
        .services
        .iter()
        .filter(|svc| e.services.contains(svc))
        .filter(|svc| {
            !s.edges
                .iter()
                .any(|edge| edge.to_kind == "service" && (&edge.from == *svc || &edge.to == *svc))
        })
        .collect();
    out.push(check(
        "every service connected in the graph",
        isolated.is_empty(),
        if isolated.is_empty() {
            format!(
                "{} service-to-service edges",
                s.edges.iter().filter(|x| x.to_kind == "service").count()
            )
        } else {
            format!(
                "not connected: {}",
                isolated
                    .iter()
                    .map(|m| m.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        },
        "each service calls or is called by another",
    ));
    out.push(check(
        "trace depth",
        s.max_depth >= e.min_depth,
        format!("{} levels", s.max_depth),
        format!(">= {}", e.min_depth),
    ));
    out.push(check(
        "orphan spans",
        s.orphan_spans == 0,
        format!("{} of {} spans", s.orphan_spans, s.spans),
        "0",
    ));
    out.push(check(
        "traffic.type on every span",
        s.spans > 0 && s.spans_without_traffic_type == 0,
        format!(
            "{} of {} spans without it",
            s.spans_without_traffic_type, s.spans
        ),
        "0 without it",
    ));
    let (requests, error_rate, p95_ms) = recent
        .baseline
        .iter()
        .find(|r| r.requests > 0)
        .map_or((0, 0.0, 0.0), |r| (r.requests, r.error_rate, r.p95_ms));
    out.push(sampled(
        "baseline error rate",
        requests,
        MIN_SAMPLE,
        error_rate <= e.baseline_max_error_rate,
        format!("{} of {requests} requests", pct(error_rate)),
        format!("<= {}", pct(e.baseline_max_error_rate)),
    ));
    out.push(sampled(
        "baseline p95",
        requests,
        MIN_SAMPLE,
        (e.baseline_p95_ms.0..=e.baseline_p95_ms.1).contains(&p95_ms),
        format!("{p95_ms} ms"),
        format!("{}–{} ms", e.baseline_p95_ms.0, e.baseline_p95_ms.1),
    ));
    out.push(demo_check(&recent.demo, &e.demo));
    for service in ["product-catalog", "checkout"] {
        let sql: Vec<_> = s
            .databases
            .iter()
            .filter(|d| {
                d.service == service
                    && (d.system == "postgresql" || d.system == "sqlite")
                    && !d.statement.is_empty()
            })
            .collect();
        let systems: std::collections::BTreeSet<&str> =
            sql.iter().map(|d| d.system.as_str()).collect();
        out.push(check(
            &format!("SQL spans with query text under {service}"),
            !sql.is_empty(),
            format!(
                "{} statements ({})",
                sql.len(),
                systems.into_iter().collect::<Vec<_>>().join(", ")
            ),
            "PostgreSQL (or SQLite, embedded) statements",
        ));
    }
    let redis = s
        .databases
        .iter()
        .filter(|d| d.service == "cart" && d.system == "redis")
        .count();
    out.push(if e.redis {
        check(
            "Redis spans under cart",
            redis > 0,
            format!("{redis} commands"),
            "> 0",
        )
    } else {
        check(
            "Redis spans under cart",
            true,
            "n/a: carts are in memory".into(),
            "only with Redis",
        )
    });
    out.push(check(
        "both database attribute generations",
        s.db_spans_stable_names > 0 && s.db_spans_old_names == s.db_spans_stable_names,
        format!(
            "{} stable, {} old",
            s.db_spans_stable_names, s.db_spans_old_names
        ),
        "every DB span carries both",
    ));
    out.push(check(
        "logs carry trace ids",
        s.logs_with_trace_id > 0,
        format!("{} of {} records", s.logs_with_trace_id, s.logs),
        "> 0",
    ));
    let seen: std::collections::BTreeSet<&str> =
        s.metrics.values().flatten().map(String::as_str).collect();
    let absent: Vec<&String> = e
        .metrics
        .iter()
        .filter(|m| !seen.contains(m.as_str()))
        .collect();
    out.push(check(
        "expected metrics",
        absent.is_empty(),
        if absent.is_empty() {
            format!("{} metric names", seen.len())
        } else {
            format!(
                "missing: {}",
                absent
                    .iter()
                    .map(|m| m.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        },
        e.metrics.join(", "),
    ));
    out.extend(messaging_checks(&s.messaging, e));
    out.extend(browser_check(&s.browser));
    out
}

/// When browser spans arrived: every call of the browser that got an answer continues in the
/// backend's trace (its fetch span is the parent of a SERVER span).
fn browser_check(b: &crate::browser::Browser) -> Option<Check> {
    (b.fetches > 0).then(|| {
        check(
            "browser traces reach the backend",
            b.fetches_reaching_backend == b.fetches,
            if b.unconnected.is_empty() {
                format!(
                    "{} of {} browser calls",
                    b.fetches_reaching_backend, b.fetches
                )
            } else {
                format!(
                    "{} of {} browser calls; not reaching it: {}",
                    b.fetches_reaching_backend,
                    b.fetches,
                    b.unconnected.join(", ")
                )
            },
            "every answered fetch of storefront-web is the parent of a SERVER span",
        )
    })
}

/// Order events reach every consumer group, soon, in spans that say what they are.
fn messaging_checks(m: &crate::messaging::Messaging, e: &Expectations) -> Vec<Check> {
    if e.consumer_groups.is_empty() {
        return vec![];
    }
    let flows: Vec<(&String, Option<&crate::messaging::GroupFlow>)> = e
        .consumer_groups
        .iter()
        .map(|g| (g, m.groups.iter().find(|f| &f.group == g)))
        .collect();
    let consumed = |f: Option<&crate::messaging::GroupFlow>| f.map_or(0, |f| f.consumed);
    let every = flows.iter().all(|(_, f)| consumed(*f) == m.published);
    let max_delay = flows
        .iter()
        .filter_map(|(_, f)| f.map(|f| f.max_delay_ms))
        .fold(0.0, f64::max);
    vec![
        sampled(
            "order events processed by every consumer",
            m.published,
            1,
            every,
            flows
                .iter()
                .map(|(g, f)| format!("{g} {} of {}", consumed(*f), m.published))
                .collect::<Vec<_>>()
                .join(", "),
            "every published event, in every group",
        ),
        sampled(
            "order event delay",
            m.published,
            1,
            max_delay <= e.max_event_delay_ms,
            format!("at most {max_delay} ms from publish to processing"),
            format!("<= {} ms", e.max_event_delay_ms),
        ),
        check(
            "messaging span attributes",
            m.spans > 0 && m.spans_missing_attributes == 0,
            if m.missing.is_empty() {
                format!("{} PRODUCER and CONSUMER spans", m.spans)
            } else {
                format!(
                    "{} of {} spans lack some of: {}",
                    m.spans_missing_attributes,
                    m.spans,
                    m.missing.join(", ")
                )
            },
            "messaging.system, destination, operation, message id, consumer group",
        ),
    ]
}

fn demo_check(operations: &[OperationRed], d: &DemoExpectation) -> Check {
    let requests: u64 = operations.iter().map(|o| o.requests).sum();
    let errors: u64 = operations.iter().map(|o| o.errors).sum();
    let rate = errors as f64 / requests.max(1) as f64;
    let ((lo, hi), needed) = d.rate.bounds(requests);
    sampled(
        "demo error rate fits the scenario",
        requests,
        needed,
        (lo..=hi).contains(&rate),
        format!("{} of {requests} requests", pct(rate)),
        format!("{}–{} ({})", pct(lo), pct(hi), d.reason),
    )
}

#[cfg(test)]
mod tests {
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
    use opentelemetry_proto::tonic::resource::v1::Resource;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};

    use super::*;
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

    /// One span of `service`: (trace, id, parent, kind, attributes).
    fn span(
        service: &str,
        trace: u8,
        id: u8,
        parent: u8,
        kind: i32,
        attrs: &[(&str, &str)],
    ) -> ResourceSpans {
        ResourceSpans {
            resource: Some(Resource {
                attributes: vec![kv("service.name", service)],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans: vec![Span {
                    trace_id: vec![trace; 16],
                    span_id: vec![id; 8],
                    parent_span_id: if parent == 0 { vec![] } else { vec![parent; 8] },
                    name: format!("{service} {id}"),
                    kind,
                    start_time_unix_nano: 1_000_000_000,
                    end_time_unix_nano: 1_002_000_000,
                    attributes: attrs.iter().map(|(k, v)| kv(k, v)).collect(),
                    status: Some(Status::default()),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    /// load-generator → frontend → cart (→ redis) in one trace, all baseline.
    fn healthy(cart_trace: u8) -> Vec<ResourceSpans> {
        let b = [("traffic.type", "baseline")];
        vec![
            span("load-generator", 1, 1, 0, 1, &b),
            span("load-generator", 1, 2, 1, 3, &b),
            span("frontend", 1, 3, 2, 2, &b),
            span("frontend", 1, 4, 3, 3, &b),
            span("cart", cart_trace, 5, 4, 2, &b),
            span(
                "cart",
                cart_trace,
                6,
                5,
                3,
                &[
                    ("traffic.type", "baseline"),
                    ("db.system.name", "redis"),
                    ("db.system", "redis"),
                    ("db.query.text", "HGETALL cart:?"),
                ],
            ),
        ]
    }

    fn expectations() -> Expectations {
        Expectations {
            services: vec!["load-generator".into(), "frontend".into(), "cart".into()],
            min_depth: 5,
            baseline_max_error_rate: 0.02,
            baseline_p95_ms: (0.0, 500.0),
            baseline: OperationFilter {
                service: Some("frontend".into()),
                traffic_type: Some("baseline".into()),
                merge_operations: true,
                ..OperationFilter::default()
            },
            demo: DemoExpectation {
                measure: OperationFilter {
                    service: Some("frontend".into()),
                    traffic_type: Some("demo".into()),
                    ..OperationFilter::default()
                },
                rate: DemoRate::Within(0.0, 0.05),
                reason: "none".into(),
            },
            redis: true,
            metrics: vec![],
            consumer_groups: vec![],
            max_event_delay_ms: 10_000.0,
        }
    }

    fn run(spans: Vec<ResourceSpans>, e: &Expectations) -> Vec<Check> {
        let mut store = Store::new(Limits::default());
        store.add_traces(ExportTraceServiceRequest {
            resource_spans: spans,
        });
        let recent = Recent {
            baseline: crate::analysis::operations(&store, &e.baseline),
            demo: crate::analysis::operations(&store, &e.demo.measure),
        };
        evaluate(&crate::analysis::summary(&store, 0, None), &recent, e)
    }

    fn result<'a>(checks: &'a [Check], name: &str) -> &'a Check {
        checks
            .iter()
            .find(|c| c.check == name)
            .unwrap_or_else(|| panic!("no check {name}"))
    }

    #[test]
    fn a_connected_trace_passes_the_trace_checks() {
        let checks = run(healthy(1), &expectations());
        for name in [
            "services present",
            "every service connected in the graph",
            "trace depth",
            "orphan spans",
            "traffic.type on every span",
            "Redis spans under cart",
            "both database attribute generations",
        ] {
            assert!(
                result(&checks, name).passed,
                "{name}: {:?}",
                result(&checks, name)
            );
        }
    }

    #[test]
    fn a_service_that_exports_nothing_fails_by_name() {
        let spans: Vec<_> = healthy(1)
            .into_iter()
            .filter(|rs| !format!("{:?}", rs.resource).contains("\"cart\""))
            .collect();
        let checks = run(spans, &expectations());
        let present = result(&checks, "services present");
        assert!(!present.passed);
        assert_eq!(present.measured, "missing: cart");
    }

    #[test]
    fn broken_propagation_fails_with_a_reason() {
        // cart starts a trace of its own, as in the original: its parent never arrives.
        let checks = run(healthy(9), &expectations());
        let orphans = result(&checks, "orphan spans");
        assert!(!orphans.passed);
        assert!(orphans.measured.starts_with("1 of"), "{}", orphans.measured);
        let graph = result(&checks, "every service connected in the graph");
        assert!(!graph.passed);
        assert!(graph.measured.contains("cart"), "{}", graph.measured);
        assert!(!result(&checks, "trace depth").passed);
    }

    #[test]
    fn missing_traffic_type_and_old_db_names_fail() {
        let mut spans = healthy(1);
        spans.push(span("frontend", 1, 7, 3, 1, &[]));
        spans.push(span(
            "cart",
            1,
            8,
            5,
            3,
            &[("traffic.type", "baseline"), ("db.system.name", "redis")],
        ));
        let checks = run(spans, &expectations());
        assert!(!result(&checks, "traffic.type on every span").passed);
        assert!(!result(&checks, "both database attribute generations").passed);
    }

    /// `n` requests of recommendations on product-catalog (traces `first..first + n`), `failed`
    /// of them errors, starting `start_s` seconds after the epoch.
    fn requests(first: u8, n: u8, failed: u8, start_s: u64) -> Vec<ResourceSpans> {
        served(
            ("product-catalog", "GET /products/recommendations", "demo"),
            first,
            n,
            failed,
            start_s,
        )
    }

    /// `n` SERVER spans of (service, name, traffic type), otherwise as [`requests`].
    fn served(
        (service, name, traffic): (&str, &str, &str),
        first: u8,
        n: u8,
        failed: u8,
        start_s: u64,
    ) -> Vec<ResourceSpans> {
        (0..n)
            .map(|i| {
                let mut rs = span(service, first + i, 1, 0, 2, &[("traffic.type", traffic)]);
                let sp = &mut rs.scope_spans[0].spans[0];
                sp.name = name.into();
                sp.start_time_unix_nano = start_s * 1_000_000_000 + u64::from(i);
                sp.end_time_unix_nano = sp.start_time_unix_nano + 1_000_000;
                if i < failed {
                    sp.status = Some(Status {
                        code: 2,
                        ..Default::default()
                    });
                }
                rs
            })
            .collect()
    }

    fn blackfriday_step(p: f64, since_ms: u64) -> Expectations {
        Expectations {
            demo: DemoExpectation {
                measure: OperationFilter {
                    service: Some("product-catalog".into()),
                    operation: Some("GET /products/recommendations".into()),
                    since_ms: Some(since_ms),
                    ..OperationFilter::default()
                },
                rate: DemoRate::About(p),
                reason: "blackfriday".into(),
            },
            ..expectations()
        }
    }

    #[test]
    fn the_demo_error_rate_is_judged_on_what_happened_since_the_scenario_changed() {
        // Before the step: 150 requests, none failed. Since (t = 100 s): 100, 10 failed (10%).
        let mut spans = requests(1, 150, 0, 10);
        spans.extend(requests(151, 100, 10, 100));
        let demo = |e: &Expectations| {
            result(&run(spans.clone(), e), "demo error rate fits the scenario").clone()
        };
        let since = demo(&blackfriday_step(0.10, 100_000));
        assert!(since.passed, "{since:?}");
        assert_eq!(since.measured, "10.0% of 100 requests");
        // Judged over everything, the same 10% step looks like 4%: the old, wrong answer.
        let all = demo(&blackfriday_step(0.10, 0));
        assert!(!all.passed, "{all:?}");
        // 78% expected, 10% seen: a fault that does not act fails the check.
        assert!(!demo(&blackfriday_step(0.78, 100_000)).passed);
    }

    #[test]
    fn too_few_requests_since_the_change_are_not_judged() {
        let checks = run(requests(1, 5, 5, 100), &blackfriday_step(0.5, 100_000));
        let demo = result(&checks, "demo error rate fits the scenario");
        assert!(!demo.passed);
        assert_eq!(demo.status, super::Status::NotEnoughData);
        assert_eq!(demo.requests, Some(5));
        assert_eq!(demo.measured, "5 requests so far; 20 needed to judge");
        // The same holds for the baseline figures, and for a healthy shop's demo traffic.
        let mut e = expectations();
        e.baseline.since_ms = Some(100_000);
        let browse = ("frontend", "POST /api/browse", "baseline");
        let checks = run(served(browse, 1, 5, 0, 100), &e);
        for name in ["baseline error rate", "baseline p95"] {
            assert_eq!(
                result(&checks, name).status,
                super::Status::NotEnoughData,
                "{name}"
            );
        }
    }

    #[test]
    fn a_healthy_shop_s_few_declines_are_within_its_binomial_bounds() {
        let checkout = ("frontend", "POST /api/checkout", "demo");
        let e = expectations();
        let judge = |failed| {
            result(
                &run(served(checkout, 1, 20, failed, 10), &e),
                "demo error rate fits the scenario",
            )
            .clone()
        };
        // At most 5% fail, plus three standard deviations at 20 requests (14.6 points).
        for (failed, status) in [
            (1, super::Status::Pass),
            (3, super::Status::Pass),
            (4, super::Status::Fail),
            (10, super::Status::Fail),
        ] {
            let check = judge(failed);
            assert_eq!(check.status, status, "{failed} of 20: {check:?}");
            assert_eq!(check.requests, Some(20));
        }
        assert_eq!(judge(1).expected, "0.0%–19.6% (none)");
    }

    #[test]
    fn baseline_figures_are_those_since_the_last_change() {
        // A scenario that failed baseline requests, then cleared at t = 100 s.
        let browse = ("frontend", "POST /api/browse", "baseline");
        let mut spans = served(browse, 1, 40, 40, 10);
        spans.extend(served(browse, 41, 40, 0, 100));
        let mut e = expectations();
        e.baseline.since_ms = Some(100_000);
        let now = result(&run(spans.clone(), &e), "baseline error rate").clone();
        assert!(now.passed, "{now:?}");
        assert_eq!(now.measured, "0.0% of 40 requests");
        e.baseline.since_ms = None;
        let all = result(&run(spans, &e), "baseline error rate").clone();
        assert!(
            !all.passed,
            "the whole store still holds the failures: {all:?}"
        );
    }
}
