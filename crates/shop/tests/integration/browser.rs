//! The storefront's telemetry intake, `POST /otlp/v1/traces` on the frontend: a browser's batch
//! reaches both the configured OTLP endpoint and the console, every span with a `traffic.type`;
//! a batch that speaks for a backend service is refused and never forwarded; each client gets
//! its burst, then 429; and seeded garbage, oversized bodies and gzip bombs get a 4xx and
//! nothing else, while the shop stays healthy.

use std::io::Write as _;
use std::net::IpAddr;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use serde_json::json;
use shop::ServiceName;
use telemetry::{Env, Settings};

use crate::support::*;

/// A browser's export: one user interaction and its fetch, the fetch without a traffic type.
fn batch(service: &str, trace_id: &str) -> serde_json::Value {
    json!({"resourceSpans": [{
        "resource": {"attributes": [
            {"key": "service.name", "value": {"stringValue": service}},
            {"key": "user_agent.original", "value": {"stringValue": "Mozilla/5.0 (X11; Linux x86_64) Chrome/130"}}
        ]},
        "scopeSpans": [{
            "scope": {"name": "@opentelemetry/instrumentation-user-interaction"},
            "spans": [
                {"traceId": trace_id, "spanId": "1111111111111111", "name": "click", "kind": 1,
                 "startTimeUnixNano": "1700000000000000000", "endTimeUnixNano": "1700000000100000000",
                 "attributes": [{"key": "traffic.type", "value": {"stringValue": "demo"}},
                                {"key": "session.id", "value": {"stringValue": "web-abc"}}]},
                {"traceId": trace_id, "spanId": "2222222222222222", "parentSpanId": "1111111111111111",
                 "name": "POST", "kind": 3,
                 "startTimeUnixNano": "1700000000010000000", "endTimeUnixNano": "1700000000090000000",
                 "attributes": [{"key": "http.request.method", "value": {"stringValue": "POST"}}]}
            ]
        }]
    }]})
}

fn client_from(ip: [u8; 4]) -> reqwest::Client {
    telemetry::tls::client_builder()
        .local_address(IpAddr::from(ip))
        .timeout(Duration::from_secs(15))
        .build()
        .expect("client")
}

async fn post(
    client: &reqwest::Client,
    url: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> (u16, String) {
    let mut r = client.post(url);
    for (k, v) in headers {
        r = r.header(*k, *v);
    }
    let answer = r.body(body).send().await.expect("request");
    let status = answer.status().as_u16();
    (status, answer.text().await.unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_spans_reach_the_otlp_endpoint_and_the_console_and_impostors_do_not() {
    let receiver = OtlpReceiver::start().await;
    let c = start_console();
    let settings = Settings::from_env(&Env::from_pairs([
        ("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url.as_str()),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
    ]))
    .expect("settings");
    let (database, dir) = temp_sqlite();
    let shop = TestShop::start_exporting(
        test_config(database, None),
        settings,
        Some(&format!("http://{}", c.otlp_http)),
    );
    shop.wait_ready(ServiceName::Frontend).await;
    let url = shop.url(ServiceName::Frontend, "/otlp/v1/traces");
    let http = client_from([127, 0, 0, 1]);

    let trace = "5b8efff798038103d269b633813fc60c";
    let (status, body) = post(
        &http,
        &url,
        &[("content-type", "application/json")],
        batch("storefront-web", trace).to_string().into_bytes(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(serde_json::from_str::<serde_json::Value>(&body).is_ok_and(|v| v.is_object()));
    // The same, gzipped, as another trace.
    let gz_trace = "6c9f0008a9149214e37ac744924ad71d";
    let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(batch("storefront-web", gz_trace).to_string().as_bytes())
        .expect("gzip");
    let (status, _) = post(
        &http,
        &url,
        &[
            ("content-type", "application/json"),
            ("content-encoding", "gzip"),
        ],
        z.finish().expect("gzip"),
    )
    .await;
    assert_eq!(status, 200);
    // A page may not speak for a backend service.
    let impostor = "7d0a1119ba25a325f48bd855a35be82e";
    let (status, body) = post(
        &http,
        &url,
        &[("content-type", "application/json")],
        batch("checkout", impostor).to_string().into_bytes(),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("invalid_otlp") && body.contains("storefront-web"),
        "{body}"
    );

    // The console has both traces, every span storefront-web's with a traffic type.
    let api = format!("http://{}", c.api);
    for t in [trace, gz_trace] {
        let spans = eventually(
            "the browser trace in the console",
            Duration::from_secs(10),
            || {
                let http = http.clone();
                let url = format!("{api}/api/traces/{t}");
                async move {
                    let r = http.get(url).send().await.ok()?;
                    let v: serde_json::Value = r.json().await.ok()?;
                    let spans = v["spans"].as_array()?.clone();
                    (spans.len() == 2).then_some(spans)
                }
            },
        )
        .await;
        for s in &spans {
            assert_eq!(s["service"], "storefront-web");
            assert!(s["attributes"]["traffic.type"].is_string(), "{s}");
        }
        let fetch = spans
            .iter()
            .find(|s| s["name"] == "POST")
            .expect("the fetch");
        assert_eq!(
            fetch["attributes"]["traffic.type"], "baseline",
            "untagged is baseline"
        );
    }
    // The OTLP endpoint got them too, resource and all; the impostor went nowhere.
    let exported = eventually(
        "the browser spans at the OTLP endpoint",
        Duration::from_secs(10),
        || async {
            let spans: Vec<_> = receiver
                .spans()
                .into_iter()
                .filter(|s| s.resource_attr("service.name").as_deref() == Some("storefront-web"))
                .collect();
            (spans.len() >= 4).then_some(spans)
        },
    )
    .await;
    assert!(
        exported
            .iter()
            .all(|s| s.resource_attr("user_agent.original").is_some())
    );
    let impostor_bytes = hex_bytes(impostor);
    assert!(
        receiver
            .spans()
            .iter()
            .all(|s| s.span.trace_id != impostor_bytes)
    );
    let r = http
        .get(format!("{api}/api/traces/{impostor}"))
        .send()
        .await
        .expect("console");
    assert_eq!(r.status().as_u16(), 404);
    shop.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

fn hex_bytes(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_browser_otlp_endpoint_answers_garbage_bombs_and_floods_with_a_4xx_only() {
    let (database, dir) = temp_sqlite();
    let shop = TestShop::start(test_config(database, None));
    shop.wait_ready(ServiceName::Frontend).await;
    let url = shop.url(ServiceName::Frontend, "/otlp/v1/traces");
    let json_ct = [("content-type", "application/json")];
    let valid = batch("storefront-web", "5b8efff798038103d269b633813fc60c").to_string();
    let mut rng = StdRng::seed_from_u64(11);
    let mut statuses: std::collections::BTreeMap<u16, usize> = Default::default();
    // Clients rotate over loopback addresses, so the rate limit leaves the fuzzing alone.
    let clients: Vec<reqwest::Client> = (2..42u8).map(|i| client_from([127, 0, 0, i])).collect();
    for i in 0..400 {
        let client = &clients[i % clients.len()];
        let case = rng.random_range(0..6);
        let (headers, body): (Vec<(&str, &str)>, Vec<u8>) = match case {
            // Random bytes, as JSON or as protobuf.
            0 => {
                let n = rng.random_range(0..4096);
                let bytes: Vec<u8> = (0..n).map(|_| rng.random()).collect();
                let ct = if rng.random_bool(0.5) {
                    "application/json"
                } else {
                    "application/x-protobuf"
                };
                (vec![("content-type", ct)], bytes)
            }
            // The valid batch, cut short or with a byte changed.
            1 => {
                let mut b = valid.clone().into_bytes();
                let at = rng.random_range(0..b.len());
                if rng.random_bool(0.5) {
                    b.truncate(at);
                } else {
                    b[at] = rng.random();
                }
                (json_ct.to_vec(), b)
            }
            // Right shape, wrong values.
            2 => {
                let bad = [
                    json!({"resourceSpans": 5}),
                    json!({"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "zz", "spanId": "1"}]}]}]}),
                    json!({"resourceSpans": [{"resource": {"attributes": [{"key": "service.name", "value": {"intValue": "7"}}]}}]}),
                    json!([1, 2, 3]),
                    json!(null),
                    json!({"resourceSpans": [{"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "storefront-web"}}]}, "scopeSpans": [{"spans": [{"traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174", "name": "x".repeat(600), "startTimeUnixNano": "1", "endTimeUnixNano": "2"}]}]}]}),
                ];
                (
                    json_ct.to_vec(),
                    bad[rng.random_range(0..bad.len())].to_string().into_bytes(),
                )
            }
            // Larger than the intake takes.
            3 => (json_ct.to_vec(), vec![b' '; 600 * 1024]),
            // gzip: junk, or a bomb that inflates to 32 MiB.
            4 => {
                let body = if rng.random_bool(0.5) {
                    b"\x1f\x8b\x08\x00junk".to_vec()
                } else {
                    let mut z =
                        flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
                    z.write_all(&vec![b'{'; 32 << 20]).expect("gzip");
                    z.finish().expect("gzip")
                };
                (
                    vec![
                        ("content-type", "application/json"),
                        ("content-encoding", "gzip"),
                    ],
                    body,
                )
            }
            // An encoding nobody speaks.
            _ => (
                vec![
                    ("content-type", "application/json"),
                    ("content-encoding", "zstd"),
                ],
                valid.clone().into_bytes(),
            ),
        };
        let (status, body) = post(client, &url, &headers, body).await;
        // A changed byte may leave the batch valid (a letter of a name): then it is taken.
        if case == 1 && status == 200 {
            *statuses.entry(status).or_default() += 1;
            continue;
        }
        assert!(
            (400..500).contains(&status),
            "request {i} (case {case}): {status} {body}"
        );
        assert!(
            body.contains("\"code\""),
            "request {i}: our JSON error: {body}"
        );
        *statuses.entry(status).or_default() += 1;
    }
    println!("browser OTLP fuzz: {statuses:?}");
    for s in [400, 413, 415] {
        assert!(statuses.contains_key(&s), "some {s}: {statuses:?}");
    }

    // One client: its burst, then 429 with Retry-After.
    let one = client_from([127, 0, 0, 99]);
    let mut answered = Vec::new();
    for _ in 0..30 {
        let r = one
            .post(&url)
            .header("content-type", "application/json")
            .body(valid.clone())
            .send()
            .await
            .expect("request");
        answered.push((r.status().as_u16(), r.headers().contains_key("retry-after")));
    }
    assert!(
        answered[..20].iter().all(|(s, _)| *s == 200),
        "{answered:?}"
    );
    assert!(
        answered[20..].iter().all(|(s, retry)| *s == 429 && *retry),
        "{answered:?}"
    );

    // Still healthy: the page, the API and the intake itself.
    assert_eq!(shop.get(ServiceName::Frontend, "/health").await.0, 200);
    assert_eq!(
        shop.get(ServiceName::Frontend, "/api/products/1").await.0,
        200
    );
    let (status, _) = post(
        &client_from([127, 0, 0, 100]),
        &url,
        &json_ct,
        valid.into_bytes(),
    )
    .await;
    assert_eq!(status, 200);
    shop.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}
