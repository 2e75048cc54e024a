//! The host-side encoders, checked byte by byte against the layout ABI.md documents.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, missing_docs)]
use serde_json::{json, Value};
use warrant_lang::ir::{Field, Program, Slot, Source, Ty};
use warrant_lang::request::{Actor, Request};
use warrant_wasm::abi::*;

/// Reads image bytes by absolute address.
struct Image<'a> {
    bytes: &'a [u8],
    base: u32,
}

impl Image<'_> {
    fn u32(&self, address: u32) -> u32 {
        let at = (address - self.base) as usize;
        u32::from_le_bytes(self.bytes[at..at + 4].try_into().unwrap())
    }
    fn i32(&self, address: u32) -> i32 {
        self.u32(address) as i32
    }
    fn i64(&self, address: u32) -> i64 {
        let at = (address - self.base) as usize;
        i64::from_le_bytes(self.bytes[at..at + 8].try_into().unwrap())
    }
    fn ids(&self, address: u32, len: u32) -> Vec<u32> {
        (0..len).map(|i| self.u32(address + 4 * i)).collect()
    }
    /// String `index` of the table at `table`.
    fn string(&self, table: u32, index: u32) -> String {
        let ptr = self.u32(table + index * STRING_ENTRY_SIZE);
        let len = self.u32(table + index * STRING_ENTRY_SIZE + 4);
        let at = (ptr - self.base) as usize;
        String::from_utf8(self.bytes[at..at + len as usize].to_vec()).unwrap()
    }
}

fn path(p: &[&str]) -> Vec<String> {
    p.iter().map(|s| s.to_string()).collect()
}

fn manifest(slots: Vec<Slot>) -> Manifest {
    Manifest::from_program(&Program {
        package: "p".into(),
        source_hash: "h".into(),
        literals: path(&["read", "alice"]),
        slots,
        rules: vec![],
        reason_templates: Default::default(),
    })
}

fn data_slots() -> Vec<Slot> {
    vec![
        Slot { source: Source::Data(path(&["s"])), ty: Ty::Str },
        Slot { source: Source::Data(path(&["n"])), ty: Ty::Int },
        Slot { source: Source::Data(path(&["set"])), ty: Ty::StrSet },
        Slot { source: Source::Data(path(&["obj"])), ty: Ty::StrSet },
        Slot { source: Source::Data(path(&["flag"])), ty: Ty::Bool },
        Slot { source: Source::DataTable { table: path(&["t"]), field: path(&["level"]) }, ty: Ty::Int },
        Slot { source: Source::Field(Field::Sub), ty: Ty::Str },
    ]
}

fn data_doc() -> Value {
    json!({
        "s": "zed",
        "n": 42,
        "set": ["read", "bob", "zed", "bob"],
        "obj": {"carol": 1, "alice": 2},
        "t": {"bob": {"level": 3}, "dave": {"rank": "x"}, "carol": {"level": -7}}
    })
}

fn cell(header: u32, base: u32, slot: u32) -> u32 {
    base + header + slot * CELL_SIZE
}

#[test]
fn data_image_interns_after_literals_and_sorts_sets_and_tables() {
    let manifest = manifest(data_slots());
    let base = 4096;
    let data = DataImage::build(&manifest, &data_doc(), base).unwrap();
    assert_eq!((data.base(), data.end() % IMAGE_ALIGN), (base, 0));
    assert_eq!(data.end(), base + data.bytes().len() as u32);
    let image = Image { bytes: data.bytes(), base };
    let count = image.u32(base + DATA_STRING_COUNT);
    let table = image.u32(base + DATA_STRING_TABLE);
    let strings: Vec<String> = (0..count).map(|i| image.string(table, i)).collect();
    let id_of = |s: &str| match manifest.literals.iter().position(|l| l == s) {
        Some(i) => i as u32,
        None => 2 + strings.iter().position(|d| d == s).unwrap() as u32,
    };
    let mut sorted = strings.clone();
    sorted.sort();
    assert_eq!(sorted, ["bob", "carol", "zed"], "each non-literal once; dave's level is absent");
    let cell = |slot| cell(DATA_SLOTS, base, slot);
    assert_eq!(image.u32(cell(0) + CELL_STR_ID), id_of("zed"));
    assert_eq!((image.u32(cell(1) + CELL_INT_PRESENT), image.i64(cell(1) + CELL_INT_VALUE)), (1, 42));
    let set = |slot| image.ids(image.u32(cell(slot) + CELL_SET_PTR), image.u32(cell(slot) + CELL_SET_LEN));
    let mut expected = vec![id_of("read"), id_of("bob"), id_of("zed")];
    expected.sort();
    assert_eq!(set(2), expected);
    let mut expected = vec![id_of("carol"), id_of("alice")];
    expected.sort();
    assert_eq!(set(3), expected);
    assert_eq!(image.i32(cell(4) + CELL_BOOL), MISSING_ID, "an absent value is missing");
    let keys_ptr = image.u32(cell(5) + CELL_TABLE_KEYS);
    let vals_ptr = image.u32(cell(5) + CELL_TABLE_VALS);
    let len = image.u32(cell(5) + CELL_TABLE_LEN);
    let keys = image.ids(keys_ptr, len);
    let mut expected = vec![id_of("bob"), id_of("carol")];
    expected.sort();
    assert_eq!(keys, expected);
    let value_of = |key: &str| {
        let index = keys.iter().position(|&k| k == id_of(key)).unwrap() as u32;
        image.i64(vals_ptr + index * CELL_SIZE + CELL_INT_VALUE)
    };
    assert_eq!((value_of("bob"), value_of("carol")), (3, -7));
    assert_eq!(image.i32(cell(6) + CELL_STR_ID), MISSING_ID, "request slots are missing in data");
}

#[test]
fn absent_data_reads_as_missing_and_mistyped_data_is_refused() {
    let manifest = manifest(data_slots());
    let data = DataImage::build(&manifest, &json!({"t": {}}), 0).unwrap();
    let image = Image { bytes: data.bytes(), base: 0 };
    let cell = |slot| cell(DATA_SLOTS, 0, slot);
    assert_eq!(image.i32(cell(0) + CELL_STR_ID), MISSING_ID);
    assert_eq!(image.u32(cell(1) + CELL_INT_PRESENT), 0);
    assert_eq!(image.i32(cell(2) + CELL_SET_LEN), MISSING_ID);
    assert_eq!(image.i32(cell(3) + CELL_SET_LEN), MISSING_ID);
    assert_eq!(image.u32(cell(5) + CELL_TABLE_LEN), 0);
    assert_eq!(image.u32(DATA_STRING_COUNT), 0);
    for (doc, path) in [
        (json!({"s": 1}), "data.s"),
        (json!({"n": 1.5}), "data.n"),
        (json!({"set": ["a", 2]}), "data.set"),
        (json!({"obj": "x"}), "data.obj"),
        (json!({"t": [1]}), "data.t"),
        (json!({"t": {"dave": {"level": "x"}}}), "data.t[\"dave\"].level"),
        (json!([]), "data"),
    ] {
        match DataImage::build(&manifest, &doc, 0) {
            Err(AbiError::DataShape(error)) => assert_eq!(error.path, path, "{doc}"),
            other => panic!("{doc}: {other:?}"),
        }
    }
}

fn request_slots() -> Vec<Slot> {
    vec![
        Slot { source: Source::Field(Field::Action), ty: Ty::Str },
        Slot { source: Source::Field(Field::Sub), ty: Ty::Str },
        Slot { source: Source::Field(Field::Scope), ty: Ty::StrSet },
        Slot { source: Source::Field(Field::Now), ty: Ty::Int },
        Slot { source: Source::Claim(path(&["roles"])), ty: Ty::StrSet },
        Slot { source: Source::Claim(path(&["big"])), ty: Ty::Int },
        Slot { source: Source::Claim(path(&["org", "id"])), ty: Ty::Str },
        Slot { source: Source::Field(Field::Resource), ty: Ty::Str },
        Slot { source: Source::Data(path(&["s"])), ty: Ty::Str },
    ]
}

fn sample_request() -> Request {
    let mut request = Request {
        action: Some("read".into()),
        sub: Some("zed".into()),
        resource: Some("fresh".into()),
        scope: Some(path(&["fresh", "alice", "other", "fresh"])),
        now: Some(-3),
        chain: vec![
            Actor { sub: Some("first".into()), instance: Some("fresh".into()), ..Actor::default() },
            Actor { sub: Some("alice".into()), ..Actor::default() },
        ],
        ..Request::default()
    };
    request.claims.insert("roles".into(), json!("admin  read"));
    request.claims.insert("big".into(), json!(u64::MAX));
    request.claims.insert("org".into(), json!({"id": "other"}));
    request
}

#[test]
fn request_image_reuses_literal_and_data_ids_and_dedups_fresh_strings() {
    let manifest = manifest(request_slots());
    let data = DataImage::build(&manifest, &json!({"s": "zed"}), 64).unwrap();
    let base = data.end() + 32;
    let mut encoder = RequestEncoder::new();
    let bytes = encoder.encode(&manifest, &data, &sample_request(), base).unwrap().to_vec();
    assert_eq!(bytes.len() as u32 % IMAGE_ALIGN, 0);
    let image = Image { bytes: &bytes, base };
    let first_request_id = 3; // 2 literals + "zed" in data
    let count = image.u32(base + REQ_STRING_COUNT);
    let table = image.u32(base + REQ_STRING_TABLE);
    let strings: Vec<String> = (0..count).map(|i| image.string(table, i)).collect();
    let id_of = |s: &str| match s {
        "read" => 0,
        "alice" => 1,
        "zed" => 2,
        _ => first_request_id + strings.iter().position(|r| r == s).unwrap() as u32,
    };
    let mut sorted = strings.clone();
    sorted.sort();
    assert_eq!(sorted, ["admin", "first", "fresh", "other"]);
    let cell = |slot| cell(REQ_SLOTS, base, slot);
    assert_eq!(image.u32(cell(0) + CELL_STR_ID), id_of("read"));
    assert_eq!(image.u32(cell(1) + CELL_STR_ID), id_of("zed"));
    let set = |slot| image.ids(image.u32(cell(slot) + CELL_SET_PTR), image.u32(cell(slot) + CELL_SET_LEN));
    let mut expected = vec![id_of("fresh"), id_of("alice"), id_of("other")];
    expected.sort();
    assert_eq!(set(2), expected);
    assert_eq!(image.i64(cell(3) + CELL_INT_VALUE), -3);
    let mut expected = vec![id_of("admin"), id_of("read")];
    expected.sort();
    assert_eq!(set(4), expected, "a claim string is a space-separated set");
    assert_eq!(image.u32(cell(5) + CELL_INT_PRESENT), 0, "u64::MAX does not fit i64");
    assert_eq!(image.u32(cell(6) + CELL_STR_ID), id_of("other"));
    assert_eq!(image.u32(cell(7) + CELL_STR_ID), id_of("fresh"));
    assert_eq!(image.i32(cell(8) + CELL_STR_ID), MISSING_ID, "data slots are missing in requests");
    assert_eq!(image.u32(base + REQ_CHAIN_LEN), 2);
    let chain = image.u32(base + REQ_CHAIN_PTR);
    assert_eq!(image.u32(chain + ACTOR_SUB), id_of("first"));
    assert_eq!(image.i32(chain + ACTOR_CLIENT_ID), MISSING_ID);
    assert_eq!(image.u32(chain + ACTOR_INSTANCE), id_of("fresh"));
    assert_eq!(image.u32(chain + ACTOR_RECORD_SIZE + ACTOR_SUB), id_of("alice"));
}

#[test]
fn encoder_reuse_gives_identical_images_and_forgets_previous_strings() {
    let manifest = manifest(request_slots());
    let data = DataImage::build(&manifest, &json!({}), 0).unwrap();
    let mut encoder = RequestEncoder::new();
    let first = encoder.encode(&manifest, &data, &sample_request(), data.end()).unwrap().to_vec();
    let other = Request { sub: Some("someone".into()), ..Request::default() };
    let small = encoder.encode(&manifest, &data, &other, data.end()).unwrap().to_vec();
    let image = Image { bytes: &small, base: data.end() };
    assert_eq!(image.u32(data.end() + REQ_STRING_COUNT), 1);
    let again = encoder.encode(&manifest, &data, &sample_request(), data.end()).unwrap();
    assert_eq!(first, again);
}

#[test]
fn encoder_refuses_bad_placement_and_foreign_data() {
    let manifest = manifest(request_slots());
    let data = DataImage::build(&manifest, &json!({}), 32).unwrap();
    let mut encoder = RequestEncoder::new();
    let request = Request::default();
    assert_eq!(
        encoder.encode(&manifest, &data, &request, data.end() + 4),
        Err(AbiError::MisalignedBase(data.end() + 4))
    );
    assert_eq!(encoder.encode(&manifest, &data, &request, 0), Err(AbiError::OverlapsDataImage));
    let mut other = manifest.clone();
    other.source_hash = "other".into();
    assert_eq!(encoder.encode(&other, &data, &request, data.end()), Err(AbiError::DataImageMismatch));
    assert_eq!(DataImage::build(&manifest, &json!({}), 8).err(), Some(AbiError::MisalignedBase(8)));
    assert_eq!(DataImage::build(&manifest, &json!({}), u32::MAX - 15).err(), Some(AbiError::AddressOverflow));
}

/// Each actor record is the ids, padding, then one cell per actor-claim slot in slot order
/// (the stride grows with them); actor claims read like claims, context values like data, and
/// the request cells of actor-claim slots are missing.
#[test]
fn actor_records_carry_one_cell_per_actor_claim_and_context_reads_like_data() {
    let manifest = manifest(vec![
        Slot { source: Source::ActorClaim(path(&["scope"])), ty: Ty::StrSet },
        Slot { source: Source::Context(path(&["tags"])), ty: Ty::StrSet },
        Slot { source: Source::ActorClaim(path(&["level"])), ty: Ty::Int },
    ]);
    let stride = ACTOR_RECORD_SIZE + 2 * CELL_SIZE;
    assert_eq!(actor_record_stride(&manifest.slots), Some(stride));
    let data = DataImage::build(&manifest, &json!({}), 0).unwrap();
    let mut request = Request {
        chain: vec![Actor { sub: Some("a".into()), ..Actor::default() }, Actor::default()],
        ..Request::default()
    };
    request.chain[0].claims.insert("scope".into(), json!("read write"));
    request.chain[1].claims.insert("level".into(), json!(7));
    request.context.insert("tags".into(), json!("read write"));
    let base = data.end();
    let bytes = RequestEncoder::new().encode(&manifest, &data, &request, base).unwrap().to_vec();
    let image = Image { bytes: &bytes, base };
    let chain = image.u32(base + REQ_CHAIN_PTR);
    let claim = |actor: u32, index: u32| chain + actor * stride + ACTOR_RECORD_SIZE + index * CELL_SIZE;
    assert_eq!(image.u32(chain + stride + ACTOR_SUB) as i32, MISSING_ID);
    assert_eq!(image.u32(claim(0, 0) + CELL_SET_LEN), 2, "an actor's claim string is a space-separated set");
    assert_eq!(image.i32(claim(1, 0) + CELL_SET_LEN), -1);
    assert_eq!(image.u32(claim(0, 1) + CELL_INT_PRESENT), 0);
    assert_eq!((image.u32(claim(1, 1) + CELL_INT_PRESENT), image.i64(claim(1, 1) + CELL_INT_VALUE)), (1, 7));
    assert_eq!(image.i32(cell(REQ_SLOTS, base, 0) + CELL_SET_LEN), -1, "actor claims are not request cells");
    assert_eq!(image.i32(cell(REQ_SLOTS, base, 1) + CELL_SET_LEN), -1, "a context string is not a set");
}
