//! The result of one decision, as reported to callers and audit logs: the verdict, the rules
//! that produced it, the reasons for a refusal and the exact policy version that decided.
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

/// Reason reported when nothing forbade the request but nothing granted it either.
pub const NO_ALLOW_RULE_MATCHED: &str = "no allow rule matched";

/// What a fired rule did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Effect {
    /// An `allow` rule: grants the request unless a deny rule also fired.
    Allow,
    /// A `deny` rule: refuses the request whatever else fired.
    Deny,
}

/// An allow or deny rule whose body held for the request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FiredRule {
    /// The rule's name in the policy source.
    pub name: String,
    /// Whether it is an allow or a deny rule.
    pub kind: Effect,
}

/// Identifies the policy that decided, so every decision can be traced to its source text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyVersion {
    /// The `package` name declared by the policy source.
    pub package: String,
    /// Hex SHA-256 of the policy source.
    pub hash: String,
}

/// A decision. Default deny: `allowed` is true only when an allow rule fired and no deny did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    /// The verdict; false for every failure (fail closed).
    pub allowed: bool,
    /// Fired allow and deny rules, in rule order.
    pub fired: Vec<FiredRule>,
    /// Why the request was refused (empty when allowed).
    pub deny_reasons: Vec<String>,
    /// The policy that decided; denies for an engine failure or a reason found before the
    /// policy ran (an invalid token, a revocation) name it too.
    pub policy: PolicyVersion,
}

impl Decision {
    /// Derives the verdict from the fired rules: any deny wins, otherwise an allow grants.
    /// `fired` pairs each fired rule with its deny reason (`None` for allow rules).
    pub fn from_fired(fired: Vec<(FiredRule, Option<String>)>, policy: PolicyVersion) -> Decision {
        let mut rules = Vec::with_capacity(fired.len());
        let mut deny_reasons = Vec::new();
        for (rule, reason) in fired {
            deny_reasons.extend(reason);
            rules.push(rule);
        }
        let has = |kind| rules.iter().any(|r: &FiredRule| r.kind == kind);
        let allowed = has(Effect::Allow) && !has(Effect::Deny);
        if !allowed && deny_reasons.is_empty() {
            deny_reasons.push(NO_ALLOW_RULE_MATCHED.to_string());
        }
        Decision { allowed, fired: rules, deny_reasons, policy }
    }

    /// A refusal that no rule produced: the engine could not decide, so it fails closed.
    pub fn deny_with_reason(reason: String, policy: PolicyVersion) -> Decision {
        Decision { allowed: false, fired: Vec::new(), deny_reasons: vec![reason], policy }
    }

    /// A multi-line account for humans: verdict, fired rules, reasons, policy version.
    pub fn explain(&self) -> String {
        let mut out = String::new();
        let verdict = if self.allowed { "ALLOW" } else { "DENY" };
        let _ = writeln!(out, "{verdict}");
        if self.fired.is_empty() {
            let _ = writeln!(out, "fired rules: none");
        } else {
            let _ = writeln!(out, "fired rules:");
            for rule in &self.fired {
                let kind = match rule.kind {
                    Effect::Allow => "allow",
                    Effect::Deny => "deny ",
                };
                let _ = writeln!(out, "  {kind} {}", rule.name);
            }
        }
        if !self.deny_reasons.is_empty() {
            let _ = writeln!(out, "reasons:");
            for reason in &self.deny_reasons {
                let _ = writeln!(out, "  - {reason}");
            }
        }
        let _ = writeln!(out, "policy: {} (sha256 {})", self.policy.package, self.policy.hash);
        out
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn version() -> PolicyVersion {
        PolicyVersion { package: "p".into(), hash: "ab".into() }
    }

    fn allow(name: &str) -> (FiredRule, Option<String>) {
        (FiredRule { name: name.into(), kind: Effect::Allow }, None)
    }

    fn deny(name: &str, reason: &str) -> (FiredRule, Option<String>) {
        (FiredRule { name: name.into(), kind: Effect::Deny }, Some(reason.into()))
    }

    #[test]
    fn allow_needs_an_allow_rule_and_no_deny() {
        assert!(Decision::from_fired(vec![allow("a")], version()).allowed);
        let nothing = Decision::from_fired(vec![], version());
        assert!(!nothing.allowed);
        assert_eq!(nothing.deny_reasons, [NO_ALLOW_RULE_MATCHED]);
    }

    #[test]
    fn deny_overrides_allow_and_reports_its_reason() {
        let d = Decision::from_fired(vec![allow("a"), deny("d", "too deep")], version());
        assert!(!d.allowed);
        assert_eq!(d.deny_reasons, ["too deep"]);
        assert_eq!(d.fired.len(), 2);
    }

    #[test]
    fn json_and_explanation_name_rules_reasons_and_version() {
        let d = Decision::from_fired(vec![allow("read"), deny("bulk", "no bulk edits")], version());
        let json = serde_json::to_value(&d).unwrap();
        assert_eq!(json["allowed"], false);
        assert_eq!(json["fired"][1]["kind"], "deny");
        assert_eq!(json["policy"]["package"], "p");
        let text = d.explain();
        assert!(text.starts_with("DENY\n"));
        assert!(text.contains("allow read") && text.contains("deny  bulk"));
        assert!(text.contains("- no bulk edits") && text.contains("sha256 ab"));
    }
}
