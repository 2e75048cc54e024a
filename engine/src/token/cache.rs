//! A bounded cache of verified tokens, so a gateway presenting the same bearer token on every
//! call pays for one signature check, not one per call.
//!
//! Keys are SHA-256 digests of the token (a cache dump never holds a usable credential).
//! Entries leave at their expiry (`exp` plus leeway); when full, the entry expiring soonest is
//! evicted. A hit only skips signature, issuer, and audience checks: the caller still runs the
//! validity window against its own `now`.
//!
//! Replacing an issuer's keys empties the cache ([`VerifiedTokenCache::clear`]): a token whose
//! key was withdrawn must not live on here. Each clear starts a new *epoch*; a verification that
//! began with the old keys carries the old epoch and its result is not stored
//! ([`VerifiedTokenCache::insert`]), so no race can put such a token back.
//!
//! Hits and misses are counted with relaxed atomics, for the metrics' hit ratio.
use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use sha2::{Digest, Sha256};

/// SHA-256 of the token text.
pub(crate) type TokenDigest = [u8; 32];

pub(crate) fn digest(token: &str) -> TokenDigest {
    Sha256::digest(token.as_bytes()).into()
}

/// Verified values of type `V`, keyed by token digest.
pub(crate) struct VerifiedTokenCache<V> {
    capacity: usize,
    state: Mutex<CacheState<V>>,
    /// Bumped by every [`VerifiedTokenCache::clear`], while the state lock is held.
    epoch: AtomicU64,
    hits: AtomicU64,
    misses: AtomicU64,
}

/// How the verified-token cache has served lookups since the verifier was built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct CacheStats {
    /// Tokens found in the cache (no signature check needed).
    pub hits: u64,
    /// Tokens not found (verified in full); every lookup when the cache is disabled.
    pub misses: u64,
    /// Entries held now (some may have expired and not yet been purged).
    pub entries: usize,
}

struct CacheState<V> {
    entries: HashMap<TokenDigest, (i64, Arc<V>)>,
    /// (expires_at, digest), soonest first: drives both expiry and eviction.
    by_expiry: BTreeSet<(i64, TokenDigest)>,
}

impl<V> VerifiedTokenCache<V> {
    /// A capacity of zero disables caching.
    pub(crate) fn new(capacity: usize) -> Self {
        VerifiedTokenCache {
            capacity,
            state: Mutex::new(CacheState { entries: HashMap::new(), by_expiry: BTreeSet::new() }),
            epoch: AtomicU64::new(0),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// The cached value, unless it expired at or before `now` (then it is dropped). Counts a
    /// hit or a miss.
    pub(crate) fn get(&self, digest: &TokenDigest, now: i64) -> Option<Arc<V>> {
        let found = self.lookup(digest, now);
        let counter = if found.is_some() { &self.hits } else { &self.misses };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    fn lookup(&self, digest: &TokenDigest, now: i64) -> Option<Arc<V>> {
        if self.capacity == 0 {
            return None;
        }
        let mut state = self.lock();
        let (expires_at, value) = state.entries.get(digest)?;
        if *expires_at > now {
            return Some(Arc::clone(value));
        }
        let expires_at = *expires_at;
        state.remove(digest, expires_at);
        None
    }

    /// The current epoch: read it *before* loading the keys a value will be verified with, and
    /// pass it to [`VerifiedTokenCache::insert`].
    pub(crate) fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::SeqCst)
    }

    /// Drops every entry and starts a new epoch (after the keys changed).
    pub(crate) fn clear(&self) {
        let mut state = self.lock();
        self.epoch.fetch_add(1, Ordering::SeqCst);
        state.entries.clear();
        state.by_expiry.clear();
    }

    /// Stores a value until `expires_at`, making room by dropping expired entries, then the
    /// entry that expires soonest. Nothing is stored if the cache was cleared since `epoch`
    /// was read: the value may have been verified with keys that are gone.
    pub(crate) fn insert(&self, digest: TokenDigest, value: Arc<V>, expires_at: i64, now: i64, epoch: u64) {
        if self.capacity == 0 || expires_at <= now {
            return;
        }
        let mut state = self.lock();
        if self.epoch.load(Ordering::SeqCst) != epoch {
            return;
        }
        if let Some((old_expiry, _)) = state.entries.get(&digest) {
            let old_expiry = *old_expiry;
            state.remove(&digest, old_expiry);
        }
        while let Some(&(soonest, soonest_digest)) = state.by_expiry.first() {
            if soonest > now && state.entries.len() < self.capacity {
                break;
            }
            state.remove(&soonest_digest, soonest);
        }
        state.entries.insert(digest, (expires_at, value));
        state.by_expiry.insert((expires_at, digest));
    }

    /// Number of live-or-not-yet-purged entries.
    pub(crate) fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// Hits, misses and entries so far.
    pub(crate) fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            entries: self.len(),
        }
    }

    /// Every operation leaves the state consistent, so a poisoned lock is still safe to use.
    fn lock(&self) -> std::sync::MutexGuard<'_, CacheState<V>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<V> CacheState<V> {
    fn remove(&mut self, digest: &TokenDigest, expires_at: i64) {
        self.entries.remove(digest);
        self.by_expiry.remove(&(expires_at, *digest));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(cache: &VerifiedTokenCache<&'static str>, token: &str, value: &'static str, expires_at: i64, now: i64) {
        cache.insert(digest(token), Arc::new(value), expires_at, now, cache.epoch());
    }

    #[test]
    fn hit_until_expiry_then_gone() {
        let cache = VerifiedTokenCache::new(4);
        put(&cache, "t1", "v1", 100, 0);
        assert_eq!(cache.get(&digest("t1"), 99).as_deref(), Some(&"v1"));
        assert_eq!(cache.get(&digest("t1"), 100), None);
        assert_eq!(cache.len(), 0);
        assert_eq!(cache.get(&digest("t2"), 0), None);
    }

    #[test]
    fn full_cache_drops_expired_first_then_soonest_expiring() {
        let cache = VerifiedTokenCache::new(2);
        put(&cache, "a", "a", 50, 0);
        put(&cache, "b", "b", 300, 0);
        put(&cache, "c", "c", 200, 0); // full: evicts "a", the soonest to expire
        assert_eq!(cache.get(&digest("a"), 1), None);
        assert!(cache.get(&digest("b"), 1).is_some());
        assert!(cache.get(&digest("c"), 1).is_some());
        put(&cache, "d", "d", 400, 250); // "c" expired by now 250: it goes, "b" stays
        assert_eq!(cache.len(), 2);
        assert!(cache.get(&digest("b"), 250).is_some());
        assert!(cache.get(&digest("d"), 250).is_some());
    }

    #[test]
    fn reinsert_replaces_and_zero_capacity_disables() {
        let cache = VerifiedTokenCache::new(2);
        put(&cache, "a", "old", 100, 0);
        put(&cache, "a", "new", 500, 0);
        assert_eq!(cache.len(), 1);
        assert_eq!(cache.get(&digest("a"), 200).as_deref(), Some(&"new"));
        let disabled = VerifiedTokenCache::new(0);
        put(&disabled, "a", "v", 100, 0);
        assert_eq!(disabled.get(&digest("a"), 0), None);
    }

    #[test]
    fn hits_and_misses_are_counted() {
        let cache = VerifiedTokenCache::new(2);
        put(&cache, "a", "a", 100, 0);
        assert!(cache.get(&digest("a"), 1).is_some());
        assert!(cache.get(&digest("b"), 1).is_none());
        assert!(cache.get(&digest("a"), 100).is_none()); // expired: a miss
        assert_eq!(cache.stats(), CacheStats { hits: 1, misses: 2, entries: 0 });
    }

    #[test]
    fn clear_empties_and_refuses_values_verified_before_it() {
        let cache = VerifiedTokenCache::new(4);
        put(&cache, "a", "a", 100, 0);
        let before = cache.epoch();
        cache.clear();
        assert_eq!(cache.len(), 0);
        cache.insert(digest("late"), Arc::new("late"), 100, 0, before);
        assert_eq!(cache.get(&digest("late"), 1), None);
        put(&cache, "b", "b", 100, 0);
        assert!(cache.get(&digest("b"), 1).is_some());
    }
}
