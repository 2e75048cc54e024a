"""How JSON values read as slot types (ABI.md §6): a value of the wrong shape reads as
*missing*. The one place this rule lives for the Python host; a port of hosts/js/coerce.mjs,
which mirrors wasm-guest/src/abi/coerce.rs."""

from .image import Cell
from .strict_json import is_integer

#: Marks an absent value (``None`` is JSON ``null``, a present value).
MISSING = object()


def json_cell(image, intern, value, ty: str, claim_string_is_list: bool) -> Cell:
    """The cell of ``value`` (a tree value, or ``MISSING``) read as ``ty``. Set elements are
    interned with ``intern(text) -> id`` and appended to ``image``."""
    read = json_value(value, ty, claim_string_is_list)
    if read is MISSING:
        return Cell.missing(ty)
    if ty == "str":
        return Cell.str_id(intern(read))
    if ty == "int":
        return Cell.int_value(read)
    if ty == "bool":
        return Cell.bool_value(read)
    return image.append_set([intern(text) for text in read])


def json_value(value, ty: str, claim_string_is_list: bool):
    """``value`` (a tree value, or ``MISSING``) read as ``ty``: a str, an int, a bool or a list
    of strings (a set's elements, duplicates included), else ``MISSING``."""
    if value is MISSING:
        return MISSING
    if ty == "str":
        return value if isinstance(value, str) else MISSING
    if ty == "int":
        # Only integers that fit in i64 are ints in the tree.
        return value if is_integer(value) else MISSING
    if ty == "bool":
        return value if isinstance(value, bool) else MISSING
    if ty == "str_set":
        elements = _str_set_elements(value, claim_string_is_list)
        return MISSING if elements is None else elements
    return MISSING


def _str_set_elements(value, claim_string_is_list: bool):
    """``value`` as the elements of a string set (duplicates included), or None: a list of
    strings only, an object's keys, and with ``claim_string_is_list`` a string's non-empty
    space-separated parts (RFC 9068 ``scope`` style)."""
    if isinstance(value, list):
        return value if all(isinstance(item, str) for item in value) else None
    if isinstance(value, dict):
        # Sorted by code points (= UTF-8 bytes), as the Rust encoder sorts them explicitly
        # (warrant_lang::data_shape::sorted_entries, whatever serde_json's map order): the same
        # string ids in every host.
        return sorted(value)
    if isinstance(value, str) and claim_string_is_list:
        return split_spaces(value)
    return None


def split_spaces(text: str):
    """The non-empty parts of ``text`` between single spaces (not ``str.split()``, which also
    splits on tabs and other whitespace the Rust host keeps)."""
    return [part for part in text.split(" ") if part != ""]


def walk(value, path):
    """Follows ``path`` through nested objects; ``MISSING`` when a step is not an object or
    lacks the key."""
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return MISSING
        value = value[key]
    return value


def walk_claims(claims, path):
    """Follows ``path`` from the claims or context object (the first step is a key; an empty
    path is missing)."""
    if not path:
        return MISSING
    return walk(claims, path)
