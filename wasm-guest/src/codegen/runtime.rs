//! The guest's runtime helpers: bounds checks, string lookup by id, byte and glob matching,
//! binary search over sorted ids. Hand-written Wasm, emitted once per module before the rules.
//! None of them allocates or writes memory; malformed host images set the error global.
use wasm_encoder::{BlockType, Function, Instruction as I, ValType};

use super::code::Code;
use super::GLOBAL_ERROR;
use super::GLOBAL_MEMORY_END;
use crate::abi::{
    CELL_SIZE, CELL_TABLE_KEYS, CELL_TABLE_LEN, CELL_TABLE_VALS, DATA_STRING_COUNT, DATA_STRING_TABLE,
    ERR_BAD_STRING_ID, ERR_VALUE_OUT_OF_BOUNDS, ID_SIZE, REQ_STRING_COUNT, REQ_STRING_TABLE, STRING_ENTRY_SIZE,
};

/// `(ptr, count, size, error) -> ok`: whether `ptr + count * size` bytes lie in memory (in
/// 64-bit arithmetic, so nothing wraps); otherwise sets the error global to `error`.
pub(super) const FN_CHECK_BOUNDS: u32 = 0;
/// `(id, data_ptr, req_ptr) -> entry`: address of the `(ptr, len)` entry of string `id`, its
/// bytes checked in bounds; the static empty entry (and an error) when `id` is unknown.
pub(super) const FN_STRING_ENTRY: u32 = 1;
/// `(a, b, n) -> eq`: `n` bytes at `a` equal those at `b`.
pub(super) const FN_BYTES_EQ: u32 = 2;
/// `(a, b, n) -> eq`: `n` i32 words at `a` equal those at `b`.
pub(super) const FN_WORDS_EQ: u32 = 3;
/// `(ptr, len, lit_ptr, lit_len) -> bool`: the string starts with the literal.
pub(super) const FN_STARTS_WITH: u32 = 4;
/// `(ptr, len, lit_ptr, lit_len) -> bool`: the string ends with the literal.
pub(super) const FN_ENDS_WITH: u32 = 5;
/// `(ptr, len, glob_ptr, glob_len) -> bool`: the string matches the glob (`*` = any bytes).
pub(super) const FN_GLOB_MATCH: u32 = 6;
/// `(ptr, len, id) -> index`: binary search of `id` in a sorted id array, `-1` if absent.
pub(super) const FN_SORTED_INDEX: u32 = 7;
/// `(a_ptr, a_len, b_ptr, b_len) -> bool`: every id of set `a` is in set `b`.
pub(super) const FN_SUBSET: u32 = 8;
/// `(a_ptr, a_len, b_ptr, b_len) -> bool`: the sets are equal (sorted unique arrays).
pub(super) const FN_SET_EQ: u32 = 9;
/// `(table_cell, key) -> value_cell`: the value cell of `key` in a data table, `-1` if absent.
pub(super) const FN_TABLE_FIND: u32 = 10;
/// `(a, b, n, folds) -> eq`: `n` bytes at `a` equal those at `b` after ASCII case mapping,
/// `folds & 3` for `a`'s bytes and `folds >> 2` for `b`'s ([`FOLD_NONE`], [`FOLD_LOWER`],
/// [`FOLD_UPPER`]): `lower`/`upper` compared without building the mapped string.
pub(super) const FN_BYTES_EQ_FOLD: u32 = 11;
/// `(a_ptr, a_len, b_ptr, b_len) -> bool`: the sets share an id.
pub(super) const FN_INTERSECTS: u32 = 12;
/// `(a_ptr, a_len, b_ptr, b_len) -> count`: how many ids of set `a` are in set `b`.
pub(super) const FN_COUNT_COMMON: u32 = 13;
/// Number of runtime helpers; rule functions follow them.
pub(super) const RUNTIME_FUNCTION_COUNT: u32 = 14;

/// [`FN_BYTES_EQ_FOLD`] mapping: bytes as they are.
pub(super) const FOLD_NONE: i32 = 0;
/// [`FN_BYTES_EQ_FOLD`] mapping: `A`–`Z` read as `a`–`z` (`CaseMap::Lower`).
pub(super) const FOLD_LOWER: i32 = 1;
/// [`FN_BYTES_EQ_FOLD`] mapping: `a`–`z` read as `A`–`Z` (`CaseMap::Upper`).
pub(super) const FOLD_UPPER: i32 = 2;

/// Where the static string data of the module is, as the helpers need it.
pub(super) struct StaticStrings {
    pub(super) literal_count: u32,
    pub(super) literal_table: u32,
    pub(super) empty_entry: u32,
}

/// The helpers in index order, each with its parameter count (all i32, one i32 result).
pub(super) fn functions(strings: &StaticStrings) -> Vec<(u32, Function)> {
    vec![
        (4, check_bounds()),
        (3, string_entry(strings)),
        (3, equal_runs(I::I32Load8U(byte()), 1)),
        (3, equal_runs(I::I32Load(word()), ID_SIZE as i32)),
        (4, starts_with()),
        (4, ends_with()),
        (4, glob_match()),
        (3, sorted_index()),
        (4, subset()),
        (4, set_eq()),
        (2, table_find()),
        (4, bytes_eq_fold()),
        (4, common_ids(false)),
        (4, common_ids(true)),
    ]
}

fn byte() -> wasm_encoder::MemArg {
    wasm_encoder::MemArg { offset: 0, align: 0, target: Default::default(), ordering: None }
}

fn word() -> wasm_encoder::MemArg {
    wasm_encoder::MemArg { offset: 0, align: 2, target: Default::default(), ordering: None }
}

fn check_bounds() -> Function {
    let (ptr, count, size, error) = (0, 1, 2, 3);
    let mut c = Code::new(4);
    c.get(ptr).op(I::I64ExtendI32U);
    c.get(count).op(I::I64ExtendI32U).get(size).op(I::I64ExtendI32U).op(I::I64Mul);
    c.op(I::I64Add).op(I::GlobalGet(GLOBAL_MEMORY_END)).op(I::I64LeU);
    c.if_(BlockType::Result(ValType::I32));
    c.i32(1).op(I::Else);
    c.get(error).op(I::GlobalSet(GLOBAL_ERROR)).i32(0);
    c.end();
    c.finish()
}

fn string_entry(strings: &StaticStrings) -> Function {
    let (id, data, req) = (0, 1, 2);
    let mut c = Code::new(3);
    let (index, entry) = (c.local(ValType::I32), c.local(ValType::I32));
    // Literal: the static table.
    c.get(id).u32(strings.literal_count).op(I::I32LtU);
    c.if_(BlockType::Empty);
    c.get(id).u32(STRING_ENTRY_SIZE).op(I::I32Mul).u32(strings.literal_table).op(I::I32Add);
    c.op(I::Return).end();
    c.get(id).u32(strings.literal_count).op(I::I32Sub).set(index);
    let found = c.block(BlockType::Empty);
    for (image, count_at, table_at) in
        [(data, DATA_STRING_COUNT, DATA_STRING_TABLE), (req, REQ_STRING_COUNT, REQ_STRING_TABLE)]
    {
        c.get(index).get(image).load32(count_at).op(I::I32LtU);
        c.if_(BlockType::Empty);
        c.get(image).load32(table_at);
        c.get(index).u32(STRING_ENTRY_SIZE).op(I::I32Mul).op(I::I32Add).set(entry);
        c.br(found).end();
        c.get(index).get(image).load32(count_at).op(I::I32Sub).set(index);
    }
    c.i32(ERR_BAD_STRING_ID).op(I::GlobalSet(GLOBAL_ERROR));
    c.u32(strings.empty_entry).op(I::Return);
    c.end();
    c.get(entry).load32(0).get(entry).load32(4).i32(1).i32(ERR_VALUE_OUT_OF_BOUNDS);
    c.op(I::Call(FN_CHECK_BOUNDS));
    c.if_(BlockType::Result(ValType::I32));
    c.get(entry).op(I::Else).u32(strings.empty_entry);
    c.end();
    c.finish()
}

/// `(a, b, n) -> eq` comparing `n` units loaded by `load`, each `step` bytes wide.
fn equal_runs(load: I<'static>, step: i32) -> Function {
    let (a, b, n) = (0, 1, 2);
    let mut c = Code::new(3);
    let differ = c.block(BlockType::Empty);
    let next = c.loop_();
    c.get(n).op(I::I32Eqz).if_(BlockType::Empty);
    c.i32(1).op(I::Return).end();
    c.get(a).op(load.clone()).get(b).op(load).op(I::I32Ne).br_if(differ);
    c.increment(a, step).increment(b, step).increment(n, -1).br(next);
    c.end().end();
    c.i32(0);
    c.finish()
}

fn starts_with() -> Function {
    let (ptr, len, lit_ptr, lit_len) = (0, 1, 2, 3);
    let mut c = Code::new(4);
    c.get(len).get(lit_len).op(I::I32LtU).if_(BlockType::Empty);
    c.i32(0).op(I::Return).end();
    c.get(ptr).get(lit_ptr).get(lit_len).op(I::Call(FN_BYTES_EQ));
    c.finish()
}

fn ends_with() -> Function {
    let (ptr, len, lit_ptr, lit_len) = (0, 1, 2, 3);
    let mut c = Code::new(4);
    c.get(len).get(lit_len).op(I::I32LtU).if_(BlockType::Empty);
    c.i32(0).op(I::Return).end();
    c.get(ptr).get(len).op(I::I32Add).get(lit_len).op(I::I32Sub);
    c.get(lit_ptr).get(lit_len).op(I::Call(FN_BYTES_EQ));
    c.finish()
}

/// Greedy matching with backtracking to the last `*`: linear in practice, O(len * glob_len)
/// at worst, no allocation.
fn glob_match() -> Function {
    let (ptr, len, glob, glob_len) = (0, 1, 2, 3);
    let mut c = Code::new(4);
    let s = c.local(ValType::I32);
    let g = c.local(ValType::I32);
    let star = c.local(ValType::I32);
    let mark = c.local(ValType::I32);
    c.i32(-1).set(star);
    let consumed = c.block(BlockType::Empty);
    let top = c.loop_();
    c.get(s).get(len).op(I::I32GeU).br_if(consumed);
    c.get(g).get(glob_len).op(I::I32LtU).if_(BlockType::Empty);
    // `*`: remember it, first try matching the empty run.
    c.get(glob).get(g).op(I::I32Add).load8(0).i32(i32::from(b'*')).op(I::I32Eq);
    c.if_(BlockType::Empty);
    c.get(g).set(star).increment(g, 1).get(s).set(mark).br(top);
    c.end();
    // Same byte: advance both.
    c.get(glob).get(g).op(I::I32Add).load8(0).get(ptr).get(s).op(I::I32Add).load8(0).op(I::I32Eq);
    c.if_(BlockType::Empty);
    c.increment(g, 1).increment(s, 1).br(top);
    c.end();
    c.end();
    // Mismatch: let the last `*` swallow one more byte, or fail.
    c.get(star).i32(0).op(I::I32LtS).if_(BlockType::Empty);
    c.i32(0).op(I::Return).end();
    c.get(star).i32(1).op(I::I32Add).set(g);
    c.increment(mark, 1).get(mark).set(s).br(top);
    c.end().end();
    // The string is consumed: only `*`s may remain in the glob.
    let rest_done = c.block(BlockType::Empty);
    let rest = c.loop_();
    c.get(g).get(glob_len).op(I::I32GeU).br_if(rest_done);
    c.get(glob).get(g).op(I::I32Add).load8(0).i32(i32::from(b'*')).op(I::I32Ne).br_if(rest_done);
    c.increment(g, 1).br(rest);
    c.end().end();
    c.get(g).get(glob_len).op(I::I32Eq);
    c.finish()
}

fn sorted_index() -> Function {
    let (ptr, len, id) = (0, 1, 2);
    let mut c = Code::new(3);
    let low = c.local(ValType::I32);
    let high = c.local(ValType::I32);
    let mid = c.local(ValType::I32);
    let value = c.local(ValType::I32);
    c.get(len).set(high);
    let absent = c.block(BlockType::Empty);
    let top = c.loop_();
    c.get(low).get(high).op(I::I32GeU).br_if(absent);
    // Callers bounds-checked the array, so len <= 2^30 and low + high cannot wrap.
    c.get(low).get(high).op(I::I32Add).i32(1).op(I::I32ShrU).set(mid);
    c.get(ptr).get(mid).i32(2).op(I::I32Shl).op(I::I32Add).load32(0).tee(value);
    c.get(id).op(I::I32Eq).if_(BlockType::Empty);
    c.get(mid).op(I::Return).end();
    c.get(value).get(id).op(I::I32LtU).if_(BlockType::Empty);
    c.get(mid).i32(1).op(I::I32Add).set(low);
    c.op(I::Else);
    c.get(mid).set(high);
    c.end();
    c.br(top);
    c.end().end();
    c.i32(-1);
    c.finish()
}

fn subset() -> Function {
    let (a_ptr, a_len, b_ptr, b_len) = (0, 1, 2, 3);
    let mut c = Code::new(4);
    let fail = c.block(BlockType::Empty);
    let top = c.loop_();
    c.get(a_len).op(I::I32Eqz).if_(BlockType::Empty);
    c.i32(1).op(I::Return).end();
    c.get(b_ptr).get(b_len).get(a_ptr).load32(0).op(I::Call(FN_SORTED_INDEX));
    c.i32(0).op(I::I32LtS).br_if(fail);
    c.increment(a_ptr, ID_SIZE as i32).increment(a_len, -1).br(top);
    c.end().end();
    c.i32(0);
    c.finish()
}

fn set_eq() -> Function {
    let (a_ptr, a_len, b_ptr, b_len) = (0, 1, 2, 3);
    let mut c = Code::new(4);
    c.get(a_len).get(b_len).op(I::I32Ne).if_(BlockType::Empty);
    c.i32(0).op(I::Return).end();
    c.get(a_ptr).get(b_ptr).get(a_len).op(I::Call(FN_WORDS_EQ));
    c.finish()
}

/// Byte comparison under case mappings: the Wasm twin of `CaseMap::apply` (ASCII letters only).
fn bytes_eq_fold() -> Function {
    let (a, b, n, folds) = (0, 1, 2, 3);
    let mut c = Code::new(4);
    let fold_a = c.local(ValType::I32);
    let fold_b = c.local(ValType::I32);
    let x = c.local(ValType::I32);
    let y = c.local(ValType::I32);
    c.get(folds).i32(3).op(I::I32And).set(fold_a);
    c.get(folds).i32(2).op(I::I32ShrU).set(fold_b);
    let differ = c.block(BlockType::Empty);
    let next = c.loop_();
    c.get(n).op(I::I32Eqz).if_(BlockType::Empty);
    c.i32(1).op(I::Return).end();
    c.get(a).load8(0).set(x);
    c.get(b).load8(0).set(y);
    map_byte(&mut c, x, fold_a);
    map_byte(&mut c, y, fold_b);
    c.get(x).get(y).op(I::I32Ne).br_if(differ);
    c.increment(a, 1).increment(b, 1).increment(n, -1).br(next);
    c.end().end();
    c.i32(0);
    c.finish()
}

/// `byte = fold(byte)` for the mapping in local `fold`: only `A`–`Z` / `a`–`z` change.
fn map_byte(c: &mut Code, byte: u32, fold: u32) {
    for (mapping, first, shift) in [(FOLD_LOWER, b'A', 32), (FOLD_UPPER, b'a', -32)] {
        c.get(byte).i32(i32::from(first)).op(I::I32Sub).i32(26).op(I::I32LtU);
        c.get(fold).i32(mapping).op(I::I32Eq).op(I::I32And);
        c.if_(BlockType::Empty);
        c.increment(byte, shift);
        c.end();
    }
}

/// Each id of `a` searched in `b` (at most `a_len` binary searches, nothing built): with
/// `count`, [`FN_COUNT_COMMON`] (how many are found); without, [`FN_INTERSECTS`] (stops at the
/// first found).
fn common_ids(count: bool) -> Function {
    let (a_ptr, a_len, b_ptr, b_len) = (0, 1, 2, 3);
    let mut c = Code::new(4);
    let found = c.local(ValType::I32);
    let top = c.loop_();
    c.get(a_len).op(I::I32Eqz).if_(BlockType::Empty);
    c.get(found).op(I::Return).end();
    c.get(b_ptr).get(b_len).get(a_ptr).load32(0).op(I::Call(FN_SORTED_INDEX));
    c.i32(0).op(I::I32GeS).if_(BlockType::Empty);
    if count {
        c.increment(found, 1);
    } else {
        c.i32(1).op(I::Return);
    }
    c.end();
    c.increment(a_ptr, ID_SIZE as i32).increment(a_len, -1).br(top);
    c.end();
    c.op(I::Unreachable);
    c.finish()
}

fn table_find() -> Function {
    let (cell, key) = (0, 1);
    let mut c = Code::new(2);
    let keys = c.local(ValType::I32);
    let vals = c.local(ValType::I32);
    let len = c.local(ValType::I32);
    let index = c.local(ValType::I32);
    c.get(cell).load32(CELL_TABLE_KEYS).set(keys);
    c.get(cell).load32(CELL_TABLE_VALS).set(vals);
    c.get(cell).load32(CELL_TABLE_LEN).set(len);
    for (array, size) in [(keys, ID_SIZE), (vals, CELL_SIZE)] {
        c.get(array).get(len).u32(size).i32(ERR_VALUE_OUT_OF_BOUNDS).op(I::Call(FN_CHECK_BOUNDS));
        c.op(I::I32Eqz).if_(BlockType::Empty);
        c.i32(-1).op(I::Return).end();
    }
    c.get(keys).get(len).get(key).op(I::Call(FN_SORTED_INDEX)).tee(index);
    c.i32(0).op(I::I32LtS).if_(BlockType::Empty);
    c.i32(-1).op(I::Return).end();
    c.get(vals).get(index).u32(CELL_SIZE).op(I::I32Mul).op(I::I32Add);
    c.finish()
}
