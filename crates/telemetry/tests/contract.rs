//! The span contract of the shared layers, asserted on exported spans: HTTP server and client
//! spans, error statuses, database attribute generations, the sampler and SDK switches.

use std::time::Duration;

use opentelemetry::trace::{SpanKind, Status};
use opentelemetry_sdk::trace::SpanData;
use telemetry::settings::DbSemconv;
use telemetry::{
    DbClient, DbFailure, DbOperation, DbSystem, HttpClient, LogFormat, MemorySink, Settings,
    TelemetryHub, Upstream,
};

fn attr(span: &SpanData, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| kv.value.as_str().into_owned())
}

/// An attribute exported as an integer, as the semantic conventions type ports and status
/// codes (a string "200" would not filter as `>= 500` in a backend).
fn int_attr(span: &SpanData, key: &str) -> Option<i64> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .and_then(|kv| match kv.value {
            opentelemetry::Value::I64(v) => Some(v),
            _ => None,
        })
}

fn hub(settings: Settings) -> (TelemetryHub, MemorySink) {
    let sink = MemorySink::new();
    let hub = TelemetryHub::new(settings, LogFormat::Off)
        .expect("hub")
        .with_memory_sink(sink.clone());
    (hub, sink)
}

/// Serves `app` behind the server layer of `t`, on a thread of its own under `t`'s dispatch
/// (as the launcher arranges), with the peer's address as the shop's servers have it; answers
/// the port.
async fn serve_traced(app: axum::Router, t: &telemetry::ServiceTelemetry) -> u16 {
    let app = app.layer(axum::middleware::from_fn_with_state(
        t.clone(),
        telemetry::http_server::trace_http,
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let dispatch = t.dispatch().clone();
    std::thread::spawn(move || {
        tracing::dispatcher::with_default(&dispatch, || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("rt");
            rt.block_on(async {
                let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
                axum::serve(listener, app).await
            })
        })
    });
    port
}

struct Failed;

impl DbFailure for Failed {
    fn error_type(&self) -> &'static str {
        "unavailable"
    }
    fn status_code(&self) -> Option<String> {
        Some("08006".to_owned())
    }
}

fn run_db_op(settings: Settings, fail: bool) -> Vec<SpanData> {
    let (hub, sink) = hub(settings);
    let t = hub.service("checkout").expect("telemetry");
    let db = DbClient::new(
        t.clone(),
        DbSystem::Postgresql,
        "shop",
        Some("db.internal".into()),
        Some(5432),
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    tracing::dispatcher::with_default(t.dispatch(), || {
        rt.block_on(async {
            let op = DbOperation {
                operation: "SELECT",
                collection: Some("orders"),
                query_text: "SELECT id FROM orders WHERE id = $1",
            };
            let _ = db
                .run(op, async { if fail { Err(Failed) } else { Ok(1) } })
                .await;
        })
    });
    sink.spans().into_iter().map(|(_, s)| s).collect()
}

#[test]
fn database_spans_carry_both_generations_by_default() {
    let spans = run_db_op(Settings::default(), false);
    let s = &spans[0];
    assert_eq!(s.name, "SELECT orders");
    assert_eq!(s.span_kind, SpanKind::Client);
    for (stable, old, value) in [
        ("db.system.name", "db.system", "postgresql"),
        ("db.namespace", "db.name", "shop"),
        ("db.operation.name", "db.operation", "SELECT"),
        (
            "db.query.text",
            "db.statement",
            "SELECT id FROM orders WHERE id = $1",
        ),
        ("db.collection.name", "db.sql.table", "orders"),
        ("server.address", "net.peer.name", "db.internal"),
        ("server.port", "net.peer.port", "5432"),
    ] {
        assert_eq!(attr(s, stable).as_deref(), Some(value), "{stable}");
        assert_eq!(attr(s, old).as_deref(), Some(value), "{old}");
    }
    for port in ["server.port", "net.peer.port"] {
        assert_eq!(int_attr(s, port), Some(5432), "{port} is an int");
    }
    assert_eq!(s.status, Status::Unset);
}

#[test]
fn database_opt_in_emits_stable_names_only() {
    let settings = Settings {
        db_semconv: DbSemconv::StableOnly,
        ..Settings::default()
    };
    let spans = run_db_op(settings, false);
    let s = &spans[0];
    assert_eq!(attr(s, "db.system.name").as_deref(), Some("postgresql"));
    for old in [
        "db.system",
        "db.name",
        "db.operation",
        "db.statement",
        "db.sql.table",
        "net.peer.name",
        "net.peer.port",
    ] {
        assert_eq!(attr(s, old), None, "{old} must not be emitted");
    }
}

#[test]
fn a_failed_database_operation_is_an_error_with_its_type() {
    let spans = run_db_op(Settings::default(), true);
    let s = &spans[0];
    assert!(matches!(s.status, Status::Error { .. }));
    assert_eq!(attr(s, "error.type").as_deref(), Some("unavailable"));
    assert_eq!(attr(s, "db.response.status_code").as_deref(), Some("08006"));
}

#[test]
fn sdk_disabled_and_sampler_off_export_nothing() {
    for settings in [
        Settings {
            disabled: true,
            ..Settings::default()
        },
        Settings {
            sampler: telemetry::settings::SamplerSetting::AlwaysOff,
            ..Settings::default()
        },
    ] {
        assert!(run_db_op(settings, false).is_empty());
    }
}

/// A server with three routes behind the shared layer, and a client calling it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_server_and_client_spans_follow_the_conventions() {
    let (hub, sink) = hub(Settings::default());
    let server_t = hub.service("server-svc").expect("telemetry");
    let client_t = hub.service("client-svc").expect("telemetry");
    let app = axum::Router::new()
        .route("/items/{id}", axum::routing::get(|| async { "ok" }))
        .route(
            "/boom",
            axum::routing::get(|| async { (http::StatusCode::INTERNAL_SERVER_ERROR, "no") }),
        )
        .route(
            "/missing",
            axum::routing::get(|| async { (http::StatusCode::NOT_FOUND, "no") }),
        );
    let port = serve_traced(app, &server_t).await;

    let client = HttpClient::new(client_t.clone(), Duration::from_secs(2));
    let up = Upstream::new("server-svc", format!("http://127.0.0.1:{port}"));
    let dead = Upstream::new("nobody", "http://127.0.0.1:1");
    let calls = async {
        for (template, path) in [
            ("/items/{id}", "/items/7"),
            ("/boom", "/boom"),
            ("/missing", "/missing"),
        ] {
            client
                .send::<()>(&up, http::Method::GET, template, path, None)
                .await
                .expect("answered");
        }
        assert!(
            client
                .send::<()>(&dead, http::Method::GET, "/x", "/x", None)
                .await
                .is_err()
        );
    };
    let dispatch = client_t.dispatch().clone();
    tracing::instrument::WithSubscriber::with_subscriber(calls, dispatch).await;

    let spans = sink.spans();
    let find = |service: &str, name: &str| {
        spans
            .iter()
            .find(|(s, d)| s == service && d.name == name)
            .map(|(_, d)| d.clone())
            .unwrap_or_else(|| {
                panic!(
                    "no span {name} in {service}: {:?}",
                    spans.iter().map(|(s, d)| (s, &d.name)).collect::<Vec<_>>()
                )
            })
    };
    let server_ok = find("server-svc", "GET /items/{id}");
    let client_ok = find("client-svc", "GET /items/{id}");
    assert_eq!(server_ok.span_kind, SpanKind::Server);
    assert_eq!(client_ok.span_kind, SpanKind::Client);
    assert_eq!(
        server_ok.parent_span_id,
        client_ok.span_context.span_id(),
        "propagated across HTTP"
    );
    assert_eq!(
        server_ok.span_context.trace_id(),
        client_ok.span_context.trace_id()
    );
    assert_eq!(
        attr(&server_ok, "http.route").as_deref(),
        Some("/items/{id}")
    );
    assert_eq!(attr(&server_ok, "url.path").as_deref(), Some("/items/7"));
    assert_eq!(
        attr(&server_ok, "http.response.status_code").as_deref(),
        Some("200")
    );
    assert_eq!(
        attr(&client_ok, "url.full").as_deref(),
        Some(format!("http://127.0.0.1:{port}/items/7").as_str())
    );
    assert_eq!(
        attr(&client_ok, "server.address").as_deref(),
        Some("127.0.0.1")
    );
    assert_eq!(
        attr(&client_ok, "server.port").as_deref(),
        Some(port.to_string().as_str())
    );
    for (span, key, value) in [
        (&server_ok, "http.response.status_code", 200),
        (&client_ok, "http.response.status_code", 200),
        (&client_ok, "server.port", i64::from(port)),
        (&server_ok, "server.port", i64::from(port)),
    ] {
        assert_eq!(
            int_attr(span, key),
            Some(value),
            "{key} is an int on {}",
            span.name
        );
    }
    assert_eq!(server_ok.status, Status::Unset);
    assert_eq!(
        attr(&server_ok, "traffic.type").as_deref(),
        Some("baseline"),
        "a request without traffic.type baggage is given the default"
    );

    // 5xx: an error on both sides, with error.type.
    let server_boom = find("server-svc", "GET /boom");
    let client_boom = find("client-svc", "GET /boom");
    for s in [&server_boom, &client_boom] {
        assert!(matches!(s.status, Status::Error { .. }), "{}", s.name);
        assert_eq!(attr(s, "error.type").as_deref(), Some("500"));
    }
    // 4xx: an error on the client span only.
    assert_eq!(find("server-svc", "GET /missing").status, Status::Unset);
    let client_missing = find("client-svc", "GET /missing");
    assert!(matches!(client_missing.status, Status::Error { .. }));
    assert_eq!(attr(&client_missing, "error.type").as_deref(), Some("404"));
    // No answer at all: an error with the failure's kind.
    let client_dead = find("client-svc", "GET /x");
    assert!(matches!(client_dead.status, Status::Error { .. }));
    assert_eq!(
        attr(&client_dead, "error.type").as_deref(),
        Some("connection_error")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_spans_name_their_client_and_synthetic_shoppers_and_keep_odd_methods() {
    let (hub, sink) = hub(Settings::default());
    let server_t = hub.service("server-svc").expect("telemetry");
    let client_t = hub.service("loadgen-svc").expect("telemetry");
    let app = axum::Router::new().route("/items/{id}", axum::routing::any(|| async { "ok" }));
    let port = serve_traced(app, &server_t).await;
    let shopper = HttpClient::new(client_t.clone(), Duration::from_secs(2)).synthetic();
    let up = Upstream::new("server-svc", format!("http://127.0.0.1:{port}"));
    let dispatch = client_t.dispatch().clone();
    tracing::instrument::WithSubscriber::with_subscriber(
        async {
            shopper
                .send::<()>(&up, http::Method::GET, "/items/{id}", "/items/1", None)
                .await
                .expect("answered");
        },
        dispatch,
    )
    .await;
    // A method the conventions do not know, through a proxy, with no User-Agent at all.
    let answer = telemetry::tls::client_builder()
        .build()
        .expect("client")
        .request(
            http::Method::from_bytes(b"PURGE").expect("method"),
            format!("http://127.0.0.1:{port}/items/2"),
        )
        .header("x-forwarded-for", "203.0.113.7, 10.0.0.1")
        .send()
        .await
        .expect("answered");
    assert_eq!(answer.status(), 200);

    let spans = sink.spans();
    let find = |service: &str, path: &str| {
        spans
            .iter()
            .find(|(s, d)| s == service && attr(d, "url.path").as_deref() == Some(path))
            .map(|(_, d)| d.clone())
            .or_else(|| {
                spans
                    .iter()
                    .find(|(s, d)| {
                        s == service && attr(d, "url.full").is_some_and(|u| u.ends_with(path))
                    })
                    .map(|(_, d)| d.clone())
            })
            .unwrap_or_else(|| panic!("no span of {service} for {path}"))
    };
    let client = find("loadgen-svc", "/items/1");
    assert_eq!(
        attr(&client, "user_agent.synthetic.type").as_deref(),
        Some("test")
    );
    assert_eq!(
        attr(&client, "service.peer.name").as_deref(),
        Some("server-svc")
    );
    assert_eq!(attr(&client, "peer.service").as_deref(), Some("server-svc"));
    let synthetic = find("server-svc", "/items/1");
    assert_eq!(
        attr(&synthetic, "user_agent.synthetic.type").as_deref(),
        Some("test")
    );
    assert!(
        attr(&synthetic, "user_agent.original")
            .is_some_and(|ua| ua.starts_with("tracemart-load-generator/"))
    );
    assert_eq!(
        attr(&synthetic, "client.address").as_deref(),
        Some("127.0.0.1")
    );
    assert_eq!(
        attr(&synthetic, "network.peer.address").as_deref(),
        Some("127.0.0.1")
    );
    assert!(int_attr(&synthetic, "network.peer.port").is_some_and(|p| p > 0));

    let odd = find("server-svc", "/items/2");
    assert_eq!(odd.name, "HTTP /items/{id}");
    assert_eq!(attr(&odd, "http.request.method").as_deref(), Some("_OTHER"));
    assert_eq!(
        attr(&odd, "http.request.method_original").as_deref(),
        Some("PURGE")
    );
    assert_eq!(
        attr(&odd, "client.address").as_deref(),
        Some("203.0.113.7"),
        "the client a proxy names"
    );
    assert_eq!(
        attr(&odd, "user_agent.original"),
        None,
        "no empty user agent"
    );
    assert_eq!(attr(&odd, "user_agent.synthetic.type"), None);
}

#[test]
fn a_sql_command_on_no_table_is_named_with_its_database() {
    let (hub, sink) = hub(Settings::default());
    let t = hub.service("checkout").expect("telemetry");
    let db = DbClient::new(t.clone(), DbSystem::Postgresql, "shop", None, None);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    tracing::dispatcher::with_default(t.dispatch(), || {
        rt.block_on(async {
            let _ = db
                .run(DbOperation::command("COMMIT", "COMMIT"), async {
                    Ok::<_, Failed>(())
                })
                .await;
        })
    });
    let spans: Vec<SpanData> = sink.spans().into_iter().map(|(_, s)| s).collect();
    assert_eq!(spans.len(), 1);
    assert_eq!(spans[0].name, "COMMIT shop");
    assert_eq!(
        attr(&spans[0], "db.operation.name").as_deref(),
        Some("COMMIT")
    );
}

#[test]
fn database_durations_use_the_database_conventions_buckets() {
    let (hub, sink) = hub(Settings::default());
    let t = hub.service("checkout").expect("telemetry");
    let db = DbClient::new(t.clone(), DbSystem::Postgresql, "shop", None, None);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    tracing::dispatcher::with_default(t.dispatch(), || {
        rt.block_on(async {
            let op = DbOperation::on("SELECT", "orders", "SELECT id FROM orders");
            let _ = db.run(op, async { Ok::<_, Failed>(1) }).await;
        })
    });
    t.flush();
    assert_eq!(
        sink.histogram_bounds("checkout", "db.client.operation.duration"),
        Some(telemetry::DB_DURATION_BUCKETS.to_vec())
    );
    assert_eq!(
        telemetry::DB_DURATION_BUCKETS,
        &[0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0],
        "the buckets the database conventions advise"
    );
}
