// The decision request: a port of `Request::from_json` (lang/src/request.rs). Same JSON shape,
// same claims mapping, same delegation-chain order, same errors (messages included), so that a
// request refused by one host is refused by the other.
//
// Input is the tree of `json.mjs` (objects are Maps, i64 integers are BigInts). Which fields
// exist, their types and where each is read from is the generated vocabulary table.
import { VOCABULARY } from "./abi.generated.mjs";
import { isObject } from "./json.mjs";

/** Default bound on the delegation chain depth accepted from a token. */
export const DEFAULT_MAX_CHAIN_DEPTH = 16;
/** Default name of the claim carrying the agent instance / task id. */
export const DEFAULT_INSTANCE_CLAIM = "instance_id";

/** A request that cannot be built; the message is the Rust host's `RequestError` text. */
export class RequestError extends Error {
  constructor(message) {
    super(message);
    this.name = "RequestError";
  }
}

/**
 * Builds a request from `{"claims": {...}, "resource": "...", "action": "...", "now": N, "context": {...}}`.
 * Strings stay JS strings, integers are BigInts; `null` fields read as absent.
 * `chain` is in delegation order: the innermost RFC 8693 `act` first, the current actor last.
 */
export function requestFromJson(value, { instanceClaim = DEFAULT_INSTANCE_CLAIM, maxChainDepth = DEFAULT_MAX_CHAIN_DEPTH } = {}) {
  if (!isObject(value)) throw new RequestError("request must be a JSON object");
  let claims = value.get("claims");
  if (claims === undefined) claims = new Map();
  else if (!isObject(claims)) throw new RequestError("`claims` must be a JSON object");
  const request = {};
  // The call's fields first, then `context`, the chain, the claims: the Rust host's order of errors.
  for (const field of VOCABULARY) {
    if (field.from === "call") request[field.name] = readField(value, field.name, field);
  }
  // The call's context (`context.*`): an object when present, like `claims`.
  let context = value.get("context");
  if (context === undefined) context = new Map();
  else if (!isObject(context)) throw new RequestError("`context` must be a JSON object");
  request.chain = chainFromClaims(claims, instanceClaim, maxChainDepth);
  for (const field of VOCABULARY) {
    if (field.from === "call") continue;
    request[field.name] = readField(claims, field.from === "claim" ? field.claim : instanceClaim, field);
  }
  request.claims = claims;
  request.context = context;
  return request;
}

/** Reads `map[key]` as vocabulary field `field`'s type says. */
function readField(map, key, field) {
  switch (field.ty) {
    case "str":
      return optionalString(map, key);
    case "int":
      return optionalInt(map, key);
    case "str_set":
      return optionalStringList(map, key, field.string_is_list);
    default:
      throw new RequestError(`vocabulary field \`${field.name}\` has unknown type \`${field.ty}\``);
  }
}

/** Unwraps nested `act` claims into delegation order (innermost first). */
function chainFromClaims(claims, instanceClaim, maxChainDepth) {
  const outermostFirst = [];
  let level = claims.get("act");
  while (level !== undefined) {
    if (!isObject(level)) throw new RequestError("`act` must be a JSON object");
    if (outermostFirst.length === maxChainDepth) {
      throw new RequestError(`delegation chain deeper than the accepted maximum of ${maxChainDepth} actors`);
    }
    outermostFirst.push({
      sub: optionalString(level, "sub"),
      client_id: optionalString(level, "client_id"),
      instance: optionalString(level, instanceClaim),
      // Every claim of the `act` object but the nested `act`, for `hop.claims.*`.
      claims: new Map([...level].filter(([key]) => key !== "act")),
    });
    level = level.get("act");
  }
  return outermostFirst.reverse();
}

function optionalString(map, key) {
  const value = map.get(key);
  if (value === undefined || value === null) return undefined;
  if (typeof value === "string") return value;
  throw wrongType(key, "a string");
}

function optionalInt(map, key) {
  const value = map.get(key);
  if (value === undefined || value === null) return undefined;
  if (typeof value === "bigint") return value;
  throw wrongType(key, "an integer number of seconds");
}

/** A string or an array of strings; with `splitSpaces`, a string is a space-separated list. */
function optionalStringList(map, key, splitSpaces) {
  const value = map.get(key);
  if (value === undefined || value === null) return undefined;
  if (typeof value === "string") return splitSpaces ? value.split(" ").filter((part) => part !== "") : [value];
  if (Array.isArray(value)) {
    if (!value.every((item) => typeof item === "string")) throw wrongType(key, "strings");
    return value;
  }
  throw wrongType(key, "a string or an array of strings");
}

function wrongType(field, expected) {
  return new RequestError(`\`${field}\` has the wrong type: expected ${expected}`);
}
