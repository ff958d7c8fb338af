//! Loading, validating and evaluating a policy set.

use std::{
    collections::{HashMap, HashSet},
    path::Path,
    str::FromStr,
};

use cedar_policy::{
    Authorizer, Context, Decision as CedarDecision, Entities, Entity, EntityId, EntityTypeName, EntityUid, PolicyId,
    PolicySet, Request, RestrictedExpression, Schema, ValidationMode, Validator,
};

use crate::request::{AccessRequest, Decision, OrgFacts, Principal, Resource};

/// The schema every policy set is checked against.
pub const SCHEMA: &str = include_str!("../schema.cedarschema");

/// Policy sets shipped with the vault, by name: (file name, text).
pub const BUILTIN_SETS: [(&str, &[(&str, &str)]); 2] = [
    (
        "default",
        &[
            ("10-agents.cedar", include_str!("../default/10-agents.cedar")),
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

/// Why a policy set was refused. The message is what an operator needs to
/// fix the files.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("policy schema: {0}")]
    Schema(String),
    #[error("{file}: {message}")]
    Parse { file: String, message: String },
    #[error("{file}: every policy needs an @id(\"…\") annotation")]
    MissingId { file: String },
    #[error("policy id {0:?} is used twice")]
    DuplicateId(String),
    #[error("the policy set does not validate against the schema:\n{0}")]
    Invalid(String),
    #[error("cannot read policy directory {dir}: {message}")]
    Io { dir: String, message: String },
    #[error("no .cedar file in {0}")]
    Empty(String),
    #[error("unknown built-in policy set {0:?}: expected default or consult-only")]
    UnknownBuiltin(String),
    #[error("request: {0}")]
    Request(String),
}

/// A validated policy set and its schema.
#[derive(Debug)]
pub struct Engine {
    schema: Schema,
    policies: PolicySet,
    authorizer: Authorizer,
}

fn uid(ty: &str, id: &str) -> Result<EntityUid, PolicyError> {
    let t = EntityTypeName::from_str(ty).map_err(|e| PolicyError::Request(e.to_string()))?;
    Ok(EntityUid::from_type_name_and_id(t, EntityId::new(id)))
}

fn strings(v: &[String]) -> RestrictedExpression {
    RestrictedExpression::new_set(v.iter().map(|s| RestrictedExpression::new_string(s.clone())))
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
        Ok(Self { schema, policies, authorizer: Authorizer::new() })
    }

    /// Ids of the policies in the set.
    pub fn policy_ids(&self) -> Vec<String> {
        self.policies.policies().map(|p| p.id().to_string()).collect()
    }

    /// Decides one request. A request the engine cannot even build (a bug in
    /// the caller) is denied, never allowed.
    pub fn decide(&self, req: &AccessRequest) -> Decision {
        match self.try_decide(req) {
            Ok(d) => d,
            Err(_) => Decision { allowed: false, policies: Vec::new() },
        }
    }

    fn try_decide(&self, req: &AccessRequest) -> Result<Decision, PolicyError> {
        let mut entities = Vec::new();
        let resource = match &req.resource {
            Resource::Platform => {
                entities.push(Entity::new_no_attrs(uid("Vault::Platform", "vault")?, HashSet::new()));
                uid("Vault::Platform", "vault")?
            }
            Resource::Dossier(d) => {
                let u = uid("Vault::Dossier", &d.id)?;
                let attrs = HashMap::from([
                    ("status".to_owned(), RestrictedExpression::new_string(d.status.clone())),
                    ("communes".to_owned(), strings(&d.communes)),
                    ("departements".to_owned(), strings(&d.departements)),
                ]);
                entities.push(
                    Entity::new(u.clone(), attrs, HashSet::new()).map_err(|e| PolicyError::Request(e.to_string()))?,
                );
                u
            }
        };
        let principal = match &req.principal {
            Principal::Agent { id, organisation, active } => {
                let org = org_entity(organisation)?;
                let org_uid = org.uid();
                entities.push(org);
                let u = uid("Vault::Agent", id)?;
                let attrs = HashMap::from([
                    ("organisation".to_owned(), RestrictedExpression::new_entity_uid(org_uid.clone())),
                    ("active".to_owned(), RestrictedExpression::new_bool(*active)),
                ]);
                entities.push(
                    Entity::new(u.clone(), attrs, HashSet::from([org_uid]))
                        .map_err(|e| PolicyError::Request(e.to_string()))?,
                );
                u
            }
            Principal::Applicant { id, dossier } => {
                let u = uid("Vault::Applicant", id)?;
                let d = uid("Vault::Dossier", dossier)?;
                if !matches!(&req.resource, Resource::Dossier(r) if r.id == *dossier) {
                    // The applicant's own dossier is not the resource: it
                    // still must exist as an entity for the attribute.
                    entities.push(Entity::new_no_attrs(d.clone(), HashSet::new()));
                }
                let attrs = HashMap::from([("dossier".to_owned(), RestrictedExpression::new_entity_uid(d))]);
                entities.push(
                    Entity::new(u.clone(), attrs, HashSet::new()).map_err(|e| PolicyError::Request(e.to_string()))?,
                );
                u
            }
        };
        let mut ctx = vec![("now".to_owned(), RestrictedExpression::new_long(req.now))];
        if let Some(p) = &req.purpose {
            ctx.push(("purpose".to_owned(), RestrictedExpression::new_string(p.clone())));
        }
        if let Some(g) = &req.grant {
            ctx.push((
                "grant".to_owned(),
                RestrictedExpression::new_record([
                    ("expires_at".to_owned(), RestrictedExpression::new_long(g.expires_at)),
                    ("revoked".to_owned(), RestrictedExpression::new_bool(g.revoked)),
                    ("purpose".to_owned(), RestrictedExpression::new_string(g.purpose.clone())),
                ])
                .map_err(|e| PolicyError::Request(e.to_string()))?,
            ));
        }
        let context = Context::from_pairs(ctx).map_err(|e| PolicyError::Request(e.to_string()))?;
        let action = uid("Vault::Action", req.action.as_str())?;
        let request = Request::new(principal, action, resource, context, Some(&self.schema))
            .map_err(|e| PolicyError::Request(e.to_string()))?;
        let entities = Entities::from_entities(entities, None).map_err(|e| PolicyError::Request(e.to_string()))?;
        let response = self.authorizer.is_authorized(&request, &self.policies, &entities);
        let mut policies: Vec<String> = response.diagnostics().reason().map(ToString::to_string).collect();
        policies.sort();
        Ok(Decision { allowed: response.decision() == CedarDecision::Allow, policies })
    }
}

fn org_entity(o: &OrgFacts) -> Result<Entity, PolicyError> {
    let attrs = HashMap::from([
        ("kind".to_owned(), RestrictedExpression::new_string(o.kind.clone())),
        ("registering".to_owned(), RestrictedExpression::new_bool(o.registering)),
        ("communes".to_owned(), strings(&o.communes)),
        ("departements".to_owned(), strings(&o.departements)),
    ]);
    Entity::new(uid("Vault::Organisation", &o.id)?, attrs, HashSet::new())
        .map_err(|e| PolicyError::Request(e.to_string()))
}
