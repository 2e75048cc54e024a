// Every way the JS host can refuse to decide. Each is a refusal: a caller that cannot handle
// errors must treat any of them as a deny (fail closed), as `Policy.decideOrDeny` does.

/**
 * A typed host error. `code` names the failure class, matching the Rust engine's `EngineError`
 * variants: `json`, `request`, `manifest`, `abi_mismatch`, `invalid_module`, `data`, `encode`,
 * `input_too_large`, `trap`, `guest_rejected`, `inconsistent_verdict`.
 */
export class WarrantError extends Error {
  constructor(code, message, options) {
    super(message, options);
    this.name = "WarrantError";
    this.code = code;
  }
}
