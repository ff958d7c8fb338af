//! Loading, validating and evaluating a policy set.

use std::{collections::HashSet, path::Path, str::FromStr};

use cedar_policy::{
    Authorizer, Decision as CedarDecision, Entities, PolicyId, PolicySet, Request, Schema, ValidationMode, Validator,
};

pub use crate::error::PolicyError;
use crate::{
    evaluate::{PreparedPrincipal, Question},
    request::{AccessRequest, Decision, Principal},
    scope::WorklistScope,
    slice::Slices,
};

/// The schema every policy set is checked against.
pub const SCHEMA: &str = include_str!("../schema.cedarschema");

/// Policy sets shipped with the vault, by name: (file name, text).
pub const BUILTIN_SETS: [(&str, &[(&str, &str)]); 2] = [
    (
        "default",
        &[
            ("10-agents.cedar", include_str!("../default/10-agents.cedar")),
            ("15-authentification.cedar", include_str!("../default/15-authentification.cedar")),
            ("20-guichets.cedar", include_str!("../default/20-guichets.cedar")),
            ("30-partenaires.cedar", include_str!("../default/30-partenaires.cedar")),
            ("40-demandeur.cedar", include_str!("../default/40-demandeur.cedar")),
            ("50-gestionnaire.cedar", include_str!("../default/50-gestionnaire.cedar")),
            ("60-radiation.cedar", include_str!("../default/60-radiation.cedar")),
        ],
    ),
    (
        "consult-only",
        &[
            ("10-agents.cedar", include_str!("../consult-only/10-agents.cedar")),
            ("20-mairies.cedar", include_str!("../consult-only/20-mairies.cedar")),
            ("30-partenaires.cedar", include_str!("../consult-only/30-partenaires.cedar")),
            ("40-demandeur.cedar", include_str!("../consult-only/40-demandeur.cedar")),
            ("50-gestionnaire.cedar", include_str!("../consult-only/50-gestionnaire.cedar")),
            ("60-radiation.cedar", include_str!("../consult-only/60-radiation.cedar")),
        ],
    ),
];

/// A validated policy set and its schema.
#[derive(Debug)]
pub struct Engine {
    schema: Schema,
    policies: PolicySet,
    authorizer: Authorizer,
    worklist: WorklistScope,
    /// The policies that can apply, per caller kind and action.
    slices: Slices,
}

impl Engine {
    /// A built-in set by name (`default`, `consult-only`).
    pub fn builtin(name: &str) -> Result<Self, PolicyError> {
        let (_, files) = BUILTIN_SETS
            .iter()
            .find(|(n, _)| *n == name)
            .ok_or_else(|| PolicyError::UnknownBuiltin(name.to_owned()))?;
        Self::from_files(files.iter().map(|(f, t)| ((*f).to_owned(), (*t).to_owned())))
    }

    /// Every `*.cedar` file of a directory, in name order.
    pub fn load_dir(dir: &Path) -> Result<Self, PolicyError> {
        let io = |e: std::io::Error| PolicyError::Io { dir: dir.display().to_string(), message: e.to_string() };
        let mut names: Vec<_> = std::fs::read_dir(dir)
            .map_err(io)?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "cedar"))
            .collect();
        names.sort();
        if names.is_empty() {
            return Err(PolicyError::Empty(dir.display().to_string()));
        }
        let mut files = Vec::new();
        for p in names {
            files.push((p.display().to_string(), std::fs::read_to_string(&p).map_err(io)?));
        }
        Self::from_files(files)
    }

    /// Parses, names (by `@id`) and validates policies.
    pub fn from_files(files: impl IntoIterator<Item = (String, String)>) -> Result<Self, PolicyError> {
        let (schema, _warnings) =
            Schema::from_cedarschema_str(SCHEMA).map_err(|e| PolicyError::Schema(format!("{e:?}")))?;
        let mut policies = PolicySet::new();
        let mut seen = HashSet::new();
        for (file, text) in files {
            let parsed = PolicySet::from_str(&text)
                .map_err(|e| PolicyError::Parse { file: file.clone(), message: e.to_string() })?;
            for p in parsed.policies() {
                let id = p.annotation("id").ok_or_else(|| PolicyError::MissingId { file: file.clone() })?.to_owned();
                if !seen.insert(id.clone()) {
                    return Err(PolicyError::DuplicateId(id));
                }
                policies
                    .add(p.new_id(PolicyId::new(&id)))
                    .map_err(|e| PolicyError::Parse { file: file.clone(), message: e.to_string() })?;
            }
        }
        let result = Validator::new(schema.clone()).validate(&policies, ValidationMode::Strict);
        if !result.validation_passed() {
            let msgs: Vec<String> = result.validation_errors().map(|e| format!("  - {e}")).collect();
            return Err(PolicyError::Invalid(msgs.join("\n")));
        }
        let worklist = WorklistScope::derive(&schema, &policies)?;
        let slices = Slices::new(&schema, &policies)?;
        Ok(Self { schema, policies, authorizer: Authorizer::new(), worklist, slices })
    }

    /// Ids of the policies in the set.
    pub fn policy_ids(&self) -> Vec<String> {
        self.policies.policies().map(|p| p.id().to_string()).collect()
    }

    /// Decides one request. A request the engine cannot even build (a bug in
    /// the caller) is denied, never allowed.
    pub fn decide(&self, req: &AccessRequest) -> Decision {
        let question = Question {
            action: req.action,
            resource: &req.resource,
            now: req.now,
            purpose: req.purpose.as_deref(),
            grant: req.grant.as_ref(),
            signin: req.signin.as_ref(),
        };
        self.prepare(&req.principal).decide(self, &question)
    }

    /// The caller's entities, built once for many decisions (the worklist
    /// asks about hundreds of dossiers for one agent).
    pub fn prepare(&self, principal: &Principal) -> PreparedPrincipal {
        PreparedPrincipal::new(principal)
    }

    /// What the worklist may read in SQL before asking about each candidate.
    pub fn worklist_scope(&self) -> &WorklistScope {
        &self.worklist
    }

    /// Evaluates against `policies`: the whole set, or the slice of it that
    /// can apply to this caller and action (see `slice`).
    pub(crate) fn evaluate(&self, policies: Option<&PolicySet>, request: &Request, entities: &Entities) -> Decision {
        let response = self.authorizer.is_authorized(request, policies.unwrap_or(&self.policies), entities);
        let mut policies: Vec<String> = response.diagnostics().reason().map(ToString::to_string).collect();
        policies.sort();
        Decision { allowed: response.decision() == CedarDecision::Allow, policies }
    }

    pub(crate) fn schema(&self) -> &Schema {
        &self.schema
    }

    pub(crate) fn slices(&self) -> &Slices {
        &self.slices
    }
}

impl PreparedPrincipal {
    /// Decides one question. A request the engine cannot build (a bug in the
    /// caller) is denied, never allowed.
    pub fn decide(&self, engine: &Engine, q: &Question<'_>) -> Decision {
        match self.request(engine.schema(), q) {
            Some((request, entities)) => {
                let slice = self.caller().and_then(|c| engine.slices().get(c, q.action));
                engine.evaluate(slice, &request, &entities)
            }
            None => Decision { allowed: false, policies: Vec::new() },
        }
    }
}
