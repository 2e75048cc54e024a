//! Expanding command-line paths into files: commands that take `PATH…` (`fmt`, `test`) accept
//! files as given and search directories recursively for files with their suffix; `check`
//! finds policies, each a file or a package folder ([`find_policies`]).
use std::path::{Path, PathBuf};

use super::CliError;

/// The files named by `paths`: each file as given, and every file under each directory whose
/// name ends with `suffix`, in sorted order. Symbolic links to files are followed; a link to a
/// directory inside a searched directory is refused (never skipped), so a link cycle cannot loop
/// forever and a linked folder cannot be left out unseen.
pub fn find_files(paths: &[PathBuf], suffix: &str) -> Result<Vec<PathBuf>, CliError> {
    let mut found = Vec::new();
    for path in paths {
        let metadata = std::fs::metadata(path).map_err(|source| read_error(path, source))?;
        if metadata.is_dir() {
            search(path, suffix, &mut found)?;
        } else {
            found.push(path.clone());
        }
    }
    Ok(found)
}

fn search(dir: &Path, suffix: &str, found: &mut Vec<PathBuf>) -> Result<(), CliError> {
    for (path, kind) in sorted_entries(dir)? {
        if kind == Kind::Dir {
            search(&path, suffix, found)?;
        } else if kind == Kind::File && has_suffix(&path, suffix) {
            found.push(path);
        }
    }
    Ok(())
}

/// The policies named by `paths`, for `check`: each file as given; a directory that holds
/// `.warrant` files itself is one package (one policy over several files); any other directory
/// is a folder of policies, whose sub-directories are searched in turn (so `policies/`, one
/// sub-folder per policy, checks each of them). Sorted; links are treated as [`find_files`]
/// treats them. A folder may not be both a package and a folder of packages
/// ([`package_files`] refuses it), so a stray file at the top cannot hide the packages below.
pub fn find_policies(paths: &[PathBuf]) -> Result<Vec<PathBuf>, CliError> {
    let mut found = Vec::new();
    for path in paths {
        let metadata = std::fs::metadata(path).map_err(|source| read_error(path, source))?;
        if metadata.is_dir() {
            search_policies(path, &mut found)?;
        } else {
            found.push(path.clone());
        }
    }
    Ok(found)
}

fn search_policies(dir: &Path, found: &mut Vec<PathBuf>) -> Result<(), CliError> {
    let entries = sorted_entries(dir)?;
    if entries.iter().any(is_policy_file) {
        package_files(dir)?;
        found.push(dir.to_path_buf());
        return Ok(());
    }
    for (path, kind) in entries {
        if kind == Kind::Dir {
            search_policies(&path, found)?;
        }
    }
    Ok(())
}

/// The files of a package folder: the `.warrant` files directly inside `dir`, sorted. A
/// sub-folder holding `.warrant` files (at any depth) is an error naming `dir`: such a folder
/// would be one package to `build`/`eval` but hide a folder of packages from `check`.
pub fn package_files(dir: &Path) -> Result<Vec<PathBuf>, CliError> {
    let entries = sorted_entries(dir)?;
    for (path, kind) in &entries {
        if *kind == Kind::Dir && holds_policies(path)? {
            return Err(CliError::PackageAndFolder { dir: dir.to_path_buf(), nested: path.clone() });
        }
    }
    Ok(entries.into_iter().filter(is_policy_file).map(|(path, _)| path).collect())
}

/// Whether `dir` or any folder below it holds a `.warrant` file.
fn holds_policies(dir: &Path) -> Result<bool, CliError> {
    let entries = sorted_entries(dir)?;
    if entries.iter().any(is_policy_file) {
        return Ok(true);
    }
    for (path, kind) in entries {
        if kind == Kind::Dir && holds_policies(&path)? {
            return Ok(true);
        }
    }
    Ok(false)
}

fn is_policy_file((path, kind): &(PathBuf, Kind)) -> bool {
    *kind == Kind::File && has_suffix(path, POLICY_SUFFIX)
}

/// The suffix of policy source files.
pub const POLICY_SUFFIX: &str = ".warrant";

/// What a directory entry is, links resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A regular file, or a symbolic link to one.
    File,
    /// A directory (never a link to one: those are refused).
    Dir,
    /// Anything else (a socket, a device): never a policy or a test file.
    Other,
}

/// The entries of `dir` sorted by name, each with its [`Kind`]. A symbolic link is followed to
/// what it points to: a link to a file counts as that file (a package's shared deny rules may
/// be a link), a link to a directory or a broken link is an error naming the entry, never
/// skipped (skipping could leave deny rules out of a package that then builds and allows).
fn sorted_entries(dir: &Path) -> Result<Vec<(PathBuf, Kind)>, CliError> {
    let entries = std::fs::read_dir(dir).map_err(|source| read_error(dir, source))?;
    let mut entries =
        entries.map(|entry| entry.map_err(|source| read_error(dir, source))).collect::<Result<Vec<_>, _>>()?;
    entries.sort_by_key(|entry| entry.file_name());
    entries
        .into_iter()
        .map(|entry| {
            let path = entry.path();
            let kind = entry.file_type().map_err(|source| read_error(&path, source))?;
            let kind = if kind.is_symlink() { linked_kind(&path)? } else { kind_of(&kind) };
            Ok((path, kind))
        })
        .collect()
}

/// The kind of what the link at `path` points to; a link to a directory is refused.
fn linked_kind(path: &Path) -> Result<Kind, CliError> {
    let metadata = std::fs::metadata(path).map_err(|source| read_error(path, source))?;
    if metadata.is_dir() {
        return Err(CliError::LinkedDirectory { path: path.to_path_buf() });
    }
    Ok(kind_of(&metadata.file_type()))
}

fn kind_of(kind: &std::fs::FileType) -> Kind {
    if kind.is_file() {
        Kind::File
    } else if kind.is_dir() {
        Kind::Dir
    } else {
        Kind::Other
    }
}

fn has_suffix(path: &Path, suffix: &str) -> bool {
    path.file_name().is_some_and(|name| name.to_string_lossy().ends_with(suffix))
}

fn read_error(path: &Path, source: std::io::Error) -> CliError {
    CliError::Read { path: path.to_path_buf(), source }
}
