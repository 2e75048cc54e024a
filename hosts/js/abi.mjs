// The host/guest contract as wasm-guest/ABI.md states it: export names, the ABI version, the
// byte layout constants, and reading + checking the manifest a module carries.
import { WarrantError } from "./errors.mjs";

/** Major ABI version this host speaks; modules with another major are refused. */
export const ABI_VERSION_MAJOR = 2;
/** Minor ABI version this host implements (a module with a higher minor is compatible). */
export const ABI_VERSION_MINOR = 0;

export const EXPORT_MEMORY = "memory";
export const EXPORT_HEAP_BASE = "warrant_heap_base";
export const EXPORT_ABI_VERSION = "warrant_abi_version";
export const EXPORT_DECIDE = "warrant_decide";
export const MANIFEST_SECTION = "warrant.manifest";

/** `warrant_decide` results; negative values are error codes (ABI.md §7). */
export const DECIDE_ALLOW = 1;
export const DECIDE_DENY = 0;

/** The i32 id of a missing string. */
export const MISSING_ID = -1;
/**
 * Data keys of the host's revocation lists (lang/src/ir.rs `REVOCATION_LISTS`): enforced before
 * the policy runs, and read by a policy as the empty set when the document has none.
 */
export const REVOCATION_LISTS = ["revoked_instances", "revoked_client_ids", "revoked_jtis"];
/** Output entry of a deny rule that fired with a true body (else its undecided message index). */
export const FIRED_DECIDED = -1;
/** Images start 16-aligned and their lengths are multiples of 16. */
export const IMAGE_ALIGN = 16;
/** One slot cell. */
export const CELL_SIZE = 16;
/** One string-table entry: u32 pointer, u32 byte length. */
export const STRING_ENTRY_SIZE = 8;
/** Request image header: string count, string table, chain length, chain pointer. */
export const REQUEST_HEADER_SIZE = 16;
/** Data image header: string count, string table. */
export const DATA_HEADER_SIZE = 8;
/** One actor record: sub, client_id, instance ids. */
export const ACTOR_RECORD_SIZE = 12;

/** Largest request image, as in the Rust encoder: tokens are kilobytes, more is hostile. */
export const MAX_REQUEST_IMAGE_BYTES = 1 << 20;
/** Largest data image, as in the Rust encoder. */
export const MAX_DATA_IMAGE_BYTES = 1 << 30;

const TYPES = new Set(["str", "int", "bool", "str_set"]);
/** Request fields and the type each is read as (ABI.md §2). */
export const FIELD_TYPES = new Map([
  ...["sub", "iss", "jti", "client_id", "instance", "resource", "action"].map((f) => [f, "str"]),
  ["aud", "str_set"],
  ["scope", "str_set"],
  ...["iat", "exp", "nbf", "now"].map((f) => [f, "int"]),
]);
const RULE_KINDS = new Set(["allow", "deny", "helper"]);

/** `offset` rounded up to the image alignment. */
export function alignImage(offset) {
  return Math.ceil(offset / IMAGE_ALIGN) * IMAGE_ALIGN;
}

/**
 * The checked manifest of a compiled module: `{abi_version, package, source_hash, literals,
 * slots, rules, undecided}` as ABI.md §2 describes, after refusing another ABI major version.
 * @param {WebAssembly.Module} module
 */
export function readManifest(module) {
  const [section] = WebAssembly.Module.customSections(module, MANIFEST_SECTION);
  if (section === undefined) {
    throw new WarrantError("manifest", `not a Warrant policy module: no \`${MANIFEST_SECTION}\` custom section`);
  }
  let manifest;
  try {
    manifest = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(section));
  } catch (error) {
    throw invalidManifest(error.message);
  }
  const version = manifest?.abi_version;
  if (!isU16(version?.major) || !isU16(version?.minor)) throw invalidManifest("`abi_version` must be {major, minor}");
  checkAbiMajor(version.major);
  if (typeof manifest.package !== "string" || typeof manifest.source_hash !== "string") {
    throw invalidManifest("`package` and `source_hash` must be strings");
  }
  checkLiterals(manifest.literals);
  checkSlots(manifest.slots);
  checkRules(manifest.rules);
  if (!Array.isArray(manifest.undecided) || !manifest.undecided.every((m) => typeof m === "string")) {
    throw invalidManifest("`undecided` must be an array of strings");
  }
  return manifest;
}

/** Bytes of the output area: the fired bitmap, then one i32 entry per rule (ABI.md §7). */
export function outputBytes(ruleCount) {
  return (Math.ceil(ruleCount / 32) + ruleCount) * 4;
}

/** Refuses a module built for another major ABI version. */
export function checkAbiMajor(major) {
  if (major !== ABI_VERSION_MAJOR) {
    throw new WarrantError(
      "abi_mismatch",
      `policy module uses ABI ${major}.x; this host supports ABI ${ABI_VERSION_MAJOR}.x (rebuild it with a matching \`warrant build\`)`,
    );
  }
}

function checkLiterals(literals) {
  if (!Array.isArray(literals) || !literals.every((l) => typeof l === "string")) {
    throw invalidManifest("`literals` must be an array of strings");
  }
  // Interning relies on a literal's id being the only id of its string.
  if (new Set(literals).size !== literals.length) throw invalidManifest("duplicate literal");
}

function checkSlots(slots) {
  if (!Array.isArray(slots)) throw invalidManifest("`slots` must be an array");
  for (const slot of slots) {
    const source = slot?.source;
    const valid =
      TYPES.has(slot?.ty) &&
      source !== null &&
      typeof source === "object" &&
      Object.keys(source).length === 1 &&
      (FIELD_TYPES.has(source.field) ||
        isPath(source.claim) ||
        isPath(source.data) ||
        (isPath(source.data_table?.table) && isPath(source.data_table?.field)));
    if (!valid) throw invalidManifest(`unknown slot ${JSON.stringify(slot)}`);
  }
}

function checkRules(rules) {
  if (!Array.isArray(rules)) throw invalidManifest("`rules` must be an array");
  for (const rule of rules) {
    const valid =
      typeof rule?.name === "string" &&
      RULE_KINDS.has(rule.kind) &&
      (rule.kind !== "deny" || typeof rule.reason === "string");
    if (!valid) throw invalidManifest(`invalid rule ${JSON.stringify(rule)}`);
  }
}

function isPath(value) {
  return Array.isArray(value) && value.every((step) => typeof step === "string");
}

function isU16(value) {
  return Number.isInteger(value) && value >= 0 && value <= 0xffff;
}

function invalidManifest(detail) {
  return new WarrantError("manifest", `not a Warrant policy module: invalid manifest: ${detail}`);
}
