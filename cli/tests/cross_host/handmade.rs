//! Modules no compiler of ours would produce, made by hand to test the hosts' side of the
//! contract: another ABI version, a guest that traps or misreports, a memory too small for
//! the input.
use std::borrow::Cow;

use serde_json::{json, Value};
use wasm_encoder::{
    CodeSection, ConstExpr, CustomSection, ExportKind, ExportSection, Function, FunctionSection, GlobalSection,
    GlobalType, Instruction, MemorySection, MemoryType, Module, TypeSection, ValType,
};

/// What `warrant_decide` of a hand-made module does.
#[derive(Clone, Copy)]
pub enum DecideBody {
    /// Returns this value and reports no fired rule.
    Returns(i32),
    /// Executes `unreachable`.
    Traps,
    /// Stores a byte at this address (outside any output area), then returns 0.
    WritesAt(i32),
}

/// The parts of a hand-made module that tests vary.
pub struct Handmade {
    pub abi_version_word: i32,
    pub decide: DecideBody,
    /// Maximum memory pages (`None`: unbounded).
    pub max_pages: Option<u64>,
    pub manifest: Value,
}

/// A manifest of ABI 2.0 with one allow rule reading the claim `blob` as a string.
pub fn manifest_v2() -> Value {
    json!({
        "abi_version": {"major": 2, "minor": 0},
        "package": "handmade",
        "source_hash": "00",
        "literals": [],
        "slots": [{"source": {"claim": ["blob"]}, "ty": "str"}],
        "rules": [{"name": "anything", "kind": "allow", "line": 1}],
        "undecided": [],
    })
}

impl Handmade {
    pub fn encode(&self) -> Vec<u8> {
        let mut types = TypeSection::new();
        types.ty().function([], [ValType::I32]);
        types.ty().function([ValType::I32; 3], [ValType::I32]);
        let mut functions = FunctionSection::new();
        functions.function(0);
        functions.function(1);
        let mut version = Function::new([]);
        version.instruction(&Instruction::I32Const(self.abi_version_word));
        version.instruction(&Instruction::End);
        let mut decide = Function::new([]);
        match self.decide {
            DecideBody::Returns(code) => decide.instruction(&Instruction::I32Const(code)),
            DecideBody::Traps => decide.instruction(&Instruction::Unreachable),
            DecideBody::WritesAt(address) => decide
                .instruction(&Instruction::I32Const(address))
                .instruction(&Instruction::I32Const(0x5a))
                .instruction(&Instruction::I32Store8(wasm_encoder::MemArg {
                    offset: 0,
                    align: 0,
                    target: wasm_encoder::MemArgTarget::Memory(0),
                    ordering: None,
                }))
                .instruction(&Instruction::I32Const(0)),
        };
        decide.instruction(&Instruction::End);
        let mut code = CodeSection::new();
        code.function(&version);
        code.function(&decide);
        let mut memories = MemorySection::new();
        memories.memory(MemoryType {
            minimum: 1,
            maximum: self.max_pages,
            memory64: false,
            shared: false,
            page_size_log2: None,
        });
        let mut globals = GlobalSection::new();
        globals
            .global(GlobalType { val_type: ValType::I32, mutable: false, shared: false }, &ConstExpr::i32_const(1024));
        let mut exports = ExportSection::new();
        exports.export("memory", ExportKind::Memory, 0);
        exports.export("warrant_heap_base", ExportKind::Global, 0);
        exports.export("warrant_abi_version", ExportKind::Func, 0);
        exports.export("warrant_decide", ExportKind::Func, 1);
        let manifest = self.manifest.to_string().into_bytes();
        let mut module = Module::new();
        module
            .section(&types)
            .section(&functions)
            .section(&memories)
            .section(&globals)
            .section(&exports)
            .section(&code)
            .section(&CustomSection { name: "warrant.manifest".into(), data: Cow::Owned(manifest) });
        module.finish()
    }
}

/// `wasm` with the payload of its `warrant.manifest` custom section replaced by `edit(manifest)`.
/// Walks the section list of the binary format: 8-byte header, then (id, LEB128 size, payload).
pub fn patch_manifest(wasm: &[u8], edit: impl Fn(&mut Value)) -> Vec<u8> {
    let mut out = wasm[..8].to_vec();
    let mut at = 8;
    while at < wasm.len() {
        let id = wasm[at];
        let (size, size_len) = read_leb(&wasm[at + 1..]);
        let payload = &wasm[at + 1 + size_len..at + 1 + size_len + size];
        at += 1 + size_len + size;
        let (name_len, name_len_len) = read_leb(payload);
        let is_manifest = id == 0 && payload.get(name_len_len..name_len_len + name_len) == Some(b"warrant.manifest");
        if !is_manifest {
            out.push(id);
            write_leb(&mut out, size);
            out.extend_from_slice(payload);
            continue;
        }
        let mut manifest: Value = serde_json::from_slice(&payload[name_len_len + name_len..]).expect("manifest JSON");
        edit(&mut manifest);
        let mut section = Vec::new();
        write_leb(&mut section, name_len);
        section.extend_from_slice(b"warrant.manifest");
        section.extend_from_slice(manifest.to_string().as_bytes());
        out.push(0);
        write_leb(&mut out, section.len());
        out.extend_from_slice(&section);
    }
    out
}

fn read_leb(bytes: &[u8]) -> (usize, usize) {
    let mut value = 0usize;
    for (index, byte) in bytes.iter().enumerate() {
        value |= usize::from(byte & 0x7f) << (7 * index);
        if byte & 0x80 == 0 {
            return (value, index + 1);
        }
    }
    panic!("truncated LEB128");
}

fn write_leb(out: &mut Vec<u8>, mut value: usize) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}
