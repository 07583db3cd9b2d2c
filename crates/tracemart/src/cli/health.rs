//! `tracemart health [URL|PORT]`: a container health check that needs no curl in the image.
//!
//! With a URL or port it checks that one. Without, it checks the services that run on this
//! host — every service's port (`<SERVICE>_PORT` or its usual one) on 127.0.0.1 — so one
//! `HEALTHCHECK` line fits every container of the image: the service that listens must answer
//! 2xx, and at least one must listen.

use std::process::ExitCode;
use std::time::Duration;

use shop::ServiceName;

use super::options::port_for;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// What to check; a bare port or host:port means its /health. Without it: every shop
    /// service listening on this host.
    url: Option<String>,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 3)]
    timeout: u64,
}

fn normalise(url: &str) -> String {
    if url.starts_with("http://") || url.starts_with("https://") {
        url.to_owned()
    } else if url.chars().all(|c| c.is_ascii_digit()) {
        format!("http://127.0.0.1:{url}/health")
    } else {
        format!("http://{url}/health")
    }
}

/// What one probe found.
enum Probe {
    Healthy(reqwest::StatusCode),
    Unhealthy(reqwest::StatusCode),
    /// Nothing listens there (connection refused).
    Absent,
    Unreachable(String),
}

async fn probe(client: &reqwest::Client, url: &str) -> Probe {
    match client.get(url).send().await {
        Ok(r) if r.status().is_success() => Probe::Healthy(r.status()),
        Ok(r) => Probe::Unhealthy(r.status()),
        Err(e) if e.is_connect() && !e.is_timeout() => Probe::Absent,
        Err(e) => Probe::Unreachable(e.to_string()),
    }
}

/// Prints the verdict on one URL; true when healthy. `named` says which service it is.
fn report(url: &str, named: Option<ServiceName>, found: &Probe) -> bool {
    let who = named.map(|s| format!("{s} ")).unwrap_or_default();
    match found {
        Probe::Healthy(status) => {
            println!("{who}{url}: {status}");
            true
        }
        Probe::Unhealthy(status) => {
            eprintln!("{who}{url}: unhealthy ({status})");
            false
        }
        Probe::Absent => {
            eprintln!("{who}{url}: unreachable (connection refused)");
            false
        }
        Probe::Unreachable(e) => {
            eprintln!("{who}{url}: unreachable ({e})");
            false
        }
    }
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let client = telemetry::tls::client_builder()
        .timeout(Duration::from_secs(args.timeout))
        .build()?;
    let healthy = match args.url {
        Some(url) => {
            let url = normalise(&url);
            let found = rt.block_on(probe(&client, &url));
            report(&url, None, &found)
        }
        None => {
            let env = telemetry::Env::process();
            let mut targets = Vec::with_capacity(ServiceName::ALL.len());
            for service in ServiceName::ALL {
                let port = port_for(service, &env)?;
                targets.push((service, port, format!("http://127.0.0.1:{port}/health")));
            }
            let found = rt.block_on(futures::future::join_all(
                targets.iter().map(|(_, _, url)| probe(&client, url)),
            ));
            let mut listening = 0;
            let mut all_healthy = true;
            for ((service, _, url), found) in targets.iter().zip(&found) {
                if matches!(found, Probe::Absent) {
                    continue;
                }
                listening += 1;
                all_healthy &= report(url, Some(*service), found);
            }
            if listening == 0 {
                eprintln!(
                    "no shop service listens on this host (ports {}); give a URL or port to check another",
                    targets
                        .iter()
                        .map(|(_, port, _)| port.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
            listening > 0 && all_healthy
        }
    };
    Ok(if healthy {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

#[cfg(test)]
mod tests {
    use super::normalise;

    #[test]
    fn bare_ports_and_hosts_mean_their_health_route() {
        assert_eq!(normalise("8013"), "http://127.0.0.1:8013/health");
        assert_eq!(normalise("cart:8013"), "http://cart:8013/health");
        assert_eq!(normalise("http://x/ready"), "http://x/ready");
    }
}
