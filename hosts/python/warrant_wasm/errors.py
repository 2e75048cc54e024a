"""Every way the Python host can refuse to decide.

Each is a refusal: a caller that cannot handle errors must treat any of them as a deny (fail
closed), as ``Policy.decide_or_deny`` does.
"""

#: The failure classes, matching the Rust engine's ``EngineError`` variants and hosts/js/errors.mjs.
ERROR_CODES = frozenset(
    {
        "json",
        "request",
        "manifest",
        "abi_mismatch",
        "invalid_module",
        "data",
        "encode",
        "input_too_large",
        "trap",
        "guest_rejected",
        "inconsistent_verdict",
    }
)


class WarrantError(Exception):
    """A typed host error: ``code`` names the failure class (one of ``ERROR_CODES``), so callers
    and the cross-host test can compare hosts without parsing messages."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message
