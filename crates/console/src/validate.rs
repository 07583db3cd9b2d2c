//! The original's success checklist, checked by machine against what the console received.

use serde::Serialize;

use crate::analysis::Summary;

/// What a healthy shop shows.
#[derive(Debug, Clone)]
pub struct Expectations {
    pub services: Vec<String>,
    pub min_depth: usize,
    pub baseline_max_error_rate: f64,
    /// Range of the frontend's baseline p95, ms.
    pub baseline_p95_ms: (f64, f64),
    /// Demo error rate bounds that fit the active scenario.
    pub demo_error_rate: (f64, f64),
    /// Why those bounds (the scenario, or none).
    pub demo_reason: String,
    /// Whether carts are in Redis (so Redis spans must appear under cart).
    pub redis: bool,
    pub metrics: Vec<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Check {
    pub check: String,
    pub passed: bool,
    pub measured: String,
    pub expected: String,
}

fn check(name: &str, passed: bool, measured: String, expected: impl Into<String>) -> Check {
    Check {
        check: name.to_owned(),
        passed,
        measured,
        expected: expected.into(),
    }
}

fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

pub fn evaluate(s: &Summary, e: &Expectations) -> Vec<Check> {
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
    let frontend = |t: &str| {
        s.red
            .iter()
            .find(|r| r.service == "frontend" && r.traffic_type == t)
    };
    match frontend("baseline") {
        Some(r) => {
            out.push(check(
                "baseline error rate",
                r.error_rate <= e.baseline_max_error_rate,
                format!("{} of {} requests", pct(r.error_rate), r.requests),
                format!("<= {}", pct(e.baseline_max_error_rate)),
            ));
            out.push(check(
                "baseline p95",
                (e.baseline_p95_ms.0..=e.baseline_p95_ms.1).contains(&r.p95_ms),
                format!("{} ms", r.p95_ms),
                format!("{}–{} ms", e.baseline_p95_ms.0, e.baseline_p95_ms.1),
            ));
        }
        None => out.push(check(
            "baseline traffic",
            false,
            "no baseline requests at the frontend".into(),
            "baseline journeys",
        )),
    }
    match frontend("demo") {
        Some(r) => out.push(check(
            "demo error rate fits the scenario",
            (e.demo_error_rate.0..=e.demo_error_rate.1).contains(&r.error_rate),
            format!("{} of {} requests", pct(r.error_rate), r.requests),
            format!(
                "{}–{} ({})",
                pct(e.demo_error_rate.0),
                pct(e.demo_error_rate.1),
                e.demo_reason
            ),
        )),
        None => out.push(check(
            "demo traffic",
            false,
            "no demo requests at the frontend".into(),
            "checkout journeys",
        )),
    }
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
    out
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
            demo_error_rate: (0.0, 0.05),
            demo_reason: "none".into(),
            redis: true,
            metrics: vec![],
        }
    }

    fn run(spans: Vec<ResourceSpans>, e: &Expectations) -> Vec<Check> {
        let mut store = Store::new(Limits::default());
        store.add_traces(ExportTraceServiceRequest {
            resource_spans: spans,
        });
        evaluate(&crate::analysis::summary(&store, 0), e)
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
}
