//! `tracemart bench-target`: a trivial HTTP server for load benchmarks — `GET` of any path
//! answers 200 "ok", `POST /v1/*` accepts and discards OTLP.

use std::net::SocketAddr;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(long, default_value = "127.0.0.1:8099")]
    listen: SocketAddr,
    /// Worker threads.
    #[arg(long, default_value_t = 1)]
    workers: usize,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.workers.max(1))
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let app = axum::Router::new()
            .route("/v1/{signal}", axum::routing::post(|| async { "" }))
            .fallback(|| async { "ok" });
        let listener = tokio::net::TcpListener::bind(args.listen).await?;
        eprintln!("bench target on http://{}", listener.local_addr()?);
        axum::serve(listener, app).await?;
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(ExitCode::SUCCESS)
}
