//! `tracemart services [--json]`: the services, their ports, peers and stores, and every
//! environment variable the binary reads — the source the deployment manifests are checked
//! against.

use std::process::ExitCode;

use clap::CommandFactory as _;
use shop::ServiceName;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

/// Every environment variable named by a flag of any subcommand, plus the OTel ones and the
/// per-service port and URL variables.
fn environment() -> Vec<String> {
    let mut vars: Vec<String> = Vec::new();
    let cli = super::Cli::command();
    for sub in cli.get_subcommands() {
        for arg in sub.get_arguments() {
            if let Some(env) = arg.get_env() {
                vars.push(env.to_string_lossy().into_owned());
            }
        }
    }
    vars.extend(
        telemetry::settings::VARIABLES
            .iter()
            .map(|v| (*v).to_owned()),
    );
    for s in ServiceName::ALL {
        vars.push(s.url_var().to_owned());
        vars.push(s.port_var().to_owned());
    }
    vars.push("RUST_LOG".to_owned());
    vars.sort();
    vars.dedup();
    vars
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.json {
        let services: Vec<_> = ServiceName::ALL
            .iter()
            .map(|s| {
                serde_json::json!({
                    "name": s.as_str(),
                    "port": s.default_port(),
                    "port_var": s.port_var(),
                    "url_var": s.url_var(),
                    "calls": s.calls().iter().map(|c| c.as_str()).collect::<Vec<_>>(),
                    "stores": s.stores(),
                })
            })
            .collect();
        let doc = serde_json::json!({ "services": services, "environment": environment() });
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        println!(
            "{:<16} {:>5}  {:<28} {:<30} calls",
            "service", "port", "url variable", "stores"
        );
        for s in ServiceName::ALL {
            let calls: Vec<_> = s.calls().iter().map(|c| c.as_str()).collect();
            println!(
                "{:<16} {:>5}  {:<28} {:<30} {}",
                s.as_str(),
                s.default_port(),
                s.url_var(),
                s.stores().join(", "),
                calls.join(", ")
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    #[test]
    fn environment_lists_flag_variables_and_otel_ones() {
        let vars = super::environment();
        for v in [
            "DATABASE_URL",
            "REDIS_URL",
            "LOAD_RATE",
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "PAYMENT_SERVICE_URL",
            "FRONTEND_PORT",
        ] {
            assert!(vars.iter().any(|x| x == v), "{v} missing from {vars:?}");
        }
    }
}
