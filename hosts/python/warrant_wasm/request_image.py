"""The request image (ABI.md §5.2), encoded once per decision: a port of
hosts/js/request_image.mjs, which mirrors wasm-guest/src/abi/request_image.rs, so every host lays
out the same bytes and refuses the same oversized requests."""

from .abi import FIELD_TYPES
from .abi_generated import (
    ACTOR_CLIENT_ID,
    ACTOR_INSTANCE,
    ACTOR_RECORD_SIZE,
    ACTOR_SUB,
    CELL_SIZE,
    MAX_REQUEST_IMAGE_BYTES,
    MISSING_ID,
    REQ_CHAIN_LEN,
    REQ_CHAIN_PTR,
    REQ_SLOTS,
    REQ_STRING_COUNT,
    REQ_STRING_TABLE,
    STRING_ENTRY_SIZE,
)
from .coerce import json_cell, walk_claims
from .errors import WarrantError
from .image import Cell, ImageWriter

_I32_MAX = 0x7FFF_FFFF
_TOO_LARGE = f"request image exceeds {MAX_REQUEST_IMAGE_BYTES} bytes"


def encode_request(manifest, data, request, base: int) -> bytes:
    """Encodes ``request`` as an image placed at ``base`` (16-aligned, not below ``data.end``).
    Literal and data strings keep their ids; other strings get fresh ids from
    ``data.string_count`` on."""
    if base < data.end:
        raise _unencodable("request image base must not overlap the data image")
    strings = []
    index_by_text = {}
    string_bytes = 0

    def intern(text: str) -> int:
        nonlocal string_bytes
        known = data.ids.get(text)
        if known is not None:
            return known
        index = index_by_text.get(text)
        if index is None:
            encoded = text.encode("utf-8")
            table_bytes = (len(strings) + 1) * STRING_ENTRY_SIZE
            if string_bytes + len(encoded) + table_bytes > MAX_REQUEST_IMAGE_BYTES:
                raise _unencodable(_TOO_LARGE)
            index = len(strings)
            strings.append(encoded)
            string_bytes += len(encoded)
            index_by_text[text] = index
        string_id = data.string_count + index
        if string_id > _I32_MAX:
            raise _unencodable(_TOO_LARGE)
        return string_id

    def optional_id(text):
        return MISSING_ID if text is None else intern(text)

    image = ImageWriter(base, "request", MAX_REQUEST_IMAGE_BYTES, _unencodable)
    header = image.reserve(REQ_SLOTS)
    cells = image.reserve_cells(len(manifest["slots"]))
    # Each actor record: its ids, then one cell per actor-claim slot, in slot order.
    actor_claims = [
        (slot["source"]["actor_claim"], slot["ty"]) for slot in manifest["slots"] if "actor_claim" in slot["source"]
    ]
    stride = ACTOR_RECORD_SIZE + CELL_SIZE * len(actor_claims)
    chain = image.reserve(len(request.chain) * stride)
    for index, actor in enumerate(request.chain):
        record = chain + index * stride
        image.put_u32(record + ACTOR_SUB, optional_id(actor.sub))
        image.put_u32(record + ACTOR_CLIENT_ID, optional_id(actor.client_id))
        image.put_u32(record + ACTOR_INSTANCE, optional_id(actor.instance))
        for claim, (path, ty) in enumerate(actor_claims):
            cell = json_cell(image, intern, walk_claims(actor.claims, path), ty, True)
            image.put_cell(record + ACTOR_RECORD_SIZE + claim * CELL_SIZE, cell)
    image.pad_to(8)
    for index, slot in enumerate(manifest["slots"]):
        source, ty = slot["source"], slot["ty"]
        if "field" in source:
            cell = _field_cell(image, intern, request, source["field"], ty)
        elif "claim" in source:
            cell = json_cell(image, intern, walk_claims(request.claims, source["claim"]), ty, True)
        elif "context" in source:
            cell = json_cell(image, intern, walk_claims(request.context, source["context"]), ty, False)
        else:
            cell = Cell.missing(ty)
        image.put_cell(cells + index * CELL_SIZE, cell)
    table = image.append_strings(strings)
    image.put_u32(header + REQ_STRING_COUNT, len(strings))
    image.put_u32(header + REQ_STRING_TABLE, table)
    image.put_u32(header + REQ_CHAIN_LEN, len(request.chain))
    image.put_u32(header + REQ_CHAIN_PTR, image.address(chain))
    return image.finish()


def _field_cell(image, intern, request, field: str, ty: str) -> Cell:
    """The cell of a request field; a slot typed differently from its field reads as missing."""
    value = request.fields.get(field)
    if FIELD_TYPES.get(field) != ty or value is None:
        return Cell.missing(ty)
    if ty == "str":
        return Cell.str_id(intern(value))
    if ty == "int":
        return Cell.int_value(value)
    return image.append_set([intern(text) for text in value])


def _unencodable(detail: str) -> WarrantError:
    return WarrantError("encode", f"request cannot be encoded: {detail}")
