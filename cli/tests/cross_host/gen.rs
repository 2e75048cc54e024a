//! Seeded request generation. Requests start from each policy's own sample requests and mutate
//! a few fields with values drawn from small alphabets built from the policy (its literals,
//! glob patterns filled in), its data document and its samples, so that equality, membership,
//! table lookups and patterns actually hit and rules fire.
use std::collections::BTreeSet;

use serde_json::{json, Map, Value};
use warrant::Manifest;
use warrant_lang::ir::Source;

use super::corpus::{Case, Expect};

pub use warrant_test_support::Rng;

/// Standard claims and what they normally hold.
const STRING_CLAIMS: [&str; 5] = ["sub", "iss", "jti", "client_id", "instance_id"];
const LIST_CLAIMS: [&str; 2] = ["aud", "scope"];
const INT_CLAIMS: [&str; 3] = ["iat", "exp", "nbf"];
/// Strings no policy mentions, with multi-byte UTF-8 and look-alikes.
const EXTRA_STRINGS: [&str; 7] = ["", "zz", "é", "e\u{301}", "😀", "a b", "__proto__"];

/// The values requests are built from, for one policy.
pub struct Alphabet {
    strings: Vec<String>,
    /// The policy's literals (patterns filled in) and the data document's strings: the values
    /// rules compare with, drawn half of the time.
    hot: Vec<String>,
    ints: Vec<i64>,
    claim_paths: Vec<Vec<String>>,
    /// The `context.*` paths the policy reads.
    context_paths: Vec<Vec<String>>,
    /// The actor-claim paths (`hop.claims.*`) the policy reads.
    actor_claim_paths: Vec<Vec<String>>,
}

impl Alphabet {
    pub fn new(manifest: &Manifest, data: &Value, bases: &[Value]) -> Alphabet {
        let mut hot = BTreeSet::new();
        for literal in &manifest.literals {
            hot.insert(literal.clone());
            // Glob patterns filled in, and prefixes, so `matches` and `startswith` sometimes hold.
            hot.insert(literal.replace('*', ""));
            hot.insert(literal.replace('*', "x/y"));
            hot.insert(literal.chars().take(literal.chars().count() / 2).collect());
            // Case variants, so `lower(...)` / `upper(...)` comparisons sometimes hold.
            hot.insert(literal.to_ascii_uppercase());
        }
        let mut ints: BTreeSet<i64> = [0, 1, -1, i64::MAX, i64::MIN].into_iter().collect();
        collect(data, &mut hot, &mut ints);
        let mut strings: BTreeSet<String> = EXTRA_STRINGS.iter().map(|s| s.to_string()).collect();
        strings.extend(hot.iter().cloned());
        for base in bases {
            collect(base, &mut strings, &mut ints);
        }
        let ints = ints
            .iter()
            .flat_map(|&i| [i, i.wrapping_add(1), i.wrapping_sub(1), i.wrapping_add(3600), i.wrapping_sub(3600)])
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let paths = |of: fn(&Source) -> Option<&Vec<String>>| {
            manifest.slots.iter().filter_map(|slot| of(&slot.source)).filter(|p| !p.is_empty()).cloned().collect()
        };
        let claim_paths = paths(|source| match source {
            Source::Claim(path) => Some(path),
            _ => None,
        });
        let context_paths = paths(|source| match source {
            Source::Context(path) => Some(path),
            _ => None,
        });
        let actor_claim_paths = paths(|source| match source {
            Source::ActorClaim(path) => Some(path),
            _ => None,
        });
        Alphabet {
            strings: strings.into_iter().collect(),
            hot: hot.into_iter().collect(),
            ints,
            claim_paths,
            context_paths,
            actor_claim_paths,
        }
    }

    fn string(&self, rng: &mut Rng) -> Value {
        let pool = if !self.hot.is_empty() && rng.chance(50) { &self.hot } else { &self.strings };
        Value::String(rng.pick(pool).clone())
    }

    fn int(&self, rng: &mut Rng) -> Value {
        json!(*rng.pick(&self.ints))
    }

    fn string_list(&self, rng: &mut Rng) -> Vec<Value> {
        (0..rng.below(4)).map(|_| self.string(rng)).collect()
    }

    /// A value of any JSON shape a claim may have.
    fn any(&self, rng: &mut Rng) -> Value {
        match rng.below(10) {
            0..=3 => self.string(rng),
            4 => self.int(rng),
            5 => Value::Array(self.string_list(rng)),
            6 => Value::String(self.string_list(rng).iter().filter_map(Value::as_str).collect::<Vec<_>>().join(" ")),
            7 => Value::Object(
                self.string_list(rng)
                    .into_iter()
                    .filter_map(|k| Some((k.as_str()?.to_string(), json!(true))))
                    .collect(),
            ),
            8 => json!(rng.chance(50)),
            _ => [json!(null), json!(1.0), json!(-2.5), json!([1, "a"])][rng.below(4)].clone(),
        }
    }

    /// A delegation chain of `depth` actors as nested `act` claims (`None` for no chain).
    fn chain(&self, rng: &mut Rng, depth: usize) -> Option<Value> {
        let mut act: Option<Value> = None;
        for _ in 0..depth {
            let mut actor = Map::new();
            for field in ["sub", "client_id", "instance_id"] {
                if rng.chance(85) {
                    actor.insert(field.to_string(), self.string(rng));
                }
            }
            if let Some(inner) = act {
                actor.insert("act".to_string(), inner);
            }
            act = Some(Value::Object(actor));
        }
        act
    }
}

/// `count` requests mutated from `bases` (JSON objects).
pub fn requests(alphabet: &Alphabet, bases: &[Value], rng: &mut Rng, count: usize) -> Vec<String> {
    (0..count).map(|_| mutate(alphabet, rng.pick(bases).clone(), rng).to_string()).collect()
}

/// Changes one to four fields of `request`, rarely to a type the request model refuses.
fn mutate(alphabet: &Alphabet, mut request: Value, rng: &mut Rng) -> Value {
    let Some(top) = request.as_object_mut() else {
        return request;
    };
    for _ in 0..1 + rng.below(4) {
        let claims = top.entry("claims").or_insert_with(|| json!({}));
        let Some(claims) = claims.as_object_mut() else {
            break;
        };
        let wrong_type = rng.chance(3);
        match rng.below(10) {
            0 => set_or_remove(top, "resource", alphabet.string(rng), rng),
            1 => set_or_remove(top, "action", alphabet.string(rng), rng),
            2 => set_or_remove(top, "now", alphabet.int(rng), rng),
            3 => {
                let value = if wrong_type { alphabet.int(rng) } else { alphabet.string(rng) };
                let key = *rng.pick(&STRING_CLAIMS);
                set_or_remove(claims, key, value, rng);
            }
            4 => {
                let list = Value::Array(alphabet.string_list(rng));
                let value = match rng.below(3) {
                    _ if wrong_type => alphabet.any(rng),
                    0 => alphabet.string(rng),
                    _ => list,
                };
                let key = *rng.pick(&LIST_CLAIMS);
                set_or_remove(claims, key, value, rng);
            }
            5 => {
                let value = if wrong_type { alphabet.any(rng) } else { alphabet.int(rng) };
                let key = *rng.pick(&INT_CLAIMS);
                set_or_remove(claims, key, value, rng);
            }
            6 if !alphabet.claim_paths.is_empty() => {
                let path = rng.pick(&alphabet.claim_paths).clone();
                set_path(claims, &path, alphabet.any(rng));
            }
            9 if !alphabet.context_paths.is_empty() => {
                let path = rng.pick(&alphabet.context_paths).clone();
                let value = alphabet.any(rng);
                if wrong_type {
                    top.insert("context".to_string(), value);
                } else {
                    let context = top.entry("context").or_insert_with(|| json!({}));
                    if !context.is_object() {
                        *context = json!({});
                    }
                    if let Some(context) = context.as_object_mut() {
                        set_path(context, &path, value);
                    }
                }
            }
            6 | 7 => {
                let depth = [0, 1, 1, 2, 2, 3, 4][rng.below(7)];
                match alphabet.chain(rng, depth) {
                    Some(act) => claims.insert("act".to_string(), act),
                    None => claims.remove("act"),
                };
            }
            8 if !alphabet.actor_claim_paths.is_empty() => {
                // One claim the policy reads of one existing actor (none if the chain is shorter).
                let path = rng.pick(&alphabet.actor_claim_paths).clone();
                let value = if rng.chance(30) { Value::Array(alphabet.string_list(rng)) } else { alphabet.any(rng) };
                if let Some(actor) = actor_at(claims, rng.below(3)) {
                    set_path(actor, &path, value);
                }
            }
            _ => {
                // One field of one existing actor (none if the chain is shorter).
                let field = *rng.pick(&["sub", "client_id", "instance_id"]);
                let value = alphabet.string(rng);
                if let Some(actor) = actor_at(claims, rng.below(3)) {
                    set_or_remove(actor, field, value, rng);
                }
            }
        }
    }
    request
}

/// Requests at the limits every host must enforce identically: the chain depth bound, JSON
/// nesting (in `claims` and in `context`), a `context` that is not an object, and request
/// images around the size limit (with 2-byte UTF-8 characters, so that byte and UTF-16 lengths
/// differ, in a claim, a call field and the context). Over-limit chains and nesting must be refused.
pub fn edge_requests(alphabet: &Alphabet, base: &Value, rng: &mut Rng) -> Vec<Case> {
    let mut edges = Vec::new();
    let error = |code: &str, message: Option<&str>| {
        Some(Expect::Error { code: code.to_string(), message: message.map(str::to_string) })
    };
    for depth in [16, 17] {
        let mut request = base.clone();
        if let (Some(claims), Some(act)) = (request["claims"].as_object_mut(), alphabet.chain(rng, depth)) {
            claims.insert("act".to_string(), act);
        }
        let too_deep = "invalid request: delegation chain deeper than the accepted maximum of 16 actors";
        edges.push(Case {
            label: format!("chain of {depth} actors"),
            request: request.to_string(),
            expect: if depth > 16 { error("request", Some(too_deep)) } else { None },
        });
    }
    for depth in [127, 128] {
        // The request object and `claims` (or `context`) are two levels; arrays make up the rest.
        let arrays = depth - 2;
        for key in ["claims", "context"] {
            edges.push(Case {
                label: format!("JSON nested {depth} deep in {key}"),
                request: format!(r#"{{"{key}": {{"deep": {}{}}}}}"#, "[".repeat(arrays), "]".repeat(arrays)),
                expect: if depth > 127 { error("json", None) } else { None },
            });
        }
    }
    for context in [json!("x"), json!([]), json!(null), json!(1)] {
        let mut request = base.clone();
        request["context"] = context.clone();
        edges.push(Case {
            label: format!("context {context}"),
            request: request.to_string(),
            expect: error("request", Some("invalid request: `context` must be a JSON object")),
        });
    }
    const IMAGE_LIMIT: usize = 1 << 20;
    for bytes in [IMAGE_LIMIT - 1024, IMAGE_LIMIT + 2] {
        for field in ["sub", "resource", "context"] {
            let mut request = base.clone();
            let huge = Value::String("é".repeat(bytes / 2));
            match field {
                "sub" => request["claims"]["sub"] = huge,
                "context" => match alphabet.context_paths.first() {
                    Some(path) => {
                        let mut context = Map::new();
                        set_path(&mut context, path, huge);
                        request["context"] = Value::Object(context);
                    }
                    None => continue,
                },
                _ => request[field] = huge,
            }
            edges.push(Case { label: format!("{bytes}-byte {field}"), request: request.to_string(), expect: None });
        }
    }
    edges
}

/// The actor `hops` levels inside the outermost `act`, if the chain is that long.
fn actor_at(claims: &mut Map<String, Value>, hops: usize) -> Option<&mut Map<String, Value>> {
    let mut actor = claims.get_mut("act")?.as_object_mut()?;
    for _ in 0..hops {
        actor = actor.get_mut("act")?.as_object_mut()?;
    }
    Some(actor)
}

fn set_or_remove(map: &mut Map<String, Value>, key: &str, value: Value, rng: &mut Rng) {
    if rng.chance(10) {
        map.remove(key);
    } else {
        map.insert(key.to_string(), value);
    }
}

/// Sets `claims.a.b.c`, turning any non-object on the way into an object.
fn set_path(map: &mut Map<String, Value>, path: &[String], value: Value) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    if rest.is_empty() {
        map.insert(first.clone(), value);
        return;
    }
    let next = map.entry(first.clone()).or_insert_with(|| json!({}));
    if !next.is_object() {
        *next = json!({});
    }
    if let Some(next) = next.as_object_mut() {
        set_path(next, rest, value);
    }
}

/// Every string (values and object keys) and integer in `value`.
fn collect(value: &Value, strings: &mut BTreeSet<String>, ints: &mut BTreeSet<i64>) {
    match value {
        Value::String(s) => {
            strings.insert(s.clone());
        }
        Value::Number(n) => ints.extend(n.as_i64()),
        Value::Array(items) => items.iter().for_each(|item| collect(item, strings, ints)),
        Value::Object(map) => {
            for (key, item) in map {
                strings.insert(key.clone());
                collect(item, strings, ints);
            }
        }
        Value::Bool(_) | Value::Null => {}
    }
}
