//! The files generated from the ABI's one Rust definition (`warrant_wasm::abi::constants`, the
//! vocabulary `warrant_lang::ir::Field::spec`): the JS and Python hosts' constant modules and
//! the tables of `ABI.md` and `docs/language.md` (between `BEGIN GENERATED` / `END GENERATED`
//! markers). Each test fails when its file is stale; `UPDATE=1 cargo test -p warrant-wasm
//! --test generated` rewrites them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, missing_docs)]
use std::fmt::Write as _;
use std::path::PathBuf;

use warrant_lang::ir::{Field, FieldOrigin, Ty};
use warrant_lang::request::DEFAULT_INSTANCE_CLAIM;
use warrant_wasm::abi::{constants, ConstValue, Constant, SLOT_TYPES};

const REGENERATE: &str = "UPDATE=1 cargo test -p warrant-wasm --test generated";

/// The JS host's constants and vocabulary.
const JS_PATH: &str = "hosts/js/abi.generated.mjs";
/// The Python host's constants and vocabulary.
const PYTHON_PATH: &str = "hosts/python/warrant_wasm/abi_generated.py";
/// The ABI's reference document (tables only; the prose is written by hand).
const ABI_MD_PATH: &str = "wasm-guest/ABI.md";
/// The language reference (the vocabulary table only).
const LANGUAGE_MD_PATH: &str = "docs/language.md";

/// Compares `path` (from the workspace root) with `expected`, or writes it under `UPDATE=1`.
fn check_or_update(path: &str, expected: &str) {
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join(path);
    if std::env::var_os("UPDATE").is_some_and(|v| v == "1") {
        if let Some(dir) = file.parent() {
            std::fs::create_dir_all(dir).unwrap();
        }
        std::fs::write(&file, expected).unwrap();
        return;
    }
    let actual = std::fs::read_to_string(&file).unwrap_or_default();
    if actual != expected {
        let common = actual.lines().zip(expected.lines()).take_while(|(a, e)| a == e).count();
        let line = common + 1;
        panic!("{path} is stale (first difference at line {line}): run `{REGENERATE}`");
    }
}

/// The doc comment as one line of plain text (rustdoc link brackets dropped).
fn doc_text(constant: &Constant) -> String {
    let text: Vec<&str> = constant.doc.iter().map(|line| line.trim()).collect();
    text.join(" ").replace("[`", "`").replace("`]", "`")
}

/// A value as a JS / Python literal (strings are JSON strings, valid in both).
fn literal(value: ConstValue, list: (&str, &str)) -> String {
    match value {
        ConstValue::Int(n) => n.to_string(),
        ConstValue::Str(s) => serde_json::to_string(s).unwrap(),
        ConstValue::StrList(items) => {
            let items: Vec<String> = items.iter().map(|s| serde_json::to_string(s).unwrap()).collect();
            format!("{}{}{}", list.0, items.join(", "), list.1)
        }
    }
}

/// The manifest name of `ty` (`SLOT_TYPES` lists them in `Ty`'s declaration order).
fn ty_name(ty: Ty) -> &'static str {
    SLOT_TYPES[ty as usize]
}

/// One vocabulary field as the hosts' object/dict literal: `name`, `ty` (the manifest's type
/// names), `claim` (the claim it is read from; `null` for the instance claim, which is
/// configurable, and for call fields) `from` (`claim`, `instance_claim` or `call`) and
/// `string_is_list` (a string claim is a space-separated list rather than one element).
fn vocabulary_entries(null: &str, bool_lit: fn(bool) -> &'static str) -> Vec<String> {
    Field::ALL
        .iter()
        .map(|field| {
            let spec = field.spec();
            let (from, claim) = match spec.origin {
                FieldOrigin::Claim(claim) => ("claim", serde_json::to_string(claim).unwrap()),
                FieldOrigin::InstanceClaim => ("instance_claim", null.to_string()),
                FieldOrigin::Call => ("call", null.to_string()),
            };
            format!(
                r#"{{"name": "{}", "ty": "{}", "from": "{from}", "claim": {claim}, "string_is_list": {}}}"#,
                spec.name,
                ty_name(spec.ty),
                bool_lit(spec.string_is_list)
            )
        })
        .collect()
}

fn render_js() -> String {
    let mut out = format!(
        "// GENERATED from wasm-guest/src/abi.rs and lang/src/ir.rs by `{REGENERATE}`. Do not edit.\n\
         // The ABI constants of wasm-guest/ABI.md and the request vocabulary, for the JS host.\n"
    );
    let mut group = "";
    for constant in constants() {
        if constant.group != group {
            group = constant.group;
            writeln!(out, "\n// {group}").unwrap();
        }
        let value = literal(constant.value, ("Object.freeze([", "])"));
        writeln!(out, "/** {} */\nexport const {} = {value};", doc_text(&constant), constant.name).unwrap();
    }
    out.push_str(
        "\n// vocabulary\n/**\n * The request fields the language names, in vocabulary order: `name`, `ty` (a manifest type),\n \
         * `from` (`claim`, `instance_claim`: the configurable instance claim, or `call`: the request's\n \
         * top-level key `name`), `claim` (for `from: \"claim\"`), `string_is_list` (a string claim is a\n \
         * space-separated list rather than one element).\n */\nexport const VOCABULARY = Object.freeze([\n",
    );
    for entry in vocabulary_entries("null", |b| if b { "true" } else { "false" }) {
        writeln!(out, "  Object.freeze({entry}),").unwrap();
    }
    out.push_str("]);\n");
    out
}

fn render_python() -> String {
    let mut out = format!(
        "\"\"\"GENERATED from wasm-guest/src/abi.rs and lang/src/ir.rs by `{REGENERATE}`. Do not edit.\n\n\
         The ABI constants of wasm-guest/ABI.md and the request vocabulary, for the Python host.\n\"\"\"\n\n\
         from typing import Final\n"
    );
    let mut group = "";
    for constant in constants() {
        if constant.group != group {
            group = constant.group;
            writeln!(out, "\n# {group}").unwrap();
        }
        let value = literal(constant.value, ("(", ")"));
        writeln!(out, "{}: Final = {value}\n\"\"\"{}\"\"\"", constant.name, doc_text(&constant)).unwrap();
    }
    out.push_str("\n# vocabulary\nVOCABULARY: Final = (\n");
    for entry in vocabulary_entries("None", |b| if b { "True" } else { "False" }) {
        writeln!(out, "    {entry},").unwrap();
    }
    out.push_str(
        ")\n\"\"\"The request fields the language names, in vocabulary order: `name`, `ty` (a manifest type),\n\
         `from` (`claim`, `instance_claim`: the configurable instance claim, or `call`: the request's\n\
         top-level key `name`), `claim` (for `from: \"claim\"`), `string_is_list` (a string claim is a\n\
         space-separated list rather than one element).\"\"\"\n",
    );
    out
}

/// Escapes `|` for a Markdown table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

/// The Markdown table of one constant group.
fn constants_table(group: &str) -> String {
    let mut out = String::from("| constant | value | meaning |\n|---|---|---|\n");
    for constant in constants().iter().filter(|c| c.group == group) {
        let value = match constant.value {
            ConstValue::Int(n) if n >= 1 << 20 && n.count_ones() == 1 => format!("{n} (2^{})", n.trailing_zeros()),
            other => literal(other, ("", "")),
        };
        writeln!(out, "| `{}` | `{}` | {} |", constant.name, value, cell(&doc_text(constant))).unwrap();
    }
    out
}

/// The Markdown table of the request vocabulary.
fn vocabulary_table() -> String {
    let mut out = String::from("| Name | Type | Source |\n|---|---|---|\n");
    for field in Field::ALL {
        let spec = field.spec();
        let ty = match spec.ty {
            Ty::Str => "string",
            Ty::Int => "integer",
            Ty::Bool => "boolean",
            Ty::StrSet => "set",
        };
        let origin = match spec.origin {
            FieldOrigin::Claim(claim) => format!("claim `{claim}`"),
            FieldOrigin::InstanceClaim => {
                format!("the instance claim (default `{DEFAULT_INSTANCE_CLAIM}`, configurable)")
            }
            FieldOrigin::Call => format!("the call: request key `{}`", spec.name),
        };
        writeln!(out, "| `{}` | {ty} (`{}`) | {origin}: {} |", spec.name, ty_name(spec.ty), cell(spec.doc)).unwrap();
    }
    out
}

/// `text` with the lines between the `name` markers replaced by `table`.
fn splice(text: &str, path: &str, name: &str, table: &str) -> String {
    let begin = format!("<!-- BEGIN GENERATED {name}: {REGENERATE} -->\n");
    let end = format!("<!-- END GENERATED {name} -->");
    let start = text.find(&begin).unwrap_or_else(|| panic!("{path}: no `{}` marker", begin.trim())) + begin.len();
    let stop = start + text[start..].find(&end).unwrap_or_else(|| panic!("{path}: no `{end}` marker"));
    format!("{}{table}{}", &text[..start], &text[stop..])
}

/// `path` with every listed table spliced in.
fn spliced(path: &str, tables: &[(String, String)]) -> String {
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join(path);
    let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{path}: {e}"));
    tables.iter().fold(text, |text, (name, table)| splice(&text, path, name, table))
}

/// Every constant group, in declaration order.
fn groups() -> Vec<&'static str> {
    let mut groups: Vec<&str> = constants().iter().map(|c| c.group).collect();
    groups.dedup();
    groups
}

#[test]
fn js_abi_module_is_current() {
    check_or_update(JS_PATH, &render_js());
}

#[test]
fn python_abi_module_is_current() {
    check_or_update(PYTHON_PATH, &render_python());
}

#[test]
fn abi_md_tables_are_current() {
    let mut tables: Vec<(String, String)> =
        groups().into_iter().map(|group| (format!("abi:{group}"), constants_table(group))).collect();
    tables.push(("vocabulary".into(), vocabulary_table()));
    check_or_update(ABI_MD_PATH, &spliced(ABI_MD_PATH, &tables));
}

#[test]
fn language_md_vocabulary_is_current() {
    check_or_update(LANGUAGE_MD_PATH, &spliced(LANGUAGE_MD_PATH, &[("vocabulary".into(), vocabulary_table())]));
}

#[test]
fn constant_names_are_unique() {
    let mut names: Vec<&str> = constants().iter().map(|c| c.name).collect();
    let count = names.len();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), count);
}
