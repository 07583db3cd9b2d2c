//! The console holds its memory cap under any input: a flood of huge log records and of spans
//! with unique attribute keys keeps the resident memory of `tracemart console --max-mib 64`
//! within 1.3× of the cap, and ingest keeps flowing while `/api/summary` is polled.

use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message as _;

const CAP_MIB: usize = 64;

fn kv(k: String, v: String) -> KeyValue {
    KeyValue {
        key: k,
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(v)),
        }),
        ..Default::default()
    }
}

fn resource() -> Option<Resource> {
    Some(Resource {
        attributes: vec![kv("service.name".into(), "flood".into())],
        ..Default::default()
    })
}

fn huge_logs(batch: usize, first: usize) -> Vec<u8> {
    let body = "L".repeat(1024 * 1024);
    let records = (0..batch)
        .map(|i| LogRecord {
            time_unix_nano: 1,
            severity_text: "INFO".into(),
            body: Some(AnyValue {
                value: Some(any_value::Value::StringValue(body.clone())),
            }),
            attributes: vec![kv(format!("log.unique.{}", first + i), "x".repeat(2048))],
            ..Default::default()
        })
        .collect();
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: resource(),
            scope_logs: vec![ScopeLogs {
                log_records: records,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
    .encode_to_vec()
}

fn unique_key_spans(batch: usize, first: usize) -> Vec<u8> {
    let spans = (0..batch)
        .map(|i| {
            let n = first + i;
            let mut trace_id = vec![0u8; 16];
            trace_id[..8].copy_from_slice(&(n as u64 / 4 + 1).to_be_bytes());
            let mut span_id = vec![0u8; 8];
            span_id.copy_from_slice(&(n as u64 + 1).to_be_bytes());
            Span {
                trace_id,
                span_id,
                name: format!("GET /flood/{n}"),
                kind: 2,
                start_time_unix_nano: 1_000,
                end_time_unix_nano: 2_000,
                attributes: (0..8)
                    .map(|k| {
                        kv(
                            format!("unique.key.{n}.{k}.{}", "k".repeat(48)),
                            "v".repeat(512),
                        )
                    })
                    .collect(),
                ..Default::default()
            }
        })
        .collect();
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: resource(),
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
    .encode_to_vec()
}

mod common;

/// A process's resident memory now and at its peak, bytes.
fn resident(pid: u32) -> (usize, usize) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<usize>().ok())
            .map_or(0, |kb| kb * 1024)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// One OTLP/HTTP protobuf export, which must be accepted.
async fn send(http: &reqwest::Client, otlp: &str, path: &str, body: Vec<u8>) {
    let r = http
        .post(format!("{otlp}{path}"))
        .header("content-type", "application/x-protobuf")
        .body(body)
        .send()
        .await
        .expect("the receiver answers");
    assert!(r.status().is_success(), "{path}: {}", r.status());
}

/// `tracemart console` on free ports, stopped on drop.
struct Console {
    child: std::process::Child,
    api: String,
    otlp: String,
}

impl Drop for Console {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn console(max_mib: usize) -> Console {
    let ports = common::free_ports(3);
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_tracemart"))
        .args(["console", "--max-mib", &max_mib.to_string()])
        .env("TRACEMART_CONSOLE_PORT", ports[0].to_string())
        .env("TRACEMART_OTLP_GRPC_PORT", ports[1].to_string())
        .env("TRACEMART_OTLP_HTTP_PORT", ports[2].to_string())
        .env_remove("TRACEMART_HOST")
        .env_remove("MALLOC_ARENA_MAX")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("tracemart console");
    let client = telemetry::tls::blocking_client();
    let deadline = Instant::now() + Duration::from_secs(30);
    let stats = format!("http://127.0.0.1:{}/api/stats", ports[0]);
    while !client
        .get(&stats)
        .send()
        .is_ok_and(|r| r.status().is_success())
    {
        if Instant::now() > deadline || child.try_wait().ok().flatten().is_some() {
            let _ = child.kill();
            panic!("tracemart console did not answer at {stats}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Console {
        child,
        api: format!("http://127.0.0.1:{}", ports[0]),
        otlp: format!("http://127.0.0.1:{}", ports[2]),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_huge_logs_and_unique_keys_stays_within_the_cap() {
    let console = tokio::task::block_in_place(|| console(CAP_MIB));
    let pid = console.child.id();
    let http = telemetry::tls::client();
    let (otlp, api) = (console.otlp.clone(), console.api.clone());
    eprintln!("resident before the flood: {} MiB", resident(pid).0 >> 20);

    // /api/summary polled all along, as a page does.
    let polling = {
        let (http, api) = (http.clone(), api.clone());
        tokio::spawn(async move {
            let mut polls = 0u32;
            let mut slowest = Duration::ZERO;
            let deadline = Instant::now() + Duration::from_secs(120);
            while Instant::now() < deadline {
                let started = Instant::now();
                match http.get(format!("{api}/api/summary")).send().await {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                        polls += 1;
                        slowest = slowest.max(started.elapsed());
                    }
                    _ => break,
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            (polls, slowest)
        })
    };

    let mut peak = 0;
    for round in 0..75 {
        // 4 MiB of logs, 500 spans with 4,000 new keys.
        send(&http, &otlp, "/v1/logs", huge_logs(4, round * 4)).await;
        send(
            &http,
            &otlp,
            "/v1/traces",
            unique_key_spans(500, round * 500),
        )
        .await;
        peak = peak.max(resident(pid).0);
    }
    let stats: serde_json::Value = http
        .get(format!("{api}/api/stats"))
        .send()
        .await
        .expect("stats")
        .json()
        .await
        .expect("json");
    polling.abort();
    let (rss, hwm) = resident(pid);
    eprintln!(
        "cap {CAP_MIB} MiB: resident {} MiB, peak sampled {} MiB, high-water {} MiB; stats {stats}",
        rss >> 20,
        peak >> 20,
        hwm >> 20
    );
    assert_eq!(stats["logs_received"], 300, "every log record arrived");
    assert_eq!(stats["spans_received"], 37_500, "every span arrived");
    let kept = stats["bytes_stored"].as_u64().unwrap_or(u64::MAX)
        + stats["log_bytes_stored"].as_u64().unwrap_or(u64::MAX);
    assert!(
        kept <= (CAP_MIB * 1024 * 1024) as u64,
        "the store counts {kept} bytes, above its cap"
    );
    let limit = CAP_MIB * 1024 * 1024 * 13 / 10;
    assert!(
        hwm <= limit,
        "resident memory peaked at {} MiB, above 1.3 × {CAP_MIB} MiB",
        hwm >> 20
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_flows_while_the_summary_is_computed() {
    let console = tokio::task::block_in_place(|| console(256));
    let http = telemetry::tls::client();
    let (otlp, api) = (console.otlp.clone(), console.api.clone());
    // A full store: the summary has work to do.
    for round in 0..40 {
        let body =
            console::bench::batch(round * 1_000_000, 5_000, &["frontend", "cart", "checkout"]);
        send(&http, &otlp, "/v1/traces", body).await;
    }
    let summaries = {
        let (http, api) = (http.clone(), api.clone());
        tokio::spawn(async move {
            let mut n = 0;
            for _ in 0..20 {
                if let Ok(r) = http.get(format!("{api}/api/summary")).send().await {
                    let _ = r.bytes().await;
                    n += 1;
                }
            }
            n
        })
    };
    // While the summaries run, batches keep arriving and are stored.
    let mut stored_before = None;
    for round in 40..60 {
        let body = console::bench::batch(round * 1_000_000, 500, &["frontend"]);
        send(&http, &otlp, "/v1/traces", body).await;
        let stats: serde_json::Value = http
            .get(format!("{api}/api/stats"))
            .send()
            .await
            .expect("stats")
            .json()
            .await
            .expect("json");
        let received = stats["spans_received"].as_u64().unwrap_or_default();
        if let Some(before) = stored_before {
            assert!(received > before, "ingest moved on while summaries ran");
        }
        stored_before = Some(received);
    }
    assert_eq!(summaries.await.expect("summaries"), 20);
}
