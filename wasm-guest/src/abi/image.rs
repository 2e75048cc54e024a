//! Byte-level writing shared by the data and request images: absolute addresses, cells of the
//! slot tables, id arrays and string tables, with every size checked against a limit.
use warrant_lang::ir::Ty;

use super::{
    AbiError, CELL_BOOL, CELL_INT_PRESENT, CELL_INT_VALUE, CELL_SET_LEN, CELL_SET_PTR, CELL_SIZE, CELL_STR_ID,
    CELL_TABLE_KEYS, CELL_TABLE_LEN, CELL_TABLE_VALS, ID_SIZE, IMAGE_ALIGN, MISSING_ID, STRING_ENTRY_LEN,
    STRING_ENTRY_PTR, STRING_ENTRY_SIZE,
};

/// The value of one 16-byte cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Cell {
    /// The *missing* encoding of a value of this type.
    Missing(Ty),
    Str(u32),
    Int(i64),
    Bool(bool),
    /// A sorted unique id array already written at `ptr`.
    Set {
        ptr: u32,
        len: u32,
    },
    /// A data table whose key and value arrays are already written.
    Table {
        keys: u32,
        vals: u32,
        len: u32,
    },
}

/// An image under construction, placed at absolute address `base`.
pub(super) struct ImageBuf<'a> {
    pub(super) bytes: &'a mut Vec<u8>,
    base: u32,
    max_len: usize,
    too_large: AbiError,
}

impl<'a> ImageBuf<'a> {
    /// Starts an empty image at `base` (which must be [`IMAGE_ALIGN`]-aligned).
    pub(super) fn new(
        bytes: &'a mut Vec<u8>,
        base: u32,
        max_len: usize,
        too_large: AbiError,
    ) -> Result<Self, AbiError> {
        if base & (IMAGE_ALIGN - 1) != 0 {
            return Err(AbiError::MisalignedBase(base));
        }
        bytes.clear();
        Ok(ImageBuf { bytes, base, max_len, too_large })
    }

    /// Fails with the image's size error unless `extra` more bytes stay within the limit.
    pub(super) fn ensure_room(&self, extra: usize) -> Result<(), AbiError> {
        match self.bytes.len().checked_add(extra) {
            Some(total) if total <= self.max_len => Ok(()),
            _ => Err(self.too_large.clone()),
        }
    }

    /// Absolute address of image offset `offset`.
    pub(super) fn address(&self, offset: usize) -> Result<u32, AbiError> {
        u32::try_from(offset).ok().and_then(|o| self.base.checked_add(o)).ok_or(AbiError::AddressOverflow)
    }

    /// Appends `len` zero bytes; returns their offset.
    pub(super) fn reserve(&mut self, len: usize) -> Result<usize, AbiError> {
        self.ensure_room(len)?;
        let offset = self.bytes.len();
        self.bytes.resize(offset + len, 0);
        Ok(offset)
    }

    /// Pads with zeros to a multiple of `align` bytes.
    pub(super) fn pad_to(&mut self, align: usize) -> Result<(), AbiError> {
        let pad = (align - self.bytes.len() % align) % align;
        self.reserve(pad).map(|_| ())
    }

    pub(super) fn put_u32(&mut self, offset: usize, value: u32) {
        self.put(offset, &value.to_le_bytes());
    }

    fn put_i32(&mut self, offset: usize, value: i32) {
        self.put(offset, &value.to_le_bytes());
    }

    fn put(&mut self, offset: usize, value: &[u8]) {
        if let Some(target) = self.bytes.get_mut(offset..offset + value.len()) {
            target.copy_from_slice(value);
        }
    }

    /// Appends `ids` as little-endian u32s; returns their absolute address.
    pub(super) fn append_ids(&mut self, ids: &[u32]) -> Result<u32, AbiError> {
        let offset = self.reserve(ids.len() * ID_SIZE as usize)?;
        for (i, id) in ids.iter().enumerate() {
            self.put_u32(offset + i * ID_SIZE as usize, *id);
        }
        self.address(offset)
    }

    /// Writes `cell` at image offset `offset` (which was reserved).
    pub(super) fn put_cell(&mut self, offset: usize, cell: Cell) {
        let at = |field: u32| offset + field as usize;
        match cell {
            Cell::Missing(Ty::Str) => self.put_i32(at(CELL_STR_ID), MISSING_ID),
            Cell::Missing(Ty::Int) => self.put_u32(at(CELL_INT_PRESENT), 0),
            Cell::Missing(Ty::Bool) => self.put_i32(at(CELL_BOOL), MISSING_ID),
            Cell::Missing(Ty::StrSet) => self.put_i32(at(CELL_SET_LEN), MISSING_ID),
            Cell::Str(id) => self.put_u32(at(CELL_STR_ID), id),
            Cell::Int(value) => {
                self.put_u32(at(CELL_INT_PRESENT), 1);
                self.put(at(CELL_INT_VALUE), &value.to_le_bytes());
            }
            Cell::Bool(value) => self.put_u32(at(CELL_BOOL), u32::from(value)),
            Cell::Set { ptr, len } => {
                self.put_u32(at(CELL_SET_PTR), ptr);
                self.put_u32(at(CELL_SET_LEN), len);
            }
            Cell::Table { keys, vals, len } => {
                self.put_u32(at(CELL_TABLE_KEYS), keys);
                self.put_u32(at(CELL_TABLE_VALS), vals);
                self.put_u32(at(CELL_TABLE_LEN), len);
            }
        }
    }

    /// Reserves `count` cells; returns the offset of the first.
    pub(super) fn reserve_cells(&mut self, count: usize) -> Result<usize, AbiError> {
        let len = count.checked_mul(CELL_SIZE as usize).ok_or_else(|| self.too_large.clone())?;
        self.reserve(len)
    }

    /// Appends a string table (`(ptr, len)` pairs) followed by the strings' bytes, then pads the
    /// image to [`IMAGE_ALIGN`]. Returns the table's absolute address.
    pub(super) fn append_strings<'s>(
        &mut self,
        strings: impl ExactSizeIterator<Item = &'s [u8]>,
    ) -> Result<u32, AbiError> {
        let table = self.reserve(strings.len() * STRING_ENTRY_SIZE as usize)?;
        for (i, text) in strings.enumerate() {
            let start = self.reserve(text.len())?;
            self.put(start, text);
            let ptr = self.address(start)?;
            let len = u32::try_from(text.len()).map_err(|_| self.too_large.clone())?;
            let entry = table + i * STRING_ENTRY_SIZE as usize;
            self.put_u32(entry + STRING_ENTRY_PTR as usize, ptr);
            self.put_u32(entry + STRING_ENTRY_LEN as usize, len);
        }
        self.pad_to(IMAGE_ALIGN as usize)?;
        // The end address must be representable too: the host places the next image there.
        self.address(self.bytes.len())?;
        self.address(table)
    }
}

/// Sorts and deduplicates `ids` (the order the guest's binary search needs), appends them
/// and returns the set's cell.
pub(super) fn set_cell(image: &mut ImageBuf<'_>, ids: &mut Vec<u32>) -> Result<Cell, AbiError> {
    ids.sort_unstable();
    ids.dedup();
    let ptr = image.append_ids(ids)?;
    let len = u32::try_from(ids.len()).map_err(|_| image.too_large.clone())?;
    Ok(Cell::Set { ptr, len })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn cells_have_the_documented_layout() {
        let mut bytes = Vec::new();
        let mut image = ImageBuf::new(&mut bytes, 32, 1024, AbiError::RequestTooLarge).unwrap();
        let at = image.reserve_cells(4).unwrap();
        image.put_cell(at, Cell::Int(-2));
        image.put_cell(at + 16, Cell::Set { ptr: 7, len: 3 });
        image.put_cell(at + 32, Cell::Missing(Ty::StrSet));
        image.put_cell(at + 48, Cell::Missing(Ty::Bool));
        assert_eq!(&bytes[0..4], &1u32.to_le_bytes());
        assert_eq!(&bytes[8..16], &(-2i64).to_le_bytes());
        assert_eq!(&bytes[16..24], &[7, 0, 0, 0, 3, 0, 0, 0]);
        assert_eq!(&bytes[36..40], &(-1i32).to_le_bytes());
        assert_eq!(&bytes[48..52], &(-1i32).to_le_bytes());
    }

    #[test]
    fn strings_get_absolute_pointers_and_image_is_padded() {
        let mut bytes = Vec::new();
        let mut image = ImageBuf::new(&mut bytes, 64, 1024, AbiError::RequestTooLarge).unwrap();
        let texts: [&[u8]; 2] = [b"ab", b"c"];
        let table = image.append_strings(texts.iter().copied()).unwrap();
        assert_eq!(table, 64);
        assert_eq!(&bytes[0..8], &[80, 0, 0, 0, 2, 0, 0, 0]);
        assert_eq!(&bytes[8..16], &[82, 0, 0, 0, 1, 0, 0, 0]);
        assert_eq!(&bytes[16..19], b"abc");
        assert_eq!(bytes.len(), 32);
    }

    #[test]
    fn limits_alignment_and_address_space_are_enforced() {
        let mut bytes = Vec::new();
        assert_eq!(
            ImageBuf::new(&mut bytes, 8, 1024, AbiError::RequestTooLarge).err(),
            Some(AbiError::MisalignedBase(8))
        );
        let mut image = ImageBuf::new(&mut bytes, 0, 16, AbiError::RequestTooLarge).unwrap();
        assert_eq!(image.reserve(17), Err(AbiError::RequestTooLarge));
        let image = ImageBuf::new(&mut bytes, u32::MAX - 15, 64, AbiError::RequestTooLarge).unwrap();
        assert_eq!(image.address(16), Err(AbiError::AddressOverflow));
    }
}
