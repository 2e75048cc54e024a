"""The decision, shaped exactly like the Rust engine's ``Decision`` serialized as JSON
(engine/src/decision.rs): ``{allowed, fired: [{name, kind}], deny_reasons, policy: {package,
hash}}``, key order included. A port of hosts/js/decision.mjs."""

import json

#: Reason reported when nothing forbade the request but nothing granted it either.
NO_ALLOW_RULE_MATCHED = "no allow rule matched"


def decision_from_fired(fired_rules, manifest) -> dict:
    """Derives the verdict from the fired rules (manifest rule records, in rule order): any deny
    wins, otherwise an allow grants; default deny."""
    fired = [{"name": rule["name"], "kind": rule["kind"]} for rule in fired_rules]
    deny_reasons = [rule["reason"] for rule in fired_rules if rule["kind"] == "deny"]
    allowed = any(rule["kind"] == "allow" for rule in fired) and not deny_reasons
    if not allowed and not deny_reasons:
        deny_reasons.append(NO_ALLOW_RULE_MATCHED)
    return {"allowed": allowed, "fired": fired, "deny_reasons": deny_reasons, "policy": _policy_version(manifest)}


def undecided_reason(reason: str, message: str) -> str:
    """The reason of a deny rule that fired because its body could not be decided: a port of
    ``undecided_reason`` (lang/src/undecided.rs), same wording."""
    return f"{reason} (cannot be decided: {message})"


def deny_with_reason(reason: str, manifest) -> dict:
    """A refusal no rule produced: the host could not decide, so it fails closed."""
    return {"allowed": False, "fired": [], "deny_reasons": [reason], "policy": _policy_version(manifest)}


def format_decision(decision: dict) -> str:
    """The decision as ``warrant eval --format json`` prints it: 2-space indent, UTF-8 kept,
    a final newline."""
    return json.dumps(decision, indent=2, ensure_ascii=False) + "\n"


def _policy_version(manifest) -> dict:
    return {"package": manifest["package"], "hash": manifest["source_hash"]}
