//! tracemart's embedded telemetry console: an OTLP receiver (gRPC on 4317, HTTP on 4318), a
//! bounded in-memory store, the analysis an APM does, and a JSON API and page on 8090.

pub mod analysis;
pub mod api;
pub mod bench;
pub mod browser;
pub mod messaging;
pub mod receiver;
pub mod store;
pub mod validate;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use tokio::sync::watch;

pub use store::Limits;
use store::Store;

#[derive(Debug, Clone)]
pub struct ConsoleConfig {
    pub api: SocketAddr,
    pub otlp_grpc: SocketAddr,
    pub otlp_http: SocketAddr,
    pub limits: Limits,
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        Self {
            api: SocketAddr::from(([127, 0, 0, 1], 8090)),
            otlp_grpc: SocketAddr::from(([127, 0, 0, 1], 4317)),
            otlp_http: SocketAddr::from(([127, 0, 0, 1], 4318)),
            limits: Limits::default(),
        }
    }
}

/// The console, running on a runtime of its own.
pub struct RunningConsole {
    pub api: SocketAddr,
    pub otlp_grpc: SocketAddr,
    pub otlp_http: SocketAddr,
    pub store: Arc<Mutex<Store>>,
    targets: Arc<std::sync::RwLock<api::Targets>>,
    stop: watch::Sender<bool>,
    thread: Option<JoinHandle<()>>,
}

impl RunningConsole {
    /// Connects the pages' scenario and load panels to a shop.
    pub fn connect(&self, targets: api::Targets) {
        *self.targets.write().unwrap_or_else(|e| e.into_inner()) = targets;
    }

    pub fn stop(mut self) {
        let _ = self.stop.send(true);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn bind(addr: SocketAddr, what: &str) -> anyhow::Result<std::net::TcpListener> {
    let l = std::net::TcpListener::bind(addr).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AddrInUse {
            anyhow::anyhow!(
                "port {} for the console's {what} is already in use",
                addr.port()
            )
        } else {
            anyhow::anyhow!("cannot listen on {addr} for the console's {what}: {e}")
        }
    })?;
    l.set_nonblocking(true)?;
    Ok(l)
}

/// Binds the three listeners (a taken port is an error here), then serves until stopped.
pub fn start(config: ConsoleConfig) -> anyhow::Result<RunningConsole> {
    let api = bind(config.api, "web UI and API")?;
    let grpc = bind(config.otlp_grpc, "OTLP/gRPC receiver")?;
    let http = bind(config.otlp_http, "OTLP/HTTP receiver")?;
    let (api_addr, grpc_addr, http_addr) =
        (api.local_addr()?, grpc.local_addr()?, http.local_addr()?);
    let store = Arc::new(Mutex::new(Store::new(config.limits)));
    let (stop, stopped) = watch::channel(false);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("console")
        .enable_all()
        .build()?;
    let shared = store.clone();
    let targets = Arc::new(std::sync::RwLock::new(api::Targets::default()));
    let proxy = api::Proxy {
        targets: targets.clone(),
        http: telemetry::tls::client_builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()?,
    };
    let thread = std::thread::Builder::new()
        .name("console".to_owned())
        .spawn(move || {
            runtime.block_on(async move {
                let until = |mut rx: watch::Receiver<bool>| async move {
                    let _ = rx.wait_for(|s| *s).await;
                };
                let api = tokio::net::TcpListener::from_std(api).map(|l| {
                    axum::serve(
                        l,
                        api::router(shared.clone()).merge(api::proxy_router(proxy)),
                    )
                    .with_graceful_shutdown(until(stopped.clone()))
                });
                let http = tokio::net::TcpListener::from_std(http).map(|l| {
                    axum::serve(l, receiver::http_router(shared.clone()))
                        .with_graceful_shutdown(until(stopped.clone()))
                });
                let grpc = tokio::net::TcpListener::from_std(grpc).map(|l| {
                    tonic::transport::Server::builder()
                        .add_routes(receiver::grpc_routes(shared.clone()))
                        .serve_with_incoming_shutdown(tokio_stream(l), until(stopped.clone()))
                });
                match (api, http, grpc) {
                    (Ok(a), Ok(h), Ok(g)) => {
                        let _ = tokio::join!(a.into_future(), h.into_future(), g);
                    }
                    _ => tracing::error!("the console could not start its listeners"),
                }
            });
        })?;
    Ok(RunningConsole {
        api: api_addr,
        otlp_grpc: grpc_addr,
        otlp_http: http_addr,
        store,
        targets,
        stop,
        thread: Some(thread),
    })
}

/// tonic serves a stream of connections; a tokio listener becomes one here.
fn tokio_stream(
    listener: tokio::net::TcpListener,
) -> impl futures_core::Stream<Item = std::io::Result<tokio::net::TcpStream>> {
    futures_util::stream::unfold(listener, |l| async move {
        Some((l.accept().await.map(|(s, _)| s), l))
    })
}
