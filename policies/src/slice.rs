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

use crate::{error::PolicyError, names::action_uid, request::Action};

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
                let action_id = action_uid(action)?;
                let mut set = PolicySet::new();
                for p in policies.policies() {
                    if may_apply(p, caller, &action_id, groups) {
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
    pub(crate) fn ids(&self, caller: Caller, action: Action) -> Vec<String> {
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

    #[test]
    fn with_action_groups_nothing_is_left_out_on_its_action() {
        let schema = Schema::from_cedarschema_str(
            "entity U; entity R; action \"all\"; action \"read\" in [\"all\"] appliesTo { principal: U, resource: R };",
        )
        .unwrap()
        .0;
        let set: PolicySet = r#"permit (principal, action in [Action::"all"], resource);"#.parse().unwrap();
        assert!(schema.action_groups().next().is_some(), "the schema declares a group");
        let p = set.policies().next().unwrap();
        let read = crate::names::uid("Action", "read").unwrap();
        assert!(may_apply(p, Caller::Agent, &read, true));
        assert!(!may_apply(p, Caller::Agent, &read, false), "without groups, `in [all]` is `== all`");
    }
}
