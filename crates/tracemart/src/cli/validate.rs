//! `tracemart validate`: the success checklist, checked by machine against the console's store
//! (or by listening as an OTLP endpoint for a while), with the measured figure beside each check.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use console::analysis::{OperationFilter, OperationRed};
use console::validate::{Check, DemoRate, Expectations, Recent, Status, evaluate};
use shop::scenario::Change;
use shop::scenario::api::StatusView;
use shop::scenario::expectation::{DemoExpectation, ExpectedRate};

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
    /// Which services must be present: the original's core services, or all of them.
    #[arg(long, value_enum, default_value_t = Expect::All)]
    expect: Expect,
    /// Minimum depth of the deepest trace (default 8 for all services, 6 for the core).
    #[arg(long)]
    min_depth: Option<usize>,
    /// Range of the frontend's baseline p95: the original expected 250ms..500ms; the shop's
    /// latency model puts it there (use 0..600ms for a shop run with --latency none).
    #[arg(long, default_value = "100ms..600ms")]
    baseline_p95: String,
    /// Keep checking until everything passes or this much time has gone (a check without
    /// enough requests since the last scenario change is waited for too).
    #[arg(long, value_parser = humantime::parse_duration, default_value = "0s")]
    wait: Duration,
    /// Seconds a trace must be quiet before a missing parent counts as an orphan.
    #[arg(long, default_value_t = 15.0)]
    settle_s: f64,
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Expect {
    /// The original's (V5) core services.
    Core,
    /// Every service.
    All,
}

/// Metrics that must have arrived, named by their owners.
const METRICS: [&str; 9] = [
    telemetry::metric::HTTP_SERVER_DURATION,
    telemetry::metric::HTTP_CLIENT_DURATION,
    telemetry::metric::DB_CLIENT_DURATION,
    shop::api::checkout::metric::ORDERS,
    shop::api::checkout::metric::REVENUE,
    shop::api::payment::metric::CHARGES,
    telemetry::messaging::metric::SENT,
    telemetry::messaging::metric::CONSUMED,
    telemetry::messaging::metric::PROCESS_DURATION,
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

async fn get_json<T: serde::de::DeserializeOwned>(http: &reqwest::Client, url: &str) -> Option<T> {
    match http.get(url).send().await {
        Ok(r) if r.status().is_success() => r.json().await.ok(),
        _ => None,
    }
}

/// The console's measurement of what `demo` expects.
fn demo_measurement(
    demo: &DemoExpectation,
    since_ms: Option<u64>,
) -> console::validate::DemoExpectation {
    console::validate::DemoExpectation {
        measure: OperationFilter {
            service: Some(demo.service.as_str().to_owned()),
            operation: demo.operation.map(str::to_owned),
            traffic_type: demo.demo_traffic_only.then(|| "demo".to_owned()),
            since_ms,
            ..OperationFilter::default()
        },
        rate: match demo.rate {
            ExpectedRate::Within(lo, hi) => DemoRate::Within(lo, hi),
            ExpectedRate::About(p) => DemoRate::About(p),
        },
        reason: demo.reason.clone(),
    }
}

/// How long an order event may wait for a consumer in a healthy shop.
const MAX_EVENT_DELAY_MS: f64 = 10_000.0;

async fn expectations(args: &Args, http: &reqwest::Client) -> anyhow::Result<Expectations> {
    let services: Vec<String> = shop::config::SERVICES
        .iter()
        .filter(|s| args.expect == Expect::All || s.core)
        .map(|s| s.id.to_owned())
        .collect();
    // The scenario in force decides what demo errors are normal.
    let shop = args.shop.trim_end_matches('/');
    let status: Option<StatusView> = get_json(http, &format!("{shop}/scenarios")).await;
    let redis = status.as_ref().is_some_and(|st| st.shared);
    // Error rates and latency are judged on what happened since the last change (a second
    // later, for replicas that poll their shared state), never on what came before it.
    let since_ms = match &status {
        Some(_) => get_json::<Vec<Change>>(http, &format!("{shop}/scenarios/history"))
            .await
            .and_then(|h| u64::try_from(h.last()?.at_ms).ok())
            .map(|at| at + 1000),
        None => None,
    };
    let demo = match &status {
        Some(st) => demo_measurement(&DemoExpectation::under(&st.active), since_ms),
        None => demo_measurement(&DemoExpectation::unknown(), None),
    };
    let baseline = OperationFilter {
        service: Some("frontend".to_owned()),
        traffic_type: Some("baseline".to_owned()),
        since_ms,
        merge_operations: true,
        ..OperationFilter::default()
    };
    let min_depth = args.min_depth.unwrap_or(match args.expect {
        Expect::Core => 6,
        Expect::All => 8,
    });
    Ok(Expectations {
        services,
        min_depth,
        baseline_max_error_rate: 0.02,
        baseline_p95_ms: range_ms(&args.baseline_p95)?,
        baseline,
        demo,
        redis,
        metrics: METRICS.iter().map(|m| (*m).to_owned()).collect(),
        consumer_groups: match args.expect {
            Expect::All => shop::broker::GROUPS
                .iter()
                .map(|(group, _)| (*group).to_owned())
                .collect(),
            Expect::Core => vec![],
        },
        max_event_delay_ms: MAX_EVENT_DELAY_MS,
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
        let http = telemetry::tls::client_builder().timeout(Duration::from_secs(10)).build()?;
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
    let count = |status| checks.iter().filter(|c| c.status == status).count();
    let (failed, unjudged) = (count(Status::Fail), count(Status::NotEnoughData));
    let overall = match (failed, unjudged) {
        (0, 0) => Status::Pass,
        (0, _) => Status::NotEnoughData,
        _ => Status::Fail,
    };
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "status": overall,
                "passed": overall == Status::Pass,
                "checks": checks,
            }))?
        );
    } else {
        print_table(&checks);
    }
    match overall {
        Status::Pass => Ok(ExitCode::SUCCESS),
        Status::Fail => {
            eprintln!(
                "tracemart validate: {failed} of {} checks failed",
                checks.len()
            );
            Ok(ExitCode::FAILURE)
        }
        Status::NotEnoughData => {
            eprintln!(
                "tracemart validate: nothing failed, but {unjudged} of {} checks have not enough \
                 data yet (too few requests since the last scenario change; --wait gives them time)",
                checks.len()
            );
            Ok(ExitCode::from(NOT_ENOUGH_DATA))
        }
    }
}

/// The exit code when nothing failed but some checks could not be judged yet.
pub const NOT_ENOUGH_DATA: u8 = 3;

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
    let result_w = width("result", |c| c.status.label());
    let measured_w = width("measured", |c| &c.measured);
    println!(
        "{:<check_w$} {:<result_w$} {:<measured_w$} expected",
        "check", "result", "measured"
    );
    for c in checks {
        println!(
            "{:<check_w$} {:<result_w$} {:<measured_w$} {}",
            c.check,
            c.status.label(),
            c.measured,
            c.expected
        );
    }
}

#[cfg(test)]
mod tests {
    use shop::scenario::expectation::{DemoExpectation, ExpectedRate};

    use super::{DemoRate, demo_measurement};

    #[test]
    fn the_measurement_follows_the_expectation_since_the_change() {
        let mut demo = DemoExpectation::under(&[]);
        let none = demo_measurement(&demo, Some(7));
        assert_eq!(none.measure.service.as_deref(), Some("frontend"));
        assert_eq!(none.measure.traffic_type.as_deref(), Some("demo"));
        assert_eq!(none.measure.since_ms, Some(7));
        assert_eq!(none.rate, DemoRate::Within(0.0, 0.05));

        demo.service = shop::ServiceName::ProductCatalog;
        demo.operation = Some("GET /products/recommendations");
        demo.demo_traffic_only = false;
        demo.rate = ExpectedRate::About(0.10);
        let bf = demo_measurement(&demo, Some(7));
        assert_eq!(bf.measure.service.as_deref(), Some("product-catalog"));
        assert_eq!(
            bf.measure.operation.as_deref(),
            Some("GET /products/recommendations")
        );
        assert_eq!(bf.measure.traffic_type, None);
        assert_eq!(bf.measure.since_ms, Some(7));
        assert_eq!(bf.rate, DemoRate::About(0.10));
    }
}
