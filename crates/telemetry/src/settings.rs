//! OpenTelemetry configuration read from the standard `OTEL_*` environment variables.
//!
//! The Rust SDK honours only some of them (not `OTEL_SDK_DISABLED`, and the sampler has been
//! unreliable), so every variable the shop supports is parsed here, from an injectable
//! environment so that the parsing is testable without touching the process environment.

use std::collections::HashMap;
use std::time::Duration;

/// Every environment variable [`Settings::from_env`] reads.
pub const VARIABLES: &[&str] = &[
    "OTEL_SDK_DISABLED",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_PROTOCOL",
    "OTEL_EXPORTER_OTLP_HEADERS",
    "OTEL_EXPORTER_OTLP_TIMEOUT",
    "OTEL_EXPORTER_OTLP_COMPRESSION",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
    "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
    "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
    "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION",
    "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
    "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL",
    "OTEL_EXPORTER_OTLP_METRICS_HEADERS",
    "OTEL_EXPORTER_OTLP_METRICS_TIMEOUT",
    "OTEL_EXPORTER_OTLP_METRICS_COMPRESSION",
    "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
    "OTEL_EXPORTER_OTLP_LOGS_PROTOCOL",
    "OTEL_EXPORTER_OTLP_LOGS_HEADERS",
    "OTEL_EXPORTER_OTLP_LOGS_TIMEOUT",
    "OTEL_EXPORTER_OTLP_LOGS_COMPRESSION",
    "OTEL_TRACES_EXPORTER",
    "OTEL_METRICS_EXPORTER",
    "OTEL_LOGS_EXPORTER",
    "OTEL_TRACES_SAMPLER",
    "OTEL_TRACES_SAMPLER_ARG",
    "OTEL_PROPAGATORS",
    "OTEL_SEMCONV_STABILITY_OPT_IN",
    "OTEL_SERVICE_NAME",
    "OTEL_RESOURCE_ATTRIBUTES",
    "OTEL_METRIC_EXPORT_INTERVAL",
    "TRACEMART_NAMESPACE",
    "DEPLOYMENT_ENVIRONMENT",
    "CX_APPLICATION_NAME",
    "CX_SUBSYSTEM_NAME",
    "K8S_NODE_NAME",
    "K8S_POD_NAME",
    "K8S_NAMESPACE_NAME",
    "K8S_CONTAINER_NAME",
];

/// The downward-API variables the manifests set, and the resource attribute each one is.
pub const KUBERNETES_RESOURCE: &[(&str, &str)] = &[
    ("K8S_POD_NAME", "k8s.pod.name"),
    ("K8S_NAMESPACE_NAME", "k8s.namespace.name"),
    ("K8S_NODE_NAME", "k8s.node.name"),
    ("K8S_CONTAINER_NAME", "k8s.container.name"),
];

/// A snapshot of environment variables. `Env::process()` reads the real one.
#[derive(Debug, Clone, Default)]
pub struct Env(
    HashMap<String, String>,
    #[cfg(test)] std::rc::Rc<std::cell::RefCell<Vec<String>>>,
);

impl Env {
    pub fn process() -> Self {
        // The one place the process environment is read.
        #[allow(clippy::disallowed_methods)]
        let vars = std::env::vars().collect();
        Self::from_map(vars)
    }

    fn from_map(map: HashMap<String, String>) -> Self {
        Self(
            map,
            #[cfg(test)]
            Default::default(),
        )
    }

    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Self::from_map(
            pairs
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
        )
    }

    /// The value of a variable, with surrounding whitespace removed; empty counts as unset.
    pub fn get(&self, key: &str) -> Option<&str> {
        #[cfg(test)]
        self.1.borrow_mut().push(key.to_owned());
        self.0.get(key).map(|v| v.trim()).filter(|v| !v.is_empty())
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SettingsError {
    #[error("{var}={value:?} is not valid: {reason}")]
    Invalid {
        var: &'static str,
        value: String,
        reason: &'static str,
    },
}

fn invalid(var: &'static str, value: &str, reason: &'static str) -> SettingsError {
    SettingsError::Invalid {
        var,
        value: value.to_owned(),
        reason,
    }
}

/// OTLP transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Grpc,
    HttpProtobuf,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Grpc => "grpc",
            Protocol::HttpProtobuf => "http/protobuf",
        }
    }
}

/// Which generation of database attribute names to emit (`OTEL_SEMCONV_STABILITY_OPT_IN`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbSemconv {
    /// Stable and the old names (`database/dup`): the default, because Coralogix Database APM
    /// still reads `db.system`, `db.name`, `db.statement`, `net.peer.name`.
    Both,
    /// Stable names only (`database`).
    StableOnly,
}

impl DbSemconv {
    pub fn emits_old(self) -> bool {
        self == DbSemconv::Both
    }
}

/// `OTEL_TRACES_SAMPLER` / `OTEL_TRACES_SAMPLER_ARG`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SamplerSetting {
    AlwaysOn,
    AlwaysOff,
    TraceIdRatio(f64),
    ParentBasedAlwaysOn,
    ParentBasedAlwaysOff,
    ParentBasedTraceIdRatio(f64),
}

/// Where one signal goes over OTLP.
#[derive(Debug, Clone, PartialEq)]
pub struct SignalExport {
    /// The full URL: for HTTP it includes `/v1/traces` (or metrics, logs).
    pub endpoint: String,
    pub protocol: Protocol,
    pub headers: Vec<(String, String)>,
    pub timeout: Duration,
    pub gzip: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    Traces,
    Metrics,
    Logs,
}

impl Signal {
    fn upper(self) -> &'static str {
        match self {
            Signal::Traces => "TRACES",
            Signal::Metrics => "METRICS",
            Signal::Logs => "LOGS",
        }
    }

    fn http_path(self) -> &'static str {
        match self {
            Signal::Traces => "/v1/traces",
            Signal::Metrics => "/v1/metrics",
            Signal::Logs => "/v1/logs",
        }
    }
}

/// Everything the telemetry of one process is configured by.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// `OTEL_SDK_DISABLED=true`: no spans, metrics or logs leave any service.
    pub disabled: bool,
    pub traces: Option<SignalExport>,
    pub metrics: Option<SignalExport>,
    pub logs: Option<SignalExport>,
    pub sampler: SamplerSetting,
    pub propagate_trace_context: bool,
    pub propagate_baggage: bool,
    pub db_semconv: DbSemconv,
    /// `OTEL_SERVICE_NAME`: wins over the built-in name only in one-service-per-process mode.
    pub service_name: Option<String>,
    /// `OTEL_RESOURCE_ATTRIBUTES`, in order.
    pub resource_attributes: Vec<(String, String)>,
    pub namespace: String,
    pub environment: String,
    pub cx_application_name: Option<String>,
    pub cx_subsystem_name: Option<String>,
    pub metric_export_interval: Duration,
    /// `host.name`: `K8S_NODE_NAME` (the node, in Kubernetes), else the machine's host name.
    pub host_name: Option<String>,
    /// `k8s.*` resource attributes from [`KUBERNETES_RESOURCE`]'s variables, those set.
    pub kubernetes: Vec<(&'static str, String)>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            disabled: false,
            traces: None,
            metrics: None,
            logs: None,
            sampler: SamplerSetting::ParentBasedAlwaysOn,
            propagate_trace_context: true,
            propagate_baggage: true,
            db_semconv: DbSemconv::Both,
            service_name: None,
            resource_attributes: Vec::new(),
            namespace: "tracemart".to_owned(),
            environment: "local".to_owned(),
            cx_application_name: None,
            cx_subsystem_name: None,
            metric_export_interval: Duration::from_secs(15),
            host_name: None,
            kubernetes: Vec::new(),
        }
    }
}

impl Settings {
    /// Reads the settings; a bad value is an error naming the variable.
    pub fn from_env(env: &Env) -> Result<Self, SettingsError> {
        let mut s = Settings {
            disabled: parse_bool(env, "OTEL_SDK_DISABLED")?.unwrap_or(false),
            ..Settings::default()
        };
        for (signal, slot) in [
            (Signal::Traces, &mut s.traces),
            (Signal::Metrics, &mut s.metrics),
            (Signal::Logs, &mut s.logs),
        ] {
            *slot = signal_export(env, signal)?;
        }
        s.sampler = parse_sampler(env)?;
        if let Some(list) = env.get("OTEL_PROPAGATORS") {
            s.propagate_trace_context = false;
            s.propagate_baggage = false;
            for p in list.split(',').map(str::trim) {
                match p {
                    "tracecontext" => s.propagate_trace_context = true,
                    "baggage" => s.propagate_baggage = true,
                    "none" => {}
                    _ => {
                        return Err(invalid(
                            "OTEL_PROPAGATORS",
                            list,
                            "supported: tracecontext, baggage, none",
                        ));
                    }
                }
            }
        }
        if let Some(v) = env.get("OTEL_SEMCONV_STABILITY_OPT_IN") {
            let items: Vec<&str> = v.split(',').map(str::trim).collect();
            if items.contains(&"database/dup") {
                s.db_semconv = DbSemconv::Both;
            } else if items.contains(&"database") {
                s.db_semconv = DbSemconv::StableOnly;
            }
        }
        s.service_name = env.get("OTEL_SERVICE_NAME").map(str::to_owned);
        s.host_name = env
            .get("K8S_NODE_NAME")
            .filter(|h| !h.trim().is_empty())
            .map(str::to_owned);
        s.kubernetes = KUBERNETES_RESOURCE
            .iter()
            .filter_map(|(var, key)| {
                env.get(var)
                    .map(str::trim)
                    .filter(|v| !v.is_empty())
                    .map(|v| (*key, v.to_owned()))
            })
            .collect();
        if let Some(v) = env.get("OTEL_RESOURCE_ATTRIBUTES") {
            s.resource_attributes = parse_key_values(v)
                .ok_or_else(|| invalid("OTEL_RESOURCE_ATTRIBUTES", v, "expected key=value,..."))?;
        }
        if let Some(v) = env.get("TRACEMART_NAMESPACE") {
            s.namespace = v.to_owned();
        }
        if let Some(v) = env.get("DEPLOYMENT_ENVIRONMENT") {
            s.environment = v.to_owned();
        }
        s.cx_application_name = env.get("CX_APPLICATION_NAME").map(str::to_owned);
        s.cx_subsystem_name = env.get("CX_SUBSYSTEM_NAME").map(str::to_owned);
        if let Some(ms) = parse_millis(env, "OTEL_METRIC_EXPORT_INTERVAL")? {
            s.metric_export_interval = ms;
        }
        Ok(s)
    }

    /// Whether any signal is exported over OTLP.
    pub fn exports_otlp(&self) -> bool {
        !self.disabled && (self.traces.is_some() || self.metrics.is_some() || self.logs.is_some())
    }

    /// One line saying where telemetry goes, for start-up messages.
    pub fn describe_export(&self) -> String {
        if self.disabled {
            return "disabled (OTEL_SDK_DISABLED=true)".to_owned();
        }
        match &self.traces {
            Some(t) => format!("OTLP {} → {}", t.protocol.as_str(), t.endpoint),
            None if self.exports_otlp() => "OTLP (metrics/logs only)".to_owned(),
            None => "not exported (set OTEL_EXPORTER_OTLP_ENDPOINT)".to_owned(),
        }
    }
}

fn parse_bool(env: &Env, var: &'static str) -> Result<Option<bool>, SettingsError> {
    match env.get(var) {
        None => Ok(None),
        Some(v) if v.eq_ignore_ascii_case("true") => Ok(Some(true)),
        Some(v) if v.eq_ignore_ascii_case("false") => Ok(Some(false)),
        Some(v) => Err(invalid(var, v, "expected true or false")),
    }
}

fn parse_millis(env: &Env, var: &'static str) -> Result<Option<Duration>, SettingsError> {
    env.get(var)
        .map(|v| {
            v.parse::<u64>()
                .map(Duration::from_millis)
                .map_err(|_| invalid(var, v, "expected milliseconds"))
        })
        .transpose()
}

fn parse_sampler(env: &Env) -> Result<SamplerSetting, SettingsError> {
    let ratio = || -> Result<f64, SettingsError> {
        match env.get("OTEL_TRACES_SAMPLER_ARG") {
            None => Ok(1.0),
            Some(v) => v
                .parse::<f64>()
                .ok()
                .filter(|r| (0.0..=1.0).contains(r))
                .ok_or_else(|| invalid("OTEL_TRACES_SAMPLER_ARG", v, "expected 0.0 to 1.0")),
        }
    };
    Ok(match env.get("OTEL_TRACES_SAMPLER") {
        None | Some("parentbased_always_on") => SamplerSetting::ParentBasedAlwaysOn,
        Some("always_on") => SamplerSetting::AlwaysOn,
        Some("always_off") => SamplerSetting::AlwaysOff,
        Some("traceidratio") => SamplerSetting::TraceIdRatio(ratio()?),
        Some("parentbased_always_off") => SamplerSetting::ParentBasedAlwaysOff,
        Some("parentbased_traceidratio") => SamplerSetting::ParentBasedTraceIdRatio(ratio()?),
        Some(other) => {
            return Err(invalid(
                "OTEL_TRACES_SAMPLER",
                other,
                "supported: always_on, always_off, traceidratio, parentbased_always_on, \
                 parentbased_always_off, parentbased_traceidratio",
            ));
        }
    })
}

/// Resolves one signal's OTLP export: per-signal variables win over the generic ones.
fn signal_export(env: &Env, signal: Signal) -> Result<Option<SignalExport>, SettingsError> {
    let up = signal.upper();
    let var = |suffix: &str| format!("OTEL_EXPORTER_OTLP_{up}_{suffix}");
    let exporter_var = format!("OTEL_{up}_EXPORTER");
    if let Some(kind) = env.get(&exporter_var) {
        match kind {
            "none" => return Ok(None),
            "otlp" => {}
            _ => {
                return Err(invalid(
                    match signal {
                        Signal::Traces => "OTEL_TRACES_EXPORTER",
                        Signal::Metrics => "OTEL_METRICS_EXPORTER",
                        Signal::Logs => "OTEL_LOGS_EXPORTER",
                    },
                    kind,
                    "supported: otlp, none",
                ));
            }
        }
    }
    let protocol_value = env
        .get(&var("PROTOCOL"))
        .or_else(|| env.get("OTEL_EXPORTER_OTLP_PROTOCOL"));
    let protocol = match protocol_value {
        None | Some("grpc") => Protocol::Grpc,
        Some("http/protobuf") => Protocol::HttpProtobuf,
        Some(other) => {
            return Err(invalid(
                "OTEL_EXPORTER_OTLP_PROTOCOL",
                other,
                "supported: grpc, http/protobuf",
            ));
        }
    };
    let endpoint = if let Some(url) = env.get(&var("ENDPOINT")) {
        url.to_owned()
    } else if let Some(base) = env.get("OTEL_EXPORTER_OTLP_ENDPOINT") {
        match protocol {
            Protocol::Grpc => base.to_owned(),
            Protocol::HttpProtobuf => {
                format!("{}{}", base.trim_end_matches('/'), signal.http_path())
            }
        }
    } else {
        return Ok(None);
    };
    if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
        return Err(invalid(
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            &endpoint,
            "expected an http:// or https:// URL",
        ));
    }
    let mut headers = Vec::new();
    for key in ["OTEL_EXPORTER_OTLP_HEADERS".to_owned(), var("HEADERS")] {
        if let Some(v) = env.get(&key) {
            let parsed = parse_key_values(v).ok_or_else(|| {
                invalid(
                    "OTEL_EXPORTER_OTLP_HEADERS",
                    "<redacted>",
                    "expected key=value,...",
                )
            })?;
            for (k, val) in parsed {
                headers
                    .retain(|(existing, _): &(String, String)| !existing.eq_ignore_ascii_case(&k));
                headers.push((k, val));
            }
        }
    }
    let timeout = match env
        .get(&var("TIMEOUT"))
        .or_else(|| env.get("OTEL_EXPORTER_OTLP_TIMEOUT"))
    {
        None => Duration::from_secs(10),
        Some(v) => v
            .parse::<u64>()
            .map(Duration::from_millis)
            .map_err(|_| invalid("OTEL_EXPORTER_OTLP_TIMEOUT", v, "expected milliseconds"))?,
    };
    let gzip = match env
        .get(&var("COMPRESSION"))
        .or_else(|| env.get("OTEL_EXPORTER_OTLP_COMPRESSION"))
    {
        None | Some("none") => false,
        Some("gzip") => true,
        Some(other) => {
            return Err(invalid(
                "OTEL_EXPORTER_OTLP_COMPRESSION",
                other,
                "supported: gzip, none",
            ));
        }
    };
    Ok(Some(SignalExport {
        endpoint,
        protocol,
        headers,
        timeout,
        gzip,
    }))
}

/// Parses `k1=v1,k2=v2` with percent-encoded values (W3C baggage style, as the spec says for
/// `OTEL_RESOURCE_ATTRIBUTES` and `OTEL_EXPORTER_OTLP_HEADERS`).
pub fn parse_key_values(s: &str) -> Option<Vec<(String, String)>> {
    let mut out = Vec::new();
    for item in s.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let (k, v) = item.split_once('=')?;
        let k = k.trim();
        if k.is_empty() {
            return None;
        }
        out.push((k.to_owned(), percent_decode(v.trim())?));
    }
    Some(out)
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> Settings {
        Settings::from_env(&Env::from_pairs(pairs.iter().copied())).expect("valid settings")
    }

    #[test]
    fn every_variable_read_is_listed() {
        let env = Env::from_pairs([
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4317"),
            ("OTEL_TRACES_SAMPLER", "traceidratio"),
        ]);
        Settings::from_env(&env).expect("valid");
        let read = env.1.borrow().clone();
        assert!(read.len() > 20);
        for key in read {
            assert!(
                VARIABLES.contains(&key.as_str()),
                "{key} is read but not in VARIABLES"
            );
        }
    }

    #[test]
    fn the_downward_api_variables_become_kubernetes_resource_attributes() {
        let s = settings(&[
            ("K8S_POD_NAME", "cart-7d9f-abcde"),
            ("K8S_NAMESPACE_NAME", "ecommerce-demo"),
            ("K8S_NODE_NAME", "node-1"),
            ("K8S_CONTAINER_NAME", "tracemart"),
        ]);
        assert_eq!(
            s.kubernetes,
            [
                ("k8s.pod.name", "cart-7d9f-abcde".to_owned()),
                ("k8s.namespace.name", "ecommerce-demo".to_owned()),
                ("k8s.node.name", "node-1".to_owned()),
                ("k8s.container.name", "tracemart".to_owned()),
            ]
        );
        assert_eq!(s.host_name.as_deref(), Some("node-1"));
        assert!(settings(&[("K8S_POD_NAME", " ")]).kubernetes.is_empty());
    }

    #[test]
    fn nothing_set_exports_nothing_and_emits_both_db_generations() {
        let s = settings(&[]);
        assert!(!s.exports_otlp());
        assert_eq!(s.db_semconv, DbSemconv::Both);
        assert_eq!(s.sampler, SamplerSetting::ParentBasedAlwaysOn);
        assert!(s.propagate_trace_context && s.propagate_baggage);
    }

    #[test]
    fn http_protobuf_appends_the_signal_path_to_the_base_endpoint() {
        let s = settings(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
        ]);
        let t = s.traces.expect("traces exported");
        assert_eq!(t.endpoint, "http://collector:4318/v1/traces");
        assert_eq!(t.protocol, Protocol::HttpProtobuf);
        assert_eq!(
            s.logs.expect("logs").endpoint,
            "http://collector:4318/v1/logs"
        );
    }

    #[test]
    fn per_signal_variables_win_and_are_used_as_given() {
        let s = settings(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4317"),
            (
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                "https://traces.example:443/custom",
            ),
            ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/protobuf"),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "2500"),
            ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"),
        ]);
        let t = s.traces.expect("traces");
        assert_eq!(t.endpoint, "https://traces.example:443/custom");
        assert_eq!(t.timeout, Duration::from_millis(2500));
        assert!(t.gzip);
        let m = s.metrics.expect("metrics");
        assert_eq!(m.endpoint, "http://collector:4317");
        assert_eq!(m.protocol, Protocol::Grpc);
    }

    #[test]
    fn headers_are_percent_decoded_and_per_signal_headers_override() {
        let s = settings(&[
            (
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                "https://ingress.eu2.coralogix.com:443",
            ),
            (
                "OTEL_EXPORTER_OTLP_HEADERS",
                "Authorization=Bearer%20abc,CX-Application-Name=shop",
            ),
            (
                "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
                "cx-application-name=traces",
            ),
        ]);
        let t = s.traces.expect("traces");
        assert_eq!(
            t.headers,
            vec![
                ("Authorization".to_owned(), "Bearer abc".to_owned()),
                ("cx-application-name".to_owned(), "traces".to_owned()),
            ]
        );
    }

    #[test]
    fn exporter_none_turns_a_signal_off() {
        let s = settings(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4317"),
            ("OTEL_LOGS_EXPORTER", "none"),
        ]);
        assert!(s.traces.is_some() && s.logs.is_none());
    }

    #[test]
    fn sdk_disabled_is_honoured() {
        let s = settings(&[
            ("OTEL_SDK_DISABLED", "TRUE"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4317"),
        ]);
        assert!(s.disabled);
        assert!(!s.exports_otlp());
    }

    #[test]
    fn samplers_parse_with_their_argument() {
        let s = settings(&[
            ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
            ("OTEL_TRACES_SAMPLER_ARG", "0.25"),
        ]);
        assert_eq!(s.sampler, SamplerSetting::ParentBasedTraceIdRatio(0.25));
        let s = settings(&[("OTEL_TRACES_SAMPLER", "always_off")]);
        assert_eq!(s.sampler, SamplerSetting::AlwaysOff);
    }

    #[test]
    fn semconv_opt_in_switches_database_names() {
        assert_eq!(
            settings(&[("OTEL_SEMCONV_STABILITY_OPT_IN", "database")]).db_semconv,
            DbSemconv::StableOnly
        );
        assert_eq!(
            settings(&[("OTEL_SEMCONV_STABILITY_OPT_IN", "http,database/dup")]).db_semconv,
            DbSemconv::Both
        );
    }

    #[test]
    fn bad_values_name_the_variable() {
        for (var, value) in [
            ("OTEL_TRACES_SAMPLER", "sometimes"),
            ("OTEL_TRACES_SAMPLER_ARG", "2"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json5"),
            ("OTEL_SDK_DISABLED", "yes"),
            ("OTEL_PROPAGATORS", "b3"),
            ("OTEL_RESOURCE_ATTRIBUTES", "novalue"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4317"),
        ] {
            let mut pairs = vec![(var, value)];
            if var == "OTEL_TRACES_SAMPLER_ARG" {
                pairs.push(("OTEL_TRACES_SAMPLER", "traceidratio"));
            }
            let err = Settings::from_env(&Env::from_pairs(pairs)).expect_err(var);
            assert!(
                err.to_string().contains(var.trim_end_matches("_ARG")),
                "{err}"
            );
        }
    }

    #[test]
    fn resource_attributes_and_coralogix_names_are_read() {
        let s = settings(&[
            ("OTEL_RESOURCE_ATTRIBUTES", "team=sre,region=eu%2Dwest"),
            ("CX_APPLICATION_NAME", "tracemart"),
            ("CX_SUBSYSTEM_NAME", "shop"),
            ("OTEL_SERVICE_NAME", "frontend-eu"),
        ]);
        assert_eq!(
            s.resource_attributes,
            vec![
                ("team".to_owned(), "sre".to_owned()),
                ("region".to_owned(), "eu-west".to_owned())
            ]
        );
        assert_eq!(s.cx_application_name.as_deref(), Some("tracemart"));
        assert_eq!(s.cx_subsystem_name.as_deref(), Some("shop"));
        assert_eq!(s.service_name.as_deref(), Some("frontend-eu"));
    }
}
