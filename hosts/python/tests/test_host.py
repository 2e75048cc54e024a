"""The host's side of the contract with hand-made modules: hostile input and guests end in
typed errors with the JS host's codes (or, through ``decide_or_deny``, in a deny), never in a
crash or an allow."""

import unittest

from warrant_wasm import WarrantError, load_policy
from warrant_wasm.abi_generated import ABI_VERSION_MAJOR

from .modules import ALLOW_MANIFEST, LOOPS_FOREVER, TRAPS, TRAPS_ONCE, deny_entry, module

SMALL = '{"claims": {"blob": "x"}}'
DENY_MANIFEST = {
    **ALLOW_MANIFEST,
    "rules": [{"name": "tenant", "kind": "deny", "line": 1, "reason": "wrong tenant"}],
    "undecided": ["claims.tenant is missing"],
}


class HostTest(unittest.TestCase):
    def error_code(self, call, *args, **kwargs):
        with self.assertRaises(WarrantError) as caught:
            call(*args, **kwargs)
        return caught.exception

    def test_a_fired_allow_rule_allows(self):
        decision = load_policy(module(manifest=ALLOW_MANIFEST)).decide(SMALL)
        self.assertEqual(
            decision,
            {
                "allowed": True,
                "fired": [{"name": "anything", "kind": "allow"}],
                "deny_reasons": [],
                "policy": {"package": "handmade", "hash": "00"},
            },
        )

    def test_an_undecided_deny_rule_names_its_value(self):
        policy = load_policy(module(deny_entry(0), DENY_MANIFEST))
        decision = policy.decide(SMALL)
        self.assertEqual(decision["deny_reasons"], ["wrong tenant (cannot be decided: claims.tenant is missing)"])
        self.assertEqual(decision["fired"], [{"name": "tenant", "kind": "deny"}])
        bad_entry = load_policy(module(deny_entry(5), DENY_MANIFEST))
        self.assertEqual(self.error_code(bad_entry.decide, SMALL).code, "inconsistent_verdict")

    def test_an_oversized_request_is_refused_and_denied(self):
        policy = load_policy(module(manifest=ALLOW_MANIFEST))
        huge = '{"claims": {"blob": "' + "b" * (1 << 20) + '"}}'
        error = self.error_code(policy.decide, huge)
        self.assertEqual(
            (error.code, str(error)), ("encode", "request cannot be encoded: request image exceeds 1048576 bytes")
        )
        denied = policy.decide_or_deny(huge)
        self.assertFalse(denied["allowed"])
        self.assertEqual(denied["deny_reasons"], [f"engine error: {error}"])

    def test_invalid_json_and_requests_are_refused(self):
        policy = load_policy(module(manifest=ALLOW_MANIFEST))
        self.assertEqual(self.error_code(policy.decide, '{"claims": NaN}').code, "json")
        self.assertEqual(self.error_code(policy.decide, b"\xef\xbb\xbf{}").code, "json")
        error = self.error_code(policy.decide, '{"now": 1.0}')
        self.assertEqual(
            (error.code, str(error)),
            ("request", "invalid request: `now` has the wrong type: expected an integer number of seconds"),
        )
        self.assertFalse(policy.decide_or_deny("[").get("allowed"))

    def test_another_abi_major_is_refused(self):
        major = ABI_VERSION_MAJOR
        code_says = self.error_code(load_policy, module(manifest=ALLOW_MANIFEST, abi_word=(major + 1) << 16))
        manifest_says = self.error_code(
            load_policy, module(manifest={**ALLOW_MANIFEST, "abi_version": {"major": major + 1, "minor": 0}})
        )
        for error in (code_says, manifest_says):
            self.assertEqual(error.code, "abi_mismatch")
            self.assertIn(f"uses ABI {major + 1}.x; this host supports ABI {major}.x", str(error))
        newer_minor = {**ALLOW_MANIFEST, "abi_version": {"major": major, "minor": 7}}
        self.assertTrue(load_policy(module(manifest=newer_minor, abi_word=(major << 16) | 7)).decide(SMALL)["allowed"])

    def test_modules_that_are_not_policies_are_refused(self):
        self.assertEqual(self.error_code(load_policy, b"not wasm").code, "invalid_module")
        self.assertEqual(self.error_code(load_policy, module(manifest=None)).code, "manifest")
        self.assertEqual(self.error_code(load_policy, module(manifest=b"{")).code, "manifest")
        bad_rule = {**ALLOW_MANIFEST, "rules": [{"name": "x", "kind": ["allow"]}]}
        self.assertEqual(self.error_code(load_policy, module(manifest=bad_rule)).code, "manifest")

    def test_a_trapping_guest_is_an_error_and_the_host_keeps_deciding(self):
        policy = load_policy(module(TRAPS, ALLOW_MANIFEST))
        for _ in range(2):
            self.assertEqual(self.error_code(policy.decide, SMALL).code, "trap")
        self.assertFalse(policy.decide_or_deny(SMALL)["allowed"])

    def test_a_guest_that_never_returns_is_stopped_by_the_call_deadline(self):
        policy = load_policy(module(LOOPS_FOREVER, ALLOW_MANIFEST))
        self.assertEqual(self.error_code(policy.decide, SMALL).code, "trap")
        self.assertFalse(policy.decide_or_deny(SMALL)["allowed"])

    def test_a_trapped_instance_is_never_reused(self):
        policy = load_policy(module(TRAPS_ONCE, ALLOW_MANIFEST))
        for _ in range(2):
            self.assertEqual(self.error_code(policy.decide, SMALL).code, "trap", "each decision after a trap is fresh")

    def test_a_memory_too_small_for_the_input_is_refused(self):
        policy = load_policy(module(manifest=ALLOW_MANIFEST, max_pages=1))
        blob = '{"claims": {"blob": "' + "b" * 100_000 + '"}}'
        self.assertEqual(self.error_code(policy.decide, blob).code, "input_too_large")
        self.assertTrue(policy.decide(SMALL)["allowed"])

    def test_revocations_apply_on_every_hop_and_survive_a_refused_update(self):
        policy = load_policy(module(manifest=ALLOW_MANIFEST), data={"revoked_instances": {"i1": {"expires": 100}}})
        inner_hop = {"claims": {"act": {"sub": "agent", "act": {"instance_id": "i1"}}}, "now": 99}
        self.assertEqual(policy.decide(inner_hop)["deny_reasons"], ["revoked agent instance `i1`"])
        self.assertTrue(policy.decide({**inner_hop, "now": 100})["allowed"])
        error = self.error_code(policy.set_data, '{"revoked_instances": [1]}')
        self.assertEqual(error.code, "data")
        self.assertFalse(policy.decide(inner_hop)["allowed"], "the previous data stays in force")


if __name__ == "__main__":
    unittest.main()
