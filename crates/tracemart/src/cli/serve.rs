//! `tracemart serve <service>`: one service per process.

use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;

use shop::ServiceName;
use telemetry::TelemetryHub;

use super::options::{
    RunOptions, install_process_dispatch, port_for, telemetry_settings, wait_for_signal,
};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The service to run (`tracemart services` lists them all).
    #[arg(value_parser = parse_service)]
    service: ServiceName,
    #[command(flatten)]
    run: RunOptions,
    /// Port to listen on (default: the service's usual port, or <SERVICE>_PORT).
    #[arg(long)]
    port: Option<u16>,
    /// Address to listen on.
    #[arg(long, env = "TRACEMART_HOST", default_value = "0.0.0.0")]
    host: IpAddr,
}

fn parse_service(s: &str) -> Result<ServiceName, String> {
    s.parse()
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let env = telemetry::Env::process();
    let settings = telemetry_settings(&env)?;
    let mut config = args.run.shop_config(&env)?;
    let hub = TelemetryHub::new(settings, args.run.log_format())?.honouring_service_name();
    let process = install_process_dispatch(&hub)?;
    let port = match args.port {
        Some(p) => p,
        None => port_for(args.service, &env)?,
    };
    // The service's own URL is where it listens; its peers come from *_SERVICE_URL.
    config.urls.remove(&args.service);
    let shop = shop::start(
        config,
        &hub,
        &[(args.service, SocketAddr::new(args.host, port))],
    )?;
    println!(
        "tracemart {}: {} on http://{}:{port}; telemetry {}",
        env!("CARGO_PKG_VERSION"),
        args.service,
        args.host,
        hub.settings().describe_export()
    );
    wait_for_signal()?;
    // In call order, then the services' and the process's telemetry together.
    shop.shutdown_with(std::slice::from_ref(&process));
    Ok(ExitCode::SUCCESS)
}
