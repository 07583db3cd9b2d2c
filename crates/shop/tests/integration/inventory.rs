//! Stock is real: it goes down with every order, an order for more than the stock is refused
//! with 409 up to the shopper (and its charge refunded), and a failed confirmation e-mail does
//! not fail the order — in both storage backends.

use std::time::Duration;

use crate::support::*;
use reqwest::Method;
use serde_json::json;
use shop::{Database, ServiceName};

async fn stock(shop: &TestShop, product: i64) -> i64 {
    let (status, body) = shop
        .get(ServiceName::Inventory, &format!("/stock/{product}"))
        .await;
    assert_eq!(status, 200, "{body}");
    body["stock"].as_i64().expect("stock")
}

async fn add(shop: &TestShop, cart: &str, product: i64, quantity: i64) {
    let (status, body) = shop
        .send_json(
            Method::POST,
            ServiceName::Frontend,
            &format!("/api/cart/{cart}/items"),
            &json!({"product_id": product, "quantity": quantity}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
}

async fn checkout(shop: &TestShop, cart: &str, email: &str) -> (u16, serde_json::Value) {
    shop.send_json(
        Method::POST,
        ServiceName::Frontend,
        "/api/checkout",
        &json!({"cart_id": cart, "email": email, "country": "DE", "currency": "EUR", "card": card("4242424242424242")}),
    )
    .await
}

async fn stock_follows_orders(shop: &TestShop) {
    let product = 12;
    assert_eq!(shop.get(ServiceName::Inventory, "/ready").await.0, 200);
    let before = stock(shop, product).await;

    // An order takes its quantity from stock.
    add(shop, "stock-a", product, 3).await;
    let (status, placed) = checkout(shop, "stock-a", "a@shoppers.example").await;
    assert_eq!(status, 201, "{placed}");
    assert_eq!(placed["display"]["currency"], "EUR");
    assert!(
        placed["order"]["shipping_cents"]
            .as_i64()
            .expect("shipping")
            > 0
    );
    assert_eq!(stock(shop, product).await, before - 3);

    // Two shoppers want the last units: the second is refused with 409 at the frontend, keeps
    // nothing, and gets the charge back.
    let left = before - 3;
    let (status, _) = shop
        .send_json(
            Method::POST,
            ServiceName::Inventory,
            "/reservations",
            &json!({"order_id": "drain", "items": [{"product_id": product, "quantity": left - 1}]}),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(stock(shop, product).await, 1);
    add(shop, "stock-b", product, 1).await;
    add(shop, "stock-c", product, 1).await;
    // The cart refuses more than the stock up front.
    let (status, refused) = shop
        .send_json(
            Method::POST,
            ServiceName::Frontend,
            "/api/cart/stock-d/items",
            &json!({"product_id": product, "quantity": 2}),
        )
        .await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (409, Some("out_of_stock"))
    );
    let (status, first) = checkout(shop, "stock-b", "b@shoppers.example").await;
    assert_eq!(status, 201, "{first}");
    let orders_before = shop
        .sink
        .spans()
        .iter()
        .filter(|(s, d)| s == "checkout" && d.name == "INSERT orders")
        .count();
    let (status, second) = checkout(shop, "stock-c", "c@shoppers.example").await;
    assert_eq!(status, 409, "{second}");
    assert_eq!(second["error"]["code"], "insufficient_stock");
    assert_eq!(stock(shop, product).await, 0, "nothing goes below zero");
    let orders_after = shop
        .sink
        .spans()
        .iter()
        .filter(|(s, d)| s == "checkout" && d.name == "INSERT orders")
        .count();
    assert_eq!(
        orders_before, orders_after,
        "no order row for the refused checkout"
    );
    let refunded = eventually(
        "the refund of the refused order",
        Duration::from_secs(5),
        || async {
            shop.sink
                .spans()
                .into_iter()
                .find(|(s, d)| s == "payment" && d.name == "POST /refunds")
        },
    )
    .await;
    assert!(!matches!(
        refunded.1.status,
        opentelemetry::trace::Status::Error { .. }
    ));

    // Releasing gives the drained stock back, once.
    for _ in 0..2 {
        let r = shop
            .http
            .delete(shop.url(ServiceName::Inventory, "/reservations/drain"))
            .send()
            .await
            .expect("release");
        assert_eq!(r.status(), 204);
    }
    assert_eq!(stock(shop, product).await, left - 1);

    // A confirmation that bounces does not fail the order: the order event's processing in
    // notification is an error span, in the checkout's trace.
    add(shop, "stock-e", 20, 1).await;
    let (status, placed) = checkout(shop, "stock-e", "e@bounce.example").await;
    assert_eq!(status, 201, "{placed}");
    let bounced = eventually(
        "the failed confirmation's CONSUMER span",
        Duration::from_secs(10),
        || async {
            shop.sink.spans().into_iter().find(|(s, d)| {
                s == "notification"
                    && d.span_kind == opentelemetry::trace::SpanKind::Consumer
                    && matches!(d.status, opentelemetry::trace::Status::Error { .. })
            })
        },
    )
    .await;
    assert!(
        bounced
            .1
            .attributes
            .iter()
            .any(|kv| kv.key.as_str() == "error.type" && kv.value.as_str() == "mail_bounced"),
        "{:?}",
        bounced.1.attributes
    );
    let trace = bounced.1.span_context.trace_id();
    let kinds_in_trace: Vec<(String, opentelemetry::trace::SpanKind)> = shop
        .sink
        .spans()
        .into_iter()
        .filter(|(_, d)| d.span_context.trace_id() == trace)
        .map(|(s, d)| (s, d.span_kind))
        .collect();
    for (service, kind) in [
        ("checkout", opentelemetry::trace::SpanKind::Server),
        ("checkout", opentelemetry::trace::SpanKind::Producer),
    ] {
        assert!(
            kinds_in_trace
                .iter()
                .any(|(s, k)| s == service && *k == kind),
            "the confirmation's trace holds checkout's {kind:?} span: {kinds_in_trace:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stock_follows_orders_in_postgres() {
    let db = TestDatabase::create().await;
    let shop = TestShop::start(test_config(
        Database::Postgres {
            url: db.url.clone(),
        },
        Some(redis_url()),
    ));
    shop.wait_ready(ServiceName::Inventory).await;
    stock_follows_orders(&shop).await;
    shop.stop().await;
    db.drop_now().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stock_follows_orders_in_sqlite() {
    let (database, dir) = temp_sqlite();
    let shop = TestShop::start(test_config(database, None));
    shop.wait_ready(ServiceName::Inventory).await;
    stock_follows_orders(&shop).await;
    shop.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}
