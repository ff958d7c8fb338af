//! How far the permits that open a dossier (`dossier.read`) can reach, so
//! the worklist can narrow its candidates in SQL before asking the engine
//! about each one.
//!
//! Each such permit says where it reaches with an annotation:
//! `@worklist("territory")` (dossiers wishing a commune or département of
//! the caller's organisation), `@worklist("grant")` (dossiers on which the
//! caller's organisation holds a grant, live or not), `@worklist("own-dossier")`
//! (the signed-in applicant's dossier) or `@worklist("all")`. A permit
//! without the annotation counts as `all`: the worklist then examines every
//! dossier, slower but still exact.
//!
//! The list stays exact only if the annotations are true, so they are
//! checked when the set is loaded: each annotated permit, alone, is asked
//! about every combination of caller kind, territory, status, grant state
//! and purpose its annotation does not cover, and must allow none of them.
//! That is a probe over representative facts, not a proof; the vault's
//! property test (worklist ⇔ single check on random data) is the proof for
//! the shipped sets.

use cedar_policy::{ActionConstraint, Authorizer, Decision as CedarDecision, Effect, PolicySet, Schema};

use crate::{
    error::PolicyError,
    evaluate::{PreparedPrincipal, Question},
    request::{Action, DossierFacts, GrantFacts, OrgFacts, Principal, Resource},
};

/// The union of what the `dossier.read` permits of a set reach.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorklistScope {
    /// Dossiers wishing a commune or département of the caller's territory.
    pub territory: bool,
    /// Dossiers on which the caller's organisation holds any grant.
    pub grants: bool,
    /// The signed-in applicant's own dossier.
    pub own_dossier: bool,
    /// Ids of the permits that may reach any dossier (annotated `all`, or
    /// not annotated): when not empty the worklist examines every dossier.
    pub unrestricted: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reach {
    Territory,
    Grant,
    OwnDossier,
}

impl WorklistScope {
    pub(crate) fn derive(schema: &Schema, policies: &PolicySet) -> Result<Self, PolicyError> {
        let read = crate::names::action_uid(Action::DossierRead)?;
        let mut scope = Self::default();
        for p in policies.policies() {
            let opens = match p.action_constraint() {
                ActionConstraint::Any => true,
                ActionConstraint::Eq(a) => a == read,
                ActionConstraint::In(list) => list.contains(&read),
            };
            if p.effect() != Effect::Permit || !opens {
                continue;
            }
            let id = p.id().to_string();
            let reach = match p.annotation("worklist") {
                None | Some("all") => {
                    scope.unrestricted.push(id);
                    continue;
                }
                Some("territory") => Reach::Territory,
                Some("grant") => Reach::Grant,
                Some("own-dossier") => Reach::OwnDossier,
                Some(other) => {
                    return Err(PolicyError::Worklist(format!(
                        "policy {id}: @worklist({other:?}) must be \"territory\", \"grant\", \"own-dossier\" or \"all\""
                    )));
                }
            };
            let mut alone = PolicySet::new();
            alone.add(p.clone()).map_err(|e| PolicyError::Worklist(e.to_string()))?;
            probe(schema, &alone, &id, reach)?;
            match reach {
                Reach::Territory => scope.territory = true,
                Reach::Grant => scope.grants = true,
                Reach::OwnDossier => scope.own_dossier = true,
            }
        }
        Ok(scope)
    }
}

/// One probe caller: an agent of some organisation, or an applicant whose
/// own dossier is, or is not, the one asked about.
enum Caller {
    Agent(Principal),
    ApplicantOwn,
    ApplicantOther,
}

fn callers() -> Vec<Caller> {
    let mut out = vec![Caller::ApplicantOwn, Caller::ApplicantOther];
    for kind in ["guichet", "bailleur", "reservataire", "etat", "gestionnaire"] {
        for registering in [true, false] {
            for active in [true, false] {
                out.push(Caller::Agent(Principal::Agent {
                    id: "probe-agent".into(),
                    organisation: OrgFacts {
                        id: "probe-org".into(),
                        kind: kind.into(),
                        registering,
                        communes: vec!["59183".into()],
                        departements: vec!["62".into()],
                    },
                    active,
                }));
            }
        }
    }
    out
}

fn probe(schema: &Schema, alone: &PolicySet, id: &str, reach: Reach) -> Result<(), PolicyError> {
    const NOW: i64 = 1_800_000_000;
    // Inside the territory by commune or by département, or outside it.
    let places: [(&[&str], &[&str], bool); 3] =
        [(&["59183"], &["59"], true), (&["62041"], &["62"], true), (&["75056"], &["75"], false)];
    let grants = [
        None,
        Some(GrantFacts { expires_at: NOW + 86_400, revoked: false, purpose: "attribution".into() }),
        Some(GrantFacts { expires_at: NOW + 86_400, revoked: true, purpose: "attribution".into() }),
        Some(GrantFacts { expires_at: NOW - 1, revoked: false, purpose: "attribution".into() }),
    ];
    let authorizer = Authorizer::new();
    for caller in callers() {
        let (principal, is_agent, own) = match caller {
            Caller::Agent(p) => (p, true, false),
            Caller::ApplicantOwn => (Principal::Applicant { id: "probe".into(), dossier: "D".into() }, false, true),
            Caller::ApplicantOther => (Principal::Applicant { id: "probe".into(), dossier: "E".into() }, false, false),
        };
        let prepared = PreparedPrincipal::new(&principal);
        for (communes, departements, inside) in places {
            for status in ["active", "radiated"] {
                let resource = Resource::Dossier(DossierFacts {
                    id: "D".into(),
                    status: status.into(),
                    communes: communes.iter().map(|s| (*s).to_owned()).collect(),
                    departements: departements.iter().map(|s| (*s).to_owned()).collect(),
                });
                for grant in &grants {
                    let covered = match reach {
                        Reach::Territory => is_agent && inside,
                        Reach::Grant => is_agent && grant.is_some(),
                        Reach::OwnDossier => own,
                    };
                    if covered {
                        continue;
                    }
                    for purpose in [None, Some("attribution")] {
                        let q = Question {
                            action: Action::DossierRead,
                            resource: &resource,
                            now: NOW,
                            purpose,
                            grant: grant.as_ref(),
                            signin: None,
                        };
                        let Some((request, entities)) = prepared.request(Some(schema), &q) else { continue };
                        if authorizer.is_authorized(&request, alone, &entities).decision() == CedarDecision::Allow {
                            return Err(PolicyError::Worklist(format!(
                                "policy {id} is annotated @worklist({:?}) but allows reading a dossier it does not \
                                 cover ({}, dossier {status} in {communes:?}, grant {grant:?}); fix the condition or \
                                 the annotation",
                                match reach {
                                    Reach::Territory => "territory",
                                    Reach::Grant => "grant",
                                    Reach::OwnDossier => "own-dossier",
                                },
                                match &principal {
                                    Principal::Agent { organisation, .. } =>
                                        format!("agent of a {} organisation", organisation.kind),
                                    Principal::Applicant { .. } => "applicant".to_owned(),
                                },
                            )));
                        }
                    }
                }
            }
        }
    }
    Ok(())
}
