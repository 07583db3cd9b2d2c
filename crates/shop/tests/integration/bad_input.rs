//! Bad input to every endpoint gets a 4xx JSON error with a code, loses nothing, and never
//! takes a service down.

use crate::support::*;
use reqwest::Method;
use serde_json::{Value, json};
use shop::ServiceName;
use shop::ServiceName::*;

/// Method, service, path, JSON body, status, error code.
type Case = (
    Method,
    ServiceName,
    &'static str,
    Option<Value>,
    u16,
    &'static str,
);

fn order(items: Value, amount: i64) -> Value {
    json!({"currency": "USD", "items": items, "payment": {"transaction_id": "txn_x", "amount_cents": amount}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_answers_bad_input_with_a_json_4xx() {
    let (database, dir) = temp_sqlite();
    let shop = TestShop::start(test_config(database, None));
    let good_card = card("4242424242424242");
    // A cart with something in it, for checkouts that fail later than validation.
    let (status, _) = shop
        .send_json(
            Method::POST,
            Frontend,
            "/api/cart/full-cart/items",
            &json!({"product_id": 1, "quantity": 1}),
        )
        .await;
    assert_eq!(status, 201);

    // Cases that cross services; each service's own validation is tested beside it
    // (`testing::check_cases` in its `mod.rs`).
    let cases: Vec<Case> = vec![
        // A method a route does not take, on the shop's API, its files, the browser intake,
        // another service and a probe: the JSON error too, not an empty 405.
        (
            Method::DELETE,
            Frontend,
            "/api/products",
            None,
            405,
            "method_not_allowed",
        ),
        (
            Method::POST,
            Frontend,
            "/images/products/1.svg",
            None,
            405,
            "method_not_allowed",
        ),
        (
            Method::GET,
            Frontend,
            "/otlp/v1/traces",
            None,
            405,
            "method_not_allowed",
        ),
        (
            Method::PUT,
            Cart,
            "/cart/c1/items",
            Some(json!({"quantity": 1})),
            405,
            "method_not_allowed",
        ),
        (
            Method::DELETE,
            Checkout,
            "/health",
            None,
            405,
            "method_not_allowed",
        ),
        (
            Method::POST,
            Frontend,
            "/api/checkout",
            Some(json!({"cart_id": "empty-cart", "card": good_card})),
            400,
            "cart_empty",
        ),
        (
            Method::POST,
            Frontend,
            "/api/checkout",
            Some(json!({"cart_id": "full-cart", "card": card("4242424242424241")})),
            400,
            "invalid_card",
        ),
        (
            Method::POST,
            Frontend,
            "/api/checkout",
            Some(json!({"cart_id": "full-cart", "card": card("4000000000000002")})),
            402,
            "card_declined",
        ),
        (
            Method::POST,
            Frontend,
            "/api/checkout",
            Some(json!({"cart_id": "full-cart", "currency": "XYZ", "card": good_card})),
            400,
            "unsupported_currency",
        ),
        (
            Method::POST,
            Frontend,
            "/api/checkout",
            Some(json!({"cart_id": "bad id!", "card": good_card})),
            400,
            "invalid_cart_id",
        ),
        (
            Method::POST,
            Frontend,
            "/api/checkout",
            Some(json!({"cart_id": "full-cart"})),
            422,
            "invalid_json",
        ),
        (
            Method::POST,
            Frontend,
            "/api/browse",
            Some(json!({"cart_id": 5})),
            422,
            "invalid_json",
        ),
        (
            Method::POST,
            Frontend,
            "/api/browse",
            Some(json!({"limit": 0})),
            400,
            "invalid_limit",
        ),
        (
            Method::POST,
            Frontend,
            "/api/cart/c1/items",
            Some(json!({"product_id": 99999, "quantity": 1})),
            404,
            "product_not_found",
        ),
        (
            Method::POST,
            Frontend,
            "/api/cart/c1/items",
            Some(json!({"product_id": 1, "quantity": 0})),
            400,
            "invalid_quantity",
        ),
        (
            Method::POST,
            Frontend,
            "/api/cart/c1/items",
            Some(json!({"product_id": 1, "quantity": -3})),
            400,
            "invalid_quantity",
        ),
        (
            Method::POST,
            Frontend,
            "/api/cart/c1/items",
            Some(json!({"product_id": -1, "quantity": 1})),
            400,
            "invalid_product_id",
        ),
        (
            Method::POST,
            Frontend,
            "/api/cart/c1/items",
            Some(json!({"product_id": 1, "quantity": 10000})),
            400,
            "invalid_quantity",
        ),
        (
            Method::GET,
            Frontend,
            "/api/cart/this%20is%20bad",
            None,
            400,
            "invalid_cart_id",
        ),
        (
            Method::GET,
            Frontend,
            "/api/products/abc",
            None,
            400,
            "invalid_path",
        ),
        (
            Method::GET,
            Frontend,
            "/api/products/99999",
            None,
            404,
            "product_not_found",
        ),
        (
            Method::GET,
            Frontend,
            "/api/products?limit=-1",
            None,
            400,
            "invalid_limit",
        ),
        (
            Method::GET,
            Frontend,
            "/api/products?min_price_cents=cheap",
            None,
            400,
            "invalid_query",
        ),
        (
            Method::GET,
            Frontend,
            "/api/orders/ord_doesnotexist",
            None,
            404,
            "order_not_found",
        ),
        (
            Method::GET,
            Frontend,
            "/api/orders/bad!id",
            None,
            400,
            "invalid_order_id",
        ),
        (
            Method::GET,
            Frontend,
            "/nowhere",
            None,
            404,
            "route_not_found",
        ),
        (
            Method::GET,
            ProductCatalog,
            "/products/recommendations?product_id=424242",
            None,
            404,
            "product_not_found",
        ),
        (
            Method::POST,
            Checkout,
            "/orders",
            Some(order(json!([{"product_id": 99999, "quantity": 1}]), 100)),
            400,
            "unknown_product",
        ),
        (
            Method::POST,
            Checkout,
            "/orders",
            Some(order(json!([{"product_id": 1, "quantity": 1}]), 1)),
            409,
            "amount_mismatch",
        ),
        (
            Method::POST,
            Frontend,
            "/api/checkout",
            Some(
                json!({"cart_id": "full-cart", "currency": "euro", "card": card("4242424242424242")}),
            ),
            400,
            "invalid_currency",
        ),
        (
            Method::POST,
            Frontend,
            "/api/checkout",
            Some(
                json!({"cart_id": "full-cart", "country": "Germany", "card": card("4242424242424242")}),
            ),
            400,
            "invalid_country",
        ),
        (
            Method::POST,
            Frontend,
            "/api/browse",
            Some(json!({"currency": "XYZ"})),
            400,
            "unsupported_currency",
        ),
        (
            Method::POST,
            Shipping,
            "/quote",
            Some(json!({"country": "DE", "weight_grams": 100, "currency": "XYZ"})),
            400,
            "unsupported_currency",
        ),
    ];
    let mut failures = Vec::new();
    for (method, service, path, body, want, code) in &cases {
        let (status, body) = match body {
            Some(b) => shop.send_json(method.clone(), *service, path, b).await,
            None => {
                let r = shop
                    .http
                    .request(method.clone(), shop.url(*service, path))
                    .send()
                    .await
                    .expect("request");
                let status = r.status().as_u16();
                (status, r.json::<Value>().await.unwrap_or(Value::Null))
            }
        };
        if status != *want
            || body["error"]["code"] != *code
            || !body["error"]["message"].is_string()
        {
            failures.push(format!(
                "{method} {service} {path}: got {status} {body}, want {want} {code}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases wrong:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );

    // Malformed, non-JSON, oversized and garbage bodies on every POST/PUT endpoint.
    let posts = [
        (Frontend, "/api/browse"),
        (Frontend, "/api/checkout"),
        (Frontend, "/api/cart/c1/items"),
        (Cart, "/cart/c1/items"),
        (Checkout, "/orders"),
        (Payment, "/charge"),
        (Payment, "/refunds"),
        (Shipping, "/quote"),
        (Shipping, "/shipments"),
        (Inventory, "/reservations"),
        (Notification, "/notifications/order-confirmation"),
    ];
    let oversized = format!(
        "{{\"pad\": \"{}\"}}",
        "x".repeat(shop::server::MAX_BODY_BYTES + 10)
    );
    let garbage: Vec<Vec<u8>> = vec![
        b"{not json".to_vec(),
        b"[1,2,3]".to_vec(),
        b"null".to_vec(),
        b"{\"cart_id\": \"\xff\xfe\"}".to_vec(),
        vec![0u8; 64],
        "{\"a\":".repeat(2000).into_bytes(),
    ];
    for (service, path) in posts {
        for body in &garbage {
            let (status, answer) = shop.post_raw(service, path, body.clone()).await;
            assert!(
                (400..500).contains(&status),
                "{service} {path} with {:?}: {status} {answer}",
                String::from_utf8_lossy(&body[..body.len().min(20)])
            );
            assert!(answer["error"]["code"].is_string(), "{answer}");
        }
        let (status, answer) = shop
            .post_raw(service, path, oversized.clone().into_bytes())
            .await;
        assert_eq!(status, 413, "{service} {path} oversized: {answer}");
        assert_eq!(answer["error"]["code"], "body_too_large");
        let r = shop
            .http
            .post(shop.url(service, path))
            .header("content-type", "text/plain")
            .body("{}")
            .send()
            .await
            .expect("request");
        assert_eq!(r.status().as_u16(), 415, "{service} {path} text/plain");
    }

    // Nothing was lost or broken: every service is alive, the good cart is intact.
    for s in ServiceName::ALL {
        assert_eq!(shop.get(s, "/health").await.0, 200, "{s} survived");
    }
    let (status, cart) = shop.get(Frontend, "/api/cart/full-cart").await;
    assert_eq!(status, 200);
    assert_eq!(cart["item_count"], 1, "{cart}");
    shop.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

/// PostgreSQL refuses NUL characters in text. A request carrying one is the request's fault:
/// 400 `invalid_text`, whether it arrives in a query, through the frontend or in an order —
/// and the order's stock reservation is given back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_postgresql_cannot_hold_is_a_400_that_loses_nothing() {
    let db = TestDatabase::create().await;
    let shop = TestShop::start(test_config(
        shop::Database::Postgres {
            url: db.url.clone(),
        },
        None,
    ));
    shop.wait_ready(ProductCatalog).await;
    shop.wait_ready(Checkout).await;
    for (service, path) in [
        (ProductCatalog, "/products/search?q=%00"),
        (ProductCatalog, "/products?category=a%00"),
        (Frontend, "/api/products?q=x%00y"),
    ] {
        let (status, answer) = shop.get(service, path).await;
        assert_eq!(status, 400, "{path}: {answer}");
        assert_eq!(answer["error"]["code"], "invalid_text", "{path}: {answer}");
    }
    let running = &shop;
    let stock =
        || async move { running.get(ProductCatalog, "/products/5").await.1["stock"].clone() };
    let before = stock().await;
    let (_, product) = shop.get(ProductCatalog, "/products/5").await;
    let price = product["price_cents"].as_i64().expect("price");
    let mut bad = order(json!([{"product_id": 5, "quantity": 1}]), price);
    bad["payment"]["transaction_id"] = json!(shop.charge(price).await);
    bad["customer_email"] = json!("shopper\u{0}@example.com");
    let (status, answer) = shop
        .send_json(Method::POST, Checkout, "/orders", &bad)
        .await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(answer["error"]["code"], "invalid_text");
    assert_eq!(stock().await, before, "the reserved stock was released");
    shop.stop().await;
    db.drop_now().await;
}

/// A card number or CVV sent with the wrong JSON type is refused without its value: not in
/// the answer, not in any log record, not on any span.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_typed_card_fields_never_echo_the_secret() {
    let (database, dir) = temp_sqlite();
    let shop = TestShop::start(test_config(database, None));
    let (status, _) = shop
        .send_json(
            Method::POST,
            Frontend,
            "/api/cart/secret-cart/items",
            &json!({"product_id": 1, "quantity": 1}),
        )
        .await;
    assert_eq!(status, 201);
    let secrets = ["6011111111111117", "6011000990139424", "737"];
    let bodies = [
        json!({"cart_id": "secret-cart", "card": {"number": 6011111111111117u64, "cvv": "123", "exp_month": 12, "exp_year": 2034}}),
        json!({"cart_id": "secret-cart", "card": "6011000990139424"}),
        json!({"cart_id": "secret-cart", "card": {"number": "4242424242424242", "cvv": 737, "exp_month": 12, "exp_year": 2034}}),
    ];
    let charges = [
        json!({"amount_cents": 100, "currency": "USD", "card": {"number": 6011111111111117u64, "cvv": "123", "exp_month": 12, "exp_year": 2034}}),
        json!({"amount_cents": 100, "currency": "USD", "card": "6011000990139424"}),
        json!({"amount_cents": 100, "currency": "USD", "card": {"number": "4242424242424242", "cvv": 737, "exp_month": 12, "exp_year": 2034}}),
    ];
    let mut answers = Vec::new();
    for (service, path, body) in bodies
        .iter()
        .map(|b| (Frontend, "/api/checkout", b))
        .chain(charges.iter().map(|b| (Payment, "/charge", b)))
    {
        let (status, answer) = shop.send_json(Method::POST, service, path, body).await;
        assert_eq!(status, 422, "{service} {path}: {answer}");
        assert_eq!(answer["error"]["code"], "invalid_json", "{answer}");
        assert!(
            answer["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("value left out")),
            "the message says what was wrong without the value: {answer}"
        );
        answers.push(answer.to_string());
    }
    // Every record and span the shop exported, in full.
    let logs: Vec<String> = shop
        .sink
        .logs()
        .iter()
        .map(|(service, record)| format!("{service} {record:?}"))
        .collect();
    assert!(
        logs.iter().any(|l| l.contains("invalid type")),
        "the refusals were logged: {} records",
        logs.len()
    );
    let spans: Vec<String> = spans(&shop.sink)
        .iter()
        .map(|s| format!("{} {:?}", s.service, s.data))
        .collect();
    for output in answers.iter().chain(&logs).chain(&spans) {
        for secret in secrets {
            // The CVV is short: look for it as the value it was sent as.
            let leaked = if secret.len() > 4 {
                output.contains(secret)
            } else {
                output.contains(&format!("`{secret}`")) || output.contains(&format!("\"{secret}\""))
            };
            assert!(!leaked, "{secret} leaked into: {output}");
        }
    }
    shop.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}
