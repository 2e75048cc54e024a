//! Everything that can stop the engine from deciding. Each one is a refusal: callers that
//! cannot handle errors use `Policy::decide_or_deny`, which turns them into a deny.
use warrant_lang::request::RequestError;
use warrant_lang::Diagnostics;
use warrant_wasm::abi::AbiError;
use warrant_wasm::CodegenError;

#[derive(Debug, thiserror::Error)]
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
    /// The module's manifest is missing or unreadable.
    #[error("not a Warrant policy module: {0}")]
    Manifest(AbiError),
    /// The module was built for a host/guest contract this engine does not speak.
    #[error("policy module uses ABI {found_major}.x; this engine supports ABI {supported_major}.x")]
    AbiMismatch { found_major: u16, supported_major: u16 },
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
    InputTooLarge { bytes: u64 },
    /// The guest trapped or wasmtime failed to run it.
    #[error("policy module trapped: {0}")]
    Trap(String),
    /// The guest rejected the images the host wrote (see ABI.md for the codes).
    #[error("policy module reported malformed input (code {0})")]
    GuestRejected(i32),
    /// The guest's verdict contradicts the rules it reports as fired: never trust either.
    #[error("policy module returned verdict {verdict} inconsistent with its fired rules")]
    InconsistentVerdict { verdict: i32 },
}

impl From<Diagnostics> for EngineError {
    fn from(diagnostics: Diagnostics) -> Self {
        EngineError::Compile(Box::new(diagnostics))
    }
}
