//! `tracemart`: one binary for the whole shop. Parsing and dispatch only; the work is in the
//! `shop` and `telemetry` crates.

mod cli;

use clap::Parser as _;

fn main() -> std::process::ExitCode {
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("tracemart: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
