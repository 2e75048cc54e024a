//! End to end: policy text through `compile` to the IR, and the IR's documented invariants.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, missing_docs)]
use std::collections::HashSet;

use warrant_lang::compile;
use warrant_lang::ir::{ActorField, ActorRef, Cond, Expr, Field, RuleKind, Slot, Source, Ty};

const BILLING: &str = include_str!("policies/billing.warrant");

fn slot_ty(program: &warrant_lang::ir::Program, source: Source) -> Option<Ty> {
    program.slots.iter().find(|s| s.source == source).map(|s| s.ty)
}

#[test]
fn the_reference_example_compiles_with_inferred_types() {
    let program = compile(BILLING, "billing.warrant").unwrap_or_else(|d| panic!("{}", d.render()));
    assert_eq!(program.package, "billing");
    assert_eq!(program.rules.len(), 3);
    assert_eq!(program.rules[0].kind, RuleKind::Helper);
    assert_eq!(program.rules[1].line, 8);
    assert_eq!(program.rules[1].body.len(), 11);
    assert_eq!(program.rules[1].body_text[1], "chain.depth <= 2");
    assert_eq!(program.rules[2].kind, RuleKind::Deny { reason: "delegation chain deeper than 3".into() });
    assert_eq!(program.rules[1].body[0], Cond::Rule(0));

    assert_eq!(slot_ty(&program, Source::Claim(vec!["tenant".into()])), Some(Ty::Str));
    assert_eq!(slot_ty(&program, Source::Data(vec!["revoked_instances".into()])), Some(Ty::StrSet));
    let table = |field: &str| Source::DataTable { table: vec!["agents".into()], field: vec![field.into()] };
    assert_eq!(slot_ty(&program, table("owner")), Some(Ty::Str));
    assert_eq!(slot_ty(&program, table("max_scope")), Some(Ty::StrSet));
    assert_eq!(slot_ty(&program, Source::Field(Field::Scope)), Some(Ty::StrSet));
    let Cond::Every(body) = &program.rules[0].body[0] else { panic!("{:?}", program.rules[0].body) };
    assert!(matches!(&body[0], Cond::Matches(Expr::Actor(ActorRef::Hop, ActorField::Sub), _)));
}

#[test]
fn literals_and_slots_are_interned_once() {
    let src =
        "package p\nallow a if { sub == \"x\"; sub != \"y\"; action in {\"y\", \"x\", \"y\"}; resource == \"x\" }";
    let program = compile(src, "p").unwrap();
    let unique: HashSet<_> = program.literals.iter().collect();
    assert_eq!(unique.len(), program.literals.len());
    assert_eq!(program.literals, ["x", "y"]);
    assert_eq!(program.slots.iter().filter(|s| s.source == Source::Field(Field::Sub)).count(), 1);
    let Cond::In(_, Expr::StrSet(ids)) = &program.rules[0].body[2] else { panic!() };
    assert_eq!(ids, &[0, 1]);
    let distinct: HashSet<&Slot> = program.slots.iter().collect();
    assert_eq!(distinct.len(), program.slots.len());
}

#[test]
fn source_hash_is_the_sha256_of_the_text() {
    let program = compile("package p\n", "p").unwrap();
    // sha256("package p\n"), computed independently with `sha256sum`.
    assert_eq!(program.source_hash, "0ad6261536f6380b14ade1a508ac911b8c48230731746e0c76abd26bf3e3a15d");
    assert!(program.rules.is_empty());
}

#[test]
fn two_compared_paths_default_to_strings_unless_fixed_elsewhere() {
    let program = compile("package p\nallow a if { claims.x == data.y }", "p").unwrap();
    assert!(program.slots.iter().all(|s| s.ty == Ty::Str));
    let program = compile("package p\nallow a if { claims.x == data.y; claims.x > 3 }", "p").unwrap();
    assert!(program.slots.iter().all(|s| s.ty == Ty::Int), "{:?}", program.slots);
}

#[test]
fn bare_paths_are_booleans() {
    let program = compile("package p\nallow a if { claims.email_verified; not data.flags.off }", "p").unwrap();
    assert!(program.slots.iter().all(|s| s.ty == Ty::Bool));
}

#[test]
fn the_language_reference_examples_compile() {
    let doc = include_str!("../../docs/language.md");
    let blocks: Vec<&str> = doc.split("```").skip(1).step_by(2).collect();
    assert!(blocks.len() >= 2);
    for block in blocks {
        if let Err(d) = compile(block, "language.md") {
            panic!("{}", d.render());
        }
    }
}

/// Context paths and actor claims are typed by inference; `hop.prev`, `hop.index` and the
/// claims of every actor lower to their IR forms, one slot per path and type.
#[test]
fn context_and_per_hop_paths_lower_to_typed_slots() {
    let source = "package p\n\
        deny other \"x\" if { context.arguments.customer_id != sub; context.amount > 3 }\n\
        deny widened \"y\" if { some hop in chain { hop.index > 0; not hop.claims.scope subset hop.prev.claims.scope } }\n\
        allow a if { act.claims.level >= 2; chain.first.claims.scope == chain.last.claims.scope }";
    let program = compile(source, "p").unwrap_or_else(|d| panic!("{}", d.render()));
    let path = |p: &[&str]| p.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(slot_ty(&program, Source::Context(path(&["arguments", "customer_id"]))), Some(Ty::Str));
    assert_eq!(slot_ty(&program, Source::Context(path(&["amount"]))), Some(Ty::Int));
    assert_eq!(slot_ty(&program, Source::ActorClaim(path(&["scope"]))), Some(Ty::StrSet));
    assert_eq!(slot_ty(&program, Source::ActorClaim(path(&["level"]))), Some(Ty::Int));
    assert_eq!(program.slots.iter().filter(|s| matches!(s.source, Source::ActorClaim(_))).count(), 2);
    let Cond::Some(body) = &program.rules[1].body[0] else { panic!("{:?}", program.rules[1].body) };
    assert!(matches!(&body[0], Cond::Cmp(_, Expr::HopIndex, Expr::Int(0))));
    let Cond::Not(inner) = &body[1] else { panic!("{body:?}") };
    assert!(
        matches!(**inner, Cond::Subset(Expr::ActorClaim(ActorRef::Hop, a), Expr::ActorClaim(ActorRef::Prev, b)) if a == b)
    );
}
