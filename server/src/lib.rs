//! `warrant serve`: the policy enforcement point any gateway can call without writing Rust.
//!
//! Transports over one [`warrant::Gateway`] (verified token → request → decision → audit):
//!
//! - Envoy ext_authz: gRPC `envoy.service.auth.v3.Authorization/Check` on `[listen] grpc`, and
//!   the `http_service` mode under `[ext_authz] http_path_prefix` on the HTTP listener;
//! - the JSON decision API (`POST /v1/decide`, `/v1/decide/token`, `/v1/decide/batch`);
//! - `/health`, `/ready`, `/metrics` (Prometheus).
//!
//! The transports own the wire formats and the limits; how a decision is computed is the
//! gateway's alone, so every transport decides, audits and refuses revoked requests alike.
//! Start one with [`start`] (tests, embedding) or [`run`] (the `warrant serve` command).
mod bearer;
pub mod config;
mod error;
mod ext_authz;
mod http;
pub mod loader;
mod metrics;
mod state;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use config::{ConfigError, ServerConfig};
pub use error::ServeError;
use state::AppState;

/// A started server: its bound addresses, and the handle that stops it.
pub struct RunningServer {
    http_addr: SocketAddr,
    grpc_addr: Option<SocketAddr>,
    state: Arc<AppState>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<Result<(), ServeError>>>,
}

impl RunningServer {
    /// Where the HTTP listener is bound (the real port when the configuration said `:0`).
    pub fn http_addr(&self) -> SocketAddr {
        self.http_addr
    }

    /// Where the gRPC (ext_authz) listener is bound, when `[listen] grpc` is set.
    pub fn grpc_addr(&self) -> Option<SocketAddr> {
        self.grpc_addr
    }

    /// The version of the policy in force.
    pub fn policy_version(&self) -> warrant::PolicyVersion {
        self.state.gateway.policy_version()
    }

    /// Stops accepting connections, lets requests in flight finish, flushes the audit log.
    pub async fn shutdown(self) -> Result<(), ServeError> {
        let _ = self.stop.send(true);
        self.join().await
    }

    /// Waits for SIGINT or SIGTERM, then shuts down gracefully.
    pub async fn run_until_signal(self) -> Result<(), ServeError> {
        wait_for_stop_signal().await;
        tracing::info!("stop signal received: finishing requests in flight");
        self.shutdown().await
    }

    async fn join(self) -> Result<(), ServeError> {
        let mut result = Ok(());
        for task in self.tasks {
            let outcome = task.await.map_err(|error| ServeError::Runtime(error.to_string())).and_then(|r| r);
            if result.is_ok() {
                result = outcome;
            }
        }
        if let Some(log) = self.state.gateway.audit_log() {
            if let Err(error) = log.flush() {
                tracing::error!(%error, "audit log not flushed at shutdown");
            }
        }
        result
    }
}

/// Loads everything `config` names, binds the listeners and starts serving.
pub async fn start(config: ServerConfig) -> Result<RunningServer, ServeError> {
    config.validate()?;
    let state = AppState::load(config)?;
    let (stop, stopped) = watch::channel(false);
    let http = bind(state.config.listen.http).await?;
    let http_addr = local_addr(&http, state.config.listen.http)?;
    let router = http::router(Arc::clone(&state));
    let grpc = match state.config.listen.grpc {
        Some(address) => {
            let listener = bind(address).await?;
            let grpc_addr = local_addr(&listener, address)?;
            Some((listener, grpc_addr))
        }
        None => None,
    };
    let grpc_addr = grpc.as_ref().map(|(_, address)| *address);
    let mut tasks = vec![tokio::spawn(serve(http, router, stopped.clone()))];
    if let Some((listener, _)) = grpc {
        tasks.push(tokio::spawn(serve(listener, ext_authz::grpc::router(Arc::clone(&state)), stopped.clone())));
    }
    let version = state.gateway.policy_version();
    tracing::info!(%http_addr, ?grpc_addr, package = %version.package, hash = %version.hash, "warrant serve listening");
    Ok(RunningServer { http_addr, grpc_addr, state, stop, tasks })
}

/// Serves `router` on `listener` until `stopped` turns true, then lets requests in flight finish.
async fn serve(
    listener: TcpListener,
    router: axum::Router,
    mut stopped: watch::Receiver<bool>,
) -> Result<(), ServeError> {
    axum::serve(listener, router)
        .with_graceful_shutdown(async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        })
        .await
        .map_err(|error| ServeError::Runtime(error.to_string()))
}

/// Runs a server on a new multi-threaded runtime until SIGINT or SIGTERM.
pub fn run(config: ServerConfig) -> Result<(), ServeError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|error| ServeError::Runtime(error.to_string()))?;
    runtime.block_on(async {
        let server = start(config).await?;
        server.run_until_signal().await
    })
}

async fn bind(address: SocketAddr) -> Result<TcpListener, ServeError> {
    TcpListener::bind(address).await.map_err(|source| ServeError::Bind { address, source })
}

fn local_addr(listener: &TcpListener, address: SocketAddr) -> Result<SocketAddr, ServeError> {
    listener.local_addr().map_err(|source| ServeError::Bind { address, source })
}

async fn wait_for_stop_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(signal) => signal,
            Err(_) => {
                let _ = interrupt.await;
                return;
            }
        };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}
