//! Expanding command-line paths into files: commands that take `PATH…` (`fmt`, `test`) accept
//! files as given and search directories recursively for files with their suffix.
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
    let entries = std::fs::read_dir(dir).map_err(|source| read_error(dir, source))?;
    let mut entries =
        entries.map(|entry| entry.map_err(|source| read_error(dir, source))).collect::<Result<Vec<_>, _>>()?;
    entries.sort_by_key(|entry| entry.file_name());
    for entry in entries {
        let path = entry.path();
        let kind = entry.file_type().map_err(|source| read_error(&path, source))?;
        if kind.is_dir() {
            search(&path, suffix, found)?;
        } else if kind.is_file() && entry.file_name().to_string_lossy().ends_with(suffix) {
            found.push(path);
        }
    }
    Ok(())
}

fn read_error(path: &Path, source: std::io::Error) -> CliError {
    CliError::Read { path: path.to_path_buf(), source }
}
