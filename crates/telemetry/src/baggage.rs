//! Copies the shop's correlation baggage onto every span and log record.
//!
//! The load generator (or a client header) puts `traffic.type` and `session.id` into W3C
//! baggage; every service propagates it. Setting the attributes in a span processor, from the
//! parent context the span starts in, puts them on every span of every service — database spans
//! included — without any instrumentation site having to remember them.

use std::time::Duration;

use opentelemetry::baggage::BaggageExt;
use opentelemetry::logs::LogRecord as _;
use opentelemetry::trace::Span as _;
use opentelemetry::{Context, InstrumentationScope, KeyValue};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::logs::{LogProcessor, SdkLogRecord};
use opentelemetry_sdk::trace::{Span, SpanData, SpanProcessor};

/// The baggage keys copied to attributes, with the same names.
pub const CORRELATION_KEYS: &[&str] = &["traffic.type", "session.id"];

/// Baggage key and attribute naming the kind of traffic: `baseline` or `demo`.
pub const TRAFFIC_TYPE: &str = "traffic.type";

/// The `traffic.type` of ordinary shop traffic, and of any request nobody tagged.
pub const BASELINE: &str = "baseline";

/// The `traffic.type` a request arriving without one (a curl, a browser) is given by the first
/// service it reaches, put in the request's extensions by the service for the routes of its
/// demo flow; [`BASELINE`] when absent. It then travels on as baggage like any other, so the
/// whole trace carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UntaggedTraffic(pub &'static str);

/// Whether a caller's `traffic.type` is kept: a short word (`baseline`, `demo`, or a name the
/// load generator was given), never free text that would flood an APM's filters and the
/// metrics' cardinality.
pub fn valid_traffic_type(value: &str) -> bool {
    (1..=32).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// `cx` with `traffic.type` in its baggage — the caller's when it sent a valid one, `default`
/// otherwise (the other baggage entries are kept) — and that traffic type.
pub fn with_traffic_type(cx: Context, default: &str) -> (Context, String) {
    if let Some(given) = baggage_value(&cx, TRAFFIC_TYPE).filter(|t| valid_traffic_type(t)) {
        return (cx, given);
    }
    let mut entries: Vec<KeyValue> = cx
        .baggage()
        .iter()
        .filter(|(k, _)| k.as_str() != TRAFFIC_TYPE)
        .map(|(k, (v, _))| KeyValue::new(k.clone(), v.clone()))
        .collect();
    entries.push(KeyValue::new(TRAFFIC_TYPE, default.to_owned()));
    (cx.with_baggage(entries), default.to_owned())
}

/// Reads one correlation value from a context's baggage.
pub fn baggage_value(cx: &Context, key: &str) -> Option<String> {
    cx.baggage().get(key).map(|v| v.as_str().to_owned())
}

#[derive(Debug)]
pub(crate) struct BaggageSpanAttributes;

impl SpanProcessor for BaggageSpanAttributes {
    fn on_start(&self, span: &mut Span, cx: &Context) {
        for key in CORRELATION_KEYS {
            if let Some(v) = baggage_value(cx, key) {
                span.set_attribute(KeyValue::new(*key, v));
            }
        }
    }

    fn on_end(&self, _span: SpanData) {}

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }
}

#[derive(Debug)]
pub(crate) struct BaggageLogAttributes;

impl LogProcessor for BaggageLogAttributes {
    fn emit(&self, record: &mut SdkLogRecord, _scope: &InstrumentationScope) {
        Context::map_current(|cx| {
            for key in CORRELATION_KEYS {
                if let Some(v) = baggage_value(cx, key) {
                    record.add_attribute(*key, opentelemetry::logs::AnyValue::from(v));
                }
            }
        });
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    /// Nothing to release: it only adds attributes (and so the SDK warns of nothing).
    fn shutdown_with_timeout(&self, _timeout: std::time::Duration) -> OTelSdkResult {
        Ok(())
    }
}
