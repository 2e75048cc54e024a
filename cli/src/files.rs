//! Expanding command-line paths into files: commands that take `PATH…` (`fmt`, `test`) accept
//! files as given and search directories recursively for files with their suffix; `check`
//! finds policies, each a file or a package folder ([`find_policies`]).
use std::path::{Path, PathBuf};

use super::CliError;

/// The files named by `paths`: each file as given, and every file under each directory whose
/// name ends with `suffix`, in sorted order. Symbolic links to directories are not followed,
/// so a link cycle cannot loop forever.
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
        if kind.is_dir() {
            search(&path, suffix, found)?;
        } else if kind.is_file() && has_suffix(&path, suffix) {
            found.push(path);
        }
    }
    Ok(())
}

/// The policies named by `paths`, for `check`: each file as given; a directory that holds
/// `.warrant` files itself is one package (one policy over several files); any other directory
/// is a folder of policies, whose sub-directories are searched in turn (so `policies/`, one
/// sub-folder per policy, checks each of them). Sorted; links to directories are not followed.
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
    if entries.iter().any(|(path, kind)| kind.is_file() && has_suffix(path, POLICY_SUFFIX)) {
        found.push(dir.to_path_buf());
        return Ok(());
    }
    for (path, kind) in entries {
        if kind.is_dir() {
            search_policies(&path, found)?;
        }
    }
    Ok(())
}

/// The files of a package folder: the `.warrant` files directly inside `dir`, sorted.
pub fn package_files(dir: &Path) -> Result<Vec<PathBuf>, CliError> {
    let entries = sorted_entries(dir)?.into_iter();
    Ok(entries.filter(|(path, kind)| kind.is_file() && has_suffix(path, POLICY_SUFFIX)).map(|(path, _)| path).collect())
}

/// The suffix of policy source files.
pub const POLICY_SUFFIX: &str = ".warrant";

/// The entries of `dir` sorted by name, each with its type (links not followed).
fn sorted_entries(dir: &Path) -> Result<Vec<(PathBuf, std::fs::FileType)>, CliError> {
    let entries = std::fs::read_dir(dir).map_err(|source| read_error(dir, source))?;
    let mut entries =
        entries.map(|entry| entry.map_err(|source| read_error(dir, source))).collect::<Result<Vec<_>, _>>()?;
    entries.sort_by_key(|entry| entry.file_name());
    entries
        .into_iter()
        .map(|entry| {
            let path = entry.path();
            entry.file_type().map(|kind| (path.clone(), kind)).map_err(|source| read_error(&path, source))
        })
        .collect()
}

fn has_suffix(path: &Path, suffix: &str) -> bool {
    path.file_name().is_some_and(|name| name.to_string_lossy().ends_with(suffix))
}

fn read_error(path: &Path, source: std::io::Error) -> CliError {
    CliError::Read { path: path.to_path_buf(), source }
}
