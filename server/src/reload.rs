//! Reloading the policy and its data while serving: on SIGHUP, when the files change (polled
//! every `policy.watch_interval_ms` when `policy.watch` is on), and on
//! [`crate::RunningServer::reload`].
//!
//! A reload reads and compiles the new policy and data off the request path, then swaps them
//! in together ([`warrant::Gateway::reload`]): a decision sees the old pair or the new pair,
//! never a mix. A policy that does not compile, data the policy refuses or a file that changed
//! while it was read is refused, logged with the error, and the policy in force keeps serving.
//! Each reload is logged with the old and new content hashes of the policy and of the data.
//! SIGHUP and [`crate::RunningServer::reload`] also re-read every issuer's `jwks_file`: a key
//! file that cannot be read or is refused is logged and the keys in force stay.
//!
//! The watcher polls each file's size, modification time and inode (a rename-into-place
//! changes the inode even when the size and time do not), and reloads only once a change has
//! stayed the same for one whole interval, so a file still being written is not read.
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};
use tokio::sync::watch;
use warrant::{GatewayError, PolicyVersion};

use crate::loader::{self, LoadError};
use crate::state::AppState;

/// Why a reload was refused. The policy and data in force are unchanged.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReloadError {
    /// The policy or data could not be read, parsed or compiled.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// The policy refused the data, or the data's revocation lists are malformed.
    #[error("the new policy refused its data: {0}")]
    Gateway(#[from] GatewayError),
    /// A file changed while it was being read (a write in progress): tried again at the next
    /// change, or by the next SIGHUP.
    #[error("{path} changed while it was being read")]
    Unstable {
        /// The file.
        path: PathBuf,
    },
    /// The reload task could not run.
    #[error("reload: {0}")]
    Runtime(String),
}

/// A reload that took effect: the policy and data hashes before and after.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Reloaded {
    /// The policy that was in force.
    pub previous: PolicyVersion,
    /// The policy now in force.
    pub current: PolicyVersion,
    /// Hex SHA-256 of the data file that was in force; none without a data file.
    pub previous_data_hash: Option<String>,
    /// Hex SHA-256 of the data file now in force.
    pub data_hash: Option<String>,
}

/// What started a reload, as logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Trigger {
    /// SIGHUP.
    Signal,
    /// The watcher saw the files change.
    FileChange,
    /// [`crate::RunningServer::reload`].
    Api,
}

impl Trigger {
    fn name(self) -> &'static str {
        match self {
            Trigger::Signal => "sighup",
            Trigger::FileChange => "file_change",
            Trigger::Api => "api",
        }
    }
}

/// The state of one file as the watcher sees it; `None` fields: the file is missing.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stamp {
    path: PathBuf,
    len: Option<u64>,
    modified: Option<SystemTime>,
    inode: u64,
}

/// The stamps of every file a reload reads.
type Fingerprint = Vec<Stamp>;

/// Serialises reloads and remembers what the last one read.
pub(crate) struct Reloader {
    state: Arc<AppState>,
    last: Mutex<Last>,
}

struct Last {
    /// The files as the last reload attempt (or the start) found them: the watcher reloads
    /// when they differ, and does not retry a refused state until it changes again.
    seen: Fingerprint,
    /// The data hash in force.
    data_hash: Option<String>,
}

impl Reloader {
    /// Remembers the files as they are now (just loaded by [`AppState::load`]) and sets the
    /// `warrant_policy_info` gauge for the policy in force.
    pub(crate) fn new(state: Arc<AppState>) -> Reloader {
        let seen = fingerprint(&state);
        let data_hash = state
            .config
            .policy
            .data
            .as_deref()
            .and_then(|path| loader::read_capped(path, loader::MAX_DATA_BYTES).ok())
            .map(|bytes| hex_sha256(&bytes));
        state.metrics.policy_in_force(None, &state.gateway.policy_version());
        Reloader { state, last: Mutex::new(Last { seen, data_hash }) }
    }

    /// Reads, compiles and swaps in the policy and data; logs and counts the outcome.
    pub(crate) fn reload(&self, trigger: Trigger) -> Result<Reloaded, ReloadError> {
        if trigger != Trigger::FileChange {
            self.reload_key_files();
        }
        let mut last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
        let before = fingerprint(&self.state);
        let attempt = self.load_and_swap(&before, last.data_hash.clone());
        if !matches!(attempt, Err(ReloadError::Unstable { .. })) {
            // What was read; a file that was still changing is left for the watcher to retry.
            last.seen = before;
        }
        match attempt {
            Ok(reloaded) => {
                tracing::info!(
                    trigger = trigger.name(),
                    package = %reloaded.current.package,
                    old_hash = %reloaded.previous.hash,
                    new_hash = %reloaded.current.hash,
                    old_data_hash = reloaded.previous_data_hash.as_deref().unwrap_or("-"),
                    new_data_hash = reloaded.data_hash.as_deref().unwrap_or("-"),
                    "policy reloaded"
                );
                self.state.metrics.reload_done(true);
                self.state.metrics.policy_in_force(Some(&reloaded.previous), &reloaded.current);
                last.data_hash = reloaded.data_hash.clone();
                Ok(reloaded)
            }
            Err(error) => {
                let version = self.state.gateway.policy_version();
                tracing::error!(
                    trigger = trigger.name(),
                    %error,
                    package = %version.package,
                    hash = %version.hash,
                    "reload refused: the policy in force keeps serving"
                );
                self.state.metrics.reload_done(false);
                Err(error)
            }
        }
    }

    /// Re-reads each issuer's `jwks_file` and swaps its keys in (the verifier checks them as at
    /// start); a refused file is logged and the keys in force stay.
    fn reload_key_files(&self) {
        let Some(verifier) = &self.state.verifier else { return };
        for issuer in &self.state.config.issuers {
            let Some(path) = &issuer.jwks_file else { continue };
            let replaced = warrant::token::KeySource::jwks_file(path)
                .and_then(|keys| verifier.replace_keys(&issuer.issuer, vec![keys]));
            match replaced {
                Ok(()) => tracing::info!(issuer = %issuer.issuer, path = %path.display(), "key file re-read"),
                Err(error) => tracing::error!(
                    issuer = %issuer.issuer,
                    path = %path.display(),
                    %error,
                    "key file refused: the keys in force stay"
                ),
            }
        }
    }

    fn load_and_swap(&self, before: &Fingerprint, previous_data_hash: Option<String>) -> Result<Reloaded, ReloadError> {
        let config = &self.state.config.policy;
        let policy = loader::load_policy(&self.state.engine, &config.path)?;
        let (data, data_hash) = match config.data.as_deref() {
            None => (serde_json::Value::Object(serde_json::Map::new()), None),
            Some(path) => {
                let bytes = loader::read_capped(path, loader::MAX_DATA_BYTES)?;
                let data = serde_json::from_slice(&bytes)
                    .map_err(|source| LoadError::Json { path: path.to_path_buf(), source })?;
                (data, Some(hex_sha256(&bytes)))
            }
        };
        if let Some(changed) = first_difference(before, &fingerprint(&self.state)) {
            return Err(ReloadError::Unstable { path: changed });
        }
        let previous = self.state.gateway.policy_version();
        self.state.gateway.reload(&policy, data)?;
        let current = self.state.gateway.policy_version();
        Ok(Reloaded { previous, current, previous_data_hash, data_hash })
    }

    /// One watcher step: `pending` is the changed state seen at the previous step, if any.
    /// Reloads when the files differ from the last reload's and have not moved since `pending`.
    fn watch_step(&self, pending: &mut Option<Fingerprint>) {
        let now = fingerprint(&self.state);
        let unchanged = self.last.lock().unwrap_or_else(PoisonError::into_inner).seen == now;
        if unchanged {
            *pending = None;
        } else if pending.as_ref() == Some(&now) {
            *pending = None;
            let _ = self.reload(Trigger::FileChange);
        } else {
            *pending = Some(now);
        }
    }
}

/// Runs [`Reloader::reload`] off the async workers (compiling a policy takes milliseconds).
pub(crate) async fn reload_blocking(reloader: &Arc<Reloader>, trigger: Trigger) -> Result<Reloaded, ReloadError> {
    let reloader = Arc::clone(reloader);
    tokio::task::spawn_blocking(move || reloader.reload(trigger))
        .await
        .map_err(|error| ReloadError::Runtime(error.to_string()))?
}

/// Polls the policy and data files until `stopped` turns true.
pub(crate) async fn watch_files(reloader: Arc<Reloader>, interval: Duration, mut stopped: watch::Receiver<bool>) {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut pending = None;
    loop {
        tokio::select! {
            () = stop_requested(&mut stopped) => return,
            _ = ticks.tick() => {}
        }
        let step = Arc::clone(&reloader);
        let mut state = pending.take();
        match tokio::task::spawn_blocking(move || {
            step.watch_step(&mut state);
            state
        })
        .await
        {
            Ok(next) => pending = next,
            Err(error) => tracing::error!(%error, "policy file watcher step failed"),
        }
    }
}

/// Reloads on every SIGHUP until `stopped` turns true.
#[cfg(unix)]
pub(crate) async fn reload_on_hangup(
    reloader: Arc<Reloader>,
    mut hangup: tokio::signal::unix::Signal,
    mut stopped: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            () = stop_requested(&mut stopped) => return,
            received = hangup.recv() => {
                if received.is_none() {
                    return;
                }
                tracing::info!("SIGHUP received: reloading the policy and data");
                let _ = reload_blocking(&reloader, Trigger::Signal).await;
            }
        }
    }
}

/// Completes when `stopped` turns true (or its sender is gone); its output holds no lock guard,
/// so a `select!` over it stays `Send`.
async fn stop_requested(stopped: &mut watch::Receiver<bool>) {
    let _ = stopped.wait_for(|stop| *stop).await;
}

fn fingerprint(state: &AppState) -> Fingerprint {
    let config = &state.config.policy;
    let mut paths = loader::policy_paths(&config.path);
    paths.extend(config.data.iter().cloned());
    paths.iter().map(PathBuf::as_path).map(stamp).collect()
}

fn stamp(path: &Path) -> Stamp {
    match std::fs::metadata(path) {
        Err(_) => Stamp { path: path.to_path_buf(), len: None, modified: None, inode: 0 },
        Ok(metadata) => Stamp {
            path: path.to_path_buf(),
            len: Some(metadata.len()),
            modified: metadata.modified().ok(),
            inode: inode(&metadata),
        },
    }
}

#[cfg(unix)]
fn inode(metadata: &std::fs::Metadata) -> u64 {
    std::os::unix::fs::MetadataExt::ino(metadata)
}

#[cfg(not(unix))]
fn inode(_metadata: &std::fs::Metadata) -> u64 {
    0
}

/// The first file whose stamp differs between `before` and `after` (or that appeared or vanished).
fn first_difference(before: &Fingerprint, after: &Fingerprint) -> Option<PathBuf> {
    if before == after {
        return None;
    }
    let differing = before.iter().zip(after).find(|(old, new)| old != new).map(|(old, _)| old.path.clone());
    differing.or_else(|| after.first().map(|stamp| stamp.path.clone()))
}

fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|byte| format!("{byte:02x}")).collect()
}
