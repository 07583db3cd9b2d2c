//! Order events: every checkout's `order.placed` reaches accounting, fraud-detection and
//! notification once in effect, in the checkout's trace, through the real RabbitMQ and the
//! embedded broker alike; nothing is lost or doubled while the broker is away or a consumer
//! restarts mid-batch; the event path's scenarios do what they say.

use std::collections::HashMap;
use std::time::Duration;

use crate::support::*;
use opentelemetry::trace::SpanKind;
use serde_json::json;
use shop::broker::{Broker, Topology, embedded::EmbeddedBroker};
use shop::{Database, ServiceName, ShopConfig};
use sqlx::Row as _;
use telemetry::Settings;

/// The consumers of `order.placed`, by their services.
const CONSUMERS: [&str; 3] = ["accounting", "fraud-detection", "notification"];

/// What the shop's books hold, from its database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Books {
    orders: i64,
    /// Events waiting in the outbox.
    pending: i64,
    /// Orders with their `order.placed` entries in the ledger.
    booked: i64,
    /// Orders whose ledger debit for `order.placed` is not exactly the order's total: booked
    /// twice, partly, or not at all.
    misbooked: i64,
    scored: i64,
    notified: i64,
}

async fn count(conn: &mut sqlx::AnyConnection, sql: &str) -> i64 {
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .fetch_one(&mut *conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .get::<i64, _>(0)
}

async fn books(db: &TestDatabase) -> Books {
    let mut c = db.connect().await;
    Books {
        orders: count(&mut c, "SELECT COUNT(*) FROM orders").await,
        pending: count(
            &mut c,
            "SELECT COUNT(*) FROM outbox_events WHERE published_at_ms IS NULL",
        )
        .await,
        booked: count(
            &mut c,
            "SELECT COUNT(DISTINCT order_id) FROM ledger_entries WHERE event_type = 'order.placed'",
        )
        .await,
        misbooked: count(
            &mut c,
            "SELECT COUNT(*) FROM orders o WHERE o.total_cents <> (SELECT COALESCE(SUM(l.debit_cents), 0) \
             FROM ledger_entries l WHERE l.order_id = o.id AND l.account = 'receivables' \
             AND l.event_type = 'order.placed')",
        )
        .await,
        scored: count(&mut c, "SELECT COUNT(DISTINCT order_id) FROM fraud_scores").await,
        notified: count(&mut c, "SELECT COUNT(DISTINCT order_id) FROM notifications").await,
    }
}

/// Waits until every order's event has been published and processed by every consumer, and
/// answers the books then.
async fn settled(db: &TestDatabase, within: Duration) -> Books {
    eventually(
        "every order's event processed by every consumer",
        within,
        || async {
            let b = books(db).await;
            (b.orders > 0
                && b.pending == 0
                && b.booked == b.orders
                && b.scored == b.orders
                && b.notified == b.orders)
                .then_some(b)
        },
    )
    .await
}

fn config(db: &TestDatabase, amqp: Option<String>) -> ShopConfig {
    let mut c = test_config(
        Database::Postgres {
            url: db.url.clone(),
        },
        Some(redis_url()),
    );
    c.amqp_url = amqp;
    c
}

/// The RabbitMQ of the namespace, to read queue depths and to clean up.
fn rabbitmq(namespace: &str, url: &str) -> Broker {
    Broker::new(Some(url), namespace, &EmbeddedBroker::default()).expect("AMQP URL")
}

/// Every `order.placed` PRODUCER span of checkout has one successful CONSUMER span per
/// consumer, in its trace and under it, with the messaging attributes and `traffic.type`.
fn assert_consumed_in_trace(shop: &TestShop, system: &str) {
    let all = spans(&shop.sink);
    let producers: Vec<&Span> = all
        .iter()
        .filter(|s| s.service == "checkout" && *s.kind() == SpanKind::Producer)
        .collect();
    assert!(!producers.is_empty(), "checkout published events");
    let by_trace = traces(&all);
    for p in &producers {
        assert_eq!(p.attr("messaging.system").as_deref(), Some(system));
        assert_eq!(p.attr("messaging.operation.type").as_deref(), Some("send"));
        let destination = p.attr("messaging.destination.name").expect("destination");
        assert_eq!(p.name(), format!("publish {destination}"));
        let id = p.attr("messaging.message.id").expect("message id");
        assert!(p.attr("traffic.type").is_some(), "traffic.type on {p:?}");
        let trace = &by_trace[&p.data.span_context.trace_id()];
        assert!(
            trace
                .iter()
                .any(|s| s.service == "checkout" && *s.kind() == SpanKind::Server),
            "the publish is in the checkout's trace"
        );
        assert!(orphans(trace).is_empty(), "no orphan: {:?}", orphans(trace));
        if p.attr("messaging.rabbitmq.destination.routing_key")
            .as_deref()
            != Some("order.placed")
        {
            continue;
        }
        for consumer in CONSUMERS {
            let processed: Vec<&Span> = trace
                .iter()
                .filter(|s| {
                    s.service == consumer
                        && *s.kind() == SpanKind::Consumer
                        && s.attr("messaging.message.id").as_deref() == Some(id.as_str())
                })
                .collect();
            assert_eq!(processed.len(), 1, "{consumer} processed {id} once");
            let c = processed[0];
            assert_eq!(
                c.parent(),
                p.id(),
                "{consumer}'s processing is under the publish"
            );
            assert!(!c.is_error(), "{c:?}");
            assert_eq!(c.name(), format!("process {destination}"));
            for (key, want) in [
                ("messaging.system", system),
                ("messaging.operation.type", "process"),
                ("messaging.operation.name", "process"),
                ("messaging.consumer.group.name", consumer),
                ("messaging.destination.name", destination.as_str()),
                ("messaging.rabbitmq.destination.routing_key", "order.placed"),
            ] {
                assert_eq!(c.attr(key).as_deref(), Some(want), "{key} of {c:?}");
            }
            assert_eq!(c.attr("traffic.type"), p.attr("traffic.type"));
            assert!(
                c.attr("messaging.destination.subscription.name")
                    .is_some_and(|q| q.ends_with(&format!(".orders.{consumer}")))
            );
        }
    }
}

async fn every_event_reaches_every_consumer_once(amqp: Option<String>, system: &str) {
    let db = TestDatabase::create().await;
    let config = config(&db, amqp.clone());
    let namespace = config.namespace.clone();
    let shop = TestShop::start(config);
    shop.wait_ready(ServiceName::Checkout).await;
    shop.run_journeys(6).await;
    let b = settled(&db, Duration::from_secs(30)).await;
    assert_eq!(b.misbooked, 0, "{b:?}");
    // Each order's ledger balances, through the read API too.
    let mut c = db.connect().await;
    let ids: Vec<String> = sqlx::query("SELECT id FROM orders")
        .fetch_all(&mut c)
        .await
        .expect("orders")
        .iter()
        .map(|r| r.get::<String, _>(0))
        .collect();
    for id in &ids {
        let (status, ledger) = shop
            .get(ServiceName::Accounting, &format!("/ledger?order_id={id}"))
            .await;
        assert_eq!(status, 200, "{ledger}");
        assert_eq!(ledger["balanced"], true, "{ledger}");
        let (status, score) = shop
            .get(ServiceName::FraudDetection, &format!("/scores/{id}"))
            .await;
        assert_eq!(status, 200, "{score}");
    }
    let (status, daily) = shop.get(ServiceName::Accounting, "/ledger/daily").await;
    assert_eq!(status, 200);
    assert_eq!(daily["orders_placed"].as_i64(), Some(b.orders), "{daily}");
    assert_eq!(daily["balanced"], true);
    // The flags are consistent with the scores.
    let (status, flags) = shop.get(ServiceName::FraudDetection, "/flags").await;
    assert_eq!(status, 200);
    assert_eq!(flags["scored"].as_i64(), Some(b.orders), "{flags}");
    for f in flags["flags"].as_array().expect("flags") {
        assert_eq!(f["flagged"], true, "{f}");
        assert!(ids.contains(&f["order_id"].as_str().unwrap_or_default().to_owned()));
    }
    eventually("the consumers' spans", Duration::from_secs(10), || async {
        let all = spans(&shop.sink);
        let consumed = all
            .iter()
            .filter(|s| *s.kind() == SpanKind::Consumer)
            .count();
        (consumed >= 3 * b.orders as usize).then_some(())
    })
    .await;
    assert_consumed_in_trace(&shop, system);
    shop.stop().await;
    if let Some(url) = amqp {
        let _ = rabbitmq(&namespace, &url).remove().await;
    }
    db.drop_now().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_reaches_every_consumer_once_through_rabbitmq() {
    every_event_reaches_every_consumer_once(Some(amqp_url()), "rabbitmq").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_reaches_every_consumer_once_through_the_embedded_broker() {
    every_event_reaches_every_consumer_once(None, "tracemart_embedded").await;
}

/// Starts the load generator at `rate` journeys a second.
async fn start_load(shop: &TestShop, rate: f64) {
    let (status, _) = shop
        .send_json(
            reqwest::Method::PUT,
            ServiceName::LoadGenerator,
            "/rate",
            &json!({"journeys_per_second": rate}),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = shop
        .send_json(
            reqwest::Method::POST,
            ServiceName::LoadGenerator,
            "/start",
            &json!({}),
        )
        .await;
    assert_eq!(status, 200);
}

async fn stop_load(shop: &TestShop) {
    shop.send_json(
        reqwest::Method::POST,
        ServiceName::LoadGenerator,
        "/stop",
        &json!({}),
    )
    .await;
    eventually(
        "journeys in flight to finish",
        Duration::from_secs(30),
        || async {
            let (_, s) = shop.get(ServiceName::LoadGenerator, "/status").await;
            (s["in_flight"].as_u64() == Some(0)).then_some(())
        },
    )
    .await;
}

fn amqp_address(url: &str) -> std::net::SocketAddr {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let host = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
    let host = host.split('/').next().unwrap_or(host);
    std::net::ToSocketAddrs::to_socket_addrs(host)
        .expect("broker address")
        .next()
        .expect("an address")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_outage_under_load_loses_and_doubles_no_event() {
    let url = amqp_url();
    let broker_addr = amqp_address(&url);
    let mut proxy = Proxy::start(broker_addr).await;
    let via_proxy = url.replacen(
        &broker_addr.port().to_string(),
        &proxy.addr.port().to_string(),
        1,
    );
    let db = TestDatabase::create().await;
    let config = config(&db, Some(via_proxy));
    let namespace = config.namespace.clone();
    let shop = TestShop::start(config);
    shop.wait_ready(ServiceName::Checkout).await;
    start_load(&shop, 8.0).await;
    eventually(
        "orders before the outage",
        Duration::from_secs(30),
        || async {
            let b = books(&db).await;
            (b.booked >= 3).then_some(())
        },
    )
    .await;

    proxy.cut().await;
    let cut_at = books(&db).await;
    tokio::time::sleep(Duration::from_secs(20)).await;
    let during = books(&db).await;
    assert!(
        during.orders >= cut_at.orders + 10,
        "orders keep succeeding while the broker is away: {cut_at:?} → {during:?}"
    );
    assert!(
        during.pending >= during.orders - cut_at.orders - 2,
        "their events wait in the outbox: {during:?}"
    );
    proxy.restore().await;
    let restored = std::time::Instant::now();
    eventually("the outbox drained", Duration::from_secs(20), || async {
        (books(&db).await.pending == 0).then_some(())
    })
    .await;
    let drained_in = restored.elapsed();
    stop_load(&shop).await;
    let b = settled(&db, Duration::from_secs(30)).await;
    assert_eq!(
        b.misbooked, 0,
        "ledger entries == orders, none doubled: {b:?}"
    );
    assert!(
        drained_in < Duration::from_secs(15),
        "the outbox drains within seconds of the broker's return: {drained_in:?}"
    );
    shop.stop().await;
    let _ = rabbitmq(&namespace, &url).remove().await;
    db.drop_now().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_restarted_mid_batch_books_each_order_once() {
    let url = amqp_url();
    let db = TestDatabase::create().await;
    let config = config(&db, Some(url.clone()));
    let namespace = config.namespace.clone();
    let everything_but_accounting: Vec<ServiceName> = ServiceName::ALL
        .into_iter()
        .filter(|s| *s != ServiceName::Accounting)
        .collect();
    let shop = TestShop::start_services(
        config.clone(),
        Settings::default(),
        None,
        &everything_but_accounting,
    );
    shop.wait_ready(ServiceName::Checkout).await;
    // Accounting will work through its backlog slowly (shared through Redis).
    shop.set_scenario("consumer-lag", json!({"level": 1})).await;
    shop.run_journeys(12).await;
    let before = eventually("the events published", Duration::from_secs(20), || async {
        let b = books(&db).await;
        (b.pending == 0 && b.orders >= 12).then_some(b)
    })
    .await;
    assert_eq!(before.booked, 0, "nothing booked without accounting");

    let accounting = || {
        TestShop::start_services(
            config.clone(),
            Settings::default(),
            None,
            &[ServiceName::Accounting],
        )
    };
    let first = accounting();
    eventually(
        "part of the backlog booked",
        Duration::from_secs(30),
        || async { (books(&db).await.booked >= 3).then_some(()) },
    )
    .await;
    first.stop().await;
    let stopped = books(&db).await;
    assert!(
        stopped.booked < stopped.orders,
        "stopped in the middle of the batch: {stopped:?}"
    );
    shop.clear_scenario("consumer-lag").await;
    let second = accounting();
    let b = eventually("the rest booked", Duration::from_secs(30), || async {
        let b = books(&db).await;
        (b.booked == b.orders).then_some(b)
    })
    .await;
    assert_eq!(b.misbooked, 0, "each order booked once: {b:?}");
    second.stop().await;
    shop.stop().await;
    let _ = rabbitmq(&namespace, &url).remove().await;
    db.drop_now().await;
}

/// The CONSUMER spans of `service`, by `error.type` ("" for a success).
fn outcomes(shop: &TestShop, service: &str) -> HashMap<String, usize> {
    let mut out = HashMap::new();
    for s in spans(&shop.sink) {
        if s.service == service && *s.kind() == SpanKind::Consumer {
            *out.entry(s.attr("error.type").unwrap_or_default())
                .or_insert(0) += 1;
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consumer_lag_grows_the_backlog_and_checkouts_stay_green() {
    let db = TestDatabase::create().await;
    let shop = TestShop::start(config(&db, None));
    shop.wait_ready(ServiceName::Checkout).await;
    shop.set_scenario("consumer-lag", json!({"level": 4})).await;
    shop.run_journeys(6).await;
    // The other consumers keep up (within moments of the last order); accounting, at 2 s an
    // event, is still behind then.
    let lagging = eventually(
        "fraud-detection and notification caught up",
        Duration::from_secs(10),
        || async {
            let b = books(&db).await;
            (b.pending == 0 && b.notified == b.orders && b.scored == b.orders).then_some(b)
        },
    )
    .await;
    assert!(lagging.orders >= 6);
    assert!(
        lagging.booked < lagging.orders,
        "the ledger falls behind the orders: {lagging:?}"
    );
    let (_, status) = shop.get(ServiceName::LoadGenerator, "/status").await;
    assert_eq!(
        status["journeys"]["checkout"]["failed"].as_u64(),
        Some(0),
        "{status}"
    );
    shop.clear_scenario("consumer-lag").await;
    let b = settled(&db, Duration::from_secs(30)).await;
    assert_eq!(b.misbooked, 0);
    shop.stop().await;
    db.drop_now().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_broker_outage_scenario_holds_events_in_the_outbox_and_loses_none() {
    let db = TestDatabase::create().await;
    let shop = TestShop::start(config(&db, None));
    shop.wait_ready(ServiceName::Checkout).await;
    shop.set_scenario("broker-outage", json!({"level": 1}))
        .await;
    shop.run_journeys(5).await;
    let held = books(&db).await;
    assert!(held.orders >= 5, "checkouts succeed without the broker");
    assert_eq!(held.pending, held.orders, "every event waits: {held:?}");
    assert_eq!(held.booked, 0);
    shop.clear_scenario("broker-outage").await;
    let b = settled(&db, Duration::from_secs(30)).await;
    assert_eq!(b.misbooked, 0, "{b:?}");
    shop.stop().await;
    db.drop_now().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poison_messages_go_to_the_dead_letter_queue_without_blocking_the_queue() {
    let url = amqp_url();
    let db = TestDatabase::create().await;
    let config = config(&db, Some(url.clone()));
    let namespace = config.namespace.clone();
    let shop = TestShop::start(config);
    shop.wait_ready(ServiceName::Accounting).await;
    shop.set_scenario("poison-message", json!({"level": 5}))
        .await;
    shop.run_journeys(10).await;
    let broker = rabbitmq(&namespace, &url);
    let topology = Topology::new(&namespace);
    let queue = topology.queue_of("accounting").expect("accounting's queue");
    let dead = eventually(
        "the poisoned events dead-lettered",
        Duration::from_secs(30),
        || async {
            let b = books(&db).await;
            let dead = broker.depth(&queue.dead_letter).await.unwrap_or(0) as i64;
            (b.pending == 0 && dead > 0 && b.booked + dead == b.orders).then_some(dead)
        },
    )
    .await;
    let b = books(&db).await;
    assert!(b.booked > 0, "the rest were booked, not blocked: {b:?}");
    assert_eq!(broker.depth(&queue.name).await.expect("depth"), 0);
    // Each poisoned event was tried MAX_ATTEMPTS times, every try an error span.
    let o = eventually(
        "the failed tries' spans",
        Duration::from_secs(10),
        || async {
            let o = outcomes(&shop, "accounting");
            (o.get("poison_message").copied().unwrap_or(0)
                >= dead as usize * shop::consumer::MAX_ATTEMPTS as usize)
                .then_some(o)
        },
    )
    .await;
    assert_eq!(
        o["poison_message"],
        dead as usize * shop::consumer::MAX_ATTEMPTS as usize,
        "{o:?}"
    );
    // The other consumers were not touched.
    assert_eq!(b.scored, b.orders);
    // Cleared, the next events are booked again.
    shop.clear_scenario("poison-message").await;
    let (_, status) = shop.get(ServiceName::LoadGenerator, "/status").await;
    let checkouts = status["journeys"]["checkout"]["succeeded"]
        .as_u64()
        .expect("checkouts");
    shop.run_journeys(checkouts + 3).await;
    let after = eventually("new events booked", Duration::from_secs(20), || async {
        let a = books(&db).await;
        (a.pending == 0 && a.booked == a.orders - dead).then_some(a)
    })
    .await;
    assert!(
        after.booked >= b.booked + 3,
        "none of the new events dead-lettered: {b:?} → {after:?}"
    );
    shop.stop().await;
    let _ = broker.remove().await;
    db.drop_now().await;
}
