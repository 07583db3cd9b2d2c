//! The span metrics Coralogix's APM reads are only as good as the attributes they group by: a
//! dimension missing from the spans makes an empty label, one with an id in it makes a series per
//! request. The shop runs journeys against PostgreSQL and Redis, exports OTLP to a plain decoder,
//! and every dimension of every span-metrics connector of the Coralogix pipeline (as generated
//! into deploy/span-metrics-dimensions.json) is checked on the spans that connector sees: present
//! on each span it applies to, after the collector's own copies (transform/semconv), and with few
//! distinct values.

use std::collections::{BTreeMap, BTreeSet};

use crate::support::*;
use serde::Deserialize;

const CONTRACT: &str = include_str!("../../../../deploy/span-metrics-dimensions.json");

/// The most distinct values one dimension may take in this run, ...
const LOW_CARDINALITY: usize = 50;
/// ... span names (one per route and statement kind) included.
const SPAN_NAMES: usize = 120;

#[derive(Deserialize)]
struct Contract {
    connectors: BTreeMap<String, Connector>,
    collector_added: BTreeMap<String, String>,
    copies: Vec<Copy>,
}

#[derive(Deserialize)]
struct Connector {
    applies_to: String,
    span_dimensions: Vec<String>,
    always: Vec<String>,
    resource: Vec<String>,
}

#[derive(Deserialize)]
struct Copy {
    from: String,
    to: String,
    kind: Option<String>,
}

const SERVER: i32 = 2;
const CLIENT: i32 = 3;

/// A span's attributes as a connector sees them: its own and its resource's, with the copies
/// the collector makes before the connectors.
fn view(s: &ExportedSpan, copies: &[Copy]) -> BTreeMap<String, String> {
    let mut v: BTreeMap<String, String> = BTreeMap::new();
    for kv in &s.resource {
        if let Some(text) = s.resource_attr(&kv.key) {
            v.insert(kv.key.clone(), text);
        }
    }
    for kv in &s.span.attributes {
        if let Some(text) = s.attr(&kv.key) {
            v.insert(kv.key.clone(), text);
        }
    }
    for c in copies {
        let kind_matches = match c.kind.as_deref() {
            None => true,
            Some("SPAN_KIND_CLIENT") => s.span.kind == CLIENT,
            Some("SPAN_KIND_SERVER") => s.span.kind == SERVER,
            Some(other) => panic!("a copy for kind {other}: teach the test that kind"),
        };
        if kind_matches
            && !v.contains_key(&c.to)
            && let Some(value) = v.get(&c.from).cloned()
        {
            v.insert(c.to.clone(), value);
        }
    }
    v.insert("span.name".into(), s.span.name.clone());
    v.insert("span.kind".into(), s.span.kind.to_string());
    v.insert(
        "status.code".into(),
        s.span.status.as_ref().map_or(0, |st| st.code).to_string(),
    );
    v
}

/// Whether a connector sees the span (its pipeline's filters).
fn seen_by(applies_to: &str, v: &BTreeMap<String, String>) -> bool {
    match applies_to {
        "every span" => true,
        "db.system set" => v.contains_key("db.system"),
        "client with db.namespace and db.system" => {
            v.get("span.kind").map(String::as_str) == Some(&CLIENT.to_string())
                && v.contains_key("db.namespace")
                && v.contains_key("db.system")
        }
        other => panic!("a connector that sees '{other}': teach the test that filter"),
    }
}

/// Whether the conventions put `dimension` on this span: HTTP attributes on HTTP spans (a
/// status code only when a response came), database ones on database spans (a collection only
/// for a statement on one table), the rest on every span.
fn applies(dimension: &str, v: &BTreeMap<String, String>) -> bool {
    let http = v.contains_key("http.request.method");
    let db = v.contains_key("db.system");
    match dimension {
        "http.response.status_code" => {
            http && v
                .get("error.type")
                .is_none_or(|e| e.chars().all(|c| c.is_ascii_digit()))
        }
        "db.collection.name" => {
            db && v.get("db.system").map(String::as_str) != Some("redis")
                && v.get("db.operation.name").is_some_and(|op| {
                    matches!(op.as_str(), "SELECT" | "INSERT" | "UPDATE" | "DELETE")
                })
        }
        d if d.starts_with("http.") => http,
        d if d.starts_with("rpc.") => v.contains_key("rpc.system"),
        d if d.starts_with("db.") => db,
        _ => true,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_span_metrics_dimension_is_on_the_spans_it_groups() {
    let contract: Contract = serde_json::from_str(CONTRACT).expect("the contract parses");
    assert!(
        contract.connectors.len() >= 4,
        "the standard, database and compact connectors are in the contract"
    );
    let (receiver, db) = exported_run(4).await;

    let views: Vec<BTreeMap<String, String>> = receiver
        .spans()
        .iter()
        .map(|s| view(s, &contract.copies))
        .collect();
    assert!(views.len() > 100, "the run exported spans: {}", views.len());

    let mut missing = Vec::new();
    let mut crowded = Vec::new();
    for (name, connector) in &contract.connectors {
        let seen: Vec<&BTreeMap<String, String>> = views
            .iter()
            .filter(|v| seen_by(&connector.applies_to, v))
            .collect();
        assert!(!seen.is_empty(), "{name} sees some spans");
        let dimensions = connector
            .span_dimensions
            .iter()
            .chain(&connector.resource)
            .chain(&connector.always);
        for dimension in dimensions {
            if contract.collector_added.contains_key(dimension) {
                continue;
            }
            let on: Vec<_> = seen.iter().filter(|v| applies(dimension, v)).collect();
            if on.is_empty() {
                // Only what the shop has no spans for may apply to none (gRPC: it speaks HTTP).
                assert!(
                    dimension.starts_with("rpc."),
                    "{name}: {dimension} applies to no span"
                );
                continue;
            }
            let without: Vec<String> = on
                .iter()
                .filter(|v| v.get(dimension.as_str()).is_none_or(|x| x.is_empty()))
                .map(|v| {
                    format!(
                        "{} {}",
                        v.get("service.name").cloned().unwrap_or_default(),
                        v["span.name"]
                    )
                })
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            if !without.is_empty() {
                missing.push(format!("{name}: {dimension} missing on {without:?}"));
            }
            let values: BTreeSet<&String> = on
                .iter()
                .filter_map(|v| v.get(dimension.as_str()))
                .collect();
            let limit = if dimension == "span.name" {
                SPAN_NAMES
            } else {
                LOW_CARDINALITY
            };
            if values.len() > limit {
                crowded.push(format!(
                    "{name}: {dimension} has {} values (at most {limit}), e.g. {:?}",
                    values.len(),
                    values.iter().take(5).collect::<Vec<_>>()
                ));
            }
        }
    }
    assert!(missing.is_empty(), "{missing:#?}");
    assert!(crowded.is_empty(), "{crowded:#?}");

    // What the collector adds is really not sent by the shop (else the contract is stale).
    for added in contract.collector_added.keys() {
        assert!(
            views.iter().all(|v| !v.contains_key(added)),
            "{added} is the collector's to add, yet a span carries it"
        );
    }
    db.drop_now().await;
}
