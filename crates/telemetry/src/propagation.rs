//! W3C trace context and baggage in HTTP headers. `http::HeaderMap` matches names
//! case-insensitively, so `Traceparent` and `traceparent` are the same header — the
//! capitalised-keys bug of the original cannot happen here.

use opentelemetry::Context;
use opentelemetry::propagation::text_map_propagator::TextMapPropagator;
use opentelemetry::propagation::{Extractor, Injector};

struct HeaderExtractor<'a>(&'a http::HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

struct HeaderInjector<'a>(&'a mut http::HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(key.as_bytes()),
            http::HeaderValue::from_str(&value),
        ) {
            self.0.insert(name, value);
        }
    }
}

pub fn extract(propagator: &impl TextMapPropagator, headers: &http::HeaderMap) -> Context {
    propagator.extract(&HeaderExtractor(headers))
}

pub fn inject(propagator: &impl TextMapPropagator, cx: &Context, headers: &mut http::HeaderMap) {
    propagator.inject_context(cx, &mut HeaderInjector(headers));
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::baggage::BaggageExt;
    use opentelemetry::propagation::TextMapCompositePropagator;
    use opentelemetry::trace::TraceContextExt;
    use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};

    fn propagator() -> TextMapCompositePropagator {
        TextMapCompositePropagator::new(vec![
            Box::new(TraceContextPropagator::new()),
            Box::new(BaggagePropagator::new()),
        ])
    }

    #[test]
    fn capitalised_header_names_are_extracted() {
        let mut headers = http::HeaderMap::new();
        headers.insert(
            http::HeaderName::from_static("traceparent"),
            http::HeaderValue::from_static(
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            ),
        );
        headers.insert(
            http::HeaderName::from_bytes(b"Baggage").expect("name"),
            http::HeaderValue::from_static("traffic.type=demo,session.id=s-1"),
        );
        let cx = extract(&propagator(), &headers);
        assert_eq!(
            cx.span().span_context().trace_id().to_string(),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
        assert!(cx.span().span_context().is_remote());
        assert_eq!(
            cx.baggage().get("traffic.type").map(|v| v.as_str()),
            Some("demo")
        );
    }

    #[test]
    fn injected_headers_round_trip() {
        let mut headers = http::HeaderMap::new();
        headers.insert(
            "traceparent",
            http::HeaderValue::from_static(
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            ),
        );
        headers.insert(
            "baggage",
            http::HeaderValue::from_static("traffic.type=baseline"),
        );
        let cx = extract(&propagator(), &headers);
        let mut out = http::HeaderMap::new();
        inject(&propagator(), &cx, &mut out);
        assert!(
            out["traceparent"]
                .to_str()
                .expect("ascii")
                .contains("4bf92f3577b34da6a3ce929d0e0e4736")
        );
        assert_eq!(out["baggage"], "traffic.type=baseline");
    }
}
