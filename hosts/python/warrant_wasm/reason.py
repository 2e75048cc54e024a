"""Deny reasons with placeholders (ABI.md §2, ``rules[i].template``): a port of
hosts/js/reason.mjs and lang/src/reason.rs, rendering from the request alone with the generated
constants, so every host reports the same text."""

import re

from .abi_generated import (
    REASON_MAX_BYTES,
    REASON_MAX_VALUE_BYTES,
    REASON_MISSING,
    REASON_SET_SEPARATOR,
    REASON_TRUNCATED,
)
from .coerce import MISSING, json_value, walk_claims

_CONTROL = re.compile("[\u0000-\u001f\u007f-\u009f]")
_ACTOR_FIELDS = ("sub", "client_id", "instance")


def render_reason(rule, slots, request, field_types) -> str:
    """The reason of a fired deny ``rule`` (a manifest record) for ``request``."""
    template = rule.get("template")
    if template is None:
        return rule["reason"]
    out = []
    for part in template:
        if "text" in part:
            out.append(part["text"])
            continue
        value = _part_value(part, slots, request, field_types)
        text = REASON_MISSING if value is MISSING else _escape(_value_text(value))
        out.append(_truncate(text, REASON_MAX_VALUE_BYTES))
    return _truncate("".join(out), REASON_MAX_BYTES)


def is_template(template, slots) -> bool:
    """Whether a manifest template has parts of the four documented shapes, its slots in range
    and not data slots."""
    if template is None:
        return True
    return isinstance(template, list) and all(_is_part(part, slots) for part in template)


def _is_part(part, slots) -> bool:
    if not isinstance(part, dict) or len(part) != 1:
        return False
    if isinstance(part.get("text"), str):
        return True
    slot = part.get("slot")
    if type(slot) is int:
        source = slots[slot].get("source", {}) if 0 <= slot < len(slots) else {}
        return "field" in source or "claim" in source or "context" in source
    actor = part.get("actor")
    if isinstance(actor, dict):
        return actor.get("which") in ("current", "first") and actor.get("field") in _ACTOR_FIELDS
    actor_claim = part.get("actor_claim")
    if isinstance(actor_claim, dict):
        slot = actor_claim.get("slot")
        return (
            actor_claim.get("which") in ("current", "first")
            and type(slot) is int
            and 0 <= slot < len(slots)
            and "actor_claim" in slots[slot].get("source", {})
        )
    return isinstance(part.get("chain_depth"), dict)


def _part_value(part, slots, request, field_types):
    """The value a part names, as read for the request image; ``MISSING`` when missing."""
    if "chain_depth" in part:
        return len(request.chain)
    if "actor" in part:
        if not request.chain:
            return MISSING
        value = getattr(_named_actor(part["actor"]["which"], request), part["actor"]["field"])
        return MISSING if value is None else value
    if "actor_claim" in part:
        if not request.chain:
            return MISSING
        slot = slots[part["actor_claim"]["slot"]]
        actor = _named_actor(part["actor_claim"]["which"], request)
        return json_value(walk_claims(actor.claims, slot["source"]["actor_claim"]), slot["ty"], True)
    slot = slots[part["slot"]]
    source, ty = slot["source"], slot["ty"]
    if "field" in source:
        value = request.fields.get(source["field"])
        return MISSING if field_types.get(source["field"]) != ty or value is None else value
    if "context" in source:
        return json_value(walk_claims(request.context, source["context"]), ty, False)
    return json_value(walk_claims(request.claims, source["claim"]), ty, True)


def _named_actor(which, request):
    """``chain.first`` (``"first"``) or the current actor of a non-empty chain."""
    return request.chain[0] if which == "first" else request.chain[-1]


def _value_text(value) -> str:
    """A value's text: sets sorted by code points (= UTF-8 bytes) without duplicates."""
    if isinstance(value, list):
        return REASON_SET_SEPARATOR.join(sorted(set(value)))
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _escape(text: str) -> str:
    return _CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _truncate(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` UTF-8 bytes at a character boundary, plus the marker."""
    encoded = text.encode("utf-8")
    if len(encoded) <= limit:
        return text
    return encoded[:limit].decode("utf-8", errors="ignore") + REASON_TRUNCATED
