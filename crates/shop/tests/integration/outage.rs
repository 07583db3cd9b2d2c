//! A store outage degrades the features that need it, not the process: the service starts
//! while its store is down, `/ready` says why, requests fail fast with 503, and everything
//! recovers when the store returns. The outage is real: a TCP proxy in front of the real
//! PostgreSQL and Redis is cut and restored.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::support::*;
use shop::{Database, ServiceName};

fn target(url: &str, default_port: u16) -> SocketAddr {
    let u = reqwest::Url::parse(url).expect("url");
    let host = u.host_str().unwrap_or("127.0.0.1");
    let host = if host == "localhost" {
        "127.0.0.1"
    } else {
        host
    };
    format!("{host}:{}", u.port().unwrap_or(default_port))
        .parse()
        .expect("socket address")
}

async fn assert_not_ready(shop: &TestShop, service: ServiceName, reason: &str) {
    let (status, body) = shop.get(service, "/ready").await;
    assert_eq!(status, 503, "{service} /ready: {body}");
    assert_eq!(body["status"], "not_ready");
    let why = body["reason"].as_str().unwrap_or_default();
    assert!(
        why.contains(reason),
        "{service} /ready reason {why:?} should mention {reason}"
    );
    assert_eq!(
        shop.get(service, "/health").await.0,
        200,
        "{service} stays alive"
    );
}

/// `url` (a PostgreSQL URL) through `proxy`.
fn through(url: &str, proxy: &Proxy) -> String {
    let mut u = reqwest::Url::parse(url).expect("url");
    u.set_port(Some(proxy.addr.port())).expect("port");
    u.to_string()
}

/// Waits until checkout's reconciliation has settled every charge of `db`.
async fn every_charge_settled(db: &TestDatabase) {
    eventually("every charge settled", Duration::from_secs(40), || async {
        let mut conn = db.connect().await;
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM payments WHERE settled = 0")
            .fetch_one(&mut conn)
            .await
            .expect("count");
        (n == 0).then_some(())
    })
    .await;
}

/// Sends a request and checks it fails with 503 quickly.
async fn assert_fails_fast(
    shop: &TestShop,
    method: reqwest::Method,
    service: ServiceName,
    path: &str,
    body: serde_json::Value,
) {
    let started = Instant::now();
    let (status, answer) = shop.send_json(method, service, path, &body).await;
    let took = started.elapsed();
    eprintln!("{path} failed with {status} in {took:?}");
    assert_eq!(status, 503, "{path}: {answer}");
    assert!(
        answer["error"]["code"]
            .as_str()
            .is_some_and(|c| c.ends_with("unavailable")),
        "{answer}"
    );
    assert!(
        took < Duration::from_secs(4),
        "{path} took {took:?} to fail"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_outage_degrades_and_recovers() {
    let db = TestDatabase::create().await;
    let mut proxy = Proxy::start(target(&db.url, 5432)).await;
    let proxied = through(&db.url, &proxy);
    // The database is down before the shop starts: the shop starts anyway.
    proxy.cut().await;
    let shop = TestShop::start(test_config(Database::Postgres { url: proxied }, None));
    assert_not_ready(&shop, ServiceName::ProductCatalog, "database").await;
    assert_not_ready(&shop, ServiceName::Checkout, "database").await;
    assert_fails_fast(
        &shop,
        reqwest::Method::GET,
        ServiceName::Frontend,
        "/api/products/1",
        serde_json::Value::Null,
    )
    .await;

    // It comes back: the schema is created lazily and the catalogue is served.
    proxy.restore().await;
    shop.wait_ready(ServiceName::ProductCatalog).await;
    shop.wait_ready(ServiceName::Checkout).await;
    let (status, product) = shop.get(ServiceName::Frontend, "/api/products/1").await;
    assert_eq!(status, 200, "{product}");
    shop.wait_ready(ServiceName::Payment).await;
    let transaction = shop
        .charge(product["price_cents"].as_i64().expect("a price"))
        .await;

    // It goes away while running.
    proxy.cut().await;
    assert_fails_fast(
        &shop,
        reqwest::Method::GET,
        ServiceName::ProductCatalog,
        "/products?limit=3",
        serde_json::Value::Null,
    )
    .await;
    assert_not_ready(&shop, ServiceName::ProductCatalog, "database").await;
    let price = product["price_cents"].as_i64().expect("a price");
    let order = serde_json::json!({
        "currency": "USD",
        "items": [{"product_id": 1, "quantity": 1}],
        "payment": {"transaction_id": transaction, "amount_cents": price}
    });
    assert_fails_fast(
        &shop,
        reqwest::Method::POST,
        ServiceName::Checkout,
        "/orders",
        order.clone(),
    )
    .await;
    for s in ServiceName::ALL {
        assert_eq!(
            shop.get(s, "/health").await.0,
            200,
            "{s} is alive during the outage"
        );
    }

    // And recovers.
    proxy.restore().await;
    shop.wait_ready(ServiceName::ProductCatalog).await;
    let (status, placed) = eventually(
        "an order after recovery",
        Duration::from_secs(20),
        || async {
            let r = shop
                .send_json(
                    reqwest::Method::POST,
                    ServiceName::Checkout,
                    "/orders",
                    &order,
                )
                .await;
            (r.0 == 201).then_some(r)
        },
    )
    .await;
    assert_eq!(status, 201, "{placed}");

    shop.stop().await;
    proxy.cut().await;
    db.drop_now().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_outage_degrades_the_cart_only_and_recovers() {
    let mut proxy = Proxy::start(target(&redis_url(), 6379)).await;
    let (database, dir) = temp_sqlite();
    let shop = TestShop::start(test_config(
        database,
        Some(format!("redis://{}/0", proxy.addr)),
    ));
    shop.wait_ready(ServiceName::Cart).await;
    let cart = format!("outage-{}", uuid::Uuid::new_v4().simple());
    let add = serde_json::json!({"product_id": 1, "quantity": 1});
    let (status, _) = shop
        .send_json(
            reqwest::Method::POST,
            ServiceName::Frontend,
            &format!("/api/cart/{cart}/items"),
            &add,
        )
        .await;
    assert_eq!(status, 201);

    proxy.cut().await;
    assert_not_ready(&shop, ServiceName::Cart, "redis").await;
    assert_fails_fast(
        &shop,
        reqwest::Method::POST,
        ServiceName::Frontend,
        &format!("/api/cart/{cart}/items"),
        add.clone(),
    )
    .await;
    assert_fails_fast(
        &shop,
        reqwest::Method::GET,
        ServiceName::Cart,
        &format!("/cart/{cart}"),
        serde_json::Value::Null,
    )
    .await;
    // The catalogue does not need Redis: browsing without a cart still works.
    let (status, page) = shop
        .send_json(
            reqwest::Method::POST,
            ServiceName::Frontend,
            "/api/browse",
            &serde_json::json!({}),
        )
        .await;
    assert_eq!(status, 200, "{page}");
    // And a shopper with a cart still sees the catalogue, without the cart summary.
    let (status, page) = shop
        .send_json(
            reqwest::Method::POST,
            ServiceName::Frontend,
            "/api/browse",
            &serde_json::json!({ "cart_id": cart }),
        )
        .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["degraded"], serde_json::json!(["cart"]), "{page}");
    assert!(page["cart"].is_null(), "{page}");
    assert!(page["products"].as_array().is_some_and(|p| !p.is_empty()));
    assert_eq!(shop.get(ServiceName::ProductCatalog, "/ready").await.0, 200);

    proxy.restore().await;
    shop.wait_ready(ServiceName::Cart).await;
    let (status, view) = eventually(
        "the cart after recovery",
        Duration::from_secs(10),
        || async {
            let r = shop.get(ServiceName::Cart, &format!("/cart/{cart}")).await;
            (r.0 == 200).then_some(r)
        },
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        view["item_count"], 1,
        "the cart survived the outage in Redis: {view}"
    );

    shop.stop().await;
    proxy.cut().await;
    let _ = std::fs::remove_dir_all(dir);
}

/// PostgreSQL hangs (every byte held, as under SIGSTOP) past the frontend's deadline while
/// checkouts are under way, then resumes. For every attempt charge and order agree — both or
/// neither — a retry with the same key makes no second order, and once the reconciliation
/// has settled every charge the tables hold nothing to fix.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_database_never_leaves_a_charge_without_its_order() {
    let db = TestDatabase::create().await;
    let proxy = Proxy::start(target(&db.url, 5432)).await;
    let proxied = through(&db.url, &proxy);
    let mut config = test_config(Database::Postgres { url: proxied }, None);
    // A short deadline and a quick reconciliation keep the test short; the logic is the same.
    config.request_timeout = Duration::from_secs(3);
    config.reconcile_after = Duration::from_secs(2);
    config.payment.latency = (Duration::from_millis(100), Duration::from_millis(200));
    let shop = TestShop::start(config);
    for s in [
        ServiceName::ProductCatalog,
        ServiceName::Checkout,
        ServiceName::Payment,
    ] {
        shop.wait_ready(s).await;
    }
    const ATTEMPTS: usize = 16;
    for i in 0..ATTEMPTS {
        let (status, _) = shop
            .send_json(
                reqwest::Method::POST,
                ServiceName::Frontend,
                &format!("/api/cart/stall-{i}/items"),
                &serde_json::json!({"product_id": 1 + i % 8, "quantity": 1}),
            )
            .await;
        assert_eq!(status, 201);
    }
    let checkout = |i: usize| {
        let shop = &shop;
        async move {
            let r = shop
                .http
                .post(shop.url(ServiceName::Frontend, "/api/checkout"))
                .header("idempotency-key", format!("stall-attempt-{i}"))
                .json(&serde_json::json!({"cart_id": format!("stall-{i}"), "card": card("4242424242424242")}))
                .send()
                .await
                .expect("an answer");
            let status = r.status().as_u16();
            (
                status,
                r.json::<serde_json::Value>().await.unwrap_or_default(),
            )
        }
    };
    let stall = async {
        // The pages and the charges come first; the stall catches orders being written.
        tokio::time::sleep(Duration::from_millis(450)).await;
        proxy.stall();
        tokio::time::sleep(Duration::from_secs(5)).await;
        proxy.resume();
    };
    let (answers, ()) = tokio::join!(
        futures::future::join_all((0..ATTEMPTS).map(checkout)),
        stall
    );
    let failed: Vec<usize> = answers
        .iter()
        .enumerate()
        .filter(|(_, (status, _))| *status != 201)
        .map(|(i, _)| i)
        .collect();
    eprintln!(
        "first attempts: {:?}",
        answers
            .iter()
            .map(|(s, a)| format!("{s} {}", a["error"]["code"].as_str().unwrap_or("")))
            .collect::<Vec<_>>()
    );
    assert!(
        !failed.is_empty(),
        "the stall made some checkouts miss their deadline"
    );

    // Every attempt again, with its key: an attempt that succeeded answers the same order; one
    // that failed is refused again once its charge was refunded.
    for (i, first) in answers.iter().enumerate() {
        let (status, answer) = checkout(i).await;
        if first.0 == 201 {
            assert!(
                matches!(status, 200 | 201),
                "attempt {i} again: {status} {answer}"
            );
            assert_eq!(
                answer["order"]["id"], first.1["order"]["id"],
                "attempt {i} again is the same order"
            );
        } else if first.1["error"]["code"] == "checkout_outcome_unknown" && status == 200 {
            // The first answer said the order may stand: it did, and its key finds it.
            assert!(
                answer["order"]["id"].is_string(),
                "attempt {i} again: {status} {answer}"
            );
        } else if status != 201 {
            // Refused again (its charge was refunded: `attempt_cancelled`), or failing for
            // another reason; an attempt that failed before anything was charged may succeed
            // now. One charge and at most one order per attempt is checked below.
            assert!(
                answer["error"]["code"].is_string(),
                "attempt {i} again: {status} {answer}"
            );
        }
    }

    // The reconciliation settles every charge.
    every_charge_settled(&db).await;
    let mut conn = db.connect().await;
    let payments: Vec<(String, String, Option<String>)> =
        sqlx::query_as("SELECT transaction_id, status, idempotency_key FROM payments")
            .fetch_all(&mut conn)
            .await
            .expect("payments");
    let orders: Vec<(String, String, Option<String>)> =
        sqlx::query_as("SELECT payment_transaction_id, status, idempotency_key FROM orders")
            .fetch_all(&mut conn)
            .await
            .expect("orders");
    eprintln!(
        "{} charges ({} refunded), {} orders ({} cancelled)",
        payments.len(),
        payments.iter().filter(|p| p.1 == "refunded").count(),
        orders.len(),
        orders.iter().filter(|o| o.1 == "cancelled").count()
    );
    // What a reconciliation would fix: nothing.
    let mut to_fix = Vec::new();
    for (txn, status, _) in &payments {
        let placed = orders
            .iter()
            .filter(|o| &o.0 == txn && o.1 == "placed")
            .count();
        match (status.as_str(), placed) {
            ("charged", 1) | ("refunded", 0) => {}
            _ => to_fix.push(format!("{txn}: {status} with {placed} placed orders")),
        }
    }
    for (txn, status, _) in orders.iter().filter(|o| o.1 == "placed") {
        if !payments.iter().any(|p| &p.0 == txn && p.1 == "charged") {
            to_fix.push(format!(
                "order paid by {txn} ({status}) has no standing charge"
            ));
        }
    }
    assert!(to_fix.is_empty(), "to fix:\n{}", to_fix.join("\n"));
    // One charge and at most one order per attempt.
    for i in 0..ATTEMPTS {
        let key = format!("stall-attempt-{i}");
        let charges = payments
            .iter()
            .filter(|p| p.2.as_deref() == Some(&key))
            .count();
        let made = orders
            .iter()
            .filter(|o| o.2.as_deref() == Some(&key))
            .count();
        assert_eq!(charges, 1, "{key} was charged once");
        assert!(made <= 1, "{key} has {made} orders");
    }
    drop(conn);
    shop.stop().await;
    drop(proxy);
    db.drop_now().await;
}

/// Redis restarts between two requests: the cart's connection is stale, and the first request
/// after the restart still succeeds (a new connection, the command tried once more).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_cart_request_after_a_redis_restart_succeeds() {
    let mut proxy = Proxy::start(target(&redis_url(), 6379)).await;
    let (database, dir) = temp_sqlite();
    let shop = TestShop::start(test_config(
        database,
        Some(format!("redis://{}/0", proxy.addr)),
    ));
    shop.wait_ready(ServiceName::Cart).await;
    let cart = format!("restart-{}", uuid::Uuid::new_v4().simple());
    let path = format!("/cart/{cart}/items");
    let (status, _) = shop
        .send_json(
            reqwest::Method::POST,
            ServiceName::Cart,
            &path,
            &serde_json::json!({"product_id": 3, "quantity": 2}),
        )
        .await;
    assert_eq!(status, 201);
    // The restart: every connection is gone, and Redis listens again at once.
    proxy.cut().await;
    proxy.restore().await;
    let (status, answer) = shop.get(ServiceName::Cart, &format!("/cart/{cart}")).await;
    assert_eq!(status, 200, "the first read after the restart: {answer}");
    assert_eq!(answer["item_count"], 2, "{answer}");
    proxy.cut().await;
    proxy.restore().await;
    let (status, answer) = shop
        .send_json(
            reqwest::Method::DELETE,
            ServiceName::Cart,
            &format!("/cart/{cart}"),
            &serde_json::Value::Null,
        )
        .await;
    assert_eq!(status, 204, "the first write after the restart: {answer}");
    shop.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

/// One checkout of `cart` as the attempt `key`: its status and body.
async fn checkout(shop: &TestShop, cart: &str, key: &str) -> (u16, serde_json::Value) {
    let r = shop
        .http
        .post(shop.url(ServiceName::Frontend, "/api/checkout"))
        .header("idempotency-key", key)
        .json(&serde_json::json!({"cart_id": cart, "card": card("4242424242424242")}))
        .send()
        .await
        .expect("an answer");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or_default())
}

/// Checkouts keep coming while PostgreSQL and then Redis are away for 20 s each: every
/// checkout that succeeded has exactly one order, none is doubled, and once reconciled every
/// charge has its order or its refund. Prints the figures:
/// `cargo nextest run -p shop --test integration outages_under_load --no-capture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outages_under_load_lose_and_double_no_order() {
    let db = TestDatabase::create().await;
    let mut pg = Proxy::start(target(&db.url, 5432)).await;
    let mut redis = Proxy::start(target(&redis_url(), 6379)).await;
    let proxied = through(&db.url, &pg);
    let mut config = test_config(
        Database::Postgres { url: proxied },
        Some(format!("redis://{}/0", redis.addr)),
    );
    config.reconcile_after = Duration::from_secs(2);
    let shop = TestShop::start(config);
    for s in [
        ServiceName::ProductCatalog,
        ServiceName::Checkout,
        ServiceName::Payment,
        ServiceName::Cart,
    ] {
        shop.wait_ready(s).await;
    }
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let unknown = std::sync::Mutex::new(Vec::<(String, String)>::new());
    let unknown = &unknown;
    let shopper = |n: usize| {
        let (shop, stop) = (&shop, stop.clone());
        async move {
            let mut outcomes = Vec::new();
            let mut i = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                i += 1;
                let cart = format!("load-{n}-{i}");
                let added = shop
                    .send_json(
                        reqwest::Method::POST,
                        ServiceName::Frontend,
                        &format!("/api/cart/{cart}/items"),
                        &serde_json::json!({"product_id": 1 + (n + i) % 8, "quantity": 1}),
                    )
                    .await;
                if added.0 != 201 {
                    outcomes.push(added.0);
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
                // A careful client: one key per attempt, so a retry is the same attempt.
                let key = format!("att-{n}-{i}");
                let (status, answer) = checkout(shop, &cart, &key).await;
                if answer["error"]["code"] == "checkout_outcome_unknown" {
                    unknown.lock().expect("lock").push((cart, key));
                }
                outcomes.push(status);
            }
            outcomes
        }
    };
    let outages = async {
        tokio::time::sleep(Duration::from_secs(3)).await;
        pg.cut().await;
        tokio::time::sleep(Duration::from_secs(20)).await;
        pg.restore().await;
        tokio::time::sleep(Duration::from_secs(3)).await;
        redis.cut().await;
        tokio::time::sleep(Duration::from_secs(20)).await;
        redis.restore().await;
        tokio::time::sleep(Duration::from_secs(3)).await;
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
    };
    let (outcomes, ()) = tokio::join!(futures::future::join_all((0..4).map(shopper)), outages);
    let outcomes: Vec<u16> = outcomes.into_iter().flatten().collect();
    let mut succeeded = outcomes.iter().filter(|s| **s == 201).count();
    // A checkout whose order may stand said so (its commit may have reached the database
    // while its answer, and the refund, could not): the same attempt again tells the truth —
    // its order, or the purchase completed now, never a second charge.
    let unknown = unknown.lock().expect("lock").clone();
    for (cart, key) in &unknown {
        let (status, answer) = checkout(&shop, cart, key).await;
        assert!(
            matches!(status, 200 | 201 | 409),
            "retrying {key}: {status} {answer}"
        );
        succeeded += usize::from(status != 409);
    }

    every_charge_settled(&db).await;
    let mut conn = db.connect().await;
    let (placed,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM orders WHERE status = 'placed'")
        .fetch_one(&mut conn)
        .await
        .expect("orders");
    let (charged,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM payments WHERE status = 'charged'")
            .fetch_one(&mut conn)
            .await
            .expect("charges");
    let (refunded,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM payments WHERE status = 'refunded'")
            .fetch_one(&mut conn)
            .await
            .expect("refunds");
    let (doubled,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM (SELECT payment_transaction_id FROM orders \
         GROUP BY payment_transaction_id HAVING COUNT(*) > 1) d",
    )
    .fetch_one(&mut conn)
    .await
    .expect("doubles");
    eprintln!(
        "under 20 s PostgreSQL and Redis outages: {} requests, {succeeded} checkouts succeeded \
         ({} of them learnt on retrying an unknown outcome), {placed} orders, {charged} charges \
         standing, {refunded} refunded, {doubled} doubled",
        outcomes.len(),
        unknown.len()
    );
    assert!(succeeded > 0, "checkouts succeeded around the outages");
    assert_eq!(
        placed as usize, succeeded,
        "every successful checkout has its order, and only those"
    );
    assert_eq!(charged, placed, "every standing charge has its order");
    assert_eq!(doubled, 0, "no charge pays for two orders");
    drop(conn);
    shop.stop().await;
    pg.cut().await;
    redis.cut().await;
    db.drop_now().await;
}
