//! The policy's data document (registries, revocation lists), laid out once per version as the
//! guest reads it. Updating data swaps in a new snapshot: no recompilation, and each pooled
//! instance rewrites its copy lazily, the next time it decides.
use std::sync::{Arc, PoisonError, RwLock};

use warrant_wasm::abi::{DataImage, Manifest};

use crate::error::EngineError;
use crate::revocation::RevocationSet;

/// One version of the data document, as bytes ready to copy into guest memory.
pub(crate) struct DataSnapshot {
    /// Distinguishes versions so an instance knows whether its memory holds this one.
    pub(crate) generation: u64,
    pub(crate) image: DataImage,
    /// The revocations the document lists (`revoked_instances`, `revoked_client_ids`,
    /// `revoked_jtis`): every entry point enforces them on every hop before the policy runs.
    pub(crate) revocations: RevocationSet,
}

impl DataSnapshot {
    /// Lays out `data` at `base`, refusing a document whose shape contradicts the policy or
    /// whose revocation lists are malformed.
    fn build(manifest: &Manifest, data: &serde_json::Value, base: u32, generation: u64) -> Result<Self, EngineError> {
        let revocations = RevocationSet::from_data(data).map_err(EngineError::Revocations)?;
        let image = DataImage::build(manifest, data, base).map_err(EngineError::Data)?;
        Ok(DataSnapshot { generation, image, revocations })
    }
}

/// The current data snapshot of a policy, shared by every thread deciding with it.
pub(crate) struct DataStore {
    current: RwLock<Arc<DataSnapshot>>,
}

impl DataStore {
    /// Starts with `data` laid out at `base` (the guest's heap base).
    pub(crate) fn new(manifest: &Manifest, data: &serde_json::Value, base: u32) -> Result<DataStore, EngineError> {
        Ok(DataStore { current: RwLock::new(Arc::new(DataSnapshot::build(manifest, data, base, 0)?)) })
    }

    /// The snapshot decisions use now.
    pub(crate) fn current(&self) -> Arc<DataSnapshot> {
        Arc::clone(&self.current.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Lays out `data` and makes it current; on error the previous snapshot stays in force.
    pub(crate) fn replace(&self, manifest: &Manifest, data: &serde_json::Value) -> Result<(), EngineError> {
        let base = self.current().image.base();
        let mut current = self.current.write().unwrap_or_else(PoisonError::into_inner);
        let generation = current.generation.wrapping_add(1);
        *current = Arc::new(DataSnapshot::build(manifest, data, base, generation)?);
        Ok(())
    }
}
