//! Helpers the workspace's test suites share, so that each exists once: a seeded random
//! generator ([`Rng`]) for generated programs and requests, and a builder of hand-made policy
//! modules ([`Handmade`]) for testing what hosts do with modules no compiler of ours produces.
//! A dev-dependency only; nothing here ships.
pub mod handmade;
mod rng;

pub use handmade::{patch_manifest, DecideBody, Handmade};
pub use rng::Rng;
