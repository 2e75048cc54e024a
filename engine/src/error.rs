//! Everything that can stop the engine from deciding. Each one is a refusal: callers that
//! cannot handle errors use `Policy::decide_or_deny`, which turns them into a deny.
//!
//! An ABI mismatch has one expression, [`EngineError::AbiMismatch`], whether the manifest
//! (`warrant-wasm`'s [`AbiError::IncompatibleAbi`]) or the module's code reports it: the engine
//! converts the former in `EngineError::manifest`, the only constructor of `Manifest` errors.
use warrant_lang::request::RequestError;
use warrant_lang::Diagnostics;
use warrant_wasm::abi::AbiError;
use warrant_wasm::CodegenError;

/// Why the engine could not load a policy or decide a request. Non-exhaustive: new failure
/// classes may be added; match the ones you handle and treat the rest as a deny.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// Wasmtime could not be set up on this machine.
    #[error("cannot start the Wasm runtime: {0}")]
    Runtime(String),
    /// The policy text has errors; render them with `Diagnostics::render`.
    #[error("policy does not compile ({} error(s))", .0.len())]
    Compile(Box<Diagnostics>),
    /// The Wasm code generator refused a checked policy (a bug in Warrant, not in the policy).
    #[error("cannot generate Wasm for the policy: {0}")]
    Codegen(#[from] CodegenError),
    /// The module's manifest is missing or unreadable. Never carries
    /// [`AbiError::IncompatibleAbi`]: an ABI mismatch is always [`EngineError::AbiMismatch`].
    #[error("not a Warrant policy module: {0}")]
    Manifest(AbiError),
    /// The module was built for a host/guest contract this engine does not speak, whether its
    /// manifest or its code (the `abi_version` export) says so. The one way an ABI mismatch is
    /// reported.
    #[error("policy module uses ABI {found_major}.x; this engine supports ABI {supported_major}.x")]
    AbiMismatch {
        /// The module's ABI major version.
        found_major: u16,
        /// The one major version this engine runs.
        supported_major: u16,
    },
    /// Wasmtime refused the module, or it lacks an export the ABI requires.
    #[error("invalid policy module: {0}")]
    InvalidModule(String),
    /// The data document cannot be laid out for the guest.
    #[error("invalid policy data: {0}")]
    Data(AbiError),
    /// The data document's revocation lists (`revoked_*`) are not lists of ids.
    #[error("invalid policy data: {0}")]
    Revocations(crate::revocation::RevocationError),
    /// The request cannot be built from its JSON form.
    #[error("invalid request: {0}")]
    Request(#[from] RequestError),
    /// The request cannot be encoded for the guest (for instance, it is too large).
    #[error("request cannot be encoded: {0}")]
    Encode(AbiError),
    /// Data plus request do not fit in a 32-bit guest memory.
    #[error("input too large for guest memory: {bytes} bytes needed")]
    InputTooLarge {
        /// Bytes the data and request images would need together.
        bytes: u64,
    },
    /// The guest trapped or wasmtime failed to run it.
    #[error("policy module trapped: {0}")]
    Trap(String),
    /// The guest rejected the images the host wrote (see ABI.md for the codes).
    #[error("policy module reported malformed input (code {0})")]
    GuestRejected(i32),
    /// The guest's verdict contradicts the rules it reports as fired: never trust either.
    #[error("policy module returned verdict {verdict} inconsistent with its fired rules")]
    InconsistentVerdict {
        /// The verdict word the guest returned.
        verdict: i32,
    },
}

impl EngineError {
    /// A stable, machine-readable name of the failure class. The JS host's `WarrantError.code`
    /// (hosts/js/errors.mjs) uses the same names, so hosts can be compared and logs queried by
    /// class without parsing messages.
    pub fn code(&self) -> &'static str {
        match self {
            EngineError::Runtime(_) => "runtime",
            EngineError::Compile(_) => "compile",
            EngineError::Codegen(_) => "codegen",
            EngineError::Manifest(_) => "manifest",
            EngineError::AbiMismatch { .. } => "abi_mismatch",
            EngineError::InvalidModule(_) => "invalid_module",
            EngineError::Data(_) | EngineError::Revocations(_) => "data",
            EngineError::Request(_) => "request",
            EngineError::Encode(_) => "encode",
            EngineError::InputTooLarge { .. } => "input_too_large",
            EngineError::Trap(_) => "trap",
            EngineError::GuestRejected(_) => "guest_rejected",
            EngineError::InconsistentVerdict { .. } => "inconsistent_verdict",
        }
    }

    /// The module speaks ABI `found_major`, not ours.
    pub(crate) fn abi_mismatch(found_major: u16) -> EngineError {
        EngineError::AbiMismatch { found_major, supported_major: warrant_wasm::abi::ABI_VERSION_MAJOR }
    }

    /// A manifest the engine refused; an incompatible ABI becomes [`EngineError::AbiMismatch`],
    /// so callers have one variant to match for it.
    pub(crate) fn manifest(error: AbiError) -> EngineError {
        match error {
            AbiError::IncompatibleAbi { found } => EngineError::abi_mismatch(found),
            other => EngineError::Manifest(other),
        }
    }
}

impl From<Diagnostics> for EngineError {
    fn from(diagnostics: Diagnostics) -> Self {
        EngineError::Compile(Box::new(diagnostics))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A manifest of another ABI major is reported like module code of another major, never as
    /// a manifest error that happens to wrap the mismatch.
    #[test]
    fn an_incompatible_manifest_is_an_abi_mismatch() {
        let error = EngineError::manifest(AbiError::IncompatibleAbi { found: 9 });
        assert!(
            matches!(error, EngineError::AbiMismatch { found_major: 9, supported_major }
                if supported_major == warrant_wasm::abi::ABI_VERSION_MAJOR),
            "{error:?}"
        );
        assert_eq!(error.code(), "abi_mismatch");
        let other = EngineError::manifest(AbiError::MissingManifest);
        assert!(matches!(other, EngineError::Manifest(AbiError::MissingManifest)), "{other:?}");
        assert_eq!(other.code(), "manifest");
    }
}
