//! `tracemart up`: the whole shop in one process.

use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::time::Instant;

use shop::ServiceName;
use telemetry::TelemetryHub;

use super::options::{
    RunOptions, SHUTDOWN_HINT, install_process_dispatch, port_for, telemetry_settings,
    wait_for_signal,
};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    run: RunOptions,
    #[command(flatten)]
    console: super::console::ConsoleOptions,
    /// Do not run the embedded telemetry console.
    #[arg(long, env = "TRACEMART_NO_CONSOLE")]
    no_console: bool,
    /// Address every service listens on.
    #[arg(long, env = "TRACEMART_HOST", default_value = "127.0.0.1")]
    host: IpAddr,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let env = telemetry::Env::process();
    let settings = telemetry_settings(&env)?;
    let config = args.run.shop_config(&env)?;
    // The console first: its ports are checked before any service starts.
    let console = if args.no_console {
        None
    } else {
        Some(console::start(args.console.config(args.host))?)
    };
    let mut hub = TelemetryHub::new(settings, args.run.log_format())?;
    if let Some(c) = &console {
        hub = hub.with_extra_otlp_http(&format!("http://{}", c.otlp_http));
    }
    let process = install_process_dispatch(&hub)?;

    let mut listen = Vec::new();
    for service in ServiceName::ALL {
        listen.push((
            service,
            SocketAddr::new(args.host, port_for(service, &env)?),
        ));
    }
    let stores = format!(
        "{}; cart in {}; order events through {}",
        config.database.describe(),
        match &config.redis_url {
            Some(url) => format!("Redis {}", shop::config::redact_url(url)),
            None => "memory".to_owned(),
        },
        match &config.amqp_url {
            Some(url) => format!("RabbitMQ {}", shop::config::redact_url(url)),
            None => "the embedded broker".to_owned(),
        }
    );
    let load = if config.load.autostart {
        format!("{} journeys/s", config.load.rate)
    } else {
        "stopped (POST /start on load-generator)".to_owned()
    };
    let control_token = config.control_token.clone();
    // The console forwards to the shop before the first service listens, so a page opened
    // while the shop starts sees it come up instead of "not connected"; again once every
    // service is bound (a port 0 is known only then).
    let connect = |frontend: String, load: String| {
        if let Some(c) = &console {
            c.connect(console::api::Targets {
                shop: Some(frontend),
                load: Some(load),
                control_token: control_token.clone(),
            });
        }
    };
    let planned = |service: ServiceName| {
        let port = listen
            .iter()
            .find(|(s, _)| *s == service)
            .map_or(0, |(_, a)| a.port());
        format!("http://127.0.0.1:{port}")
    };
    connect(
        planned(ServiceName::Frontend),
        planned(ServiceName::LoadGenerator),
    );
    let shop = shop::start(config, &hub, &listen)?;
    connect(
        shop.url(ServiceName::Frontend),
        shop.url(ServiceName::LoadGenerator),
    );

    println!(
        "tracemart {} — the shop is open ({} ms)",
        env!("CARGO_PKG_VERSION"),
        started.elapsed().as_millis()
    );
    for (service, addr) in shop.services() {
        println!("  {:<16} http://{addr}", service.as_str());
    }
    println!("  stores           {stores}");
    println!("  load             {load}");
    match &console {
        Some(c) => println!(
            "  console          http://{} (OTLP in: gRPC {}, HTTP {})",
            c.api, c.otlp_grpc, c.otlp_http
        ),
        None => println!("  console          off"),
    }
    let otlp = hub.settings().describe_export();
    match (&console, hub.settings().exports_otlp()) {
        (Some(_), true) => println!("  telemetry        to the console and {otlp}"),
        (Some(_), false) => println!(
            "  telemetry        to the console (set OTEL_EXPORTER_OTLP_ENDPOINT to also send it to an APM)"
        ),
        (None, _) => println!("  telemetry        {otlp}"),
    }
    println!(
        "  try              curl -s -X POST http://{}/api/browse",
        shop.addr(ServiceName::Frontend)
            .map(|a| a.to_string())
            .unwrap_or_default()
    );
    println!("Ctrl-C stops (requests drain for up to {SHUTDOWN_HINT:?}).");

    wait_for_signal()?;
    println!("stopping: draining requests and flushing telemetry…");
    // In call order, then the services' and the process's telemetry together.
    shop.shutdown_with(std::slice::from_ref(&process));
    if let Some(c) = console {
        c.stop();
    }
    println!("stopped.");
    Ok(ExitCode::SUCCESS)
}
