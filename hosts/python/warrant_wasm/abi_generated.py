"""GENERATED from wasm-guest/src/abi.rs and lang/src/ir.rs by `UPDATE=1 cargo test -p warrant-wasm --test generated`. Do not edit.

The ABI constants of wasm-guest/ABI.md and the request vocabulary, for the Python host.
"""

from typing import Final

# version
ABI_VERSION_MAJOR: Final = 3
"""Major ABI version: bumped on any incompatible layout change; hosts refuse other majors."""
ABI_VERSION_MINOR: Final = 0
"""Minor ABI version: bumped on backward-compatible additions."""
ABI_VERSION_WORD: Final = 196608
"""What `warrant_abi_version()` returns: `(major << 16) | minor`."""

# exports
EXPORT_MEMORY: Final = "memory"
"""The module's exported linear memory."""
EXPORT_HEAP_BASE: Final = "warrant_heap_base"
"""Exported immutable i32 global: first free 16-aligned byte after the module's static data."""
EXPORT_ABI_VERSION: Final = "warrant_abi_version"
"""Exported `() -> i32` returning `ABI_VERSION_WORD`."""
EXPORT_DECIDE: Final = "warrant_decide"
"""Exported `(data_ptr: i32, req_ptr: i32, out_ptr: i32) -> i32`."""
MANIFEST_SECTION: Final = "warrant.manifest"
"""Custom section holding the JSON manifest."""

# manifest
SLOT_TYPES: Final = ("str", "int", "bool", "str_set")
"""The manifest's slot type names (`slots[i].ty`), for `str`, `int`, `bool` and `str_set`."""
RULE_KINDS: Final = ("allow", "deny", "helper")
"""The manifest's rule kinds (`rules[i].kind`): `allow`, `deny` (with a `reason`), `helper`."""

# reason
REASON_MAX_VALUE_BYTES: Final = 256
"""Bytes of one rendered deny-reason placeholder value (after escaping each control character as backslash, `u` and four lowercase hex digits); a longer value keeps its longest prefix of at most this many bytes ending on a character boundary, then `REASON_TRUNCATED`."""
REASON_MAX_BYTES: Final = 1024
"""Bytes of one rendered deny reason, truncated like a value."""
REASON_TRUNCATED: Final = "…"
"""Appended to a truncated value or reason."""
REASON_MISSING: Final = "<missing>"
"""What a missing (absent or ill-typed) placeholder value renders as."""
REASON_SET_SEPARATOR: Final = ", "
"""Between the elements of a set value, sorted by their UTF-8 bytes."""

# decide
DECIDE_ALLOW: Final = 1
"""`warrant_decide` result: allowed."""
DECIDE_DENY: Final = 0
"""`warrant_decide` result: denied (default deny, or a deny rule fired)."""
ERR_OUTPUT_OUT_OF_BOUNDS: Final = -1
"""`warrant_decide` error: the output area is outside memory."""
ERR_DATA_IMAGE_OUT_OF_BOUNDS: Final = -2
"""`warrant_decide` error: the data image header, slot table or string table is outside memory."""
ERR_REQUEST_IMAGE_OUT_OF_BOUNDS: Final = -3
"""`warrant_decide` error: the request image header, slot table, string table or chain is outside memory."""
ERR_VALUE_OUT_OF_BOUNDS: Final = -4
"""`warrant_decide` error: a set, table or string an image points to is outside memory."""
ERR_BAD_STRING_ID: Final = -5
"""`warrant_decide` error: a string id is neither a literal, a data string nor a request string."""

# output
TRUTH_FALSE: Final = 0
"""A rule function's result when its body is false."""
TRUTH_TRUE: Final = 2147483647
"""A rule function's result when its body is true. Undecided is `1 + k`, `k` indexing the manifest's `undecided`: the order `false < undecided(k) < true` makes a conjunction the unsigned minimum and a disjunction the maximum."""
FIRED_DECIDED: Final = -1
"""Output entry of a deny rule that fired with a true body (else the message index `k`)."""
OUTPUT_WORD_SIZE: Final = 4
"""Bytes of one little-endian u32 word of the fired bitmap (32 rules) and of one i32 output entry."""

# ids
MISSING_ID: Final = -1
"""The id of a missing string (and the "missing" marker of every i32 id field)."""
IMAGE_ALIGN: Final = 16
"""Images start at 16-aligned addresses and their lengths are multiples of 16, so the host can place the request right after the data image and the output right after the request."""
STRING_ENTRY_SIZE: Final = 8
"""Bytes of one string-table entry: i32 pointer, i32 byte length."""
STRING_ENTRY_PTR: Final = 0
"""String-table entry: u32 pointer to the string's UTF-8 bytes."""
STRING_ENTRY_LEN: Final = 4
"""String-table entry: u32 byte length."""
ID_SIZE: Final = 4
"""Bytes of one id in a set or key array."""

# cell
CELL_SIZE: Final = 16
"""Size of one slot cell (slot tables and data-table value arrays)."""
CELL_STR_ID: Final = 0
"""`Str` cell: i32 string id (`-1` missing)."""
CELL_INT_PRESENT: Final = 0
"""`Int` cell: i32 present flag (1 present, 0 missing)."""
CELL_INT_VALUE: Final = 8
"""`Int` cell: i64 value."""
CELL_BOOL: Final = 0
"""`Bool` cell: i32 0 false, 1 true, -1 missing."""
CELL_SET_PTR: Final = 0
"""`StrSet` cell: i32 pointer to the sorted unique ids."""
CELL_SET_LEN: Final = 4
"""`StrSet` cell: i32 element count (`-1` missing)."""
CELL_TABLE_KEYS: Final = 0
"""`DataTable` cell: i32 pointer to the sorted unique key ids."""
CELL_TABLE_VALS: Final = 4
"""`DataTable` cell: i32 pointer to `len` value cells of `CELL_SIZE` bytes."""
CELL_TABLE_LEN: Final = 8
"""`DataTable` cell: i32 entry count."""

# request
REQ_STRING_COUNT: Final = 0
"""Request image: u32 `R`, the number of request strings."""
REQ_STRING_TABLE: Final = 4
"""Request image: u32 pointer to the request string table (`R` string-table entries)."""
REQ_CHAIN_LEN: Final = 8
"""Request image: u32 `N`, the length of the delegation chain."""
REQ_CHAIN_PTR: Final = 12
"""Request image: u32 pointer to the `N` actor records, delegation order."""
REQ_SLOTS: Final = 16
"""Request image: offset of the slot table (one cell per slot); also the header's size."""

# data
DATA_STRING_COUNT: Final = 0
"""Data image: u32 `D`, the number of data strings."""
DATA_STRING_TABLE: Final = 4
"""Data image: u32 pointer to the data string table (`D` string-table entries)."""
DATA_SLOTS: Final = 8
"""Data image: offset of the slot table (one cell per slot); also the header's size."""

# actor
ACTOR_RECORD_SIZE: Final = 16
"""Bytes of the fixed part of one actor record: three i32 string ids and 4 bytes of padding. The record goes on with one cell (`CELL_SIZE` bytes) per `actor_claim` slot of the manifest, in slot order; so the records' stride is `ACTOR_RECORD_SIZE + CELL_SIZE * (number of actor_claim slots)`."""
ACTOR_SUB: Final = 0
"""Actor record: `sub` id."""
ACTOR_CLIENT_ID: Final = 4
"""Actor record: `client_id` id."""
ACTOR_INSTANCE: Final = 8
"""Actor record: `instance` id."""

# limits
MAX_REQUEST_IMAGE_BYTES: Final = 1048576
"""Largest request image the encoder produces; tokens are kilobytes, so more is hostile."""
MAX_DATA_IMAGE_BYTES: Final = 1073741824
"""Largest data image the encoder produces."""
REVOCATION_LISTS: Final = ("revoked_instances", "revoked_client_ids", "revoked_jtis")
"""Data keys of the host's revocation lists: enforced on every hop before the policy runs, and read by a policy as the empty set when the document has none."""

# vocabulary
VOCABULARY: Final = (
    {"name": "sub", "ty": "str", "from": "claim", "claim": "sub", "string_is_list": False},
    {"name": "iss", "ty": "str", "from": "claim", "claim": "iss", "string_is_list": False},
    {"name": "jti", "ty": "str", "from": "claim", "claim": "jti", "string_is_list": False},
    {"name": "client_id", "ty": "str", "from": "claim", "claim": "client_id", "string_is_list": False},
    {"name": "instance", "ty": "str", "from": "instance_claim", "claim": None, "string_is_list": False},
    {"name": "resource", "ty": "str", "from": "call", "claim": None, "string_is_list": False},
    {"name": "action", "ty": "str", "from": "call", "claim": None, "string_is_list": False},
    {"name": "aud", "ty": "str_set", "from": "claim", "claim": "aud", "string_is_list": False},
    {"name": "scope", "ty": "str_set", "from": "claim", "claim": "scope", "string_is_list": True},
    {"name": "iat", "ty": "int", "from": "claim", "claim": "iat", "string_is_list": False},
    {"name": "exp", "ty": "int", "from": "claim", "claim": "exp", "string_is_list": False},
    {"name": "nbf", "ty": "int", "from": "claim", "claim": "nbf", "string_is_list": False},
    {"name": "now", "ty": "int", "from": "call", "claim": None, "string_is_list": False},
    {"name": "binding", "ty": "str", "from": "call", "claim": None, "string_is_list": False},
)
"""The request fields the language names, in vocabulary order: `name`, `ty` (a manifest type),
`from` (`claim`, `instance_claim`: the configurable instance claim, or `call`: the request's
top-level key `name`), `claim` (for `from: "claim"`), `string_is_list` (a string claim is a
space-separated list rather than one element)."""
