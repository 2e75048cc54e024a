//! Warrant policies as standalone WebAssembly: the host/guest ABI ([`abi`]) and the IR -> Wasm
//! code generator ([`codegen`]).
pub mod abi;
pub mod codegen;

pub use codegen::{compile, CodegenError};
