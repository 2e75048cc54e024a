// Deny reasons with placeholders (ABI.md §2, `rules[i].template`): a port of lang/src/reason.rs,
// rendering from the request alone with the generated constants, so every host reports the
// same text.
import {
  REASON_MAX_BYTES,
  REASON_MAX_VALUE_BYTES,
  REASON_MISSING,
  REASON_SET_SEPARATOR,
  REASON_TRUNCATED,
} from "./abi.generated.mjs";
import { FIELD_TYPES } from "./abi.mjs";
import { jsonValue, walkClaims } from "./coerce.mjs";
import { byCodePoints } from "./json.mjs";

const utf8 = new TextEncoder();
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

/** The reason of a fired deny `rule` (a manifest record) for `request` (from `requestFromJson`). */
export function renderReason(rule, slots, request) {
  if (rule.template === undefined) return rule.reason;
  let out = "";
  for (const part of rule.template) {
    if (part.text !== undefined) out += part.text;
    else {
      const value = partValue(part, slots, request);
      out += truncate(value === undefined ? REASON_MISSING : escape(valueText(value)), REASON_MAX_VALUE_BYTES);
    }
  }
  return truncate(out, REASON_MAX_BYTES);
}

/** Checks a manifest template: parts of the four documented shapes; slots in range and not data. */
export function isTemplate(template, slots) {
  if (template === undefined) return true;
  return (
    Array.isArray(template) &&
    template.every((part) => {
      if (part === null || typeof part !== "object" || Object.keys(part).length !== 1) return false;
      if (typeof part.text === "string") return true;
      if (Number.isInteger(part.slot)) {
        const source = slots[part.slot]?.source;
        return source !== undefined && (source.field !== undefined || source.claim !== undefined || source.context !== undefined);
      }
      if (part.actor !== undefined) {
        return ["current", "first"].includes(part.actor?.which) && ["sub", "client_id", "instance"].includes(part.actor?.field);
      }
      if (part.actor_claim !== undefined) {
        return (
          ["current", "first"].includes(part.actor_claim?.which) &&
          Number.isInteger(part.actor_claim.slot) &&
          slots[part.actor_claim.slot]?.source?.actor_claim !== undefined
        );
      }
      return part.chain_depth !== null && typeof part.chain_depth === "object";
    })
  );
}

/** The value a part names, as read for the request image; `undefined` when missing. */
function partValue(part, slots, request) {
  if (part.chain_depth !== undefined) return BigInt(request.chain.length);
  if (part.actor !== undefined) return namedActor(part.actor.which, request)?.[part.actor.field];
  if (part.actor_claim !== undefined) {
    const actor = namedActor(part.actor_claim.which, request);
    const { source, ty } = slots[part.actor_claim.slot];
    return actor === undefined ? undefined : jsonValue(walkClaims(actor.claims, source.actor_claim), ty, true);
  }
  const { source, ty } = slots[part.slot];
  if (source.field !== undefined) {
    return FIELD_TYPES.get(source.field) === ty ? request[source.field] : undefined;
  }
  if (source.context !== undefined) return jsonValue(walkClaims(request.context, source.context), ty, false);
  return jsonValue(walkClaims(request.claims, source.claim), ty, true);
}

/** `chain.first` (`"first"`) or the current actor; `undefined` for an empty chain. */
function namedActor(which, request) {
  return which === "first" ? request.chain[0] : request.chain[request.chain.length - 1];
}

/** A value's text: sets sorted by UTF-8 bytes (= code points) without duplicates. */
function valueText(value) {
  if (Array.isArray(value)) return [...new Set(value)].sort(byCodePoints).join(REASON_SET_SEPARATOR);
  return String(value);
}

function escape(text) {
  return text.replace(CONTROL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** `text` cut to at most `max` UTF-8 bytes at a character boundary, plus the marker, if longer. */
function truncate(text, max) {
  if (utf8.encode(text).length <= max) return text;
  let out = "";
  let bytes = 0;
  for (const c of text) {
    const size = utf8.encode(c).length;
    if (bytes + size > max) break;
    out += c;
    bytes += size;
  }
  return out + REASON_TRUNCATED;
}
