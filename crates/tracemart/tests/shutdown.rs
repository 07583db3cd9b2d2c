//! SIGTERM with checkouts in flight: the entry points drain while the services they call keep
//! serving them, so no card is charged without its order or its refund, and the process
//! exits within a pod's 15-second grace period even when the OTLP backend never answers.

use std::collections::BTreeSet;
use std::io::Read as _;
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;

fn postgres_admin_url() -> String {
    telemetry::Env::process()
        .get("TEST_DATABASE_URL")
        .unwrap_or("postgres://postgres@127.0.0.1:5432/postgres")
        .to_owned()
}

fn redis_url() -> String {
    telemetry::Env::process()
        .get("TEST_REDIS_URL")
        .unwrap_or("redis://127.0.0.1:6379/0")
        .to_owned()
}

/// A database of its own, dropped at the end.
struct Database {
    admin: String,
    name: String,
    url: String,
}

impl Database {
    fn create(rt: &tokio::runtime::Runtime) -> Database {
        let admin = postgres_admin_url();
        let name = format!("tracemart_stop_{}", uuid::Uuid::new_v4().simple());
        rt.block_on(async {
            use sqlx::Executor as _;
            sqlx::any::install_default_drivers();
            let pool = sqlx::AnyPool::connect(&admin).await.expect("PostgreSQL");
            pool.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .await
                .expect("create database");
            pool.close().await;
        });
        let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
        let url = format!("{base}/{name}");
        Database { admin, name, url }
    }

    fn order_transactions(&self, rt: &tokio::runtime::Runtime) -> Vec<String> {
        rt.block_on(async {
            let pool = sqlx::AnyPool::connect(&self.url)
                .await
                .expect("the test database");
            let rows: Vec<(String,)> = sqlx::query_as("SELECT payment_transaction_id FROM orders")
                .fetch_all(&pool)
                .await
                .expect("orders");
            pool.close().await;
            rows.into_iter().map(|(t,)| t).collect()
        })
    }

    fn drop_now(&self, rt: &tokio::runtime::Runtime) {
        rt.block_on(async {
            use sqlx::Executor as _;
            if let Ok(pool) = sqlx::AnyPool::connect(&self.admin).await {
                let _ = pool
                    .execute(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                        self.name
                    )))
                    .await;
                pool.close().await;
            }
        });
    }
}

/// An OTLP endpoint that accepts connections and never answers.
fn silent_endpoint() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    port
}

/// Every `transaction_id` on the JSON log lines whose message is `message`.
fn transactions(stdout: &str, message: &str) -> BTreeSet<String> {
    fn find<'a>(v: &'a serde_json::Value, key: &str) -> Option<&'a serde_json::Value> {
        match v {
            serde_json::Value::Object(m) => {
                m.get(key).or_else(|| m.values().find_map(|x| find(x, key)))
            }
            _ => None,
        }
    }
    stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| find(v, "message").and_then(|m| m.as_str()) == Some(message))
        .filter_map(|v| {
            find(&v, "payment.transaction_id")?
                .as_str()
                .map(str::to_owned)
        })
        .collect()
}

#[test]
fn sigterm_with_checkouts_in_flight_leaves_no_charge_without_its_order() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let db = Database::create(&rt);
    let otlp = silent_endpoint();
    let ports = common::free_ports(shop::config::SERVICES.len() + 3);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tracemart"));
    cmd.args([
        "up",
        "--no-load",
        "--log-format",
        "json",
        "--postgres",
        &db.url,
        "--redis",
    ])
    .arg(redis_url())
    .env(
        "TRACEMART_NAMESPACE",
        format!("tracemart-stop-{}", uuid::Uuid::new_v4().simple()),
    )
    .env(
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        format!("http://127.0.0.1:{otlp}"),
    )
    .env("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
    .env("PAYMENT_DECLINE_RATE", "0")
    .env_remove("TRACEMART_CONTROL_TOKEN")
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    for (spec, port) in shop::config::SERVICES.iter().zip(&ports) {
        cmd.env(spec.port_var, port.to_string());
    }
    for (var, port) in [
        "TRACEMART_CONSOLE_PORT",
        "TRACEMART_OTLP_GRPC_PORT",
        "TRACEMART_OTLP_HTTP_PORT",
    ]
    .iter()
    .zip(&ports[shop::config::SERVICES.len()..])
    {
        cmd.env(var, port.to_string());
    }
    let mut child = cmd.spawn().expect("tracemart up");
    let service_ports = &ports[..shop::config::SERVICES.len()];
    if let Err(e) = common::wait_ready(&mut child, service_ports, Duration::from_secs(90)) {
        let _ = child.kill();
        db.drop_now(&rt);
        panic!("{}", e.explain("tracemart up"));
    }
    let frontend_port = shop::config::SERVICES
        .iter()
        .zip(service_ports)
        .find(|(s, _)| s.name == shop::ServiceName::Frontend)
        .map(|(_, p)| *p)
        .expect("frontend");
    let frontend = format!("http://127.0.0.1:{frontend_port}");
    let client = telemetry::tls::blocking_client_builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    const CHECKOUTS: usize = 40;
    for i in 0..CHECKOUTS {
        let r = client
            .post(format!("{frontend}/api/cart/stop-{i}/items"))
            .json(&serde_json::json!({"product_id": 1 + i % 10, "quantity": 1}))
            .send()
            .expect("add to cart");
        assert_eq!(r.status(), 201);
    }
    let (answers_tx, answers) = std::sync::mpsc::channel();
    let mut shoppers = Vec::new();
    for i in 0..CHECKOUTS {
        let (client, frontend, answers_tx) = (client.clone(), frontend.clone(), answers_tx.clone());
        shoppers.push(std::thread::spawn(move || {
            let r = client
                .post(format!("{frontend}/api/checkout"))
                .json(&serde_json::json!({"cart_id": format!("stop-{i}"), "card": {"number": "4242424242424242", "cvv": "123", "exp_month": 1, "exp_year": 2040}}))
                .send();
            let _ = answers_tx.send(r.map(|r| r.status().as_u16()).ok());
        }));
    }
    drop(answers_tx);
    // The charges take 100–200 ms: stop while they (and the orders after them) are under way.
    std::thread::sleep(Duration::from_millis(120));
    let stopping = Instant::now();
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let exit = common::wait_exit(
        &mut child,
        Duration::from_secs(30),
        "did not stop after SIGTERM",
    );
    let took = stopping.elapsed();
    for s in shoppers {
        let _ = s.join();
    }
    let answered: Vec<u16> = answers.iter().flatten().collect();
    let mut stdout = String::new();
    if let Some(mut o) = child.stdout.take() {
        let _ = o.read_to_string(&mut stdout);
    }
    let orders: BTreeSet<String> = db.order_transactions(&rt).into_iter().collect();
    db.drop_now(&rt);

    assert!(exit.success(), "exit {exit:?}");
    assert!(
        took < Duration::from_secs(15),
        "stopped in {took:?}, beyond a 15 s grace period, with an OTLP endpoint that never answers"
    );
    assert!(
        answered.len() >= 30,
        "at least 30 checkouts were in flight and answered: {answered:?}"
    );
    let charged = transactions(&stdout, "charge approved");
    let refunded = transactions(&stdout, "charge refunded");
    assert!(!charged.is_empty(), "cards were charged before the stop");
    for txn in &charged {
        assert!(
            orders.contains(txn) || refunded.contains(txn),
            "{txn} was charged with neither an order nor a refund \
             ({} charged, {} ordered, {} refunded; answers {answered:?})",
            charged.len(),
            orders.len(),
            refunded.len()
        );
    }
    for txn in &orders {
        assert!(
            charged.contains(txn),
            "order paid by {txn}, which was never charged"
        );
        assert!(
            !refunded.contains(txn),
            "order paid by {txn}, which was refunded"
        );
    }
    eprintln!(
        "stopped in {took:?}: {} answered ({} × 201), {} charged, {} ordered, {} refunded",
        answered.len(),
        answered.iter().filter(|s| **s == 201).count(),
        charged.len(),
        orders.len(),
        refunded.len()
    );
}
