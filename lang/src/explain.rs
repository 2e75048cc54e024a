//! Why a request got its decision: for every allow and deny rule, whether it held and, if not,
//! the first condition that failed with the actual values it read (`chain.depth <= 2` was
//! false: `chain.depth = 3`).
//!
//! Every verdict comes from [`Evaluator`], the same code path as [`crate::eval::evaluate`]; this
//! module only chooses which values to show and words them.
use std::fmt::Write as _;

use serde::Serialize;
use serde_json::Value as Json;

use crate::eval::{Evaluator, Truth, Value};
use crate::fmt::string_literal as quoted;
use crate::ir::{Cond, Expr, Program, RuleId, RuleKind};
use crate::request::{Actor, Request};
use crate::text;

/// Sets longer than this are cut in explanations: a revocation list can hold millions.
pub const MAX_SHOWN_ELEMENTS: usize = 16;

/// The explanation of one decision: one report per allow and deny rule, in source order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explanation {
    /// Allow and deny rules in source order; helper rules only appear inside [`Because::Helper`].
    pub rules: Vec<RuleReport>,
}

/// One allow or deny rule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleReport {
    /// The rule's name.
    pub name: String,
    /// Allow or deny (with its reason); never a helper.
    #[serde(flatten)]
    pub kind: RuleKind,
    /// 1-based line of the rule head.
    pub line: u32,
    /// The file defining the rule, set by [`crate::CompiledPackage::explain`] when the policy
    /// has several files (a one-file policy names its file once, elsewhere).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// Whether the rule fired: an allow rule's body was true, a deny rule's body was not false.
    pub held: bool,
    /// The condition that decided the body: the first false one, else the first undecided one
    /// (absent when the body was true).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed: Option<ConditionReport>,
}

/// A condition that did not hold, with the inputs it read.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConditionReport {
    /// The condition as written (top level of a rule) or as rebuilt from the IR (inside a
    /// quantifier, where the loop variable is shown as `hop`).
    pub condition: String,
    /// The inputs the condition reads, in reading order, with their values (a quantifier
    /// shows `chain.depth`).
    pub values: Vec<Observed>,
    /// Why the condition could not be decided (absent when it was false).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub undecided: Option<String>,
    /// Where a composite condition (helper rule, quantifier) failed inside.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub because: Option<Because>,
}

/// An input read by a condition, and its value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Observed {
    /// The input as the language names it: `chain.depth`, `data.cases[resource].customer`.
    pub name: String,
    /// `null` when the value is missing. Sets are cut to [`MAX_SHOWN_ELEMENTS`] elements.
    pub value: Option<Json>,
    /// Elements of a set left out of `value`.
    #[serde(skip_serializing_if = "is_zero")]
    pub omitted: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// Why a composite condition failed.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Because {
    /// A helper rule did not hold: its first failing condition.
    Helper {
        /// The helper rule's name.
        rule: String,
        /// 1-based line of its head.
        line: u32,
        /// The file defining it, set as [`RuleReport::file`] is.
        #[serde(skip_serializing_if = "Option::is_none")]
        file: Option<String>,
        /// Its first false condition, else its first undecided one.
        failed: Box<ConditionReport>,
    },
    /// A quantifier did not hold: for `every`, the first actor that failed the body; for
    /// `some`, every actor (none satisfied the body).
    Actors {
        /// The failing actors, in chain order.
        failures: Vec<ActorFailure>,
    },
    /// Alternatives (`a or b`, or a helper rule defined several times) did not hold: every
    /// branch failed, each shown with its first failing condition.
    Alternatives {
        /// One entry per branch, in source order.
        failures: Vec<BranchFailure>,
    },
}

/// One branch of alternatives that did not hold.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BranchFailure {
    /// Position among the alternatives: 0 is the first written.
    pub index: usize,
    /// The branch's first false condition, else its first undecided one.
    pub failed: ConditionReport,
}

/// One actor of the chain that did not satisfy a quantifier's body.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActorFailure {
    /// Position in the chain: 0 is the first delegate, the last is the current actor.
    pub index: usize,
    /// The body condition that failed for this actor.
    pub failed: ConditionReport,
}

/// Explains every allow and deny rule of `program` on `request` with data document `data`.
pub fn explain(program: &Program, request: &Request, data: &Json) -> Explanation {
    let explainer = Explainer { evaluator: Evaluator::new(program, request, data), program, request };
    let rules = program
        .rules
        .iter()
        .enumerate()
        .filter(|(_, rule)| !matches!(rule.kind, RuleKind::Helper))
        .map(|(id, rule)| {
            let failed = explainer.first_failure(&rule.body, Some(&rule.body_text), None, 0);
            let held = match (&rule.kind, &failed) {
                (_, None) => true,
                (RuleKind::Deny { .. }, Some(report)) => report.undecided.is_some(),
                _ => false,
            };
            // A reason with placeholders is shown rendered for this request, as decisions report it.
            let kind = match program.template(id as RuleId) {
                Some(parts) => RuleKind::Deny {
                    reason: crate::reason::render(parts, |expr| explainer.evaluator.value(expr, None)),
                },
                None => rule.kind.clone(),
            };
            RuleReport { name: rule.name.clone(), kind, line: rule.line, file: None, held, failed }
        })
        .collect();
    Explanation { rules }
}

impl Explanation {
    /// The explanation for humans, one rule per paragraph line, failures indented below.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for rule in &self.rules {
            let head = match &rule.kind {
                RuleKind::Allow => format!("allow {}", rule.name),
                RuleKind::Deny { .. } => format!("deny {}", rule.name),
                RuleKind::Helper => format!("rule {}", rule.name),
            };
            let verdict = match (&rule.kind, rule.held) {
                (RuleKind::Deny { reason }, true) => format!("held: {}", quoted(reason)),
                (_, true) => "held".to_string(),
                (_, false) => "did not hold".to_string(),
            };
            let _ = match &rule.file {
                Some(file) => writeln!(out, "{head} ({file} line {}): {verdict}", rule.line),
                None => writeln!(out, "{head} (line {}): {verdict}", rule.line),
            };
            if let Some(failed) = &rule.failed {
                render_failure(&mut out, failed, 1);
            }
        }
        out
    }
}

fn render_failure(out: &mut String, report: &ConditionReport, depth: usize) {
    let indent = "  ".repeat(depth);
    match &report.undecided {
        None => {
            let _ = write!(out, "{indent}`{}` was false", report.condition);
        }
        Some(message) => {
            let _ = write!(out, "{indent}`{}` cannot be decided ({message})", report.condition);
        }
    }
    let values: Vec<String> = report.values.iter().map(render_observed).collect();
    if !values.is_empty() {
        let _ = write!(out, ": {}", values.join(", "));
    }
    out.push('\n');
    match &report.because {
        None => {}
        Some(Because::Helper { rule, line, file, failed }) => {
            let _ = match file {
                Some(file) => writeln!(out, "{indent}  in rule {rule} ({file} line {line}):"),
                None => writeln!(out, "{indent}  in rule {rule} (line {line}):"),
            };
            render_failure(out, failed, depth + 2);
        }
        Some(Because::Actors { failures }) => {
            for failure in failures {
                let _ = writeln!(out, "{indent}  at chain[{}]:", failure.index);
                render_failure(out, &failure.failed, depth + 2);
            }
        }
        Some(Because::Alternatives { failures }) => {
            for failure in failures {
                let _ = writeln!(out, "{indent}  alternative {}:", failure.index + 1);
                render_failure(out, &failure.failed, depth + 2);
            }
        }
    }
}

fn render_observed(observed: &Observed) -> String {
    let value = match &observed.value {
        None => "missing".to_string(),
        Some(Json::Array(items)) => {
            let mut shown: Vec<String> = items.iter().map(Json::to_string).collect();
            if observed.omitted > 0 {
                shown.push(format!("… {} more", observed.omitted));
            }
            format!("[{}]", shown.join(", "))
        }
        Some(other) => other.to_string(),
    };
    format!("{} = {value}", observed.name)
}

struct Explainer<'a> {
    evaluator: Evaluator<'a>,
    program: &'a Program,
    request: &'a Request,
}

impl Explainer<'_> {
    /// The condition that decides `body` when it is not true: the first false one, else the
    /// first undecided one. `texts` are the conditions as written, when known. `depth` counts
    /// helper rules entered, bounded like the evaluator's.
    fn first_failure(
        &self,
        body: &[Cond],
        texts: Option<&[String]>,
        hop: Option<&Actor>,
        depth: usize,
    ) -> Option<ConditionReport> {
        let truths: Vec<Truth> = body.iter().map(|cond| self.evaluator.truth(cond, hop)).collect();
        let index = truths
            .iter()
            .position(|truth| *truth == Truth::False)
            .or_else(|| truths.iter().position(|truth| *truth != Truth::True))?;
        let (cond, truth) = (body.get(index)?, truths.get(index)?);
        let written = texts.and_then(|texts| texts.get(index)).filter(|t| !t.is_empty());
        let condition = written.cloned().unwrap_or_else(|| self.cond_text(cond));
        let undecided = match truth {
            Truth::Undecided(message) => Some(message.clone()),
            _ => None,
        };
        let mut values = Vec::new();
        self.observe_cond(cond, hop, &mut values);
        Some(ConditionReport { condition, values, undecided, because: self.because(cond, hop, depth) })
    }

    /// Where a failed helper, quantifier or alternatives failed inside; `None` for atomic
    /// conditions and for `not` (whose operand held, so nothing inside failed).
    /// Helpers are evaluated on their own and quantifiers do not nest, so only alternatives
    /// use `hop`, the actor of an enclosing quantifier.
    fn because(&self, cond: &Cond, hop: Option<&Actor>, depth: usize) -> Option<Because> {
        match cond {
            Cond::Rule(id) => {
                if depth >= self.program.rules.len() {
                    return None;
                }
                let rule = self.program.rules.get(*id as usize)?;
                let failed = self.first_failure(&rule.body, Some(&rule.body_text), None, depth + 1)?;
                Some(Because::Helper { rule: rule.name.clone(), line: rule.line, file: None, failed: Box::new(failed) })
            }
            Cond::Every(body) => {
                let failures = self.actor_failures(body, depth).take(1).collect();
                Some(Because::Actors { failures })
            }
            Cond::Some(body) => Some(Because::Actors { failures: self.actor_failures(body, depth).collect() }),
            Cond::Any(branches) => {
                let failures = branches
                    .iter()
                    .enumerate()
                    .filter_map(|(index, branch)| {
                        Some(BranchFailure { index, failed: self.first_failure(branch, None, hop, depth)? })
                    })
                    .collect();
                Some(Because::Alternatives { failures })
            }
            _ => None,
        }
    }

    /// Each actor of the chain that fails `body`, with its first failing condition.
    fn actor_failures<'s>(&'s self, body: &'s [Cond], depth: usize) -> impl Iterator<Item = ActorFailure> + 's {
        self.request.chain.iter().enumerate().filter_map(move |(index, actor)| {
            let failed = self.first_failure(body, None, Some(actor), depth)?;
            Some(ActorFailure { index, failed })
        })
    }

    /// The inputs an atomic condition reads (through `not`); a quantifier shows the chain depth.
    fn observe_cond(&self, cond: &Cond, hop: Option<&Actor>, out: &mut Vec<Observed>) {
        match cond {
            Cond::Not(inner) => self.observe_cond(inner, hop, out),
            Cond::Every(_) | Cond::Some(_) => self.observe(&Expr::ChainDepth, hop, out),
            Cond::Rule(_) | Cond::Any(_) => {}
            atomic => atomic.operands().for_each(|e| self.observe(e, hop, out)),
        }
    }

    /// Records `expr` and the inputs inside it (arithmetic operands, table keys); constants
    /// are left out, and each name is recorded once.
    fn observe(&self, expr: &Expr, hop: Option<&Actor>, out: &mut Vec<Observed>) {
        // Reads no input: showing its value would only repeat the policy text.
        if expr.is_constant() {
            return;
        }
        let name = self.expr_text(expr);
        if !out.iter().any(|o| o.name == name) {
            let (value, omitted) = match self.evaluator.value(expr, hop) {
                Some(value) => shown(value),
                None => (None, 0),
            };
            out.push(Observed { name, value, omitted });
        }
        match expr {
            Expr::Arith(_, a, b) | Expr::Concat(a, b) | Expr::Intersect(a, b) => {
                self.observe(a, hop, out);
                self.observe(b, hop, out);
            }
            Expr::Lookup { key, .. } => self.observe(key, hop, out),
            Expr::Case(_, inner) | Expr::Count(inner) => self.observe(inner, hop, out),
            _ => {}
        }
    }

    fn cond_text(&self, cond: &Cond) -> String {
        text::cond_text(self.program, cond)
    }

    fn expr_text(&self, expr: &Expr) -> String {
        text::expr_text(self.program, expr)
    }
}

/// A value as JSON, with long sets cut; returns the JSON and how many elements were cut.
fn shown(value: Value) -> (Option<Json>, usize) {
    match value {
        Value::Str(s) => (Some(Json::String(s)), 0),
        Value::Int(i) => (Some(Json::from(i)), 0),
        Value::Bool(b) => (Some(Json::Bool(b)), 0),
        Value::StrSet(items) => {
            let omitted = items.len().saturating_sub(MAX_SHOWN_ELEMENTS);
            let kept = items.into_iter().take(MAX_SHOWN_ELEMENTS).map(Json::String).collect();
            (Some(Json::Array(kept)), omitted)
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use serde_json::json;

    const POLICY: &str = r#"package t

rule trusted if {
    every hop in chain { hop.sub matches "spiffe://acme.com/*" }
}

allow read if {
    trusted
    chain.depth <= 2
    action in {"read", "list"}
    exp - iat <= 1h
    data.owners[resource] == sub
}

deny revoked "instance revoked" if { instance in data.revoked }
deny outsider "an actor outside acme" if {
    some hop in chain { hop.sub == "spiffe://acme.com/root" }
}
"#;

    fn program() -> Program {
        crate::compile(POLICY, "t.warrant").unwrap_or_else(|d| panic!("{}", d.render()))
    }

    fn request(actors: &[&str], claims: serde_json::Value) -> Request {
        let mut act = serde_json::Value::Null;
        for sub in actors {
            act = if act.is_null() { json!({ "sub": sub }) } else { json!({ "sub": sub, "act": act }) };
        }
        let mut claims = claims;
        if !act.is_null() {
            claims["act"] = act;
        }
        Request::from_json(json!({"claims": claims, "resource": "doc-1", "action": "read"}), &Default::default())
            .unwrap_or_else(|e| panic!("{e}"))
    }

    fn data() -> Json {
        json!({"owners": {"doc-1": "alice"}, "revoked": (0..40).map(|i| format!("i-{i:02}")).collect::<Vec<_>>()})
    }

    fn rule<'e>(explanation: &'e Explanation, name: &str) -> &'e RuleReport {
        explanation.rules.iter().find(|r| r.name == name).unwrap_or_else(|| panic!("no rule {name}"))
    }

    #[test]
    fn held_rules_agree_with_the_evaluator() {
        let program = program();
        let claims = json!({"sub": "alice", "iat": 0, "exp": 3600, "instance_id": "i-03"});
        let req = request(&["spiffe://acme.com/a", "spiffe://acme.com/root"], claims);
        let explanation = explain(&program, &req, &data());
        let outcome = crate::eval::evaluate(&program, &req, &data());
        let held: Vec<&str> = explanation.rules.iter().filter(|r| r.held).map(|r| r.name.as_str()).collect();
        let fired: Vec<&str> = outcome.fired.iter().map(|&id| program.rules[id as usize].name.as_str()).collect();
        assert_eq!(held, fired);
        assert_eq!(held, ["read", "revoked", "outsider"]);
    }

    #[test]
    fn first_failing_condition_shows_the_values_it_read() {
        let program = program();
        let actors = ["spiffe://acme.com/a", "spiffe://acme.com/b", "spiffe://acme.com/c"];
        let req = request(&actors, json!({"sub": "alice", "iat": 0, "exp": 3600}));
        let explanation = explain(&program, &req, &data());
        let failed = rule(&explanation, "read").failed.as_ref().unwrap();
        assert_eq!(failed.condition, "chain.depth <= 2");
        assert_eq!(failed.values.len(), 1);
        assert_eq!(failed.values[0].name, "chain.depth");
        assert_eq!(failed.values[0].value, Some(json!(3)));
        let text = explanation.render();
        assert!(
            text.contains("allow read (line 7): did not hold\n  `chain.depth <= 2` was false: chain.depth = 3\n"),
            "{text}"
        );
    }

    #[test]
    fn arithmetic_lookups_and_missing_values_name_every_input() {
        let program = program();
        let req = request(&["spiffe://acme.com/a"], json!({"sub": "alice", "exp": 3600}));
        let explanation = explain(&program, &req, &data());
        let failed = rule(&explanation, "read").failed.clone().unwrap();
        assert_eq!(failed.condition, "exp - iat <= 1h");
        assert_eq!(failed.undecided.as_deref(), Some("iat is missing or not an integer"));
        assert!(explanation
            .render()
            .contains("`exp - iat <= 1h` cannot be decided (iat is missing or not an integer)"));
        let revoked = rule(&explanation, "revoked");
        assert!(revoked.held, "a deny rule whose body is undecided fires");
        let names: Vec<(&str, Option<&Json>)> =
            failed.values.iter().map(|o| (o.name.as_str(), o.value.as_ref())).collect();
        assert_eq!(names, [("exp - iat", None), ("exp", Some(&json!(3600))), ("iat", None)]);
        let req = request(&["spiffe://acme.com/a"], json!({"sub": "bob", "iat": 0, "exp": 60}));
        let explanation = explain(&program, &req, &data());
        let failed = rule(&explanation, "read").failed.as_ref().unwrap();
        assert_eq!(failed.condition, "data.owners[resource] == sub");
        assert!(explanation.render().contains(r#"data.owners[resource] = "alice", resource = "doc-1", sub = "bob""#));
    }

    #[test]
    fn helpers_and_quantifiers_say_where_they_failed() {
        let program = program();
        let actors = ["spiffe://acme.com/a", "spiffe://evil.com/b"];
        let req = request(&actors, json!({"sub": "alice", "iat": 0, "exp": 60}));
        let explanation = explain(&program, &req, &data());
        let failed = rule(&explanation, "read").failed.as_ref().unwrap();
        assert_eq!(failed.condition, "trusted");
        let Some(Because::Helper { rule: helper, failed: inner, .. }) = &failed.because else { panic!("{failed:?}") };
        assert_eq!(helper, "trusted");
        let Some(Because::Actors { failures }) = &inner.because else { panic!("{inner:?}") };
        assert_eq!(failures.len(), 1);
        assert_eq!(failures[0].index, 1);
        assert_eq!(failures[0].failed.condition, r#"hop.sub matches "spiffe://acme.com/*""#);
        assert_eq!(failures[0].failed.values[0].value, Some(json!("spiffe://evil.com/b")));
        // `some`: every actor is reported.
        let outsider = rule(&explanation, "outsider").failed.as_ref().unwrap();
        let Some(Because::Actors { failures }) = &outsider.because else { panic!("{outsider:?}") };
        assert_eq!(failures.iter().map(|f| f.index).collect::<Vec<_>>(), [0, 1]);
        let text = explanation.render();
        assert!(text.contains("    in rule trusted (line 3):\n"), "{text}");
        assert!(text.contains("        at chain[1]:\n"), "{text}");
    }

    #[test]
    fn alternatives_and_helper_definitions_show_every_branch() {
        let source =
            "package p\nrule privileged if { \"admin\" in scope }\nrule privileged if { sub in data.operators }\n\
                      allow read if {\n  action == \"read\" or privileged\n}\n";
        let program = crate::compile(source, "t.warrant").unwrap_or_else(|d| panic!("{}", d.render()));
        let req =
            Request::from_json(json!({"claims": {"sub": "bob", "scope": "x"}, "action": "write"}), &Default::default())
                .unwrap_or_else(|e| panic!("{e}"));
        let explanation = explain(&program, &req, &json!({"operators": ["alice"]}));
        let failed = rule(&explanation, "read").failed.as_ref().unwrap();
        assert_eq!(failed.condition, "action == \"read\" or privileged");
        let Some(Because::Alternatives { failures }) = &failed.because else { panic!("{failed:?}") };
        assert_eq!(
            failures.iter().map(|f| f.failed.condition.as_str()).collect::<Vec<_>>(),
            ["action == \"read\"", "privileged"]
        );
        let Some(Because::Helper { failed: definitions, .. }) = &failures[1].failed.because else { panic!() };
        assert_eq!(definitions.condition, "any of its 2 definitions");
        let Some(Because::Alternatives { failures }) = &definitions.because else { panic!("{definitions:?}") };
        assert_eq!(failures.len(), 2);
        assert_eq!(failures[1].failed.condition, "sub in data.operators");
        let text = explanation.render();
        assert!(text.contains("  alternative 2:\n"), "{text}");
        assert!(text.contains("`\"admin\" in scope` was false: scope = [\"x\"]"), "{text}");
        assert!(text.contains("`sub in data.operators` was false"), "{text}");
    }

    #[test]
    fn a_call_of_a_helper_with_parameters_shows_the_values_its_body_read() {
        let source = "package p\nrule owns(record) if { data.records[record].customer == sub }\nallow read if { owns(resource) }";
        let program = crate::compile(source, "t.warrant").unwrap_or_else(|d| panic!("{}", d.render()));
        let req = request(&[], json!({"sub": "bob"}));
        let explanation = explain(&program, &req, &json!({"records": {"doc-1": {"customer": "alice"}}}));
        let failed = rule(&explanation, "read").failed.as_ref().unwrap();
        assert_eq!(failed.condition, "owns(resource)");
        let names: Vec<(&str, Option<&Json>)> =
            failed.values.iter().map(|o| (o.name.as_str(), o.value.as_ref())).collect();
        assert_eq!(
            names,
            [
                ("data.records[resource].customer", Some(&json!("alice"))),
                ("resource", Some(&json!("doc-1"))),
                ("sub", Some(&json!("bob")))
            ]
        );
    }

    #[test]
    fn long_sets_are_cut_and_json_names_the_kind() {
        let program = program();
        let req = request(&[], json!({"sub": "alice", "instance_id": "i-99"}));
        let explanation = explain(&program, &req, &data());
        let failed = rule(&explanation, "revoked").failed.as_ref().unwrap();
        let set = &failed.values[1];
        assert_eq!(set.name, "data.revoked");
        assert_eq!(set.omitted, 40 - MAX_SHOWN_ELEMENTS);
        assert!(explanation.render().contains("… 24 more]"));
        let json = serde_json::to_value(&explanation).unwrap();
        assert_eq!(json["rules"][1]["kind"], "deny");
        assert_eq!(json["rules"][1]["reason"], "instance revoked");
        assert_eq!(json["rules"][1]["failed"]["values"][0]["value"], "i-99");
        assert!(json["rules"][0].get("failed").is_some());
    }
}
