//! `tracemart validate`: the success checklist, checked by machine against the console's store
//! (or by listening as an OTLP endpoint for a while), with the measured figure beside each check.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use console::analysis::{OperationFilter, OperationRed};
use console::validate::{Check, DemoExpectation, DemoRate, Expectations, Recent, evaluate};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The console to read.
    #[arg(
        long,
        env = "TRACEMART_CONSOLE_URL",
        default_value = "http://127.0.0.1:8090"
    )]
    console: String,
    /// Instead of reading a console: listen as an OTLP endpoint this long, then check.
    #[arg(long, value_parser = humantime::parse_duration)]
    listen: Option<Duration>,
    /// With --listen: the OTLP/gRPC port.
    #[arg(long, default_value_t = 4317)]
    otlp_grpc_port: u16,
    /// With --listen: the OTLP/HTTP port.
    #[arg(long, default_value_t = 4318)]
    otlp_http_port: u16,
    /// Any service of the shop, to learn the active scenario and whether carts are in Redis.
    #[arg(long, env = "TRACEMART_URL", default_value = "http://127.0.0.1:8018")]
    shop: String,
    /// Which services must be present: the V5 core six, or all twelve.
    #[arg(long, default_value = "all", value_parser = ["core", "all"])]
    expect: String,
    /// Minimum depth of the deepest trace (default 8 for all services, 6 for the core).
    #[arg(long)]
    min_depth: Option<usize>,
    /// Range of the frontend's baseline p95 (the original expected 250ms..500ms).
    #[arg(long, default_value = "0ms..500ms")]
    baseline_p95: String,
    /// Keep checking until everything passes or this much time has gone.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "0s")]
    wait: Duration,
    /// Seconds a trace must be quiet before a missing parent counts as an orphan.
    #[arg(long, default_value_t = 15.0)]
    settle_s: f64,
    #[arg(long)]
    json: bool,
}

const CORE: [&str; 6] = [
    "load-generator",
    "frontend",
    "cart",
    "product-catalog",
    "checkout",
    "payment",
];
const METRICS: [&str; 6] = [
    "http.server.request.duration",
    "http.client.request.duration",
    "db.client.operation.duration",
    "shop.orders",
    "shop.revenue",
    "shop.payment.charges",
];

fn range_ms(s: &str) -> anyhow::Result<(f64, f64)> {
    let (a, b) = s
        .split_once("..")
        .context("--baseline-p95 is MIN..MAX, e.g. 250ms..500ms")?;
    let ms = |v: &str| -> anyhow::Result<f64> {
        Ok(if v.trim() == "0" {
            0.0
        } else {
            humantime::parse_duration(v.trim())?.as_secs_f64() * 1000.0
        })
    };
    Ok((ms(a)?, ms(b)?))
}

/// The console's `/api/operations` with `filter` as its query.
fn operations_url(console_url: &str, filter: &OperationFilter) -> anyhow::Result<reqwest::Url> {
    let mut url = reqwest::Url::parse(&format!("{console_url}/api/operations"))
        .with_context(|| format!("--console {console_url:?} is not a URL"))?;
    {
        let mut q = url.query_pairs_mut();
        let text = [
            ("service", &filter.service),
            ("operation", &filter.operation),
            ("traffic_type", &filter.traffic_type),
        ];
        for (key, value) in text {
            if let Some(v) = value {
                q.append_pair(key, v);
            }
        }
        if let Some(since) = filter.since_ms {
            q.append_pair("since_ms", &since.to_string());
        }
        if filter.merge_operations {
            q.append_pair("merge_operations", "true");
        }
    }
    Ok(url)
}

/// The console's RED of the operations `filter` selects.
async fn operations(
    http: &reqwest::Client,
    console_url: &str,
    filter: &OperationFilter,
) -> anyhow::Result<Vec<OperationRed>> {
    http.get(operations_url(console_url, filter)?)
        .send()
        .await
        .context("cannot reach the console's /api/operations")?
        .json()
        .await
        .context("the console answered something else than operations")
}

async fn get_json(http: &reqwest::Client, url: &str) -> Option<serde_json::Value> {
    match http.get(url).send().await {
        Ok(r) if r.status().is_success() => r.json().await.ok(),
        _ => None,
    }
}

/// What demo traffic should show under the scenarios in `status` (the shop's `/scenarios`):
/// each scenario's failure signature, from the catalogue — the share of its target's requests
/// that fail; no more failures than a healthy shop for latency-only scenarios (payment
/// declines and stock are 4xx, so at most 5% of the frontend's demo requests fail).
fn demo_expectation(status: &serde_json::Value, since_ms: Option<u64>) -> DemoExpectation {
    use shop::scenario::catalogue::FailureSignature;
    let frontend_demo = OperationFilter {
        service: Some("frontend".to_owned()),
        traffic_type: Some("demo".to_owned()),
        since_ms,
        ..OperationFilter::default()
    };
    let mut demo = DemoExpectation {
        measure: frontend_demo.clone(),
        rate: DemoRate::Within(0.0, 0.05),
        reason: "no scenario: payment declines and stock only".to_owned(),
    };
    let mut latency_only = Vec::new();
    for a in status["active"].as_array().into_iter().flatten() {
        let level = a["current_level"]
            .as_u64()
            .unwrap_or(0)
            .min(u64::from(u8::MAX)) as u8;
        let Some(scenario) = a["scenario"]
            .as_str()
            .and_then(shop::scenario::Scenario::parse)
        else {
            continue;
        };
        let name = scenario.as_str();
        let target = a["target"]
            .as_str()
            .and_then(|t| shop::ServiceName::ALL.into_iter().find(|s| s.as_str() == t))
            .unwrap_or(scenario.definition().target);
        match scenario.failure_signature(target, level) {
            FailureSignature::Fails {
                service,
                operation,
                rate,
            } => {
                // Failures the scenario does not cause yet (Black Friday's minute 0) leave
                // the healthy expectation in place.
                if rate <= 0.0 {
                    latency_only.push(format!("{name} at level {level}"));
                    continue;
                }
                demo = DemoExpectation {
                    measure: OperationFilter {
                        service: Some(service.as_str().to_owned()),
                        operation: operation.map(str::to_owned),
                        since_ms,
                        ..OperationFilter::default()
                    },
                    rate: DemoRate::About(rate),
                    reason: format!(
                        "{name} at level {level}: {:.0}% of {} fail",
                        rate * 100.0,
                        operation.map_or_else(
                            || format!("{service} requests"),
                            |o| format!("{service} {o}")
                        )
                    ),
                };
                return demo;
            }
            FailureSignature::LoadDependent => {
                demo = DemoExpectation {
                    measure: frontend_demo.clone(),
                    rate: DemoRate::Within(0.0, 1.0),
                    reason: format!(
                        "{name} at level {level}: how many requests time out depends on the load"
                    ),
                };
            }
            FailureSignature::NoFailures => {
                latency_only.push(format!("{name} at level {level}"));
            }
        }
    }
    if matches!(demo.rate, DemoRate::Within(_, hi) if hi < 1.0) && !latency_only.is_empty() {
        demo.reason = format!(
            "{}: latency only, payment declines and stock as usual",
            latency_only.join(", ")
        );
    }
    demo
}

async fn expectations(args: &Args, http: &reqwest::Client) -> anyhow::Result<Expectations> {
    let services: Vec<String> = if args.expect == "core" {
        CORE.iter().map(|s| (*s).to_owned()).collect()
    } else {
        shop::ServiceName::ALL
            .iter()
            .map(|s| s.as_str().to_owned())
            .collect()
    };
    // The scenario in force decides what demo errors are normal.
    let shop = args.shop.trim_end_matches('/');
    let status: Option<serde_json::Value> = get_json(http, &format!("{shop}/scenarios")).await;
    let redis = status
        .as_ref()
        .and_then(|st| st["shared"].as_bool())
        .unwrap_or(false);
    // Error rates and latency are judged on what happened since the last change (a second
    // later, for replicas that poll their shared state), never on what came before it.
    let since_ms = match &status {
        Some(_) => get_json(http, &format!("{shop}/scenarios/history"))
            .await
            .and_then(|h| h.as_array()?.last()?["at_ms"].as_u64())
            .map(|at| at + 1000),
        None => None,
    };
    let demo = match &status {
        Some(st) => demo_expectation(st, since_ms),
        None => {
            let mut d = demo_expectation(&serde_json::Value::Null, None);
            d.reason
                .push_str("; the shop's scenario state was not reachable");
            d
        }
    };
    let baseline = OperationFilter {
        service: Some("frontend".to_owned()),
        traffic_type: Some("baseline".to_owned()),
        since_ms,
        merge_operations: true,
        ..OperationFilter::default()
    };
    let min_depth = args
        .min_depth
        .unwrap_or(if args.expect == "core" { 6 } else { 8 });
    Ok(Expectations {
        services,
        min_depth,
        baseline_max_error_rate: 0.02,
        baseline_p95_ms: range_ms(&args.baseline_p95)?,
        baseline,
        demo,
        redis,
        metrics: METRICS.iter().map(|m| (*m).to_owned()).collect(),
    })
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let listening = match args.listen {
        Some(d) => {
            let c = console::start(console::ConsoleConfig {
                api: "127.0.0.1:0".parse()?,
                otlp_grpc: std::net::SocketAddr::from(([0, 0, 0, 0], args.otlp_grpc_port)),
                otlp_http: std::net::SocketAddr::from(([0, 0, 0, 0], args.otlp_http_port)),
                ..console::ConsoleConfig::default()
            })?;
            eprintln!(
                "listening for OTLP on {} (gRPC) and {} (HTTP) for {d:?}…",
                c.otlp_grpc, c.otlp_http
            );
            std::thread::sleep(d);
            Some(c)
        }
        None => None,
    };
    let console_url = match &listening {
        Some(c) => format!("http://{}", c.api),
        None => args.console.trim_end_matches('/').to_owned(),
    };
    let checks = rt.block_on(async {
        let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build()?;
        let started = Instant::now();
        loop {
            let expected = expectations(&args, &http).await?;
            let summary: console::analysis::Summary = http
                .get(format!("{console_url}/api/summary?settle_s={}", args.settle_s))
                .send()
                .await
                .with_context(|| format!("cannot reach the console at {console_url} (--console / TRACEMART_CONSOLE_URL)"))?
                .json()
                .await
                .context("the console answered something else than a summary")?;
            let recent = Recent {
                baseline: operations(&http, &console_url, &expected.baseline).await?,
                demo: operations(&http, &console_url, &expected.demo.measure).await?,
            };
            let checks = evaluate(&summary, &recent, &expected);
            if checks.iter().all(|c| c.passed) || started.elapsed() >= args.wait {
                return Ok::<_, anyhow::Error>(checks);
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    })?;
    if let Some(c) = listening {
        c.stop();
    }
    let failed = checks.iter().filter(|c| !c.passed).count();
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(
                &serde_json::json!({ "passed": failed == 0, "checks": checks })
            )?
        );
    } else {
        print_table(&checks);
    }
    if failed > 0 {
        eprintln!(
            "tracemart validate: {failed} of {} checks failed",
            checks.len()
        );
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_table(checks: &[Check]) {
    // Columns as wide as their longest entry, so every row lines up.
    let width = |header: &str, cell: fn(&Check) -> &str| {
        checks
            .iter()
            .map(|c| cell(c).chars().count())
            .chain([header.len()])
            .max()
            .unwrap_or(0)
    };
    let check_w = width("check", |c| &c.check);
    let measured_w = width("measured", |c| &c.measured);
    println!(
        "{:<check_w$} {:<6} {:<measured_w$} expected",
        "check", "result", "measured"
    );
    for c in checks {
        println!(
            "{:<check_w$} {:<6} {:<measured_w$} {}",
            c.check,
            if c.passed { "ok" } else { "FAIL" },
            c.measured,
            c.expected
        );
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{DemoRate, demo_expectation};

    fn with(scenario: &str, target: &str, level: u8) -> serde_json::Value {
        json!({"active": [{"scenario": scenario, "target": target, "current_level": level}]})
    }

    #[test]
    fn each_scenario_is_judged_by_its_own_failures_since_it_changed() {
        let none = demo_expectation(&json!({"active": []}), Some(7));
        assert_eq!(none.measure.service.as_deref(), Some("frontend"));
        assert_eq!(none.measure.traffic_type.as_deref(), Some("demo"));
        assert_eq!(none.measure.since_ms, Some(7));
        assert_eq!(none.rate, DemoRate::Within(0.0, 0.05));

        let bf = demo_expectation(&with("blackfriday", "product-catalog", 2), Some(7));
        assert_eq!(bf.measure.service.as_deref(), Some("product-catalog"));
        assert_eq!(
            bf.measure.operation.as_deref(),
            Some("GET /products/recommendations")
        );
        assert_eq!(bf.measure.since_ms, Some(7));
        assert_eq!(bf.rate, DemoRate::About(0.10));

        // 8% of charges per level fail, 60% of those with a 502 (the rest are 402 declines).
        let payment = demo_expectation(&with("payment-failure", "payment", 3), None);
        assert_eq!(payment.measure.operation.as_deref(), Some("POST /charge"));
        let DemoRate::About(p) = payment.rate else {
            panic!("{:?}", payment.rate)
        };
        assert!((p - 0.144).abs() < 1e-9, "{p}");

        let redis = demo_expectation(&with("redis-outage", "cart", 3), None);
        assert_eq!(redis.measure.service.as_deref(), Some("cart"));
        assert_eq!(redis.measure.operation, None);
        assert_eq!(redis.rate, DemoRate::About(1.0));

        // Latency only: as healthy as no scenario, and it says why.
        let cpu = demo_expectation(&with("cpu-hotspot", "currency", 4), None);
        assert_eq!(cpu.measure.service.as_deref(), Some("frontend"));
        assert_eq!(cpu.rate, DemoRate::Within(0.0, 0.05));
        assert!(
            cpu.reason.contains("cpu-hotspot at level 4: latency only"),
            "{}",
            cpu.reason
        );
        let minute_zero = demo_expectation(&with("blackfriday", "product-catalog", 0), None);
        assert_eq!(minute_zero.rate, DemoRate::Within(0.0, 0.05));

        let pool = demo_expectation(&with("pool-exhaustion", "checkout", 5), None);
        assert_eq!(pool.rate, DemoRate::Within(0.0, 1.0));
        assert!(
            pool.reason.contains("depends on the load"),
            "{}",
            pool.reason
        );
    }
}
