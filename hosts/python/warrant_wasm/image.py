"""Byte-level writing shared by the data and request images (ABI.md §5): absolute addresses,
16-byte cells, id arrays and string tables, every size checked against the image's limit.
A port of hosts/js/image.mjs; the layout follows the Rust encoder (wasm-guest/src/abi/image.rs)
byte for byte."""

import struct
from dataclasses import dataclass

from .abi_generated import (
    CELL_BOOL,
    CELL_INT_PRESENT,
    CELL_INT_VALUE,
    CELL_SET_LEN,
    CELL_SET_PTR,
    CELL_SIZE,
    CELL_STR_ID,
    CELL_TABLE_KEYS,
    CELL_TABLE_LEN,
    CELL_TABLE_VALS,
    ID_SIZE,
    IMAGE_ALIGN,
    MISSING_ID,
    STRING_ENTRY_LEN,
    STRING_ENTRY_PTR,
    STRING_ENTRY_SIZE,
)

_U32_MAX = 0xFFFF_FFFF


@dataclass(frozen=True)
class Cell:
    """A slot cell: ``kind`` is missing/str/int/bool/set/table; ``ty`` only matters when missing,
    where it picks the *missing* encoding of that type."""

    kind: str
    ty: str = ""
    a: int = 0
    b: int = 0
    c: int = 0

    @staticmethod
    def missing(ty: str) -> "Cell":
        """The *missing* encoding of a value of type ``ty``."""
        return Cell("missing", ty)

    @staticmethod
    def str_id(string_id: int) -> "Cell":
        """A string, by id."""
        return Cell("str", a=string_id)

    @staticmethod
    def int_value(value: int) -> "Cell":
        """A present i64."""
        return Cell("int", a=value)

    @staticmethod
    def bool_value(value: bool) -> "Cell":
        """A boolean."""
        return Cell("bool", a=1 if value else 0)

    @staticmethod
    def set_at(ptr: int, length: int) -> "Cell":
        """A sorted id array at absolute address ``ptr``."""
        return Cell("set", a=ptr, b=length)

    @staticmethod
    def table(keys: int, values: int, length: int) -> "Cell":
        """A data table: sorted key ids and their value cells."""
        return Cell("table", a=keys, b=values, c=length)


class ImageWriter:
    """An image under construction, laid out for absolute address ``base``. ``name`` ("data" or
    "request") and ``fail(detail) -> Exception`` word the errors: an image over ``max_length``
    bytes, or one that does not fit in 32-bit memory."""

    def __init__(self, base: int, name: str, max_length: int, fail):
        self.fail = fail
        if base % IMAGE_ALIGN != 0:
            raise fail(f"image base {base} is not {IMAGE_ALIGN}-byte aligned")
        self.base = base
        self.max_length = max_length
        self.name = name
        self.bytes = bytearray()

    def finish(self) -> bytes:
        """The finished image."""
        return bytes(self.bytes)

    def address(self, offset: int) -> int:
        """Absolute address of image offset ``offset``."""
        address = self.base + offset
        if address > _U32_MAX:
            raise self.fail("image does not fit in 32-bit linear memory")
        return address

    def reserve(self, length: int) -> int:
        """Appends ``length`` zero bytes; returns their offset."""
        offset = len(self.bytes)
        if offset + length > self.max_length:
            raise self.fail(f"{self.name} image exceeds {self.max_length} bytes")
        self.bytes.extend(bytes(length))
        return offset

    def reserve_cells(self, count: int) -> int:
        """Appends ``count`` zeroed cells; returns their offset."""
        return self.reserve(count * CELL_SIZE)

    def pad_to(self, align: int) -> None:
        """Pads with zeros to a multiple of ``align`` bytes."""
        self.reserve(-len(self.bytes) % align)

    def put_u32(self, offset: int, value: int) -> None:
        """Writes ``value`` (negative ids wrap, as ``>>> 0`` does) as a little-endian u32."""
        struct.pack_into("<I", self.bytes, offset, value & _U32_MAX)

    def append_ids(self, ids) -> int:
        """Appends ids as little-endian u32s; returns their absolute address."""
        offset = self.reserve(len(ids) * ID_SIZE)
        for index, string_id in enumerate(ids):
            self.put_u32(offset + index * ID_SIZE, string_id)
        return self.address(offset)

    def append_set(self, ids) -> Cell:
        """Sorts and deduplicates ``ids`` (the guest binary-searches them) and appends the set."""
        unique = sorted(set(ids))
        return Cell.set_at(self.append_ids(unique), len(unique))

    def put_cell(self, offset: int, cell: Cell) -> None:
        """Writes ``cell`` at image offset ``offset`` (already reserved)."""
        if cell.kind == "missing":
            # str id, bool value and set length all use -1; an int is missing with present = 0.
            if cell.ty == "str":
                self.put_u32(offset + CELL_STR_ID, MISSING_ID)
            elif cell.ty == "bool":
                self.put_u32(offset + CELL_BOOL, MISSING_ID)
            elif cell.ty == "str_set":
                self.put_u32(offset + CELL_SET_LEN, MISSING_ID)
        elif cell.kind == "str":
            self.put_u32(offset + CELL_STR_ID, cell.a)
        elif cell.kind == "bool":
            self.put_u32(offset + CELL_BOOL, cell.a)
        elif cell.kind == "int":
            self.put_u32(offset + CELL_INT_PRESENT, 1)
            struct.pack_into("<q", self.bytes, offset + CELL_INT_VALUE, cell.a)
        elif cell.kind == "set":
            self.put_u32(offset + CELL_SET_PTR, cell.a)
            self.put_u32(offset + CELL_SET_LEN, cell.b)
        else:
            self.put_u32(offset + CELL_TABLE_KEYS, cell.a)
            self.put_u32(offset + CELL_TABLE_VALS, cell.b)
            self.put_u32(offset + CELL_TABLE_LEN, cell.c)

    def append_strings(self, strings) -> int:
        """Appends a string table (``(ptr, len)`` pairs) then the strings' UTF-8 bytes, and pads
        the image to the image alignment. Returns the table's absolute address."""
        table = self.reserve(len(strings) * STRING_ENTRY_SIZE)
        for index, text in enumerate(strings):
            start = self.reserve(len(text))
            self.bytes[start : start + len(text)] = text
            entry = table + index * STRING_ENTRY_SIZE
            self.put_u32(entry + STRING_ENTRY_PTR, self.address(start))
            self.put_u32(entry + STRING_ENTRY_LEN, len(text))
        self.pad_to(IMAGE_ALIGN)
        # The end address must be representable too: the next image is placed there.
        self.address(len(self.bytes))
        return self.address(table)
