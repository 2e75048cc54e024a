"""Revocation lists in the data document (``revoked_instances``, ``revoked_client_ids``,
``revoked_jtis``), enforced on every hop before the policy runs: a port of
``RevocationSet::from_data`` and ``RevocationSet::refusal`` (engine/src/revocation.rs) by way of
hosts/js/revocation.mjs, with the same acceptance rules, order of checks and reasons."""

from dataclasses import dataclass

from .abi_generated import REVOCATION_LISTS
from .errors import WarrantError
from .strict_json import is_integer

#: Latest accepted expiry: 9999-12-31T23:59:59Z (engine/src/revocation.rs ``MAX_EXPIRY``).
MAX_EXPIRY = 253_402_300_799


@dataclass(frozen=True)
class Revocations:
    """Revoked ids of each kind, each mapped to its expiry (None: never expires)."""

    instances: dict
    client_ids: dict
    jtis: dict


def revocations_from_data(data) -> Revocations:
    """The revoked ids the data document lists: per list, an array of ids, or an object whose
    keys are the ids and whose values may say ``{"expires": SECONDS}``. Raises on a malformed
    list."""
    instances, client_ids, jtis = (_read(data, key) for key in REVOCATION_LISTS)
    return Revocations(instances, client_ids, jtis)


def _read(data, key: str) -> dict:
    value = data.get(key) if isinstance(data, dict) else None
    if value is None:
        return {}
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return dict.fromkeys(value)
    if not isinstance(value, dict):
        raise WarrantError(
            "data",
            f"invalid policy data: `{key}` must be an array of strings or an object whose keys are the revoked ids",
        )
    ids = {}
    # Sorted, as Rust's serde_json map iterates them: the same malformed entry reported first.
    for revoked_id, entry in sorted(value.items()):
        expires = entry.get("expires") if isinstance(entry, dict) else None
        present = isinstance(entry, dict) and "expires" in entry
        if present and not (is_integer(expires) and 0 <= expires <= MAX_EXPIRY):
            raise WarrantError(
                "data",
                f"invalid policy data: `{key}`: the expiry of `{revoked_id}` must be whole Unix seconds "
                f"from 0 to {MAX_EXPIRY}, found {_describe(expires)}",
            )
        ids[revoked_id] = expires
    return ids


def revocation_refusal(revocations: Revocations, request):
    """The deny reason if ``request`` carries a revoked token, instance or client in any hop, or
    None; a revocation with an expiry is in force before it, and always when the request has no
    ``now``."""
    fields = request.fields

    def revoked(ids, revoked_id):
        return revoked_id is not None and revoked_id in ids and _in_force(ids[revoked_id], fields.get("now"))

    if revoked(revocations.jtis, fields.get("jti")):
        return f"revoked token: jti `{fields['jti']}`"
    for instance in [actor.instance for actor in request.chain] + [fields.get("instance")]:
        if revoked(revocations.instances, instance):
            return f"revoked agent instance `{instance}`"
    for client in [actor.client_id for actor in request.chain] + [fields.get("client_id")]:
        if revoked(revocations.client_ids, client):
            return f"revoked client `{client}`"
    return None


def _in_force(expires, now) -> bool:
    return expires is None or now is None or now < expires


def _describe(value) -> str:
    """Numbers as written (Python's shortest repr, as serde_json prints them), others by type."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return "a string"
    return "an array" if isinstance(value, list) else "an object"
