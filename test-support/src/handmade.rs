//! Policy modules written by hand, to test the hosts' side of the contract with modules no
//! compiler of ours would produce: another ABI version, a guest that traps, loops, misreports or
//! writes where it must not, a memory too small for the input, an import.
use std::borrow::Cow;

use serde_json::Value;
use warrant_wasm::abi;
use wasm_encoder::{
    BlockType, CodeSection, ConstExpr, CustomSection, EntityType, ExportKind, ExportSection, Function, FunctionSection,
    GlobalSection, GlobalType, ImportSection, MemArg, MemArgTarget, MemorySection, MemoryType, Module, TypeSection,
    ValType,
};

/// What `warrant_decide` of a hand-made module does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecideBody {
    /// Returns this value and writes nothing (so it reports no fired rule).
    Returns(i32),
    /// Executes `unreachable`.
    Traps,
    /// Loops forever: only a host deadline stops it.
    Spins,
    /// Stores a byte at this address (outside any output area), then returns 0.
    WritesAt(i32),
}

/// The parts of a hand-made module that tests vary.
#[derive(Debug, Clone)]
pub struct Handmade {
    /// What `warrant_abi_version` returns.
    pub abi_version_word: i32,
    /// What `warrant_decide` does.
    pub decide: DecideBody,
    /// Maximum memory pages (`None`: unbounded).
    pub max_pages: Option<u64>,
    /// Imports a function (`env.clock`), which a standalone policy module must not.
    pub with_import: bool,
    /// The JSON of the `warrant.manifest` custom section.
    pub manifest: Value,
}

impl Handmade {
    /// A module of this host's ABI whose `warrant_decide` denies, with `manifest`.
    pub fn new(manifest: Value) -> Handmade {
        Handmade {
            abi_version_word: abi::ABI_VERSION_WORD,
            decide: DecideBody::Returns(abi::DECIDE_DENY),
            max_pages: None,
            with_import: false,
            manifest,
        }
    }

    /// The module's bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut types = TypeSection::new();
        types.ty().function([], [ValType::I32]);
        types.ty().function([ValType::I32; 3], [ValType::I32]);
        let mut imports = ImportSection::new();
        let imported = if self.with_import {
            imports.import("env", "clock", EntityType::Function(0));
            1
        } else {
            0
        };
        let mut functions = FunctionSection::new();
        functions.function(0).function(1);
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
        exports
            .export(abi::EXPORT_MEMORY, ExportKind::Memory, 0)
            .export(abi::EXPORT_HEAP_BASE, ExportKind::Global, 0)
            .export(abi::EXPORT_ABI_VERSION, ExportKind::Func, imported)
            .export(abi::EXPORT_DECIDE, ExportKind::Func, imported + 1);
        let mut code = CodeSection::new();
        let mut version = Function::new([]);
        version.instructions().i32_const(self.abi_version_word).end();
        code.function(&version);
        code.function(&self.decide_function());
        let manifest = self.manifest.to_string().into_bytes();
        let mut module = Module::new();
        module.section(&types);
        if self.with_import {
            module.section(&imports);
        }
        module
            .section(&functions)
            .section(&memories)
            .section(&globals)
            .section(&exports)
            .section(&code)
            .section(&CustomSection { name: Cow::Borrowed(abi::MANIFEST_SECTION), data: Cow::Owned(manifest) });
        module.finish()
    }

    fn decide_function(&self) -> Function {
        let mut decide = Function::new([]);
        let mut body = decide.instructions();
        match self.decide {
            DecideBody::Returns(code) => body.i32_const(code),
            DecideBody::Traps => body.unreachable(),
            DecideBody::Spins => body.loop_(BlockType::Empty).br(0).end().unreachable(),
            DecideBody::WritesAt(address) => body
                .i32_const(address)
                .i32_const(0x5a)
                .i32_store8(MemArg { offset: 0, align: 0, target: MemArgTarget::Memory(0), ordering: None })
                .i32_const(0),
        };
        body.end();
        decide
    }
}

/// `wasm` with the payload of its manifest custom section replaced by `edit(manifest)`. Walks
/// the section list of the binary format: 8-byte header, then (id, LEB128 size, payload).
/// Returns `None` when `wasm` is not a well-formed section list or its manifest is not JSON.
pub fn patch_manifest(wasm: &[u8], edit: impl Fn(&mut Value)) -> Option<Vec<u8>> {
    let name = abi::MANIFEST_SECTION.as_bytes();
    let mut out = wasm.get(..8)?.to_vec();
    let mut rest = wasm.get(8..)?;
    while let Some((&id, after_id)) = rest.split_first() {
        let (size, size_len) = read_leb(after_id)?;
        let payload = after_id.get(size_len..size_len.checked_add(size)?)?;
        rest = after_id.get(size_len + size..)?;
        let (name_len, name_len_len) = read_leb(payload)?;
        let is_manifest = id == 0 && payload.get(name_len_len..name_len_len + name_len) == Some(name);
        if !is_manifest {
            out.push(id);
            write_leb(&mut out, size);
            out.extend_from_slice(payload);
            continue;
        }
        let mut manifest: Value = serde_json::from_slice(payload.get(name_len_len + name_len..)?).ok()?;
        edit(&mut manifest);
        let mut section = Vec::new();
        write_leb(&mut section, name.len());
        section.extend_from_slice(name);
        section.extend_from_slice(manifest.to_string().as_bytes());
        out.push(0);
        write_leb(&mut out, section.len());
        out.extend_from_slice(&section);
    }
    Some(out)
}

/// An unsigned LEB128 number and its length in bytes.
fn read_leb(bytes: &[u8]) -> Option<(usize, usize)> {
    let mut value = 0usize;
    for (index, byte) in bytes.iter().enumerate().take(5) {
        value |= usize::from(byte & 0x7f) << (7 * index);
        if byte & 0x80 == 0 {
            return Some((value, index + 1));
        }
    }
    None
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patching_the_manifest_keeps_the_module_valid_and_changes_only_it() {
        let module = Handmade::new(serde_json::json!({"package": "p"})).encode();
        let patched = patch_manifest(&module, |m| m["package"] = "q".into()).expect("well formed");
        assert_ne!(patched, module);
        let back = patch_manifest(&patched, |m| m["package"] = "p".into()).expect("well formed");
        assert_eq!(back, module);
        assert!(patch_manifest(&module[..9], |_| {}).is_none(), "a truncated module");
    }
}
