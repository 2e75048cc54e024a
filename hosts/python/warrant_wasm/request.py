"""The decision request: a port of ``Request::from_json`` (lang/src/request.rs) by way of
hosts/js/request.mjs. Same JSON shape, same claims mapping, same delegation-chain order, same
errors (messages included), so that a request refused by one host is refused by every host."""

from dataclasses import dataclass, field
from typing import Optional

from .abi_generated import VOCABULARY
from .coerce import split_spaces
from .strict_json import is_integer

#: Default bound on the delegation chain depth accepted from a token.
DEFAULT_MAX_CHAIN_DEPTH = 16
#: Default name of the claim carrying the agent instance / task id.
DEFAULT_INSTANCE_CLAIM = "instance_id"


class RequestError(ValueError):
    """A request that cannot be built; the message is the Rust host's ``RequestError`` text."""


@dataclass(frozen=True)
class Actor:
    """One hop of the delegation chain."""

    sub: Optional[str]
    client_id: Optional[str]
    instance: Optional[str]
    #: Every claim of the ``act`` object but the nested ``act`` (``hop.claims.*``).
    claims: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Request:
    """A resolved request. ``fields`` maps each vocabulary field the request carries to its value
    (absent fields are left out); ``chain`` is in delegation order: the innermost RFC 8693
    ``act`` first, the current actor last."""

    fields: dict
    chain: tuple = ()
    claims: dict = field(default_factory=dict)
    #: The call's context (``context.*``): what the gateway knows besides the token.
    context: dict = field(default_factory=dict)


def request_from_json(value, instance_claim=DEFAULT_INSTANCE_CLAIM, max_chain_depth=DEFAULT_MAX_CHAIN_DEPTH):
    """Builds a request from the tree of ``{"claims": {...}, "resource": "...", "action": "...",
    "now": N, "context": {...}}``; ``null`` fields read as absent. The fields are the generated
    ``VOCABULARY``, read as the Rust host reads them: the call's own keys, ``context`` (an object
    when present), then the chain, then the claims, each group in vocabulary order, so that the
    first wrong field is the one every host reports."""
    if not isinstance(value, dict):
        raise RequestError("request must be a JSON object")
    claims = value.get("claims", {})
    if not isinstance(claims, dict):
        raise RequestError("`claims` must be a JSON object")
    fields = {}
    for entry in VOCABULARY:
        if entry["from"] == "call":
            _read_field(fields, entry, value, entry["name"])
    context = value.get("context", {})
    if not isinstance(context, dict):
        raise RequestError("`context` must be a JSON object")
    chain = _chain_from_claims(claims, instance_claim, max_chain_depth)
    for entry in VOCABULARY:
        if entry["from"] != "call":
            _read_field(fields, entry, claims, entry["claim"] if entry["from"] == "claim" else instance_claim)
    return Request(fields, chain, claims, context)


def _read_field(fields, entry, obj, key) -> None:
    """Reads vocabulary field ``entry`` from ``obj[key]`` into ``fields`` (absent: left out)."""
    ty = entry["ty"]
    if ty == "str":
        value = _optional_string(obj, key)
    elif ty == "int":
        value = _optional_int(obj, key)
    else:
        value = _optional_string_list(obj, key, entry["string_is_list"])
    if value is not None:
        fields[entry["name"]] = value


def _chain_from_claims(claims, instance_claim, max_chain_depth):
    """Unwraps nested ``act`` claims into delegation order (innermost first)."""
    outermost_first = []
    level = claims.get("act")
    while "act" in claims:
        if not isinstance(level, dict):
            raise RequestError("`act` must be a JSON object")
        if len(outermost_first) == max_chain_depth:
            raise RequestError(f"delegation chain deeper than the accepted maximum of {max_chain_depth} actors")
        outermost_first.append(
            Actor(
                sub=_optional_string(level, "sub"),
                client_id=_optional_string(level, "client_id"),
                instance=_optional_string(level, instance_claim),
                claims={key: value for key, value in level.items() if key != "act"},
            )
        )
        claims, level = level, level.get("act")
    return tuple(reversed(outermost_first))


def _optional_string(obj, key):
    value = obj.get(key)
    if value is None or isinstance(value, str):
        return value
    raise _wrong_type(key, "a string")


def _optional_int(obj, key):
    value = obj.get(key)
    if value is None or is_integer(value):
        return value
    raise _wrong_type(key, "an integer number of seconds")


def _optional_string_list(obj, key, split):
    """A string or a list of strings; with ``split``, a string is a space-separated list."""
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, str):
        return split_spaces(value) if split else [value]
    if isinstance(value, list):
        if not all(isinstance(item, str) for item in value):
            raise _wrong_type(key, "strings")
        return value
    raise _wrong_type(key, "a string or an array of strings")


def _wrong_type(field_name, expected):
    return RequestError(f"`{field_name}` has the wrong type: expected {expected}")
