//! The Warrant policy language: grammar → AST → checks → IR, plus the reference evaluator.
pub mod ir;
pub mod request;
