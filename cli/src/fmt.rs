//! `warrant fmt [--check] PATH…`: rewrite policies in the canonical layout, or (`--check`, for
//! CI) list the ones that are not in it and fail.
use std::path::{Path, PathBuf};

use clap::Args;

use super::files::find_files;
use super::input::{read_text, MAX_POLICY_BYTES};
use super::CliError;

#[derive(Debug, Args)]
pub struct FmtArgs {
    /// Policy files, or directories searched recursively for `*.warrant`.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Change nothing: list the files that are not formatted and exit with 1 if there are any.
    #[arg(long)]
    check: bool,
}

/// What happened to one file.
enum Outcome {
    AlreadyFormatted,
    Reformatted,
    /// Unreadable or not valid syntax; the reason is already printed.
    Failed,
}

pub fn run(args: &FmtArgs) -> Result<(), CliError> {
    let files = find_files(&args.paths, ".warrant")?;
    let (mut changed, mut failed) = (0, 0);
    for path in &files {
        match format_one(path, args.check) {
            Outcome::AlreadyFormatted => {}
            Outcome::Reformatted => changed += 1,
            Outcome::Failed => failed += 1,
        }
    }
    if failed > 0 {
        return Err(CliError::CheckFailed { failed, total: files.len() });
    }
    if args.check && changed > 0 {
        return Err(CliError::NotFormatted { count: changed });
    }
    Ok(())
}

fn format_one(path: &Path, check: bool) -> Outcome {
    let source = match read_text(path, "policy sources", MAX_POLICY_BYTES) {
        Ok(source) => source,
        Err(error) => {
            eprintln!("error: {error}");
            return Outcome::Failed;
        }
    };
    let formatted = match warrant_lang::fmt::format(&source, &path.display().to_string()) {
        Ok(formatted) => formatted,
        Err(diagnostics) => {
            eprint!("{}", diagnostics.render());
            return Outcome::Failed;
        }
    };
    if formatted == source {
        return Outcome::AlreadyFormatted;
    }
    if check {
        println!("not formatted: {}", path.display());
        if let Some((line, want)) = first_difference(&source, &formatted) {
            println!("  line {line}: expected `{want}`");
        }
        return Outcome::Reformatted;
    }
    match replace(path, &formatted) {
        Ok(()) => {
            println!("formatted {}", path.display());
            Outcome::Reformatted
        }
        Err(error) => {
            eprintln!("error: {error}");
            Outcome::Failed
        }
    }
}

/// The first line (1-based) where `formatted` differs from `source`, and its formatted text.
fn first_difference<'f>(source: &str, formatted: &'f str) -> Option<(usize, &'f str)> {
    let mut theirs = source.lines();
    formatted.lines().enumerate().find_map(|(index, want)| (theirs.next() != Some(want)).then_some((index + 1, want)))
}

/// Writes a sibling temporary file, then renames it over `path`: an interrupted run leaves
/// either the old text or the new, never half of a policy.
fn replace(path: &Path, text: &str) -> Result<(), CliError> {
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".fmt-tmp");
    let temporary = PathBuf::from(temporary);
    let write_error = |source| CliError::Write { path: path.to_path_buf(), source };
    std::fs::write(&temporary, text).map_err(write_error)?;
    std::fs::rename(&temporary, path).map_err(|source| {
        let _ = std::fs::remove_file(&temporary);
        CliError::Write { path: path.to_path_buf(), source }
    })
}
