//! Per-service telemetry: each service gets its own tracer, meter and logger providers with its
//! own resource, and its own `tracing` dispatch. Nothing here touches the OpenTelemetry
//! `global::` providers, so several services can live in one process under their own names.

use std::sync::Arc;
use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry::metrics::{Histogram, Meter, MeterProvider as _};
use opentelemetry::propagation::TextMapCompositePropagator;
use opentelemetry::propagation::text_map_propagator::TextMapPropagator;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_appender_tracing::layer::OpenTelemetryTracingBridge;
use opentelemetry_otlp::{WithExportConfig, WithHttpConfig, WithTonicConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::logs::SdkLoggerProvider;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
use tracing::Dispatch;
use tracing_subscriber::filter::{EnvFilter, LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::{Layer, Registry};

use crate::baggage::{BaggageLogAttributes, BaggageSpanAttributes};
use crate::settings::{DbSemconv, Protocol, SamplerSetting, Settings, SignalExport};

/// Targets that must never feed OpenTelemetry: the exporter's own stack and the crates that log
/// every query or frame. Feeding them back would turn each export into more telemetry.
const NOISY_TARGETS: &[&str] = &[
    "h2",
    "hyper",
    "hyper_util",
    "tonic",
    "tower",
    "reqwest",
    "rustls",
    "opentelemetry",
    "opentelemetry_sdk",
    "opentelemetry_otlp",
    "opentelemetry_http",
    "sqlx",
    "redis",
    "mio",
    "want",
];

/// The instrumentation scope every span, metric and log record of the shop carries.
pub const SCOPE_NAME: &str = "tracemart";

/// Histogram boundaries (seconds) advised by the HTTP and database semantic conventions.
/// What other SDKs' host, process and OS detectors report: `host.name` (the node in
/// Kubernetes, else this machine's name), `host.arch`, `os.type`, `process.pid`,
/// `process.executable.name`, `process.runtime.name`.
fn host_and_process(host_name: Option<&str>) -> Vec<KeyValue> {
    let host = host_name.map(str::to_owned).or_else(|| {
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .or_else(|_| std::fs::read_to_string("/etc/hostname"))
            .ok()
            .map(|h| h.trim().to_owned())
            .filter(|h| !h.is_empty())
    });
    let os_type = match std::env::consts::OS {
        "macos" => "darwin",
        other => other,
    };
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    };
    let mut attrs = vec![
        KeyValue::new("os.type", os_type),
        KeyValue::new("host.arch", arch),
        KeyValue::new("process.pid", i64::from(std::process::id())),
        KeyValue::new("process.runtime.name", "rust"),
    ];
    if let Some(h) = host {
        attrs.push(KeyValue::new("host.name", h));
    }
    if let Some(exe) = std::env::current_exe()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
    {
        attrs.push(KeyValue::new("process.executable.name", exe));
    }
    attrs
}

/// The buckets the database conventions advise for `db.client.operation.duration`, in s.
pub const DB_DURATION_BUCKETS: &[f64] = &[0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0];

pub const DURATION_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];

/// How `tracing` output is written to stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
    Off,
}

/// Builds one signal's OTLP exporter: the three exporter builders share no trait for this.
/// gRPC channels are created on the export runtime, which outlives the services.
macro_rules! otlp_exporter {
    ($exporter:ty, $hub:expr, $e:expr) => {{
        let e: &SignalExport = $e;
        let compression = e.gzip.then_some(opentelemetry_otlp::Compression::Gzip);
        match e.protocol {
            Protocol::Grpc => {
                let _guard = $hub.export_runtime.as_ref().map(|rt| rt.enter());
                let mut b = <$exporter>::builder()
                    .with_tonic()
                    .with_endpoint(&e.endpoint)
                    .with_timeout(e.timeout)
                    .with_metadata(metadata(e)?);
                if let Some(c) = compression {
                    b = b.with_compression(c);
                }
                tls(b, e).build()?
            }
            Protocol::HttpProtobuf => {
                let mut b = <$exporter>::builder()
                    .with_http()
                    .with_endpoint(&e.endpoint)
                    .with_timeout(e.timeout)
                    .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
                    .with_headers(e.headers.iter().cloned().collect());
                if let Some(c) = compression {
                    b = b.with_compression(c);
                }
                b.build()?
            }
        }
    }};
}

/// What every service of one process shares: the settings, where telemetry goes, and the
/// runtime the gRPC exporters live on (it outlives the services).
#[derive(Clone)]
pub struct TelemetryHub {
    settings: Arc<Settings>,
    #[cfg(feature = "test-util")]
    memory: Option<crate::memory::MemorySink>,
    /// More OTLP destinations (traces, metrics, logs), e.g. the embedded console.
    extra: Vec<[SignalExport; 3]>,
    log_format: LogFormat,
    /// In one-service-per-process mode `OTEL_SERVICE_NAME` wins over the built-in name.
    honour_service_name: bool,
    export_runtime: Option<Arc<tokio::runtime::Runtime>>,
    version: &'static str,
}

impl TelemetryHub {
    pub fn new(settings: Settings, log_format: LogFormat) -> anyhow::Result<Self> {
        // Before any exporter builds its HTTP client.
        crate::tls::install();
        let export_runtime = if settings.exports_otlp() {
            Some(Arc::new(
                tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(1)
                    .thread_name("otlp-export")
                    .enable_all()
                    .build()?,
            ))
        } else {
            None
        };
        Ok(Self {
            settings: Arc::new(settings),
            #[cfg(feature = "test-util")]
            memory: None,
            extra: Vec::new(),
            log_format,
            honour_service_name: false,
            export_runtime,
            version: env!("CARGO_PKG_VERSION"),
        })
    }

    /// Also send everything over OTLP/HTTP to `base_url` (the embedded console), whatever the
    /// `OTEL_*` variables say.
    pub fn with_extra_otlp_http(mut self, base_url: &str) -> Self {
        let e = |path: &str| SignalExport {
            endpoint: format!("{}{path}", base_url.trim_end_matches('/')),
            protocol: Protocol::HttpProtobuf,
            headers: Vec::new(),
            timeout: Duration::from_secs(5),
            gzip: false,
        };
        self.extra
            .push([e("/v1/traces"), e("/v1/metrics"), e("/v1/logs")]);
        self
    }

    /// Also keep every span, log and metric in memory (tests).
    #[cfg(feature = "test-util")]
    pub fn with_memory_sink(mut self, sink: crate::memory::MemorySink) -> Self {
        self.memory = Some(sink);
        self
    }

    /// Let `OTEL_SERVICE_NAME` replace the built-in service name (one service per process).
    pub fn honouring_service_name(mut self) -> Self {
        self.honour_service_name = true;
        self
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// A way to send trace batches made elsewhere (browser spans) where this process sends its
    /// own: the configured OTLP endpoint and the extra destinations (the console).
    pub fn trace_forwarder(&self) -> anyhow::Result<crate::otlp_in::TraceForwarder> {
        let mut exports = Vec::new();
        if !self.settings.disabled {
            exports.extend(self.settings.traces.clone());
            exports.extend(self.extra.iter().map(|[t, _, _]| t.clone()));
        }
        crate::otlp_in::TraceForwarder::new(exports)
    }

    /// Builds the providers, instruments and `tracing` dispatch of one service.
    pub fn service(&self, name: &str) -> anyhow::Result<ServiceTelemetry> {
        let service_name = match (&self.settings.service_name, self.honour_service_name) {
            (Some(n), true) => n.clone(),
            _ => name.to_owned(),
        };
        self.build(service_name, None)
    }

    /// The telemetry of `service_name`, reporting `release` as its `service.version` when
    /// given (a new release running beside the one started: see [`ServiceTelemetry::release`]).
    fn build(
        &self,
        service_name: String,
        release: Option<&str>,
    ) -> anyhow::Result<ServiceTelemetry> {
        let s = &self.settings;
        let resource = self.resource(&service_name, release);
        let version = resource
            .get(&opentelemetry::Key::from_static_str("service.version"))
            .map(|v| v.to_string())
            .unwrap_or_else(|| self.version.to_owned());
        #[cfg(feature = "test-util")]
        let memory = self
            .memory
            .as_ref()
            .map(|m| m.exporters_for(&service_name, release));
        let enabled = !s.disabled;
        #[cfg(feature = "test-util")]
        let in_memory = memory.is_some();
        #[cfg(not(feature = "test-util"))]
        let in_memory = false;
        let metrics_read = enabled && (in_memory || s.metrics.is_some() || !self.extra.is_empty());

        let mut traces = SdkTracerProvider::builder()
            .with_resource(resource.clone())
            .with_sampler(sampler(s.sampler))
            .with_span_processor(BaggageSpanAttributes);
        let mut metrics = SdkMeterProvider::builder().with_resource(resource.clone());
        let mut logs = SdkLoggerProvider::builder()
            .with_resource(resource)
            .with_log_processor(BaggageLogAttributes);
        if enabled {
            #[cfg(feature = "test-util")]
            if let Some(m) = &memory {
                traces = traces.with_simple_exporter(m.spans.clone());
                logs = logs.with_simple_exporter(m.logs.clone());
                metrics = metrics.with_reader(
                    PeriodicReader::builder(m.metrics.clone())
                        .with_interval(s.metric_export_interval)
                        .build(),
                );
            }
            if let Some(t) = &s.traces {
                traces = traces.with_batch_exporter(self.span_exporter(t)?);
            }
            if let Some(m) = &s.metrics {
                metrics = metrics.with_reader(
                    PeriodicReader::builder(self.metric_exporter(m)?)
                        .with_interval(s.metric_export_interval)
                        .build(),
                );
            }
            if let Some(l) = &s.logs {
                logs = logs.with_batch_exporter(self.log_exporter(l)?);
            }
            for [t, m, l] in &self.extra {
                traces = traces.with_batch_exporter(self.span_exporter(t)?);
                metrics = metrics.with_reader(
                    PeriodicReader::builder(self.metric_exporter(m)?)
                        .with_interval(s.metric_export_interval)
                        .build(),
                );
                logs = logs.with_batch_exporter(self.log_exporter(l)?);
            }
        }
        let tracer_provider = traces.build();
        let meter_provider = metrics.build();
        let logger_provider = logs.build();

        let tracer = tracer_provider.tracer_with_scope(scope(self.version));
        let meter = meter_provider.meter_with_scope(scope(self.version));
        // A release shares the process: its metrics are the service's own.
        if metrics_read && release.is_none() {
            crate::process::register(&meter);
        }

        let otel_filter = || {
            Targets::new()
                .with_default(LevelFilter::INFO)
                .with_targets(NOISY_TARGETS.iter().map(|t| (*t, LevelFilter::OFF)))
        };
        let trace_layer = tracing_opentelemetry::layer()
            .with_tracer(tracer)
            .with_location(false)
            .with_threads(false)
            .with_target(false)
            .with_level(false)
            .with_tracked_inactivity(false)
            .with_filter(otel_filter());
        let log_layer =
            OpenTelemetryTracingBridge::new(&logger_provider).with_filter(otel_filter());
        let stdout_filter = || {
            EnvFilter::try_from_default_env().unwrap_or_else(|_| {
                EnvFilter::new("info,h2=warn,hyper=warn,tower=warn,sqlx=warn,opentelemetry=warn")
            })
        };
        let prefix = service_name.clone();
        let text = (self.log_format == LogFormat::Text).then(|| {
            tracing_subscriber::fmt::layer()
                .with_target(false)
                // Colours only for a terminal: a file or a pipe gets plain text.
                .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
                .event_format(crate::stdout::ServicePrefixed::new(prefix))
                .with_filter(stdout_filter())
        });
        let json = (self.log_format == LogFormat::Json).then(|| {
            tracing_subscriber::fmt::layer()
                .event_format(crate::stdout::JsonLine::new(service_name.clone()))
                .with_filter(stdout_filter())
        });
        let subscriber = Registry::default()
            .with(trace_layer)
            .with(log_layer)
            .with(text)
            .with(json);

        let http_server_duration = meter
            .f64_histogram(crate::metric::HTTP_SERVER_DURATION)
            .with_unit("s")
            .with_description("Duration of HTTP server requests.")
            .with_boundaries(DURATION_BUCKETS.to_vec())
            .build();
        let http_client_duration = meter
            .f64_histogram(crate::metric::HTTP_CLIENT_DURATION)
            .with_unit("s")
            .with_description("Duration of HTTP client requests.")
            .with_boundaries(DURATION_BUCKETS.to_vec())
            .build();
        let db_duration = meter
            .f64_histogram(crate::metric::DB_CLIENT_DURATION)
            .with_unit("s")
            .with_description("Duration of database client operations.")
            .with_boundaries(DB_DURATION_BUCKETS.to_vec())
            .build();

        Ok(ServiceTelemetry {
            inner: Arc::new(Inner {
                name: service_name,
                tracer_provider,
                meter_provider,
                logger_provider,
                dispatch: Dispatch::new(subscriber),
                meter,
                propagator: Arc::new(propagator(s)),
                db_semconv: s.db_semconv,
                http_server_duration,
                http_client_duration,
                db_duration,
                metrics_read,
                version,
                hub: self.clone(),
                releases: std::sync::Mutex::default(),
            }),
        })
    }

    fn resource(&self, service_name: &str, release: Option<&str>) -> Resource {
        let s = &self.settings;
        let mut attrs = vec![
            KeyValue::new("service.name", service_name.to_owned()),
            KeyValue::new("service.namespace", s.namespace.clone()),
            KeyValue::new("service.version", self.version),
            KeyValue::new("service.instance.id", uuid::Uuid::new_v4().to_string()),
            KeyValue::new("deployment.environment.name", s.environment.clone()),
        ];
        // telemetry.sdk.* as the linked SDK reports itself (its version is the crate's).
        let sdk = opentelemetry_sdk::Resource::builder_empty()
            .with_detector(Box::new(
                opentelemetry_sdk::resource::TelemetryResourceDetector,
            ))
            .build();
        attrs.extend(sdk.iter().map(|(k, v)| KeyValue::new(k.clone(), v.clone())));
        attrs.extend(host_and_process(s.host_name.as_deref()));
        attrs.extend(
            s.kubernetes
                .iter()
                .map(|(k, v)| KeyValue::new(*k, v.clone())),
        );
        if let Some(app) = &s.cx_application_name {
            attrs.push(KeyValue::new("cx.application.name", app.clone()));
            attrs.push(KeyValue::new(
                "cx.subsystem.name",
                s.cx_subsystem_name
                    .clone()
                    .unwrap_or_else(|| service_name.to_owned()),
            ));
        } else if let Some(sub) = &s.cx_subsystem_name {
            attrs.push(KeyValue::new("cx.subsystem.name", sub.clone()));
        }
        // OTEL_RESOURCE_ATTRIBUTES adds to the resource but never renames the service: the
        // service name is decided above, deliberately.
        for (k, v) in &s.resource_attributes {
            if k != "service.name" {
                attrs.retain(|kv| kv.key.as_str() != k);
                attrs.push(KeyValue::new(k.clone(), v.clone()));
            }
        }
        if let Some(version) = release {
            attrs.retain(|kv| kv.key.as_str() != "service.version");
            attrs.push(KeyValue::new("service.version", version.to_owned()));
        }
        Resource::builder_empty().with_attributes(attrs).build()
    }

    fn span_exporter(&self, e: &SignalExport) -> anyhow::Result<opentelemetry_otlp::SpanExporter> {
        Ok(otlp_exporter!(opentelemetry_otlp::SpanExporter, self, e))
    }

    fn metric_exporter(
        &self,
        e: &SignalExport,
    ) -> anyhow::Result<opentelemetry_otlp::MetricExporter> {
        Ok(otlp_exporter!(opentelemetry_otlp::MetricExporter, self, e))
    }

    fn log_exporter(&self, e: &SignalExport) -> anyhow::Result<opentelemetry_otlp::LogExporter> {
        Ok(otlp_exporter!(opentelemetry_otlp::LogExporter, self, e))
    }
}

fn tls<B: WithTonicConfig>(b: B, e: &SignalExport) -> B {
    if e.endpoint.starts_with("https://") {
        b.with_tls_config(
            opentelemetry_otlp::tonic_types::transport::ClientTlsConfig::new().with_webpki_roots(),
        )
    } else {
        b
    }
}

fn metadata(
    e: &SignalExport,
) -> anyhow::Result<opentelemetry_otlp::tonic_types::metadata::MetadataMap> {
    let mut headers = http::HeaderMap::new();
    for (k, v) in &e.headers {
        headers.insert(
            http::HeaderName::from_bytes(k.to_ascii_lowercase().as_bytes())?,
            http::HeaderValue::from_str(v)?,
        );
    }
    Ok(opentelemetry_otlp::tonic_types::metadata::MetadataMap::from_headers(headers))
}

fn scope(version: &'static str) -> opentelemetry::InstrumentationScope {
    opentelemetry::InstrumentationScope::builder(SCOPE_NAME)
        .with_version(version)
        .build()
}

fn sampler(s: SamplerSetting) -> Sampler {
    match s {
        SamplerSetting::AlwaysOn => Sampler::AlwaysOn,
        SamplerSetting::AlwaysOff => Sampler::AlwaysOff,
        SamplerSetting::TraceIdRatio(r) => Sampler::TraceIdRatioBased(r),
        SamplerSetting::ParentBasedAlwaysOn => Sampler::ParentBased(Box::new(Sampler::AlwaysOn)),
        SamplerSetting::ParentBasedAlwaysOff => Sampler::ParentBased(Box::new(Sampler::AlwaysOff)),
        SamplerSetting::ParentBasedTraceIdRatio(r) => {
            Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(r)))
        }
    }
}

fn propagator(s: &Settings) -> TextMapCompositePropagator {
    let mut list: Vec<Box<dyn TextMapPropagator + Send + Sync>> = Vec::new();
    if s.propagate_trace_context {
        list.push(Box::new(TraceContextPropagator::new()));
    }
    if s.propagate_baggage {
        list.push(Box::new(BaggagePropagator::new()));
    }
    TextMapCompositePropagator::new(list)
}

struct Inner {
    name: String,
    tracer_provider: SdkTracerProvider,
    meter_provider: SdkMeterProvider,
    logger_provider: SdkLoggerProvider,
    dispatch: Dispatch,
    meter: Meter,
    propagator: Arc<TextMapCompositePropagator>,
    db_semconv: DbSemconv,
    http_server_duration: Histogram<f64>,
    http_client_duration: Histogram<f64>,
    db_duration: Histogram<f64>,
    /// Whether any reader collects metrics (an exporter, the console, a test sink).
    metrics_read: bool,
    /// The `service.version` its resource reports.
    version: String,
    /// What built it, for its releases.
    hub: TelemetryHub,
    /// The releases started beside it, built on first use and kept.
    releases: std::sync::Mutex<Vec<ServiceTelemetry>>,
}

/// The telemetry of one service: cheap to clone, shared by its server, clients and stores.
#[derive(Clone)]
pub struct ServiceTelemetry {
    inner: Arc<Inner>,
}

impl ServiceTelemetry {
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The `tracing` dispatch that routes this service's spans and events to its providers.
    pub fn dispatch(&self) -> &Dispatch {
        &self.inner.dispatch
    }

    /// The service's meter, for business metrics.
    pub fn meter(&self) -> &Meter {
        &self.inner.meter
    }

    pub fn propagator(&self) -> &TextMapCompositePropagator {
        &self.inner.propagator
    }

    pub fn db_semconv(&self) -> DbSemconv {
        self.inner.db_semconv
    }

    pub(crate) fn http_server_duration(&self) -> &Histogram<f64> {
        &self.inner.http_server_duration
    }

    pub(crate) fn http_client_duration(&self) -> &Histogram<f64> {
        &self.inner.http_client_duration
    }

    pub(crate) fn db_duration(&self) -> &Histogram<f64> {
        &self.inner.db_duration
    }

    /// See [`TelemetryHub::trace_forwarder`].
    pub fn trace_forwarder(&self) -> anyhow::Result<crate::otlp_in::TraceForwarder> {
        self.inner.hub.trace_forwarder()
    }

    /// The `service.version` its resource reports.
    pub fn version(&self) -> &str {
        &self.inner.version
    }

    /// The same service as a new release would report it: its own providers and dispatch,
    /// under the same name, with `version` as `service.version` and a new
    /// `service.instance.id` (a canary beside the running instance). Built on first use, then
    /// kept; flushed and stopped with this one.
    pub fn release(&self, version: &str) -> anyhow::Result<ServiceTelemetry> {
        let mut releases = self
            .inner
            .releases
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(r) = releases.iter().find(|r| r.version() == version) {
            return Ok(r.clone());
        }
        let built = self
            .inner
            .hub
            .build(self.inner.name.clone(), Some(version))?;
        releases.push(built.clone());
        Ok(built)
    }

    fn releases(&self) -> Vec<ServiceTelemetry> {
        self.inner
            .releases
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Exports everything buffered. Blocks: call it outside async code or in `spawn_blocking`.
    pub fn flush(&self) {
        let _ = self.inner.tracer_provider.force_flush();
        let _ = self.inner.logger_provider.force_flush();
        let _ = self.inner.meter_provider.force_flush();
        for r in self.releases() {
            r.flush();
        }
    }

    /// Whether metrics leave this service at all: observable instruments are registered only
    /// then (the SDK reports an error for each one a meter without readers is asked for).
    pub fn metrics_read(&self) -> bool {
        self.inner.metrics_read
    }

    /// Flushes and stops the providers, each within `timeout`. Blocks, like
    /// [`flush`](Self::flush).
    pub fn shutdown_within(&self, timeout: Duration) {
        let _ = self.inner.tracer_provider.shutdown_with_timeout(timeout);
        let _ = self.inner.logger_provider.shutdown_with_timeout(timeout);
        let _ = self.inner.meter_provider.shutdown_with_timeout(timeout);
        for r in self.releases() {
            r.shutdown_within(timeout);
        }
    }

    /// Flushes and stops the providers. Blocks, like [`flush`](Self::flush).
    pub fn shutdown(&self) {
        shutdown_all(std::slice::from_ref(self), SHUTDOWN_BUDGET);
    }
}

/// The most a process waits for its telemetry to leave at shutdown, whatever the backend does
/// (one that accepts connections and never answers included): the whole stop must fit a
/// 15-second grace period.
pub const SHUTDOWN_BUDGET: Duration = Duration::from_secs(3);

/// Flushes and stops every service's providers side by side, and returns within `budget`:
/// what has not left by then is given up (the process is ending).
pub fn shutdown_all(services: &[ServiceTelemetry], budget: Duration) {
    let deadline = std::time::Instant::now() + budget;
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let mut started = 0;
    for service in services {
        let (service, done) = (service.clone(), done_tx.clone());
        // Each provider is given the budget less a margin for joining up.
        let each = budget.saturating_sub(Duration::from_millis(250));
        let spawned = std::thread::Builder::new()
            .name("telemetry-stop".to_owned())
            .spawn(move || {
                service.shutdown_within(each);
                let _ = done.send(());
            });
        if spawned.is_ok() {
            started += 1;
        }
    }
    drop(done_tx);
    for _ in 0..started {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if done_rx.recv_timeout(left).is_err() {
            return;
        }
    }
}
