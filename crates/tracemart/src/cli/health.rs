//! `tracemart health [URL]`: a container health check that needs no curl in the image.

use std::process::ExitCode;
use std::time::Duration;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// What to check; a bare port or host:port means its /health.
    #[arg(default_value = "http://127.0.0.1:8018/health")]
    url: String,
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

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let url = normalise(&args.url);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let result = rt.block_on(async {
        reqwest::Client::builder()
            .timeout(Duration::from_secs(args.timeout))
            .build()?
            .get(&url)
            .send()
            .await
    });
    match result {
        Ok(r) if r.status().is_success() => {
            println!("{url}: {}", r.status());
            Ok(ExitCode::SUCCESS)
        }
        Ok(r) => {
            eprintln!("{url}: unhealthy ({})", r.status());
            Ok(ExitCode::FAILURE)
        }
        Err(e) => {
            eprintln!("{url}: unreachable ({e})");
            Ok(ExitCode::FAILURE)
        }
    }
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
