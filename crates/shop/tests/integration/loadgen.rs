//! The load engine against a stand-in frontend that records what reaches it: the journey mix
//! and traffic types over thousands of journeys, open-model pacing, and the admin API of the
//! load-generator service not blocking on the traffic it controls.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::*;
use axum::Json;
use axum::routing::{get, post};
use serde_json::json;
use shop::api::frontend::client::FrontendClient;
use shop::loadgen::journeys::Target;
use shop::loadgen::stats::Stats;
use shop::loadgen::{Bound, Model, Plan, Profile, Rate, Tagging};
use telemetry::{HttpClient, LogFormat, Settings, TelemetryHub};

type Seen = Arc<Mutex<HashMap<(String, String), u64>>>;

/// A frontend that answers every journey step and counts (path, traffic.type).
async fn fake_frontend() -> (String, Seen) {
    let seen: Seen = Arc::default();
    let record = |seen: Seen, path: &'static str| {
        move |headers: http::HeaderMap| {
            let traffic = headers
                .get("baggage")
                .and_then(|v| v.to_str().ok())
                .and_then(|b| {
                    b.split(',')
                        .find_map(|kv| kv.trim().strip_prefix("traffic.type=").map(str::to_owned))
                })
                .unwrap_or_else(|| "none".to_owned());
            *seen
                .lock()
                .expect("lock")
                .entry((path.to_owned(), traffic))
                .or_default() += 1;
            async move {
                Json(
                    json!({"products": [{"id": 1, "sku": "X", "name": "x", "description": "", "category": "c", "price_cents": 100, "currency": "USD", "stock": 5, "weight_grams": 10}], "cart": null, "ads": [], "currency": "USD", "display_prices": []}),
                )
            }
        }
    };
    let app = axum::Router::new()
        .route("/api/browse", post(record(seen.clone(), "browse")))
        .route(
            "/api/cart/{id}/items",
            post(record(seen.clone(), "add_to_cart")),
        )
        .route("/api/cart/{id}", get(record(seen.clone(), "view_cart")))
        .route("/api/checkout", post(record(seen.clone(), "checkout")));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, seen)
}

fn target(url: &str) -> Target {
    let hub = TelemetryHub::new(
        Settings {
            disabled: true,
            ..Settings::default()
        },
        LogFormat::Off,
    )
    .expect("hub");
    let t = hub.service("load-generator").expect("telemetry");
    Target {
        frontend: FrontendClient::new(HttpClient::new(t, Duration::from_secs(5)), url),
        ping_path: "/".to_owned(),
        journeys: None,
    }
}

fn plan(model: Model) -> Plan {
    Plan {
        model,
        profile: Profile::Shop,
        baseline_type: "baseline".to_owned(),
        demo_type: "demo".to_owned(),
        tagging: Tagging::PerRequest,
        think_time_ms: (0, 0),
        max_in_flight: 64,
    }
}

/// Runs `n` journeys under `tagging`; returns how many of each journey ran and what reached
/// the frontend.
async fn journeys_tagged(
    tagging: Tagging,
    n: u64,
) -> (HashMap<String, u64>, HashMap<(String, String), u64>) {
    let (url, seen) = fake_frontend().await;
    let stats = Arc::new(Stats::new());
    let (_stop_tx, stop) = tokio::sync::watch::channel(false);
    let started = shop::loadgen::run(
        Plan {
            tagging,
            ..plan(Model::Closed { users: 32 })
        },
        Bound::Journeys(n),
        Some(11),
        target(&url),
        stats.clone(),
        stop,
    )
    .await;
    assert_eq!(started, n);
    let snap = stats.snapshot();
    assert_eq!(snap.journeys, n);
    assert_eq!(snap.journeys_failed, 0);
    let mut counts = HashMap::new();
    for r in snap.rows.iter().filter(|r| r.key.step == "journey") {
        *counts.entry(r.key.journey.clone()).or_default() += r.count;
    }
    // The generator's own counts carry each request's type too.
    for r in snap.rows.iter().filter(|r| r.key.step != "journey") {
        let expected = match (tagging, r.key.step.as_str(), r.key.journey.as_str()) {
            (Tagging::PerRequest, "checkout", _) | (Tagging::PerJourney, _, "checkout") => "demo",
            _ => "baseline",
        };
        assert_eq!(r.key.traffic_type, expected, "{:?}", r.key);
    }
    let seen = seen.lock().expect("lock").clone();
    assert!(
        !seen.keys().any(|(_, t)| t == "none"),
        "every request carries traffic.type"
    );
    (counts, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_journeys_follow_the_mix_and_traffic_types() {
    let n = 4000;
    let (count, seen) = journeys_tagged(Tagging::PerRequest, n).await;
    let count = |journey: &str| count.get(journey).copied().unwrap_or(0);
    for (journey, share) in [
        ("browse", 0.60),
        ("browse-and-cart", 0.25),
        ("checkout", 0.15),
    ] {
        let measured = count(journey) as f64 / n as f64;
        // Four standard deviations of a binomial at n = 4000.
        let tolerance = 4.0 * (share * (1.0 - share) / n as f64).sqrt();
        assert!(
            (measured - share).abs() <= tolerance,
            "{journey}: {measured:.3} vs {share}"
        );
    }
    // As the original: the checkout request is demo, every other request baseline, in every
    // journey (a checkout journey's browse too).
    let got = |path: &str, t: &str| seen.get(&(path.into(), t.into())).copied().unwrap_or(0);
    assert_eq!(got("checkout", "demo"), count("checkout"));
    assert_eq!(got("checkout", "baseline"), 0);
    assert_eq!(got("view_cart", "baseline"), count("browse-and-cart"));
    assert_eq!((got("browse", "demo"), got("browse", "baseline")), (0, n));
    assert_eq!(got("add_to_cart", "demo"), 0);
    assert!(got("add_to_cart", "baseline") >= count("checkout") + count("browse-and-cart"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_journey_tagging_makes_every_request_of_a_checkout_journey_demo() {
    let n = 1000;
    let (count, seen) = journeys_tagged(Tagging::PerJourney, n).await;
    let count = |journey: &str| count.get(journey).copied().unwrap_or(0);
    let got = |path: &str, t: &str| seen.get(&(path.into(), t.into())).copied().unwrap_or(0);
    assert!(count("checkout") > 0);
    assert_eq!(got("checkout", "demo"), count("checkout"));
    assert_eq!(got("checkout", "baseline"), 0);
    assert_eq!(got("view_cart", "baseline"), count("browse-and-cart"));
    assert_eq!(
        (got("browse", "demo"), got("browse", "baseline")),
        (
            count("checkout"),
            count("browse") + count("browse-and-cart")
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_open_model_keeps_its_rate_and_the_seed_its_choices() {
    let (url, _) = fake_frontend().await;
    let stats = Arc::new(Stats::new());
    let (_stop_tx, stop) = tokio::sync::watch::channel(false);
    let started = Instant::now();
    let n = shop::loadgen::run(
        plan(Model::Open {
            rate: Rate::Constant { per_second: 200.0 },
        }),
        Bound::Duration(Duration::from_secs(2)),
        Some(5),
        target(&url),
        stats.clone(),
        stop,
    )
    .await;
    assert!((370..=410).contains(&n), "200/s for 2 s started {n}");
    assert!(started.elapsed() < Duration::from_secs(4));

    let choices = |seed| async move {
        let (url, _) = fake_frontend().await;
        let stats = Arc::new(Stats::new());
        let (_t, stop) = tokio::sync::watch::channel(false);
        shop::loadgen::run(
            plan(Model::Closed { users: 1 }),
            Bound::Journeys(200),
            Some(seed),
            target(&url),
            stats.clone(),
            stop,
        )
        .await;
        let mut rows: Vec<_> = stats
            .snapshot()
            .rows
            .into_iter()
            .map(|r| (r.key, r.count))
            .collect();
        rows.sort();
        rows
    };
    assert_eq!(
        choices(99).await,
        choices(99).await,
        "the same seed makes the same journeys"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_target_gives_counted_connection_errors() {
    let stats = Arc::new(Stats::new());
    let (_stop_tx, stop) = tokio::sync::watch::channel(false);
    shop::loadgen::run(
        plan(Model::Closed { users: 4 }),
        Bound::Journeys(20),
        None,
        target("http://127.0.0.1:1"),
        stats.clone(),
        stop,
    )
    .await;
    let snap = stats.snapshot();
    assert_eq!(snap.journeys, 20);
    assert_eq!(snap.journeys_failed, 20);
    assert_eq!(
        snap.errors
            .get(&shop::loadgen::stats::ErrorKind::Connection),
        Some(&20)
    );
    assert_eq!(snap.error_rate, 1.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_api_never_waits_for_the_traffic() {
    let (database, dir) = temp_sqlite();
    let mut config = test_config(database, None);
    // Long pauses: journeys stay in flight while the API is used.
    config.load.think_time = (Duration::from_secs(3), Duration::from_secs(3));
    let shop = TestShop::start(config);
    let timed = |method: reqwest::Method, path: &'static str, body: serde_json::Value| {
        let shop = &shop;
        async move {
            let started = Instant::now();
            let (status, answer) = shop
                .send_json(method, shop::ServiceName::LoadGenerator, path, &body)
                .await;
            (status, answer, started.elapsed())
        }
    };
    let fast = Duration::from_millis(500);
    let (status, answer, took) = timed(
        reqwest::Method::PUT,
        "/rate",
        json!({"journeys_per_second": 50.0}),
    )
    .await;
    assert!(status == 200 && took < fast, "{status} {took:?} {answer}");
    let (_, answer, took) = timed(reqwest::Method::POST, "/start", json!({})).await;
    assert!(answer["running"] == true && took < fast);
    let in_flight = eventually("journeys in flight", Duration::from_secs(10), || async {
        let (_, s) = shop.get(shop::ServiceName::LoadGenerator, "/status").await;
        let n = s["in_flight"].as_u64().unwrap_or(0);
        (n >= 10).then_some(n)
    })
    .await;
    assert!(in_flight >= 10);
    let (_, answer, took) = timed(
        reqwest::Method::PUT,
        "/rate",
        json!({"journeys_per_second": 5.0}),
    )
    .await;
    assert!(
        answer["journeys_per_second"] == 5.0 && took < fast,
        "re-rated in {took:?}"
    );
    let (_, answer, took) = timed(reqwest::Method::PUT, "/users", json!({"users": 3})).await;
    assert!(
        answer["plan"]["model"]["model"] == "closed" && took < fast,
        "{answer}"
    );
    let (_, answer, took) = timed(
        reqwest::Method::PUT,
        "/profile",
        json!({"name": "blackfriday", "speed": 10}),
    )
    .await;
    assert!(
        answer["plan"]["profile"]["name"] == "blackfriday" && took < fast,
        "{answer}"
    );
    let (_, answer, took) = timed(reqwest::Method::POST, "/stop", json!({})).await;
    assert!(
        answer["running"] == false && took < fast,
        "stopped in {took:?} with journeys in flight"
    );
    // Nothing new starts once stopped; what was in flight finishes.
    eventually(
        "in-flight journeys to finish",
        Duration::from_secs(20),
        || async {
            let (_, s) = shop.get(shop::ServiceName::LoadGenerator, "/status").await;
            (s["in_flight"] == 0).then_some(())
        },
    )
    .await;
    let (_, before) = shop.get(shop::ServiceName::LoadGenerator, "/status").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (_, after) = shop.get(shop::ServiceName::LoadGenerator, "/status").await;
    assert_eq!(before["stats"]["journeys"], after["stats"]["journeys"]);
    shop.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}
