//! Options shared by the commands that run services, and the wiring from them to the shop's
//! configuration, the telemetry settings and a clean shutdown.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use shop::{Database, ServiceName, ShopConfig};
use telemetry::{Env, LogFormat, Settings, TelemetryHub};

#[derive(Debug, Clone, clap::Args)]
pub struct StoreOptions {
    /// PostgreSQL URL for product-catalog and checkout; without it an embedded SQLite file is used.
    #[arg(long = "postgres", env = "DATABASE_URL", value_name = "URL")]
    pub postgres: Option<String>,
    /// SQLite file used when no PostgreSQL URL is given.
    #[arg(long, env = "TRACEMART_SQLITE", value_name = "PATH")]
    pub sqlite: Option<PathBuf>,
    /// Redis URL for the cart; without it carts live in memory.
    #[arg(long = "redis", env = "REDIS_URL", value_name = "URL")]
    pub redis: Option<String>,
    /// RabbitMQ URL for the order events; without it an embedded in-process broker carries them.
    #[arg(long = "amqp", env = "AMQP_URL", value_name = "URL")]
    pub amqp: Option<String>,
}

#[derive(Debug, Clone, clap::Args)]
pub struct RunOptions {
    #[command(flatten)]
    pub stores: StoreOptions,
    /// Journeys per second the load generator starts.
    #[arg(
        long,
        env = "LOAD_RATE",
        default_value_t = 2.0,
        value_name = "JOURNEYS_PER_SECOND",
        value_parser = journeys_per_second
    )]
    pub load_rate: f64,
    /// Do not start generating load by itself (start it with POST :8010/start).
    #[arg(long, env = "LOAD_DISABLED")]
    pub no_load: bool,
    /// How the load generator tags its requests' traffic.type: per-request (as the original:
    /// the checkout request is demo, every other request baseline) or per-journey (every
    /// request of a checkout journey is demo).
    #[arg(long, env = "LOAD_TAGGING", value_enum, default_value_t = Tagging::PerRequest)]
    pub load_tagging: Tagging,
    /// Keep the load as it is while Black Friday runs (by default the load generator brings
    /// Black Friday's crowd: more shoppers, a rising share of checkouts).
    #[arg(long, env = "LOAD_STEADY")]
    pub load_steady: bool,
    /// realistic: every route, statement and the payment gateway take production-like times
    /// (docs/services.md); none: only what the machine takes (benchmarks).
    #[arg(long, env = "TRACEMART_LATENCY", value_enum, default_value_t = Latency::Realistic)]
    pub latency: Latency,
    /// Seed for the load generator's choices, for reproducible runs.
    #[arg(long, env = "TRACEMART_SEED")]
    pub seed: Option<u64>,
    /// Share of valid card charges the payment gateway declines.
    #[arg(long, env = "PAYMENT_DECLINE_RATE", default_value_t = 0.01)]
    pub payment_decline_rate: f64,
    /// Token the scenario control API requires for changes (Authorization: Bearer …).
    #[arg(long, env = "TRACEMART_CONTROL_TOKEN", hide_env_values = true)]
    pub control_token: Option<String>,
    /// Keep the scenarios' ground truth out of the telemetry (no `tracemart.scenario.*`
    /// metrics, `scenario.*` log events or `fault.*` span attributes), for testing an RCA
    /// tool; `GET /scenarios/history` still has it.
    #[arg(long, env = "TRACEMART_HIDE_GROUND_TRUTH")]
    pub hide_ground_truth: bool,
    /// `blackfriday` starts the Black Friday story at start-up (unless it is already on).
    #[arg(long, env = "DEMO_MODE", value_enum, default_value_t = DemoMode::Normal)]
    pub demo_mode: DemoMode,
    /// When the Black Friday story started: Unix seconds or RFC 3339 (default: start-up).
    #[arg(long, env = "DEMO_START_TIMESTAMP")]
    pub demo_start_timestamp: Option<String>,
    /// Story minutes per real minute for DEMO_MODE=blackfriday.
    #[arg(long, env = "DEMO_SPEED", default_value_t = 1.0)]
    pub demo_speed: f64,
    /// stdout format of the services' logs.
    #[arg(long, env = "TRACEMART_LOG_FORMAT", value_enum, default_value_t = LogFormatOption::Text)]
    pub log_format: LogFormatOption,
}

/// `--latency`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Latency {
    Realistic,
    None,
}

/// `--load-tagging` / `tracemart load --tagging`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Tagging {
    PerRequest,
    PerJourney,
}

impl From<Tagging> for shop::loadgen::Tagging {
    fn from(t: Tagging) -> Self {
        match t {
            Tagging::PerRequest => shop::loadgen::Tagging::PerRequest,
            Tagging::PerJourney => shop::loadgen::Tagging::PerJourney,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DemoMode {
    /// No story at start-up.
    Normal,
    /// The Black Friday story from start-up.
    Blackfriday,
}

/// `--log-format`: the telemetry crate's [`LogFormat`] on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormatOption {
    Text,
    Json,
    Off,
}

impl From<LogFormatOption> for LogFormat {
    fn from(f: LogFormatOption) -> Self {
        match f {
            LogFormatOption::Text => LogFormat::Text,
            LogFormatOption::Json => LogFormat::Json,
            LogFormatOption::Off => LogFormat::Off,
        }
    }
}

impl RunOptions {
    pub fn log_format(&self) -> LogFormat {
        self.log_format.into()
    }

    /// The shop's configuration: options first, then `*_SERVICE_URL` variables for peers.
    pub fn shop_config(&self, env: &Env) -> anyhow::Result<ShopConfig> {
        let database = match (&self.stores.postgres, &self.stores.sqlite) {
            (Some(url), _) => Database::from_url(url).map_err(anyhow::Error::msg)?,
            (None, Some(path)) => Database::Sqlite { path: path.clone() },
            (None, None) => Database::Sqlite {
                path: std::env::temp_dir().join("tracemart").join("shop.db"),
            },
        };
        if let Some(url) = &self.stores.redis
            && !(url.starts_with("redis://") || url.starts_with("rediss://"))
        {
            anyhow::bail!(
                "--redis / REDIS_URL must be a redis:// or rediss:// URL, not {:?}",
                shop::config::redact_url(url)
            );
        }
        if let Some(url) = &self.stores.amqp
            && !(url.starts_with("amqp://") || url.starts_with("amqps://"))
        {
            anyhow::bail!(
                "--amqp / AMQP_URL must be an amqp:// or amqps:// URL, not {:?}",
                shop::config::redact_url(url)
            );
        }
        if !(0.0..=1.0).contains(&self.payment_decline_rate) {
            anyhow::bail!("--payment-decline-rate must be between 0 and 1");
        }
        if !(self.load_rate > 0.0 && self.load_rate <= shop::api::load_generator::model::MAX_RATE) {
            anyhow::bail!("--load-rate / LOAD_RATE must be above 0 and at most 1000");
        }
        let mut config = ShopConfig::new(database, self.stores.redis.clone());
        config.amqp_url = self.stores.amqp.clone().filter(|u| !u.is_empty());
        for service in ServiceName::ALL {
            if let Some(url) = env.get(service.url_var()) {
                config
                    .urls
                    .insert(service, url.trim_end_matches('/').to_owned());
            }
        }
        config.payment.decline_rate = self.payment_decline_rate;
        config.load.rate = self.load_rate;
        config.load.autostart = !self.no_load;
        config.load.seed = self.seed;
        config.load.per_journey_tagging = self.load_tagging == Tagging::PerJourney;
        config.load.follows_story = !self.load_steady;
        config.latency = match self.latency {
            Latency::Realistic => shop::config::LatencyModel::Realistic,
            Latency::None => shop::config::LatencyModel::None,
        };
        config.control_token = self.control_token.clone().filter(|t| !t.is_empty());
        config.ground_truth_in_telemetry = !self.hide_ground_truth;
        config.markers = markers(env)?;
        if let Some(ns) = env.get("TRACEMART_NAMESPACE") {
            config.namespace = ns.to_owned();
        }
        if self.demo_mode == DemoMode::Blackfriday {
            if !(self.demo_speed > 0.0 && self.demo_speed <= 1000.0) {
                anyhow::bail!("DEMO_SPEED must be above 0 and at most 1000");
            }
            let started_at_ms = self
                .demo_start_timestamp
                .as_deref()
                .map(parse_timestamp)
                .transpose()?;
            config.demo = Some(shop::config::DemoStart {
                started_at_ms,
                speed: self.demo_speed,
            });
        }
        Ok(config)
    }
}

/// `--load-rate` / `LOAD_RATE`: the error names both, as the value may come from either.
fn journeys_per_second(v: &str) -> Result<f64, String> {
    v.trim().parse::<f64>().map_err(|_| {
        format!("{v:?} is not a number of journeys per second (--load-rate / LOAD_RATE)")
    })
}

/// `DEMO_START_TIMESTAMP`: Unix seconds (as the original used) or RFC 3339.
fn parse_timestamp(v: &str) -> anyhow::Result<i64> {
    if let Ok(secs) = v.trim().parse::<f64>() {
        return Ok((secs * 1000.0) as i64);
    }
    let t = humantime::parse_rfc3339_weak(v.trim()).with_context(|| {
        format!("DEMO_START_TIMESTAMP={v:?} is neither Unix seconds nor an RFC 3339 time")
    })?;
    Ok(t.duration_since(std::time::UNIX_EPOCH)?.as_millis() as i64)
}

/// The telemetry settings from the `OTEL_*` variables; a bad value stops the start.
pub fn telemetry_settings(env: &Env) -> anyhow::Result<Settings> {
    Settings::from_env(env).context("invalid OpenTelemetry configuration")
}

/// Installs a process-wide default `tracing` dispatch named `tracemart`: anything logged
/// outside a service (the launcher) shows up under that name instead of vanishing.
pub fn install_process_dispatch(hub: &TelemetryHub) -> anyhow::Result<telemetry::ServiceTelemetry> {
    let process = hub.service("tracemart")?;
    tracing::dispatcher::set_global_default(process.dispatch().clone())
        .context("a global tracing dispatcher was already set")?;
    Ok(process)
}

/// The port a service listens on: `<SERVICE>_PORT` or its usual one.
pub fn port_for(service: ServiceName, env: &Env) -> anyhow::Result<u16> {
    match env.get(service.port_var()) {
        Some(v) => v
            .parse()
            .with_context(|| format!("{}={v:?} is not a port number", service.port_var())),
        None => Ok(service.default_port()),
    }
}

/// Waits for Ctrl-C or SIGTERM.
pub fn wait_for_signal() -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        #[cfg(unix)]
        {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
            tokio::select! {
                r = tokio::signal::ctrl_c() => r,
                _ = term.recv() => Ok(()),
            }
        }
        #[cfg(not(unix))]
        {
            tokio::signal::ctrl_c().await
        }
    })?;
    Ok(())
}

pub const SHUTDOWN_HINT: Duration = shop::server::DRAIN_TIMEOUT;

/// Change markers: `CX_MARKERS_API_KEY` (a Coralogix API key with the `CICDIntegration`
/// preset) turns them on, posted to `CX_MARKERS_URL`, or to the version tags API of
/// `CX_DOMAIN`; tagged with `CX_APPLICATION_NAME` (default `tracemart`).
fn markers(env: &Env) -> anyhow::Result<Option<shop::scenario::markers::MarkerConfig>> {
    let Some(api_key) = env
        .get("CX_MARKERS_API_KEY")
        .filter(|k| !k.trim().is_empty())
    else {
        return Ok(None);
    };
    let url = match (env.get("CX_MARKERS_URL"), env.get("CX_DOMAIN")) {
        (Some(url), _) if !url.trim().is_empty() => url.trim().to_owned(),
        (_, Some(domain)) if !domain.trim().is_empty() => {
            shop::scenario::markers::MarkerConfig::tags_url(domain)
        }
        _ => anyhow::bail!(
            "CX_MARKERS_API_KEY is set: CX_DOMAIN (e.g. eu2.coralogix.com) or CX_MARKERS_URL says where the markers go"
        ),
    };
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        anyhow::bail!("CX_MARKERS_URL must be an http(s):// URL");
    }
    Ok(Some(shop::scenario::markers::MarkerConfig {
        url,
        api_key: api_key.trim().to_owned(),
        application: env
            .get("CX_APPLICATION_NAME")
            .filter(|a| !a.trim().is_empty())
            .unwrap_or("tracemart")
            .to_owned(),
    }))
}
