//! OTLP that arrives from outside the process: decoding an OTLP/HTTP body (protobuf or JSON,
//! gzip or not, bounded before and after decompression), and forwarding trace batches made
//! elsewhere — the storefront's browser spans — to wherever this process sends its own traces.

use std::io::Read as _;
use std::time::Duration;

use http::{HeaderMap, StatusCode};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use prost::Message;

use crate::settings::{Protocol, SignalExport};

/// Why a body was refused: the status to answer and a message for the sender.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub status: StatusCode,
    pub message: String,
}

impl Refused {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }
}

/// Decodes an OTLP/HTTP request body: JSON when `Content-Type` says `application/json`, else
/// protobuf; gunzipped first when `Content-Encoding: gzip`, never past `max` bytes (a small
/// body that inflates without end is refused with 413, not held in memory). Returns the
/// message and whether it was JSON.
pub fn decode<T: Message + Default + serde::de::DeserializeOwned>(
    headers: &HeaderMap,
    body: &[u8],
    max: usize,
) -> Result<(T, bool), Refused> {
    let header = |name: http::HeaderName| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .unwrap_or_default()
    };
    if body.len() > max {
        return Err(Refused::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body too large",
        ));
    }
    let inflated;
    let raw = match header(http::header::CONTENT_ENCODING) {
        "" | "identity" => body,
        e if e.eq_ignore_ascii_case("gzip") => {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(body)
                .take(max as u64 + 1)
                .read_to_end(&mut out)
                .map_err(|e| {
                    Refused::new(StatusCode::BAD_REQUEST, format!("invalid gzip body: {e}"))
                })?;
            if out.len() > max {
                return Err(Refused::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "body too large once decompressed",
                ));
            }
            inflated = out;
            &inflated
        }
        other => {
            return Err(Refused::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!(
                    "unsupported Content-Encoding {:?}: gzip or none",
                    &other[..other.floor_char_boundary(32)]
                ),
            ));
        }
    };
    let content_type = header(http::header::CONTENT_TYPE);
    if content_type.starts_with("application/json") {
        serde_json::from_slice(raw)
            .map(|v| (v, true))
            .map_err(|e| Refused::new(StatusCode::BAD_REQUEST, format!("invalid OTLP JSON: {e}")))
    } else {
        // application/x-protobuf, or a sender that names no type.
        T::decode(raw).map(|v| (v, false)).map_err(|e| {
            Refused::new(
                StatusCode::BAD_REQUEST,
                format!("invalid OTLP protobuf: {e}"),
            )
        })
    }
}

/// Sends trace batches made elsewhere to this process's trace destinations (the configured
/// OTLP endpoint, the embedded console), as they are: resource, scopes and spans untouched.
#[derive(Clone)]
pub struct TraceForwarder {
    destinations: Vec<Destination>,
    http: reqwest::Client,
}

#[derive(Clone)]
enum Destination {
    Http(SignalExport),
    Grpc {
        export: SignalExport,
        client: TraceServiceClient<tonic::transport::Channel>,
    },
}

impl TraceForwarder {
    pub(crate) fn new(exports: Vec<SignalExport>) -> anyhow::Result<Self> {
        let mut destinations = Vec::new();
        for e in exports {
            destinations.push(match e.protocol {
                Protocol::HttpProtobuf => Destination::Http(e),
                Protocol::Grpc => {
                    let mut endpoint = tonic::transport::Endpoint::from_shared(e.endpoint.clone())?
                        .timeout(e.timeout)
                        .connect_timeout(Duration::from_secs(5));
                    if e.endpoint.starts_with("https://") {
                        endpoint = endpoint.tls_config(
                            tonic::transport::ClientTlsConfig::new().with_webpki_roots(),
                        )?;
                    }
                    let mut client = TraceServiceClient::new(endpoint.connect_lazy());
                    if e.gzip {
                        client = client.send_compressed(tonic::codec::CompressionEncoding::Gzip);
                    }
                    Destination::Grpc { export: e, client }
                }
            });
        }
        Ok(Self {
            destinations,
            http: crate::tls::client_builder()
                .timeout(Duration::from_secs(10))
                .build()?,
        })
    }

    /// Whether there is anywhere to send to.
    pub fn is_empty(&self) -> bool {
        self.destinations.is_empty()
    }

    /// Sends `request` to every destination side by side; the error of each that failed.
    pub async fn forward(&self, request: &ExportTraceServiceRequest) -> Vec<anyhow::Error> {
        let body = request.encode_to_vec();
        let sends =
            self.destinations.iter().map(|d| {
                let body = body.clone();
                async move {
                    match d {
                        Destination::Http(e) => self.post(e, body).await,
                        Destination::Grpc { export, client } => {
                            let mut call = tonic::Request::new(request.clone());
                            for (k, v) in &export.headers {
                                if let (Ok(k), Ok(v)) = (
                                    tonic::metadata::MetadataKey::from_bytes(
                                        k.to_ascii_lowercase().as_bytes(),
                                    ),
                                    v.parse(),
                                ) {
                                    call.metadata_mut().insert(k, v);
                                }
                            }
                            client.clone().export(call).await.map(|_| ()).map_err(|s| {
                                anyhow::anyhow!("{}: {}", export.endpoint, s.message())
                            })
                        }
                    }
                }
            });
        futures::future::join_all(sends)
            .await
            .into_iter()
            .filter_map(Result::err)
            .collect()
    }

    async fn post(&self, e: &SignalExport, body: Vec<u8>) -> anyhow::Result<()> {
        let mut r = self
            .http
            .post(&e.endpoint)
            .timeout(e.timeout)
            .header(http::header::CONTENT_TYPE, "application/x-protobuf");
        for (k, v) in &e.headers {
            r = r.header(k.as_str(), v.as_str());
        }
        let body = if e.gzip {
            use std::io::Write as _;
            let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            z.write_all(&body)?;
            r = r.header(http::header::CONTENT_ENCODING, "gzip");
            z.finish()?
        } else {
            body
        };
        let answer = r.body(body).send().await?;
        if answer.status().is_success() {
            Ok(())
        } else {
            anyhow::bail!("{}: HTTP {}", e.endpoint, answer.status())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, http::HeaderValue::from_static(v));
        }
        h
    }

    const JSON: &str = r#"{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"storefront-web"}}]},"scopeSpans":[{"scope":{"name":"s"},"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"click","kind":1,"startTimeUnixNano":"1544712660000000000","endTimeUnixNano":"1544712661000000000"}]}]}]}"#;

    #[test]
    fn otlp_json_with_hex_ids_decodes() {
        let (req, json): (ExportTraceServiceRequest, bool) = decode(
            &headers(&[("content-type", "application/json")]),
            JSON.as_bytes(),
            1 << 20,
        )
        .expect("decodes");
        assert!(json);
        let span = &req.resource_spans[0].scope_spans[0].spans[0];
        assert_eq!(span.trace_id.len(), 16);
        assert_eq!(span.span_id.len(), 8);
        assert_eq!(span.name, "click");
    }

    #[test]
    fn bodies_too_large_before_or_after_inflating_and_bad_encodings_are_refused() {
        use std::io::Write as _;
        let json = headers(&[("content-type", "application/json")]);
        let big = vec![b' '; 2048];
        let refused = decode::<ExportTraceServiceRequest>(&json, &big, 1024).expect_err("too big");
        assert_eq!(refused.status, StatusCode::PAYLOAD_TOO_LARGE);

        // A bomb: 64 MiB of zeros in a few KiB.
        let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        z.write_all(&vec![0u8; 64 << 20]).expect("gzip");
        let bomb = z.finish().expect("gzip");
        assert!(bomb.len() < 128 * 1024);
        let gz = headers(&[
            ("content-type", "application/json"),
            ("content-encoding", "gzip"),
        ]);
        let refused = decode::<ExportTraceServiceRequest>(&gz, &bomb, 1 << 20).expect_err("bomb");
        assert_eq!(refused.status, StatusCode::PAYLOAD_TOO_LARGE);

        let refused =
            decode::<ExportTraceServiceRequest>(&gz, b"not gzip", 1 << 20).expect_err("junk");
        assert_eq!(refused.status, StatusCode::BAD_REQUEST);
        let br = headers(&[
            ("content-type", "application/json"),
            ("content-encoding", "br"),
        ]);
        let refused = decode::<ExportTraceServiceRequest>(&br, b"{}", 1 << 20).expect_err("br");
        assert_eq!(refused.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        let text = headers(&[("content-type", "text/plain")]);
        let refused = decode::<ExportTraceServiceRequest>(&text, b"{not protobuf", 1 << 20)
            .expect_err("text");
        assert_eq!(refused.status, StatusCode::BAD_REQUEST);
        let refused =
            decode::<ExportTraceServiceRequest>(&json, b"{\"resourceSpans\": 5}", 1 << 20)
                .expect_err("shape");
        assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    }
}
