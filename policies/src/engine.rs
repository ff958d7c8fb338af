//! Loading, validating and evaluating a policy set.

use std::{
    collections::{HashMap, HashSet},
    path::Path,
    str::FromStr,
    sync::Mutex,
};

use cedar_policy::{
    Authorizer, Decision as CedarDecision, Entities, PolicyId, PolicySet, Request, Schema, ValidationMode, Validator,
};

pub use crate::error::PolicyError;
use crate::{
    evaluate::{PreparedPrincipal, Question},
    request::{AccessRequest, Decision, Principal},
    scope::WorklistScope,
    shapes::{Checked, Shape},
    slice::Slices,
};

/// Callers whose entities are kept built (see [`Engine::prepare`]); beyond
/// this many, the store starts again empty. A territory's agents at work
/// at once number in the hundreds; an entry is a few KB (a town hall's
/// communes), so the store stays within a few MB of the server's memory.
const PREPARED_KEPT: usize = 512;

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
    /// The request shapes already checked against the schema.
    checked: Checked,
    /// Callers' entities already built, by the very facts they were built
    /// from: an organisation whose territory or kind changes, an agent
    /// disabled, is another key, so nothing stale is ever found.
    prepared: Mutex<HashMap<Principal, PreparedPrincipal>>,
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
        let checked = Checked::new(&schema);
        Ok(Self {
            schema,
            policies,
            authorizer: Authorizer::new(),
            worklist,
            slices,
            checked,
            prepared: Mutex::new(HashMap::new()),
        })
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
    /// asks about hundreds of dossiers for one agent), and kept for the
    /// caller's next request: an agent opens dozens of dossiers a day, and
    /// building an organisation's entity (its territory's sets) was a fifth
    /// of a decision.
    pub fn prepare(&self, principal: &Principal) -> PreparedPrincipal {
        if let Ok(kept) = self.prepared.lock()
            && let Some(p) = kept.get(principal)
        {
            return p.clone();
        }
        let p = PreparedPrincipal::new(principal);
        if let Ok(mut kept) = self.prepared.lock() {
            if kept.len() >= PREPARED_KEPT {
                kept.clear();
            }
            kept.insert(principal.clone(), p.clone());
        }
        p
    }

    /// What the worklist may read in SQL before asking about each candidate.
    pub fn worklist_scope(&self) -> &WorklistScope {
        &self.worklist
    }

    /// Evaluates against `policies`: the slice of the set that can apply to
    /// this caller and action (see `slice`), or the whole set.
    pub(crate) fn evaluate(&self, policies: &PolicySet, request: &Request, entities: &Entities) -> Decision {
        let response = self.authorizer.is_authorized(request, policies, entities);
        let mut policies: Vec<String> =
            response.diagnostics().reason().map(|id| AsRef::<str>::as_ref(id).to_owned()).collect();
        policies.sort();
        Decision { allowed: response.decision() == CedarDecision::Allow, policies }
    }

    pub(crate) fn schema(&self) -> &Schema {
        &self.schema
    }
}

impl PreparedPrincipal {
    /// Decides one question. A request the engine cannot build (a bug in the
    /// caller) is denied, never allowed.
    pub fn decide(&self, engine: &Engine, q: &Question<'_>) -> Decision {
        let caller = self.caller();
        let checked = caller.is_some_and(|c| engine.checked.passed(&Shape::of(c, q)));
        let schema = if checked { None } else { Some(engine.schema()) };
        match self.request(schema, q) {
            Some((request, entities)) => {
                let slice = caller.and_then(|c| engine.slices.get(c, q.action));
                engine.evaluate(slice.unwrap_or(&engine.policies), &request, &entities)
            }
            None => Decision { allowed: false, policies: Vec::new() },
        }
    }
}

#[cfg(test)]
mod slice_tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::{request::Action, slice::Caller};

    #[test]
    fn a_slice_keeps_what_can_apply_and_nothing_the_scope_rules_out() {
        let engine = Engine::builtin("default").unwrap();
        let s = &engine.slices;
        assert_eq!(
            s.ids(Caller::Agent, Action::DossierRead),
            [
                "agent-disabled",
                "autorisation-explicite",
                "guichet-territoire",
                "partenaire-territoire",
                "radie-partenaires"
            ]
        );
        assert_eq!(s.ids(Caller::Applicant, Action::DossierRead), ["demandeur-son-dossier"]);
        assert_eq!(
            s.ids(Caller::Agent, Action::PieceReadOriginal),
            ["agent-disabled", "guichet-territoire", "originaux-double-facteur", "radie-partenaires"]
        );
        assert_eq!(
            s.ids(Caller::Applicant, Action::PieceUpload),
            ["demandeur-son-dossier", "radie-fige"],
            "a forbid on any principal stays in every caller's slice"
        );
        // Resource types are not sliced on: a forbid on any dossier stays.
        assert_eq!(
            s.ids(Caller::Agent, Action::PlatformManage),
            ["agent-disabled", "gestionnaire-plateforme", "radie-partenaires"]
        );
    }

    /// Every decision through the slices equals the decision of the whole
    /// set, reasons included, over callers of every kind, both statuses,
    /// live, dead and absent grants, purposes and sign-in levels, for every
    /// action, in both shipped sets.
    #[test]
    fn sliced_decisions_are_the_whole_sets_decisions() {
        use crate::{
            evaluate::Question,
            request::{DossierFacts, GrantFacts, OrgFacts, Principal, Resource, SignInFacts},
        };
        let org = |kind: &str, registering: bool, communes: &[&str], deps: &[&str]| OrgFacts {
            id: format!("o-{kind}-{registering}"),
            kind: kind.into(),
            registering,
            communes: communes.iter().map(|c| (*c).to_owned()).collect(),
            departements: deps.iter().map(|d| (*d).to_owned()).collect(),
        };
        let mut principals = Vec::new();
        for (o, active) in [
            (org("guichet", true, &["59183"], &[]), true),
            (org("guichet", true, &["59183"], &[]), false),
            (org("bailleur", false, &[], &["59"]), true),
            (org("reservataire", false, &["62041"], &[]), true),
            (org("etat", true, &[], &["80"]), true),
            (org("gestionnaire", true, &[], &["59"]), true),
        ] {
            principals.push(Principal::Agent { id: "a".into(), organisation: o, active });
        }
        principals.push(Principal::Applicant { id: "p".into(), dossier: "D".into() });
        principals.push(Principal::Applicant { id: "q".into(), dossier: "E".into() });
        let dossier = |status: &str, commune: &str| {
            Resource::Dossier(DossierFacts {
                id: "D".into(),
                status: status.into(),
                communes: vec![commune.into()],
                departements: vec![commune[..2].into()],
            })
        };
        let resources =
            [dossier("active", "59183"), dossier("radiated", "59183"), dossier("active", "13055"), Resource::Platform];
        let grants = [
            None,
            Some(GrantFacts { expires_at: 2_000, revoked: false, purpose: "attribution".into() }),
            Some(GrantFacts { expires_at: 2_000, revoked: true, purpose: "attribution".into() }),
            Some(GrantFacts { expires_at: 500, revoked: false, purpose: "attribution".into() }),
        ];
        let signins = [
            None,
            Some(SignInFacts { acr: "eidas1".into(), amr: vec!["pwd".into()] }),
            Some(SignInFacts { acr: "eidas2".into(), amr: vec!["mfa".into()] }),
        ];
        for set in ["default", "consult-only"] {
            let engine = Engine::builtin(set).unwrap();
            let mut compared = 0;
            for p in &principals {
                let prepared = engine.prepare(p);
                for action in Action::ALL {
                    for resource in &resources {
                        for grant in &grants {
                            for purpose in [None, Some("attribution"), Some("instruction")] {
                                for signin in &signins {
                                    let q = Question {
                                        action,
                                        resource,
                                        now: 1_000,
                                        purpose,
                                        grant: grant.as_ref(),
                                        signin: signin.as_ref(),
                                    };
                                    let sliced = prepared.decide(&engine, &q);
                                    let whole = prepared
                                        .request(Some(engine.schema()), &q)
                                        .map(|(r, e)| engine.evaluate(&engine.policies, &r, &e))
                                        .unwrap_or(crate::Decision { allowed: false, policies: Vec::new() });
                                    assert_eq!(
                                        sliced, whole,
                                        "{set}: {p:?} {action:?} {resource:?} {grant:?} {purpose:?} {signin:?}"
                                    );
                                    compared += 1;
                                }
                            }
                        }
                    }
                }
            }
            assert_eq!(compared, 8 * 13 * 4 * 4 * 3 * 3);
        }
    }
}
