"""The data image (ABI.md §5.3): the data document's slots laid out once per data version, plus
the string ids every later request is interned against. A port of hosts/js/data_image.mjs, which
mirrors wasm-guest/src/abi/data_image.rs; ``check_data_shape`` ports lang/src/data_shape.rs."""

import json
from dataclasses import dataclass

from .abi_generated import (
    CELL_SIZE,
    DATA_SLOTS,
    DATA_STRING_COUNT,
    DATA_STRING_TABLE,
    MAX_DATA_IMAGE_BYTES,
    REVOCATION_LISTS,
)
from .coerce import MISSING, json_cell, walk
from .errors import WarrantError
from .image import Cell, ImageWriter
from .strict_json import is_integer

_I32_MAX = 0x7FFF_FFFF


@dataclass(frozen=True)
class DataImage:
    """A laid-out data image: ``ids`` maps every literal and data string to its id;
    ``string_count`` (``L + D``) is the first id free for request strings."""

    bytes: bytes
    base: int
    end: int
    ids: dict
    string_count: int


def build_data_image(manifest, data, base: int) -> DataImage:
    """Lays out the data slots of ``manifest`` read from ``data`` (a tree) for placement at
    ``base``, after refusing a document whose shape contradicts the policy."""
    check_data_shape(manifest, data)
    literal_count = len(manifest["literals"])
    ids = {literal: index for index, literal in enumerate(manifest["literals"])}
    strings = []

    def intern(text: str) -> int:
        string_id = ids.get(text)
        if string_id is None:
            string_id = literal_count + len(strings)
            if string_id > _I32_MAX:
                raise _invalid_data("too many distinct strings")
            ids[text] = string_id
            strings.append(text.encode("utf-8"))
        return string_id

    image = ImageWriter(base, "data", MAX_DATA_IMAGE_BYTES, _invalid_data)
    header = image.reserve(DATA_SLOTS)
    cells = image.reserve_cells(len(manifest["slots"]))
    for index, slot in enumerate(manifest["slots"]):
        source, ty = slot["source"], slot["ty"]
        if "data" in source:
            value = walk(data, source["data"])
            if value is MISSING and _reads_as_empty_set(slot):
                value = []
            cell = json_cell(image, intern, value, ty, False)
        elif "data_table" in source:
            cell = _table_cell(image, intern, data, source["data_table"], ty)
        else:
            cell = Cell.missing(ty)
        image.put_cell(cells + index * CELL_SIZE, cell)
    table = image.append_strings(strings)
    image.put_u32(header + DATA_STRING_COUNT, len(strings))
    image.put_u32(header + DATA_STRING_TABLE, table)
    finished = image.finish()
    return DataImage(finished, base, base + len(finished), ids, literal_count + len(strings))


def _table_cell(image, intern, data, source, ty: str) -> Cell:
    """A data table: the value at ``table`` must be an object (else the table is empty); each
    entry's ``field`` read as ``ty`` becomes a value cell under the entry's key; missing values
    are left out."""
    entries = walk(data, source["table"])
    if not isinstance(entries, dict):
        return Cell.table(0, 0, 0)
    rows = []
    # Sorted keys (code points = UTF-8 bytes), as the Rust encoder sorts them explicitly
    # (warrant_lang::data_shape::sorted_entries, whatever serde_json's map order): the same
    # string ids in every host.
    for key, entry in sorted(entries.items()):
        value = json_cell(image, intern, walk(entry, source["field"]), ty, False)
        if value.kind != "missing":
            rows.append((intern(key), value))
    rows.sort(key=lambda row: row[0])
    keys = image.append_ids([key for key, _ in rows])
    image.pad_to(8)
    values = image.reserve_cells(len(rows))
    for index, (_, value) in enumerate(rows):
        image.put_cell(values + index * CELL_SIZE, value)
    return Cell.table(keys, image.address(values), len(rows))


def _reads_as_empty_set(slot) -> bool:
    """A revocation list read as a set: absent, it is the empty set (``Slot::absent_is_empty``)."""
    path = slot["source"]["data"]
    return slot["ty"] == "str_set" and len(path) == 1 and path[0] in REVOCATION_LISTS


def _invalid_data(detail: str) -> WarrantError:
    return WarrantError("data", f"invalid policy data: {detail}")


def check_data_shape(manifest, data) -> None:
    """Refuses a data document whose shape contradicts the types the policy reads, same rules
    and messages as the Rust and JS hosts. An absent path is fine (it reads as missing); a
    present value of another shape is an error naming the path."""
    for slot in manifest["slots"]:
        source, ty = slot["source"], slot["ty"]
        if "data" in source:
            _check_path(data, "data", source["data"], ty)
        elif "data_table" in source:
            found = _shape_walk(data, "data", source["data_table"]["table"])
            if found is None:
                continue
            table_path, entries = found
            if not isinstance(entries, dict):
                raise _shape_error(table_path, "an object (a table of entries)", entries)
            # Sorted keys, as the Rust check sorts them explicitly (data_shape::sorted_entries):
            # the same entry reported first.
            for key, entry in sorted(entries.items()):
                _check_path(entry, f"{table_path}[{_js_string(key)}]", source["data_table"]["field"], ty)


_EXPECTED = {
    "str": "a string",
    "int": "an integer (64-bit signed)",
    "bool": "a boolean",
    "str_set": "a set of strings (an array of strings, or an object)",
}


def _check_path(value, prefix: str, path, ty: str) -> None:
    found = _shape_walk(value, prefix, path)
    if found is None:
        return
    at, leaf = found
    if not _reads_as(leaf, ty):
        raise _shape_error(at, _EXPECTED.get(ty, "a known type"), leaf)


def _shape_walk(value, at: str, path):
    """Follows ``path`` through objects: None when a key is absent, raises when a step is not an
    object; else ``(path text, value)``."""
    for key in path:
        if not isinstance(value, dict):
            raise _shape_error(at, "an object", value)
        if key not in value:
            return None
        at = f"{at}.{key}"
        value = value[key]
    return at, value


def _reads_as(value, ty: str) -> bool:
    if ty == "str":
        return isinstance(value, str)
    if ty == "int":
        return is_integer(value)
    if ty == "bool":
        return isinstance(value, bool)
    if ty == "str_set":
        return isinstance(value, dict) or (isinstance(value, list) and all(isinstance(i, str) for i in value))
    return False


def _shape_error(path: str, expected: str, found) -> WarrantError:
    return _invalid_data(f"data does not fit the policy: {path}: expected {expected}, found {_describe(found)}")


def _describe(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if is_integer(value):
        return "an integer"
    if isinstance(value, float):
        return "a number that is not a 64-bit signed integer"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        for index, item in enumerate(value):
            if not isinstance(item, str):
                return f"an array whose element {index} is {_describe(item)}"
        return "an array of strings"
    return "an object"


def _js_string(text: str) -> str:
    """``text`` quoted as JSON with non-ASCII kept (as JavaScript's ``JSON.stringify`` and
    serde_json's Debug-free quoting do)."""
    return json.dumps(text, ensure_ascii=False)
