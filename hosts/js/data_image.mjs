// The data image (ABI.md §5.3): the data document's slots laid out once per data version, plus
// the string ids every later request is interned against. Mirrors wasm-guest/src/abi/data_image.rs.
import {
  CELL_SIZE,
  DATA_SLOTS,
  DATA_STRING_COUNT,
  DATA_STRING_TABLE,
  MAX_DATA_IMAGE_BYTES,
  REVOCATION_LISTS,
} from "./abi.generated.mjs";
import { jsonCell, walk } from "./coerce.mjs";
import { WarrantError } from "./errors.mjs";
import { Cell, ImageWriter } from "./image.mjs";
import { isObject, sortedEntries } from "./json.mjs";

const I32_MAX = 0x7fff_ffff;
const utf8 = new TextEncoder();

/**
 * Lays out the data slots of `manifest` read from `data` (a `json.mjs` tree) for placement at
 * `base`. Returns `{bytes, base, end, ids, stringCount}`: `ids` maps every literal and data
 * string to its id, `stringCount` (`L + D`) is the first id free for request strings.
 */
export function buildDataImage(manifest, data, base) {
  checkDataShape(manifest, data);
  const literalCount = manifest.literals.length;
  const ids = new Map(manifest.literals.map((literal, id) => [literal, id]));
  const strings = [];
  const intern = (text) => {
    let id = ids.get(text);
    if (id === undefined) {
      id = literalCount + strings.length;
      if (id > I32_MAX) throw invalidData("too many distinct strings");
      ids.set(text, id);
      strings.push(utf8.encode(text));
    }
    return id;
  };
  const image = new ImageWriter(base, { name: "data", maxLength: MAX_DATA_IMAGE_BYTES, fail: invalidData });
  const header = image.reserve(DATA_SLOTS);
  const cells = image.reserveCells(manifest.slots.length);
  manifest.slots.forEach((slot, index) => {
    const { source, ty } = slot;
    let cell;
    if (source.data !== undefined) {
      const value = walk(data, source.data) ?? (readsAsEmptySet(slot) ? [] : undefined);
      cell = jsonCell(image, intern, value, ty, false);
    }
    else if (source.data_table !== undefined) cell = tableCell(image, intern, data, source.data_table, ty);
    else cell = Cell.missing(ty);
    image.putCell(cells + index * CELL_SIZE, cell);
  });
  const table = image.appendStrings(strings);
  image.putU32(header + DATA_STRING_COUNT, strings.length);
  image.putU32(header + DATA_STRING_TABLE, table);
  const bytes = image.finish();
  return { bytes, base, end: base + bytes.length, ids, stringCount: literalCount + strings.length };
}

/**
 * A data table: the value at `table` must be an object (else the table is empty); each entry's
 * `field` read as `ty` becomes a value cell under the entry's key; missing values are left out.
 */
function tableCell(image, intern, data, { table, field }, ty) {
  const entries = walk(data, table);
  if (!isObject(entries)) return Cell.table(0, 0, 0);
  const rows = [];
  for (const [key, entry] of sortedEntries(entries)) {
    const value = jsonCell(image, intern, walk(entry, field), ty, false);
    if (value.kind !== "missing") rows.push([intern(key), value]);
  }
  rows.sort(([a], [b]) => a - b);
  const keys = image.appendIds(rows.map(([key]) => key));
  image.padTo(8);
  const values = image.reserveCells(rows.length);
  rows.forEach(([, value], index) => image.putCell(values + index * CELL_SIZE, value));
  return Cell.table(keys, image.address(values), rows.length);
}

/** A revocation list read as a set: absent, it is the empty set (`Slot::absent_is_empty`). */
function readsAsEmptySet({ source, ty }) {
  return ty === "str_set" && source.data?.length === 1 && REVOCATION_LISTS.includes(source.data[0]);
}

function invalidData(detail) {
  return new WarrantError("data", `invalid policy data: ${detail}`);
}

/**
 * Refuses a data document whose shape contradicts the types the policy reads: a port of
 * `check_data_shape` (lang/src/data_shape.rs), same rules and messages. An absent path is fine
 * (it reads as missing); a present value of another shape is an error naming the path.
 */
export function checkDataShape(manifest, data) {
  for (const { source, ty } of manifest.slots) {
    if (source.data !== undefined) checkPath(data, "data", source.data, ty);
    else if (source.data_table !== undefined) {
      const found = shapeWalk(data, "data", source.data_table.table);
      if (found === undefined) continue;
      const [tablePath, entries] = found;
      if (!isObject(entries)) throw shapeError(tablePath, "an object (a table of entries)", entries);
      for (const [key, entry] of sortedEntries(entries)) checkPath(entry, `${tablePath}[${JSON.stringify(key)}]`, source.data_table.field, ty);
    }
  }
}

const EXPECTED = {
  str: "a string",
  int: "an integer (64-bit signed)",
  bool: "a boolean",
  str_set: "a set of strings (an array of strings, or an object)",
};

function checkPath(value, prefix, path, ty) {
  const found = shapeWalk(value, prefix, path);
  if (found === undefined) return;
  const [at, leaf] = found;
  if (!readsAs(leaf, ty)) throw shapeError(at, EXPECTED[ty] ?? "a known type", leaf);
}

/** Follows `path` through objects: `undefined` when a key is absent, throws when a step is not an object. */
function shapeWalk(value, at, path) {
  for (const key of path) {
    if (!isObject(value)) throw shapeError(at, "an object", value);
    if (!value.has(key)) return undefined;
    at = `${at}.${key}`;
    value = value.get(key);
  }
  return [at, value];
}

function readsAs(value, ty) {
  switch (ty) {
    case "str":
      return typeof value === "string";
    case "int":
      return typeof value === "bigint";
    case "bool":
      return typeof value === "boolean";
    case "str_set":
      return isObject(value) || (Array.isArray(value) && value.every((item) => typeof item === "string"));
    default:
      return false;
  }
}

function shapeError(path, expected, found) {
  return invalidData(`data does not fit the policy: ${path}: expected ${expected}, found ${describe(found)}`);
}

function describe(value) {
  if (value === null) return "null";
  if (typeof value === "boolean") return "a boolean";
  if (typeof value === "bigint") return "an integer";
  if (typeof value === "number") return "a number that is not a 64-bit signed integer";
  if (typeof value === "string") return "a string";
  if (Array.isArray(value)) {
    const index = value.findIndex((item) => typeof item !== "string");
    return index < 0 ? "an array of strings" : `an array whose element ${index} is ${describe(value[index])}`;
  }
  return "an object";
}
