// Byte-level writing shared by the data and request images (ABI.md §5): absolute addresses,
// 16-byte cells, id arrays and string tables, every size checked against the image's limit.
// The layout follows the Rust encoder (wasm-guest/src/abi/image.rs) byte for byte.
import {
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
} from "./abi.generated.mjs";

const U32_MAX = 0xffff_ffff;

/** Cell values; `missing(ty)` is the *missing* encoding of a value of that type. */
export const Cell = {
  missing: (ty) => ({ kind: "missing", ty }),
  str: (id) => ({ kind: "str", id }),
  int: (value) => ({ kind: "int", value }),
  bool: (value) => ({ kind: "bool", value }),
  set: (ptr, len) => ({ kind: "set", ptr, len }),
  table: (keys, vals, len) => ({ kind: "table", keys, vals, len }),
};

/** An image under construction, laid out for absolute address `base`. */
export class ImageWriter {
  /**
   * `name` ("data" or "request") and `fail(detail) -> Error` word the errors: an image over
   * `maxLength` bytes, or one that does not fit in 32-bit memory.
   */
  constructor(base, { name, maxLength, fail }) {
    this.fail = fail;
    if (base % IMAGE_ALIGN !== 0) throw fail(`image base ${base} is not ${IMAGE_ALIGN}-byte aligned`);
    this.base = base;
    this.maxLength = maxLength;
    this.tooLarge = () => fail(`${name} image exceeds ${maxLength} bytes`);
    this.bytes = new Uint8Array(256);
    this.view = new DataView(this.bytes.buffer);
    this.length = 0;
  }

  /** The finished image. */
  finish() {
    return this.bytes.subarray(0, this.length);
  }

  /** Absolute address of image offset `offset`. */
  address(offset) {
    const address = this.base + offset;
    if (address > U32_MAX) throw this.fail("image does not fit in 32-bit linear memory");
    return address;
  }

  /** Appends `length` zero bytes; returns their offset. */
  reserve(length) {
    const offset = this.length;
    if (offset + length > this.maxLength) throw this.tooLarge();
    if (offset + length > this.bytes.length) this.growTo(offset + length);
    this.length = offset + length;
    return offset;
  }

  reserveCells(count) {
    return this.reserve(count * CELL_SIZE);
  }

  /** Pads with zeros to a multiple of `align` bytes. */
  padTo(align) {
    this.reserve((align - (this.length % align)) % align);
  }

  putU32(offset, value) {
    this.view.setUint32(offset, value >>> 0, true);
  }

  /** Appends ids as little-endian u32s; returns their absolute address. */
  appendIds(ids) {
    const offset = this.reserve(ids.length * ID_SIZE);
    ids.forEach((id, index) => this.putU32(offset + index * ID_SIZE, id));
    return this.address(offset);
  }

  /** Sorts and deduplicates `ids` (the guest binary-searches them) and appends the set. */
  appendSet(ids) {
    const unique = [...new Set(ids)].sort((a, b) => a - b);
    return Cell.set(this.appendIds(unique), unique.length);
  }

  /** Writes `cell` at image offset `offset` (already reserved). */
  putCell(offset, cell) {
    switch (cell.kind) {
      case "missing":
        // str id, bool value and set length all use -1; an int is missing with present = 0.
        if (cell.ty === "str") this.putU32(offset + CELL_STR_ID, MISSING_ID);
        else if (cell.ty === "bool") this.putU32(offset + CELL_BOOL, MISSING_ID);
        else if (cell.ty === "str_set") this.putU32(offset + CELL_SET_LEN, MISSING_ID);
        break;
      case "str":
        this.putU32(offset + CELL_STR_ID, cell.id);
        break;
      case "int":
        this.putU32(offset + CELL_INT_PRESENT, 1);
        this.view.setBigInt64(offset + CELL_INT_VALUE, cell.value, true);
        break;
      case "bool":
        this.putU32(offset + CELL_BOOL, cell.value ? 1 : 0);
        break;
      case "set":
        this.putU32(offset + CELL_SET_PTR, cell.ptr);
        this.putU32(offset + CELL_SET_LEN, cell.len);
        break;
      case "table":
        this.putU32(offset + CELL_TABLE_KEYS, cell.keys);
        this.putU32(offset + CELL_TABLE_VALS, cell.vals);
        this.putU32(offset + CELL_TABLE_LEN, cell.len);
        break;
    }
  }

  /**
   * Appends a string table (`(ptr, len)` pairs) then the strings' bytes, and pads the image to
   * the image alignment. Returns the table's absolute address.
   * @param {Uint8Array[]} strings UTF-8 bytes
   */
  appendStrings(strings) {
    const table = this.reserve(strings.length * STRING_ENTRY_SIZE);
    strings.forEach((text, index) => {
      const start = this.reserve(text.length);
      this.bytes.set(text, start);
      const entry = table + index * STRING_ENTRY_SIZE;
      this.putU32(entry + STRING_ENTRY_PTR, this.address(start));
      this.putU32(entry + STRING_ENTRY_LEN, text.length);
    });
    this.padTo(IMAGE_ALIGN);
    // The end address must be representable too: the next image is placed there.
    this.address(this.length);
    return this.address(table);
  }

  growTo(minimum) {
    const grown = new Uint8Array(Math.max(minimum, this.bytes.length * 2));
    grown.set(this.bytes.subarray(0, this.length));
    this.bytes = grown;
    this.view = new DataView(grown.buffer);
  }
}
