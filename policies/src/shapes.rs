//! The shapes of request the schema has been checked for, once, when the
//! set loads.
//!
//! A request is checked against the schema so that a malformed one (an
//! action on the wrong kind of resource, a context attribute the schema
//! does not declare or types otherwise) is refused rather than slipping
//! past a `forbid` whose evaluation would have failed on it. What that
//! check looks at is fixed by the request's *shape*: the kind of caller,
//! the action, the kind of resource, and which optional context attributes
//! are present. Their values cannot change the outcome: every value comes
//! from a Rust field of one type (`now` an `i64`, `purpose` a string,
//! `amr` a list of strings), so two requests of one shape have the same
//! types. Each shape the vault can build is checked here, against the same
//! schema and by the same `Request::new` as before; a decision whose shape
//! passed is then built without repeating the check (it was a fifth of a
//! decision's time), and any other shape is still checked on the spot.

use std::collections::HashSet;

use cedar_policy::Schema;

use crate::{
    evaluate::{PreparedPrincipal, Question},
    request::{Action, DossierFacts, GrantFacts, OrgFacts, Principal, Resource, SignInFacts},
    slice::Caller,
};

/// What the schema check of a request depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Shape {
    caller: Caller,
    action: Action,
    platform: bool,
    purpose: bool,
    grant: bool,
    signin: bool,
}

impl Shape {
    pub(crate) fn of(caller: Caller, q: &Question<'_>) -> Self {
        Self {
            caller,
            action: q.action,
            platform: matches!(q.resource, Resource::Platform),
            purpose: q.purpose.is_some(),
            grant: q.grant.is_some(),
            signin: q.signin.is_some(),
        }
    }
}

/// The shapes whose requests passed the schema check.
#[derive(Debug, Default)]
pub(crate) struct Checked {
    passed: HashSet<Shape>,
}

impl Checked {
    /// Builds one request of every shape, with the schema check.
    pub(crate) fn new(schema: &Schema) -> Self {
        let agent = Principal::Agent {
            id: "a".into(),
            organisation: OrgFacts {
                id: "o".into(),
                kind: "bailleur".into(),
                registering: false,
                communes: vec!["59183".into()],
                departements: vec!["59".into()],
            },
            active: true,
        };
        let applicant = Principal::Applicant { id: "p".into(), dossier: "d".into() };
        let dossier = Resource::Dossier(DossierFacts {
            id: "d".into(),
            status: "active".into(),
            communes: vec!["59183".into()],
            departements: vec!["59".into()],
        });
        let grant = GrantFacts { expires_at: 1, revoked: false, purpose: "instruction".into() };
        let signin = SignInFacts { acr: "eidas1".into(), amr: vec!["pwd".into()] };
        let mut passed = HashSet::new();
        for principal in [&agent, &applicant] {
            let prepared = PreparedPrincipal::new(principal);
            let Some(caller) = prepared.caller() else { continue };
            for action in Action::ALL {
                for resource in [&dossier, &Resource::Platform] {
                    for bits in 0u8..8 {
                        let q = Question {
                            action,
                            resource,
                            now: 1,
                            purpose: (bits & 1 != 0).then_some("instruction"),
                            grant: (bits & 2 != 0).then_some(&grant),
                            signin: (bits & 4 != 0).then_some(&signin),
                        };
                        if prepared.request(Some(schema), &q).is_some() {
                            passed.insert(Shape::of(caller, &q));
                        }
                    }
                }
            }
        }
        Self { passed }
    }

    pub(crate) fn passed(&self, shape: &Shape) -> bool {
        self.passed.contains(shape)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// The vault's schema (the engine's `SCHEMA`; named here by its file,
    /// so that this module does not lean on the engine).
    const SCHEMA: &str = include_str!("../schema.cedarschema");

    fn schema() -> Schema {
        Schema::from_cedarschema_str(SCHEMA).unwrap().0
    }

    #[test]
    fn the_shapes_the_schema_allows_pass_and_the_others_do_not() {
        let checked = Checked::new(&schema());
        // 12 dossier actions for both callers, platform.manage for agents;
        // every combination of the optional context attributes.
        assert_eq!(checked.passed.len(), (12 * 2 + 1) * 8);
        let shape =
            |caller, action, platform| Shape { caller, action, platform, purpose: true, grant: false, signin: true };
        assert!(checked.passed(&shape(Caller::Agent, Action::DossierRead, false)));
        assert!(!checked.passed(&shape(Caller::Agent, Action::DossierRead, true)), "read on the platform");
        assert!(!checked.passed(&shape(Caller::Applicant, Action::PlatformManage, true)), "applicants: no");
        assert!(!checked.passed(&shape(Caller::Agent, Action::PlatformManage, false)), "manage a dossier: no");
    }

    /// A schema whose context declares no `signin`: requests carrying one
    /// fail the check, and their shape is not marked as passed.
    #[test]
    fn a_context_attribute_the_schema_does_not_declare_fails_its_shape() {
        let narrower = SCHEMA.replace("signin?: SignIn,", "");
        assert_ne!(narrower, SCHEMA);
        let checked = Checked::new(&Schema::from_cedarschema_str(&narrower).unwrap().0);
        let base = Shape {
            caller: Caller::Agent,
            action: Action::DossierRead,
            platform: false,
            purpose: false,
            grant: false,
            signin: false,
        };
        assert!(checked.passed(&base));
        assert!(!checked.passed(&Shape { signin: true, ..base }));
    }
}
