# GENERATED — do not edit (placeholder until the generator lands)
"""The host/guest contract constants of wasm-guest/ABI.md (copied from hosts/js/abi.mjs)."""

#: Major ABI version this host speaks; modules with another major are refused.
ABI_VERSION_MAJOR = 2
#: Minor ABI version this host implements (a module with a higher minor is compatible).
ABI_VERSION_MINOR = 0

EXPORT_MEMORY = "memory"
EXPORT_HEAP_BASE = "warrant_heap_base"
EXPORT_ABI_VERSION = "warrant_abi_version"
EXPORT_DECIDE = "warrant_decide"
MANIFEST_SECTION = "warrant.manifest"

#: ``warrant_decide`` results; negative values are error codes (ABI.md §7).
DECIDE_ALLOW = 1
DECIDE_DENY = 0

#: The i32 id of a missing string.
MISSING_ID = -1
#: Data keys of the host's revocation lists (lang/src/ir.rs ``REVOCATION_LISTS``).
REVOCATION_LISTS = ("revoked_instances", "revoked_client_ids", "revoked_jtis")
#: Output entry of a deny rule that fired with a true body (else its undecided message index).
FIRED_DECIDED = -1
#: Images start 16-aligned and their lengths are multiples of 16.
IMAGE_ALIGN = 16
#: One slot cell.
CELL_SIZE = 16
#: One string-table entry: u32 pointer, u32 byte length.
STRING_ENTRY_SIZE = 8
#: Request image header: string count, string table, chain length, chain pointer.
REQUEST_HEADER_SIZE = 16
#: Data image header: string count, string table.
DATA_HEADER_SIZE = 8
#: One actor record: sub, client_id, instance ids.
ACTOR_RECORD_SIZE = 12

#: Largest request image, as in the Rust encoder.
MAX_REQUEST_IMAGE_BYTES = 1 << 20
#: Largest data image, as in the Rust encoder.
MAX_DATA_IMAGE_BYTES = 1 << 30

#: Request fields and the type each is read as (ABI.md §2).
FIELD_TYPES = {
    "sub": "str",
    "iss": "str",
    "jti": "str",
    "client_id": "str",
    "instance": "str",
    "resource": "str",
    "action": "str",
    "aud": "str_set",
    "scope": "str_set",
    "iat": "int",
    "exp": "int",
    "nbf": "int",
    "now": "int",
}
