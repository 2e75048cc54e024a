# GENERATED — do not edit (placeholder until the generator lands)
"""The ABI constants of wasm-guest/ABI.md and the request vocabulary, for the Python host.

Placeholder: values copied from hosts/js/abi.mjs, names as the generator in
wasm-guest/tests/generated.rs writes them; its output replaces this file.
"""

ABI_VERSION_MAJOR = 2
ABI_VERSION_MINOR = 0

EXPORT_MEMORY = "memory"
EXPORT_HEAP_BASE = "warrant_heap_base"
EXPORT_ABI_VERSION = "warrant_abi_version"
EXPORT_DECIDE = "warrant_decide"
MANIFEST_SECTION = "warrant.manifest"

SLOT_TYPES = ("str", "int", "bool", "str_set")
RULE_KINDS = ("allow", "deny", "helper")

DECIDE_ALLOW = 1
DECIDE_DENY = 0

FIRED_DECIDED = -1
OUTPUT_WORD_SIZE = 4

MISSING_ID = -1
IMAGE_ALIGN = 16
STRING_ENTRY_SIZE = 8
STRING_ENTRY_PTR = 0
STRING_ENTRY_LEN = 4
ID_SIZE = 4

CELL_SIZE = 16
CELL_STR_ID = 0
CELL_INT_PRESENT = 0
CELL_INT_VALUE = 8
CELL_BOOL = 0
CELL_SET_PTR = 0
CELL_SET_LEN = 4
CELL_TABLE_KEYS = 0
CELL_TABLE_VALS = 4
CELL_TABLE_LEN = 8

REQ_STRING_COUNT = 0
REQ_STRING_TABLE = 4
REQ_CHAIN_LEN = 8
REQ_CHAIN_PTR = 12
REQ_SLOTS = 16

DATA_STRING_COUNT = 0
DATA_STRING_TABLE = 4
DATA_SLOTS = 8

ACTOR_RECORD_SIZE = 12
ACTOR_SUB = 0
ACTOR_CLIENT_ID = 4
ACTOR_INSTANCE = 8

MAX_REQUEST_IMAGE_BYTES = 1048576
MAX_DATA_IMAGE_BYTES = 1073741824
REVOCATION_LISTS = ("revoked_instances", "revoked_client_ids", "revoked_jtis")

VOCABULARY = (
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
)
