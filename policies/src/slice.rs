//! The policies that can apply to a request, set aside per kind of caller
//! and action when the set loads.
//!
//! Cedar looks at every policy of the set it is given, and half of the
//! shipped policies name other actions or the other kind of caller in their
//! scope: each still cost an evaluation, however quick, and its share of
//! the answer's bookkeeping. A policy is left out of a slice only when its
//! scope alone rules the request out — a principal constraint naming
//! another entity type, an action constraint that cannot hold — which is
//! exactly when Cedar would have found it not satisfied without looking at
//! its conditions (the scope is evaluated first and short-circuits), so
//! the decision, its reasons and its errors are those of the whole set.
//! Action constraints are trusted only while the schema declares no action
//! groups: with groups, `action in [G]` holds for G's members too, so no
//! policy is left out on its action.

use std::collections::HashMap;

use cedar_policy::{ActionConstraint, EntityUid, Policy, PolicySet, PrincipalConstraint, Schema};

use crate::{error::PolicyError, evaluate::uid, request::Action};

/// Who asks, as far as the scope of a policy can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Caller {
    Agent,
    Applicant,
}

impl Caller {
    const ALL: [Self; 2] = [Self::Agent, Self::Applicant];

    fn type_name(self) -> &'static str {
        match self {
            Self::Agent => "Vault::Agent",
            Self::Applicant => "Vault::Applicant",
        }
    }
}

/// One policy set per (caller, action), each holding only the policies
/// whose scope can match.
#[derive(Debug)]
pub(crate) struct Slices {
    sets: HashMap<(Caller, Action), PolicySet>,
}

impl Slices {
    pub(crate) fn new(schema: &Schema, policies: &PolicySet) -> Result<Self, PolicyError> {
        let groups = schema.action_groups().next().is_some();
        let mut sets = HashMap::new();
        for caller in Caller::ALL {
            for action in Action::ALL {
                let action_uid = uid("Vault::Action", action.as_str())?;
                let mut set = PolicySet::new();
                for p in policies.policies() {
                    if may_apply(p, caller, &action_uid, groups) {
                        set.add(p.clone()).map_err(|e| PolicyError::Request(e.to_string()))?;
                    }
                }
                sets.insert((caller, action), set);
            }
        }
        Ok(Self { sets })
    }

    /// The policies that may apply; `None` never happens for a set built by
    /// [`Slices::new`] (every pair is there).
    pub(crate) fn get(&self, caller: Caller, action: Action) -> Option<&PolicySet> {
        self.sets.get(&(caller, action))
    }

    #[cfg(test)]
    fn ids(&self, caller: Caller, action: Action) -> Vec<String> {
        let mut v: Vec<String> = self.sets[&(caller, action)].policies().map(|p| p.id().to_string()).collect();
        v.sort();
        v
    }
}

/// Whether the scope of `p` leaves room for `caller` doing `action`.
fn may_apply(p: &Policy, caller: Caller, action: &EntityUid, groups: bool) -> bool {
    let principal = match p.principal_constraint() {
        PrincipalConstraint::Any | PrincipalConstraint::In(_) => true,
        PrincipalConstraint::Eq(u) => u.type_name().to_string() == caller.type_name(),
        PrincipalConstraint::Is(t) | PrincipalConstraint::IsIn(t, _) => t.to_string() == caller.type_name(),
    };
    let act = groups
        || match p.action_constraint() {
            ActionConstraint::Any => true,
            ActionConstraint::Eq(a) => a == *action,
            ActionConstraint::In(list) => list.contains(action),
        };
    principal && act
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::Engine;

    #[test]
    fn a_slice_keeps_what_can_apply_and_nothing_the_scope_rules_out() {
        let engine = Engine::builtin("default").unwrap();
        let s = engine.slices();
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
                                        .request(engine.schema(), &q)
                                        .map(|(r, e)| engine.evaluate(None, &r, &e))
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

    #[test]
    fn with_action_groups_nothing_is_left_out_on_its_action() {
        let schema = Schema::from_cedarschema_str(
            "entity U; entity R; action \"all\"; action \"read\" in [\"all\"] appliesTo { principal: U, resource: R };",
        )
        .unwrap()
        .0;
        let set: PolicySet = r#"permit (principal, action in [Action::"all"], resource);"#.parse().unwrap();
        let p = set.policies().next().unwrap();
        let read = uid("Action", "read").unwrap();
        assert!(may_apply(p, Caller::Agent, &read, true));
        assert!(!may_apply(p, Caller::Agent, &read, false), "without groups, `in [all]` is `== all`");
    }
}
