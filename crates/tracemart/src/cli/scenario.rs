//! `tracemart scenario list | status | set NAME | clear [NAME] | history [--json]`: the
//! scenario control API from the command line. Any service of the shop answers it.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use serde_json::Value;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
    /// Any service of the shop.
    #[arg(
        long,
        global = true,
        env = "TRACEMART_URL",
        default_value = "http://127.0.0.1:8018"
    )]
    url: String,
    /// The control token, when the shop requires one.
    #[arg(
        long,
        global = true,
        env = "TRACEMART_CONTROL_TOKEN",
        hide_env_values = true
    )]
    token: Option<String>,
    /// Print the API's JSON instead of a table.
    #[arg(long, global = true)]
    json: bool,
}

/// The catalogue's names: listed in `--help`, and a misspelt one gets "a similar value exists".
fn scenario_names() -> clap::builder::PossibleValuesParser {
    clap::builder::PossibleValuesParser::new(shop::scenario::Scenario::ALL.map(|s| s.as_str()))
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// The scenarios there are.
    List,
    /// What is switched on now, at which level.
    Status,
    /// Switch a scenario on, or change it.
    Set {
        /// The scenario (a misspelt one gets a suggestion).
        #[arg(value_parser = scenario_names())]
        name: String,
        /// 1–5; for blackfriday a schedule step 0–5 to hold instead of following the schedule.
        #[arg(long)]
        level: Option<u8>,
        /// Story minutes per real minute (blackfriday): 10 runs the 20-minute story in 2.
        #[arg(long)]
        speed: Option<f64>,
        /// Seed of the fault decisions, for reproducible runs.
        #[arg(long)]
        seed: Option<u64>,
        /// Mark affected spans with fault.injected=true and fault.scenario.
        #[arg(long)]
        mark_faults: bool,
        /// blackfriday: checkout continues without recommendations instead of failing.
        #[arg(long)]
        graceful: bool,
        /// memory-leak, cpu-hotspot: the service to act on.
        #[arg(long)]
        target: Option<String>,
        /// Restart the story now even if the scenario is already on.
        #[arg(long)]
        restart: bool,
    },
    /// Switch one scenario off, or all of them.
    Clear {
        #[arg(value_parser = scenario_names())]
        name: Option<String>,
    },
    /// Every change so far (the ground truth), oldest first.
    History,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(run_async(args))
}

async fn run_async(args: Args) -> anyhow::Result<ExitCode> {
    let http = telemetry::tls::client_builder()
        .timeout(Duration::from_secs(10))
        .build()?;
    let base = args.url.trim_end_matches('/').to_owned();
    let auth = |r: reqwest::RequestBuilder| match &args.token {
        Some(t) => r.bearer_auth(t),
        None => r,
    };
    let request = match &args.command {
        Command::List | Command::Status => http.get(format!("{base}/scenarios")),
        Command::History => http.get(format!("{base}/scenarios/history")),
        Command::Set {
            name,
            level,
            speed,
            seed,
            mark_faults,
            graceful,
            target,
            restart,
        } => {
            let mut body = serde_json::Map::new();
            let mut put = |k: &str, v: Value| {
                body.insert(k.to_owned(), v);
            };
            if let Some(l) = level {
                put("level", (*l).into());
            }
            if let Some(s) = speed {
                put("speed", (*s).into());
            }
            if let Some(s) = seed {
                put("seed", (*s).into());
            }
            if *mark_faults {
                put("mark_faults", true.into());
            }
            if *graceful {
                put("graceful", true.into());
            }
            if let Some(t) = target {
                put("target", t.clone().into());
            }
            if *restart {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)?
                    .as_millis() as i64;
                put("started_at", now.into());
            }
            auth(http.put(format!("{base}/scenarios/{name}")).json(&body))
        }
        Command::Clear { name: Some(name) } => {
            auth(http.delete(format!("{base}/scenarios/{name}")))
        }
        Command::Clear { name: None } => auth(http.delete(format!("{base}/scenarios"))),
    };
    let response = request.send().await.with_context(|| {
        format!("cannot reach the shop at {base} (is it running? --url / TRACEMART_URL)")
    })?;
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        let message = body["error"]["message"].as_str().unwrap_or("no details");
        eprintln!("tracemart scenario: {status}: {message}");
        return Ok(ExitCode::FAILURE);
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&body)?);
        return Ok(ExitCode::SUCCESS);
    }
    match &args.command {
        Command::List => {
            println!(
                "{:<28} {:<16} {:<32} fault",
                "scenario", "target", "operation"
            );
            for d in body["available"].as_array().into_iter().flatten() {
                println!(
                    "{:<28} {:<16} {:<32} {}",
                    text(&d["name"]),
                    text(&d["target"]),
                    text(&d["operation"]),
                    text(&d["fault_type"])
                );
            }
        }
        Command::Status => {
            let active = body["active"].as_array().cloned().unwrap_or_default();
            let sharing = if body["shared"].as_bool() == Some(true) {
                "shared through Redis"
            } else {
                "this process only"
            };
            if active.is_empty() {
                println!("no scenario is on ({sharing})");
            }
            for a in active {
                println!(
                    "{:<28} level {} on {:<16} since {} (story minute {}, speed {}){}",
                    text(&a["scenario"]),
                    a["current_level"],
                    text(&a["target"]),
                    text(&a["started_at"]),
                    a["story_minutes"],
                    a["speed"],
                    if a["mark_faults"].as_bool() == Some(true) {
                        ", faults marked"
                    } else {
                        ""
                    }
                );
            }
        }
        Command::Set { .. } => println!(
            "{} is on at level {} on {}",
            text(&body["scenario"]),
            body["current_level"],
            text(&body["target"])
        ),
        Command::Clear { .. } => {
            let changes = body["changes"].as_array().cloned().unwrap_or_default();
            if changes.is_empty() {
                println!("nothing was on");
            }
            for c in changes {
                println!("{} is off", text(&c["scenario"]));
            }
        }
        Command::History => {
            for c in body.as_array().into_iter().flatten() {
                println!(
                    "{}  {:<14} {:<28} level {} on {} ({}, {})",
                    text(&c["at"]),
                    text(&c["action"]),
                    text(&c["scenario"]),
                    c["level"],
                    text(&c["target_service"]),
                    text(&c["fault_type"]),
                    text(&c["source"])
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn text(v: &Value) -> String {
    v.as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| v.to_string())
}
