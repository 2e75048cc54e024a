// Revocation lists in the data document (`revoked_instances`, `revoked_client_ids`,
// `revoked_jtis`), enforced on every hop before the policy runs: a port of
// `RevocationSet::from_data` and `RevocationSet::refusal` (engine/src/revocation.rs), with the
// same acceptance rules, order of checks and reasons, so both hosts refuse the same requests.
import { WarrantError } from "./errors.mjs";
import { isObject } from "./json.mjs";

import { REVOCATION_LISTS } from "./abi.mjs";

const [INSTANCES, CLIENT_IDS, JTIS] = REVOCATION_LISTS;

/** The revoked ids the data document (a `json.mjs` tree) lists; throws on a malformed list. */
export function revocationsFromData(data) {
  const read = (key) => {
    const value = isObject(data) ? data.get(key) : undefined;
    if (value === undefined || value === null) return new Set();
    if (isObject(value)) return new Set(value.keys());
    if (Array.isArray(value) && value.every((item) => typeof item === "string")) return new Set(value);
    throw new WarrantError(
      "data",
      `invalid policy data: \`${key}\` must be an array of strings or an object whose keys are the revoked ids`,
    );
  };
  return { instances: read(INSTANCES), clientIds: read(CLIENT_IDS), jtis: read(JTIS) };
}

/** The deny reason if `request` carries a revoked token, instance or client in any hop. */
export function revocationRefusal(revocations, request) {
  if (request.jti !== undefined && revocations.jtis.has(request.jti)) return `revoked token: jti \`${request.jti}\``;
  for (const instance of [...request.chain.map((actor) => actor.instance), request.instance]) {
    if (instance !== undefined && revocations.instances.has(instance)) return `revoked agent instance \`${instance}\``;
  }
  for (const client of [...request.chain.map((actor) => actor.client_id), request.client_id]) {
    if (client !== undefined && revocations.clientIds.has(client)) return `revoked client \`${client}\``;
  }
  return undefined;
}

