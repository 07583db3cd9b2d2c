//! The latency model as an APM sees it: with the shop's default settings, the frontend's
//! SERVER spans (taken from the SDK's span pipeline, not from the load generator's counts) show
//! a baseline p95 in the hundreds of milliseconds and checkouts in the high hundreds.

use std::time::Duration;

use crate::support::*;
use opentelemetry::trace::SpanKind;
use shop::ShopConfig;

fn p95_ms(mut durations: Vec<f64>) -> f64 {
    durations.sort_by(f64::total_cmp);
    durations[((durations.len() as f64 * 0.95).ceil() as usize).saturating_sub(1)]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_latencies_look_like_a_shop_s() {
    let (database, dir) = temp_sqlite();
    // The defaults (latency model on, the gateway's 100–200 ms, 1% declines), with the load
    // started by the test and no think time between steps (it does not change a request's
    // time, only how long the test takes).
    let mut config = ShopConfig::new(database, None);
    config.load.autostart = false;
    config.load.think_time = (Duration::ZERO, Duration::from_millis(5));
    config.namespace = format!("tracemart-test-{}", uuid::Uuid::new_v4().simple());
    assert_eq!(config.latency, shop::config::LatencyModel::Realistic);
    let shop = TestShop::start(config);
    shop.run_journeys(40).await;

    let served: Vec<Span> = spans(&shop.sink)
        .into_iter()
        .filter(|s| s.service == "frontend" && *s.kind() == SpanKind::Server)
        .collect();
    let ms = |s: &Span| {
        s.data
            .end_time
            .duration_since(s.data.start_time)
            .unwrap_or_default()
            .as_secs_f64()
            * 1000.0
    };
    let baseline: Vec<f64> = served
        .iter()
        .filter(|s| s.attr("traffic.type").as_deref() == Some("baseline"))
        .map(ms)
        .collect();
    let checkouts: Vec<f64> = served
        .iter()
        .filter(|s| s.name() == "POST /api/checkout")
        .map(ms)
        .collect();
    assert!(baseline.len() >= 200 && checkouts.len() >= 40);
    let n = (baseline.len(), checkouts.len());
    let (baseline_p95, checkout_p95) = (p95_ms(baseline), p95_ms(checkouts.clone()));
    eprintln!(
        "frontend baseline p95 {baseline_p95:.0} ms ({} requests), checkout p95 {checkout_p95:.0} ms ({} checkouts)",
        n.0, n.1
    );
    assert!(
        (100.0..=600.0).contains(&baseline_p95),
        "baseline p95 {baseline_p95:.0} ms"
    );
    assert!(checkout_p95 < 2000.0, "checkout p95 {checkout_p95:.0} ms");
    let mut sorted = checkouts;
    sorted.sort_by(f64::total_cmp);
    let median = sorted[sorted.len() / 2];
    assert!(
        (400.0..1500.0).contains(&median),
        "a checkout takes high hundreds of milliseconds: median {median:.0} ms"
    );
    // Database spans take database times, not microseconds.
    let statements: Vec<f64> = spans(&shop.sink)
        .iter()
        .filter(|s| s.attr("db.system.name").as_deref() == Some("sqlite"))
        .map(ms)
        .collect();
    let statement_median = {
        let mut s = statements;
        s.sort_by(f64::total_cmp);
        s[s.len() / 2]
    };
    assert!(
        (0.3..20.0).contains(&statement_median),
        "statement median {statement_median} ms"
    );
    shop.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}
