//! The console fed real OTLP by the shop: its analysis matches what the shop sent (the same
//! spans are captured in memory), a trace with a missing parent counts as an orphan, and OTLP
//! arrives over HTTP (protobuf, JSON, gzip) and gRPC.

use std::collections::HashMap;
use std::io::Write as _;
use std::time::Duration;

use crate::support::*;
use opentelemetry::trace::SpanKind;
use serde_json::json;
use shop::ServiceName;
use telemetry::{Env, Settings};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_analysis_matches_what_the_shop_sent() {
    let c = start_console();
    let (database, dir) = temp_sqlite();
    let shop = TestShop::start_exporting(
        test_config(database, None),
        Settings::default(),
        Some(&format!("http://{}", c.otlp_http)),
    );
    shop.wait_ready(ServiceName::Inventory).await;
    // Some journeys, then everything flushed.
    shop.run_journeys(3).await;
    // Order events are still being processed after the journeys: what was sent is known once
    // the shop is quiet (no new span for longer than the outbox relay's idle poll).
    let quiet_by = std::time::Instant::now() + Duration::from_secs(20);
    let mut count = shop.sink.spans().len();
    loop {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let now = shop.sink.spans().len();
        if now == count {
            break;
        }
        assert!(
            std::time::Instant::now() < quiet_by,
            "the shop kept making spans"
        );
        count = now;
    }
    let sent = spans(&shop.sink);
    shop.stop().await; // flushes every exporter

    let http = telemetry::tls::client();
    let summary: serde_json::Value = http
        .get(format!("http://{}/api/summary?settle_s=0", c.api))
        .send()
        .await
        .expect("summary")
        .json()
        .await
        .expect("json");

    // Span counts per service: what was sent is what was stored.
    assert_eq!(
        summary["counters"]["spans_received"].as_u64(),
        Some(sent.len() as u64)
    );
    assert_eq!(summary["spans"].as_u64(), Some(sent.len() as u64));
    assert_eq!(summary["counters"]["spans_dropped"], 0);
    let services: Vec<String> =
        serde_json::from_value(summary["services"].clone()).expect("services");
    let mut sent_services: Vec<String> = sent.iter().map(|s| s.service.clone()).collect();
    sent_services.sort();
    sent_services.dedup();
    assert_eq!(services, sent_services);

    // The graph: an edge per CLIENT → SERVER pair across services, with the same call counts.
    let by_id: HashMap<_, _> = sent.iter().map(|s| (s.id(), s)).collect();
    let mut expected_edges: HashMap<(String, String), u64> = HashMap::new();
    for s in sent.iter().filter(|s| *s.kind() == SpanKind::Server) {
        if let Some(p) = by_id.get(&s.parent())
            && *p.kind() == SpanKind::Client
            && p.service != s.service
        {
            *expected_edges
                .entry((p.service.clone(), s.service.clone()))
                .or_default() += 1;
        }
    }
    let edges = summary["edges"].as_array().expect("edges");
    for ((from, to), calls) in &expected_edges {
        let edge = edges
            .iter()
            .find(|e| e["from"] == *from && e["to"] == *to)
            .unwrap_or_else(|| panic!("edge {from} → {to} missing"));
        assert_eq!(edge["calls"].as_u64(), Some(*calls), "{from} → {to}");
    }
    assert!(
        edges
            .iter()
            .any(|e| e["from"] == "checkout" && e["to"] == "sqlite" && e["to_kind"] == "database")
    );

    // Depth, orphans, traffic.type and logs, as the shop's own spans say.
    let traces = traces(&sent);
    let deepest = traces.values().map(|t| depth(t)).max().unwrap_or(0);
    assert_eq!(summary["max_depth"].as_u64(), Some(deepest as u64));
    assert!(deepest >= 8);
    assert_eq!(summary["orphan_spans"], 0);
    assert_eq!(
        summary["spans_without_traffic_type"].as_u64(),
        Some(
            sent.iter()
                .filter(|s| s.attr("traffic.type").is_none())
                .count() as u64
        )
    );
    assert!(summary["logs_with_trace_id"].as_u64().unwrap_or(0) > 0);
    let red = summary["red"].as_array().expect("red");
    let frontend_demo = red
        .iter()
        .find(|r| r["service"] == "frontend" && r["traffic_type"] == "demo")
        .expect("frontend demo RED");
    let sent_demo = sent
        .iter()
        .filter(|s| {
            s.service == "frontend"
                && *s.kind() == SpanKind::Server
                && s.attr("traffic.type").as_deref() == Some("demo")
        })
        .count();
    assert_eq!(frontend_demo["requests"].as_u64(), Some(sent_demo as u64));

    // A trace list filter and one trace in detail, with its logs.
    let list: serde_json::Value = http
        .get(format!(
            "http://{}/api/traces?service=inventory&traffic_type=demo&limit=5",
            c.api
        ))
        .send()
        .await
        .expect("traces")
        .json()
        .await
        .expect("json");
    let first = &list.as_array().expect("array")[0];
    assert!(
        first["services"]
            .as_array()
            .expect("services")
            .iter()
            .any(|s| s == "inventory")
    );
    let detail: serde_json::Value = http
        .get(format!(
            "http://{}/api/traces/{}",
            c.api,
            first["trace_id"].as_str().expect("id")
        ))
        .send()
        .await
        .expect("trace")
        .json()
        .await
        .expect("json");
    assert_eq!(
        detail["spans"].as_array().map(|s| s.len()),
        first["spans"].as_u64().map(|n| n as usize)
    );
    c.stop();
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otlp_json_gzip_and_grpc_arrive_and_a_missing_parent_is_an_orphan() {
    let c = start_console();
    let http = telemetry::tls::client();
    // OTLP/JSON, gzipped: one span whose parent never comes.
    let body = json!({"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "lonely"}}]},
        "scopeSpans": [{"spans": [{
            "traceId": "5b8efff798038103d269b633813fc60c",
            "spanId": "eee19b7ec3c1b174",
            "parentSpanId": "eee19b7ec3c1b173",
            "name": "GET /lost",
            "kind": 2,
            "startTimeUnixNano": "1544712660000000000",
            "endTimeUnixNano": "1544712661000000000",
            "attributes": [{"key": "traffic.type", "value": {"stringValue": "baseline"}}]
        }]}]
    }]});
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(body.to_string().as_bytes()).expect("gzip");
    let r = http
        .post(format!("http://{}/v1/traces", c.otlp_http))
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .body(gz.finish().expect("gzip"))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 200);
    // Garbage is refused with 400, and the console keeps going.
    let r = http
        .post(format!("http://{}/v1/traces", c.otlp_http))
        .body("not protobuf at all")
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 400);

    // OTLP/gRPC from a service's own exporter.
    let settings = Settings::from_env(&Env::from_pairs([(
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        format!("http://{}", c.otlp_grpc).as_str(),
    )]))
    .expect("settings");
    let hub = telemetry::TelemetryHub::new(settings, telemetry::LogFormat::Off).expect("hub");
    tokio::task::spawn_blocking(move || {
        let t = hub.service("grpc-sender").expect("telemetry");
        tracing::dispatcher::with_default(t.dispatch(), || {
            let span = tracing::info_span!("work", otel.name = "POST /grpc", otel.kind = "server");
            let _e = span.enter();
        });
        t.flush();
        t.shutdown();
    })
    .await
    .expect("send over gRPC");

    let summary: serde_json::Value = eventually("both spans", Duration::from_secs(10), || async {
        let s: serde_json::Value = http
            .get(format!("http://{}/api/summary?settle_s=0", c.api))
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        (s["spans"] == 2).then_some(s)
    })
    .await;
    assert_eq!(summary["services"], json!(["grpc-sender", "lonely"]));
    assert_eq!(
        summary["orphan_spans"], 1,
        "the span whose parent never came"
    );
    // Not yet an orphan while its trace may still be arriving.
    let fresh: serde_json::Value = http
        .get(format!("http://{}/api/summary?settle_s=3600", c.api))
        .send()
        .await
        .expect("summary")
        .json()
        .await
        .expect("json");
    assert_eq!(fresh["orphan_spans"], 0);
    c.stop();
}

#[test]
fn the_store_stays_within_its_cap_and_counts_what_it_drops() {
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
    let mut store = console::store::Store::new(console::Limits {
        max_spans: 1000,
        ..console::Limits::default()
    });
    for t in 0..500u32 {
        let spans = (0..3u8)
            .map(|i| Span {
                trace_id: [t.to_be_bytes().as_slice(), &[1; 12]].concat(),
                span_id: vec![i + 1; 8],
                name: "x".into(),
                ..Default::default()
            })
            .collect();
        store.add_traces(ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                scope_spans: vec![ScopeSpans {
                    spans,
                    ..Default::default()
                }],
                ..Default::default()
            }],
        });
    }
    let c = store.counters();
    assert!(c.spans_stored <= 1000);
    assert_eq!(c.spans_received, 1500);
    assert_eq!(c.spans_dropped as usize + c.spans_stored, 1500);
    assert_eq!(c.traces_dropped as usize + c.traces_stored, 500);
    // The newest traces are the ones kept.
    assert!(store.traces.contains_key(&{
        let mut id = [1u8; 16];
        id[..4].copy_from_slice(&499u32.to_be_bytes());
        id
    }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pages_reach_the_scenario_and_load_apis_through_the_console() {
    let c = start_console();
    let http = telemetry::tls::client();
    let api = format!("http://{}", c.api);
    // Not connected yet: a clear 503.
    let r = http
        .get(format!("{api}/api/shop/scenarios"))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 503);

    let (database, dir) = temp_sqlite();
    let mut config = test_config(database, None);
    config.control_token = Some("t0ken".to_owned());
    let shop = TestShop::start(config);
    c.connect(console::api::Targets {
        shop: Some(shop.url(ServiceName::Frontend, "")),
        load: Some(shop.url(ServiceName::LoadGenerator, "")),
        control_token: Some("t0ken".to_owned()),
    });
    // A change through the console needs the token as at the shop: none, or a wrong one, is
    // refused before it reaches the shop.
    for auth in [None, Some("Bearer wrong")] {
        let mut put = http
            .put(format!("{api}/api/shop/scenarios/payment-failure"))
            .json(&json!({"level": 2}));
        if let Some(a) = auth {
            put = put.header("authorization", a);
        }
        assert_eq!(put.send().await.expect("put").status(), 401, "{auth:?}");
    }
    let r = http
        .put(format!("{api}/api/shop/scenarios/payment-failure"))
        .bearer_auth("t0ken")
        .json(&json!({"level": 2}))
        .send()
        .await
        .expect("put");
    assert_eq!(
        r.status(),
        200,
        "the console forwards the change with the token"
    );
    let status: serde_json::Value = http
        .get(format!("{api}/api/shop/scenarios"))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(status["active"][0]["scenario"], "payment-failure");
    let r = http
        .delete(format!("{api}/api/shop/scenarios/payment-failure"))
        .bearer_auth("t0ken")
        .send()
        .await
        .expect("delete");
    assert_eq!(r.status(), 200);
    let load: serde_json::Value = http
        .get(format!("{api}/api/load/status"))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(load["running"], false);
    let rate = || {
        http.put(format!("{api}/api/load/rate"))
            .json(&json!({"journeys_per_second": 3.0}))
    };
    assert_eq!(
        rate().send().await.expect("put").status(),
        401,
        "load changes need the token too"
    );
    let r = rate().bearer_auth("t0ken").send().await.expect("put");
    assert_eq!(r.status(), 200);
    // Nothing else of the shop is reachable through the console.
    assert_eq!(
        http.get(format!("{api}/api/shop/api/orders/x"))
            .send()
            .await
            .expect("get")
            .status(),
        404
    );
    assert_eq!(
        http.get(format!("{api}/api/load/metrics"))
            .send()
            .await
            .expect("get")
            .status(),
        404
    );
    assert_eq!(
        http.get(format!("{api}/api/other/status"))
            .send()
            .await
            .expect("get")
            .status(),
        404
    );
    // The console's own API is still its own.
    assert_eq!(
        http.get(format!("{api}/api/stats"))
            .send()
            .await
            .expect("get")
            .status(),
        200
    );
    shop.stop().await;
    c.stop();
    let _ = std::fs::remove_dir_all(dir);
}
