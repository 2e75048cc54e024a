"""``python -m warrant_wasm POLICY.wasm --input REQUEST.json [--data DATA.json]``: decides one
request with a module built by ``warrant build`` and prints the decision JSON exactly as
``warrant eval --format json`` does. Exit codes as the Rust CLI: 0 when a decision was made
(allowed or denied), 1 on any error. A port of hosts/js/cli.mjs."""

import sys

from .decision import format_decision
from .policy import load_policy

#: Input caps, as in the Rust CLI: a wrong path (a device, a huge log) fails fast.
MAX_POLICY_BYTES = 4 * 1024 * 1024
MAX_REQUEST_BYTES = 1024 * 1024
MAX_DATA_BYTES = 16 * 1024 * 1024

USAGE = "usage: python -m warrant_wasm POLICY.wasm --input REQUEST.json [--data DATA.json] [--format json]"


class UsageError(Exception):
    """Arguments the CLI does not understand; the usage line follows the message."""


def parse_args(argv):
    """``(policy, input, data)`` from the command line; the same flags as cli.mjs."""
    policy = request = data = None
    args = iter(argv)
    for arg in args:
        if arg in ("--input", "-i", "--data", "-d", "--format", "-f"):
            value = next(args, None)
            if value is None:
                raise UsageError(f"{arg} needs a value")
            if arg in ("--input", "-i"):
                request = value
            elif arg in ("--data", "-d"):
                data = value
            elif value != "json":
                raise UsageError("only --format json is supported")
        elif arg.startswith("-") or policy is not None:
            raise UsageError(f"unexpected argument {arg}")
        else:
            policy = arg
    if policy is None or request is None:
        raise UsageError("POLICY and --input are required")
    return policy, request, data


def read_capped(path: str, what: str, limit: int) -> bytes:
    """At most ``limit`` bytes of ``path``; a longer file is an error, never truncated."""
    with open(path, "rb") as file:
        content = file.read(limit + 1)
    if len(content) > limit:
        raise ValueError(f"{path} is larger than the {limit}-byte limit for {what}")
    return content


def main(argv=None) -> int:
    """Runs the CLI; returns the exit code."""
    argv = sys.argv[1:] if argv is None else argv
    try:
        policy_path, input_path, data_path = parse_args(argv)
        wasm = read_capped(policy_path, "policies", MAX_POLICY_BYTES)
        data = None if data_path is None else read_capped(data_path, "data documents", MAX_DATA_BYTES)
        request = read_capped(input_path, "requests", MAX_REQUEST_BYTES)
        policy = load_policy(wasm, data=data)
        sys.stdout.write(format_decision(policy.decide(request)))
        return 0
    except Exception as error:  # noqa: BLE001 - every failure is an exit-1 error with its message
        sys.stderr.write(f"error: {error}\n")
        if isinstance(error, UsageError):
            sys.stderr.write(f"{USAGE}\n")
        return 1
