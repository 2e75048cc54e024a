// How JSON values read as slot types (ABI.md §6): a value of the wrong shape reads as *missing*.
// The one place this rule lives for the JS host; it mirrors wasm-guest/src/abi/coerce.rs.
import { isObject, sortedEntries } from "./json.mjs";
import { Cell } from "./image.mjs";

/**
 * The cell of `value` (a `json.mjs` tree; `undefined` is missing) read as `ty`. Set elements
 * are interned with `intern(text) -> id` and appended to `image`.
 */
export function jsonCell(image, intern, value, ty, claimStringIsList) {
  const read = jsonValue(value, ty, claimStringIsList);
  if (read === undefined) return Cell.missing(ty);
  switch (ty) {
    case "str":
      return Cell.str(intern(read));
    case "int":
      return Cell.int(read);
    case "bool":
      return Cell.bool(read);
    default:
      return image.appendSet(read.map((text) => intern(text)));
  }
}

/**
 * `value` (a `json.mjs` tree; `undefined` is missing) read as `ty`: a string, a BigInt, a
 * boolean or an array of strings (a set's elements, duplicates included), else `undefined`.
 */
export function jsonValue(value, ty, claimStringIsList) {
  if (value === undefined) return undefined;
  switch (ty) {
    case "str":
      return typeof value === "string" ? value : undefined;
    case "int":
      // Only integers that fit in i64 are BigInts in the tree.
      return typeof value === "bigint" ? value : undefined;
    case "bool":
      return typeof value === "boolean" ? value : undefined;
    case "str_set":
      return strSetElements(value, claimStringIsList);
    default:
      return undefined;
  }
}

/**
 * `value` as the elements of a string set (duplicates included), or `undefined`: an array of
 * strings only, an object's keys, and with `claimStringIsList` a string's non-empty
 * space-separated parts (RFC 9068 `scope` style).
 */
function strSetElements(value, claimStringIsList) {
  if (Array.isArray(value)) return value.every((item) => typeof item === "string") ? value : undefined;
  if (isObject(value)) return sortedEntries(value).map(([key]) => key);
  if (typeof value === "string" && claimStringIsList) return value.split(" ").filter((part) => part !== "");
  return undefined;
}

/** Follows `path` through nested objects; `undefined` when a step is not an object or lacks the key. */
export function walk(value, path) {
  for (const key of path) {
    if (!isObject(value)) return undefined;
    value = value.get(key);
    if (value === undefined) return undefined;
  }
  return value;
}

/** Follows `path` from the claims or context object (the first step is a key; an empty path is missing). */
export function walkClaims(claims, path) {
  if (path.length === 0) return undefined;
  return walk(claims, path);
}
