//! The Warrant policy language: grammar → AST → checks → IR, plus the reference evaluator.
//!
//! [`compile`] runs the whole front end; the modules are public for tools (formatter,
//! explainer, tests) that need one stage.
pub mod ast;
pub mod check;
pub mod data_shape;
pub mod diagnostics;
pub mod escapes;
pub mod eval;
pub mod explain;
pub mod fmt;
pub mod ir;
pub mod limits;
pub mod lower;
pub mod package;
pub mod parser;
pub mod reason;
pub mod regex_dfa;
pub mod request;
pub mod rule_graph;
mod satisfiable;
pub mod suggest;
#[cfg(test)]
mod test_words;
pub mod text;
mod types;
pub mod undecided;
pub mod warnings;

pub use diagnostics::Diagnostics;
pub use package::{compile_files, CompiledPackage, SourceFile};

/// Compiles policy text to the IR. `origin` names the source in diagnostics (a file path).
/// On failure every error found is returned: a syntax error stops at the first one, the
/// semantic checks report all they find.
pub fn compile(source: &str, origin: &str) -> Result<ir::Program, Diagnostics> {
    compile_one(source, origin).map(|(program, _)| program)
}

/// [`compile`], also returning the syntax tree (for [`warnings::lint`]).
fn compile_one(source: &str, origin: &str) -> Result<(ir::Program, ast::Policy), Diagnostics> {
    let fail = |errors| Diagnostics::new(source, origin, errors);
    let policy = parser::parse(source).map_err(|e| fail(vec![e]))?;
    let program = compile_parsed(&policy, source).map_err(fail)?;
    Ok((program, policy))
}

/// The checks and lowering of [`compile`] on a parsed policy; `source` is the text its spans
/// point into (one file, or the files of a package joined by [`package`]).
fn compile_parsed(policy: &ast::Policy, source: &str) -> Result<ir::Program, Vec<diagnostics::Error>> {
    let too_large = limits::check_limits(policy);
    if !too_large.is_empty() {
        return Err(too_large);
    }
    let (checked, mut errors) = check::check_partial(policy, source);
    let program = lower::lower(&checked, source);
    errors.extend(satisfiable::check(&program, &checked, source));
    if errors.is_empty() {
        Ok(program)
    } else {
        Err(errors)
    }
}
