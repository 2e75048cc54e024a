//! One instantiated policy module with its own store and memory, ready to decide again and
//! again: the data image stays in memory between calls and the request encoder reuses its
//! buffers, so a steady-state decision only encodes, copies and calls.
use wasmtime::{InstancePre, Memory, Store, TypedFunc};

use warrant_lang::ir::RuleId;
use warrant_lang::request::Request;
use warrant_wasm::abi::{self, Manifest, RequestEncoder};

use super::CALL_DEADLINE_TICKS;
use crate::data::DataSnapshot;
use crate::error::EngineError;

/// Size of a Wasm page: memory grows by whole pages.
const WASM_PAGE_BYTES: u64 = 65_536;

/// What the guest answered: its verdict, the rules it reports as fired, and the deny rules
/// among them that fired undecided, with their messages.
pub(crate) struct GuestAnswer {
    pub(crate) allowed: bool,
    pub(crate) fired: Vec<RuleId>,
    pub(crate) undecided: Vec<(RuleId, String)>,
}

pub(crate) struct ReadyInstance {
    store: Store<()>,
    memory: Memory,
    decide: TypedFunc<(i32, i32, i32), i32>,
    encoder: RequestEncoder,
    heap_base: u32,
    /// Which data snapshot the memory holds at `heap_base`, if any.
    data_generation: Option<u64>,
}

impl ReadyInstance {
    /// Instantiates the module, resolves the exports the ABI requires and checks that the
    /// code speaks this host's ABI major version (whatever its manifest claims).
    pub(crate) fn new(pre: &InstancePre<()>) -> Result<ReadyInstance, EngineError> {
        let mut store = Store::new(pre.module().engine(), ());
        store.set_epoch_deadline(CALL_DEADLINE_TICKS);
        let instance = pre.instantiate(&mut store).map_err(|e| invalid(format!("cannot instantiate: {e:#}")))?;
        let memory =
            instance.get_memory(&mut store, abi::EXPORT_MEMORY).ok_or_else(|| missing_export(abi::EXPORT_MEMORY))?;
        let decide = instance
            .get_typed_func::<(i32, i32, i32), i32>(&mut store, abi::EXPORT_DECIDE)
            .map_err(|e| invalid(format!("export `{}`: {e:#}", abi::EXPORT_DECIDE)))?;
        let heap_base = instance
            .get_global(&mut store, abi::EXPORT_HEAP_BASE)
            .and_then(|global| global.get(&mut store).i32())
            .ok_or_else(|| missing_export(abi::EXPORT_HEAP_BASE))?;
        let heap_base = u32::try_from(heap_base)
            .ok()
            .filter(|&base| abi::align_image(base) == Some(base))
            .ok_or_else(|| invalid(format!("`{}` is not an aligned address", abi::EXPORT_HEAP_BASE)))?;
        let abi_version = instance
            .get_typed_func::<(), i32>(&mut store, abi::EXPORT_ABI_VERSION)
            .and_then(|version| version.call(&mut store, ()))
            .map_err(|e| invalid(format!("export `{}`: {e:#}", abi::EXPORT_ABI_VERSION)))?;
        let found_major = (abi_version >> 16) as u16;
        if found_major != abi::ABI_VERSION_MAJOR {
            return Err(EngineError::abi_mismatch(found_major));
        }
        Ok(ReadyInstance { store, memory, decide, encoder: RequestEncoder::new(), heap_base, data_generation: None })
    }

    /// Where the guest's free memory starts: the data image goes there.
    pub(crate) fn heap_base(&self) -> u32 {
        self.heap_base
    }

    /// Decides one request against `data`, writing the data image first if this instance
    /// last saw another version.
    pub(crate) fn decide(
        &mut self,
        manifest: &Manifest,
        data: &DataSnapshot,
        request: &Request,
    ) -> Result<GuestAnswer, EngineError> {
        if self.data_generation != Some(data.generation) {
            self.data_generation = None;
            write_bytes(&mut self.store, self.memory, u64::from(data.image.base()), data.image.bytes())?;
            self.data_generation = Some(data.generation);
        }
        let data_base = data.image.base();
        let request_base = next_image(u64::from(data.image.end()))?;
        let image = self.encoder.encode(manifest, &data.image, request, request_base).map_err(EngineError::Encode)?;
        write_bytes(&mut self.store, self.memory, u64::from(request_base), image)?;
        let output_base = next_image(u64::from(request_base) + image.len() as u64)?;
        let output_len = abi::output_bytes(manifest.rules.len());
        write_zeroes(
            &mut self.store,
            self.memory,
            u64::from(output_base),
            abi::output_words(manifest.rules.len()) * 4,
        )?;

        let arguments = (wasm_address(data_base), wasm_address(request_base), wasm_address(output_base));
        self.store.set_epoch_deadline(CALL_DEADLINE_TICKS);
        let code = self.decide.call(&mut self.store, arguments).map_err(|e| EngineError::Trap(trap_reason(&e)))?;
        let allowed = match code {
            abi::DECIDE_ALLOW => true,
            abi::DECIDE_DENY => false,
            negative if negative < 0 => return Err(EngineError::GuestRejected(negative)),
            other => return Err(EngineError::InconsistentVerdict { verdict: other }),
        };
        let output = reserve(&mut self.store, self.memory, u64::from(output_base), output_len)?;
        let fired = abi::decode_fired(output, manifest);
        let undecided = abi::decode_undecided(output, manifest, &fired)
            .ok_or(EngineError::InconsistentVerdict { verdict: code })?;
        Ok(GuestAnswer { allowed, fired, undecided })
    }
}

/// What stopped the guest, in one readable line (no Wasm backtrace in a deny reason).
fn trap_reason(error: &wasmtime::Error) -> String {
    match error.downcast_ref::<wasmtime::Trap>() {
        Some(wasmtime::Trap::Interrupt) => "the decision ran past its time limit".to_string(),
        Some(trap) => trap.to_string(),
        None => error.to_string().lines().next().unwrap_or("unknown failure").to_string(),
    }
}

/// Copies `bytes` to guest memory at `at`, growing the memory if needed.
fn write_bytes(store: &mut Store<()>, memory: Memory, at: u64, bytes: &[u8]) -> Result<(), EngineError> {
    reserve(store, memory, at, bytes.len())?.copy_from_slice(bytes);
    Ok(())
}

/// Zeroes `len` bytes of guest memory at `at`, growing the memory if needed.
fn write_zeroes(store: &mut Store<()>, memory: Memory, at: u64, len: usize) -> Result<(), EngineError> {
    reserve(store, memory, at, len)?.fill(0);
    Ok(())
}

/// Makes `[at, at + len)` addressable in the 32-bit guest memory and returns it.
fn reserve(store: &mut Store<()>, memory: Memory, at: u64, len: usize) -> Result<&mut [u8], EngineError> {
    let end = at.saturating_add(len as u64);
    let too_large = || EngineError::InputTooLarge { bytes: end };
    if end > u64::from(u32::MAX) {
        return Err(too_large());
    }
    let size = memory.data_size(&*store) as u64;
    if end > size {
        let pages = (end - size).div_ceil(WASM_PAGE_BYTES);
        memory.grow(&mut *store, pages).map_err(|_| too_large())?;
    }
    let (start, end) = (usize::try_from(at).map_err(|_| too_large())?, usize::try_from(end).map_err(|_| too_large())?);
    memory.data_mut(store).get_mut(start..end).ok_or_else(too_large)
}

/// The aligned address where the next image may start after `end`.
fn next_image(end: u64) -> Result<u32, EngineError> {
    u32::try_from(end).ok().and_then(abi::align_image).ok_or(EngineError::InputTooLarge { bytes: end })
}

/// Wasm passes addresses as `i32`; the guest reads them back as unsigned, so only the bit
/// pattern matters.
fn wasm_address(address: u32) -> i32 {
    address as i32
}

fn invalid(message: String) -> EngineError {
    EngineError::InvalidModule(message)
}

fn missing_export(name: &str) -> EngineError {
    invalid(format!("missing export `{name}`"))
}
