//! Every scenario's effect is measurable in telemetry while it is on, and gone after `clear`.
//! Fault decisions are seeded, so the measured rates are reproducible.

use std::time::Duration;

use crate::support::*;
use futures::StreamExt as _;
use opentelemetry::trace::{SpanKind, Status};
use reqwest::Method;
use serde_json::json;
use shop::{Database, ServiceName};

fn is_error(s: &Span) -> bool {
    matches!(s.data.status, Status::Error { .. })
}

fn server_span<'a>(trace: &'a [Span], service: &str) -> &'a Span {
    trace
        .iter()
        .find(|s| s.service == service && *s.kind() == SpanKind::Server)
        .unwrap_or_else(|| panic!("no {service} server span"))
}

fn duration(s: &Span) -> Duration {
    s.data
        .end_time
        .duration_since(s.data.start_time)
        .unwrap_or_default()
}

/// The server span in `service` of each request, in order.
async fn server_spans(shop: &TestShop, requests: &[Traced], service: &str) -> Vec<Span> {
    eventually(
        "every request's server span",
        Duration::from_secs(10),
        || async {
            let all = spans(&shop.sink);
            let by_trace: std::collections::HashMap<_, _> = all
                .iter()
                .filter(|s| s.service == service && *s.kind() == SpanKind::Server)
                .map(|s| (s.data.span_context.trace_id(), s.clone()))
                .collect();
            requests
                .iter()
                .map(|t| by_trace.get(&t.trace_id).cloned())
                .collect::<Option<Vec<_>>>()
        },
    )
    .await
}

/// How long shipping's server span of one request lasted.
async fn shipping_time(shop: &TestShop, t: Traced) -> Duration {
    duration(server_span(
        &shop.spans_of(t.trace_id, "shipping").await,
        "shipping",
    ))
}

async fn embedded_shop() -> (TestShop, std::path::PathBuf) {
    let (database, dir) = temp_sqlite();
    let shop = TestShop::start(test_config(database, None));
    shop.wait_ready(ServiceName::ProductCatalog).await;
    (shop, dir)
}

/// Sends `n` requests, `concurrency` at a time; returns what came back.
async fn burst(
    shop: &TestShop,
    (n, concurrency): (usize, usize),
    method: Method,
    service: ServiceName,
    path: &str,
    body: Option<serde_json::Value>,
    traffic: &str,
) -> Vec<Traced> {
    futures::stream::iter(0..n)
        .map(|_| shop.traced(method.clone(), service, path, body.as_ref(), traffic))
        .buffer_unordered(concurrency)
        .collect()
        .await
}

fn percentile(mut v: Vec<Duration>, p: f64) -> Duration {
    v.sort();
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blackfriday_follows_the_schedule_on_demo_traffic_and_spares_baseline() {
    let (shop, dir) = embedded_shop().await;
    let browse = || {
        burst(
            &shop,
            (30, 10),
            Method::POST,
            ServiceName::Frontend,
            "/api/browse",
            Some(json!({})),
            "baseline",
        )
    };
    let before: Vec<Duration> = browse().await.iter().map(|t| t.elapsed).collect();
    let baseline_p50 = percentile(before, 0.5);

    // Speed 30: a story minute every 2 s. Each step is measured from its start, by setting the
    // story's start in the past.
    const SPEED: f64 = 30.0;
    let table = shop::scenario::catalogue::BLACKFRIDAY_STEPS;
    let mut baseline_errors = 0;
    let mut baseline_total = 0;
    let mut baseline_during = Vec::new();
    let mut step0_p50: Option<Duration> = None;
    for (step, (from_minute, delay_ms, rate)) in table.iter().enumerate() {
        let now = shop::scenario::state::now_ms();
        let started_at = now - ((from_minute + 0.05) * 60_000.0 / SPEED) as i64;
        let view = shop
            .set_scenario(
                "blackfriday",
                json!({"speed": SPEED, "seed": 42, "started_at": started_at, "mark_faults": true}),
            )
            .await;
        assert_eq!(view["current_level"], step, "step {step}: {view}");

        let n = 200;
        let (demo, base) = tokio::join!(
            burst(
                &shop,
                (n, 40),
                Method::GET,
                ServiceName::ProductCatalog,
                "/products/recommendations?product_id=3",
                None,
                "demo"
            ),
            browse()
        );
        let mut failures = 0;
        let mut durations = Vec::new();
        let servers = server_spans(&shop, &demo, "product-catalog").await;
        for (t, server) in demo.iter().zip(&servers) {
            assert_eq!(server.attr("traffic.type").as_deref(), Some("demo"));
            if is_error(server) {
                failures += 1;
                assert_eq!(t.status, 503);
                assert_eq!(server.attr("error.type").as_deref(), Some("503"));
                assert_eq!(server.attr("fault.injected").as_deref(), Some("true"));
            } else {
                assert_eq!(t.status, 200);
            }
            durations.push(duration(server));
        }
        let measured = f64::from(failures) / n as f64;
        // Four standard deviations of a binomial at n = 200.
        let tolerance = 4.0 * (rate * (1.0 - rate) / n as f64).sqrt() + 0.005;
        assert!(
            (measured - rate).abs() <= tolerance,
            "step {step}: failure rate {measured:.3}, table {rate}"
        );
        let p50 = percentile(durations.clone(), 0.5);
        let min = durations.iter().min().copied().unwrap_or_default();
        let delay = Duration::from_millis(*delay_ms);
        assert!(
            min >= delay,
            "step {step}: fastest {min:?} under the {delay:?} delay"
        );
        // The added delay on top of what the route takes at step 0 on this machine.
        let reference = *step0_p50.get_or_insert(p50);
        assert!(
            p50 <= reference + delay + Duration::from_millis(300),
            "step {step}: median {p50:?}, step 0 median {reference:?}, delay {delay:?}"
        );
        for t in &base {
            baseline_total += 1;
            if t.status >= 500 {
                baseline_errors += 1;
            }
            baseline_during.push(t.elapsed);
        }
    }
    assert!(
        baseline_errors * 50 <= baseline_total,
        "baseline errors {baseline_errors}/{baseline_total}"
    );
    let during_p50 = percentile(baseline_during, 0.5);
    assert!(
        during_p50 <= baseline_p50 * 2 + Duration::from_millis(50),
        "baseline latency changed: {baseline_p50:?} before, {during_p50:?} during"
    );

    // Checkout fails with recommendations by default …
    shop.set_scenario("blackfriday", json!({"level": 5})).await;
    let shop_ref = &shop;
    let checkout = |i: usize| async move {
        let shop = shop_ref;
        let cart = format!("bf-{i}");
        let line = json!({"product_id": 3, "quantity": 1});
        shop.send_json(
            Method::POST,
            ServiceName::Frontend,
            &format!("/api/cart/{cart}/items"),
            &line,
        )
        .await;
        let body = json!({"cart_id": cart, "card": card("4242424242424242")});
        shop.traced(
            Method::POST,
            ServiceName::Frontend,
            "/api/checkout",
            Some(&body),
            "demo",
        )
        .await
    };
    let attempts = futures::future::join_all((0..20).map(checkout)).await;
    let failed: Vec<_> = attempts.iter().filter(|t| t.status == 503).collect();
    assert!(
        failed.len() >= 10,
        "checkouts fail with recommendations: {}/20",
        failed.len()
    );
    let frontends = server_spans(&shop, &attempts, "frontend").await;
    for (t, server) in attempts.iter().zip(&frontends) {
        assert_eq!(
            is_error(server),
            t.status >= 500,
            "the frontend span shows the failure: {} {}",
            t.status,
            t.body
        );
    }
    // … or goes on without them when asked to degrade gracefully.
    shop.set_scenario("blackfriday", json!({"level": 5, "graceful": true}))
        .await;
    let graceful = futures::future::join_all((20..30).map(checkout)).await;
    assert!(
        graceful.iter().all(|t| t.status == 201),
        "graceful checkouts succeed"
    );
    assert!(
        graceful
            .iter()
            .any(|t| t.body["recommendations"] == json!([])),
        "some without recommendations"
    );

    shop.clear_scenario("blackfriday").await;
    let after = burst(
        &shop,
        (50, 25),
        Method::GET,
        ServiceName::ProductCatalog,
        "/products/recommendations?product_id=3",
        None,
        "demo",
    )
    .await;
    assert!(
        after
            .iter()
            .all(|t| t.status == 200 && t.elapsed < Duration::from_millis(1000))
    );
    shop.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payment_failure_fails_charges_at_its_rate() {
    let (shop, dir) = embedded_shop().await;
    let charge = json!({"amount_cents": 1000, "currency": "USD", "card": card("4242424242424242")});
    shop.set_scenario("payment-failure", json!({"level": 5, "seed": 7}))
        .await;
    let during = burst(
        &shop,
        (120, 60),
        Method::POST,
        ServiceName::Payment,
        "/charge",
        Some(charge.clone()),
        "demo",
    )
    .await;
    let mut errors = 0;
    for t in &during {
        let trace = shop.spans_of(t.trace_id, "payment").await;
        let server = server_span(&trace, "payment");
        match t.status {
            200 => {}
            402 => errors += 1,
            502 => {
                errors += 1;
                assert!(is_error(server));
                assert_eq!(server.attr("error.type").as_deref(), Some("502"));
            }
            other => panic!("unexpected {other}"),
        }
    }
    let rate = f64::from(errors) / during.len() as f64;
    assert!(
        (0.25..=0.55).contains(&rate),
        "level 5 fails 40% of charges: {rate:.2}"
    );
    shop.clear_scenario("payment-failure").await;
    let after = burst(
        &shop,
        (40, 20),
        Method::POST,
        ServiceName::Payment,
        "/charge",
        Some(charge),
        "demo",
    )
    .await;
    assert!(
        after.iter().all(|t| t.status == 200),
        "no failures after clear"
    );
    shop.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

/// The `SELECT products` spans of one listing request.
async fn listing_selects(shop: &TestShop) -> Vec<Span> {
    let t = shop
        .traced(
            Method::GET,
            ServiceName::ProductCatalog,
            "/products?limit=10",
            None,
            "baseline",
        )
        .await;
    assert_eq!(t.status, 200, "{}", t.body);
    assert_eq!(t.body["count"], 10);
    shop.spans_of(t.trace_id, "product-catalog")
        .await
        .into_iter()
        .filter(|s| s.name() == "SELECT products")
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_query_and_n_plus_one_show_in_database_spans() {
    let db = TestDatabase::create().await;
    let shop = TestShop::start(test_config(
        Database::Postgres {
            url: db.url.clone(),
        },
        None,
    ));
    shop.wait_ready(ServiceName::ProductCatalog).await;
    let normal = listing_selects(&shop).await;
    assert_eq!(normal.len(), 1);
    let fast = duration(&normal[0]);

    shop.set_scenario("slow-query", json!({"level": 5})).await;
    let slow = listing_selects(&shop).await;
    assert_eq!(slow.len(), 1);
    assert!(
        slow[0]
            .attr("db.query.text")
            .is_some_and(|q| q.contains("WITH RECURSIVE scan")),
        "the expensive plan is visible"
    );
    assert!(
        duration(&slow[0]) > fast * 5 && duration(&slow[0]) > Duration::from_millis(50),
        "{:?} vs {fast:?}",
        duration(&slow[0])
    );
    shop.clear_scenario("slow-query").await;
    let cleared = listing_selects(&shop).await;
    assert!(
        !cleared[0]
            .attr("db.query.text")
            .unwrap_or_default()
            .contains("RECURSIVE")
    );

    shop.set_scenario("n-plus-one", json!({})).await;
    let n_plus_one = listing_selects(&shop).await;
    assert_eq!(
        n_plus_one.len(),
        11,
        "one query for the ids and one per product"
    );
    assert!(
        n_plus_one
            .iter()
            .filter(|s| s
                .attr("db.query.text")
                .is_some_and(|q| q.ends_with("WHERE id = $1")))
            .count()
            == 10
    );
    shop.clear_scenario("n-plus-one").await;
    assert_eq!(listing_selects(&shop).await.len(), 1);
    shop.stop().await;
    db.drop_now().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pool_exhaustion_makes_orders_wait_and_fail() {
    let db = TestDatabase::create().await;
    let shop = TestShop::start(test_config(
        Database::Postgres {
            url: db.url.clone(),
        },
        None,
    ));
    shop.wait_ready(ServiceName::Checkout).await;
    let (_, product) = shop.get(ServiceName::ProductCatalog, "/products/2").await;
    let transaction = shop
        .charge(product["price_cents"].as_i64().expect("a price"))
        .await;
    let order = json!({
        "currency": "USD",
        "items": [{"product_id": 2, "quantity": 1}],
        "payment": {"transaction_id": transaction, "amount_cents": product["price_cents"]}
    });
    shop.set_scenario("pool-exhaustion", json!({"level": 5}))
        .await;
    // The stuck job takes every connection; then an order waits for one, and the pool's
    // metrics say so: every connection used, a request pending.
    let metric = |name: &'static str, attr: Option<(&'static str, &'static str)>| {
        if let Some(s) = shop.shop.as_ref() {
            s.flush();
        }
        shop.sink.last_i64("checkout", name, attr)
    };
    let used = || {
        metric(
            "db.client.connection.count",
            Some(("db.client.connection.state", "used")),
        )
    };
    eventually(
        "the stuck job holding the pool",
        Duration::from_secs(10),
        || async {
            tokio::time::sleep(Duration::from_millis(200)).await;
            let max = metric("db.client.connection.max", None)?;
            (used()? == max).then_some(())
        },
    )
    .await;
    let waiting = {
        let (url, order, http) = (
            shop.url(ServiceName::Checkout, "/orders"),
            order.clone(),
            shop.http.clone(),
        );
        tokio::spawn(async move { http.post(url).json(&order).send().await.map(|r| r.status()) })
    };
    let pool = eventually(
        "a request waiting for the full pool",
        Duration::from_secs(2),
        || async {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let pending = metric("db.client.connection.pending_requests", None)?;
            let max = metric("db.client.connection.max", None)?;
            (pending >= 1).then_some((max, used()?, pending))
        },
    )
    .await;
    assert_eq!(
        pool.0, pool.1,
        "every connection used while a request waits: {pool:?}"
    );
    assert_eq!(
        waiting.await.expect("joined").map(|s| s.as_u16()).ok(),
        Some(503),
        "the waiting order times out on the pool"
    );
    assert_eq!(pool.0, 10, "PostgreSQL pools hold 10 connections: {pool:?}");
    // The process reports itself beside the pool.
    let memory = shop.sink.last_i64("checkout", "process.memory.usage", None);
    assert!(memory.is_some_and(|b| b > 8 << 20), "{memory:?}");
    let threads = shop.sink.last_i64("checkout", "process.thread.count", None);
    assert!(threads.is_some_and(|t| t > 1), "{threads:?}");
    assert!(
        shop.sink
            .metric_names()
            .iter()
            .any(|(s, m)| s == "checkout" && m == "process.cpu.time")
    );
    let t = eventually(
        "an order to time out on the pool",
        Duration::from_secs(10),
        || async {
            let t = shop
                .traced(
                    Method::POST,
                    ServiceName::Checkout,
                    "/orders",
                    Some(&order),
                    "demo",
                )
                .await;
            (t.status == 503).then_some(t)
        },
    )
    .await;
    assert!(
        t.elapsed >= Duration::from_millis(1900),
        "it waited for a connection: {:?}",
        t.elapsed
    );
    assert_eq!(t.body["error"]["code"], "database_unavailable");
    let trace = shop.spans_of(t.trace_id, "checkout").await;
    assert!(is_error(server_span(&trace, "checkout")));
    // The stock it reserved first was given back.
    assert!(
        trace
            .iter()
            .any(|s| s.name() == "DELETE /reservations/{order_id}")
    );

    shop.clear_scenario("pool-exhaustion").await;
    let placed = eventually("an order after clear", Duration::from_secs(10), || async {
        let t = shop
            .traced(
                Method::POST,
                ServiceName::Checkout,
                "/orders",
                Some(&order),
                "demo",
            )
            .await;
        (t.status == 201).then_some(t)
    })
    .await;
    assert!(placed.elapsed < Duration::from_secs(2));
    shop.stop().await;
    db.drop_now().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_outage_gives_real_connection_errors() {
    let (database, dir) = temp_sqlite();
    let shop = TestShop::start(test_config(database, Some(redis_url())));
    let cart = format!("/cart/ro-{}", uuid::Uuid::new_v4().simple());
    assert_eq!(
        shop.traced(Method::GET, ServiceName::Cart, &cart, None, "baseline")
            .await
            .status,
        200
    );
    shop.set_scenario("redis-outage", json!({})).await;
    let t = shop
        .traced(Method::GET, ServiceName::Cart, &cart, None, "baseline")
        .await;
    assert_eq!(t.status, 503);
    assert_eq!(t.body["error"]["code"], "redis_unavailable");
    let trace = shop.spans_of(t.trace_id, "cart").await;
    let command = trace
        .iter()
        .find(|s| s.name() == "HGETALL")
        .expect("the Redis command span");
    assert!(is_error(command));
    assert_eq!(command.attr("error.type").as_deref(), Some("unavailable"));
    assert_eq!(shop.get(ServiceName::Cart, "/ready").await.0, 503);
    // The browse page does without the cart: the frontend answers, its call to cart is red.
    let page = shop
        .traced(
            Method::POST,
            ServiceName::Frontend,
            "/api/browse",
            Some(&json!({ "cart_id": cart.trim_start_matches("/cart/") })),
            "baseline",
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(page.body["degraded"], json!(["cart"]));
    let trace = shop.spans_of(page.trace_id, "frontend").await;
    let call = trace
        .iter()
        .find(|s| s.service == "frontend" && s.name() == "GET /cart/{cart_id}")
        .expect("the frontend's call to cart");
    assert!(is_error(call), "the failed call is an error span");
    let served = trace
        .iter()
        .find(|s| s.service == "frontend" && s.name() == "POST /api/browse")
        .expect("the browse server span");
    assert!(!is_error(served), "the page itself was served");
    shop.clear_scenario("redis-outage").await;
    assert_eq!(
        shop.traced(Method::GET, ServiceName::Cart, &cart, None, "baseline")
            .await
            .status,
        200
    );
    assert_eq!(shop.get(ServiceName::Cart, "/ready").await.0, 200);
    shop.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_leak_grows_a_named_service_and_is_freed() {
    let (shop, dir) = embedded_shop().await;
    let running = shop.shop.as_ref().expect("running");
    shop.set_scenario("memory-leak", json!({"level": 5, "target": "currency"}))
        .await;
    burst(
        &shop,
        (40, 10),
        Method::GET,
        ServiceName::Currency,
        "/rates",
        None,
        "baseline",
    )
    .await;
    running.flush();
    let leaked = shop
        .sink
        .last_gauge_u64("currency", "tracemart.scenario.leaked_bytes", None)
        .expect("gauge");
    assert_eq!(leaked, 40 * 5 * 64 * 1024, "40 requests at level 5");
    let level = shop
        .sink
        .last_gauge_u64(
            "currency",
            "tracemart.scenario.level",
            Some(("scenario.name", "memory-leak")),
        )
        .expect("level gauge");
    assert_eq!(level, 5);
    shop.clear_scenario("memory-leak").await;
    eventually("the leak to be freed", Duration::from_secs(5), || async {
        running.flush();
        (shop
            .sink
            .last_gauge_u64("currency", "tracemart.scenario.leaked_bytes", None)
            == Some(0))
        .then_some(())
    })
    .await;
    shop.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cpu_hotspot_and_slow_international_shipping_add_latency_where_they_say() {
    let (shop, dir) = embedded_shop().await;
    let quote = |country: &str| json!({"country": country, "weight_grams": 800});

    let before = shipping_time(
        &shop,
        shop.traced(
            Method::POST,
            ServiceName::Shipping,
            "/quote",
            Some(&quote("US")),
            "demo",
        )
        .await,
    )
    .await;
    shop.set_scenario("cpu-hotspot", json!({"level": 5, "mark_faults": true}))
        .await;
    let t = shop
        .traced(
            Method::POST,
            ServiceName::Shipping,
            "/quote",
            Some(&quote("US")),
            "demo",
        )
        .await;
    let trace = shop.spans_of(t.trace_id, "shipping").await;
    let hot = server_span(&trace, "shipping");
    assert!(
        duration(hot) >= Duration::from_millis(75),
        "75 ms of CPU at level 5: {:?}",
        duration(hot)
    );
    assert_eq!(hot.attr("fault.injected").as_deref(), Some("true"));
    assert_eq!(hot.attr("fault.scenario").as_deref(), Some("cpu-hotspot"));
    shop.clear_scenario("cpu-hotspot").await;
    let after = shipping_time(
        &shop,
        shop.traced(
            Method::POST,
            ServiceName::Shipping,
            "/quote",
            Some(&quote("US")),
            "demo",
        )
        .await,
    )
    .await;
    assert!(
        after < Duration::from_millis(75),
        "{after:?} (before: {before:?})"
    );

    shop.set_scenario("slow-international-shipping", json!({"level": 2}))
        .await;
    let abroad = shop
        .traced(
            Method::POST,
            ServiceName::Shipping,
            "/quote",
            Some(&quote("DE")),
            "demo",
        )
        .await;
    let home = shop
        .traced(
            Method::POST,
            ServiceName::Shipping,
            "/quote",
            Some(&quote("US")),
            "demo",
        )
        .await;
    assert!(
        shipping_time(&shop, abroad).await >= Duration::from_millis(1000),
        "international quotes wait 2 × 500 ms"
    );
    assert!(
        shipping_time(&shop, home).await < Duration::from_millis(500),
        "domestic quotes are untouched"
    );
    shop.clear_scenario("slow-international-shipping").await;
    let abroad = shop
        .traced(
            Method::POST,
            ServiceName::Shipping,
            "/quote",
            Some(&quote("DE")),
            "demo",
        )
        .await;
    assert!(shipping_time(&shop, abroad).await < Duration::from_millis(500));
    shop.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_lists_exactly_the_changes_made_and_logs_them() {
    let (shop, dir) = embedded_shop().await;
    shop.set_scenario("payment-failure", json!({"level": 2}))
        .await;
    shop.set_scenario("payment-failure", json!({"level": 4}))
        .await;
    shop.set_scenario("payment-failure", json!({"level": 4}))
        .await; // no change, no record
    shop.set_scenario("redis-outage", json!({})).await;
    let r = shop
        .http
        .delete(shop.url(ServiceName::Frontend, "/scenarios"))
        .send()
        .await
        .expect("clear all");
    assert_eq!(r.status(), 200);
    let (status, history) = shop.get(ServiceName::Cart, "/scenarios/history").await;
    assert_eq!(status, 200);
    let got: Vec<(String, String, u64)> = history
        .as_array()
        .expect("array")
        .iter()
        .map(|c| {
            (
                c["action"].as_str().unwrap_or_default().to_owned(),
                c["scenario"].as_str().unwrap_or_default().to_owned(),
                c["level"].as_u64().unwrap_or(99),
            )
        })
        .collect();
    let want = vec![
        ("activated".to_owned(), "payment-failure".to_owned(), 2),
        ("level-changed".to_owned(), "payment-failure".to_owned(), 4),
        ("activated".to_owned(), "redis-outage".to_owned(), 3),
        ("deactivated".to_owned(), "payment-failure".to_owned(), 4),
        ("deactivated".to_owned(), "redis-outage".to_owned(), 3),
    ];
    assert_eq!(got, want);
    let times: Vec<i64> = history
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| c["at_ms"].as_i64().unwrap_or_default())
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "in time order");
    assert_eq!(history[0]["target_service"], "payment");
    assert_eq!(history[0]["operation"], "POST /charge");

    // Each change is an OpenTelemetry log event of the service that made it.
    let events = shop
        .sink
        .logs()
        .into_iter()
        .filter(|(service, l)| {
            service == "frontend" && format!("{:?}", l.body()).contains("scenario")
        })
        .count();
    assert_eq!(events, 5);
    shop.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_control_api_refuses_changes_without_the_token() {
    let (database, dir) = temp_sqlite();
    let mut config = test_config(database, None);
    config.control_token = Some("s3cret".to_owned());
    let shop = TestShop::start(config);
    let (status, body) = shop
        .send_json(
            Method::PUT,
            ServiceName::Frontend,
            "/scenarios/blackfriday",
            &json!({}),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("unauthorized"))
    );
    let r = shop
        .http
        .put(shop.url(ServiceName::Frontend, "/scenarios/blackfriday"))
        .bearer_auth("s3cret")
        .json(&json!({"level": 2}))
        .send()
        .await
        .expect("put");
    assert_eq!(r.status(), 200);
    assert_eq!(
        shop.get(ServiceName::Frontend, "/scenarios").await.1["active"][0]["current_level"],
        2
    );
    // Bad requests are 4xx too.
    for (path, body, code) in [
        ("/scenarios/nope", json!({}), "scenario_not_found"),
        (
            "/scenarios/payment-failure",
            json!({"level": 9}),
            "invalid_level",
        ),
        (
            "/scenarios/blackfriday",
            json!({"speed": 0}),
            "invalid_speed",
        ),
        (
            "/scenarios/blackfriday",
            json!({"target": "cart"}),
            "invalid_target",
        ),
        (
            "/scenarios/memory-leak",
            json!({"target": "nowhere"}),
            "invalid_target",
        ),
        (
            "/scenarios/blackfriday",
            json!({"started_at": "yesterday"}),
            "invalid_started_at",
        ),
    ] {
        let r = shop
            .http
            .put(shop.url(ServiceName::Frontend, path))
            .bearer_auth("s3cret")
            .json(&body)
            .send()
            .await
            .expect("put");
        let status = r.status().as_u16();
        let answer: serde_json::Value = r.json().await.expect("json");
        assert!(
            (400..500).contains(&status) && answer["error"]["code"] == code,
            "{path} {body}: {status} {answer}"
        );
    }
    shop.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_seed_makes_the_same_fault_decisions() {
    let (shop, dir) = embedded_shop().await;
    let charge = json!({"amount_cents": 1000, "currency": "USD", "card": card("4242424242424242")});
    let mut runs = Vec::new();
    for _ in 0..2 {
        // A fresh start with the same seed replays the same dice.
        shop.set_scenario(
            "payment-failure",
            json!({"level": 5, "seed": 1234, "started_at": shop::scenario::state::now_ms()}),
        )
        .await;
        let mut outcomes = Vec::new();
        for _ in 0..30 {
            outcomes.push(
                shop.traced(
                    Method::POST,
                    ServiceName::Payment,
                    "/charge",
                    Some(&charge),
                    "demo",
                )
                .await
                .status,
            );
        }
        runs.push(outcomes);
        shop.clear_scenario("payment-failure").await;
    }
    assert!(
        runs[0].iter().any(|s| *s != 200),
        "some charges failed: {:?}",
        runs[0]
    );
    assert_eq!(runs[0], runs[1]);
    shop.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_mode_starts_black_friday_from_its_timestamp() {
    let (database, dir) = temp_sqlite();
    let mut config = test_config(database, None);
    config.demo = Some(shop::config::DemoStart {
        started_at_ms: Some(shop::scenario::state::now_ms() - 12 * 60_000),
        speed: 1.0,
    });
    let shop = TestShop::start(config);
    let (_, status) = shop.get(ServiceName::ProductCatalog, "/scenarios").await;
    assert_eq!(status["active"][0]["scenario"], "blackfriday");
    assert_eq!(
        status["active"][0]["current_level"], 3,
        "minute 12 is step 3: {status}"
    );
    let (_, history) = shop.get(ServiceName::Frontend, "/scenarios/history").await;
    let levels: Vec<_> = history
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| c["level"].as_u64().unwrap_or(99))
        .collect();
    assert_eq!(
        levels,
        vec![3],
        "activated at step 3; later steps are still ahead"
    );
    shop.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenarios_keep_applying_while_their_redis_is_away() {
    let redis_addr: std::net::SocketAddr = {
        let u = reqwest::Url::parse(&redis_url()).expect("url");
        let host = match u.host_str() {
            Some("localhost") | None => "127.0.0.1",
            Some(h) => h,
        };
        format!("{host}:{}", u.port().unwrap_or(6379))
            .parse()
            .expect("addr")
    };
    let mut proxy = Proxy::start(redis_addr).await;
    let (database, dir) = temp_sqlite();
    let shop = TestShop::start(test_config(
        database,
        Some(format!("redis://{}/0", proxy.addr)),
    ));
    shop.wait_ready(ServiceName::ProductCatalog).await;
    let (_, status) = shop.get(ServiceName::Frontend, "/scenarios").await;
    assert_eq!(status["shared"], true, "the state lives in Redis");
    shop.set_scenario("n-plus-one", json!({})).await;
    assert_eq!(listing_selects(&shop).await.len(), 11);

    proxy.cut().await;
    tokio::time::sleep(Duration::from_secs(1)).await; // a few missed polls
    assert_eq!(
        listing_selects(&shop).await.len(),
        11,
        "the last known state still applies"
    );
    let (status, body) = shop
        .send_json(
            Method::DELETE,
            ServiceName::Frontend,
            "/scenarios/n-plus-one",
            &json!({}),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (503, Some("scenario_store_unavailable"))
    );

    proxy.restore().await;
    shop.clear_scenario("n-plus-one").await;
    eventually("the clear to apply", Duration::from_secs(5), || async {
        (listing_selects(&shop).await.len() == 1).then_some(())
    })
    .await;
    shop.stop().await;
    proxy.cut().await;
    let _ = std::fs::remove_dir_all(dir);
}

/// Replicas changing the shared state at the same moment all land: each change is applied on
/// top of the others (compare-and-set on the state's version), none is overwritten, and the
/// history holds every one of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simultaneous_changes_from_several_replicas_are_all_kept() {
    use shop::scenario::{Activation, Command, Scenario, ScenarioStore};
    let namespace = format!("cas-{}", uuid::Uuid::new_v4().simple());
    let replicas: Vec<ScenarioStore> = (0..3)
        .map(|_| ScenarioStore::redis(&redis_url(), &namespace).expect("store"))
        .collect();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as i64;
    let changes = Scenario::ALL.iter().enumerate().map(|(i, scenario)| {
        let store = replicas[i % replicas.len()].clone();
        let activation = Activation {
            scenario: *scenario,
            target: scenario.definition().target,
            level: Some(1),
            speed: 1.0,
            started_at_ms: now,
            seed: None,
            mark_faults: false,
            graceful: false,
        };
        async move { store.apply(Command::Set(activation)).await }
    });
    for result in futures::future::join_all(changes).await {
        let (_, made) = result.expect("applied");
        assert_eq!(made.len(), 1, "each change is recorded once");
    }
    let state = replicas[0].refresh().await.expect("state");
    let mut active: Vec<Scenario> = state.active.iter().map(|a| a.scenario).collect();
    active.sort();
    assert_eq!(active, Scenario::ALL.to_vec(), "no change was overwritten");
    assert_eq!(state.version, Scenario::ALL.len() as u64);
    let history = replicas[1].history().await.expect("history");
    assert_eq!(history.len(), Scenario::ALL.len());

    let client = redis::Client::open(redis_url()).expect("redis");
    let mut c = client
        .get_multiplexed_async_connection()
        .await
        .expect("redis connection");
    let _: () = redis::cmd("DEL")
        .arg(format!("{namespace}:scenarios:state"))
        .arg(format!("{namespace}:scenarios:history"))
        .query_async(&mut c)
        .await
        .expect("cleanup");
}

/// Redis restarts empty (or is flushed): the processes that know the scenarios put the state
/// and its history back, so a fault stays on and its ground truth is kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenarios_survive_a_redis_restart() {
    use shop::scenario::{Activation, Command, Scenario, ScenarioStore};
    let namespace = format!("tracemart-test-{}", uuid::Uuid::new_v4().simple());
    let replica = ScenarioStore::redis(&redis_url(), &namespace).expect("store");
    let other = ScenarioStore::redis(&redis_url(), &namespace).expect("store");
    let activation = Activation {
        scenario: Scenario::PaymentFailure,
        target: Scenario::PaymentFailure.definition().target,
        level: Some(2),
        speed: 1.0,
        started_at_ms: shop::scenario::state::now_ms(),
        seed: None,
        mark_faults: false,
        graceful: false,
    };
    replica
        .apply(Command::Set(activation))
        .await
        .expect("applied");
    assert_eq!(other.refresh().await.expect("state").active.len(), 1);

    // The restart: both keys gone.
    let client = redis::Client::open(redis_url()).expect("redis");
    let mut c = client
        .get_multiplexed_async_connection()
        .await
        .expect("redis connection");
    let keys = [
        format!("{namespace}:scenarios:state"),
        format!("{namespace}:scenarios:history"),
    ];
    let _: () = redis::cmd("DEL")
        .arg(&keys[0])
        .arg(&keys[1])
        .query_async(&mut c)
        .await
        .expect("flush");

    // The next poll of a process that knew the state puts it back.
    let state = other.refresh().await.expect("state");
    assert_eq!(state.active.len(), 1, "the scenario is still on");
    let fresh = ScenarioStore::redis(&redis_url(), &namespace).expect("store");
    let seen = fresh.refresh().await.expect("state");
    assert_eq!(
        seen.active.len(),
        1,
        "a process that starts now sees it too"
    );
    assert_eq!(seen.active[0].scenario, Scenario::PaymentFailure);
    let history = fresh.history().await.expect("history");
    assert!(
        history
            .iter()
            .any(|h| h.scenario == Scenario::PaymentFailure),
        "its ground truth is back: {history:?}"
    );
    // A switch-off is a change, not a loss: nothing comes back.
    fresh.apply(Command::Clear(None)).await.expect("cleared");
    assert!(other.refresh().await.expect("state").active.is_empty());
    assert!(replica.refresh().await.expect("state").active.is_empty());

    let _: () = redis::cmd("DEL")
        .arg(&keys[0])
        .arg(&keys[1])
        .query_async(&mut c)
        .await
        .expect("cleanup");
}

/// The story as the original told it, with the shop's own load: while Black Friday runs the
/// load generator brings its crowd, and at every step the frontend's demo requests (the
/// checkouts) fail at the step's rate while baseline stays green — measured on the frontend's
/// exported SERVER spans, not on the load generator's counts. Clearing it returns the load to
/// the shop mix.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blackfriday_with_the_built_in_load_fails_demo_checkouts_at_each_step_s_rate() {
    const SPEED: f64 = 20.0;
    let (shop, dir) = embedded_shop().await;
    let view = shop
        .set_scenario("blackfriday", json!({"speed": SPEED, "seed": 11}))
        .await;
    let started_ms = view["started_at_ms"].as_i64().expect("started_at_ms");
    let (status, _) = shop
        .send_json(
            Method::POST,
            ServiceName::LoadGenerator,
            "/start",
            &json!({}),
        )
        .await;
    assert_eq!(status, 200);
    let profile = eventually(
        "the load to follow the story",
        Duration::from_secs(5),
        || async {
            let (_, s) = shop.get(ServiceName::LoadGenerator, "/status").await;
            let p = s["effective_plan"]["profile"].clone();
            (p["name"] == "blackfriday").then_some(p)
        },
    )
    .await;
    assert_eq!(profile["speed"], SPEED);

    // Through the story's 20 minutes (60 s), then 20 s of its last step.
    let table = shop::scenario::catalogue::BLACKFRIDAY_STEPS;
    let step_ms = |minute: f64| started_ms + (minute * 60_000.0 / SPEED) as i64;
    let end_ms = step_ms(table[5].0) + 20_000;
    let now = shop::scenario::state::now_ms();
    tokio::time::sleep(Duration::from_millis(
        u64::try_from(end_ms - now).unwrap_or(0),
    ))
    .await;
    shop.clear_scenario("blackfriday").await;
    let plan = eventually(
        "the load to return to the shop mix",
        Duration::from_secs(5),
        || async {
            let (_, s) = shop.get(ServiceName::LoadGenerator, "/status").await;
            (s["effective_plan"]["profile"]["name"] == "shop")
                .then_some(s["effective_plan"].clone())
        },
    )
    .await;
    assert_eq!(plan["tagging"], "per-request");
    let (status, _) = shop
        .send_json(
            Method::POST,
            ServiceName::LoadGenerator,
            "/stop",
            &json!({}),
        )
        .await;
    assert_eq!(status, 200);
    tokio::time::sleep(Duration::from_secs(4)).await;

    let served: Vec<Span> = spans(&shop.sink)
        .into_iter()
        .filter(|s| s.service == "frontend" && *s.kind() == SpanKind::Server)
        .collect();
    let start_ms = |s: &Span| {
        s.data
            .start_time
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64)
    };
    let (mut baseline, mut baseline_errors) = (0u32, 0u32);
    for (step, (from, _, rate)) in table.iter().enumerate() {
        // Half a second off each edge: a checkout started there may be judged by either step.
        let lo = step_ms(*from) + 500;
        let hi = table.get(step + 1).map_or(end_ms, |next| step_ms(next.0)) - 500;
        let during: Vec<&Span> = served
            .iter()
            .filter(|s| (lo..hi).contains(&start_ms(s)))
            .collect();
        let demo: Vec<&&Span> = during
            .iter()
            .filter(|s| s.attr("traffic.type").as_deref() == Some("demo"))
            .collect();
        assert!(
            demo.iter().all(|s| s.name() == "POST /api/checkout"),
            "only the checkout request is demo traffic"
        );
        let n = demo.len() as f64;
        let failed = demo.iter().filter(|s| is_error(s)).count() as f64;
        // Four standard deviations of a binomial at the step's rate (none at minute 0).
        let slack = 4.0 * (rate * (1.0 - rate) / n.max(1.0)).sqrt();
        let measured = failed / n.max(1.0);
        eprintln!(
            "step {step}: {failed} of {n} demo requests failed ({:.1}%, expected {:.0}%)",
            measured * 100.0,
            rate * 100.0
        );
        // Minute 0 lasts 3 s: a few checkouts, none of which may fail.
        let fewest = if step == 0 { 1.0 } else { 10.0 };
        assert!(
            n >= fewest,
            "step {step}: only {n} checkouts reached the frontend"
        );
        assert!(
            (measured - rate).abs() <= slack,
            "step {step}: {failed} of {n} demo requests failed, expected {rate} ± {slack:.3}"
        );
        for s in during
            .iter()
            .filter(|s| s.attr("traffic.type").as_deref() == Some("baseline"))
        {
            baseline += 1;
            baseline_errors += u32::from(is_error(s));
        }
    }
    assert!(baseline >= 200, "{baseline} baseline requests");
    assert!(
        f64::from(baseline_errors) <= 0.02 * f64::from(baseline),
        "baseline: {baseline_errors} of {baseline} failed"
    );
    shop.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

/// What of a cpu-hotspot switched on and off shows in the telemetry: the `scenario.*` log
/// events, the `tracemart.scenario.*` metrics, and whether the hot span is marked.
async fn ground_truth_seen(in_telemetry: bool) -> (Vec<String>, Vec<String>, bool, usize) {
    let (database, dir) = temp_sqlite();
    let mut config = test_config(database, None);
    config.ground_truth_in_telemetry = in_telemetry;
    let shop = TestShop::start(config);
    shop.wait_ready(ServiceName::Shipping).await;
    shop.set_scenario("cpu-hotspot", json!({"level": 2, "mark_faults": true}))
        .await;
    let t = shop
        .traced(
            Method::POST,
            ServiceName::Shipping,
            "/quote",
            Some(&json!({"country": "US", "weight_grams": 800})),
            "demo",
        )
        .await;
    let trace = shop.spans_of(t.trace_id, "shipping").await;
    let hot = server_span(&trace, "shipping");
    assert!(
        duration(hot) >= Duration::from_millis(30),
        "the fault acts either way: {:?}",
        duration(hot)
    );
    let marked = hot.attr("fault.injected").is_some();
    shop.clear_scenario("cpu-hotspot").await;
    // Past the faults' watch (every 500 ms) and a metric export.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    if let Some(s) = shop.shop.as_ref() {
        s.flush();
    }
    let logs: Vec<String> = shop
        .sink
        .logs()
        .into_iter()
        .map(|(_, r)| format!("{r:?}"))
        .filter_map(|r| {
            ["scenario.change", "scenario.applied", "scenario.lifted"]
                .into_iter()
                .find(|name| r.contains(name))
                .map(str::to_owned)
        })
        .collect();
    let metrics: Vec<String> = shop
        .sink
        .metric_names()
        .into_iter()
        .map(|(_, m)| m)
        .filter(|m| m.starts_with("tracemart.scenario."))
        .collect();
    let (status, history) = shop.get(ServiceName::Shipping, "/scenarios/history").await;
    assert_eq!(status, 200);
    let changes = history.as_array().map_or(0, Vec::len);
    shop.stop().await;
    let _ = std::fs::remove_dir_all(dir);
    (logs, metrics, marked, changes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ground_truth_can_be_kept_out_of_the_telemetry() {
    let (logs, metrics, marked, changes) = ground_truth_seen(true).await;
    assert!(logs.contains(&"scenario.change".to_owned()), "{logs:?}");
    assert!(logs.contains(&"scenario.applied".to_owned()), "{logs:?}");
    assert!(!metrics.is_empty() && marked && changes == 2);

    let (logs, metrics, marked, changes) = ground_truth_seen(false).await;
    assert!(logs.is_empty(), "no scenario.* log event: {logs:?}");
    assert!(
        metrics.is_empty(),
        "no tracemart.scenario.* metric: {metrics:?}"
    );
    assert!(!marked, "no fault.* attribute");
    assert_eq!(changes, 2, "the control API keeps the history");
}

/// The requests a stand-in received: each one's Authorization header and body.
type Received = std::sync::Arc<std::sync::Mutex<Vec<(Option<String>, serde_json::Value)>>>;

/// A stand-in of Coralogix's version tags API: records every request (its Authorization
/// header and body), refuses the first with 503 after a pause, accepts the rest.
async fn tags_stand_in() -> (String, Received) {
    let seen: Received = Received::default();
    let recorded = seen.clone();
    let app = axum::Router::new().route(
        "/api/v1/external/tags",
        axum::routing::post(
            move |headers: http::HeaderMap, axum::Json(body): axum::Json<serde_json::Value>| {
                let seen = recorded.clone();
                async move {
                    let auth = headers
                        .get("authorization")
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned);
                    let first = {
                        let mut s = seen.lock().unwrap_or_else(|e| e.into_inner());
                        s.push((auth, body));
                        s.len() == 1
                    };
                    if first {
                        tokio::time::sleep(Duration::from_millis(1500)).await;
                        http::StatusCode::SERVICE_UNAVAILABLE
                    } else {
                        http::StatusCode::OK
                    }
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!(
        "http://{}/api/v1/external/tags",
        listener.local_addr().expect("addr")
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_scenario_change_is_posted_as_a_change_marker_without_holding_up_the_switch() {
    let (url, seen) = tags_stand_in().await;
    let (database, dir) = temp_sqlite();
    let mut config = test_config(database, None);
    config.markers = Some(shop::scenario::markers::MarkerConfig {
        url,
        api_key: "test-key".into(),
        application: "tracemart-demo".into(),
    });
    let shop = TestShop::start(config);
    shop.wait_ready(ServiceName::Shipping).await;
    let started = std::time::Instant::now();
    shop.set_scenario("cpu-hotspot", json!({"level": 2})).await;
    shop.set_scenario("cpu-hotspot", json!({"level": 4})).await;
    shop.clear_scenario("cpu-hotspot").await;
    assert!(
        started.elapsed() < Duration::from_millis(1000),
        "the switches never wait for the markers: {:?}",
        started.elapsed()
    );
    let names = eventually(
        "the three markers, the refused one retried",
        Duration::from_secs(15),
        || async {
            let s = seen.lock().unwrap_or_else(|e| e.into_inner()).clone();
            (s.len() >= 4).then_some(s)
        },
    )
    .await;
    let mut distinct: Vec<String> = Vec::new();
    for (auth, body) in &names {
        assert_eq!(auth.as_deref(), Some("Bearer test-key"));
        assert!(body["timestamp"].as_i64().is_some_and(|t| t > 0), "{body}");
        assert_eq!(body["application"], json!(["tracemart-demo"]));
        assert_eq!(body["subsystem"], json!(["shipping"]));
        let name = body["name"].as_str().expect("name").to_owned();
        if !distinct.contains(&name) {
            distinct.push(name);
        }
    }
    // Each marker goes on its own, so they may arrive in any order.
    distinct.sort();
    assert_eq!(
        distinct,
        [
            "scenario cpu-hotspot level 4",
            "scenario cpu-hotspot off",
            "scenario cpu-hotspot on at level 2",
        ],
        "{names:?}"
    );
    assert_eq!(names.len(), 4, "one retry of the refused marker: {names:?}");
    shop.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_release_fails_and_slows_only_the_new_version_and_rolls_back() {
    use shop::scenario::catalogue::{
        RELEASE_DELAY, RELEASE_FAILURE_SHARE, RELEASE_SHARE_PER_LEVEL, release_version,
    };
    let (shop, dir) = embedded_shop().await;
    shop.wait_ready(ServiceName::Checkout).await;
    let new_version = release_version(env!("CARGO_PKG_VERSION"));
    shop.set_scenario(
        "bad-release",
        json!({"level": 3, "seed": 42, "mark_faults": true}),
    )
    .await;
    let n = 80;
    let requests = burst(
        &shop,
        (n, 4),
        Method::GET,
        ServiceName::Checkout,
        "/orders/ord_missing",
        None,
        "demo",
    )
    .await;
    let served = server_spans(&shop, &requests, "checkout").await;
    let (new, old): (Vec<_>, Vec<_>) = requests
        .iter()
        .zip(&served)
        .partition(|(_, s)| s.release.is_some());
    // The new release serves level × 20% of the requests, and reports its own version.
    let share = new.len() as f64 / n as f64;
    let want = RELEASE_SHARE_PER_LEVEL * 3.0;
    assert!(
        (share - want).abs() < 0.2,
        "the new release served {share:.2} of the requests, {want:.2} expected"
    );
    assert!(
        new.iter()
            .all(|(_, s)| s.release.as_deref() == Some(new_version.as_str())),
        "every span of the new release reports {new_version}"
    );
    // Its failures and its latency are its own; the old version is untouched.
    let failed: Vec<_> = new.iter().filter(|(r, _)| r.status == 500).collect();
    let fail_share = failed.len() as f64 / new.len() as f64;
    assert!(
        (fail_share - RELEASE_FAILURE_SHARE).abs() < 0.2 && !failed.is_empty(),
        "{fail_share:.2} of the new release's requests failed, {RELEASE_FAILURE_SHARE} expected"
    );
    assert!(failed.iter().all(|(_, s)| is_error(s)));
    assert!(
        failed
            .iter()
            .all(|(_, s)| s.attr("fault.scenario").as_deref() == Some("bad-release")),
        "--mark-faults marks what the release broke"
    );
    // Each failure is logged as an exception, in its request's trace.
    let failed_traces: std::collections::HashSet<_> =
        failed.iter().map(|(r, _)| r.trace_id).collect();
    let logged = eventually("the failures' logs", Duration::from_secs(10), || async {
        let logs: Vec<_> = shop
            .sink
            .logs()
            .into_iter()
            .filter(|(service, l)| {
                service == "checkout"
                    && l.trace_context()
                        .is_some_and(|c| failed_traces.contains(&c.trace_id))
            })
            .collect();
        (logs.len() >= failed_traces.len()).then_some(logs)
    })
    .await;
    for (_, log) in &logged {
        let attr = |key: &str| {
            log.attributes_iter()
                .find(|(k, _)| k.as_str() == key)
                .map(|(_, v)| format!("{v:?}"))
        };
        assert!(attr("event.name").is_some_and(|v| v.contains("http.request.failed")));
        assert!(
            attr("exception.type").is_some_and(|v| v.contains("anyhow")),
            "{log:?}"
        );
        assert!(attr("exception.message").is_some_and(|v| v.contains(&new_version)));
    }
    for (r, s) in new.iter().filter(|(r, _)| r.status != 500) {
        assert_eq!(r.status, 404, "{:?}", r.body);
        assert!(
            duration(s) >= RELEASE_DELAY,
            "the new release adds {RELEASE_DELAY:?}: {:?}",
            duration(s)
        );
    }
    assert!(
        old.iter().all(|(r, s)| r.status == 404 && !is_error(s)),
        "the old version serves as before"
    );
    // A request the new release serves is one trace: its database span is the release's too,
    // a child of its server span.
    let (r, server) = new
        .iter()
        .find(|(r, _)| r.status == 404)
        .expect("a request the release served");
    let trace = shop.spans_of(r.trace_id, "checkout").await;
    let select = trace
        .iter()
        .find(|s| s.service == "checkout" && *s.kind() == SpanKind::Client)
        .expect("the order lookup's database span");
    assert_eq!(select.parent(), server.id());
    assert_eq!(select.release.as_deref(), Some(new_version.as_str()));
    // Only the server span's parent (the caller's, injected by the test) is outside the trace.
    assert!(orphans(&trace).iter().all(|s| s.id() == server.id()));

    // Cleared: rolled back, every request the old version's, none failing.
    shop.clear_scenario("bad-release").await;
    let after = burst(
        &shop,
        (20, 4),
        Method::GET,
        ServiceName::Checkout,
        "/orders/ord_missing",
        None,
        "demo",
    )
    .await;
    let spans = server_spans(&shop, &after, "checkout").await;
    assert!(after.iter().all(|r| r.status == 404));
    assert!(spans.iter().all(|s| s.release.is_none() && !is_error(s)));
    shop.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}
