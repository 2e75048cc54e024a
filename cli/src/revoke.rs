//! `warrant revoke FILE [--instance ID]… [--client-id ID]… [--jti ID]… [--expires WHEN | --lift]`:
//! adds revocations to a revocation file (or lifts them), creating it if needed, prunes the
//! entries that have lapsed, and prints what it now holds. A gateway applies the file with
//! `RevocationSet::from_json_str` and `Gateway::replace_revocations`, without recompiling.
//!
//! Concurrent writers do not lose each other's entries, and readers never see a partial file:
//! the read-modify-write holds an exclusive advisory lock on `FILE.lock` (a file beside it that
//! is never renamed or removed, so every writer locks the same inode), writes a temporary file
//! of its own in the same directory, syncs it, renames it over `FILE`, then syncs the directory.
use std::fs::{File, OpenOptions, TryLockError};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::{ArgGroup, Args};
use warrant::audit::parse_time_ms;
use warrant::revocation::{Expiry, Revocation, RevocationSet, MAX_EXPIRY};

use super::eval::unix_now;
use super::input::{read_text, MAX_DATA_BYTES};
use super::CliError;

/// How often a writer retries a lock another writer holds.
const LOCK_RETRY: Duration = Duration::from_millis(10);

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("ids").multiple(true).args(["instances", "client_ids", "jtis"])))]
pub struct RevokeArgs {
    /// The revocation file to update.
    file: PathBuf,
    /// An agent instance to revoke (repeatable).
    #[arg(long = "instance")]
    instances: Vec<String>,
    /// An OAuth client to revoke: every token issued to it (repeatable).
    #[arg(long = "client-id")]
    client_ids: Vec<String>,
    /// A token to revoke, by `jti` (repeatable).
    #[arg(long = "jti")]
    jtis: Vec<String>,
    /// When these revocations lapse: a duration from now (`90s`, `15m`, `2h`, `7d`) or a time
    /// (Unix seconds or RFC 3339 UTC). Default: never (until lifted).
    #[arg(long, value_parser = parse_expires, requires = "ids", conflicts_with = "lift")]
    expires: Option<i64>,
    /// Lift the named revocations instead of adding them.
    #[arg(long, requires = "ids")]
    lift: bool,
    /// Seconds to wait for another writer's lock before giving up.
    #[arg(long, default_value_t = 10)]
    lock_timeout: u64,
}

/// Updates the file under its lock; on any error the file is left as it was.
pub fn run(args: &RevokeArgs) -> Result<(), CliError> {
    let _lock = lock_beside(&args.file, Duration::from_secs(args.lock_timeout))?;
    let mut set = match read_file(&args.file) {
        Err(CliError::Read { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => RevocationSet::default(),
        read => read?.pruned(unix_now()),
    };
    let revocations = (args.instances.iter().cloned().map(Revocation::Instance))
        .chain(args.client_ids.iter().cloned().map(Revocation::ClientId))
        .chain(args.jtis.iter().cloned().map(Revocation::Jti));
    let expiry = args.expires.map_or(Expiry::Never, Expiry::At);
    for revocation in revocations {
        set = if args.lift { set.without(revocation) } else { set.with_expiry(revocation, expiry) };
    }
    let text = set
        .to_json_string()
        .map_err(|e| CliError::Write { path: args.file.clone(), source: std::io::Error::other(e) })?;
    write_atomically(&args.file, &text)?;
    println!(
        "{}: {} instance(s), {} client(s), {} token(s) revoked",
        args.file.display(),
        set.instances.len(),
        set.client_ids.len(),
        set.jtis.len()
    );
    Ok(())
}

/// Reads a revocation file (at most [`MAX_DATA_BYTES`]), for `revoke` and `eval --revocations`.
pub(super) fn read_file(path: &Path) -> Result<RevocationSet, CliError> {
    let text = read_text(path, "revocation files", MAX_DATA_BYTES)?;
    RevocationSet::from_json_str(&text).map_err(|source| CliError::Revocations { path: path.to_path_buf(), source })
}

/// `--expires`: a duration from now or a time, as Unix seconds; must be in the future and
/// no later than [`MAX_EXPIRY`].
fn parse_expires(text: &str) -> Result<i64, String> {
    expires_at(text, unix_now())
}

fn expires_at(text: &str, now: i64) -> Result<i64, String> {
    let at = match duration_seconds(text) {
        Some(seconds) => seconds.and_then(|seconds| now.checked_add(seconds)),
        // Rounded up: a revocation never ends before the time asked for.
        None => match parse_time_ms(text) {
            Some(ms) => i64::try_from(ms.div_ceil(1000)).ok(),
            None => {
                return Err(format!(
                    "`{text}` is neither a duration (90s, 15m, 2h, 7d) nor a time (Unix seconds or RFC 3339 UTC)"
                ))
            }
        },
    };
    match at {
        Some(at) if at <= now => Err(format!("`{text}` is not in the future")),
        Some(at) if at <= MAX_EXPIRY => Ok(at),
        _ => Err(format!("`{text}` is later than 9999-12-31T23:59:59Z")),
    }
}

/// `N` followed by a unit (`s`, `m`, `h`, `d`) as seconds: `None` if `text` is not of that
/// shape, `Some(None)` if it is but overflows.
fn duration_seconds(text: &str) -> Option<Option<i64>> {
    let unit = text.chars().last()?;
    let seconds = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3_600,
        'd' => 86_400,
        _ => return None,
    };
    let digits = text.strip_suffix(unit)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(digits.parse::<i64>().ok().and_then(|n| n.checked_mul(seconds)))
}

/// Holds an exclusive lock on `PATH.lock` until dropped, waiting up to `timeout` for it.
fn lock_beside(path: &Path, timeout: Duration) -> Result<File, CliError> {
    let mut lock_path = path.as_os_str().to_owned();
    lock_path.push(".lock");
    let lock_path = PathBuf::from(lock_path);
    let lock_error = |source| CliError::Write { path: lock_path.clone(), source };
    let lock = OpenOptions::new().create(true).truncate(false).write(true).open(&lock_path).map_err(lock_error)?;
    let deadline = Instant::now() + timeout;
    loop {
        match lock.try_lock() {
            Ok(()) => return Ok(lock),
            Err(TryLockError::Error(source)) => return Err(lock_error(source)),
            Err(TryLockError::WouldBlock) if Instant::now() >= deadline => {
                return Err(CliError::Locked { path: lock_path, seconds: timeout.as_secs() })
            }
            Err(TryLockError::WouldBlock) => std::thread::sleep(LOCK_RETRY),
        }
    }
}

/// Writes `text` to a temporary file of this process beside `path`, syncs it, renames it over
/// `path` and syncs the directory: a reader sees the old file or the new one, never part of
/// one, and after a crash the file is one or the other. The file keeps its permissions.
fn write_atomically(path: &Path, text: &str) -> Result<(), CliError> {
    let write_error = |source| CliError::Write { path: path.to_path_buf(), source };
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let mut builder = tempfile::Builder::new();
    builder.prefix(".warrant-revoke-").suffix(".tmp");
    if let Some(permissions) = permissions_for(path) {
        builder.permissions(permissions);
    }
    let mut temporary = builder.tempfile_in(directory).map_err(write_error)?;
    temporary.write_all(text.as_bytes()).map_err(write_error)?;
    temporary.as_file().sync_all().map_err(write_error)?;
    temporary.persist(path).map_err(|error| write_error(error.error))?;
    sync_directory(directory).map_err(write_error)
}

/// The mode of the file being replaced or, for a new file, what a plain create gives
/// (`0666` less the umask) rather than the temporary file's private `0600`.
fn permissions_for(path: &Path) -> Option<std::fs::Permissions> {
    if let Ok(metadata) = std::fs::metadata(path) {
        return Some(metadata.permissions());
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        Some(std::fs::Permissions::from_mode(0o666))
    }
    #[cfg(not(unix))]
    None
}

/// Makes the rename durable (POSIX); elsewhere the rename is all there is.
fn sync_directory(directory: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    File::open(directory)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = directory;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_700_000_000;

    #[test]
    fn expiries_are_durations_or_times_in_the_future() {
        assert_eq!(expires_at("90s", NOW), Ok(NOW + 90));
        assert_eq!(expires_at("2h", NOW), Ok(NOW + 7_200));
        assert_eq!(expires_at("7d", NOW), Ok(NOW + 604_800));
        assert_eq!(expires_at("1700000100", NOW), Ok(1_700_000_100));
        assert_eq!(expires_at("2023-11-14T22:15:00.5Z", NOW), Ok(1_700_000_101), "rounded up");
    }

    #[test]
    fn malformed_past_and_overflowing_expiries_are_refused() {
        for bad in ["", "h", "2 h", "-2h", "2w", "1.5h", "+2h", "2hh", "soon", "2026-13-01T00:00:00Z"] {
            let error = expires_at(bad, NOW).unwrap_err();
            assert!(error.contains("neither a duration"), "{bad}: {error}");
        }
        for past in ["0s", "1699999999", "1700000000", "2000-01-01T00:00:00Z"] {
            assert!(expires_at(past, NOW).unwrap_err().contains("not in the future"), "{past}");
        }
        for huge in ["99999999999999999999d", "9223372036854775807s", "106751991167300d", "253402300800"] {
            assert!(expires_at(huge, NOW).unwrap_err().contains("later than 9999"), "{huge}");
        }
        assert_eq!(expires_at("253402300799", NOW), Ok(MAX_EXPIRY));
    }
}
