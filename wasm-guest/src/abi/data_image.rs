//! The data image: the data document's slots laid out once per data version, plus the string
//! ids every later request is interned against.
use std::hash::BuildHasher;

use foldhash::fast::RandomState;
use hashbrown::HashTable;
use serde_json::Value;
use warrant_lang::data_shape::sorted_entries;
use warrant_lang::ir::{Source, Ty};

use super::coerce::{json_cell, walk, Intern};
use super::image::{Cell, ImageBuf};
use super::MAX_DATA_IMAGE_BYTES;
use super::{AbiError, Manifest, CELL_SIZE, DATA_SLOTS, DATA_STRING_COUNT, DATA_STRING_TABLE};

/// What a revocation list the document lacks reads as ([`warrant_lang::ir::Slot::absent_is_empty`]).
static EMPTY_LIST: Value = Value::Array(Vec::new());

/// A data image ready to be copied to guest memory at [`DataImage::base`].
#[derive(Debug, Clone)]
pub struct DataImage {
    /// Every literal and data string, by id.
    pub(super) ids: StringIds,
    /// `L + D`: the first id free for request strings.
    pub(super) string_count: u32,
    /// Which policy the ids were assigned for.
    pub(super) source_hash: String,
    pub(super) literal_count: usize,
    bytes: Vec<u8>,
    base: u32,
}

/// Literal and data strings -> their ids. The hasher is keyed with a random per-process seed
/// (request strings are attacker-controlled, so the table must resist HashDoS) and its hash is
/// exposed so the request encoder hashes each request string once, for this lookup and for its
/// own deduplication.
#[derive(Debug, Clone, Default)]
pub(super) struct StringIds {
    hasher: RandomState,
    /// `(hash, string, id)`; the hash is kept so growing the table needs no rehashing.
    table: HashTable<(u64, Box<str>, u32)>,
}

impl StringIds {
    /// The keyed hash of `text`, valid for this table and for tables keyed alike.
    pub(super) fn hash(&self, text: &str) -> u64 {
        self.hasher.hash_one(text)
    }

    /// The id of `text`, whose hash is `hash`.
    pub(super) fn get(&self, hash: u64, text: &str) -> Option<u32> {
        self.table.find(hash, |(h, s, _)| *h == hash && **s == *text).map(|(_, _, id)| *id)
    }

    /// Gives `text` the id `id`; the caller has checked it has none yet.
    fn insert_new(&mut self, hash: u64, text: &str, id: u32) {
        self.table.insert_unique(hash, (hash, text.into(), id), |(h, _, _)| *h);
    }
}

/// Interns data strings after the literals, remembering their order for the string table.
struct DataInterner<'v> {
    ids: StringIds,
    strings: Vec<&'v str>,
    literal_count: usize,
}

impl<'v> Intern<'v> for DataInterner<'v> {
    fn intern(&mut self, text: &'v str) -> Result<u32, AbiError> {
        let hash = self.ids.hash(text);
        if let Some(id) = self.ids.get(hash, text) {
            return Ok(id);
        }
        let id = self
            .literal_count
            .checked_add(self.strings.len())
            .filter(|&id| id <= i32::MAX as usize)
            .and_then(|id| u32::try_from(id).ok())
            .ok_or(AbiError::DataTooLarge)?;
        self.ids.insert_new(hash, text, id);
        self.strings.push(text);
        Ok(id)
    }
}

impl DataImage {
    /// Lays out the data slots of `manifest` read from `data`, for placement at `base`
    /// (16-aligned; normally the module's `warrant_heap_base`).
    /// A document whose shape contradicts the types the policy reads is refused
    /// ([`AbiError::DataShape`]).
    pub fn build(manifest: &Manifest, data: &Value, base: u32) -> Result<DataImage, AbiError> {
        warrant_lang::data_shape::check_data_shape(&manifest.slots, data)?;
        let literal_count = manifest.literals.len();
        let mut ids = StringIds::default();
        for (id, literal) in manifest.literals.iter().enumerate() {
            let id = u32::try_from(id).map_err(|_| AbiError::DataTooLarge)?;
            let hash = ids.hash(literal);
            // `Manifest::from_json` refuses duplicate literals; keep the first id regardless.
            if ids.get(hash, literal).is_none() {
                ids.insert_new(hash, literal, id);
            }
        }
        let mut interner = DataInterner { ids, strings: Vec::new(), literal_count };
        let mut bytes = Vec::new();
        let mut image = ImageBuf::new(&mut bytes, base, MAX_DATA_IMAGE_BYTES, AbiError::DataTooLarge)?;
        let header = image.reserve(DATA_SLOTS as usize)?;
        let cells = image.reserve_cells(manifest.slots.len())?;
        let mut scratch = Vec::new();
        for (index, slot) in manifest.slots.iter().enumerate() {
            let cell = match &slot.source {
                Source::Data(path) => {
                    let value = walk(data, path).or_else(|| slot.absent_is_empty().then_some(&EMPTY_LIST));
                    json_cell(&mut image, &mut interner, &mut scratch, value, slot.ty, false)?
                }
                Source::DataTable { table, field } => {
                    table_cell(&mut image, &mut interner, &mut scratch, walk(data, table), field, slot.ty)?
                }
                Source::Field(_) | Source::Claim(_) | Source::Context(_) | Source::ActorClaim(_) => {
                    Cell::Missing(slot.ty)
                }
            };
            image.put_cell(cells + index * CELL_SIZE as usize, cell);
        }
        let table = image.append_strings(interner.strings.iter().map(|s| s.as_bytes()))?;
        let count = u32::try_from(interner.strings.len()).map_err(|_| AbiError::DataTooLarge)?;
        image.put_u32(header + DATA_STRING_COUNT as usize, count);
        image.put_u32(header + DATA_STRING_TABLE as usize, table);
        let string_count = u32::try_from(literal_count + interner.strings.len()).map_err(|_| AbiError::DataTooLarge)?;
        Ok(DataImage {
            ids: interner.ids,
            string_count,
            source_hash: manifest.source_hash.clone(),
            literal_count,
            bytes,
            base,
        })
    }

    /// The image bytes, to copy to guest memory at [`DataImage::base`].
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Absolute address the image was laid out for.
    pub fn base(&self) -> u32 {
        self.base
    }

    /// First byte after the image (16-aligned): the lowest base for the request image.
    pub fn end(&self) -> u32 {
        // `build` checked that the end address is representable.
        self.base.saturating_add(self.bytes.len() as u32)
    }
}

/// A `DataTable` slot: `table` must be an object; each entry's `field` read as `ty` becomes a
/// value cell under the entry's key; entries whose value is missing are left out.
fn table_cell<'v>(
    image: &mut ImageBuf<'_>,
    interner: &mut DataInterner<'v>,
    scratch: &mut Vec<u32>,
    table: Option<&'v Value>,
    field: &[String],
    ty: Ty,
) -> Result<Cell, AbiError> {
    let Some(Value::Object(entries)) = table else {
        return Ok(Cell::Table { keys: 0, vals: 0, len: 0 });
    };
    let mut rows = Vec::with_capacity(entries.len());
    for (key, entry) in sorted_entries(entries) {
        let value = json_cell(image, interner, scratch, walk(entry, field), ty, false)?;
        if !matches!(value, Cell::Missing(_)) {
            rows.push((interner.intern(key)?, value));
        }
    }
    rows.sort_unstable_by_key(|(key, _)| *key);
    let keys: Vec<u32> = rows.iter().map(|(key, _)| *key).collect();
    let keys_ptr = image.append_ids(&keys)?;
    image.pad_to(8)?;
    let vals = image.reserve_cells(rows.len())?;
    for (index, (_, value)) in rows.iter().enumerate() {
        image.put_cell(vals + index * CELL_SIZE as usize, *value);
    }
    let len = u32::try_from(rows.len()).map_err(|_| AbiError::DataTooLarge)?;
    Ok(Cell::Table { keys: keys_ptr, vals: image.address(vals)?, len })
}
