//! A compiled policy: its module, manifest, current data and pool of ready instances.
use std::sync::Arc;

use wasmtime::{Linker, Module};

use warrant_lang::eval::Evaluator;
use warrant_lang::ir::{Program, RuleId, RuleKind};
use warrant_lang::reason::fired_reason;
use warrant_lang::request::Request;
use warrant_wasm::abi::{self, Manifest};

use super::instance::{GuestAnswer, ReadyInstance};
use super::pool::InstancePool;
use super::Engine;
use crate::data::DataStore;
use crate::decision::{Decision, Effect, FiredRule, PolicyVersion};
use crate::error::EngineError;

/// A policy ready to decide. `Send + Sync` and cheap to clone: clones share the module, the
/// data and the instance pool, so one `Policy` serves every thread of a gateway.
#[derive(Clone)]
pub struct Policy {
    shared: Arc<Shared>,
}

struct Shared {
    manifest: Manifest,
    /// The manifest's slots and reason templates as a program without rule bodies: what the
    /// reference evaluator's value reading needs to render a deny reason's placeholders.
    reasons: Program,
    version: PolicyVersion,
    wasm: Vec<u8>,
    data: DataStore,
    pool: InstancePool,
}

impl Policy {
    /// Validates and compiles `wasm` once; makes the first instance now so a bad module is
    /// refused at load time, not on the first request.
    pub(crate) fn load(engine: &Engine, wasm: Vec<u8>) -> Result<Policy, EngineError> {
        let manifest = abi::read_manifest(&wasm).map_err(EngineError::manifest)?;
        let module = Module::new(engine.wasmtime(), &wasm).map_err(|e| EngineError::InvalidModule(format!("{e:#}")))?;
        let pre = Linker::new(engine.wasmtime())
            .instantiate_pre(&module)
            .map_err(|e| EngineError::InvalidModule(format!("{e:#}")))?;
        let first = ReadyInstance::new(&pre)?;
        let data = DataStore::new(&manifest, &serde_json::Value::Object(Default::default()), first.heap_base())?;
        let version = PolicyVersion { package: manifest.package.clone(), hash: manifest.source_hash.clone() };
        let pool = InstancePool::new(pre, first);
        let reasons = manifest.reason_program();
        Ok(Policy { shared: Arc::new(Shared { manifest, reasons, version, wasm, data, pool }) })
    }

    /// Builder form of [`Policy::replace_shared_data`], for a policy just loaded: like it, it
    /// changes the data of every clone already made.
    pub fn with_data(self, data: &serde_json::Value) -> Result<Policy, EngineError> {
        self.replace_shared_data(data)?;
        Ok(self)
    }

    /// Replaces the data document (registries, revocation lists) in place, for this policy
    /// *and every clone of it* (clones share one data store), without recompiling. The next
    /// decision of any clone sees the new data. On error the previous data stays in force. To
    /// change the data of one policy only, use [`Policy::fork_with_own_data`].
    pub fn replace_shared_data(&self, data: &serde_json::Value) -> Result<(), EngineError> {
        self.shared.data.replace(&self.shared.manifest, data)
    }

    /// A new, independent policy: the same compiled module with its own `data`, sharing no data
    /// with this one, which (with its clones) keeps deciding with its old data. What a gateway
    /// swaps in atomically, so no decision sees old rules with new data or the reverse. Costs
    /// one instantiation, no compilation.
    pub fn fork_with_own_data(&self, data: &serde_json::Value) -> Result<Policy, EngineError> {
        let pool = self.shared.pool.sibling()?;
        let base = self.shared.data.current().image.base();
        let data = DataStore::new(&self.shared.manifest, data, base)?;
        let shared = Shared {
            manifest: self.shared.manifest.clone(),
            reasons: self.shared.reasons.clone(),
            version: self.shared.version.clone(),
            wasm: self.shared.wasm.clone(),
            data,
            pool,
        };
        Ok(Policy { shared: Arc::new(shared) })
    }

    /// Decides `request`. Errors mean no decision was made; treat them as a deny (or use
    /// [`Policy::decide_or_deny`]).
    ///
    /// Revocations the data lists (`revoked_instances`, `revoked_client_ids`, `revoked_jtis`)
    /// are enforced first, on every hop of the chain: a revoked request is denied without
    /// running the policy, whatever its rules say.
    pub fn decide(&self, request: &Request) -> Result<Decision, EngineError> {
        let data = self.shared.data.current();
        if let Some(reason) = data.revocations.refusal(request) {
            return Ok(self.deny(reason));
        }
        let mut instance = self.shared.pool.take()?;
        let answer = instance.decide(&self.shared.manifest, &data, request);
        // A trapped instance may hold half-written state: drop it rather than reuse it.
        if !matches!(answer, Err(EngineError::Trap(_))) {
            self.shared.pool.give_back(instance);
        }
        self.decision_from(answer?, request)
    }

    /// Fails closed: any error becomes a deny whose reason is the error.
    pub fn decide_or_deny(&self, request: &Request) -> Decision {
        self.decide(request).unwrap_or_else(|error| self.deny(format!("engine error: {error}")))
    }

    /// A deny of this policy version for a reason found before the policy could run (an
    /// invalid token, a revoked agent): the decision still names the policy version.
    pub fn deny(&self, reason: String) -> Decision {
        Decision::deny_with_reason(reason, self.shared.version.clone())
    }

    /// The module's manifest: ABI version, package, literals, slots and rules.
    pub fn manifest(&self) -> &Manifest {
        &self.shared.manifest
    }

    /// Hex SHA-256 of the policy source: the version every decision reports.
    pub fn hash(&self) -> &str {
        &self.shared.version.hash
    }

    /// The `package` the policy declares.
    pub fn package(&self) -> &str {
        &self.shared.version.package
    }

    /// The standalone module, as `warrant build` writes it.
    pub fn wasm_bytes(&self) -> &[u8] {
        &self.shared.wasm
    }

    /// Names the fired rules and cross-checks the guest's verdict against them: a module that
    /// contradicts itself is not trusted.
    fn decision_from(&self, answer: GuestAnswer, request: &Request) -> Result<Decision, EngineError> {
        let verdict = i32::from(answer.allowed);
        let fired = answer
            .fired
            .iter()
            .map(|&id| {
                let undecided = answer.undecided.iter().find(|(rule, _)| *rule == id).map(|(_, message)| message);
                self.fired_rule(id, undecided, request).ok_or(EngineError::InconsistentVerdict { verdict })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let decision = Decision::from_fired(fired, self.shared.version.clone());
        if decision.allowed != answer.allowed {
            return Err(EngineError::InconsistentVerdict { verdict });
        }
        Ok(decision)
    }

    /// The allow or deny rule `id`, with its deny reason (its placeholders rendered from
    /// `request`, naming the value it could not read when it fired `undecided`); `None` for
    /// helper or unknown ids.
    fn fired_rule(
        &self,
        id: RuleId,
        undecided: Option<&String>,
        request: &Request,
    ) -> Option<(FiredRule, Option<String>)> {
        let rule = self.shared.manifest.rules.get(usize::try_from(id).ok()?)?;
        let (kind, reason) = match (&rule.kind, undecided) {
            (RuleKind::Allow, None) => (Effect::Allow, None),
            (RuleKind::Deny { reason }, undecided) => {
                let program = &self.shared.reasons;
                let evaluator = Evaluator::new(program, request, &serde_json::Value::Null);
                let value = |expr: &_| evaluator.value(expr, None);
                (Effect::Deny, Some(fired_reason(reason, program.template(id), undecided.map(String::as_str), value)))
            }
            (RuleKind::Allow, Some(_)) => return None,
            (RuleKind::Helper, _) => return None,
        };
        Some((FiredRule { name: rule.name.clone(), kind }, reason))
    }
}
