//! The wasmtime host: one shared `Engine`, and compiled policies that decide from many
//! threads without compiling or instantiating anything per call.
mod instance;
mod policy;
mod pool;

pub use policy::Policy;

use std::time::Duration;

use warrant_lang::SourceFile;

use crate::error::EngineError;

/// Compiles and runs policy modules. Cheap to clone: clones share one wasmtime engine (and so
/// its code cache and compiler settings).
#[derive(Clone)]
pub struct Engine {
    wasmtime: wasmtime::Engine,
}

/// How often the engine's epoch clock ticks.
const EPOCH_TICK: Duration = Duration::from_millis(10);
/// Ticks one guest call may run before it is interrupted (a trap, so a deny): about 100 ms,
/// far beyond any real decision, short enough that a hostile or broken module loaded with
/// [`Engine::load_wasm`] cannot hang a gateway thread.
pub(crate) const CALL_DEADLINE_TICKS: u64 = 10;

impl Engine {
    /// An engine tuned for many short calls: optimised code, and epoch interruption (one
    /// counter check per function entry and loop back-edge) as the only run-time guard, so a
    /// guest that never returns fails closed. Linear memories use wasmtime's default
    /// reservation and guard pages, so the compiled code needs no explicit bounds checks;
    /// instances are reused, which keeps the cost of reserving that address space off the
    /// decision path.
    pub fn new() -> Result<Engine, EngineError> {
        let mut config = wasmtime::Config::new();
        config.cranelift_opt_level(wasmtime::OptLevel::Speed);
        config.epoch_interruption(true);
        let wasmtime = wasmtime::Engine::new(&config).map_err(|e| EngineError::Runtime(format!("{e:#}")))?;
        start_epoch_clock(&wasmtime)?;
        Ok(Engine { wasmtime })
    }

    /// Compiles policy text (`origin` names it in diagnostics) into a ready policy.
    pub fn compile_policy(&self, source: &str, origin: &str) -> Result<Policy, EngineError> {
        let wasm = compile_to_wasm(source, origin)?;
        Policy::load(self, wasm)
    }

    /// Compiles the files of one package (a folder of `.warrant` files, see
    /// [`warrant_lang::compile_files`]; `origin` is the folder as diagnostics show it) into a
    /// ready policy.
    pub fn compile_package(&self, origin: &str, files: &[SourceFile]) -> Result<Policy, EngineError> {
        let wasm = compile_package_to_wasm(origin, files)?;
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

/// Ticks the engine's epoch until the engine is dropped (the thread holds only a weak handle).
fn start_epoch_clock(engine: &wasmtime::Engine) -> Result<(), EngineError> {
    let engine = engine.weak();
    std::thread::Builder::new()
        .name("warrant-epoch".into())
        .spawn(move || loop {
            std::thread::sleep(EPOCH_TICK);
            match engine.upgrade() {
                Some(engine) => engine.increment_epoch(),
                None => return,
            }
        })
        .map(drop)
        .map_err(|e| EngineError::Runtime(format!("cannot start the epoch clock: {e}")))
}

/// Policy text to a standalone Wasm module, without running it: what `warrant build` ships.
pub fn compile_to_wasm(source: &str, origin: &str) -> Result<Vec<u8>, EngineError> {
    let program = warrant_lang::compile(source, origin)?;
    Ok(warrant_wasm::compile(&program)?)
}

/// The files of one package to a standalone Wasm module: [`compile_to_wasm`] for a policy split
/// over several files.
pub fn compile_package_to_wasm(origin: &str, files: &[SourceFile]) -> Result<Vec<u8>, EngineError> {
    let package = warrant_lang::compile_files(origin, files)?;
    Ok(warrant_wasm::compile(&package.program)?)
}
