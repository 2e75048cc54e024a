//! The module's static memory: the literal string table and bytes, and the literal sets the
//! rules compare against. Everything after it (from `heap_base`) belongs to the host.
use std::collections::HashMap;

use warrant_lang::ir::LitId;

use super::runtime::StaticStrings;
use super::CodegenError;
use crate::abi::{ID_SIZE, IMAGE_ALIGN, STRING_ENTRY_SIZE};

/// Address of an all-zero `(ptr, len)` entry: the empty string, returned for bad string ids.
const EMPTY_STRING_ENTRY: u32 = 0;
/// Static data starts after the empty entry, leaving address 0 unused by real data.
const LITERAL_TABLE: u32 = 16;

/// Static data under construction; literal sets are added while rules are compiled.
pub(super) struct StaticLayout {
    bytes: Vec<u8>,
    literal_entries: Vec<(u32, u32)>,
    literal_sets: HashMap<Vec<LitId>, u32>,
    regex_tables: HashMap<LitId, RegexTable>,
}

/// Where the DFA of one `regex(...)` pattern lies in static memory (see
/// [`StaticLayout::regex_table`]).
#[derive(Debug, Clone, Copy)]
pub(super) struct RegexTable {
    /// 256 bytes: the class of each byte.
    pub(super) classes: u32,
    /// `u16` cells, row-major: `transitions[row + class]` is the next state's row offset
    /// (in cells); the start state's row is 0.
    pub(super) transitions: u32,
    /// One byte per state: 1 when a subject ending in it matches.
    pub(super) accepting: u32,
    /// Cells per row; the state of row offset `r` is `r / class_count`.
    pub(super) class_count: u32,
}

impl StaticLayout {
    /// Lays out the literal table and bytes.
    pub(super) fn new(literals: &[String]) -> Result<StaticLayout, CodegenError> {
        let table_len = literals.len().checked_mul(STRING_ENTRY_SIZE as usize).ok_or(CodegenError::TooLarge)?;
        // The bytes of the literals follow the table, in order.
        let mut end = table_len;
        let mut literal_entries = Vec::with_capacity(literals.len());
        for literal in literals {
            let ptr = address(LITERAL_TABLE as usize + end)?;
            let len = u32::try_from(literal.len()).map_err(|_| CodegenError::TooLarge)?;
            literal_entries.push((ptr, len));
            end = end.checked_add(literal.len()).ok_or(CodegenError::TooLarge)?;
        }
        let mut bytes = Vec::with_capacity(end);
        for (ptr, len) in &literal_entries {
            bytes.extend_from_slice(&ptr.to_le_bytes());
            bytes.extend_from_slice(&len.to_le_bytes());
        }
        for literal in literals {
            bytes.extend_from_slice(literal.as_bytes());
        }
        Ok(StaticLayout { bytes, literal_entries, literal_sets: HashMap::new(), regex_tables: HashMap::new() })
    }

    /// `(ptr, len)` of the bytes of literal `id`.
    pub(super) fn literal(&self, id: LitId) -> Option<(u32, u32)> {
        self.literal_entries.get(id as usize).copied()
    }

    /// Address of the sorted id array of a literal set (stored once per distinct set).
    pub(super) fn literal_set(&mut self, ids: &[LitId]) -> Result<u32, CodegenError> {
        if let Some(&ptr) = self.literal_sets.get(ids) {
            return Ok(ptr);
        }
        let aligned = self.bytes.len().div_ceil(ID_SIZE as usize) * ID_SIZE as usize;
        self.bytes.resize(aligned, 0);
        let ptr = address(LITERAL_TABLE as usize + self.bytes.len())?;
        for id in ids {
            self.bytes.extend_from_slice(&id.to_le_bytes());
        }
        self.literal_sets.insert(ids.to_vec(), ptr);
        Ok(ptr)
    }

    /// The DFA of the `regex` pattern literal `id`, built and stored once per pattern. A
    /// pattern the checker would refuse (invalid, or over the size limit) is invalid IR.
    pub(super) fn regex_table(&mut self, id: LitId, pattern: &str) -> Result<RegexTable, CodegenError> {
        if let Some(&table) = self.regex_tables.get(&id) {
            return Ok(table);
        }
        let dfa = warrant_lang::regex_dfa::build_dfa(pattern).map_err(|e| CodegenError::InvalidIr {
            rule: String::new(),
            reason: format!("regex pattern {pattern:?} does not compile: {e:?}"),
        })?;
        let classes = address(LITERAL_TABLE as usize + self.bytes.len())?;
        self.bytes.extend_from_slice(&dfa.classes);
        let accepting = address(LITERAL_TABLE as usize + self.bytes.len())?;
        self.bytes.extend(dfa.accepting.iter().map(|&a| u8::from(a)));
        self.bytes.resize(self.bytes.len().next_multiple_of(2), 0);
        let transitions = address(LITERAL_TABLE as usize + self.bytes.len())?;
        for cell in &dfa.transitions {
            self.bytes.extend_from_slice(&cell.to_le_bytes());
        }
        address(LITERAL_TABLE as usize + self.bytes.len())?;
        let class_count = u32::try_from(dfa.class_count).map_err(|_| CodegenError::TooLarge)?;
        let table = RegexTable { classes, transitions, accepting, class_count };
        self.regex_tables.insert(id, table);
        Ok(table)
    }

    /// What the runtime helpers need to find literal strings.
    pub(super) fn strings(&self) -> StaticStrings {
        StaticStrings {
            literal_count: self.literal_entries.len() as u32,
            literal_table: LITERAL_TABLE,
            empty_entry: EMPTY_STRING_ENTRY,
        }
    }

    /// Offset and content of the data segment.
    pub(super) fn segment(&self) -> (u32, &[u8]) {
        (LITERAL_TABLE, &self.bytes)
    }

    /// First free [`IMAGE_ALIGN`]-aligned byte after the static data.
    pub(super) fn heap_base(&self) -> Result<u32, CodegenError> {
        let end = LITERAL_TABLE as usize + self.bytes.len();
        address(end.div_ceil(IMAGE_ALIGN as usize) * IMAGE_ALIGN as usize)
    }
}

fn address(offset: usize) -> Result<u32, CodegenError> {
    u32::try_from(offset).ok().filter(|&a| a < i32::MAX as u32).ok_or(CodegenError::TooLarge)
}
