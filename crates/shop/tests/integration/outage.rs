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
    let proxied = {
        let mut u = reqwest::Url::parse(&db.url).expect("url");
        u.set_port(Some(proxy.addr.port())).expect("port");
        u.to_string()
    };
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
    let order = serde_json::json!({
        "currency": "USD",
        "items": [{"product_id": 1, "quantity": 1}],
        "payment": {"transaction_id": "txn_1", "amount_cents": product["price_cents"]}
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
