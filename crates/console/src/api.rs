//! The console's JSON API (and the page that uses it).

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde::Deserialize;
use serde_json::json;

use crate::analysis::{self, OperationFilter, TraceFilter};
use crate::receiver::Shared;
use crate::store::{hex, parse_hex};

fn lock(store: &Shared) -> std::sync::MutexGuard<'_, crate::store::Store> {
    store.lock().unwrap_or_else(|e| e.into_inner())
}

/// The store as it is now, for an analysis that then runs without the ingest lock: the lock
/// is held only to copy the pointers.
fn analyse<T>(store: &Shared, analysis: impl FnOnce(&crate::store::Store) -> T) -> T {
    let snapshot = lock(store).snapshot();
    analysis(&snapshot)
}

#[derive(Debug, Deserialize)]
struct SummaryQuery {
    /// Seconds a trace must have been quiet before a missing parent counts as an orphan.
    settle_s: Option<f64>,
    /// Also the graph and RED of the requests that started in the last this many seconds.
    window_s: Option<f64>,
}

async fn summary(State(store): State<Shared>, Query(q): Query<SummaryQuery>) -> Response {
    let settle = (q.settle_s.unwrap_or(15.0).clamp(0.0, 3600.0) * 1e9) as u64;
    let window = q.window_s.map(|w| (w.clamp(1.0, 3600.0) * 1e9) as u64);
    Json(analyse(&store, |s| analysis::summary(s, settle, window))).into_response()
}

async fn operations(State(store): State<Shared>, Query(f): Query<OperationFilter>) -> Response {
    Json(analyse(&store, |s| analysis::operations(s, &f))).into_response()
}

async fn traces(State(store): State<Shared>, Query(f): Query<TraceFilter>) -> Response {
    Json(analyse(&store, |s| analysis::traces(s, &f))).into_response()
}

async fn trace(State(store): State<Shared>, Path(id): Path<String>) -> Response {
    let Some(trace_id) = parse_hex::<16>(&id) else {
        return (StatusCode::BAD_REQUEST, Json(json!({"error": {"code": "invalid_trace_id", "message": "a trace id is 32 hex digits"}}))).into_response();
    };
    let store = lock(&store).snapshot();
    let Some(t) = store.traces.get(&trace_id) else {
        return (StatusCode::NOT_FOUND, Json(json!({"error": {"code": "trace_not_found", "message": "no such trace in the store"}}))).into_response();
    };
    let mut spans: Vec<_> = t.spans.iter().collect();
    spans.sort_by_key(|s| s.start_ns);
    let spans: Vec<_> = spans
        .iter()
        .map(|s| {
            json!({
                "span_id": hex(&s.span_id),
                "parent_span_id": s.parent.map(|p| hex(&p)),
                "service": &*s.service,
                "name": s.name,
                "kind": match s.kind { 1 => "internal", 2 => "server", 3 => "client", 4 => "producer", 5 => "consumer", _ => "unspecified" },
                "start_unix_ns": s.start_ns,
                "duration_ms": s.duration_ns() as f64 / 1e6,
                "error": s.error,
                "attributes": s.attributes.iter().map(|(k, v)| (k.to_string(), serde_json::Value::String(v.clone()))).collect::<serde_json::Map<_, _>>(),
            })
        })
        .collect();
    let logs: Vec<_> = store
        .logs
        .iter()
        .filter(|l| l.trace_id == Some(trace_id))
        .map(|l| (**l).clone())
        .collect();
    Json(json!({ "summary": analysis::trace_summary(&trace_id, &t.spans), "spans": spans, "logs": logs })).into_response()
}

async fn stats(State(store): State<Shared>) -> Response {
    Json(lock(&store).counters()).into_response()
}

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// One of the page's files: its path under `ui/`, its content type, its text.
macro_rules! asset {
    ($path:literal, $content_type:expr) => {
        ($path, $content_type, include_str!(concat!("ui/", $path)))
    };
}

/// The page's files, embedded at build time: path under `ui/`, content type, body. `/` answers
/// `index.html`, `/ui/<path>` any of them. A file the page loads must be listed here (a test
/// checks that every file under `ui/` is, and that every reference between them resolves).
const ASSETS: &[(&str, &str, &str)] = &[
    asset!("index.html", HTML),
    asset!("style.css", CSS),
    asset!("main.js", JS),
    asset!("state.js", JS),
    asset!("api.js", JS),
    asset!("dom.js", JS),
    asset!("format.js", JS),
    asset!("live.js", JS),
    asset!("graph.js", JS),
    asset!("tree.js", JS),
    asset!("data.js", JS),
    asset!("views/header.js", JS),
    asset!("views/map.js", JS),
    asset!("views/services.js", JS),
    asset!("views/traces.js", JS),
    asset!("views/trace.js", JS),
    asset!("views/databases.js", JS),
    asset!("views/scenarios.js", JS),
    asset!("views/load.js", JS),
];

fn serve(path: &str) -> Response {
    match ASSETS.iter().find(|(p, _, _)| *p == path) {
        Some((_, content_type, body)) => (
            [
                (http::header::CONTENT_TYPE, *content_type),
                // revalidated on every load: a new binary never mixes with cached modules
                (http::header::CACHE_CONTROL, "no-cache"),
            ],
            *body,
        )
            .into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({"error": {"code": "file_not_found", "message": "no such file in the console's page"}})),
        )
            .into_response(),
    }
}

async fn page() -> Response {
    serve("index.html")
}

async fn page_file(Path(path): Path<String>) -> Response {
    serve(&path)
}

pub fn router(store: Shared) -> axum::Router {
    axum::Router::new()
        .route("/", axum::routing::get(page))
        .route("/ui/{*path}", axum::routing::get(page_file))
        .route("/api/summary", axum::routing::get(summary))
        .route("/api/operations", axum::routing::get(operations))
        .route("/api/traces", axum::routing::get(traces))
        .route("/api/traces/{trace_id}", axum::routing::get(trace))
        .route("/api/stats", axum::routing::get(stats))
        .with_state(store)
}

/// Where the console's pages reach the shop's control APIs (scenarios, load), same origin.
#[derive(Debug, Clone, Default)]
pub struct Targets {
    /// Any service of the shop (its `/scenarios` API).
    pub shop: Option<String>,
    /// The load generator.
    pub load: Option<String>,
    /// Sent as `Authorization: Bearer` to the scenario API.
    pub control_token: Option<String>,
}

#[derive(Clone)]
pub struct Proxy {
    pub targets: std::sync::Arc<std::sync::RwLock<Targets>>,
    pub http: reqwest::Client,
}

async fn forward(
    proxy: &Proxy,
    base: Option<String>,
    path: String,
    method: http::Method,
    query: Option<String>,
    body: axum::body::Bytes,
    token: bool,
) -> Response {
    let Some(base) = base else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"error": {"code": "not_connected", "message": "the console is not connected to a shop (start it with --shop-url / --load-url)"}})),
        )
            .into_response();
    };
    let mut url = format!("{}/{}", base.trim_end_matches('/'), path);
    if let Some(q) = query {
        url.push('?');
        url.push_str(&q);
    }
    let mut request = proxy.http.request(method, &url);
    if !body.is_empty() {
        request = request
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(body);
    }
    if token
        && let Some(t) = proxy
            .targets
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .control_token
            .clone()
    {
        request = request.bearer_auth(t);
    }
    match request.send().await {
        Ok(r) => {
            let status = r.status();
            let bytes = r.bytes().await.unwrap_or_default();
            (status, [(http::header::CONTENT_TYPE, "application/json")], bytes).into_response()
        }
        Err(e) => (
            StatusCode::BAD_GATEWAY,
            Json(json!({"error": {"code": "shop_unreachable", "message": format!("the shop did not answer: {e}")}})),
        )
            .into_response(),
    }
}

/// The most a page may send through the console: what the shop itself accepts.
pub const MAX_FORWARDED_BODY: usize = telemetry::http_server::MAX_BODY_BYTES;

/// A scenario's name in a path: lower-case letters, digits and `-`.
fn is_name(segment: &str) -> bool {
    (1..=64).contains(&segment.len())
        && segment
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// The exact routes of the shop the pages may reach, with their methods: the scenario API
/// (on any service) and the load generator's admin API. Anything else — another route, a
/// `..` segment, plain or encoded (the path arrives decoded) — is not forwarded.
fn allowed(target: &str, rest: &str, method: &http::Method) -> bool {
    use http::Method;
    let segments: Vec<&str> = rest.split('/').collect();
    match (target, segments.as_slice()) {
        ("shop", ["scenarios"]) => *method == Method::GET || *method == Method::DELETE,
        ("shop", ["scenarios", "history"]) => *method == Method::GET,
        ("shop", ["scenarios", name]) if is_name(name) => {
            *method == Method::PUT || *method == Method::DELETE
        }
        ("load", ["status"]) => *method == Method::GET,
        ("load", ["start" | "stop"]) => *method == Method::POST,
        ("load", ["rate" | "users" | "profile"]) => *method == Method::PUT,
        _ => false,
    }
}

async fn proxied(
    State(proxy): State<Proxy>,
    Path((target, rest)): Path<(String, String)>,
    method: http::Method,
    uri: http::Uri,
    headers: http::HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if !allowed(&target, &rest, &method) {
        return (StatusCode::NOT_FOUND, Json(json!({"error": {"code": "route_not_found", "message": "not a route the console forwards"}}))).into_response();
    }
    let (base, token) = {
        let t = proxy.targets.read().unwrap_or_else(|e| e.into_inner());
        let base = if target == "shop" {
            t.shop.clone()
        } else {
            t.load.clone()
        };
        (base, t.control_token.clone())
    };
    // A change through the console needs the same token as one made at the shop.
    if method != http::Method::GET
        && let Some(token) = &token
        && !telemetry::http_server::bearer_matches(headers.get(http::header::AUTHORIZATION), token)
    {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": {"code": "unauthorized", "message": "changes need Authorization: Bearer <control token>"}})),
        )
            .into_response();
    }
    forward(
        &proxy,
        base,
        rest,
        method,
        uri.query().map(str::to_owned),
        body,
        token.is_some(),
    )
    .await
}

pub fn proxy_router(proxy: Proxy) -> axum::Router {
    axum::Router::new()
        .route("/api/{target}/{*rest}", axum::routing::any(proxied))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_FORWARDED_BODY))
        .with_state(proxy)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;
    use tower::ServiceExt;

    /// What a file refers to: `<script src>` and `<link href>` in HTML, the specifiers of
    /// `import … from '…'`, `export … from '…'`, `import '…'` and `import('…')` in JS, `url(…)`
    /// in CSS. Data URLs and other origins are no files of the page.
    fn references(path: &str, text: &str) -> Vec<String> {
        let quoted = |s: &str| -> Option<String> {
            let q = s.chars().next().filter(|c| *c == '\'' || *c == '"')?;
            s[1..].find(q).map(|end| s[1..1 + end].to_owned())
        };
        let mut out = Vec::new();
        if path.ends_with(".html") {
            for tag in ["<script", "<link"] {
                for (at, _) in text.match_indices(tag) {
                    let rest = &text[at..];
                    let el = &rest[..rest.find('>').unwrap_or(rest.len())];
                    for attr in [" src=", " href="] {
                        if let Some(i) = el.find(attr) {
                            out.extend(quoted(&el[i + attr.len()..]));
                        }
                    }
                }
            }
        } else if path.ends_with(".js") {
            for line in text.lines().map(str::trim) {
                if line.starts_with("import ")
                    || line.starts_with("export ")
                    || line.starts_with("} from ")
                {
                    if let Some(i) = line.rfind(" from ") {
                        out.extend(quoted(&line[i + " from ".len()..]));
                    } else if let Some(rest) = line.strip_prefix("import ") {
                        out.extend(quoted(rest));
                    }
                }
            }
            for (at, m) in text.match_indices("import(") {
                out.extend(quoted(&text[at + m.len()..]));
            }
        } else if path.ends_with(".css") {
            for (at, m) in text.match_indices("url(") {
                let rest = text[at + m.len()..].trim_start();
                out.extend(
                    quoted(rest).or_else(|| rest.find(')').map(|e| rest[..e].trim().to_owned())),
                );
            }
        }
        out.retain(|r| {
            !(r.starts_with("data:")
                || r.starts_with("http:")
                || r.starts_with("https:")
                || r.starts_with('#'))
        });
        out
    }

    /// Where a file is served, as a URL path.
    fn url_of(path: &str) -> String {
        if path == "index.html" {
            "/".to_owned()
        } else {
            format!("/ui/{path}")
        }
    }

    /// The asset a reference from `from` names, resolved as a browser does; None when it
    /// is not one of the page's files.
    fn resolve(from: &str, reference: &str) -> Option<&'static str> {
        let reference = reference.split(['?', '#']).next().unwrap_or_default();
        let joined = if reference.starts_with('/') {
            reference.to_owned()
        } else {
            let base = url_of(from);
            format!("{}{reference}", &base[..=base.rfind('/').unwrap_or(0)])
        };
        let mut parts: Vec<&str> = Vec::new();
        for seg in joined.split('/').skip(1) {
            match seg {
                "." => {}
                ".." => {
                    parts.pop()?;
                }
                s => parts.push(s),
            }
        }
        let full = format!("/{}", parts.join("/"));
        let path = if full == "/" {
            "index.html"
        } else {
            full.strip_prefix("/ui/")?
        };
        ASSETS
            .iter()
            .find(|(p, _, _)| *p == path)
            .map(|(p, _, _)| *p)
    }

    #[test]
    fn every_file_under_ui_is_embedded_with_its_type() {
        fn walk(dir: &std::path::Path, root: &std::path::Path, out: &mut BTreeSet<String>) {
            for entry in std::fs::read_dir(dir).expect("the ui directory") {
                let path = entry.expect("an entry").path();
                if path.is_dir() {
                    walk(&path, root, out);
                } else {
                    let rel = path.strip_prefix(root).expect("under the root");
                    out.insert(
                        rel.components()
                            .map(|c| c.as_os_str().to_string_lossy())
                            .collect::<Vec<_>>()
                            .join("/"),
                    );
                }
            }
        }
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/ui");
        let mut on_disk = BTreeSet::new();
        walk(&root, &root, &mut on_disk);
        let embedded: BTreeSet<String> = ASSETS.iter().map(|(p, _, _)| p.to_string()).collect();
        assert_eq!(
            on_disk, embedded,
            "every file under src/ui is in ASSETS (and nothing else)"
        );
        for (path, content_type, body) in ASSETS {
            let want = match path.rsplit('.').next() {
                Some("html") => HTML,
                Some("js") => JS,
                Some("css") => CSS,
                other => panic!("{path}: no content type for {other:?}"),
            };
            assert_eq!(*content_type, want, "{path}");
            assert!(!body.is_empty(), "{path} is empty");
        }
    }

    #[test]
    fn every_reference_resolves_and_every_file_is_used() {
        let mut reached = BTreeSet::from(["index.html"]);
        let mut todo = vec!["index.html"];
        while let Some(path) = todo.pop() {
            let (_, _, body) = ASSETS.iter().find(|(p, _, _)| *p == path).expect("listed");
            for r in references(path, body) {
                let Some(to) = resolve(path, &r) else {
                    panic!("{path} refers to {r:?}, which is not in ASSETS");
                };
                if reached.insert(to) {
                    todo.push(to);
                }
            }
        }
        let all: BTreeSet<&str> = ASSETS.iter().map(|(p, _, _)| *p).collect();
        assert_eq!(reached, all, "every embedded file is loaded by the page");
        // the parser itself: what the page's entry points refer to
        let index = references("index.html", ASSETS[0].2);
        assert!(
            index.contains(&"/ui/main.js".to_owned())
                && index.contains(&"/ui/style.css".to_owned()),
            "{index:?}"
        );
        assert_eq!(resolve("views/map.js", "../graph.js"), Some("graph.js"));
        assert_eq!(resolve("main.js", "./views/map.js"), Some("views/map.js"));
        assert_eq!(resolve("views/map.js", "./graph.js"), None);
        assert_eq!(resolve("main.js", "../../Cargo.toml"), None);
    }

    #[test]
    fn references_are_found_in_each_kind_of_file() {
        let js = "import { a } from './a.js';\nimport {\n  b,\n} from \"../b.js\";\nimport './c.js';\nexport { d } from './d.js';\nconst e = await import('./e.js');\nconst s = 'not an import from here';\n";
        assert_eq!(
            references("x.js", js),
            ["./a.js", "../b.js", "./c.js", "./d.js", "./e.js"]
        );
        let html = r#"<link rel="icon" href="data:image/svg+xml,x"><link rel="stylesheet" href="/ui/style.css"><script type="module" src="/ui/main.js"></script>"#;
        assert_eq!(
            references("index.html", html),
            ["/ui/main.js", "/ui/style.css"]
        );
        assert_eq!(
            references(
                "a.css",
                "a { background: url(img/x.png) } b { background: url('data:x') }"
            ),
            ["img/x.png"]
        );
    }

    #[tokio::test]
    async fn the_router_serves_each_file_with_its_type() {
        let store: Shared = std::sync::Arc::new(std::sync::Mutex::new(crate::store::Store::new(
            Default::default(),
        )));
        let app = router(store);
        for (path, content_type, body) in ASSETS {
            for url in [url_of(path), format!("/ui/{path}")] {
                let r = app
                    .clone()
                    .oneshot(
                        http::Request::get(&url)
                            .body(axum::body::Body::empty())
                            .expect("a request"),
                    )
                    .await
                    .expect("an answer");
                assert_eq!(r.status(), StatusCode::OK, "{url}");
                assert_eq!(
                    r.headers()[http::header::CONTENT_TYPE],
                    *content_type,
                    "{url}"
                );
                let got = axum::body::to_bytes(r.into_body(), usize::MAX)
                    .await
                    .expect("the body");
                assert_eq!(got, body.as_bytes(), "{url}");
            }
        }
        for url in ["/ui/nothing.js", "/ui/../Cargo.toml", "/ui/"] {
            let r = app
                .clone()
                .oneshot(
                    http::Request::get(url)
                        .body(axum::body::Body::empty())
                        .expect("a request"),
                )
                .await
                .expect("an answer");
            assert_eq!(r.status(), StatusCode::NOT_FOUND, "{url}");
        }
    }
}

#[cfg(test)]
mod proxy_tests {
    use std::sync::{Arc, Mutex, RwLock};

    use axum::body::Body;
    use http::{Method, Request};
    use tower::ServiceExt as _;

    use super::*;

    /// A stand-in shop that records what reaches it.
    async fn upstream() -> (String, Arc<Mutex<Vec<String>>>) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = seen.clone();
        let app = axum::Router::new().fallback(
            move |method: Method, uri: http::Uri, headers: http::HeaderMap| {
                let record = record.clone();
                async move {
                    let auth = headers
                        .get(http::header::AUTHORIZATION)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("-")
                        .to_owned();
                    record
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(format!("{method} {uri} {auth}"));
                    Json(json!({"ok": true}))
                }
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port");
        let addr = listener.local_addr().expect("its address");
        tokio::spawn(async move { axum::serve(listener, app).await });
        (format!("http://{addr}"), seen)
    }

    fn console(base: &str, token: Option<&str>) -> axum::Router {
        proxy_router(Proxy {
            targets: Arc::new(RwLock::new(Targets {
                shop: Some(base.to_owned()),
                load: Some(base.to_owned()),
                control_token: token.map(str::to_owned),
            })),
            http: telemetry::tls::client(),
        })
    }

    async fn ask(
        app: &axum::Router,
        method: Method,
        path: &str,
        auth: Option<&str>,
        body: Vec<u8>,
    ) -> u16 {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(a) = auth {
            request = request.header(http::header::AUTHORIZATION, a);
        }
        if !body.is_empty() {
            request = request.header(http::header::CONTENT_TYPE, "application/json");
        }
        let response = app
            .clone()
            .oneshot(request.body(Body::from(body)).expect("a request"))
            .await
            .expect("an answer");
        response.status().as_u16()
    }

    #[tokio::test]
    async fn only_the_exact_control_routes_are_forwarded() {
        let (base, seen) = upstream().await;
        let app = console(&base, None);
        for (method, path) in [
            (
                Method::GET,
                "/api/shop/scenarios/..%2F..%2Fapi%2Fproducts%2F1",
            ),
            (
                Method::POST,
                "/api/shop/scenarios/..%2F..%2Fapi%2Fcart%2Fx%2Fitems",
            ),
            (Method::GET, "/api/shop/scenarios/../../api/products/1"),
            (Method::GET, "/api/shop/scenarios/%2e%2e/api"),
            (Method::PUT, "/api/shop/scenarios/payment-failure/extra"),
            (Method::PUT, "/api/shop/scenarios/Payment_Failure"),
            (Method::GET, "/api/shop/products"),
            (Method::PUT, "/api/shop/scenarios/history"),
            (Method::GET, "/api/load/start"),
            (Method::GET, "/api/load/status/../rate"),
            (Method::GET, "/api/other/status"),
        ] {
            assert_eq!(
                ask(&app, method.clone(), path, None, Vec::new()).await,
                404,
                "{method} {path}"
            );
        }
        assert!(
            seen.lock().unwrap_or_else(|e| e.into_inner()).is_empty(),
            "nothing reached the shop"
        );
        for (method, path) in [
            (Method::GET, "/api/shop/scenarios"),
            (Method::GET, "/api/shop/scenarios/history"),
            (Method::PUT, "/api/shop/scenarios/payment-failure"),
            (Method::DELETE, "/api/shop/scenarios/payment-failure"),
            (Method::GET, "/api/load/status"),
            (Method::POST, "/api/load/start"),
            (Method::PUT, "/api/load/rate"),
        ] {
            assert_eq!(
                ask(&app, method.clone(), path, None, Vec::new()).await,
                200,
                "{method} {path}"
            );
        }
        assert_eq!(seen.lock().unwrap_or_else(|e| e.into_inner()).len(), 7);
    }

    #[tokio::test]
    async fn changes_need_the_control_token_and_reads_do_not() {
        let (base, seen) = upstream().await;
        let app = console(&base, Some("s3cret"));
        let set = "/api/shop/scenarios/payment-failure";
        let body = br#"{"level":1}"#.to_vec();
        assert_eq!(ask(&app, Method::PUT, set, None, body.clone()).await, 401);
        assert_eq!(
            ask(&app, Method::PUT, set, Some("Bearer wrong"), body.clone()).await,
            401
        );
        assert_eq!(
            ask(&app, Method::PUT, "/api/load/rate", None, body.clone()).await,
            401
        );
        assert_eq!(
            ask(
                &app,
                Method::POST,
                "/api/load/stop",
                Some("Basic s3cret"),
                Vec::new()
            )
            .await,
            401
        );
        assert!(
            seen.lock().unwrap_or_else(|e| e.into_inner()).is_empty(),
            "no change was forwarded"
        );
        assert_eq!(
            ask(&app, Method::GET, "/api/shop/scenarios", None, Vec::new()).await,
            200
        );
        assert_eq!(
            ask(&app, Method::PUT, set, Some("bearer s3cret"), body.clone()).await,
            200
        );
        assert_eq!(
            ask(
                &app,
                Method::PUT,
                "/api/load/rate",
                Some("Bearer s3cret"),
                body
            )
            .await,
            200
        );
        let seen = seen.lock().unwrap_or_else(|e| e.into_inner()).clone();
        assert_eq!(seen.len(), 3, "{seen:?}");
        assert!(
            seen[1].ends_with("Bearer s3cret"),
            "forwarded with the token: {seen:?}"
        );
        assert!(seen[2].starts_with("PUT /rate Bearer s3cret"), "{seen:?}");
    }

    #[tokio::test]
    async fn bodies_larger_than_the_shop_accepts_are_refused_here() {
        let (base, seen) = upstream().await;
        let app = console(&base, None);
        let big = vec![b' '; MAX_FORWARDED_BODY + 1];
        assert_eq!(
            ask(
                &app,
                Method::PUT,
                "/api/shop/scenarios/slow-query",
                None,
                big
            )
            .await,
            413
        );
        assert!(seen.lock().unwrap_or_else(|e| e.into_inner()).is_empty());
    }
}
