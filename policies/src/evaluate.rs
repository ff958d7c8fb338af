//! Turning the vault's plain facts into Cedar entities and requests.
//!
//! The caller's entities (agent and organisation, whose territory may list
//! hundreds of communes) are built once per [`PreparedPrincipal`]; each
//! question then adds only its dossier. Building the organisation's sets was
//! a third of a decision's time, which the worklist paid per candidate.

use std::collections::{HashMap, HashSet};

use cedar_policy::{Context, Entities, Entity, EntityUid, Request, RestrictedExpression, Schema};

use crate::{
    error::PolicyError,
    names::{action_uid, uid},
    request::{Action, DossierFacts, GrantFacts, OrgFacts, Principal, Resource, SignInFacts},
    slice::Caller,
};

/// One question about a prepared principal.
#[derive(Debug, Clone, Copy)]
pub struct Question<'a> {
    pub action: Action,
    pub resource: &'a Resource,
    /// Unix seconds.
    pub now: i64,
    pub purpose: Option<&'a str>,
    pub grant: Option<&'a GrantFacts>,
    pub signin: Option<&'a SignInFacts>,
}

/// A principal's entities, ready for many decisions.
#[derive(Debug, Clone)]
pub struct PreparedPrincipal {
    /// `None` when the facts could not even be turned into entities: every
    /// decision is then a denial.
    built: Option<Built>,
}

#[derive(Debug, Clone)]
struct Built {
    caller: Caller,
    uid: EntityUid,
    /// The caller's entities, their hierarchy computed once; each question
    /// adds its dossier to a copy (the entities themselves are shared).
    base: Entities,
    /// An applicant's own dossier, added as a bare entity when the question
    /// is about another dossier (the `dossier` attribute must resolve).
    own_dossier: Option<(String, Entity)>,
}

fn strings(v: &[String]) -> RestrictedExpression {
    RestrictedExpression::new_set(v.iter().map(|s| RestrictedExpression::new_string(s.clone())))
}

fn request_error(e: impl ToString) -> PolicyError {
    PolicyError::Request(e.to_string())
}

impl PreparedPrincipal {
    pub(crate) fn new(principal: &Principal) -> Self {
        Self { built: Built::new(principal).ok() }
    }

    /// Who asks, for the slice of the set that can apply.
    pub(crate) fn caller(&self) -> Option<Caller> {
        self.built.as_ref().map(|b| b.caller)
    }

    /// The request and its entities; checked against `schema` when given
    /// (`shapes`: which requests need not be checked again).
    pub(crate) fn request(&self, schema: Option<&Schema>, q: &Question<'_>) -> Option<(Request, Entities)> {
        self.built.as_ref()?.request(schema, q).ok()
    }
}

impl Built {
    fn new(principal: &Principal) -> Result<Self, PolicyError> {
        match principal {
            Principal::Agent { id, organisation, active } => {
                let org = org_entity(organisation)?;
                let org_uid = org.uid();
                let u = uid("Vault::Agent", id)?;
                let attrs = HashMap::from([
                    ("organisation".to_owned(), RestrictedExpression::new_entity_uid(org_uid.clone())),
                    ("active".to_owned(), RestrictedExpression::new_bool(*active)),
                ]);
                let agent = Entity::new(u.clone(), attrs, HashSet::from([org_uid])).map_err(request_error)?;
                let base = Entities::from_entities([org, agent], None).map_err(request_error)?;
                Ok(Self { caller: Caller::Agent, uid: u, base, own_dossier: None })
            }
            Principal::Applicant { id, dossier } => {
                let u = uid("Vault::Applicant", id)?;
                let d = uid("Vault::Dossier", dossier)?;
                let attrs = HashMap::from([("dossier".to_owned(), RestrictedExpression::new_entity_uid(d.clone()))]);
                let applicant = Entity::new(u.clone(), attrs, HashSet::new()).map_err(request_error)?;
                Ok(Self {
                    caller: Caller::Applicant,
                    uid: u,
                    base: Entities::from_entities([applicant], None).map_err(request_error)?,
                    own_dossier: Some((dossier.clone(), Entity::new_no_attrs(d, HashSet::new()))),
                })
            }
        }
    }

    fn request(&self, schema: Option<&Schema>, q: &Question<'_>) -> Result<(Request, Entities), PolicyError> {
        let mut entities = Vec::with_capacity(2);
        let resource = match q.resource {
            Resource::Platform => {
                let u = uid("Vault::Platform", "vault")?;
                entities.push(Entity::new_no_attrs(u.clone(), HashSet::new()));
                u
            }
            Resource::Dossier(d) => {
                let entity = dossier_entity(d)?;
                let u = entity.uid();
                entities.push(entity);
                u
            }
        };
        if let Some((own, stub)) = &self.own_dossier
            && !matches!(q.resource, Resource::Dossier(r) if r.id == *own)
        {
            entities.push(stub.clone());
        }
        let mut ctx = vec![("now".to_owned(), RestrictedExpression::new_long(q.now))];
        if let Some(p) = q.purpose {
            ctx.push(("purpose".to_owned(), RestrictedExpression::new_string(p.to_owned())));
        }
        if let Some(g) = q.grant {
            ctx.push((
                "grant".to_owned(),
                RestrictedExpression::new_record([
                    ("expires_at".to_owned(), RestrictedExpression::new_long(g.expires_at)),
                    ("revoked".to_owned(), RestrictedExpression::new_bool(g.revoked)),
                    ("purpose".to_owned(), RestrictedExpression::new_string(g.purpose.clone())),
                ])
                .map_err(request_error)?,
            ));
        }
        if let Some(s) = q.signin {
            ctx.push((
                "signin".to_owned(),
                RestrictedExpression::new_record([
                    ("acr".to_owned(), RestrictedExpression::new_string(s.acr.clone())),
                    (
                        "amr".to_owned(),
                        RestrictedExpression::new_set(
                            s.amr.iter().map(|m| RestrictedExpression::new_string(m.clone())),
                        ),
                    ),
                ])
                .map_err(request_error)?,
            ));
        }
        let context = Context::from_pairs(ctx).map_err(request_error)?;
        let action = action_uid(q.action)?;
        // Checked against the schema (here, or once for its shape: see
        // `shapes`): a malformed request must not slip past a forbid that
        // would have matched.
        let request = Request::new(self.uid.clone(), action, resource, context, schema).map_err(request_error)?;
        let entities = self.base.clone().add_entities(entities, None).map_err(request_error)?;
        Ok((request, entities))
    }
}

fn org_entity(o: &OrgFacts) -> Result<Entity, PolicyError> {
    let attrs = HashMap::from([
        ("kind".to_owned(), RestrictedExpression::new_string(o.kind.clone())),
        ("registering".to_owned(), RestrictedExpression::new_bool(o.registering)),
        ("communes".to_owned(), strings(&o.communes)),
        ("departements".to_owned(), strings(&o.departements)),
    ]);
    Entity::new(uid("Vault::Organisation", &o.id)?, attrs, HashSet::new()).map_err(request_error)
}

fn dossier_entity(d: &DossierFacts) -> Result<Entity, PolicyError> {
    let attrs = HashMap::from([
        ("status".to_owned(), RestrictedExpression::new_string(d.status.clone())),
        ("communes".to_owned(), strings(&d.communes)),
        ("departements".to_owned(), strings(&d.departements)),
    ]);
    Entity::new(uid("Vault::Dossier", &d.id)?, attrs, HashSet::new()).map_err(request_error)
}
