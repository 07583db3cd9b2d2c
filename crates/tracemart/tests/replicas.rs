//! Two replicas of product-catalog in separate processes share their scenarios through Redis:
//! a switch made on one reaches both within 2 seconds. The CLI drives it and its history lists
//! exactly the changes made.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::free_port;

mod common;

fn redis_url() -> String {
    telemetry::Env::process()
        .get("TEST_REDIS_URL")
        .unwrap_or("redis://127.0.0.1:6379/0")
        .to_owned()
}

struct Replica {
    child: Child,
    port: u16,
}

impl AsMut<Child> for Replica {
    fn as_mut(&mut self) -> &mut Child {
        &mut self.child
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A replica of product-catalog on a fresh port, waited for until it is ready.
fn replica(namespace: &str, dir: &std::path::Path, name: &str) -> Replica {
    common::start_ready("a replica", 1, 1, Duration::from_secs(30), |ports| {
        let port = ports[0];
        let child = Command::new(env!("CARGO_BIN_EXE_tracemart"))
            .args([
                "serve",
                "product-catalog",
                "--host",
                "127.0.0.1",
                "--log-format",
                "off",
                "--port",
            ])
            .arg(port.to_string())
            .arg("--sqlite")
            .arg(dir.join(format!("{name}.db")))
            .env("REDIS_URL", redis_url())
            .env("TRACEMART_NAMESPACE", namespace)
            .env_remove("DATABASE_URL")
            .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn replica");
        Replica { child, port }
    })
}

fn cli(url: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tracemart"))
        .args(["scenario", "--url", url])
        .args(args)
        .output()
        .expect("run tracemart scenario");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// How long one recommendations request takes on a replica.
fn probe(client: &reqwest::blocking::Client, port: u16) -> Duration {
    let started = Instant::now();
    let _ = client
        .get(format!(
            "http://127.0.0.1:{port}/products/recommendations?product_id=1"
        ))
        .send();
    started.elapsed()
}

#[test]
fn a_scenario_reaches_every_replica_within_two_seconds() {
    let namespace = format!("replicas-{}-{}", std::process::id(), free_port());
    let dir = std::env::temp_dir().join(&namespace);
    let replicas = [
        replica(&namespace, &dir, "a"),
        replica(&namespace, &dir, "b"),
    ];
    let client = telemetry::tls::blocking_client_builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    for r in &replicas {
        assert!(
            probe(&client, r.port) < Duration::from_millis(800),
            "no delay before the switch"
        );
    }

    // Black Friday held at step 3: 1200 ms on every recommendations request.
    let url_a = format!("http://127.0.0.1:{}", replicas[0].port);
    let switched = Instant::now();
    let (ok, out) = cli(&url_a, &["set", "blackfriday", "--level", "3"]);
    assert!(ok, "{out}");
    for r in &replicas {
        // The first request that starts within 2 s of the switch and is delayed proves the
        // replica applied it by then.
        let applied = loop {
            let sent = switched.elapsed();
            assert!(
                sent < Duration::from_secs(2),
                "replica on {} did not apply the scenario within 2 s",
                r.port
            );
            if probe(&client, r.port) >= Duration::from_millis(1200) {
                break sent;
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        eprintln!(
            "replica on {} applied the switch {applied:?} after it was made",
            r.port
        );
    }

    let url_b = format!("http://127.0.0.1:{}", replicas[1].port);
    let (ok, out) = cli(&url_b, &["clear", "blackfriday"]);
    assert!(ok, "{out}");
    let cleared = Instant::now();
    for r in &replicas {
        while probe(&client, r.port) >= Duration::from_millis(1200) {
            assert!(
                cleared.elapsed() < Duration::from_secs(3),
                "replica on {} still delayed",
                r.port
            );
        }
    }

    let (ok, out) = cli(&url_b, &["history", "--json"]);
    assert!(ok, "{out}");
    let history: serde_json::Value = serde_json::from_str(&out).expect("history JSON");
    let actions: Vec<_> = history
        .as_array()
        .expect("array")
        .iter()
        .map(|c| {
            (
                c["action"].as_str().unwrap_or_default(),
                c["scenario"].as_str().unwrap_or_default(),
                c["level"].as_u64(),
            )
        })
        .collect();
    assert_eq!(
        actions,
        vec![
            ("activated", "blackfriday", Some(3)),
            ("deactivated", "blackfriday", Some(3))
        ]
    );
    let (ok, status) = cli(&url_a, &["status"]);
    assert!(
        ok && status.contains("no scenario is on (shared through Redis)"),
        "{status}"
    );

    // Leave nothing behind in the shared Redis: the replicas first, or they would put back
    // the state they know.
    drop(replicas);
    let client = redis::Client::open(redis_url()).expect("redis");
    let mut c = client.get_connection().expect("redis connection");
    let _: () = redis::cmd("DEL")
        .arg(format!("{namespace}:scenarios:state"))
        .arg(format!("{namespace}:scenarios:history"))
        .query(&mut c)
        .expect("cleanup");
    let _ = std::fs::remove_dir_all(dir);
}
