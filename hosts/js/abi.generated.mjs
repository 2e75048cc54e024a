// GENERATED from wasm-guest/src/abi.rs and lang/src/ir.rs by `UPDATE=1 cargo test -p warrant-wasm --test generated`. Do not edit.
// The ABI constants of wasm-guest/ABI.md and the request vocabulary, for the JS host.

// version
/** Major ABI version: bumped on any incompatible layout change; hosts refuse other majors. */
export const ABI_VERSION_MAJOR = 3;
/** Minor ABI version: bumped on backward-compatible additions. */
export const ABI_VERSION_MINOR = 0;
/** What `warrant_abi_version()` returns: `(major << 16) | minor`. */
export const ABI_VERSION_WORD = 196608;

// exports
/** The module's exported linear memory. */
export const EXPORT_MEMORY = "memory";
/** Exported immutable i32 global: first free 16-aligned byte after the module's static data. */
export const EXPORT_HEAP_BASE = "warrant_heap_base";
/** Exported `() -> i32` returning `ABI_VERSION_WORD`. */
export const EXPORT_ABI_VERSION = "warrant_abi_version";
/** Exported `(data_ptr: i32, req_ptr: i32, out_ptr: i32) -> i32`. */
export const EXPORT_DECIDE = "warrant_decide";
/** Custom section holding the JSON manifest. */
export const MANIFEST_SECTION = "warrant.manifest";

// manifest
/** The manifest's slot type names (`slots[i].ty`), for `str`, `int`, `bool` and `str_set`. */
export const SLOT_TYPES = Object.freeze(["str", "int", "bool", "str_set"]);
/** The manifest's rule kinds (`rules[i].kind`): `allow`, `deny` (with a `reason`), `helper`. */
export const RULE_KINDS = Object.freeze(["allow", "deny", "helper"]);

// reason
/** Bytes of one rendered deny-reason placeholder value (after escaping each control character as backslash, `u` and four lowercase hex digits); a longer value keeps its longest prefix of at most this many bytes ending on a character boundary, then `REASON_TRUNCATED`. */
export const REASON_MAX_VALUE_BYTES = 256;
/** Bytes of one rendered deny reason, truncated like a value. */
export const REASON_MAX_BYTES = 1024;
/** Appended to a truncated value or reason. */
export const REASON_TRUNCATED = "…";
/** What a missing (absent or ill-typed) placeholder value renders as. */
export const REASON_MISSING = "<missing>";
/** Between the elements of a set value, sorted by their UTF-8 bytes. */
export const REASON_SET_SEPARATOR = ", ";

// decide
/** `warrant_decide` result: allowed. */
export const DECIDE_ALLOW = 1;
/** `warrant_decide` result: denied (default deny, or a deny rule fired). */
export const DECIDE_DENY = 0;
/** `warrant_decide` error: the output area is outside memory. */
export const ERR_OUTPUT_OUT_OF_BOUNDS = -1;
/** `warrant_decide` error: the data image header, slot table or string table is outside memory. */
export const ERR_DATA_IMAGE_OUT_OF_BOUNDS = -2;
/** `warrant_decide` error: the request image header, slot table, string table or chain is outside memory. */
export const ERR_REQUEST_IMAGE_OUT_OF_BOUNDS = -3;
/** `warrant_decide` error: a set, table or string an image points to is outside memory. */
export const ERR_VALUE_OUT_OF_BOUNDS = -4;
/** `warrant_decide` error: a string id is neither a literal, a data string nor a request string. */
export const ERR_BAD_STRING_ID = -5;

// output
/** A rule function's result when its body is false. */
export const TRUTH_FALSE = 0;
/** A rule function's result when its body is true. Undecided is `1 + k`, `k` indexing the manifest's `undecided`: the order `false < undecided(k) < true` makes a conjunction the unsigned minimum and a disjunction the maximum. */
export const TRUTH_TRUE = 2147483647;
/** Output entry of a deny rule that fired with a true body (else the message index `k`). */
export const FIRED_DECIDED = -1;
/** Bytes of one little-endian u32 word of the fired bitmap (32 rules) and of one i32 output entry. */
export const OUTPUT_WORD_SIZE = 4;

// ids
/** The id of a missing string (and the "missing" marker of every i32 id field). */
export const MISSING_ID = -1;
/** Images start at 16-aligned addresses and their lengths are multiples of 16, so the host can place the request right after the data image and the output right after the request. */
export const IMAGE_ALIGN = 16;
/** Bytes of one string-table entry: i32 pointer, i32 byte length. */
export const STRING_ENTRY_SIZE = 8;
/** String-table entry: u32 pointer to the string's UTF-8 bytes. */
export const STRING_ENTRY_PTR = 0;
/** String-table entry: u32 byte length. */
export const STRING_ENTRY_LEN = 4;
/** Bytes of one id in a set or key array. */
export const ID_SIZE = 4;

// cell
/** Size of one slot cell (slot tables and data-table value arrays). */
export const CELL_SIZE = 16;
/** `Str` cell: i32 string id (`-1` missing). */
export const CELL_STR_ID = 0;
/** `Int` cell: i32 present flag (1 present, 0 missing). */
export const CELL_INT_PRESENT = 0;
/** `Int` cell: i64 value. */
export const CELL_INT_VALUE = 8;
/** `Bool` cell: i32 0 false, 1 true, -1 missing. */
export const CELL_BOOL = 0;
/** `StrSet` cell: i32 pointer to the sorted unique ids. */
export const CELL_SET_PTR = 0;
/** `StrSet` cell: i32 element count (`-1` missing). */
export const CELL_SET_LEN = 4;
/** `DataTable` cell: i32 pointer to the sorted unique key ids. */
export const CELL_TABLE_KEYS = 0;
/** `DataTable` cell: i32 pointer to `len` value cells of `CELL_SIZE` bytes. */
export const CELL_TABLE_VALS = 4;
/** `DataTable` cell: i32 entry count. */
export const CELL_TABLE_LEN = 8;

// request
/** Request image: u32 `R`, the number of request strings. */
export const REQ_STRING_COUNT = 0;
/** Request image: u32 pointer to the request string table (`R` string-table entries). */
export const REQ_STRING_TABLE = 4;
/** Request image: u32 `N`, the length of the delegation chain. */
export const REQ_CHAIN_LEN = 8;
/** Request image: u32 pointer to the `N` actor records, delegation order. */
export const REQ_CHAIN_PTR = 12;
/** Request image: offset of the slot table (one cell per slot); also the header's size. */
export const REQ_SLOTS = 16;

// data
/** Data image: u32 `D`, the number of data strings. */
export const DATA_STRING_COUNT = 0;
/** Data image: u32 pointer to the data string table (`D` string-table entries). */
export const DATA_STRING_TABLE = 4;
/** Data image: offset of the slot table (one cell per slot); also the header's size. */
export const DATA_SLOTS = 8;

// actor
/** Bytes of the fixed part of one actor record: three i32 string ids and 4 bytes of padding. The record goes on with one cell (`CELL_SIZE` bytes) per `actor_claim` slot of the manifest, in slot order; so the records' stride is `ACTOR_RECORD_SIZE + CELL_SIZE * (number of actor_claim slots)`. */
export const ACTOR_RECORD_SIZE = 16;
/** Actor record: `sub` id. */
export const ACTOR_SUB = 0;
/** Actor record: `client_id` id. */
export const ACTOR_CLIENT_ID = 4;
/** Actor record: `instance` id. */
export const ACTOR_INSTANCE = 8;

// limits
/** Largest request image the encoder produces; tokens are kilobytes, so more is hostile. */
export const MAX_REQUEST_IMAGE_BYTES = 1048576;
/** Largest data image the encoder produces. */
export const MAX_DATA_IMAGE_BYTES = 1073741824;
/** Data keys of the host's revocation lists: enforced on every hop before the policy runs, and read by a policy as the empty set when the document has none. */
export const REVOCATION_LISTS = Object.freeze(["revoked_instances", "revoked_client_ids", "revoked_jtis"]);

// vocabulary
/**
 * The request fields the language names, in vocabulary order: `name`, `ty` (a manifest type),
 * `from` (`claim`, `instance_claim`: the configurable instance claim, or `call`: the request's
 * top-level key `name`), `claim` (for `from: "claim"`), `string_is_list` (a string claim is a
 * space-separated list rather than one element).
 */
export const VOCABULARY = Object.freeze([
  Object.freeze({"name": "sub", "ty": "str", "from": "claim", "claim": "sub", "string_is_list": false}),
  Object.freeze({"name": "iss", "ty": "str", "from": "claim", "claim": "iss", "string_is_list": false}),
  Object.freeze({"name": "jti", "ty": "str", "from": "claim", "claim": "jti", "string_is_list": false}),
  Object.freeze({"name": "client_id", "ty": "str", "from": "claim", "claim": "client_id", "string_is_list": false}),
  Object.freeze({"name": "instance", "ty": "str", "from": "instance_claim", "claim": null, "string_is_list": false}),
  Object.freeze({"name": "resource", "ty": "str", "from": "call", "claim": null, "string_is_list": false}),
  Object.freeze({"name": "action", "ty": "str", "from": "call", "claim": null, "string_is_list": false}),
  Object.freeze({"name": "aud", "ty": "str_set", "from": "claim", "claim": "aud", "string_is_list": false}),
  Object.freeze({"name": "scope", "ty": "str_set", "from": "claim", "claim": "scope", "string_is_list": true}),
  Object.freeze({"name": "iat", "ty": "int", "from": "claim", "claim": "iat", "string_is_list": false}),
  Object.freeze({"name": "exp", "ty": "int", "from": "claim", "claim": "exp", "string_is_list": false}),
  Object.freeze({"name": "nbf", "ty": "int", "from": "claim", "claim": "nbf", "string_is_list": false}),
  Object.freeze({"name": "now", "ty": "int", "from": "call", "claim": null, "string_is_list": false}),
  Object.freeze({"name": "binding", "ty": "str", "from": "call", "claim": null, "string_is_list": false}),
]);
