//! `warrant serve`: the policy enforcement point any gateway can call without writing Rust.
//!
//! Transports over one [`warrant::Gateway`] (verified token → request → decision → audit):
//!
//! - Envoy ext_authz: gRPC `envoy.service.auth.v3.Authorization/Check` on `[listen] grpc`, and
//!   the `http_service` mode under `[ext_authz] http_path_prefix` on the HTTP listener;
//! - the JSON decision API (`POST /v1/decide`, `/v1/decide/token`, `/v1/decide/batch`);
//! - the MCP gateway (`[mcp]`): an MCP server behind this one, every JSON-RPC message decided,
//!   list answers filtered, the client's token never passed on;
//! - `/health`, `/ready`, `/metrics` (Prometheus);
//! - reloads of the policy and data on SIGHUP, on a change of their files and on
//!   [`RunningServer::reload`], atomic and refused when the new policy or data is bad.
//!
//! The transports own the wire formats and the limits; how a decision is computed is the
//! gateway's alone, so every transport decides, audits and refuses revoked requests alike.
//! Start one with [`start`] (tests, embedding) or [`run`] (the `warrant serve` command).
mod bearer;
mod challenge;
pub mod config;
mod error;
mod ext_authz;
mod http;
pub mod keys;
mod listener;
pub mod loader;
mod mcp;
mod metrics;
mod reload;
mod state;
mod tls;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use config::{ConfigError, ServerConfig};
pub use error::ServeError;
pub use reload::{ReloadError, Reloaded};
use reload::{Reloader, Trigger};
use state::AppState;

/// A started server: its bound addresses, and the handle that stops it.
pub struct RunningServer {
    http_addr: SocketAddr,
    grpc_addr: Option<SocketAddr>,
    state: Arc<AppState>,
    reloader: Arc<Reloader>,
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

    /// Reloads the policy and data files now, as SIGHUP does: both swapped in together, or
    /// (on any error, which is returned and logged) neither, the policy in force serving on.
    pub async fn reload(&self) -> Result<Reloaded, ReloadError> {
        reload::reload_blocking(&self.reloader, Trigger::Api).await
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
    let tls = state.config.listen.tls.as_ref().map(tls::acceptor).transpose()?;
    let http = listener::bind(state.config.listen.http)?;
    let http_addr = local_addr(&http, state.config.listen.http)?;
    let router = http::router(Arc::clone(&state));
    let grpc = match state.config.listen.grpc {
        Some(address) => {
            let listener = listener::bind(address)?;
            let grpc_addr = local_addr(&listener, address)?;
            Some((listener, grpc_addr))
        }
        None => None,
    };
    let grpc_addr = grpc.as_ref().map(|(_, address)| *address);
    let grpc_tls = tls.clone();
    let limits = state.config.limits.clone();
    let http_metrics = state.metrics.listener("http");
    let mut tasks = start_key_refresh(&state, &stopped).await;
    let http_stopped = stopped.clone();
    tasks.push(tokio::spawn(
        async move { listener::serve(http, router, &limits, tls, http_metrics, http_stopped).await },
    ));
    if let Some((listener, _)) = grpc {
        let (limits, metrics, stopped) = (state.config.limits.clone(), state.metrics.listener("grpc"), stopped.clone());
        let router = ext_authz::grpc::router(Arc::clone(&state));
        tasks.push(tokio::spawn(async move {
            listener::serve(listener, router, &limits, grpc_tls, metrics, stopped).await
        }));
    }
    let reloader = Arc::new(Reloader::new(Arc::clone(&state)));
    tasks.extend(start_reloading(&state, &reloader, &stopped)?);
    let version = state.gateway.policy_version();
    tracing::info!(%http_addr, ?grpc_addr, package = %version.package, hash = %version.hash, "warrant serve listening");
    Ok(RunningServer { http_addr, grpc_addr, state, reloader, stop, tasks })
}

/// The SIGHUP handler (installed before `start` returns, so a SIGHUP never kills the process)
/// and, when `policy.watch` is on, the file watcher; both end when `stopped` turns true.
fn start_reloading(
    state: &AppState,
    reloader: &Arc<Reloader>,
    stopped: &watch::Receiver<bool>,
) -> Result<Vec<JoinHandle<Result<(), ServeError>>>, ServeError> {
    let mut tasks = Vec::new();
    #[cfg(unix)]
    {
        let hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
            .map_err(|error| ServeError::Runtime(format!("cannot handle SIGHUP: {error}")))?;
        let (reloader, stopped) = (Arc::clone(reloader), stopped.clone());
        tasks.push(tokio::spawn(async move {
            reload::reload_on_hangup(reloader, hangup, stopped).await;
            Ok(())
        }));
    }
    if state.config.policy.watch {
        let interval = std::time::Duration::from_millis(state.config.policy.watch_interval_ms);
        let (reloader, stopped) = (Arc::clone(reloader), stopped.clone());
        tasks.push(tokio::spawn(async move {
            reload::watch_files(reloader, interval, stopped).await;
            Ok(())
        }));
    }
    Ok(tasks)
}

/// Runs a server on a new multi-threaded runtime until SIGINT or SIGTERM.
pub fn run(config: ServerConfig) -> Result<(), ServeError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|error| ServeError::Runtime(error.to_string()))?;
    runtime.block_on(async {
        let server = start(config).await?;
        // For scripts and tests that asked for port 0: the one line that names the real port.
        let tls = server.state.config.listen.tls.is_some();
        eprintln!("listening on {}://{}", if tls { "https" } else { "http" }, server.http_addr());
        if let Some(grpc) = server.grpc_addr() {
            eprintln!("listening on grpc{}://{grpc}", if tls { "s" } else { "" });
        }
        server.run_until_signal().await
    })
}

/// One task per remote issuer: the first fetch (awaited here, each bounded by its timeouts, so
/// the server starts even when an issuer is down), then a refresh every `refresh_seconds`
/// until the server stops.
async fn start_key_refresh(
    state: &Arc<AppState>,
    stopped: &watch::Receiver<bool>,
) -> Vec<JoinHandle<Result<(), ServeError>>> {
    let count = match (&state.key_sets, &state.verifier) {
        (Some(key_sets), Some(_)) => key_sets.len(),
        _ => return Vec::new(),
    };
    let (first_done, mut first_fetches) = tokio::sync::mpsc::channel::<()>(count.max(1));
    let mut tasks = Vec::with_capacity(count);
    for index in 0..count {
        tasks.push(tokio::spawn(refresh_keys(Arc::clone(state), index, stopped.clone(), first_done.clone())));
    }
    drop(first_done);
    // Ends when every task has reported its first fetch (or ended).
    while first_fetches.recv().await.is_some() {}
    tasks
}

/// Issuer `index`'s task: first fetch (then reports on `first_done`), then the schedule.
async fn refresh_keys(
    state: Arc<AppState>,
    index: usize,
    mut stopped: watch::Receiver<bool>,
    first_done: tokio::sync::mpsc::Sender<()>,
) -> Result<(), ServeError> {
    let (Some(key_sets), Some(verifier)) = (&state.key_sets, &state.verifier) else { return Ok(()) };
    let Some(period) = key_sets.refresh_period(index) else { return Ok(()) };
    tokio::select! {
        () = key_sets.fetch_at_start(index, verifier) => {}
        _ = stopped.wait_for(|stop| *stop) => return Ok(()),
    }
    let _ = first_done.send(()).await;
    drop(first_done);
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = stopped.wait_for(|stop| *stop) => return Ok(()),
        }
        // A fetch in flight is abandoned at shutdown rather than awaited.
        tokio::select! {
            () = key_sets.fetch_on_schedule(index, verifier) => {}
            _ = stopped.wait_for(|stop| *stop) => return Ok(()),
        }
    }
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
