//! The wasmtime host: one shared `Engine`, and compiled policies that decide from many
//! threads without compiling or instantiating anything per call.
mod instance;
mod policy;
mod pool;

pub use policy::Policy;

use crate::error::EngineError;

/// Compiles and runs policy modules. Cheap to clone: clones share one wasmtime engine (and so
/// its code cache and compiler settings).
#[derive(Clone)]
pub struct Engine {
    wasmtime: wasmtime::Engine,
}

impl Engine {
    /// An engine tuned for many short calls: optimised code, and no fuel or epoch checks
    /// (policy code has no loops over unbounded input; the guest's own bounds keep calls
    /// short). Linear memories use wasmtime's default reservation and guard pages, so the
    /// compiled code needs no explicit bounds checks; instances are reused, which keeps the
    /// cost of reserving that address space off the decision path.
    pub fn new() -> Result<Engine, EngineError> {
        let mut config = wasmtime::Config::new();
        config.cranelift_opt_level(wasmtime::OptLevel::Speed);
        let wasmtime = wasmtime::Engine::new(&config).map_err(|e| EngineError::Runtime(format!("{e:#}")))?;
        Ok(Engine { wasmtime })
    }

    /// Compiles policy text (`origin` names it in diagnostics) into a ready policy.
    pub fn compile_policy(&self, source: &str, origin: &str) -> Result<Policy, EngineError> {
        let wasm = compile_to_wasm(source, origin)?;
        Policy::load(self, wasm)
    }

    /// Loads a module built by `warrant build` (or [`compile_to_wasm`]), refusing modules
    /// without a Warrant manifest or built for another ABI major version.
    pub fn load_wasm(&self, wasm: &[u8]) -> Result<Policy, EngineError> {
        Policy::load(self, wasm.to_vec())
    }

    pub(crate) fn wasmtime(&self) -> &wasmtime::Engine {
        &self.wasmtime
    }
}

/// Policy text to a standalone Wasm module, without running it: what `warrant build` ships.
pub fn compile_to_wasm(source: &str, origin: &str) -> Result<Vec<u8>, EngineError> {
    let program = warrant_lang::compile(source, origin)?;
    Ok(warrant_wasm::compile(&program)?)
}
