// One instantiated policy module and its memory: checks the exports the ABI requires, writes
// images (growing memory as needed, refusing what cannot fit) and runs `warrant_decide`.
import {
  DECIDE_ALLOW,
  DECIDE_DENY,
  EXPORT_ABI_VERSION,
  EXPORT_DECIDE,
  EXPORT_HEAP_BASE,
  EXPORT_MEMORY,
  IMAGE_ALIGN,
} from "./abi.generated.mjs";
import { checkAbiMajor } from "./abi.mjs";
import { WarrantError } from "./errors.mjs";

const WASM_PAGE_BYTES = 65_536;
const U32_MAX = 0xffff_ffff;

export class GuestInstance {
  /**
   * Instantiates `module` with no imports (policies are standalone) and checks that its code
   * speaks this host's ABI major version, whatever its manifest claims.
   * @param {WebAssembly.Module} module
   */
  constructor(module) {
    let instance;
    try {
      instance = new WebAssembly.Instance(module, {});
    } catch (error) {
      throw invalid(`cannot instantiate: ${error.message}`, error);
    }
    const { exports } = instance;
    this.memory = exports[EXPORT_MEMORY];
    if (!(this.memory instanceof WebAssembly.Memory)) throw invalid(`missing export \`${EXPORT_MEMORY}\``);
    this.decideExport = exports[EXPORT_DECIDE];
    if (typeof this.decideExport !== "function") throw invalid(`missing export \`${EXPORT_DECIDE}\``);
    const heapBase = exports[EXPORT_HEAP_BASE];
    if (!(heapBase instanceof WebAssembly.Global) || !Number.isInteger(heapBase.value)) {
      throw invalid(`missing export \`${EXPORT_HEAP_BASE}\``);
    }
    if (heapBase.value < 0 || heapBase.value % IMAGE_ALIGN !== 0) {
      throw invalid(`\`${EXPORT_HEAP_BASE}\` is not an aligned address`);
    }
    this.heapBase = heapBase.value;
    const version = exports[EXPORT_ABI_VERSION];
    if (typeof version !== "function") throw invalid(`missing export \`${EXPORT_ABI_VERSION}\``);
    let word;
    try {
      word = version();
    } catch (error) {
      throw invalid(`export \`${EXPORT_ABI_VERSION}\`: ${error.message}`, error);
    }
    if (!Number.isInteger(word)) throw invalid(`export \`${EXPORT_ABI_VERSION}\` did not return an i32`);
    checkAbiMajor((word >>> 16) & 0xffff);
  }

  /** Copies `bytes` to guest memory at `at`, growing the memory if needed. */
  write(at, bytes) {
    this.reserve(at, bytes.length).set(bytes);
  }

  /** Zeroes `length` bytes of guest memory at `at`, growing the memory if needed. */
  zero(at, length) {
    this.reserve(at, length).fill(0);
  }

  /**
   * Calls `warrant_decide` and returns `{allowed, output}` where `output` holds the
   * `outputLength` bytes of the output area. Traps and negative codes are errors.
   */
  decide(dataBase, requestBase, outputBase, outputLength) {
    let code;
    try {
      code = this.decideExport(dataBase | 0, requestBase | 0, outputBase | 0);
    } catch (error) {
      throw new WarrantError("trap", `policy module trapped: ${error.message}`, { cause: error });
    }
    if (code < 0) throw new WarrantError("guest_rejected", `policy module reported malformed input (code ${code})`);
    if (code !== DECIDE_ALLOW && code !== DECIDE_DENY) {
      throw new WarrantError("inconsistent_verdict", `policy module returned verdict ${code} inconsistent with its fired rules`);
    }
    return { allowed: code === DECIDE_ALLOW, output: this.reserve(outputBase, outputLength).slice() };
  }

  /** Makes `[at, at + length)` addressable in the 32-bit guest memory and returns it. */
  reserve(at, length) {
    const end = at + length;
    const tooLarge = (cause) =>
      new WarrantError("input_too_large", `input too large for guest memory: ${end} bytes needed`, { cause });
    if (end > U32_MAX) throw tooLarge();
    const size = this.memory.buffer.byteLength;
    if (end > size) {
      try {
        this.memory.grow(Math.ceil((end - size) / WASM_PAGE_BYTES));
      } catch (error) {
        throw tooLarge(error);
      }
    }
    // Growing detaches the old buffer: take a fresh view every time.
    return new Uint8Array(this.memory.buffer, at, length);
  }
}

function invalid(message, cause) {
  return new WarrantError("invalid_module", `invalid policy module: ${message}`, { cause });
}
