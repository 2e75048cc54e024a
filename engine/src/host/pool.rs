//! Ready instances of one policy module, handed to one thread at a time. Instantiating is the
//! expensive step, so it happens only when every pooled instance is busy.
use std::sync::{Mutex, PoisonError};

use wasmtime::InstancePre;

use super::instance::ReadyInstance;
use crate::error::EngineError;

/// Idle instances kept beyond this are dropped: enough for one per core on a busy gateway
/// without holding memory for a burst that has passed.
const MAX_IDLE_INSTANCES: usize = 64;

pub(crate) struct InstancePool {
    pre: InstancePre<()>,
    idle: Mutex<Vec<ReadyInstance>>,
}

impl InstancePool {
    /// A pool that starts with `first`, the instance made while loading the module.
    pub(crate) fn new(pre: InstancePre<()>, first: ReadyInstance) -> InstancePool {
        InstancePool { pre, idle: Mutex::new(vec![first]) }
    }

    /// A new pool over the same compiled module, holding one fresh instance, for a policy
    /// with its own data (instances remember which data they hold, so pools are not shared).
    pub(crate) fn sibling(&self) -> Result<InstancePool, EngineError> {
        let first = ReadyInstance::new(&self.pre)?;
        Ok(InstancePool::new(self.pre.clone(), first))
    }

    /// An idle instance, or a new one when all are busy.
    pub(crate) fn take(&self) -> Result<ReadyInstance, EngineError> {
        let idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner).pop();
        match idle {
            Some(instance) => Ok(instance),
            None => ReadyInstance::new(&self.pre),
        }
    }

    /// Returns an instance whose state is sound (it did not trap) for reuse.
    pub(crate) fn give_back(&self, instance: ReadyInstance) {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < MAX_IDLE_INSTANCES {
            idle.push(instance);
        }
    }
}
