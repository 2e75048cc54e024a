"""Warrant's Python host: runs a policy module built by ``warrant build`` on the ``wasmtime``
package and decides exactly as the Rust engine and the JS host do (same verdict, fired rules,
reasons and policy hash). Only wasm-guest/ABI.md is assumed about the module.

    from warrant_wasm import load_policy
    policy = load_policy(open("policy.wasm", "rb").read(), data=open("data.json", "rb").read())
    decision = policy.decide_or_deny(request_json)  # {allowed, fired, deny_reasons, policy}
"""

from .abi_generated import ABI_VERSION_MAJOR, ABI_VERSION_MINOR
from .decision import NO_ALLOW_RULE_MATCHED, format_decision
from .errors import ERROR_CODES, WarrantError
from .policy import Policy, load_policy
from .request import DEFAULT_INSTANCE_CLAIM, DEFAULT_MAX_CHAIN_DEPTH

__all__ = [
    "ABI_VERSION_MAJOR",
    "ABI_VERSION_MINOR",
    "DEFAULT_INSTANCE_CLAIM",
    "DEFAULT_MAX_CHAIN_DEPTH",
    "ERROR_CODES",
    "NO_ALLOW_RULE_MATCHED",
    "Policy",
    "WarrantError",
    "format_decision",
    "load_policy",
]
