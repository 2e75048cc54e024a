//! Modules no compiler of ours would produce, made by hand (the shared builder of
//! `warrant-test-support`) to test the hosts' side of the contract: another ABI version, a guest
//! that traps or misreports, a memory too small for the input.
use serde_json::{json, Value};
use warrant_wasm::abi::ABI_VERSION_MAJOR;

pub use warrant_test_support::{DecideBody, Handmade};

/// A manifest of the current ABI (`ABI_VERSION_MAJOR`.0) with one allow rule reading the claim
/// `blob` as a string.
pub fn manifest_v2() -> Value {
    json!({
        "abi_version": {"major": ABI_VERSION_MAJOR, "minor": 0},
        "package": "handmade",
        "source_hash": "00",
        "literals": [],
        "slots": [{"source": {"claim": ["blob"]}, "ty": "str"}],
        "rules": [{"name": "anything", "kind": "allow", "line": 1}],
        "undecided": [],
    })
}

/// `wasm` with its manifest edited by `edit` (the module must be well formed).
pub fn patch_manifest(wasm: &[u8], edit: impl Fn(&mut Value)) -> Vec<u8> {
    warrant_test_support::patch_manifest(wasm, edit).expect("a well-formed module with a JSON manifest")
}
