//! `tracemart load`: shopper journeys (or plain requests, `--profile ping`) against any
//! frontend, with a live progress line and a summary per journey, step and traffic type.

use std::io::Write as _;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use shop::api::frontend::client::FrontendClient;
use shop::loadgen::journeys::Target;
use shop::loadgen::stats::{Snapshot, Stats};
use shop::loadgen::{Bound, Model, Plan, Profile, Rate};
use telemetry::{Env, HttpClient, LogFormat, Settings, TelemetryHub};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The frontend (or, with --profile ping, any HTTP server).
    #[arg(long, env = "FRONTEND_URL", default_value = "http://127.0.0.1:8018")]
    target: String,
    /// Open model: journeys started per second.
    #[arg(long, conflicts_with = "users")]
    rate: Option<f64>,
    /// Open model: ramp linearly from --rate to this over --ramp-over.
    #[arg(long, requires = "rate")]
    ramp_to: Option<f64>,
    /// How long the ramp takes (e.g. 60s, 10m).
    #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
    ramp_over: Duration,
    /// Closed model: this many virtual users, each running one journey after another.
    #[arg(long)]
    users: Option<usize>,
    /// Stop starting journeys after this long (e.g. 30s, 5m).
    #[arg(long, value_parser = humantime::parse_duration, conflicts_with = "journeys")]
    duration: Option<Duration>,
    /// Stop after this many journeys.
    #[arg(long)]
    journeys: Option<u64>,
    /// shop (the original's mix), blackfriday (checkouts ramp 60→180/min over 10 min), ping (one GET each).
    #[arg(long, default_value = "shop", value_parser = ["shop", "blackfriday", "ping"])]
    profile: String,
    /// blackfriday: how much faster than the original's 10-minute ramp.
    #[arg(long, default_value_t = 1.0)]
    speed: f64,
    /// The path --profile ping requests.
    #[arg(long, default_value = "/")]
    ping_path: String,
    /// Seed of the journey choices, for reproducible runs.
    #[arg(long)]
    seed: Option<u64>,
    /// Pause between a journey's steps, min..max (e.g. 500ms..2s); 0..0 for none.
    #[arg(long, default_value = "500ms..2s")]
    think_time: String,
    /// traffic.type of baseline traffic (every request but a checkout, and browse journeys).
    #[arg(long, default_value = "baseline", value_parser = traffic_type)]
    baseline_type: String,
    /// traffic.type of demo traffic (the checkout request, and checkout journeys).
    #[arg(long, default_value = "demo", value_parser = traffic_type)]
    demo_type: String,
    /// per-request (as the original: only the checkout request is demo) or per-journey (every
    /// request of a checkout journey is demo).
    #[arg(long, value_enum, default_value_t = super::options::Tagging::PerRequest)]
    tagging: super::options::Tagging,
    /// The most journeys in flight at once (more wait, and the wait counts in their latency).
    #[arg(long, default_value_t = 1024)]
    max_in_flight: usize,
    /// Timeout of one request.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    timeout: Duration,
    /// Exit non-zero when more than this share of requests fail.
    #[arg(long, default_value_t = 0.05)]
    max_error_rate: f64,
    /// Do not create the generator's own spans.
    #[arg(long)]
    no_spans: bool,
    /// Where a local console receives OTLP/HTTP: the journeys' spans go there when no
    /// `OTEL_*` exporter is set and it answers.
    #[arg(
        long,
        env = "TRACEMART_CONSOLE_OTLP",
        default_value = "http://127.0.0.1:4318"
    )]
    console_otlp: String,
    /// Worker threads (default: one per core).
    #[arg(long)]
    workers: Option<usize>,
    /// Print the final summary as JSON (no progress line).
    #[arg(long)]
    json: bool,
    /// Instead of HTTP journeys: this many shoppers in headless Chromium on the storefront
    /// (the page at --target), so the browser's own telemetry flows. Needs Chromium (CHROMIUM
    /// to choose one); --duration or --journeys bound it, --think-time paces it.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=64))]
    browser: Option<u16>,
}

/// A traffic type the shop keeps as given (anything else it replaces with its default).
fn traffic_type(s: &str) -> Result<String, String> {
    if telemetry::baggage::valid_traffic_type(s) {
        Ok(s.to_owned())
    } else {
        Err("1 to 32 letters, digits, '-', '_' or '.'".to_owned())
    }
}

fn parse_think(s: &str) -> anyhow::Result<(u64, u64)> {
    let (a, b) = s.split_once("..").unwrap_or((s, s));
    let ms = |v: &str| -> anyhow::Result<u64> {
        let v = v.trim();
        if v == "0" {
            return Ok(0);
        }
        Ok(humantime::parse_duration(v)
            .with_context(|| format!("--think-time: {v:?} is not a duration"))?
            .as_millis() as u64)
    };
    let (min, max) = (ms(a)?, ms(b)?);
    anyhow::ensure!(min <= max, "--think-time: the minimum is above the maximum");
    Ok((min, max))
}

impl Args {
    fn plan(&self) -> anyhow::Result<(Plan, Bound)> {
        let model = match (self.rate, self.users) {
            (_, Some(users)) => {
                anyhow::ensure!(
                    (1..=100_000).contains(&users),
                    "--users must be 1 to 100000"
                );
                Model::Closed { users }
            }
            (rate, None) => {
                let from = rate.unwrap_or(2.0);
                anyhow::ensure!(from > 0.0 && from <= 1_000_000.0, "--rate must be above 0");
                Model::Open {
                    rate: match self.ramp_to {
                        Some(to) => {
                            anyhow::ensure!(to > 0.0, "--ramp-to must be above 0");
                            Rate::Ramp {
                                from,
                                to,
                                over_s: self.ramp_over.as_secs_f64(),
                            }
                        }
                        None => Rate::Constant { per_second: from },
                    },
                }
            }
        };
        anyhow::ensure!(
            self.speed > 0.0 && self.speed <= 1000.0,
            "--speed must be above 0 and at most 1000"
        );
        anyhow::ensure!(
            (0.0..=1.0).contains(&self.max_error_rate),
            "--max-error-rate must be 0 to 1"
        );
        let profile = Profile::parse(&self.profile, self.speed).context("unknown profile")?;
        let bound = match (self.duration, self.journeys) {
            (Some(d), _) => Bound::Duration(d),
            (None, Some(n)) => Bound::Journeys(n),
            (None, None) => Bound::Duration(Duration::from_secs(30)),
        };
        let think_time_ms = if profile == Profile::Ping {
            (0, 0)
        } else {
            parse_think(&self.think_time)?
        };
        Ok((
            Plan {
                model,
                profile,
                baseline_type: self.baseline_type.clone(),
                demo_type: self.demo_type.clone(),
                tagging: self.tagging.into(),
                think_time_ms,
                max_in_flight: self.max_in_flight.max(1),
            },
            bound,
        ))
    }
}

/// Whether something listens at `url` (a console's OTLP/HTTP receiver).
fn answers(url: &str) -> bool {
    let Ok(u) = reqwest::Url::parse(url) else {
        return false;
    };
    let Some(addr) = u
        .socket_addrs(|| Some(4318))
        .ok()
        .and_then(|a| a.into_iter().next())
    else {
        return false;
    };
    std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(300)).is_ok()
}

/// `--browser N`: shoppers in Chromium instead of HTTP journeys.
fn run_browsers(args: &Args, sessions: u16) -> anyhow::Result<ExitCode> {
    let env = Env::process();
    let chromium = super::browser::find_chromium(env.get("CHROMIUM").map(std::path::Path::new))?;
    let think_ms = parse_think(&args.think_time)?;
    let until = match (args.duration, args.journeys) {
        (Some(d), _) => super::browser::Until::Deadline(std::time::Instant::now() + d),
        (None, Some(n)) => super::browser::Until::Journeys(n),
        (None, None) => {
            super::browser::Until::Deadline(std::time::Instant::now() + Duration::from_secs(30))
        }
    };
    eprintln!(
        "{sessions} browser shopper(s) in {} on {}",
        chromium.display(),
        args.target
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let counts = runtime.block_on(super::browser::run(super::browser::Options {
        target: args.target.clone(),
        sessions: usize::from(sessions),
        until,
        think_ms,
        seed: args.seed.unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        }),
        chromium,
    }))?;
    let n = |a: &std::sync::atomic::AtomicU64| a.load(std::sync::atomic::Ordering::Relaxed);
    let summary = serde_json::json!({
        "journeys": n(&counts.journeys),
        "page_views": n(&counts.page_views),
        "added_to_cart": n(&counts.added),
        "checkouts": n(&counts.checkouts),
        "orders": n(&counts.orders),
        "failed_checkouts": n(&counts.failed_checkouts),
        "broken_journeys": n(&counts.broken),
    });
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        eprintln!(
            "browser journeys {}, page views {}, added to cart {}, checkouts {} ({} ordered, {} on the error page), broken off {}",
            summary["journeys"],
            summary["page_views"],
            summary["added_to_cart"],
            summary["checkouts"],
            summary["orders"],
            summary["failed_checkouts"],
            summary["broken_journeys"]
        );
    }
    let (journeys, broken) = (n(&counts.journeys), n(&counts.broken));
    if journeys == 0 || broken * 2 > journeys {
        eprintln!("tracemart load --browser: {broken} of {journeys} journeys broke off");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if let Some(sessions) = args.browser {
        return run_browsers(&args, sessions);
    }
    let (plan, bound) = args.plan()?;
    let settings =
        Settings::from_env(&Env::process()).context("invalid OpenTelemetry configuration")?;
    // The journeys' spans go to OTEL_*, or else to a local console; when they would go
    // nowhere none are made, so no request carries the context of a span no backend has
    // (every frontend span would be an orphan).
    let console = (!args.no_spans && settings.traces.is_none() && answers(&args.console_otlp))
        .then(|| args.console_otlp.trim_end_matches('/').to_owned());
    let no_spans = args.no_spans || (settings.traces.is_none() && console.is_none());
    if !args.json {
        match (&console, no_spans) {
            (_, true) if !args.no_spans => eprintln!(
                "spans: none (no OTEL_* exporter and no console at {}): requests carry no trace context",
                args.console_otlp
            ),
            (Some(c), false) => eprintln!("spans: to the console at {c}"),
            _ => {}
        }
    }
    let settings = if no_spans {
        Settings {
            disabled: true,
            ..Settings::default()
        }
    } else {
        settings
    };
    let mut hub = TelemetryHub::new(settings, LogFormat::Off)?;
    if let Some(c) = &console {
        hub = hub.with_extra_otlp_http(c);
    }
    let telemetry = hub.service(shop::ServiceName::LoadGenerator.as_str())?;
    let dispatch = if no_spans {
        tracing::Dispatch::none()
    } else {
        telemetry.dispatch().clone()
    };
    let thread_dispatch = dispatch.clone();
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(w) = args.workers {
        builder.worker_threads(w.max(1));
    }
    let runtime = builder
        .enable_all()
        .on_thread_start(move || {
            std::mem::forget(tracing::dispatcher::set_default(&thread_dispatch))
        })
        .build()?;

    let http = HttpClient::new(telemetry.clone(), args.timeout);
    let target = Target {
        frontend: FrontendClient::new(http, &args.target),
        ping_path: args.ping_path.clone(),
        journeys: None,
    };
    let stats = Arc::new(Stats::new());
    let progress = !args.json;
    let snapshot = tracing::dispatcher::with_default(&dispatch, || {
        runtime.block_on(async {
            let (_stop_tx, stop) = tokio::sync::watch::channel(false);
            let run = tokio::spawn(shop::loadgen::run(
                plan,
                bound,
                args.seed,
                target,
                stats.clone(),
                stop,
            ));
            let reporter = {
                let stats = stats.clone();
                tokio::spawn(async move {
                    let mut tick = tokio::time::interval(Duration::from_secs(1));
                    tick.tick().await;
                    loop {
                        tick.tick().await;
                        if progress {
                            progress_line(&stats);
                        }
                    }
                })
            };
            let _ = run.await;
            reporter.abort();
            stats.snapshot()
        })
    });
    let flush = std::thread::spawn(move || telemetry.shutdown());
    let _ = flush.join();

    if args.json {
        println!("{}", serde_json::to_string_pretty(&snapshot)?);
    } else {
        eprintln!();
        print_summary(&snapshot);
    }
    if snapshot.requests == 0 || snapshot.error_rate > args.max_error_rate {
        eprintln!(
            "tracemart load: {:.1}% of {} requests failed (allowed: {:.1}%)",
            snapshot.error_rate * 100.0,
            snapshot.requests,
            args.max_error_rate * 100.0
        );
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

fn progress_line(stats: &Stats) {
    let s = stats.snapshot();
    let p95: Vec<String> = stats
        .p95_by_traffic()
        .into_iter()
        .map(|(t, ms)| format!("p95 {t} {ms:.1} ms"))
        .collect();
    let failed: u64 = s.errors.values().sum();
    let mut err = std::io::stderr().lock();
    let _ = writeln!(
        err,
        "{:>6.1}s  {} requests ({:.0}/s)  {} journeys  errors {} ({:.1}%)  {}  in flight {}",
        s.elapsed_s,
        s.requests,
        s.requests_per_s,
        s.journeys,
        failed,
        s.error_rate * 100.0,
        p95.join("  "),
        s.in_flight
    );
}

fn print_summary(s: &Snapshot) {
    println!(
        "{:<16} {:<12} {:<9} {:>8} {:>7} {:>9} {:>9} {:>9} {:>9}",
        "journey", "step", "traffic", "count", "errors", "p50 ms", "p95 ms", "p99 ms", "max ms"
    );
    for r in &s.rows {
        println!(
            "{:<16} {:<12} {:<9} {:>8} {:>7} {:>9.1} {:>9.1} {:>9.1} {:>9.1}",
            r.key.journey,
            r.key.step,
            r.key.traffic_type,
            r.count,
            r.errors,
            r.p50_ms,
            r.p95_ms,
            r.p99_ms,
            r.max_ms
        );
    }
    let errors: Vec<String> = s.errors.iter().map(|(k, n)| format!("{k:?} {n}")).collect();
    println!(
        "\n{} requests in {:.1} s ({:.0}/s), {} journeys ({} failed); errors: {}",
        s.requests,
        s.elapsed_s,
        s.requests_per_s,
        s.journeys,
        s.journeys_failed,
        if errors.is_empty() {
            "none".to_owned()
        } else {
            errors.join(", ")
        }
    );
}

#[cfg(test)]
mod tests {
    use super::parse_think;

    #[test]
    fn think_time_ranges_parse() {
        assert_eq!(parse_think("500ms..2s").ok(), Some((500, 2000)));
        assert_eq!(parse_think("0..0").ok(), Some((0, 0)));
        assert_eq!(parse_think("1s").ok(), Some((1000, 1000)));
        assert!(parse_think("2s..1s").is_err());
        assert!(parse_think("soon").is_err());
    }
}
