//! The command line: one file per subcommand.

mod bench_ingest;
mod bench_target;
mod browser;
mod console;
mod health;
mod load;
mod options;
mod scenario;
mod serve;
mod services;
mod up;
mod validate;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "tracemart",
    version,
    about = "A realistic e-commerce shop of Rust microservices that produces production-grade OpenTelemetry."
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the whole shop in this process, every service on its own port.
    Up(up::Args),
    /// Run one service in this process (containers, Kubernetes).
    Serve(serve::Args),
    /// Check the shop services running on this host (or one URL or port); exit 0 when they
    /// answer 2xx. For container health checks.
    Health(health::Args),
    /// Run the telemetry console alone: OTLP in on 4317/4318, web UI and API on 8090.
    Console(console::Args),
    /// Check the telemetry by machine: services, graph, depth, orphans, traffic.type, databases, logs, metrics.
    Validate(validate::Args),
    /// Run shopper journeys against a frontend and report latencies and errors.
    Load(load::Args),
    /// Measure the console's ingest: spans per second on one core, memory per 100k spans.
    #[command(hide = true)]
    BenchIngest(bench_ingest::Args),
    /// A trivial HTTP server for load benchmarks.
    #[command(hide = true)]
    BenchTarget(bench_target::Args),
    /// Switch failure scenarios on and off, see what is on and what changed when.
    Scenario(scenario::Args),
    /// List the services, their ports, peers and stores, and the environment the binary reads.
    Services(services::Args),
}

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Up(args) => up::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Health(args) => health::run(args),
        Command::Services(args) => services::run(args),
        Command::Scenario(args) => scenario::run(args),
        Command::Load(args) => load::run(args),
        Command::Console(args) => console::run(args),
        Command::Validate(args) => validate::run(args),
        Command::BenchTarget(args) => bench_target::run(args),
        Command::BenchIngest(args) => bench_ingest::run(args),
    }
}
