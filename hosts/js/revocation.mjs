// Revocation lists in the data document (`revoked_instances`, `revoked_client_ids`,
// `revoked_jtis`), enforced on every hop before the policy runs: a port of
// `RevocationSet::from_data` and `RevocationSet::refusal` (engine/src/revocation.rs), with the
// same acceptance rules, order of checks and reasons, so both hosts refuse the same requests.
import { WarrantError } from "./errors.mjs";
import { isObject } from "./json.mjs";

import { REVOCATION_LISTS } from "./abi.generated.mjs";

const [INSTANCES, CLIENT_IDS, JTIS] = REVOCATION_LISTS;

/** Latest accepted expiry: 9999-12-31T23:59:59Z (engine/src/revocation.rs `MAX_EXPIRY`). */
const MAX_EXPIRY = 253_402_300_799n;

/**
 * The revoked ids the data document (a `json.mjs` tree) lists, each with its expiry (`undefined`
 * for none): an array of ids, or an object whose keys are the ids and whose values may say
 * `{"expires": SECONDS}`. Throws on a malformed list.
 */
export function revocationsFromData(data) {
  const read = (key) => {
    const value = isObject(data) ? data.get(key) : undefined;
    if (value === undefined || value === null) return new Map();
    if (Array.isArray(value) && value.every((item) => typeof item === "string")) {
      return new Map(value.map((id) => [id, undefined]));
    }
    if (!isObject(value)) {
      throw new WarrantError(
        "data",
        `invalid policy data: \`${key}\` must be an array of strings or an object whose keys are the revoked ids`,
      );
    }
    const ids = new Map();
    for (const [id, entry] of value) {
      const expires = isObject(entry) ? entry.get("expires") : undefined;
      if (expires !== undefined && !(typeof expires === "bigint" && expires >= 0n && expires <= MAX_EXPIRY)) {
        throw new WarrantError(
          "data",
          `invalid policy data: \`${key}\`: the expiry of \`${id}\` must be whole Unix seconds from 0 to ${MAX_EXPIRY}, found ${describe(expires)}`,
        );
      }
      ids.set(id, expires);
    }
    return ids;
  };
  return { instances: read(INSTANCES), clientIds: read(CLIENT_IDS), jtis: read(JTIS) };
}

/**
 * The deny reason if `request` carries a revoked token, instance or client in any hop; a
 * revocation with an expiry is in force before it, and always when the request has no `now`.
 */
export function revocationRefusal(revocations, request) {
  const revoked = (ids, id) => id !== undefined && ids.has(id) && inForce(ids.get(id), request.now);
  if (revoked(revocations.jtis, request.jti)) return `revoked token: jti \`${request.jti}\``;
  for (const instance of [...request.chain.map((actor) => actor.instance), request.instance]) {
    if (revoked(revocations.instances, instance)) return `revoked agent instance \`${instance}\``;
  }
  for (const client of [...request.chain.map((actor) => actor.client_id), request.client_id]) {
    if (revoked(revocations.clientIds, client)) return `revoked client \`${client}\``;
  }
  return undefined;
}

function inForce(expires, now) {
  return expires === undefined || now === undefined || now < expires;
}

function describe(value) {
  if (value === null) return "null";
  if (typeof value === "bigint" || typeof value === "number") return String(value);
  if (typeof value === "boolean") return "a boolean";
  if (typeof value === "string") return "a string";
  return Array.isArray(value) ? "an array" : "an object";
}
