//! `tracemart console`: the telemetry console alone, for any OTLP source (a collector in
//! Kubernetes included).

use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;

use super::options::wait_for_signal;

#[derive(Debug, Clone, clap::Args)]
pub struct ConsoleOptions {
    /// Port of the console's web UI and JSON API.
    #[arg(long, env = "TRACEMART_CONSOLE_PORT", default_value_t = 8090)]
    pub console_port: u16,
    /// Port of the OTLP/gRPC receiver.
    #[arg(long, env = "TRACEMART_OTLP_GRPC_PORT", default_value_t = 4317)]
    pub otlp_grpc_port: u16,
    /// Port of the OTLP/HTTP receiver.
    #[arg(long, env = "TRACEMART_OTLP_HTTP_PORT", default_value_t = 4318)]
    pub otlp_http_port: u16,
    /// The most spans kept; the oldest traces go first.
    #[arg(long, env = "TRACEMART_CONSOLE_MAX_SPANS", default_value_t = 200_000)]
    pub max_spans: usize,
    /// The most memory the stored spans may take, MiB.
    #[arg(long, env = "TRACEMART_CONSOLE_MAX_MIB", default_value_t = 256)]
    pub max_mib: usize,
}

impl ConsoleOptions {
    pub fn config(&self, host: IpAddr) -> console::ConsoleConfig {
        console::ConsoleConfig {
            api: SocketAddr::new(host, self.console_port),
            otlp_grpc: SocketAddr::new(host, self.otlp_grpc_port),
            otlp_http: SocketAddr::new(host, self.otlp_http_port),
            limits: console::Limits {
                max_spans: self.max_spans.max(1),
                max_bytes: self.max_mib.max(1) * 1024 * 1024,
                ..console::Limits::default()
            },
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    console: ConsoleOptions,
    /// Address to listen on: this host only by default; 0.0.0.0 to accept others (a
    /// container, a collector on another host). Set a control token before opening it up.
    #[arg(long, env = "TRACEMART_HOST", default_value = "127.0.0.1")]
    host: IpAddr,
    /// Any service of the shop, for the scenario panel.
    #[arg(long, env = "TRACEMART_URL")]
    shop_url: Option<String>,
    /// The load generator, for the load panel.
    #[arg(long, env = "LOAD_GENERATOR_URL")]
    load_url: Option<String>,
    /// The shop's control token, when it requires one.
    #[arg(long, env = "TRACEMART_CONTROL_TOKEN", hide_env_values = true)]
    control_token: Option<String>,
}

/// glibc's malloc gives each thread an arena of its own and keeps what is freed in each: under
/// a flood of large records the console's resident memory went to 1.6 × its budget. With one
/// arena it stays within 1.3 ×. The variable is read when the process starts, so the console
/// starts itself again with it (same process id, `exec`) unless it is set already.
#[cfg(target_os = "linux")]
fn one_malloc_arena() {
    use std::os::unix::process::CommandExt as _;
    if telemetry::Env::process().get("MALLOC_ARENA_MAX").is_some() {
        return;
    }
    let Ok(me) = std::env::current_exe() else {
        return;
    };
    let error = std::process::Command::new(me)
        .args(std::env::args_os().skip(1))
        .env("MALLOC_ARENA_MAX", "1")
        .exec();
    // Only reached when the exec failed: run as is.
    eprintln!("tracemart console: could not restart with MALLOC_ARENA_MAX=1 ({error}); going on");
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    #[cfg(target_os = "linux")]
    one_malloc_arena();
    let running = console::start(args.console.config(args.host))?;
    running.connect(console::api::Targets {
        shop: args.shop_url.clone(),
        load: args.load_url.clone(),
        control_token: args.control_token.clone(),
    });
    println!(
        "tracemart console: UI http://{}  OTLP gRPC {}  OTLP HTTP {}",
        running.api, running.otlp_grpc, running.otlp_http
    );
    wait_for_signal()?;
    running.stop();
    Ok(ExitCode::SUCCESS)
}
