//! The binary as a user runs it: `up` starts on free ports with nothing installed, SIGTERM
//! drains and flushes telemetry to the OTLP endpoint, a taken port is a clear error.

use std::io::Read as _;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::free_port;

mod common;

/// The port variables of every service, from the services table.
const SERVICES: [&str; shop::config::SERVICES.len()] = {
    let mut vars = [""; shop::config::SERVICES.len()];
    let mut i = 0;
    while i < vars.len() {
        vars[i] = shop::config::SERVICES[i].port_var;
        i += 1;
    }
    vars
};

struct Shop {
    child: Child,
    env: Vec<(String, String)>,
    ports: Vec<(&'static str, u16)>,
    dir: std::path::PathBuf,
}

impl AsMut<Child> for Shop {
    fn as_mut(&mut self) -> &mut Child {
        &mut self.child
    }
}

/// A shop left behind by a failing test is stopped and its files removed.
impl Drop for Shop {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The console's ports, set too so shops of parallel tests do not meet.
const CONSOLE_PORTS: [&str; 3] = [
    "TRACEMART_CONSOLE_PORT",
    "TRACEMART_OTLP_GRPC_PORT",
    "TRACEMART_OTLP_HTTP_PORT",
];

impl Shop {
    /// `tracemart up` on fresh ports, waited for until every service is ready.
    fn start(extra_env: &[(&str, String)]) -> Shop {
        common::start_ready(
            "tracemart up",
            SERVICES.len() + CONSOLE_PORTS.len(),
            SERVICES.len(),
            Duration::from_secs(90),
            |ports| Shop::spawn(ports, extra_env),
        )
    }

    /// `tracemart up` on fresh ports, not waited for.
    fn start_unready(extra_env: &[(&str, String)]) -> Shop {
        Shop::spawn(
            &common::free_ports(SERVICES.len() + CONSOLE_PORTS.len()),
            extra_env,
        )
    }

    /// Services on the first ports, the console on the last three.
    fn spawn(ports: &[u16], extra_env: &[(&str, String)]) -> Shop {
        let (service_ports, console_ports) = ports.split_at(SERVICES.len());
        let ports: Vec<_> = SERVICES
            .iter()
            .copied()
            .zip(service_ports.to_vec())
            .collect();
        let dir = std::env::temp_dir().join(format!(
            "tracemart-cli-{}-{}",
            std::process::id(),
            ports[0].1
        ));
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_tracemart"));
        // Logs only when a test asks for them (TRACEMART_LOG_FORMAT in its environment).
        let log_format = extra_env
            .iter()
            .find(|(k, _)| *k == "TRACEMART_LOG_FORMAT")
            .map_or("off", |(_, v)| v.as_str());
        // No load unless a test asks for it (LOAD_DISABLED=false).
        cmd.args(["up", "--log-format", log_format, "--sqlite"])
            .arg(dir.join("shop.db"))
            .env("LOAD_DISABLED", "true")
            .env_remove("DATABASE_URL")
            .env_remove("REDIS_URL")
            .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (s, p) in &ports {
            cmd.env(s, p.to_string());
        }
        for (var, port) in CONSOLE_PORTS.iter().zip(console_ports) {
            cmd.env(var, port.to_string());
        }
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        let env = cmd
            .get_envs()
            .filter_map(|(k, v)| {
                Some((
                    k.to_string_lossy().into_owned(),
                    v?.to_string_lossy().into_owned(),
                ))
            })
            .collect();
        let child = cmd.spawn().expect("spawn tracemart up");
        Shop {
            child,
            env,
            ports,
            dir,
        }
    }

    fn env(&self, var: &str) -> String {
        self.env
            .iter()
            .find(|(k, _)| k == var)
            .map(|(_, v)| v.clone())
            .expect("variable set")
    }

    /// The port of the service whose port variable is `{prefix}_PORT`.
    fn port(&self, prefix: &str) -> u16 {
        let var = format!("{prefix}_PORT");
        self.ports
            .iter()
            .find(|(s, _)| *s == var)
            .map(|(_, p)| *p)
            .expect("port")
    }

    /// SIGTERM, then the exit status and stdout.
    fn terminate(mut self) -> (std::process::ExitStatus, String) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
        let exit = common::wait_exit(
            &mut self.child,
            Duration::from_secs(30),
            "did not stop after SIGTERM",
        );
        let mut out = String::new();
        if let Some(mut o) = self.child.stdout.take() {
            let _ = o.read_to_string(&mut out);
        }
        (exit, out)
    }
}

/// A minimal OTLP/HTTP receiver: counts the trace export requests and their bytes.
fn receiver() -> (u16, Arc<Mutex<Vec<usize>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let got = Arc::new(Mutex::new(Vec::new()));
    let seen = got.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            if let Some((path, len)) = answer(stream)
                && path == "/v1/traces"
            {
                seen.lock().expect("lock").push(len);
            }
        }
    });
    (port, got)
}

/// Reads one HTTP/1.1 request and answers 200 with an empty body; returns path and body size.
fn answer(mut stream: std::net::TcpStream) -> Option<(String, usize)> {
    use std::io::{BufRead as _, BufReader, Write as _};
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let path = line.split_whitespace().nth(1)?.to_owned();
    let mut len = 0usize;
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).ok()?;
        if h.trim().is_empty() {
            break;
        }
        if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
            len = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    let _ = stream.write_all(
        b"HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
    );
    Some((path, len))
}

#[test]
fn up_serves_a_checkout_and_sigterm_flushes_telemetry() {
    let (otlp_port, traces) = receiver();
    let shop = Shop::start(&[
        (
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            format!("http://127.0.0.1:{otlp_port}"),
        ),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf".to_owned()),
        ("OTEL_METRICS_EXPORTER", "none".to_owned()),
        ("OTEL_LOGS_EXPORTER", "none".to_owned()),
        ("TRACEMART_LOG_FORMAT", "text".to_owned()),
    ]);
    let client = telemetry::tls::blocking_client();
    let frontend = format!("http://127.0.0.1:{}", shop.port("FRONTEND"));
    let r = client
        .post(format!("{frontend}/api/cart/cli-cart/items"))
        .json(&serde_json::json!({"product_id": 10, "quantity": 1}))
        .send()
        .expect("add to cart");
    assert_eq!(r.status(), 201);
    let r = client
        .post(format!("{frontend}/api/checkout"))
        .json(&serde_json::json!({"cart_id": "cli-cart", "card": {"number": "4242424242424242", "cvv": "123", "exp_month": 1, "exp_year": 2040}}))
        .send()
        .expect("checkout");
    assert_eq!(r.status(), 201);
    let order: serde_json::Value = r.json().expect("json");
    let order_id = order["order"]["id"].as_str().expect("order id");
    let r = client
        .get(format!("{frontend}/api/orders/{order_id}"))
        .send()
        .expect("order");
    assert_eq!(r.status(), 200, "the order exists in the checkout store");

    let (exit, stdout) = shop.terminate();
    assert!(exit.success(), "exit {exit:?}; stdout:\n{stdout}");
    assert!(stdout.contains("the shop is open"), "{stdout}");
    assert!(
        stdout.contains("OTLP http/protobuf"),
        "says where telemetry goes: {stdout}"
    );
    assert!(stdout.contains("stopped."), "{stdout}");
    // Log lines for a file: no colours, the service and the trace, the message and its own
    // fields — not the request span's fields around it.
    assert!(!stdout.contains('\u{1b}'), "ANSI codes in a pipe: {stdout}");
    let placed = stdout
        .lines()
        .find(|l| l.contains("order placed"))
        .unwrap_or_else(|| panic!("an 'order placed' line in {stdout}"));
    assert!(placed.trim_start().starts_with("checkout ["), "{placed}");
    assert!(
        placed.contains(" INFO order placed event.name=\"checkout.order_placed\" order.id=ord_"),
        "{placed}"
    );
    assert!(
        !placed.contains("http.server{") && placed.len() < 200,
        "{placed}"
    );
    assert!(
        !stdout
            .lines()
            .any(|l| l.contains(" ERROR ") || l.contains(" WARN ")),
        "a clean run warns of nothing: {stdout}"
    );
    let exported = traces.lock().expect("lock").clone();
    assert!(
        !exported.is_empty() && exported.iter().all(|len| *len > 0),
        "spans were flushed on SIGTERM: {exported:?}"
    );
}

#[test]
fn a_taken_port_is_a_clear_error() {
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port();
    let mut shop = Shop::start_unready(&[("CART_PORT", port.to_string())]);
    let exit = common::wait_exit(&mut shop.child, Duration::from_secs(30), "up should fail");
    let mut stderr = String::new();
    shop.child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .expect("read");
    assert!(!exit.success());
    assert!(
        stderr.contains(&format!("port {port} for cart is already in use")),
        "{stderr}"
    );
    assert!(stderr.contains("CART_PORT"), "says how to fix it: {stderr}");
    drop(taken);
}

#[test]
fn invalid_otel_settings_stop_the_start_with_the_variable_named() {
    let out = Command::new(env!("CARGO_BIN_EXE_tracemart"))
        .args(["up", "--no-load"])
        .env("OTEL_TRACES_SAMPLER", "sometimes")
        .output()
        .expect("run");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("OTEL_TRACES_SAMPLER"), "{stderr}");
}

#[test]
fn serve_runs_one_service_and_health_checks_it() {
    // Every service's port variable points somewhere free: only payment will listen.
    let ports: Vec<_> = SERVICES
        .iter()
        .zip(common::free_ports(SERVICES.len()))
        .map(|(s, p)| ((*s).to_owned(), p))
        .collect();
    let port = ports
        .iter()
        .find(|(var, _)| var == "PAYMENT_PORT")
        .map(|(_, p)| *p)
        .expect("payment port");
    let mut child = Command::new(env!("CARGO_BIN_EXE_tracemart"))
        .args([
            "serve",
            "payment",
            "--host",
            "127.0.0.1",
            "--log-format",
            "off",
        ])
        .envs(ports.iter().map(|(var, p)| (var, p.to_string())))
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn serve");
    // `tracemart health [TARGET]`: its exit status and what it printed.
    let health = |target: Option<String>| {
        let out = Command::new(env!("CARGO_BIN_EXE_tracemart"))
            .arg("health")
            .args(target)
            .envs(ports.iter().map(|(var, p)| (var, p.to_string())))
            .output()
            .expect("health");
        (
            out.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while !health(Some(port.to_string())).0 {
        assert!(Instant::now() < deadline, "payment did not come up");
        std::thread::sleep(Duration::from_millis(50));
    }
    // Without a target it finds the service that runs here, whatever its port.
    let (ok, said) = health(None);
    assert!(ok, "{said}");
    assert!(
        said.contains(&format!("payment http://127.0.0.1:{port}/health: 200 OK")),
        "{said}"
    );
    assert_eq!(said.lines().count(), 1, "only payment listens: {said}");
    let r = telemetry::tls::blocking_client()
        .post(format!("http://127.0.0.1:{port}/charge"))
        .json(&serde_json::json!({"amount_cents": 1999, "currency": "USD", "card": {"number": "4000000000000002", "cvv": "123", "exp_month": 1, "exp_year": 2040}}))
        .send()
        .expect("charge");
    assert_eq!(r.status(), 402, "the always-declined test card");
    // Only payment runs in this process.
    assert!(
        telemetry::tls::blocking_client()
            .get(format!("http://127.0.0.1:{port}/api/browse"))
            .send()
            .expect("get")
            .status()
            == 404
    );
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    let exit = child.wait().expect("wait");
    assert!(exit.success(), "{exit:?}");
    assert!(
        !health(Some(port.to_string())).0,
        "health fails once the service is gone"
    );
    let (ok, said) = health(None);
    assert!(!ok, "nothing listens any more: {said}");
    assert!(
        said.contains("no shop service listens on this host"),
        "{said}"
    );
}

#[test]
fn load_against_a_dead_target_counts_errors_and_exits_cleanly() {
    let port = free_port(); // nothing listens there
    let out = Command::new(env!("CARGO_BIN_EXE_tracemart"))
        .args([
            "load",
            "--target",
            &format!("http://127.0.0.1:{port}"),
            "--journeys",
            "12",
            "--users",
            "3",
            "--json",
            "--no-spans",
        ])
        .output()
        .expect("run load");
    assert_eq!(
        out.status.code(),
        Some(1),
        "a clean failure exit, not a crash: {out:?}"
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON summary");
    assert_eq!(summary["journeys"], 12);
    assert_eq!(summary["errors"]["connection"], 12);
    assert_eq!(summary["error_rate"], 1.0);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("100.0% of 12 requests failed"), "{stderr}");
}

#[test]
fn load_runs_journeys_through_a_running_shop_and_passes() {
    let shop = Shop::start(&[]);
    let frontend = format!("http://127.0.0.1:{}", shop.port("FRONTEND"));
    let out = Command::new(env!("CARGO_BIN_EXE_tracemart"))
        .args([
            "load",
            "--target",
            &frontend,
            "--rate",
            "20",
            "--duration",
            "3s",
            "--think-time",
            "0..10ms",
            "--seed",
            "3",
        ])
        // Nothing listens there: its spans would go nowhere.
        .env("TRACEMART_CONSOLE_OTLP", "http://127.0.0.1:9")
        .output()
        .expect("run load");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stderr.contains("requests ("), "a progress line: {stderr}");
    for journey in ["browse ", "checkout "] {
        assert!(
            stdout.lines().any(|l| l.starts_with(journey)),
            "{journey} row in\n{stdout}"
        );
    }
    assert!(stdout.contains("p95 ms"), "{stdout}");
    // No OTEL_* and no console where it looked: it says so, and sends no trace context.
    assert!(stderr.contains("spans: none"), "{stderr}");

    // Pointed at the shop's console, its spans go there.
    let console_otlp = format!("http://127.0.0.1:{}", shop.env("TRACEMART_OTLP_HTTP_PORT"));
    let out = Command::new(env!("CARGO_BIN_EXE_tracemart"))
        .args([
            "load",
            "--target",
            &frontend,
            "--rate",
            "20",
            "--duration",
            "2s",
        ])
        .args(["--think-time", "0..10ms", "--seed", "4"])
        .env("TRACEMART_CONSOLE_OTLP", &console_otlp)
        .output()
        .expect("run load");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("spans: to the console"), "{stderr}");

    // Neither run left an orphan: the first sent no trace context, the second exported every
    // parent its requests named before it exited (a late journey included).
    let console = format!("http://127.0.0.1:{}", shop.env("TRACEMART_CONSOLE_PORT"));
    let client = telemetry::tls::blocking_client();
    let deadline = Instant::now() + Duration::from_secs(30);
    let summary = loop {
        let summary: serde_json::Value = client
            .get(format!("{console}/api/summary?settle_s=2"))
            .send()
            .and_then(|r| r.json())
            .expect("console summary");
        let orphans = summary["orphan_spans"].as_u64().unwrap_or(u64::MAX);
        // Orphans are counted once a trace has been quiet: the shop's last batch may still be
        // on its way, so a parent can arrive after its child; a true orphan never resolves.
        if orphans == 0 || Instant::now() > deadline {
            break summary;
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    assert_eq!(summary["orphan_spans"], 0, "{summary:#}");
    let services = summary["services"].as_array().expect("services");
    assert!(
        services.iter().any(|s| s == "load-generator") && services.iter().any(|s| s == "frontend"),
        "{services:?}"
    );
    let _ = shop.terminate();
}

#[test]
fn validate_passes_against_a_healthy_shop() {
    let shop = Shop::start(&[("OTEL_METRIC_EXPORT_INTERVAL", "2000".to_owned())]);
    let client = telemetry::tls::blocking_client();
    let loadgen = format!("http://127.0.0.1:{}", shop.port("LOAD_GENERATOR"));
    let r = client
        .put(format!("{loadgen}/rate"))
        .json(&serde_json::json!({"journeys_per_second": 8.0}))
        .send()
        .expect("rate");
    assert!(r.status().is_success());
    assert!(
        client
            .post(format!("{loadgen}/start"))
            .send()
            .expect("start")
            .status()
            .is_success()
    );
    let console = format!("http://127.0.0.1:{}", shop.env("TRACEMART_CONSOLE_PORT"));
    let frontend = format!("http://127.0.0.1:{}", shop.port("FRONTEND"));
    let out = Command::new(env!("CARGO_BIN_EXE_tracemart"))
        .args([
            "validate",
            "--console",
            &console,
            "--shop",
            &frontend,
            "--wait",
            "60s",
            "--settle-s",
            "3",
            "--json",
        ])
        .output()
        .expect("run validate");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    assert!(
        out.status.success(),
        "{}",
        serde_json::to_string_pretty(&report).unwrap_or_default()
    );
    assert_eq!(report["passed"], true);
    assert!(report["checks"].as_array().is_some_and(|c| c.len() >= 14));
    // The table form names every check with its measured figure.
    let table = Command::new(env!("CARGO_BIN_EXE_tracemart"))
        .args([
            "validate",
            "--console",
            &console,
            "--shop",
            &frontend,
            "--settle-s",
            "3",
        ])
        .output()
        .expect("run validate");
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(
        text.contains("orphan spans") && text.contains("0 of"),
        "{text}"
    );
    let _ = shop.terminate();
}

/// `tracemart validate --json` against `shop`'s console, waiting at most `wait`.
fn validate(shop: &Shop, wait: Duration) -> (Option<i32>, serde_json::Value) {
    let console = format!("http://127.0.0.1:{}", shop.env("TRACEMART_CONSOLE_PORT"));
    let frontend = format!("http://127.0.0.1:{}", shop.port("FRONTEND"));
    let out = Command::new(env!("CARGO_BIN_EXE_tracemart"))
        .args(["validate", "--console", &console, "--shop", &frontend])
        // A missing parent is an orphan only once its trace has been quiet for longer than
        // the exporters' 5-second batch delay: each service's batch leaves on its own.
        .args(["--settle-s", "8", "--json", "--wait"])
        .arg(format!("{}ms", wait.as_millis()))
        .output()
        .expect("run validate");
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "no JSON report ({e}): {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code(), report)
}

/// The story as the README tells it, with the default load: at each step of Black Friday at
/// `--speed 10`, validate judges the step within its own duration and passes; it never fails.
#[test]
fn validate_judges_every_blackfriday_step_at_speed_10() {
    use shop::scenario::catalogue::BLACKFRIDAY_STEPS;
    const SPEED: f64 = 10.0;
    let shop = Shop::start(&[
        ("LOAD_DISABLED", "false".to_owned()),
        ("OTEL_METRIC_EXPORT_INTERVAL", "2000".to_owned()),
    ]);
    let frontend = format!("http://127.0.0.1:{}", shop.port("FRONTEND"));
    let loadgen = format!("http://127.0.0.1:{}", shop.port("LOAD_GENERATOR"));
    let rate = |per_second: f64| {
        let r = telemetry::tls::blocking_client()
            .put(format!("{loadgen}/rate"))
            .json(&serde_json::json!({ "journeys_per_second": per_second }))
            .send()
            .expect("rate");
        assert!(r.status().is_success());
    };
    // A healthy shop first (every service seen, metrics exported), then the default load.
    rate(8.0);
    let (code, report) = validate(&shop, Duration::from_secs(60));
    assert_eq!(code, Some(0), "{report:#}");
    rate(2.0);

    let out = Command::new(env!("CARGO_BIN_EXE_tracemart"))
        .args(["scenario", "set", "blackfriday", "--speed", "10", "--json"])
        .args(["--url", &frontend])
        .output()
        .expect("scenario set");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let status: serde_json::Value = telemetry::tls::blocking_client()
        .get(format!("{frontend}/scenarios"))
        .send()
        .and_then(|r| r.json())
        .expect("scenario status");
    let started_ms = status["active"][0]["started_at_ms"]
        .as_i64()
        .expect("started_at_ms");
    let now_ms = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64)
    };
    let at = |minute: f64| started_ms + (minute * 60_000.0 / SPEED) as i64;
    for (step, (from, _, rate)) in BLACKFRIDAY_STEPS.iter().enumerate() {
        let end = BLACKFRIDAY_STEPS
            .get(step + 1)
            .map_or(at(*from) + 40_000, |next| at(next.0));
        // validate measures from a second after the step began.
        let begin = at(*from) + 1_500;
        if let Ok(pause) = u64::try_from(begin - now_ms()) {
            std::thread::sleep(Duration::from_millis(pause));
        }
        let wait = Duration::from_millis(u64::try_from(end - now_ms() - 2_500).unwrap_or(0));
        let (code, report) = validate(&shop, wait);
        let demo = report["checks"]
            .as_array()
            .and_then(|c| {
                c.iter()
                    .find(|c| c["check"] == "demo error rate fits the scenario")
            })
            .cloned()
            .unwrap_or_default();
        assert_ne!(report["status"], "fail", "step {step}: {report:#}");
        if step == 0 {
            // Six seconds, and the first checkouts are still browsing: it may be too early.
            assert!(matches!(code, Some(0 | 3)), "step 0: {code:?} {report:#}");
            continue;
        }
        assert_eq!(
            code,
            Some(0),
            "step {step} was not judged in time: {report:#}"
        );
        assert_eq!(report["status"], "pass", "step {step}: {report:#}");
        let expected = demo["expected"].as_str().unwrap_or_default();
        assert!(
            expected.contains(&format!(
                "blackfriday at level {step}: {:.0}%",
                rate * 100.0
            )),
            "step {step} is judged against its own rate: {demo:#}"
        );
        assert!(demo["requests"].as_u64().unwrap_or(0) >= 20, "{demo:#}");
    }
    let _ = shop.terminate();
}

#[test]
fn validate_without_a_console_says_how_to_point_it() {
    let out = Command::new(env!("CARGO_BIN_EXE_tracemart"))
        .args([
            "validate",
            "--console",
            &format!("http://127.0.0.1:{}", free_port()),
            "--shop",
            "http://127.0.0.1:1",
        ])
        .output()
        .expect("run validate");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot reach the console") && stderr.contains("--console"),
        "{stderr}"
    );
}

#[test]
fn validate_can_listen_as_an_otlp_endpoint_itself() {
    let (grpc, http) = (free_port(), free_port());
    let child = Command::new(env!("CARGO_BIN_EXE_tracemart"))
        .args([
            "validate",
            "--listen",
            "3s",
            "--settle-s",
            "0",
            "--json",
            "--shop",
            "http://127.0.0.1:1",
        ])
        .args([
            "--otlp-grpc-port",
            &grpc.to_string(),
            "--otlp-http-port",
            &http.to_string(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn validate");
    // One lonely span over OTLP/HTTP JSON while it listens.
    let body = serde_json::json!({"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "frontend"}}]},
        "scopeSpans": [{"spans": [{
            "traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174",
            "name": "POST /api/browse", "kind": 2,
            "startTimeUnixNano": "1544712660000000000", "endTimeUnixNano": "1544712660100000000",
            "attributes": [{"key": "traffic.type", "value": {"stringValue": "baseline"}}]
        }]}]
    }]});
    let client = telemetry::tls::blocking_client();
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let sent = client
            .post(format!("http://127.0.0.1:{http}/v1/traces"))
            .json(&body)
            .send();
        if sent.is_ok_and(|r| r.status().is_success()) {
            break;
        }
        assert!(Instant::now() < deadline, "the listener never answered");
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().expect("validate ends");
    assert!(
        !out.status.success(),
        "one span of one service is not a healthy shop"
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    let present = report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .find(|c| c["check"] == "services present")
        .expect("check");
    assert_eq!(present["passed"], false);
    assert!(
        present["measured"]
            .as_str()
            .is_some_and(|m| m.contains("missing: load-generator")),
        "{present}"
    );
    let traffic = report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .find(|c| c["check"] == "traffic.type on every span")
        .expect("check");
    assert_eq!(
        traffic["passed"], true,
        "the span it heard is counted: {traffic}"
    );
}

#[test]
fn a_misspelt_scenario_gets_a_suggestion_and_a_bad_variable_is_named() {
    let out = Command::new(env!("CARGO_BIN_EXE_tracemart"))
        .args(["scenario", "set", "blackfridy"])
        .output()
        .expect("run");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("a similar value exists: 'blackfriday'"),
        "{stderr}"
    );
    assert!(
        stderr.contains("payment-failure"),
        "the names are listed: {stderr}"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_tracemart"))
        .args(["up", "--no-console"])
        .env("LOAD_RATE", "abc")
        .output()
        .expect("run");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("LOAD_RATE"),
        "the variable is named: {stderr}"
    );
}
