// The request image (ABI.md §5.2), encoded once per decision. Mirrors
// wasm-guest/src/abi/request_image.rs, so both hosts lay out the same bytes and refuse the same
// oversized requests.
import {
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
} from "./abi.generated.mjs";
import { FIELD_TYPES } from "./abi.mjs";
import { jsonCell, walkClaims } from "./coerce.mjs";
import { WarrantError } from "./errors.mjs";
import { Cell, ImageWriter } from "./image.mjs";

const I32_MAX = 0x7fff_ffff;
const TOO_LARGE = `request image exceeds ${MAX_REQUEST_IMAGE_BYTES} bytes`;
const utf8 = new TextEncoder();

/**
 * Encodes `request` (from `requestFromJson`) as an image placed at `base`, which must be
 * 16-aligned and not below `data.end`. Literal and data strings keep their ids; other strings
 * get fresh ids from `data.stringCount` on. Returns the bytes to copy to `base`.
 */
export function encodeRequest(manifest, data, request, base) {
  if (base < data.end) throw unencodable("request image base must not overlap the data image");
  const strings = [];
  const indexByText = new Map();
  let stringBytes = 0;
  const intern = (text) => {
    const known = data.ids.get(text);
    if (known !== undefined) return known;
    let index = indexByText.get(text);
    if (index === undefined) {
      const bytes = utf8.encode(text);
      const tableBytes = (strings.length + 1) * STRING_ENTRY_SIZE;
      if (stringBytes + bytes.length + tableBytes > MAX_REQUEST_IMAGE_BYTES) throw unencodable(TOO_LARGE);
      index = strings.length;
      strings.push(bytes);
      stringBytes += bytes.length;
      indexByText.set(text, index);
    }
    const id = data.stringCount + index;
    if (id > I32_MAX) throw unencodable(TOO_LARGE);
    return id;
  };
  const optionalId = (text) => (text === undefined ? MISSING_ID : intern(text));

  const image = new ImageWriter(base, { name: "request", maxLength: MAX_REQUEST_IMAGE_BYTES, fail: unencodable });
  const header = image.reserve(REQ_SLOTS);
  const cells = image.reserveCells(manifest.slots.length);
  // Each actor record: its ids, then one cell per actor-claim slot, in slot order.
  const actorClaims = manifest.slots.filter((slot) => slot.source.actor_claim !== undefined);
  const stride = ACTOR_RECORD_SIZE + CELL_SIZE * actorClaims.length;
  const chain = image.reserve(request.chain.length * stride);
  request.chain.forEach((actor, index) => {
    const record = chain + index * stride;
    image.putU32(record + ACTOR_SUB, optionalId(actor.sub));
    image.putU32(record + ACTOR_CLIENT_ID, optionalId(actor.client_id));
    image.putU32(record + ACTOR_INSTANCE, optionalId(actor.instance));
    actorClaims.forEach(({ source, ty }, claim) => {
      const cell = jsonCell(image, intern, walkClaims(actor.claims, source.actor_claim), ty, true);
      image.putCell(record + ACTOR_RECORD_SIZE + claim * CELL_SIZE, cell);
    });
  });
  image.padTo(8);
  manifest.slots.forEach((slot, index) => {
    const { source, ty } = slot;
    let cell;
    if (source.field !== undefined) cell = fieldCell(image, intern, request, source.field, ty);
    else if (source.claim !== undefined) cell = jsonCell(image, intern, walkClaims(request.claims, source.claim), ty, true);
    else if (source.context !== undefined) cell = jsonCell(image, intern, walkClaims(request.context, source.context), ty, false);
    else cell = Cell.missing(ty);
    image.putCell(cells + index * CELL_SIZE, cell);
  });
  const table = image.appendStrings(strings);
  image.putU32(header + REQ_STRING_COUNT, strings.length);
  image.putU32(header + REQ_STRING_TABLE, table);
  image.putU32(header + REQ_CHAIN_LEN, request.chain.length);
  image.putU32(header + REQ_CHAIN_PTR, image.address(chain));
  return image.finish();
}

/** The cell of a request field; a slot typed differently from its field reads as missing. */
function fieldCell(image, intern, request, field, ty) {
  const value = request[field];
  if (FIELD_TYPES.get(field) !== ty || value === undefined) return Cell.missing(ty);
  switch (ty) {
    case "str":
      return Cell.str(intern(value));
    case "int":
      return Cell.int(value);
    default:
      return image.appendSet(value.map((text) => intern(text)));
  }
}

function unencodable(detail) {
  return new WarrantError("encode", `request cannot be encoded: ${detail}`);
}
