//! What the binary's tests share: ports that are free and stay free, and child processes
//! waited for until every port answers `/ready` — or until they stop, with the reason.
//!
//! Ports come from below the kernel's ephemeral range: a port handed out by `bind(:0)` and
//! released can be taken a moment later by any outgoing connection on the machine (tests run
//! in parallel and talk to PostgreSQL and Redis), which made a shop fail to start at random.

#![allow(dead_code)]

use std::collections::HashSet;
use std::hash::{BuildHasher, RandomState};
use std::io::Read as _;
use std::net::TcpListener;
use std::process::Child;
use std::time::{Duration, Instant};

/// The lowest port the kernel hands out for outgoing connections.
fn ephemeral_floor() -> u16 {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|r| r.split_whitespace().next()?.parse().ok())
        .unwrap_or(32768)
}

/// `n` distinct ports that could be bound a moment ago, chosen at random below the ephemeral
/// range (so outgoing connections never take them and parallel tests rarely meet).
pub fn free_ports(n: usize) -> Vec<u16> {
    let top = ephemeral_floor().max(12_000);
    let bottom = top.saturating_sub(12_000).max(10_000);
    let span = u64::from(top - bottom).max(1);
    let random = RandomState::new();
    let mut held = Vec::with_capacity(n);
    let mut seen = HashSet::new();
    for attempt in 0u64.. {
        if held.len() == n {
            break;
        }
        assert!(attempt < 10_000, "no free port below {top}");
        let port = bottom + (random.hash_one(attempt) % span) as u16;
        if !seen.insert(port) {
            continue;
        }
        // Held until all are chosen, so the same port is never handed out twice.
        if let Ok(listener) = TcpListener::bind(("127.0.0.1", port)) {
            held.push(listener);
        }
    }
    held.iter()
        .map(|l| l.local_addr().expect("addr").port())
        .collect()
}

pub fn free_port() -> u16 {
    free_ports(1)[0]
}

/// Waits for `child` to exit, at most `within`; `what` names what was expected of it.
pub fn wait_exit(child: &mut Child, within: Duration, what: &str) -> std::process::ExitStatus {
    let deadline = Instant::now() + within;
    loop {
        if let Some(s) = child.try_wait().expect("wait") {
            return s;
        }
        assert!(Instant::now() < deadline, "{what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Why a child did not become ready.
pub enum NotReady {
    /// It exited; its stderr says why.
    Exited(String),
    TimedOut(u16),
}

impl NotReady {
    /// A port of ours was taken between choosing it and binding it: worth another try.
    pub fn port_taken(&self) -> bool {
        matches!(self, NotReady::Exited(stderr) if stderr.contains("already in use"))
    }

    pub fn explain(&self, what: &str) -> String {
        match self {
            NotReady::Exited(stderr) => format!("{what} exited before it was ready:\n{stderr}"),
            NotReady::TimedOut(port) => format!("{what}: port {port} not ready in time"),
        }
    }
}

/// Waits until every port answers `/ready` with a success, or the child exits (its stderr,
/// when piped, is returned), or `within` passes.
pub fn wait_ready(child: &mut Child, ports: &[u16], within: Duration) -> Result<(), NotReady> {
    let client = telemetry::tls::blocking_client_builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client");
    let deadline = Instant::now() + within;
    for port in ports {
        loop {
            if let Some(status) = child.try_wait().expect("wait") {
                let mut stderr = String::new();
                if let Some(mut e) = child.stderr.take() {
                    let _ = e.read_to_string(&mut stderr);
                }
                return Err(NotReady::Exited(format!("{status}\n{stderr}")));
            }
            let ready = client
                .get(format!("http://127.0.0.1:{port}/ready"))
                .send()
                .is_ok_and(|r| r.status().is_success());
            if ready {
                break;
            }
            if Instant::now() >= deadline {
                return Err(NotReady::TimedOut(*port));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    Ok(())
}

/// Starts something on `n` fresh ports (`spawn` is given them) and waits until the first
/// `answering` of them are ready; starts again on other ports when one was taken in the
/// meantime.
pub fn start_ready<T: AsMut<Child>>(
    what: &str,
    n: usize,
    answering: usize,
    within: Duration,
    mut spawn: impl FnMut(&[u16]) -> T,
) -> T {
    let mut attempts = 0;
    loop {
        attempts += 1;
        let ports = free_ports(n);
        let mut started = spawn(&ports);
        let child = started.as_mut();
        match wait_ready(child, &ports[..answering], within) {
            Ok(()) => return started,
            Err(why) => {
                let _ = child.kill();
                let _ = child.wait();
                drop(started);
                assert!(why.port_taken() && attempts < 3, "{}", why.explain(what));
            }
        }
    }
}
