// Warrant's JS host: runs a policy module built by `warrant build` in any WebAssembly engine
// (Node.js, Deno, browsers, edge workers) with no dependencies, deciding exactly as the Rust
// engine does. Only wasm-guest/ABI.md is assumed about the module.
//
//   import { loadPolicy } from "./warrant.mjs";
//   const policy = await loadPolicy(await readFile("policy.wasm"), { data: dataJsonText });
//   const decision = policy.decide(requestJsonText); // {allowed, fired, deny_reasons, policy}
import { alignImage, bitmapBytes, outputBytes, readManifest } from "./abi.mjs";
import { ABI_VERSION_MAJOR, ABI_VERSION_MINOR, FIRED_DECIDED, OUTPUT_WORD_SIZE } from "./abi.generated.mjs";
import { buildDataImage } from "./data_image.mjs";
import { decisionFromFired, denyWithReason, undecidedReason } from "./decision.mjs";
import { WarrantError } from "./errors.mjs";
import { GuestInstance } from "./instance.mjs";
import { JsonSyntaxError, fromJsValue, parseJson } from "./json.mjs";
import { renderReason } from "./reason.mjs";
import { RequestError, requestFromJson } from "./request.mjs";
import { encodeRequest } from "./request_image.mjs";
import { revocationRefusal, revocationsFromData } from "./revocation.mjs";

export { ABI_VERSION_MAJOR, ABI_VERSION_MINOR, WarrantError };
export { DEFAULT_INSTANCE_CLAIM, DEFAULT_MAX_CHAIN_DEPTH } from "./request.mjs";
export { NO_ALLOW_RULE_MATCHED } from "./decision.mjs";

/**
 * Compiles a policy module and makes it ready to decide.
 * @param {BufferSource | WebAssembly.Module} wasm the bytes `warrant build` wrote, or a compiled module
 * @param {{data?: unknown, instanceClaim?: string, maxChainDepth?: number}} [options]
 *   `data`: the data document (JSON text, UTF-8 bytes or a JS value); `instanceClaim` and
 *   `maxChainDepth`: the claims mapping (defaults `instance_id` and 16, as in the Rust engine).
 * @returns {Promise<Policy>}
 */
export async function loadPolicy(wasm, options = {}) {
  let module = wasm;
  if (!(wasm instanceof WebAssembly.Module)) {
    try {
      module = await WebAssembly.compile(wasm);
    } catch (error) {
      throw new WarrantError("invalid_module", `invalid policy module: ${error.message}`, { cause: error });
    }
  }
  return new Policy(module, options);
}

/** A policy ready to decide: its manifest, one instance, and the current data image. */
export class Policy {
  /**
   * Refuses modules without a valid manifest, built for another ABI major version, or lacking
   * an export the ABI requires. Prefer `loadPolicy`, which also compiles.
   * @param {WebAssembly.Module} module
   */
  constructor(module, { data, instanceClaim, maxChainDepth } = {}) {
    this.manifest = readManifest(module);
    this.module = module;
    this.mapping = { instanceClaim, maxChainDepth };
    this.instance = new GuestInstance(module);
    this.revocations = revocationsFromData(new Map());
    this.dataImage = buildDataImage(this.manifest, new Map(), this.instance.heapBase);
    /** Whether the instance's memory holds `dataImage`. */
    this.dataWritten = false;
    if (data !== undefined) this.setData(data);
  }

  /** The `package` the policy declares. */
  get package() {
    return this.manifest.package;
  }

  /** Hex SHA-256 of the policy source: the version every decision reports. */
  get hash() {
    return this.manifest.source_hash;
  }

  /**
   * Replaces the data document (JSON text, UTF-8 bytes or a JS value) without recompiling.
   * On error the previous data stays in force.
   */
  setData(data) {
    const tree = toTree(data, "data", (message) => `invalid policy data: ${message}`);
    const revocations = revocationsFromData(tree);
    this.dataImage = buildDataImage(this.manifest, tree, this.dataImage.base);
    this.revocations = revocations;
    this.dataWritten = false;
  }

  /**
   * Decides one request: `{"claims": {...}, "resource": "...", "action": "...", "now": N}` as
   * JSON text, UTF-8 bytes or a JS value (whose integers must be `BigInt`s: a `number` reads as
   * a non-integer, see `fromJsValue`). Throws a `WarrantError` when no decision can be made;
   * treat that as a deny, or use `decideOrDeny`.
   */
  decide(request) {
    const tree = toTree(request, "json", (message) => `invalid request: invalid request JSON: ${message}`);
    let resolved;
    try {
      resolved = requestFromJson(tree, this.mapping);
    } catch (error) {
      if (error instanceof RequestError) throw new WarrantError("request", `invalid request: ${error.message}`, { cause: error });
      throw error;
    }
    return this.#decideRequest(resolved);
  }

  /** Fails closed: any error becomes a deny whose reason is the error. */
  decideOrDeny(request) {
    try {
      return this.decide(request);
    } catch (error) {
      return denyWithReason(`engine error: ${error.message}`, this.manifest);
    }
  }

  /**
   * Refuses revoked requests (every hop) before the policy runs, then writes the data image if
   * needed, encodes and writes the request, calls the guest.
   */
  #decideRequest(request) {
    const revoked = revocationRefusal(this.revocations, request);
    if (revoked !== undefined) return denyWithReason(revoked, this.manifest);
    const instance = this.readyInstance();
    const data = this.dataImage;
    if (!this.dataWritten) {
      instance.write(data.base, data.bytes);
      this.dataWritten = true;
    }
    const requestBase = alignImage(data.end);
    const image = encodeRequest(this.manifest, data, request, requestBase);
    instance.write(requestBase, image);
    const outputBase = alignImage(requestBase + image.length);
    const bitmapLength = bitmapBytes(this.manifest.rules.length);
    const outputLength = outputBytes(this.manifest.rules.length);
    instance.zero(outputBase, bitmapLength);
    let answer;
    try {
      answer = instance.decide(data.base, requestBase, outputBase, outputLength);
    } catch (error) {
      // A trapped instance may hold half-written state: drop it rather than reuse it.
      if (error.code === "trap") this.instance = undefined;
      throw error;
    }
    const entries = new DataView(answer.output.buffer, answer.output.byteOffset + bitmapLength);
    const fired = [];
    this.manifest.rules.forEach((rule, id) => {
      if (rule.kind === "helper" || !isBitSet(answer.output, id)) return;
      if (rule.kind !== "deny") return fired.push(rule);
      const reason = renderReason(rule, this.manifest.slots, request);
      const entry = entries.getInt32(id * OUTPUT_WORD_SIZE, true);
      if (entry === FIRED_DECIDED) return fired.push({ ...rule, reason });
      const message = this.manifest.undecided[entry];
      if (!Number.isInteger(entry) || entry < 0 || message === undefined) {
        throw new WarrantError("inconsistent_verdict", `policy module returned verdict ${Number(answer.allowed)} inconsistent with its fired rules`);
      }
      fired.push({ ...rule, reason: undecidedReason(reason, message) });
    });
    const decision = decisionFromFired(fired, this.manifest);
    if (decision.allowed !== answer.allowed) {
      throw new WarrantError("inconsistent_verdict", `policy module returned verdict ${Number(answer.allowed)} inconsistent with its fired rules`);
    }
    return decision;
  }

  /** The instance decisions run in; a fresh one after a trap discarded the last. */
  readyInstance() {
    if (this.instance === undefined) {
      this.instance = new GuestInstance(this.module);
      this.dataWritten = false;
    }
    return this.instance;
  }
}

/** Bit `index % 32` of little-endian u32 word `index / 32`; bits beyond the output read as unset. */
function isBitSet(output, index) {
  const byte = output[Math.floor(index / 32) * OUTPUT_WORD_SIZE + Math.floor((index % 32) / 8)];
  return byte !== undefined && (byte & (1 << index % 8)) !== 0;
}

/** Parses JSON text or bytes, or converts a JS value (integers as `BigInt`s only: `fromJsValue`), into the `json.mjs` tree. */
function toTree(input, code, describe) {
  try {
    return typeof input === "string" || input instanceof Uint8Array ? parseJson(input) : fromJsValue(input);
  } catch (error) {
    if (error instanceof JsonSyntaxError) throw new WarrantError(code, describe(error.message), { cause: error });
    throw error;
  }
}
