// The host/guest contract as wasm-guest/ABI.md states it: reading + checking the manifest a
// module carries, and the helpers around the layout. Every constant (export names, versions,
// offsets, sizes, limits) and the request vocabulary come from abi.generated.mjs, which is
// generated from the Rust source (`UPDATE=1 cargo test -p warrant-wasm --test generated`).
import {
  ABI_VERSION_MAJOR,
  IMAGE_ALIGN,
  MANIFEST_SECTION,
  OUTPUT_WORD_SIZE,
  RULE_KINDS,
  SLOT_TYPES,
  VOCABULARY,
} from "./abi.generated.mjs";
import { WarrantError } from "./errors.mjs";
import { isTemplate } from "./reason.mjs";

const TYPES = new Set(SLOT_TYPES);
/** Request fields and the type each is read as (ABI.md §2, the generated vocabulary). */
export const FIELD_TYPES = new Map(VOCABULARY.map(({ name, ty }) => [name, ty]));
const KINDS = new Set(RULE_KINDS);

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
  checkRules(manifest.rules, manifest.slots);
  if (!Array.isArray(manifest.undecided) || !manifest.undecided.every((m) => typeof m === "string")) {
    throw invalidManifest("`undecided` must be an array of strings");
  }
  return manifest;
}

/** Bytes of the fired bitmap at the start of the output area: one u32 word per 32 rules (ABI.md §7). */
export function bitmapBytes(ruleCount) {
  return Math.ceil(ruleCount / 32) * OUTPUT_WORD_SIZE;
}

/** Bytes of the output area: the fired bitmap, then one i32 entry per rule (ABI.md §7). */
export function outputBytes(ruleCount) {
  return bitmapBytes(ruleCount) + ruleCount * OUTPUT_WORD_SIZE;
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
        isPath(source.context) ||
        isPath(source.actor_claim) ||
        isPath(source.data) ||
        (isPath(source.data_table?.table) && isPath(source.data_table?.field)));
    if (!valid) throw invalidManifest(`unknown slot ${JSON.stringify(slot)}`);
  }
}

function checkRules(rules, slots) {
  if (!Array.isArray(rules)) throw invalidManifest("`rules` must be an array");
  for (const rule of rules) {
    const valid =
      typeof rule?.name === "string" &&
      KINDS.has(rule.kind) &&
      (rule.kind !== "deny" || typeof rule.reason === "string") &&
      (rule.template === undefined || (rule.kind === "deny" && isTemplate(rule.template, slots)));
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
