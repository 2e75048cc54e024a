//! Policies over several files: one package may be a folder of `.warrant` files compiled into
//! one program, as a Rego package spans files, so that a team can split a policy by concern.
//!
//! Every file starts with the same `package` line, and the rules of all files share one
//! namespace. The files, sorted by name, are joined (each followed by a line break) into one
//! text that the ordinary pipeline checks and lowers; every diagnostic is then mapped back to
//! the file it points into, and every rule line to its own file's numbering. A single file
//! compiles exactly as [`crate::compile`] does, version included.
use sha2::{Digest, Sha256};

use crate::ast::{Ident, Policy, Span, Statement};
use crate::diagnostics::{Diagnostics, Error, ErrorKind};
use crate::explain::{explain, Because, ConditionReport, Explanation};
use crate::ir::{Program, RuleKind};
use crate::request::Request;
use crate::warnings::{lint, Warnings};
use crate::{check, parser};

/// One file of a package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    /// The file's name inside the package folder (`policy.warrant`): it orders the files, is
    /// part of the policy version, and, after the folder, names the file in diagnostics.
    pub name: String,
    /// The file's text.
    pub text: String,
}

/// A compiled package: the program, which file each of its rules comes from (an IR rule only
/// carries its line, so that the IR and the module's manifest stay one-file shaped), and the
/// warnings about its text.
#[derive(Debug, Clone)]
pub struct CompiledPackage {
    /// The program of all files together; rule lines count in each rule's own file.
    pub program: Program,
    /// For each rule of `program`, in order, the display name of the file that defines it.
    pub rule_files: Vec<String>,
    /// What compiled but is probably not what the author meant ([`crate::warnings::lint`]).
    pub warnings: Warnings,
}

impl CompiledPackage {
    /// The display name of the file defining rule `index` of the program.
    pub fn file_of(&self, index: usize) -> Option<&str> {
        self.rule_files.get(index).map(String::as_str)
    }

    /// [`explain`] on this package; when it has several files, each report names its rule's file.
    pub fn explain(&self, request: &Request, data: &serde_json::Value) -> Explanation {
        let mut explanation = explain(&self.program, request, data);
        if self.rule_files.iter().any(|file| self.rule_files.first() != Some(file)) {
            let files = self.program.rules.iter().zip(&self.rule_files);
            let files = files.filter(|(rule, _)| !matches!(rule.kind, RuleKind::Helper)).map(|(_, file)| file);
            for (report, file) in explanation.rules.iter_mut().zip(files) {
                report.file = Some(file.clone());
                if let Some(failed) = &mut report.failed {
                    self.name_helper_files(failed);
                }
            }
        }
        explanation
    }

    /// Names the file of every helper rule a failure report goes into.
    fn name_helper_files(&self, report: &mut ConditionReport) {
        match &mut report.because {
            Some(Because::Helper { rule, file, failed, .. }) => {
                let index = self.program.rules.iter().position(|r| r.name == *rule);
                *file = index.and_then(|index| self.file_of(index)).map(str::to_string);
                self.name_helper_files(failed);
            }
            Some(Because::Actors { failures }) => {
                for failure in failures {
                    self.name_helper_files(&mut failure.failed);
                }
            }
            Some(Because::Alternatives { failures }) => {
                for failure in failures {
                    self.name_helper_files(&mut failure.failed);
                }
            }
            None => {}
        }
    }
}

/// Compiles the files of one package. `origin` is the package folder as it should be shown
/// (diagnostics name each file `origin/name`; empty for files named as they are). Fails with
/// every error found: each file's syntax and `package` line first, then the checks of the
/// whole. Files that declare different packages, or a rule defined in two files, are errors
/// naming both files. A file name holding a NUL byte or a path separator, or two files with
/// one name, is refused first (`warrant::invalid-file-name`): names order the files and are
/// part of the version ([`package_hash`]), so they must be plain and unique.
pub fn compile_files(origin: &str, files: &[SourceFile]) -> Result<CompiledPackage, Diagnostics> {
    let mut sorted: Vec<&SourceFile> = files.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    let names: Vec<String> = sorted.iter().map(|file| display_name(origin, &file.name)).collect();
    let name_errors = file_name_errors(&sorted);
    if !name_errors.is_empty() {
        let shown = sorted.iter().map(|file| display_name(origin, &file.name.escape_debug().to_string()));
        let pairs: Vec<(String, &str)> = shown.zip(sorted.iter().map(|file| file.text.as_str())).collect();
        return Err(Diagnostics::in_files(origin, &pairs, name_errors));
    }
    match (sorted.as_slice(), names.as_slice()) {
        ([], _) => {
            let error = Error::new(ErrorKind::MissingPackage, Span::new(0, 0), "no policy file", "no `.warrant` file")
                .with_help("a package folder holds one or more `.warrant` files");
            Err(Diagnostics::in_files(origin, &[], vec![(0, error)]))
        }
        ([only], [name]) => {
            let (program, policy) = crate::compile_one(&only.text, name)?;
            let rule_files = vec![name.clone(); program.rules.len()];
            let found = lint(&policy).into_iter().map(|warning| (0, warning)).collect();
            let warnings = Warnings::in_files(&[(name.clone(), only.text.as_str())], found);
            Ok(CompiledPackage { program, rule_files, warnings })
        }
        _ => compile_joined(origin, &sorted, &names),
    }
}

/// First bytes hashed for a package of several files: `0xFF` never starts UTF-8 text, so no
/// single policy's text (hashed alone) can produce the same bytes, whatever it holds.
const PACKAGE_HASH_DOMAIN: &[u8] = b"\xffwarrant-package-v1";

/// The policy version of a package: lowercase hex SHA-256. One file keeps the version of
/// [`crate::compile`]: the SHA-256 of its text alone. Several files hash the byte `0xFF` and
/// `warrant-package-v1`, the file count, then, over the files sorted by name (and text, so that
/// even duplicate names, which [`compile_files`] refuses, do not make it order-dependent), each
/// name and each text preceded by its length in bytes; every number is a big-endian `u64`.
pub fn package_hash(files: &[SourceFile]) -> String {
    let mut sorted: Vec<&SourceFile> = files.iter().collect();
    sorted.sort_by(|a, b| (&a.name, &a.text).cmp(&(&b.name, &b.text)));
    if let [only] = sorted.as_slice() {
        return crate::lower::source_hash(&only.text);
    }
    let length = |bytes: &[u8]| (bytes.len() as u64).to_be_bytes();
    let mut hasher = Sha256::new();
    hasher.update(PACKAGE_HASH_DOMAIN);
    hasher.update((sorted.len() as u64).to_be_bytes());
    for file in sorted {
        for part in [file.name.as_bytes(), file.text.as_bytes()] {
            hasher.update(length(part));
            hasher.update(part);
        }
    }
    hasher.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// The errors of file names (files sorted by name): a NUL byte or a path separator in a name,
/// a name given twice. Each points at the start of its file.
fn file_name_errors(sorted: &[&SourceFile]) -> Vec<(usize, Error)> {
    let help = "a package's files are named as in their folder: no NUL byte, `/` or `\\`, each name once";
    let mut errors = Vec::new();
    for (index, file) in sorted.iter().enumerate() {
        let name = file.name.escape_debug();
        let problem = if file.name.contains('\0') {
            Some(format!("the file name \"{name}\" holds a NUL byte"))
        } else if file.name.contains(['/', '\\']) {
            Some(format!("the file name \"{name}\" holds a path separator"))
        } else if index.checked_sub(1).and_then(|before| sorted.get(before)).is_some_and(|b| b.name == file.name) {
            Some(format!("two files are named \"{name}\""))
        } else {
            None
        };
        if let Some(message) = problem {
            let error = Error::new(ErrorKind::InvalidFileName, Span::new(0, 0), message, "this file");
            errors.push((index, error.with_help(help)));
        }
    }
    errors
}

fn display_name(origin: &str, name: &str) -> String {
    if origin.is_empty() || origin.ends_with('/') {
        format!("{origin}{name}")
    } else {
        format!("{origin}/{name}")
    }
}

/// Where each file starts in the joined text, by byte and by line.
struct Layout {
    starts: Vec<usize>,
    first_lines: Vec<u32>,
}

impl Layout {
    /// The file a byte offset of the joined text falls in.
    fn file_at(&self, offset: usize) -> usize {
        self.starts.partition_point(|&start| start <= offset).saturating_sub(1)
    }

    /// The file a line of the joined text falls in, and the line in that file.
    fn locate_line(&self, line: u32) -> (usize, u32) {
        let file = self.first_lines.partition_point(|&first| first <= line).saturating_sub(1);
        let first = self.first_lines.get(file).copied().unwrap_or(1);
        (file, line.saturating_sub(first).saturating_add(1))
    }

    /// `error` (in joined-text coordinates) moved into the file it points into.
    fn relocate(&self, mut error: Error, names: &[String]) -> (usize, Error) {
        let file = self.file_at(error.span.start);
        let start = self.starts.get(file).copied().unwrap_or(0);
        error.span = Span::new(error.span.start.saturating_sub(start), error.span.end.saturating_sub(start));
        error.message = self.relocate_lines(&error.message, file, names);
        error.label = self.relocate_lines(&error.label, file, names);
        error.help = error.help.map(|help| self.relocate_lines(&help, file, names));
        (file, error)
    }

    /// Rewrites the `line N` references of a message (the checker words earlier places so:
    /// "first defined on line 3") to the line in its file, naming the file when it is not
    /// `here`.
    fn relocate_lines(&self, text: &str, here: usize, names: &[String]) -> String {
        const WORD: &str = "line ";
        let mut out = String::new();
        let mut rest = text;
        while let Some((before, after)) = rest.find(WORD).and_then(|at| rest.split_at_checked(at + WORD.len())) {
            out.push_str(before);
            let digits = after.len() - after.trim_start_matches(|c: char| c.is_ascii_digit()).len();
            let (number, tail) = after.split_at_checked(digits).unwrap_or(("", after));
            match number.parse::<u32>() {
                Ok(line) => {
                    let (file, local) = self.locate_line(line);
                    out.push_str(&local.to_string());
                    if let Some(name) = names.get(file).filter(|_| file != here) {
                        out.push_str(&format!(" of {name}"));
                    }
                }
                Err(_) => out.push_str(number),
            }
            rest = tail;
        }
        out.push_str(rest);
        out
    }
}

/// Several files: each one parsed and its `package` line checked on its own (so a syntax
/// error stays in its file), then all of them together.
fn compile_joined(origin: &str, files: &[&SourceFile], names: &[String]) -> Result<CompiledPackage, Diagnostics> {
    let pairs: Vec<(String, &str)> = names.iter().cloned().zip(files.iter().map(|f| f.text.as_str())).collect();
    let fail = |errors| Diagnostics::in_files(origin, &pairs, errors);
    let mut errors = Vec::new();
    let mut packages: Vec<(usize, Ident)> = Vec::new();
    let mut found_warnings = Vec::new();
    for (index, file) in files.iter().enumerate() {
        match parser::parse(&file.text) {
            Ok(policy) => {
                let mut found = Vec::new();
                check::check_package(&policy, &mut found);
                errors.extend(found.into_iter().map(|error| (index, error)));
                packages.extend(first_package(&policy).map(|ident| (index, ident.clone())));
                found_warnings.extend(lint(&policy).into_iter().map(|warning| (index, warning)));
            }
            Err(error) => errors.push((index, error)),
        }
    }
    if let Some((first_file, first)) = packages.first() {
        for (index, package) in packages.iter().skip(1).filter(|(_, p)| p.name != first.name) {
            errors.push((*index, different_package(package, first, names.get(*index), names.get(*first_file))));
        }
    }
    if !errors.is_empty() {
        return Err(fail(errors));
    }
    let mut joined = String::new();
    let mut starts = Vec::new();
    for file in files {
        starts.push(joined.len());
        joined.push_str(&file.text);
        joined.push('\n');
    }
    let first_lines = starts.iter().map(|&start| check::line_of(&joined, start)).collect();
    let layout = Layout { starts, first_lines };
    let relocate_all = |errors: Vec<Error>| errors.into_iter().map(|e| layout.relocate(e, names)).collect();
    let mut policy = parser::parse(&joined).map_err(|error| fail(relocate_all(vec![error])))?;
    let mut seen_package = false;
    policy.statements.retain(|s| !matches!(s, Statement::Package(_)) || !std::mem::replace(&mut seen_package, true));
    let mut program = crate::compile_parsed(&policy, &joined).map_err(|errors| fail(relocate_all(errors)))?;
    let mut rule_files = Vec::with_capacity(program.rules.len());
    for rule in &mut program.rules {
        let (file, line) = layout.locate_line(rule.line);
        rule.line = line;
        rule_files.push(names.get(file).cloned().unwrap_or_default());
    }
    let owned: Vec<SourceFile> = files.iter().map(|&file| file.clone()).collect();
    program.source_hash = package_hash(&owned);
    Ok(CompiledPackage { program, rule_files, warnings: Warnings::in_files(&pairs, found_warnings) })
}

fn first_package(policy: &Policy) -> Option<&Ident> {
    policy.statements.iter().find_map(|statement| match statement {
        Statement::Package(ident) => Some(ident),
        Statement::Rule(_) => None,
    })
}

fn different_package(package: &Ident, first: &Ident, file: Option<&String>, first_file: Option<&String>) -> Error {
    let (file, first_file) = (file.map_or("", String::as_str), first_file.map_or("", String::as_str));
    Error::new(
        ErrorKind::DuplicatePackage,
        package.span,
        format!("{file} declares package `{}` but {first_file} declares `{}`", package.name, first.name),
        "another package",
    )
    .with_help(
        "every file of a package folder starts with the same `package` line; another package needs its own folder",
    )
}
