//! The shop end to end, in-process, against the real PostgreSQL and Redis: one checkout is one
//! connected trace across eleven services, eight levels deep, with database spans where they
//! belong and `traffic.type` on every span.

use std::time::Duration;

use crate::support::*;
use opentelemetry::trace::{SpanId, SpanKind};
use redis::AsyncCommands as _;
use shop::{Database, ServiceName};
use sqlx::Row as _;

/// The complete traces whose root is a successful journey of `kind`.
fn journey_traces(shop: &TestShop, kind: &str) -> Vec<Vec<Span>> {
    let all = spans(&shop.sink);
    traces(&all)
        .into_values()
        .filter(|t| {
            t.iter().any(|s| {
                s.name() == format!("journey {kind}")
                    && s.parent() == SpanId::INVALID
                    && !s.is_error()
            })
        })
        .collect()
}

fn assert_db_span_generations(span: &Span, system: &str) {
    assert_eq!(
        span.kind(),
        &SpanKind::Client,
        "{} is a CLIENT span",
        span.name()
    );
    assert_eq!(
        span.attr("db.system.name").as_deref(),
        Some(system),
        "{span:?}"
    );
    assert_eq!(
        span.attr("db.system").as_deref(),
        Some(system),
        "old name db.system on {}",
        span.name()
    );
    let text = span.attr("db.query.text").expect("db.query.text");
    assert_eq!(span.attr("db.statement").as_deref(), Some(text.as_str()));
    assert!(span.attr("db.operation.name").is_some() && span.attr("db.operation").is_some());
    assert!(span.attr("db.namespace").is_some() && span.attr("db.name").is_some());
    assert_eq!(span.attr("server.address").as_deref(), Some("127.0.0.1"));
    assert_eq!(span.attr("net.peer.name").as_deref(), Some("127.0.0.1"));
    assert!(span.attr("server.port").is_some() && span.attr("net.peer.port").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkout_is_one_connected_trace_across_eleven_services() {
    let db = TestDatabase::create().await;
    let config = test_config(
        Database::Postgres {
            url: db.url.clone(),
        },
        Some(redis_url()),
    );
    let shop = TestShop::start(config);
    shop.wait_ready(ServiceName::ProductCatalog).await;
    shop.run_journeys(2).await;

    let checkouts = eventually(
        "a complete checkout trace",
        Duration::from_secs(10),
        || async {
            let complete: Vec<_> = journey_traces(&shop, "checkout")
                .into_iter()
                .filter(|t| orphans(t).is_empty() && services_of(t).len() >= 11)
                .collect();
            (!complete.is_empty()).then_some(complete)
        },
    )
    .await;
    let trace = &checkouts[0];

    // ONE trace that spans every service but ad (a browse-page service), rooted in the load
    // generator.
    let services = services_of(trace);
    assert!(services.len() >= 10);
    for s in ServiceName::ALL
        .into_iter()
        .filter(|s| *s != ServiceName::Ad)
    {
        assert!(
            services.contains(s.as_str()),
            "{s} missing from the checkout trace: {services:?}"
        );
    }
    let roots: Vec<_> = trace
        .iter()
        .filter(|s| s.parent() == SpanId::INVALID)
        .collect();
    assert_eq!(roots.len(), 1, "exactly one root");
    assert_eq!(roots[0].service, "load-generator");
    assert!(orphans(trace).is_empty(), "orphans: {:?}", orphans(trace));
    let depth = depth(trace);
    assert!(depth >= 8, "checkout trace is {depth} levels deep");

    // traffic.type on every span, database spans included, per request as the original: the
    // checkout request and everything it calls is demo, the journey's other requests (browse,
    // add to cart) baseline; the root is its journey's (demo); one session.id throughout.
    let session = roots[0].attr("session.id").expect("session.id on the root");
    let by_id: std::collections::HashMap<SpanId, &Span> =
        trace.iter().map(|s| (s.id(), s)).collect();
    let step_of = |span: &Span| -> Option<String> {
        let mut s = span;
        while let Some(parent) = by_id.get(&s.parent()) {
            if parent.parent() == SpanId::INVALID {
                return Some(s.name().to_owned());
            }
            s = parent;
        }
        None
    };
    let mut demo_spans = 0;
    for s in trace {
        let expected = match step_of(s).as_deref() {
            None | Some("POST /api/checkout") => "demo",
            Some(_) => "baseline",
        };
        demo_spans += usize::from(expected == "demo");
        assert_eq!(
            s.attr("traffic.type").as_deref(),
            Some(expected),
            "{} ({}, step {:?}) lacks traffic.type={expected}",
            s.name(),
            s.service,
            step_of(s)
        );
        assert_eq!(
            s.attr("session.id").as_deref(),
            Some(session.as_str()),
            "{} lacks session.id",
            s.name()
        );
    }
    assert!(demo_spans > 20, "{demo_spans} demo spans");
    assert!(
        trace.iter().any(|s| s.service == "frontend"
            && s.name() == "POST /api/browse"
            && s.attr("traffic.type").as_deref() == Some("baseline")),
        "the checkout journey's browse is baseline"
    );

    // HTTP spans per the stable conventions.
    let server = trace
        .iter()
        .find(|s| s.service == "frontend" && s.name() == "POST /api/checkout")
        .expect("frontend SERVER span POST /api/checkout");
    assert_eq!(server.kind(), &SpanKind::Server);
    assert_eq!(server.attr("http.route").as_deref(), Some("/api/checkout"));
    assert_eq!(server.attr("http.request.method").as_deref(), Some("POST"));
    assert_eq!(
        server.attr("http.response.status_code").as_deref(),
        Some("201")
    );
    let order_call = trace
        .iter()
        .find(|s| s.service == "frontend" && s.name() == "POST /orders")
        .expect("frontend CLIENT span to checkout");
    assert_eq!(order_call.kind(), &SpanKind::Client);
    assert_eq!(
        order_call.attr("server.address").as_deref(),
        Some("127.0.0.1")
    );
    assert!(
        order_call
            .attr("url.full")
            .is_some_and(|u| u.ends_with("/orders"))
    );
    assert!(order_call.attr("server.port").is_some());
    let checkout_server = trace
        .iter()
        .find(|s| s.service == "checkout" && s.name() == "POST /orders")
        .expect("checkout SERVER span");
    assert_eq!(
        checkout_server.parent(),
        order_call.id(),
        "the server span is the client span's child"
    );

    // PostgreSQL spans under the services with a database, Redis spans under cart.
    for service in [
        "product-catalog",
        "recommendation",
        "checkout",
        "inventory",
        "payment",
    ] {
        let pg: Vec<_> = trace
            .iter()
            .filter(|s| {
                s.service == service && s.attr("db.system.name").as_deref() == Some("postgresql")
            })
            .collect();
        assert!(!pg.is_empty(), "no PostgreSQL spans under {service}");
        for s in &pg {
            assert_db_span_generations(s, "postgresql");
            if s.attr("db.operation.name").as_deref() != Some("COMMIT") {
                assert!(
                    s.attr("db.query.text").is_some_and(|q| q.contains("$1")),
                    "parameterised: {:?}",
                    s.attr("db.query.text")
                );
            }
            assert_eq!(s.attr("db.namespace").as_deref(), Some(db.name.as_str()));
        }
    }
    assert!(
        trace
            .iter()
            .any(|s| s.service == "checkout" && s.name() == "INSERT orders")
    );
    // The saga: the charge is kept, and checkout verifies it with payment before the order.
    assert!(
        trace
            .iter()
            .any(|s| s.service == "payment" && s.name() == "INSERT payments")
    );
    assert!(
        trace.iter().any(|s| s.service == "checkout"
            && *s.kind() == SpanKind::Client
            && s.name() == "GET /charges/{transaction_id}"),
        "checkout verifies the charge"
    );
    assert!(
        trace
            .iter()
            .any(|s| s.service == "checkout" && s.name() == "INSERT order_items")
    );
    let reserve = trace
        .iter()
        .find(|s| s.service == "inventory" && s.name() == "UPDATE products")
        .expect("inventory takes stock with an UPDATE");
    assert!(
        reserve
            .attr("db.query.text")
            .is_some_and(|q| q.contains("stock >= $1"))
    );
    // No cycle: recommendation is called by product-catalog and calls no service.
    let rec_server = trace
        .iter()
        .find(|s| s.service == "recommendation" && s.kind() == &SpanKind::Server)
        .expect("recommendation SERVER span");
    let rec_caller = trace
        .iter()
        .find(|s| s.id() == rec_server.parent())
        .expect("its caller");
    assert_eq!(rec_caller.service, "product-catalog");
    assert!(!trace.iter().any(|s| s.service == "recommendation"
        && s.kind() == &SpanKind::Client
        && s.attr("db.system.name").is_none()));
    let redis_spans: Vec<_> = trace
        .iter()
        .filter(|s| s.service == "cart" && s.attr("db.system.name").as_deref() == Some("redis"))
        .collect();
    assert!(
        redis_spans.iter().any(|s| s.name() == "HGETALL"),
        "Redis HGETALL under cart"
    );
    assert!(
        redis_spans.iter().any(|s| s.name() == "DEL"),
        "the cart is cleared in Redis"
    );
    for s in &redis_spans {
        assert_db_span_generations(s, "redis");
    }

    // A browse trace is baseline on every span, shows ads and prices, and never touches
    // recommendations.
    let browse = journey_traces(&shop, "browse");
    assert!(!browse.is_empty(), "a browse trace");
    assert!(
        browse
            .iter()
            .any(|t| services_of(t).contains("ad") && services_of(t).contains("currency"))
    );
    for t in &browse {
        assert!(orphans(t).is_empty());
        for s in t {
            assert_eq!(
                s.attr("traffic.type").as_deref(),
                Some("baseline"),
                "{} ({})",
                s.name(),
                s.service
            );
            assert!(
                !s.name().contains("recommendations"),
                "baseline touched {}",
                s.name()
            );
        }
    }

    // No span leaked to the process-wide default.
    assert!(spans(&shop.sink).iter().all(|s| s.service != "tracemart"));

    // The orders are really in PostgreSQL, with their items.
    let mut conn = db.connect().await;
    let row =
        sqlx::query("SELECT COUNT(*) AS n, COALESCE(MIN(total_cents), 0) AS min_total FROM orders")
            .fetch_one(&mut conn)
            .await
            .expect("count orders");
    let (n, min_total): (i64, i64) = (row.get("n"), row.get("min_total"));
    assert!(n >= 2, "orders in PostgreSQL: {n}");
    assert!(min_total > 0, "every order has a real amount");
    let items: i64 = sqlx::query("SELECT COUNT(*) AS n FROM order_items")
        .fetch_one(&mut conn)
        .await
        .expect("items")
        .get("n");
    assert!(items >= n);
    drop(conn);

    shop.stop().await;
    db.drop_now().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkout_through_the_api_is_stored_in_postgres_and_the_cart_in_redis() {
    let db = TestDatabase::create().await;
    let shop = TestShop::start(test_config(
        Database::Postgres {
            url: db.url.clone(),
        },
        Some(redis_url()),
    ));
    let cart_id = format!("t-{}", uuid::Uuid::new_v4().simple());

    let (status, cart) = shop
        .send_json(
            reqwest::Method::POST,
            ServiceName::Frontend,
            &format!("/api/cart/{cart_id}/items"),
            &serde_json::json!({"product_id": 4, "quantity": 2}),
        )
        .await;
    assert_eq!(status, 201, "{cart}");
    let mut redis = redis::Client::open(redis_url())
        .expect("redis url")
        .get_multiplexed_async_connection()
        .await
        .expect("redis");
    let stored: std::collections::HashMap<String, i64> = redis
        .hgetall(format!("cart:{cart_id}"))
        .await
        .expect("hgetall");
    assert_eq!(stored.get("4"), Some(&2), "the cart is a Redis hash");
    let ttl: i64 = redis.ttl(format!("cart:{cart_id}")).await.expect("ttl");
    assert!(ttl > 0, "the cart has a TTL");

    let (status, result) = shop
        .send_json(reqwest::Method::POST, ServiceName::Frontend, "/api/checkout", &serde_json::json!({"cart_id": cart_id, "email": "shopper@example.com", "card": card("4242 4242 4242 4242")}))
        .await;
    assert_eq!(status, 201, "{result}");
    let order_id = result["order"]["id"].as_str().expect("order id").to_owned();
    let (_, product) = shop.get(ServiceName::Frontend, "/api/products/4").await;
    // Items at the catalogue price plus domestic shipping.
    let items = 2 * product["price_cents"].as_i64().expect("price");
    let shipping = result["order"]["shipping_cents"]
        .as_i64()
        .expect("shipping");
    assert!(shipping > 0);
    assert_eq!(
        result["order"]["total_cents"].as_i64(),
        Some(items + shipping)
    );
    assert_eq!(result["order"]["shipping_country"], "US");
    assert_eq!(result["display"]["currency"], "USD");
    assert_eq!(result["display"]["total"].as_i64(), Some(items + shipping));
    assert_eq!(result["order"]["card_last4"], "4242");

    let (status, fetched) = shop
        .get(ServiceName::Frontend, &format!("/api/orders/{order_id}"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(fetched["items"][0]["quantity"], 2);
    let mut conn = db.connect().await;
    let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM orders WHERE id = $1")
        .bind(&order_id)
        .fetch_one(&mut conn)
        .await
        .expect("query")
        .get("n");
    assert_eq!(n, 1, "the order row is in PostgreSQL");
    let exists: bool = redis
        .exists(format!("cart:{cart_id}"))
        .await
        .expect("exists");
    assert!(!exists, "checkout cleared the cart");

    // A declined card: 402 to the shopper, counted by payment.
    shop.send_json(
        reqwest::Method::POST,
        ServiceName::Frontend,
        &format!("/api/cart/{cart_id}/items"),
        &serde_json::json!({"product_id": 4, "quantity": 1}),
    )
    .await;
    let (status, declined) = shop
        .send_json(
            reqwest::Method::POST,
            ServiceName::Frontend,
            "/api/checkout",
            &serde_json::json!({"cart_id": cart_id, "card": card("4000000000000002")}),
        )
        .await;
    assert_eq!(status, 402, "{declined}");
    assert_eq!(declined["error"]["code"], "card_declined");

    // The card number appears in no span and no log record: only its last four digits.
    shop.shop.as_ref().expect("running").flush();
    let metrics = shop.sink.metric_names();
    for (service, metric) in [
        ("frontend", "http.server.request.duration"),
        ("frontend", "http.client.request.duration"),
        ("cart", "db.client.operation.duration"),
        ("checkout", "db.client.operation.duration"),
        ("checkout", "shop.orders"),
        ("checkout", "shop.revenue"),
        ("payment", "shop.payment.charges"),
        ("payment", "shop.payment.declines"),
        ("cart", "shop.cart.size"),
    ] {
        assert!(
            metrics.contains(&(service.to_owned(), metric.to_owned())),
            "{service} exports {metric}: {metrics:?}"
        );
    }
    for s in spans(&shop.sink) {
        for kv in &s.data.attributes {
            assert!(
                !kv.value.as_str().contains("42424242"),
                "card number in span {}: {}",
                s.name(),
                kv.key
            );
        }
    }
    for (_, log) in shop.sink.logs() {
        let printed = format!("{log:?}");
        assert!(
            !printed.contains("42424242") && !printed.contains("4242 4242"),
            "card number in a log: {printed}"
        );
    }
    drop(conn);
    shop.stop().await;
    db.drop_now().await;
}

fn sqlite_spans_under(trace: &[Span], service: &str) -> bool {
    trace
        .iter()
        .any(|s| s.service == service && s.attr("db.system.name").as_deref() == Some("sqlite"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_stores_run_the_same_flows_with_sqlite_spans() {
    let (database, dir) = temp_sqlite();
    let shop = TestShop::start(test_config(database.clone(), None));
    shop.run_journeys(2).await;
    let checkouts = eventually(
        "a complete embedded checkout trace",
        Duration::from_secs(10),
        || async {
            let t: Vec<_> = journey_traces(&shop, "checkout")
                .into_iter()
                .filter(|t| orphans(t).is_empty())
                .collect();
            (!t.is_empty()).then_some(t)
        },
    )
    .await;
    let trace = &checkouts[0];
    assert!(services_of(trace).len() >= 11);
    assert!(sqlite_spans_under(trace, "inventory") && sqlite_spans_under(trace, "recommendation"));
    let sqlite: Vec<_> = trace
        .iter()
        .filter(|s| s.attr("db.system.name").as_deref() == Some("sqlite"))
        .collect();
    assert!(
        sqlite
            .iter()
            .any(|s| s.service == "checkout" && s.name() == "INSERT orders")
    );
    assert!(sqlite.iter().any(|s| s.service == "product-catalog"));
    for s in &sqlite {
        assert_eq!(s.kind(), &SpanKind::Client);
        assert_eq!(s.attr("db.system").as_deref(), Some("sqlite"));
        // Only the checkout request reaches these; product-catalog serves the browse too.
        let traffic = s.attr("traffic.type");
        if ["checkout", "inventory", "recommendation"].contains(&s.service.as_str()) {
            assert_eq!(traffic.as_deref(), Some("demo"), "{}", s.name());
        } else {
            assert!(
                matches!(traffic.as_deref(), Some("demo" | "baseline")),
                "{}",
                s.name()
            );
        }
    }
    shop.stop().await;

    // The orders are in the SQLite file.
    let Database::Sqlite { path } = database else {
        unreachable!()
    };
    sqlx::any::install_default_drivers();
    let mut conn =
        <sqlx::AnyConnection as sqlx::Connection>::connect(&format!("sqlite://{}", path.display()))
            .await
            .expect("open sqlite");
    let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM orders")
        .fetch_one(&mut conn)
        .await
        .expect("count")
        .get("n");
    assert!(n >= 2, "orders in SQLite: {n}");
    drop(conn);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_records_carry_the_trace_they_were_written_in() {
    let (database, dir) = temp_sqlite();
    let shop = TestShop::start(test_config(database, None));
    let cart_id = "logs-1";
    shop.send_json(
        reqwest::Method::POST,
        ServiceName::Frontend,
        &format!("/api/cart/{cart_id}/items"),
        &serde_json::json!({"product_id": 2, "quantity": 1}),
    )
    .await;
    let (status, _) = shop
        .send_json(
            reqwest::Method::POST,
            ServiceName::Frontend,
            "/api/checkout",
            &serde_json::json!({"cart_id": cart_id, "card": card("4242424242424242")}),
        )
        .await;
    assert_eq!(status, 201);
    let placed = eventually(
        "the 'order placed' log record",
        Duration::from_secs(10),
        || async {
            shop.sink.logs().into_iter().find(|(service, l)| {
                service == "checkout" && format!("{:?}", l.body()).contains("order placed")
            })
        },
    )
    .await;
    let cx = placed
        .1
        .trace_context()
        .expect("the log record carries a trace context");
    let trace_spans: Vec<_> = spans(&shop.sink)
        .into_iter()
        .filter(|s| s.data.span_context.trace_id() == cx.trace_id)
        .collect();
    assert!(
        trace_spans
            .iter()
            .any(|s| s.service == "checkout" && s.name() == "POST /orders" && s.id() == cx.span_id),
        "the record points at the checkout server span"
    );
    shop.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

/// A request nobody tagged — a curl, a browser — still gives a trace with `traffic.type` on
/// every span: `demo` for a checkout (the demo flow), `baseline` for the rest; other baggage
/// the caller sent travels on beside it, and a caller's own traffic type is kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn untagged_requests_are_given_their_flow_s_traffic_type_on_every_span() {
    let (database, dir) = temp_sqlite();
    let shop = TestShop::start(test_config(database, None));
    let cart_id = "untagged-1";
    let add = shop
        .traced_with_baggage(
            reqwest::Method::POST,
            ServiceName::Frontend,
            &format!("/api/cart/{cart_id}/items"),
            Some(&serde_json::json!({"product_id": 4, "quantity": 1})),
            Some("session.id=s-untagged"),
        )
        .await;
    assert_eq!(add.status, 201, "{}", add.body);
    let checkout = shop
        .traced_with_baggage(
            reqwest::Method::POST,
            ServiceName::Frontend,
            "/api/checkout",
            Some(&serde_json::json!({"cart_id": cart_id, "card": card("4242424242424242")})),
            None,
        )
        .await;
    assert_eq!(checkout.status, 201, "{}", checkout.body);
    let browse = shop
        .traced_with_baggage(
            reqwest::Method::POST,
            ServiceName::Frontend,
            "/api/browse",
            None,
            Some("traffic.type=demo"),
        )
        .await;
    assert_eq!(browse.status, 200, "{}", browse.body);
    // Free text is no traffic type: it would flood every filter and metric.
    let garbled = shop
        .traced_with_baggage(
            reqwest::Method::POST,
            ServiceName::Frontend,
            "/api/browse",
            None,
            Some("traffic.type=evil%0Ainjected%20text,session.id=s-garbled"),
        )
        .await;
    assert_eq!(garbled.status, 200, "{}", garbled.body);

    for (traced, expected, at_least) in [
        (&add, "baseline", 4),
        (&checkout, "demo", 20),
        (&browse, "demo", 8),
        (&garbled, "baseline", 8),
    ] {
        let trace = shop.spans_of(traced.trace_id, "frontend").await;
        // Wait for the whole trace: the frontend's server span ends last.
        assert!(trace.len() >= at_least, "{} spans", trace.len());
        for s in &trace {
            assert_eq!(
                s.attr("traffic.type").as_deref(),
                Some(expected),
                "{} {} in a {expected} trace",
                s.service,
                s.name()
            );
        }
    }
    let add_trace = shop.spans_of(add.trace_id, "frontend").await;
    assert!(
        add_trace
            .iter()
            .all(|s| s.attr("session.id").as_deref() == Some("s-untagged")),
        "the caller's other baggage is kept"
    );
    let checkout_trace = shop.spans_of(checkout.trace_id, "frontend").await;
    let services = services_of(&checkout_trace);
    for service in [
        "frontend",
        "cart",
        "product-catalog",
        "recommendation",
        "shipping",
        "payment",
        "checkout",
        "inventory",
    ] {
        assert!(services.contains(service), "{service} in {services:?}");
    }
    shop.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}
