//! Seeded fuzzing of every endpoint of every service: random paths, query strings and JSON
//! bodies of every type, in shapes close to the real ones. No answer is a 5xx, every error
//! is our JSON error body, and every service is alive afterwards. (Switching scenarios on is
//! left out: their injected failures are 5xx on purpose, and so is a checkout deadline, whose
//! passing is a 504 `deadline_exceeded` by design.) The counts are printed:
//! `cargo nextest run -p shop --test integration fuzz --no-capture`.

use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use reqwest::Method;
use serde_json::{Value, json};
use shop::ServiceName;
use shop::ServiceName::*;

use crate::support::*;

/// Every route of the shop: method, service, path (`{}` is filled at random), and the JSON
/// body it takes, as a template the fuzzer mutates.
fn routes() -> Vec<(Method, ServiceName, &'static str, Option<Value>)> {
    let card =
        json!({"number": "4242424242424242", "cvv": "123", "exp_month": 12, "exp_year": 2034});
    vec![
        (
            Method::POST,
            Frontend,
            "/api/browse",
            Some(json!({"cart_id": "c", "category": "books", "currency": "EUR", "limit": 5})),
        ),
        (
            Method::POST,
            Frontend,
            "/api/checkout",
            Some(
                json!({"cart_id": "c", "email": "a@b.c", "currency": "USD", "country": "US", "card": card.clone()}),
            ),
        ),
        (
            Method::GET,
            Frontend,
            "/api/products?q={}&category={}&min_price_cents={}&limit={}",
            None,
        ),
        (Method::GET, Frontend, "/api/products/{}", None),
        (Method::GET, Frontend, "/api/cart/{}", None),
        (
            Method::POST,
            Frontend,
            "/api/cart/{}/items",
            Some(json!({"product_id": 1, "quantity": 1})),
        ),
        (
            Method::PUT,
            Frontend,
            "/api/cart/{}/items/{}",
            Some(json!({"quantity": 2})),
        ),
        (Method::DELETE, Frontend, "/api/cart/{}/items/{}", None),
        (
            Method::GET,
            Frontend,
            "/api/products/{}/recommendations",
            None,
        ),
        (Method::GET, Frontend, "/api/ads?category={}", None),
        (Method::GET, Frontend, "/api/currencies", None),
        (Method::GET, Frontend, "/api/storefront/config", None),
        (Method::GET, Frontend, "/images/products/{}", None),
        (Method::GET, Frontend, "/api/orders/{}", None),
        (
            Method::PUT,
            Cart,
            "/cart/{}/items/{}",
            Some(json!({"quantity": 2})),
        ),
        (Method::GET, Cart, "/cart/{}", None),
        (Method::DELETE, Cart, "/cart/{}", None),
        (
            Method::POST,
            Cart,
            "/cart/{}/items",
            Some(json!({"product_id": 1, "quantity": 1})),
        ),
        (Method::DELETE, Cart, "/cart/{}/items/{}", None),
        (
            Method::GET,
            ProductCatalog,
            "/products?category={}&ids={}&limit={}&offset={}&max_price_cents={}",
            None,
        ),
        (Method::GET, ProductCatalog, "/products/{}", None),
        (
            Method::GET,
            ProductCatalog,
            "/products/search?q={}&limit={}",
            None,
        ),
        (
            Method::GET,
            ProductCatalog,
            "/products/recommendations?product_id={}&category={}&limit={}",
            None,
        ),
        (
            Method::POST,
            Checkout,
            "/orders",
            Some(
                json!({"currency": "USD", "items": [{"product_id": 1, "quantity": 1}], "payment": {"transaction_id": "txn_x", "amount_cents": 100}, "idempotency_key": "k"}),
            ),
        ),
        (Method::GET, Checkout, "/orders/{}", None),
        (Method::GET, Checkout, "/attempts/{}", None),
        (
            Method::POST,
            Payment,
            "/charge",
            Some(
                json!({"amount_cents": 100, "currency": "USD", "card": card, "idempotency_key": "k"}),
            ),
        ),
        (
            Method::POST,
            Payment,
            "/refunds",
            Some(json!({"transaction_id": "txn_1", "amount_cents": 100, "reason": "x"})),
        ),
        (Method::GET, Payment, "/charges/{}", None),
        (
            Method::GET,
            Payment,
            "/charges?unsettled_before_ms={}",
            None,
        ),
        (Method::POST, Payment, "/charges/{}/settle", None),
        (Method::GET, Currency, "/rates", None),
        (
            Method::GET,
            Currency,
            "/convert?from={}&to={}&amount={}",
            None,
        ),
        (
            Method::POST,
            Shipping,
            "/quote",
            Some(json!({"country": "DE", "weight_grams": 100, "currency": "EUR"})),
        ),
        (
            Method::POST,
            Shipping,
            "/shipments",
            Some(json!({"order_id": "o", "country": "US", "weight_grams": 100})),
        ),
        (Method::GET, Ad, "/ads?category={}&limit={}", None),
        (
            Method::GET,
            Recommendation,
            "/recommendations?product_id={}&category={}&limit={}",
            None,
        ),
        (
            Method::POST,
            Inventory,
            "/reservations",
            Some(json!({"order_id": "o", "items": [{"product_id": 1, "quantity": 1}]})),
        ),
        (Method::DELETE, Inventory, "/reservations/{}", None),
        (Method::GET, Inventory, "/stock/{}", None),
        (
            Method::POST,
            Notification,
            "/notifications/order-confirmation",
            Some(json!({"order_id": "o", "email": "a@b.c", "total_cents": 1, "currency": "USD"})),
        ),
        (Method::GET, LoadGenerator, "/status", None),
        (
            Method::PUT,
            LoadGenerator,
            "/rate",
            Some(json!({"journeys_per_second": 1.0})),
        ),
        (
            Method::PUT,
            LoadGenerator,
            "/users",
            Some(json!({"users": 2})),
        ),
        (
            Method::PUT,
            LoadGenerator,
            "/profile",
            Some(json!({"name": "shop", "speed": 1.0})),
        ),
        (Method::GET, Frontend, "/scenarios", None),
        (Method::GET, Frontend, "/scenarios/history", None),
        (Method::DELETE, Frontend, "/scenarios/{}", None),
    ]
}

/// A random path or query segment: ids, numbers, huge numbers, traversal, encodings, NUL.
fn segment(rng: &mut StdRng) -> String {
    let pick = [
        "1",
        "0",
        "-1",
        "99999",
        "18446744073709551616",
        "abc",
        "ord_x",
        "txn_x",
        "..",
        "%2e%2e",
        "%00",
        "%FF",
        "a%2Fb",
        "USD",
        "XYZ",
        "books",
        "weapons",
        "",
        " ",
        "1e9",
        "NaN",
        "payment-failure",
        "blackfriday",
        "nope",
    ];
    if rng.random_bool(0.7) {
        pick[rng.random_range(0..pick.len())].to_owned()
    } else {
        let len = rng.random_range(0..80);
        (0..len)
            .map(|_| {
                let c = rng.random_range(0x21u8..0x7f);
                if c.is_ascii_alphanumeric() {
                    (c as char).to_string()
                } else {
                    format!("%{c:02X}")
                }
            })
            .collect()
    }
}

fn fill(template: &str, rng: &mut StdRng) -> String {
    let mut out = String::new();
    let mut parts = template.split("{}").peekable();
    while let Some(p) = parts.next() {
        out.push_str(p);
        if parts.peek().is_some() {
            out.push_str(&segment(rng));
        }
    }
    out
}

/// A random JSON value of any type.
fn any_value(rng: &mut StdRng, depth: u32) -> Value {
    match rng.random_range(0..if depth > 2 { 7 } else { 9 }) {
        0 => Value::Null,
        1 => json!(rng.random_bool(0.5)),
        2 => json!(rng.random_range(-1_000_000i64..1_000_000)),
        3 => [
            json!(i64::MIN),
            json!(i64::MAX),
            json!(u64::MAX),
            json!(1e300),
            json!(-0.5),
        ][rng.random_range(0..5)]
        .clone(),
        4 => json!(
            [
                "",
                "x",
                "4242424242424242",
                "\u{0}",
                "ü",
                "@",
                "txn_1",
                "US"
            ][rng.random_range(0..8)]
        ),
        5 => json!("y".repeat(rng.random_range(0..3000))),
        6 => json!(segment(rng)),
        7 => Value::Array(
            (0..rng.random_range(0..4))
                .map(|_| any_value(rng, depth + 1))
                .collect(),
        ),
        _ => {
            let mut m = serde_json::Map::new();
            for i in 0..rng.random_range(0..4) {
                m.insert(format!("k{i}"), any_value(rng, depth + 1));
            }
            Value::Object(m)
        }
    }
}

/// The template with some fields replaced, dropped or added.
fn mutate(template: &Value, rng: &mut StdRng, depth: u32) -> Value {
    match template {
        Value::Object(m) => {
            let mut out = serde_json::Map::new();
            for (k, v) in m {
                match rng.random_range(0..10) {
                    0 => {}
                    1 | 2 => {
                        out.insert(k.clone(), any_value(rng, depth));
                    }
                    _ => {
                        out.insert(k.clone(), mutate(v, rng, depth + 1));
                    }
                }
            }
            if rng.random_bool(0.1) {
                out.insert("extra".into(), any_value(rng, depth));
            }
            Value::Object(out)
        }
        Value::Array(a) => {
            let mut out: Vec<Value> = a.iter().map(|v| mutate(v, rng, depth + 1)).collect();
            if rng.random_bool(0.2) {
                out.extend(
                    (0..rng.random_range(0..60)).map(|_| a.first().cloned().unwrap_or(Value::Null)),
                );
            }
            Value::Array(out)
        }
        _ if rng.random_bool(0.3) => any_value(rng, depth),
        other => other.clone(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fuzzed_requests_never_get_a_5xx() {
    let (database, dir) = temp_sqlite();
    let shop = TestShop::start(test_config(database, None));
    for s in [ProductCatalog, Checkout, Payment, Inventory] {
        shop.wait_ready(s).await;
    }
    let mut rng = StdRng::seed_from_u64(20261202);
    let routes = routes();
    let per_route = 200;
    let mut sent = 0usize;
    let mut by_status = std::collections::BTreeMap::<u16, usize>::new();
    let mut wrong = Vec::new();
    for (method, service, template, body) in &routes {
        for _ in 0..per_route {
            let path = fill(template, &mut rng);
            let mut request = shop.http.request(method.clone(), shop.url(*service, &path));
            if let Some(b) = body {
                let b = if rng.random_bool(0.9) {
                    mutate(b, &mut rng, 0)
                } else {
                    any_value(&mut rng, 0)
                };
                request = request.json(&b);
            }
            let Ok(r) = request.send().await else {
                wrong.push(format!("{method} {service} {path}: no answer"));
                continue;
            };
            sent += 1;
            let status = r.status().as_u16();
            *by_status.entry(status).or_default() += 1;
            let answer: Value = r.json().await.unwrap_or(Value::Null);
            if status >= 500 {
                wrong.push(format!("{method} {service} {path}: {status} {answer}"));
            } else if status >= 400 && !answer["error"]["code"].is_string() {
                wrong.push(format!(
                    "{method} {service} {path}: {status} without an error code: {answer}"
                ));
            }
        }
    }
    eprintln!(
        "fuzz: {sent} requests over {} routes, by status {by_status:?}",
        routes.len()
    );
    assert!(
        wrong.is_empty(),
        "{} of {sent} wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    for s in ServiceName::ALL {
        assert_eq!(
            shop.get(s, "/health").await.0,
            200,
            "{s} is alive after the fuzzing"
        );
    }
    shop.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}
