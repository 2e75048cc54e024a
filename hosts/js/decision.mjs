// The decision object, shaped exactly like the Rust engine's `Decision` serialized as JSON
// (engine/src/decision.rs): `{allowed, fired: [{name, kind}], deny_reasons, policy: {package, hash}}`.

/** Reason reported when nothing forbade the request but nothing granted it either. */
export const NO_ALLOW_RULE_MATCHED = "no allow rule matched";

/**
 * Derives the verdict from the fired rules (manifest rule records, in rule order): any deny
 * wins, otherwise an allow grants; default deny.
 */
export function decisionFromFired(firedRules, manifest) {
  const fired = firedRules.map((rule) => ({ name: rule.name, kind: rule.kind }));
  const denyReasons = firedRules.filter((rule) => rule.kind === "deny").map((rule) => rule.reason);
  const allowed = fired.some((rule) => rule.kind === "allow") && !fired.some((rule) => rule.kind === "deny");
  if (!allowed && denyReasons.length === 0) denyReasons.push(NO_ALLOW_RULE_MATCHED);
  return { allowed, fired, deny_reasons: denyReasons, policy: policyVersion(manifest) };
}

/**
 * The reason of a deny rule that fired because its body could not be decided: a port of
 * `undecided_reason` (lang/src/undecided.rs), same wording.
 */
export function undecidedReason(reason, message) {
  return `${reason} (cannot be decided: ${message})`;
}

/** A refusal no rule produced: the host could not decide, so it fails closed. */
export function denyWithReason(reason, manifest) {
  return { allowed: false, fired: [], deny_reasons: [reason], policy: policyVersion(manifest) };
}

function policyVersion(manifest) {
  return { package: manifest.package, hash: manifest.source_hash };
}
