//! W3C trace context and baggage in HTTP headers. `http::HeaderMap` matches names
//! case-insensitively, so `Traceparent` and `traceparent` are the same header — the
//! capitalised-keys bug of the original cannot happen here.

use opentelemetry::Context;
use opentelemetry::propagation::text_map_propagator::TextMapPropagator;
use opentelemetry::propagation::{Extractor, Injector};

/// The W3C baggage limits: what a propagator must accept at least, and all we keep.
const BAGGAGE_MAX_BYTES: usize = 8192;
const BAGGAGE_MAX_MEMBERS: usize = 64;

fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

fn is_baggage_value(s: &str) -> bool {
    // baggage-octet: printable ASCII but space, `"`, `,`, `;` and `\`; percent-encoding allowed.
    s.bytes()
        .all(|b| (0x21..=0x7e).contains(&b) && !b"\",;\\".contains(&b))
}

/// The well-formed members of a `baggage` header, within the W3C limits. A malformed member
/// is dropped here, silently: the SDK would log the whole header (up to 8 KiB of whatever a
/// caller sent) in a warning.
pub fn clean_baggage(header: &str) -> String {
    let mut kept: Vec<&str> = Vec::new();
    let mut bytes = 0;
    for member in header.split(',').map(str::trim) {
        let pair = member.split(';').next().unwrap_or_default();
        let well_formed = pair
            .split_once('=')
            .is_some_and(|(k, v)| is_token(k.trim()) && is_baggage_value(v.trim()));
        if !well_formed || kept.len() >= BAGGAGE_MAX_MEMBERS {
            continue;
        }
        if bytes + member.len() + 1 > BAGGAGE_MAX_BYTES {
            break;
        }
        bytes += member.len() + 1;
        kept.push(member);
    }
    kept.join(",")
}

struct HeaderExtractor<'a> {
    headers: &'a http::HeaderMap,
    baggage: Option<String>,
}

impl<'a> HeaderExtractor<'a> {
    fn new(headers: &'a http::HeaderMap) -> Self {
        let baggage = headers
            .get("baggage")
            .map(|v| clean_baggage(&String::from_utf8_lossy(v.as_bytes())))
            .filter(|b| !b.is_empty());
        Self { headers, baggage }
    }
}

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        if key.eq_ignore_ascii_case("baggage") {
            return self.baggage.as_deref();
        }
        self.headers.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.headers.keys().map(|k| k.as_str()).collect()
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
    propagator.extract(&HeaderExtractor::new(headers))
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
    fn malformed_baggage_members_are_dropped_before_the_sdk_sees_them() {
        assert_eq!(
            clean_baggage("traffic.type=demo, @@bad@@ ,a b=c,session.id=s1;prop=1,k=v\"x"),
            "traffic.type=demo,session.id=s1;prop=1"
        );
        assert_eq!(clean_baggage(&"x".repeat(8 * 1024)), "");
        let long = (0..500)
            .map(|i| format!("k{i}=v"))
            .collect::<Vec<_>>()
            .join(",");
        let kept = clean_baggage(&long);
        assert_eq!(kept.split(',').count(), BAGGAGE_MAX_MEMBERS);
        let mut headers = http::HeaderMap::new();
        headers.insert(
            "baggage",
            http::HeaderValue::from_static("%%%, traffic.type=demo ,=x"),
        );
        let cx = extract(&propagator(), &headers);
        assert_eq!(
            cx.baggage().get("traffic.type").map(|v| v.to_string()),
            Some("demo".to_owned())
        );
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
