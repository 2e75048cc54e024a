//! The three engines behind one interface, each set up from a [`Scenario`] with its inputs
//! already built (so only deciding is timed), and checked to agree before anything is timed.
use std::str::FromStr;

use warrant_benches::peer_input::{cedar_entities, cedar_request, rego_input};
use warrant_benches::{Scenario, REGO_ENTRYPOINT};
use warrant_engine::{ClaimMapping, Engine, Policy, Request};

/// One engine, ready to decide the scenario's request again and again.
pub trait Contender: Sync {
    /// Column of the report table and criterion function name.
    fn name(&self) -> &'static str;
    /// Decides the prepared request: `Ok(true)` means allowed. An engine error (including a
    /// Cedar policy that failed to evaluate) is an `Err`, so setup can tell it from a deny.
    fn decide(&self) -> Result<bool, String>;
}

/// Warrant: the compiled policy in wasmtime, deciding on the resolved request (encoding the
/// request for the guest is part of every decision, as in production).
struct Warrant {
    policy: Policy,
    request: Request,
}

impl Contender for Warrant {
    fn name(&self) -> &'static str {
        "warrant"
    }
    fn decide(&self) -> Result<bool, String> {
        self.policy.decide(&self.request).map(|decision| decision.allowed).map_err(|e| e.to_string())
    }
}

/// regorus: the policy compiled for its entry point, with the input already converted.
struct Regorus {
    policy: regorus::CompiledPolicy,
    input: regorus::Value,
}

impl Contender for Regorus {
    fn name(&self) -> &'static str {
        "regorus"
    }
    fn decide(&self) -> Result<bool, String> {
        match self.policy.eval_with_input(self.input.clone()) {
            Ok(regorus::Value::Bool(allowed)) => Ok(allowed),
            Ok(other) => Err(format!("`allow` is not a boolean: {other}")),
            Err(e) => Err(e.to_string()),
        }
    }
}

/// cedar-policy: parsed policy set and entity store, with the request already built.
struct Cedar {
    authorizer: cedar_policy::Authorizer,
    policies: cedar_policy::PolicySet,
    entities: cedar_policy::Entities,
    request: cedar_policy::Request,
}

impl Contender for Cedar {
    fn name(&self) -> &'static str {
        "cedar"
    }
    fn decide(&self) -> Result<bool, String> {
        let response = self.authorizer.is_authorized(&self.request, &self.policies, &self.entities);
        let first_error = response.diagnostics().errors().next().map(ToString::to_string);
        match first_error {
            Some(error) => Err(error),
            None => Ok(response.decision() == cedar_policy::Decision::Allow),
        }
    }
}

/// Sets up the three engines for `scenario` and checks that each reaches the expected
/// decision without error. Panics (failing the bench run) on any setup error or disagreement.
pub fn prepare(engine: &Engine, scenario: &Scenario) -> Vec<Box<dyn Contender>> {
    let label = format!("{}/{}", scenario.group, scenario.parameter);
    let request = Request::from_json(scenario.request.clone(), &ClaimMapping::default())
        .unwrap_or_else(|e| panic!("{label}: request: {e}"));
    let contenders: Vec<Box<dyn Contender>> = vec![
        warrant(engine, scenario, &request, &label),
        regorus(scenario, &request, &label),
        cedar(scenario, &request, &label),
    ];
    for contender in &contenders {
        assert_eq!(
            contender.decide(),
            Ok(scenario.expected_allowed),
            "{label}: {} disagrees with the expected decision",
            contender.name()
        );
    }
    contenders
}

fn warrant(engine: &Engine, scenario: &Scenario, request: &Request, label: &str) -> Box<dyn Contender> {
    let policy = engine
        .compile_policy(&scenario.warrant_policy, label)
        .and_then(|policy| policy.with_data(&scenario.data))
        .unwrap_or_else(|e| panic!("{label}: warrant: {e}"));
    Box::new(Warrant { policy, request: request.clone() })
}

fn regorus(scenario: &Scenario, request: &Request, label: &str) -> Box<dyn Contender> {
    let data =
        regorus::Value::from_json_str(&scenario.data.to_string()).unwrap_or_else(|e| panic!("{label}: data: {e}"));
    let input = regorus::Value::from_json_str(&rego_input(request).to_string())
        .unwrap_or_else(|e| panic!("{label}: rego input: {e}"));
    let module = regorus::PolicyModule { id: "bench.rego".into(), content: scenario.rego_policy.as_str().into() };
    let policy = regorus::compile_policy_with_entrypoint(data, &[module], REGO_ENTRYPOINT.into())
        .unwrap_or_else(|e| panic!("{label}: regorus: {e}"));
    Box::new(Regorus { policy, input })
}

fn cedar(scenario: &Scenario, request: &Request, label: &str) -> Box<dyn Contender> {
    let policies = cedar_policy::PolicySet::from_str(&scenario.cedar_policy)
        .unwrap_or_else(|e| panic!("{label}: cedar policies: {e}"));
    let entities = cedar_policy::Entities::from_json_value(cedar_entities(&scenario.data), None)
        .unwrap_or_else(|e| panic!("{label}: cedar entities: {e}"));
    let parts = cedar_request(request);
    let uid = |json: serde_json::Value| {
        cedar_policy::EntityUid::from_json(json).unwrap_or_else(|e| panic!("{label}: cedar uid: {e}"))
    };
    let context = cedar_policy::Context::from_json_value(parts.context, None)
        .unwrap_or_else(|e| panic!("{label}: cedar context: {e}"));
    let request =
        cedar_policy::Request::new(uid(parts.principal), uid(parts.action), uid(parts.resource), context, None)
            .unwrap_or_else(|e| panic!("{label}: cedar request: {e}"));
    Box::new(Cedar { authorizer: cedar_policy::Authorizer::new(), policies, entities, request })
}
