//! Test host: runs a compiled policy in wasmtime through the Rust ABI encoders, the way an
//! engine does (data image at `warrant_heap_base`, request after it, output after that).
#![allow(dead_code)] // each test binary uses a different part of the harness

pub mod gen;

use serde_json::Value;
use warrant_lang::ir::RuleId;
use warrant_lang::request::Request;
use warrant_wasm::abi::{
    decode_fired, decode_undecided, output_bytes, output_words, read_manifest, AbiError, DataImage, Manifest,
    RequestEncoder, ABI_VERSION_WORD, EXPORT_ABI_VERSION, EXPORT_DECIDE, EXPORT_HEAP_BASE, EXPORT_MEMORY,
};
use wasmtime::{Engine, Instance, Memory, Module, Store, TypedFunc, Val};

/// Asserts the module passes wasmparser's validator with default features.
pub fn validate(wasm: &[u8]) {
    wasmparser::Validator::new().validate_all(wasm).expect("generated module is valid Wasm");
}

/// One instantiated policy with its data image written.
pub struct WasmPolicy {
    pub manifest: Manifest,
    store: Store<()>,
    pub memory: Memory,
    decide: TypedFunc<(i32, i32, i32), i32>,
    pub heap_base: u32,
    data: DataImage,
    encoder: RequestEncoder,
}

/// What one decision returned.
#[derive(Debug, PartialEq, Eq)]
pub struct Verdict {
    pub code: i32,
    pub fired: Vec<RuleId>,
    /// Deny rules that fired undecided, with their messages.
    pub undecided: Vec<(RuleId, String)>,
}

impl WasmPolicy {
    pub fn new(engine: &Engine, wasm: &[u8], data: &Value) -> WasmPolicy {
        let manifest = read_manifest(wasm).expect("manifest");
        let module = Module::new(engine, wasm).expect("wasmtime compiles the module");
        let mut store = Store::new(engine, ());
        let instance = Instance::new(&mut store, &module, &[]).expect("instantiates without imports");
        let memory = instance.get_memory(&mut store, EXPORT_MEMORY).expect("memory export");
        let decide = instance.get_typed_func(&mut store, EXPORT_DECIDE).expect("decide export");
        let version: TypedFunc<(), i32> =
            instance.get_typed_func(&mut store, EXPORT_ABI_VERSION).expect("version export");
        assert_eq!(version.call(&mut store, ()).expect("version runs"), ABI_VERSION_WORD);
        let heap_base = match instance.get_global(&mut store, EXPORT_HEAP_BASE).map(|g| g.get(&mut store)) {
            Some(Val::I32(base)) => base as u32,
            other => panic!("heap base export missing: {other:?}"),
        };
        let data = DataImage::build(&manifest, data, heap_base).expect("data image");
        let mut policy =
            WasmPolicy { manifest, store, memory, decide, heap_base, data, encoder: RequestEncoder::new() };
        let bytes = policy.data.bytes().to_vec();
        policy.write(heap_base, &bytes);
        policy
    }

    /// Replaces the data image.
    pub fn set_data(&mut self, data: &Value) -> Result<(), AbiError> {
        self.data = DataImage::build(&self.manifest, data, self.heap_base)?;
        let bytes = self.data.bytes().to_vec();
        self.write(self.heap_base, &bytes);
        Ok(())
    }

    /// Writes `bytes` at `address`, growing memory as needed.
    pub fn write(&mut self, address: u32, bytes: &[u8]) {
        let end = address as usize + bytes.len();
        let size = self.memory.data_size(&self.store);
        if end > size {
            let pages = (end - size).div_ceil(65536) as u64;
            self.memory.grow(&mut self.store, pages).expect("memory grows");
        }
        self.memory.data_mut(&mut self.store)[address as usize..end].copy_from_slice(bytes);
    }

    /// Encodes and decides `request`.
    pub fn decide(&mut self, request: &Request) -> Result<Verdict, AbiError> {
        let (request_base, out) = self.place(request)?;
        let code = self.call(self.data.base(), request_base, out);
        let fired = self.fired(out);
        let output =
            &self.memory.data(&self.store)[out as usize..out as usize + output_bytes(self.manifest.rules.len())];
        let undecided = decode_undecided(output, &self.manifest, &fired).expect("valid undecided entries");
        Ok(Verdict { code, fired, undecided })
    }

    /// Encodes `request` after the data image and poisons the output area; returns
    /// `(req_ptr, out_ptr)`.
    pub fn place(&mut self, request: &Request) -> Result<(u32, u32), AbiError> {
        let request_base = self.data.end();
        let image = self.encoder.encode(&self.manifest, &self.data, request, request_base)?.to_vec();
        let out = request_base + image.len() as u32;
        self.write(request_base, &image);
        self.write(out, &vec![0xAA; output_bytes(self.manifest.rules.len())]);
        Ok((request_base, out))
    }

    /// The fired rules recorded in the output area at `out`.
    pub fn fired(&self, out: u32) -> Vec<RuleId> {
        let words = output_words(self.manifest.rules.len());
        let output = &self.memory.data(&self.store)[out as usize..out as usize + words * 4];
        decode_fired(output, &self.manifest)
    }

    pub fn data_base(&self) -> u32 {
        self.data.base()
    }

    /// Calls `warrant_decide` with raw pointers; a trap fails the test.
    pub fn call(&mut self, data_ptr: u32, req_ptr: u32, out_ptr: u32) -> i32 {
        self.decide
            .call(&mut self.store, (data_ptr as i32, req_ptr as i32, out_ptr as i32))
            .expect("warrant_decide must not trap")
    }

    pub fn memory_size(&self) -> usize {
        self.memory.data_size(&self.store)
    }

    pub fn data_end(&self) -> u32 {
        self.data.end()
    }
}
