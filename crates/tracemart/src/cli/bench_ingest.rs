//! `tracemart bench-ingest`: how fast the console decodes and stores OTLP spans on one core,
//! and how much memory 100,000 stored spans take.

use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Spans to ingest.
    #[arg(long, default_value_t = 2_000_000)]
    spans: u64,
    /// Spans per export request.
    #[arg(long, default_value_t = 512)]
    batch: usize,
    /// The store's span cap (the oldest traces are dropped beyond it).
    #[arg(long, default_value_t = 200_000)]
    max_spans: usize,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let limits = console::Limits {
        max_spans: args.max_spans.max(1),
        ..console::Limits::default()
    };
    let services = shop::config::SERVICES.map(|s| s.id);
    let report = console::bench::run(args.spans, args.batch.max(1), limits, &services);
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(ExitCode::SUCCESS)
}
