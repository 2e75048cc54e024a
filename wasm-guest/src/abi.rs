//! The host/guest contract of a compiled Warrant policy: the single source of truth for
//! export names, the ABI version, every byte offset of the images the host writes into guest
//! memory, the manifest, and the host-side encoders (pure Rust, no Wasm runtime).
//!
//! `ABI.md` (next to `Cargo.toml`) documents the same contract for hosts in other languages;
//! the constants here are what the code generator and the Rust encoders actually use.
mod described;

mod coerce;
mod data_image;
mod image;
mod manifest;
mod request_image;

use warrant_lang::ir::{RuleId, RuleKind};

use described::abi_constants;

pub use data_image::DataImage;
pub use described::{ConstValue, Constant};
pub use manifest::{read_manifest, AbiVersion, Manifest, RuleInfo};
pub use request_image::RequestEncoder;

abi_constants! {
    "version" {
        /// Major ABI version: bumped on any incompatible layout change; hosts refuse other majors.
        ABI_VERSION_MAJOR: u16 = 3;
        /// Minor ABI version: bumped on backward-compatible additions.
        ABI_VERSION_MINOR: u16 = 0;
        /// What `warrant_abi_version()` returns: `(major << 16) | minor`.
        ABI_VERSION_WORD: i32 = ((ABI_VERSION_MAJOR as i32) << 16) | ABI_VERSION_MINOR as i32;
    }
    "exports" {
        /// The module's exported linear memory.
        EXPORT_MEMORY: &str = "memory";
        /// Exported immutable i32 global: first free 16-aligned byte after the module's static data.
        EXPORT_HEAP_BASE: &str = "warrant_heap_base";
        /// Exported `() -> i32` returning `ABI_VERSION_WORD`.
        EXPORT_ABI_VERSION: &str = "warrant_abi_version";
        /// Exported `(data_ptr: i32, req_ptr: i32, out_ptr: i32) -> i32`.
        EXPORT_DECIDE: &str = "warrant_decide";
        /// Custom section holding the JSON manifest.
        MANIFEST_SECTION: &str = "warrant.manifest";
    }
    "manifest" {
        /// The manifest's slot type names (`slots[i].ty`), for `str`, `int`, `bool` and `str_set`.
        SLOT_TYPES: [&str; 4] = ["str", "int", "bool", "str_set"];
        /// The manifest's rule kinds (`rules[i].kind`): `allow`, `deny` (with a `reason`), `helper`.
        RULE_KINDS: [&str; 3] = ["allow", "deny", "helper"];
    }
    "reason" {
        /// Bytes of one rendered deny-reason placeholder value (after escaping each control character
        /// as backslash, `u` and four lowercase hex digits); a longer value keeps its longest prefix of at most this many bytes ending on a
        /// character boundary, then `REASON_TRUNCATED`.
        REASON_MAX_VALUE_BYTES: u32 = warrant_lang::reason::MAX_VALUE_BYTES as u32;
        /// Bytes of one rendered deny reason, truncated like a value.
        REASON_MAX_BYTES: u32 = warrant_lang::reason::MAX_REASON_BYTES as u32;
        /// Appended to a truncated value or reason.
        REASON_TRUNCATED: &str = warrant_lang::reason::TRUNCATED;
        /// What a missing (absent or ill-typed) placeholder value renders as.
        REASON_MISSING: &str = warrant_lang::reason::MISSING;
        /// Between the elements of a set value, sorted by their UTF-8 bytes.
        REASON_SET_SEPARATOR: &str = warrant_lang::reason::SET_SEPARATOR;
    }
    "decide" {
        /// `warrant_decide` result: allowed.
        DECIDE_ALLOW: i32 = 1;
        /// `warrant_decide` result: denied (default deny, or a deny rule fired).
        DECIDE_DENY: i32 = 0;
        /// `warrant_decide` error: the output area is outside memory.
        ERR_OUTPUT_OUT_OF_BOUNDS: i32 = -1;
        /// `warrant_decide` error: the data image header, slot table or string table is outside memory.
        ERR_DATA_IMAGE_OUT_OF_BOUNDS: i32 = -2;
        /// `warrant_decide` error: the request image header, slot table, string table or chain is
        /// outside memory.
        ERR_REQUEST_IMAGE_OUT_OF_BOUNDS: i32 = -3;
        /// `warrant_decide` error: a set, table or string an image points to is outside memory.
        ERR_VALUE_OUT_OF_BOUNDS: i32 = -4;
        /// `warrant_decide` error: a string id is neither a literal, a data string nor a request string.
        ERR_BAD_STRING_ID: i32 = -5;
    }
    "output" {
        /// A rule function's result when its body is false.
        TRUTH_FALSE: i32 = 0;
        /// A rule function's result when its body is true. Undecided is `1 + k`, `k` indexing
        /// the manifest's `undecided`: the order `false < undecided(k) < true` makes a
        /// conjunction the unsigned minimum and a disjunction the maximum.
        TRUTH_TRUE: i32 = i32::MAX;
        /// Output entry of a deny rule that fired with a true body (else the message index `k`).
        FIRED_DECIDED: i32 = -1;
        /// Bytes of one little-endian u32 word of the fired bitmap (32 rules) and of one i32
        /// output entry.
        OUTPUT_WORD_SIZE: u32 = 4;
    }
    "ids" {
        /// The id of a missing string (and the "missing" marker of every i32 id field).
        MISSING_ID: i32 = -1;
        /// Images start at 16-aligned addresses and their lengths are multiples of 16, so the host can
        /// place the request right after the data image and the output right after the request.
        IMAGE_ALIGN: u32 = 16;
        /// Bytes of one string-table entry: i32 pointer, i32 byte length.
        STRING_ENTRY_SIZE: u32 = 8;
        /// String-table entry: u32 pointer to the string's UTF-8 bytes.
        STRING_ENTRY_PTR: u32 = 0;
        /// String-table entry: u32 byte length.
        STRING_ENTRY_LEN: u32 = 4;
        /// Bytes of one id in a set or key array.
        ID_SIZE: u32 = 4;
    }
    "cell" {
        /// Size of one slot cell (slot tables and data-table value arrays).
        CELL_SIZE: u32 = 16;
        /// `Str` cell: i32 string id (`-1` missing).
        CELL_STR_ID: u32 = 0;
        /// `Int` cell: i32 present flag (1 present, 0 missing).
        CELL_INT_PRESENT: u32 = 0;
        /// `Int` cell: i64 value.
        CELL_INT_VALUE: u32 = 8;
        /// `Bool` cell: i32 0 false, 1 true, -1 missing.
        CELL_BOOL: u32 = 0;
        /// `StrSet` cell: i32 pointer to the sorted unique ids.
        CELL_SET_PTR: u32 = 0;
        /// `StrSet` cell: i32 element count (`-1` missing).
        CELL_SET_LEN: u32 = 4;
        /// `DataTable` cell: i32 pointer to the sorted unique key ids.
        CELL_TABLE_KEYS: u32 = 0;
        /// `DataTable` cell: i32 pointer to `len` value cells of `CELL_SIZE` bytes.
        CELL_TABLE_VALS: u32 = 4;
        /// `DataTable` cell: i32 entry count.
        CELL_TABLE_LEN: u32 = 8;
    }
    "request" {
        /// Request image: u32 `R`, the number of request strings.
        REQ_STRING_COUNT: u32 = 0;
        /// Request image: u32 pointer to the request string table (`R` string-table entries).
        REQ_STRING_TABLE: u32 = 4;
        /// Request image: u32 `N`, the length of the delegation chain.
        REQ_CHAIN_LEN: u32 = 8;
        /// Request image: u32 pointer to the `N` actor records, delegation order.
        REQ_CHAIN_PTR: u32 = 12;
        /// Request image: offset of the slot table (one cell per slot); also the header's size.
        REQ_SLOTS: u32 = 16;
    }
    "data" {
        /// Data image: u32 `D`, the number of data strings.
        DATA_STRING_COUNT: u32 = 0;
        /// Data image: u32 pointer to the data string table (`D` string-table entries).
        DATA_STRING_TABLE: u32 = 4;
        /// Data image: offset of the slot table (one cell per slot); also the header's size.
        DATA_SLOTS: u32 = 8;
    }
    "actor" {
        /// Bytes of the fixed part of one actor record: three i32 string ids and 4 bytes of
        /// padding. The record goes on with one cell (`CELL_SIZE` bytes) per `actor_claim` slot
        /// of the manifest, in slot order; so the records' stride is
        /// `ACTOR_RECORD_SIZE + CELL_SIZE * (number of actor_claim slots)`.
        ACTOR_RECORD_SIZE: u32 = 16;
        /// Actor record: `sub` id.
        ACTOR_SUB: u32 = 0;
        /// Actor record: `client_id` id.
        ACTOR_CLIENT_ID: u32 = 4;
        /// Actor record: `instance` id.
        ACTOR_INSTANCE: u32 = 8;
    }
    "limits" {
        /// Largest request image the encoder produces; tokens are kilobytes, so more is hostile.
        MAX_REQUEST_IMAGE_BYTES: usize = 1 << 20;
        /// Largest data image the encoder produces.
        MAX_DATA_IMAGE_BYTES: usize = 1 << 30;
        /// Data keys of the host's revocation lists: enforced on every hop before the policy
        /// runs, and read by a policy as the empty set when the document has none.
        REVOCATION_LISTS: [&str; 3] = warrant_lang::ir::REVOCATION_LISTS;
    }
}

/// Why an image could not be built or a module not accepted. Each is a deny at the engine.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AbiError {
    /// [`read_manifest`] could not parse the bytes as a Wasm module; holds the parser's message.
    #[error("not a valid Wasm module: {0}")]
    InvalidModule(String),
    /// The module parses but has no [`MANIFEST_SECTION`] custom section, so it is not a Warrant policy.
    #[error("module has no `{MANIFEST_SECTION}` custom section")]
    MissingManifest,
    /// The manifest JSON is malformed, names an unknown request field or repeats a literal; holds
    /// what was wrong.
    #[error("invalid manifest: {0}")]
    InvalidManifest(String),
    /// The manifest's ABI major version is not [`ABI_VERSION_MAJOR`]: the images' layout may differ.
    #[error("module ABI major version {found} is not the host's {ABI_VERSION_MAJOR}")]
    IncompatibleAbi {
        /// The major version the module's manifest declares.
        found: u16,
    },
    /// The request image (or its strings and string ids) would exceed [`MAX_REQUEST_IMAGE_BYTES`].
    #[error("request image exceeds {MAX_REQUEST_IMAGE_BYTES} bytes")]
    RequestTooLarge,
    /// The data document contradicts a type the policy reads (for instance a string where it
    /// reads a set).
    #[error("data does not fit the policy: {0}")]
    DataShape(#[from] warrant_lang::data_shape::DataShapeError),
    /// The data image (or its strings and string ids) would exceed [`MAX_DATA_IMAGE_BYTES`].
    #[error("data image exceeds {MAX_DATA_IMAGE_BYTES} bytes")]
    DataTooLarge,
    /// An address inside the image, or its end, would not fit in 32-bit linear memory at the
    /// requested base.
    #[error("image does not fit in 32-bit linear memory")]
    AddressOverflow,
    /// The requested image base is not [`IMAGE_ALIGN`]-aligned; holds that base.
    #[error("image base {0:#x} is not {IMAGE_ALIGN}-byte aligned")]
    MisalignedBase(u32),
    /// The request image's base lies below [`DataImage::end`], so it would overwrite the data image.
    #[error("request image base must not overlap the data image")]
    OverlapsDataImage,
    /// The request encoder was given a data image built from another manifest (its source hash
    /// or literal count differs), whose string ids would be wrong.
    #[error("data image was built for another policy")]
    DataImageMismatch,
}

/// Bytes from one actor record to the next in the request image: the fixed part, then one
/// cell per `Source::ActorClaim` slot of `slots` (the guest and every encoder use this).
pub fn actor_record_stride(slots: &[warrant_lang::ir::Slot]) -> Option<u32> {
    let claims = slots.iter().filter(|s| matches!(s.source, warrant_lang::ir::Source::ActorClaim(_))).count();
    u32::try_from(claims).ok()?.checked_mul(CELL_SIZE)?.checked_add(ACTOR_RECORD_SIZE)
}

/// Number of little-endian u32 words of the fired bitmap for `rule_count` rules.
pub fn output_words(rule_count: usize) -> usize {
    rule_count.div_ceil(32)
}

/// Bytes of the output area: the fired bitmap, then one i32 per rule that the guest writes for
/// each fired deny rule ([`FIRED_DECIDED`], or the index of its [`Manifest::undecided`] message).
pub fn output_bytes(rule_count: usize) -> usize {
    (output_words(rule_count) + rule_count) * OUTPUT_WORD_SIZE as usize
}

/// The undecided deny rules among `fired`, with their messages, read from the output area.
/// An entry that is neither [`FIRED_DECIDED`] nor a valid index is an error: the guest broke
/// the contract, so nothing it reported can be trusted.
pub fn decode_undecided(output: &[u8], manifest: &Manifest, fired: &[RuleId]) -> Option<Vec<(RuleId, String)>> {
    let entries = output.get(output_words(manifest.rules.len()) * OUTPUT_WORD_SIZE as usize..)?;
    let mut undecided = Vec::new();
    for &id in fired {
        if !matches!(manifest.rules.get(id as usize)?.kind, RuleKind::Deny { .. }) {
            continue;
        }
        let at = id as usize * OUTPUT_WORD_SIZE as usize;
        let entry = i32::from_le_bytes(entries.get(at..at + OUTPUT_WORD_SIZE as usize)?.try_into().ok()?);
        if entry != FIRED_DECIDED {
            let message = manifest.undecided.get(usize::try_from(entry).ok()?)?;
            undecided.push((id, message.clone()));
        }
    }
    Some(undecided)
}

/// Ids of the allow and deny rules whose bit is set in the output area, ascending.
/// Bits beyond `words` read as unset; helper rules never count as fired.
pub fn decode_fired(words: &[u8], manifest: &Manifest) -> Vec<RuleId> {
    let mut fired = Vec::new();
    for (index, rule) in manifest.rules.iter().enumerate() {
        if rule.kind == RuleKind::Helper {
            continue;
        }
        let word_start = (index / 32) * OUTPUT_WORD_SIZE as usize;
        let word = words.get(word_start..word_start + OUTPUT_WORD_SIZE as usize).and_then(|w| w.try_into().ok());
        let Some(word) = word.map(u32::from_le_bytes) else { break };
        if word & (1 << (index % 32)) != 0 {
            // Rule counts are bounded by the manifest, which fits in memory as u32 ids.
            if let Ok(id) = RuleId::try_from(index) {
                fired.push(id);
            }
        }
    }
    fired
}

/// Rounds `offset` up to [`IMAGE_ALIGN`]; `None` if that leaves 32-bit memory.
pub fn align_image(offset: u32) -> Option<u32> {
    offset.checked_add(IMAGE_ALIGN - 1).map(|v| v & !(IMAGE_ALIGN - 1))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use warrant_lang::ir::{Program, Rule};

    fn manifest_with(kinds: &[RuleKind]) -> Manifest {
        let rules = kinds
            .iter()
            .enumerate()
            .map(|(i, kind)| Rule {
                name: format!("r{i}"),
                kind: kind.clone(),
                body: vec![],
                body_text: vec![],
                line: 1,
            })
            .collect();
        let program = Program {
            package: "p".into(),
            source_hash: "h".into(),
            literals: vec![],
            slots: vec![],
            rules,
            reason_templates: Default::default(),
        };
        Manifest::from_program(&program)
    }

    #[test]
    fn version_word_packs_major_and_minor() {
        assert_eq!(ABI_VERSION_WORD >> 16, i32::from(ABI_VERSION_MAJOR));
        assert_eq!(ABI_VERSION_WORD & 0xffff, i32::from(ABI_VERSION_MINOR));
    }

    #[test]
    fn output_words_rounds_up() {
        assert_eq!(output_words(0), 0);
        assert_eq!(output_words(1), 1);
        assert_eq!(output_words(32), 1);
        assert_eq!(output_words(33), 2);
    }

    #[test]
    fn decode_fired_skips_helpers_and_reads_second_word() {
        let mut kinds = vec![RuleKind::Allow; 34];
        kinds[1] = RuleKind::Helper;
        let manifest = manifest_with(&kinds);
        let mut words = vec![0u8; 8];
        words[0] = 0b11; // rules 0 and 1 (1 is a helper)
        words[4] = 0b10; // rule 33
        assert_eq!(decode_fired(&words, &manifest), vec![0, 33]);
        assert_eq!(decode_fired(&words[..4], &manifest), vec![0]);
    }

    #[test]
    fn align_image_rounds_up_and_detects_overflow() {
        assert_eq!(align_image(0), Some(0));
        assert_eq!(align_image(1), Some(16));
        assert_eq!(align_image(32), Some(32));
        assert_eq!(align_image(u32::MAX), None);
    }
}
