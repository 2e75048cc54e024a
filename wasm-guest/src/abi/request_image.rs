//! The request image, encoded once per decision. The encoder keeps its buffers between calls
//! so that steady-state encoding does not allocate.
use hashbrown::HashTable;

use warrant_lang::ir::{Field, Source, Ty};
use warrant_lang::request::{FieldRef, Request};

use super::coerce::{json_cell, walk_claims, Intern};
use super::image::{set_cell, Cell, ImageBuf};
use super::{
    actor_record_stride, AbiError, DataImage, Manifest, ACTOR_CLIENT_ID, ACTOR_INSTANCE, ACTOR_RECORD_SIZE, ACTOR_SUB,
    CELL_SIZE, MAX_REQUEST_IMAGE_BYTES, MISSING_ID, REQ_CHAIN_LEN, REQ_CHAIN_PTR, REQ_SLOTS, REQ_STRING_COUNT,
    REQ_STRING_TABLE, STRING_ENTRY_SIZE,
};

/// Encodes requests into images; reuse one per thread.
#[derive(Debug, Default)]
pub struct RequestEncoder {
    image: Vec<u8>,
    strings: RequestStrings,
    set_ids: Vec<u32>,
}

/// The strings of the current request that are neither literals nor data strings.
#[derive(Debug, Default)]
struct RequestStrings {
    bytes: Vec<u8>,
    /// `(start, len)` in `bytes` of request string `i`.
    spans: Vec<(usize, usize)>,
    /// `(hash, i)` for request string `i`, hashed by [`super::data_image::StringIds::hash`].
    by_hash: HashTable<(u64, u32)>,
}

impl RequestStrings {
    fn clear(&mut self) {
        self.bytes.clear();
        self.spans.clear();
        self.by_hash.clear();
    }

    fn get(&self, index: u32) -> &[u8] {
        let (start, len) = self.spans.get(index as usize).copied().unwrap_or_default();
        self.bytes.get(start..start + len).unwrap_or_default()
    }

    /// Index of `text` (whose hash is `hash`) among the request strings, adding it if new.
    fn index_of(&mut self, hash: u64, text: &str) -> Result<u32, AbiError> {
        let same = |&(h, index): &(u64, u32)| h == hash && self.get(index) == text.as_bytes();
        if let Some(&(_, index)) = self.by_hash.find(hash, same) {
            return Ok(index);
        }
        let table_bytes = (self.spans.len() + 1) * STRING_ENTRY_SIZE as usize;
        if self.bytes.len() + text.len() + table_bytes > MAX_REQUEST_IMAGE_BYTES {
            return Err(AbiError::RequestTooLarge);
        }
        let index = u32::try_from(self.spans.len()).map_err(|_| AbiError::RequestTooLarge)?;
        self.spans.push((self.bytes.len(), text.len()));
        self.bytes.extend_from_slice(text.as_bytes());
        self.by_hash.insert_unique(hash, (hash, index), |&(h, _)| h);
        Ok(index)
    }
}

/// Literal and data strings keep their ids; other strings get fresh ids after `L + D`.
struct RequestInterner<'e> {
    data: &'e DataImage,
    strings: &'e mut RequestStrings,
}

impl<'v> Intern<'v> for RequestInterner<'_> {
    fn intern(&mut self, text: &'v str) -> Result<u32, AbiError> {
        let hash = self.data.ids.hash(text);
        if let Some(id) = self.data.ids.get(hash, text) {
            return Ok(id);
        }
        let index = self.strings.index_of(hash, text)?;
        self.data.string_count.checked_add(index).filter(|&id| id <= i32::MAX as u32).ok_or(AbiError::RequestTooLarge)
    }
}

impl RequestEncoder {
    /// An encoder with empty buffers; they grow to the largest request seen and are then reused.
    pub fn new() -> Self {
        RequestEncoder::default()
    }

    /// Encodes `request` as an image placed at `base`; returns the bytes to copy there.
    /// `base` must be 16-aligned and not below `data.end()`.
    pub fn encode(
        &mut self,
        manifest: &Manifest,
        data: &DataImage,
        request: &Request,
        base: u32,
    ) -> Result<&[u8], AbiError> {
        if data.source_hash != manifest.source_hash || data.literal_count != manifest.literals.len() {
            return Err(AbiError::DataImageMismatch);
        }
        if base < data.end() {
            return Err(AbiError::OverlapsDataImage);
        }
        self.strings.clear();
        let mut interner = RequestInterner { data, strings: &mut self.strings };
        let mut image = ImageBuf::new(&mut self.image, base, MAX_REQUEST_IMAGE_BYTES, AbiError::RequestTooLarge)?;
        let header = image.reserve(REQ_SLOTS as usize)?;
        let cells = image.reserve_cells(manifest.slots.len())?;
        let stride = actor_record_stride(&manifest.slots).ok_or(AbiError::RequestTooLarge)? as usize;
        let chain_bytes = request.chain.len().saturating_mul(stride);
        let chain = image.reserve(chain_bytes)?;
        for (index, actor) in request.chain.iter().enumerate() {
            let record = chain + index * stride;
            for (offset, value) in
                [(ACTOR_SUB, &actor.sub), (ACTOR_CLIENT_ID, &actor.client_id), (ACTOR_INSTANCE, &actor.instance)]
            {
                let id = optional_id(&mut interner, value.as_deref())?;
                image.put_u32(record + offset as usize, id);
            }
            // One cell per actor-claim slot, in slot order, after the ids.
            let claim_paths = manifest.slots.iter().filter_map(|slot| match &slot.source {
                Source::ActorClaim(path) => Some((path, slot.ty)),
                _ => None,
            });
            for (claim, (path, ty)) in claim_paths.enumerate() {
                let value = walk_claims(&actor.claims, path);
                let cell = json_cell(&mut image, &mut interner, &mut self.set_ids, value, ty, true)?;
                image.put_cell(record + ACTOR_RECORD_SIZE as usize + claim * CELL_SIZE as usize, cell);
            }
        }
        image.pad_to(8)?;
        for (index, slot) in manifest.slots.iter().enumerate() {
            let cell = match &slot.source {
                Source::Field(field) => {
                    field_cell(&mut image, &mut interner, &mut self.set_ids, request, *field, slot.ty)?
                }
                Source::Claim(path) => json_cell(
                    &mut image,
                    &mut interner,
                    &mut self.set_ids,
                    walk_claims(&request.claims, path),
                    slot.ty,
                    true,
                )?,
                Source::Context(path) => json_cell(
                    &mut image,
                    &mut interner,
                    &mut self.set_ids,
                    walk_claims(&request.context, path),
                    slot.ty,
                    false,
                )?,
                // Actor claims live in the actor records; data in the data image.
                Source::Data(_) | Source::DataTable { .. } | Source::ActorClaim(_) => Cell::Missing(slot.ty),
            };
            image.put_cell(cells + index * CELL_SIZE as usize, cell);
        }
        let strings = &*interner.strings;
        let table = image.append_strings((0..strings.spans.len() as u32).map(|i| strings.get(i)))?;
        let chain_len = u32::try_from(request.chain.len()).map_err(|_| AbiError::RequestTooLarge)?;
        let string_count = u32::try_from(strings.spans.len()).map_err(|_| AbiError::RequestTooLarge)?;
        let chain_ptr = image.address(chain)?;
        image.put_u32(header + REQ_STRING_COUNT as usize, string_count);
        image.put_u32(header + REQ_STRING_TABLE as usize, table);
        image.put_u32(header + REQ_CHAIN_LEN as usize, chain_len);
        image.put_u32(header + REQ_CHAIN_PTR as usize, chain_ptr);
        Ok(&self.image)
    }
}

/// The id of an optional string, [`MISSING_ID`] (as u32) when absent.
fn optional_id(interner: &mut RequestInterner<'_>, text: Option<&str>) -> Result<u32, AbiError> {
    match text {
        Some(text) => interner.intern(text),
        None => Ok(MISSING_ID as u32),
    }
}

/// The cell of a vocabulary field; a slot typed differently from its field reads as missing.
fn field_cell(
    image: &mut ImageBuf<'_>,
    interner: &mut RequestInterner<'_>,
    set_ids: &mut Vec<u32>,
    request: &Request,
    field: Field,
    ty: Ty,
) -> Result<Cell, AbiError> {
    if field.ty() != ty {
        return Ok(Cell::Missing(ty));
    }
    match request.field(field) {
        FieldRef::Str(text) => str_cell(interner, text.as_deref()),
        FieldRef::StrSet(items) => list_cell(image, interner, set_ids, items.as_deref()),
        FieldRef::Int(n) => Ok(n.map_or(Cell::Missing(ty), Cell::Int)),
    }
}

fn str_cell(interner: &mut RequestInterner<'_>, text: Option<&str>) -> Result<Cell, AbiError> {
    Ok(match text {
        Some(text) => Cell::Str(interner.intern(text)?),
        None => Cell::Missing(Ty::Str),
    })
}

fn list_cell(
    image: &mut ImageBuf<'_>,
    interner: &mut RequestInterner<'_>,
    set_ids: &mut Vec<u32>,
    items: Option<&[String]>,
) -> Result<Cell, AbiError> {
    let Some(items) = items else { return Ok(Cell::Missing(Ty::StrSet)) };
    set_ids.clear();
    for item in items {
        set_ids.push(interner.intern(item)?);
    }
    set_cell(image, set_ids)
}
