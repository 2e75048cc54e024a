// The data image (ABI.md §5.3): the data document's slots laid out once per data version, plus
// the string ids every later request is interned against. Mirrors wasm-guest/src/abi/data_image.rs.
import { DATA_HEADER_SIZE, CELL_SIZE, MAX_DATA_IMAGE_BYTES } from "./abi.mjs";
import { jsonCell, walk } from "./coerce.mjs";
import { WarrantError } from "./errors.mjs";
import { Cell, ImageWriter } from "./image.mjs";
import { isObject } from "./json.mjs";

const I32_MAX = 0x7fff_ffff;
const utf8 = new TextEncoder();

/**
 * Lays out the data slots of `manifest` read from `data` (a `json.mjs` tree) for placement at
 * `base`. Returns `{bytes, base, end, ids, stringCount}`: `ids` maps every literal and data
 * string to its id, `stringCount` (`L + D`) is the first id free for request strings.
 */
export function buildDataImage(manifest, data, base) {
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
  const header = image.reserve(DATA_HEADER_SIZE);
  const cells = image.reserveCells(manifest.slots.length);
  manifest.slots.forEach((slot, index) => {
    const { source, ty } = slot;
    let cell;
    if (source.data !== undefined) cell = jsonCell(image, intern, walk(data, source.data), ty, false);
    else if (source.data_table !== undefined) cell = tableCell(image, intern, data, source.data_table, ty);
    else cell = Cell.missing(ty);
    image.putCell(cells + index * CELL_SIZE, cell);
  });
  const table = image.appendStrings(strings);
  image.putU32(header, strings.length);
  image.putU32(header + 4, table);
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
  for (const [key, entry] of entries) {
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

function invalidData(detail) {
  return new WarrantError("data", `invalid policy data: ${detail}`);
}
