//! Messaging spans and metrics, as the semantic conventions give them: a PRODUCER span
//! `publish {destination}` around each publish, a CONSUMER span `process {destination}`
//! around each delivery's processing — a child of the producer's span through the message's
//! `traceparent` and `baggage` headers, so the consumer's work is in the publisher's trace and
//! keeps its `traffic.type` — and `messaging.client.sent.messages`,
//! `messaging.client.consumed.messages`, `messaging.client.operation.duration` and
//! `messaging.process.duration`.

use std::collections::HashMap;
use std::future::Future;
use std::time::Instant;

use opentelemetry::metrics::{Counter, Histogram};
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator as _};
use opentelemetry::{Context, KeyValue};
use tracing::Instrument as _;
use tracing::field::Empty;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use crate::ServiceTelemetry;
use crate::baggage::{TRAFFIC_TYPE, baggage_value};

pub mod metric {
    pub const SENT: &str = "messaging.client.sent.messages";
    pub const CONSUMED: &str = "messaging.client.consumed.messages";
    pub const OPERATION_DURATION: &str = "messaging.client.operation.duration";
    pub const PROCESS_DURATION: &str = "messaging.process.duration";
}

/// Buckets the conventions advise for messaging durations, in seconds.
const MESSAGING_BUCKETS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];

/// Trace context and baggage as message headers.
pub type Headers = Vec<(String, String)>;

struct Inject<'a>(&'a mut Headers);

impl Injector for Inject<'_> {
    fn set(&mut self, key: &str, value: String) {
        self.0.retain(|(k, _)| k != key);
        self.0.push((key.to_owned(), value));
    }
}

struct Extract<'a>(HashMap<String, &'a str>);

impl Extractor for Extract<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(&key.to_ascii_lowercase()).copied()
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(String::as_str).collect()
    }
}

/// The context the current span runs in, as headers to store or send (`traceparent`,
/// `baggage`).
pub fn current_context_headers(telemetry: &ServiceTelemetry) -> Headers {
    let mut headers = Headers::new();
    let span = tracing::Span::current();
    let cx = if span.is_disabled() {
        Context::current()
    } else {
        span.context()
    };
    telemetry
        .propagator()
        .inject_context(&cx, &mut Inject(&mut headers));
    headers
}

/// The context carried by `headers`.
pub fn extract(telemetry: &ServiceTelemetry, headers: &Headers) -> Context {
    let map = headers
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.as_str()))
        .collect();
    telemetry.propagator().extract(&Extract(map))
}

/// What a failed publish or processing reports on its span.
pub trait MessagingFailure {
    /// Low-cardinality `error.type`, e.g. `unavailable`, `invalid_event`.
    fn error_type(&self) -> &'static str;
}

/// A message about to be published.
#[derive(Debug, Clone, Copy)]
pub struct Outgoing<'a> {
    /// The exchange or topic (`messaging.destination.name`).
    pub destination: &'a str,
    pub routing_key: &'a str,
    pub message_id: &'a str,
    pub body_size: usize,
}

/// A delivered message about to be processed.
#[derive(Debug, Clone, Copy)]
pub struct Incoming<'a> {
    pub destination: &'a str,
    /// The queue it was consumed from (`messaging.destination.subscription.name`).
    pub subscription: &'a str,
    pub consumer_group: &'a str,
    pub routing_key: &'a str,
    pub message_id: &'a str,
    pub body_size: usize,
    pub delivery_tag: u64,
    /// How many times it was delivered before and not acknowledged.
    pub redelivered: bool,
}

/// One service's messaging client, as telemetry sees it.
#[derive(Clone)]
pub struct MessagingClient {
    telemetry: ServiceTelemetry,
    system: &'static str,
    server: Option<(String, u16)>,
    sent: Counter<u64>,
    consumed: Counter<u64>,
    operation_duration: Histogram<f64>,
    process_duration: Histogram<f64>,
}

impl MessagingClient {
    pub fn new(
        telemetry: ServiceTelemetry,
        system: &'static str,
        server: Option<(String, u16)>,
    ) -> Self {
        let meter = telemetry.meter();
        Self {
            sent: meter
                .u64_counter(metric::SENT)
                .with_unit("{message}")
                .with_description("Messages a producer attempted to send to the broker.")
                .build(),
            consumed: meter
                .u64_counter(metric::CONSUMED)
                .with_unit("{message}")
                .with_description("Messages delivered to the consumer, processed or not.")
                .build(),
            operation_duration: meter
                .f64_histogram(metric::OPERATION_DURATION)
                .with_unit("s")
                .with_description("Duration of messaging operations initiated by a producer.")
                .with_boundaries(MESSAGING_BUCKETS.to_vec())
                .build(),
            process_duration: meter
                .f64_histogram(metric::PROCESS_DURATION)
                .with_unit("s")
                .with_description("Duration of processing operations.")
                .with_boundaries(MESSAGING_BUCKETS.to_vec())
                .build(),
            telemetry,
            system,
            server,
        }
    }

    pub fn telemetry(&self) -> &ServiceTelemetry {
        &self.telemetry
    }

    fn common(&self, operation: &'static str, destination: &str) -> Vec<KeyValue> {
        let mut attrs = vec![
            KeyValue::new("messaging.system", self.system),
            KeyValue::new("messaging.operation.name", operation),
            KeyValue::new("messaging.destination.name", destination.to_owned()),
        ];
        if let Some((address, port)) = &self.server {
            attrs.push(KeyValue::new("server.address", address.clone()));
            attrs.push(KeyValue::new("server.port", i64::from(*port)));
        }
        attrs
    }

    fn record_server(&self, span: &tracing::Span) {
        if let Some((address, port)) = &self.server {
            span.record("server.address", address.as_str());
            span.record("server.port", i64::from(*port));
        }
    }

    /// Publishes inside a PRODUCER span whose parent is `parent` (the context the message was
    /// created in): `send` is given the headers to put on the message, which carry the
    /// producer span's context on.
    pub async fn publish<E, F>(
        &self,
        parent: Context,
        out: Outgoing<'_>,
        send: impl FnOnce(Headers) -> F,
    ) -> Result<(), E>
    where
        E: MessagingFailure,
        F: Future<Output = Result<(), E>>,
    {
        let span = tracing::info_span!(
            "messaging.publish",
            otel.name = %format_args!("publish {}", out.destination),
            otel.kind = "producer",
            otel.status_code = Empty,
            messaging.system = self.system,
            messaging.operation.type = "send",
            messaging.operation.name = "publish",
            messaging.destination.name = out.destination,
            messaging.rabbitmq.destination.routing_key = out.routing_key,
            messaging.message.id = out.message_id,
            messaging.message.body.size = i64::try_from(out.body_size).unwrap_or(i64::MAX),
            server.address = Empty,
            server.port = Empty,
            error.type = Empty,
        );
        self.record_server(&span);
        let _ = span.set_parent(parent);
        let mut headers = Headers::new();
        let cx = span.context();
        self.telemetry
            .propagator()
            .inject_context(&cx, &mut Inject(&mut headers));
        let traffic_type = baggage_value(&cx, TRAFFIC_TYPE);
        let started = Instant::now();
        let result = send(headers).instrument(span.clone()).await;
        let attrs = outcome(
            &span,
            result.as_ref().err(),
            self.common("publish", out.destination),
            traffic_type,
        );
        self.sent.add(1, &attrs);
        self.operation_duration
            .record(started.elapsed().as_secs_f64(), &attrs);
        result
    }

    /// Processes a delivery inside a CONSUMER span, a child of the context its headers carry.
    pub async fn process<T, E, F>(
        &self,
        headers: &Headers,
        inc: Incoming<'_>,
        work: F,
    ) -> Result<T, E>
    where
        E: MessagingFailure,
        F: Future<Output = Result<T, E>>,
    {
        let span = tracing::info_span!(
            "messaging.process",
            otel.name = %format_args!("process {}", inc.destination),
            otel.kind = "consumer",
            otel.status_code = Empty,
            messaging.system = self.system,
            messaging.operation.type = "process",
            messaging.operation.name = "process",
            messaging.destination.name = inc.destination,
            messaging.destination.subscription.name = inc.subscription,
            messaging.consumer.group.name = inc.consumer_group,
            messaging.rabbitmq.destination.routing_key = inc.routing_key,
            messaging.rabbitmq.message.delivery_tag = i64::try_from(inc.delivery_tag).unwrap_or(i64::MAX),
            messaging.message.id = inc.message_id,
            messaging.message.body.size = i64::try_from(inc.body_size).unwrap_or(i64::MAX),
            tracemart.message.redelivered = inc.redelivered,
            server.address = Empty,
            server.port = Empty,
            error.type = Empty,
        );
        self.record_server(&span);
        let parent = extract(&self.telemetry, headers);
        let traffic_type = baggage_value(&parent, TRAFFIC_TYPE);
        let _ = span.set_parent(parent);
        let started = Instant::now();
        let result = work.instrument(span.clone()).await;
        let mut attrs = self.common("process", inc.destination);
        attrs.push(KeyValue::new(
            "messaging.consumer.group.name",
            inc.consumer_group.to_owned(),
        ));
        let attrs = outcome(&span, result.as_ref().err(), attrs, traffic_type);
        self.consumed.add(1, &attrs);
        self.process_duration
            .record(started.elapsed().as_secs_f64(), &attrs);
        result
    }
}

/// Marks `span` failed with its `error.type` when the operation failed, and gives the metric
/// attributes their outcome and traffic type.
fn outcome<E: MessagingFailure>(
    span: &tracing::Span,
    failure: Option<&E>,
    mut attrs: Vec<KeyValue>,
    traffic_type: Option<String>,
) -> Vec<KeyValue> {
    if let Some(e) = failure {
        span.record("otel.status_code", "ERROR");
        span.record("error.type", e.error_type());
        attrs.push(KeyValue::new("error.type", e.error_type()));
    }
    if let Some(t) = traffic_type {
        attrs.push(KeyValue::new(TRAFFIC_TYPE, t));
    }
    attrs
}
