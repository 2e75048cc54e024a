//! The policy's data document (registries, revocation lists), laid out once per version as the
//! guest reads it. Updating data swaps in a new snapshot: no recompilation, and each pooled
//! instance rewrites its copy lazily, the next time it decides.
use std::sync::{Arc, PoisonError, RwLock};

use warrant_wasm::abi::{DataImage, Manifest};

use crate::error::EngineError;

/// One version of the data document, as bytes ready to copy into guest memory.
pub(crate) struct DataSnapshot {
    /// Distinguishes versions so an instance knows whether its memory holds this one.
    pub(crate) generation: u64,
    pub(crate) image: DataImage,
}

/// The current data snapshot of a policy, shared by every thread deciding with it.
pub(crate) struct DataStore {
    current: RwLock<Arc<DataSnapshot>>,
}

impl DataStore {
    /// Starts with `data` laid out at `base` (the guest's heap base).
    pub(crate) fn new(manifest: &Manifest, data: &serde_json::Value, base: u32) -> Result<DataStore, EngineError> {
        let image = DataImage::build(manifest, data, base).map_err(EngineError::Data)?;
        Ok(DataStore { current: RwLock::new(Arc::new(DataSnapshot { generation: 0, image })) })
    }

    /// The snapshot decisions use now.
    pub(crate) fn current(&self) -> Arc<DataSnapshot> {
        Arc::clone(&self.current.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Lays out `data` and makes it current; on error the previous snapshot stays in force.
    pub(crate) fn replace(&self, manifest: &Manifest, data: &serde_json::Value) -> Result<(), EngineError> {
        let base = self.current().image.base();
        let image = DataImage::build(manifest, data, base).map_err(EngineError::Data)?;
        let mut current = self.current.write().unwrap_or_else(PoisonError::into_inner);
        let generation = current.generation.wrapping_add(1);
        *current = Arc::new(DataSnapshot { generation, image });
        Ok(())
    }
}
