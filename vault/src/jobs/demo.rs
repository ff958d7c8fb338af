//! `dnu-vault demo`: seeds a small territory to try the vault with — a
//! registering guichet (Dunkerque), two bailleurs on different territories
//! (Nord, Pas-de-Calais) and an applicant's dossier — and returns the
//! credentials. Running it again reuses the organisations and issues new
//! agents and a new dossier.

use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{
    app::Vault,
    auth::new_token,
    crypto::DossierKey,
    db::{
        dossiers::{NewDossier, NumberSource},
        orgs::{NewOrganisation, Organisation},
    },
    domain::{CommuneCode, GuichetCode, OrgKind, PieceKind, Siren, TerritoryCode},
    dossiers::{Credentials, one_year_after},
    error::Error,
};

#[derive(Debug, Serialize)]
pub struct DemoOrg {
    pub id: String,
    pub siren: String,
    pub name: String,
    pub kind: OrgKind,
    pub territory: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct DemoAgent {
    pub organisation: String,
    pub name: String,
    pub token: String,
    /// The guichet's scanning workstation (scanner-ingest's token).
    pub scanner: bool,
}

#[derive(Debug, Serialize)]
pub struct DemoDossier {
    pub numero_unique: String,
    pub communes: Vec<String>,
    pub applicant: crate::dossiers::ShownCredentials,
}

/// What was seeded, in the JSON shape of DESIGN §6.
#[derive(Debug, Serialize)]
pub struct DemoReport {
    pub organisations: Vec<DemoOrg>,
    pub agents: Vec<DemoAgent>,
    pub dossiers: Vec<DemoDossier>,
}

/// Appends the Luhn key to 8 digits.
fn with_luhn(base: &str) -> String {
    (0..10).map(|d| format!("{base}{d}")).find(|s| Siren::parse(s).is_ok()).unwrap_or_default()
}

struct Seed {
    siren_base: &'static str,
    name: &'static str,
    kind: OrgKind,
    registering: bool,
    guichet: Option<&'static str>,
    territory: &'static [&'static str],
    agent: &'static str,
}

const SEEDS: [Seed; 3] = [
    Seed {
        siren_base: "21590183",
        name: "Mairie de Dunkerque",
        kind: OrgKind::Guichet,
        registering: true,
        guichet: Some("DKMAI"),
        territory: &["59183"],
        agent: "Agent d'accueil, mairie de Dunkerque",
    },
    Seed {
        siren_base: "59000001",
        name: "Habitat du Nord (démo)",
        kind: OrgKind::Bailleur,
        registering: false,
        guichet: None,
        territory: &["59"],
        agent: "Chargée de clientèle, Habitat du Nord",
    },
    Seed {
        siren_base: "62000001",
        name: "Logis de l'Artois (démo)",
        kind: OrgKind::Bailleur,
        registering: false,
        guichet: None,
        territory: &["62"],
        agent: "Chargé de clientèle, Logis de l'Artois",
    },
];

pub async fn seed(vault: &Vault) -> Result<DemoReport, Error> {
    let mut report = DemoReport { organisations: Vec::new(), agents: Vec::new(), dossiers: Vec::new() };
    let mut guichet: Option<Organisation> = None;
    for s in &SEEDS {
        let siren = Siren::parse(&with_luhn(s.siren_base))?;
        let org = match vault.db().organisation_by_siren(&siren).await? {
            Some(o) => o,
            None => {
                let territory = s.territory.iter().map(|t| TerritoryCode::parse(t)).collect::<Result<Vec<_>, _>>()?;
                vault
                    .db()
                    .insert_organisation(&NewOrganisation {
                        siren,
                        name: s.name.into(),
                        kind: s.kind,
                        registering: s.registering,
                        guichet_code: s.guichet.map(GuichetCode::parse).transpose()?,
                        territory,
                    })
                    .await?
            }
        };
        let (token, hash) = new_token()?;
        vault.db().insert_agent(org.id, s.agent, &hash, false).await?;
        report.agents.push(DemoAgent { organisation: org.id.to_string(), name: s.agent.into(), token, scanner: false });
        report.organisations.push(DemoOrg {
            id: org.id.to_string(),
            siren: org.siren.to_string(),
            name: org.name.clone(),
            kind: org.kind,
            territory: org.territory.iter().map(ToString::to_string).collect(),
        });
        if org.registering && guichet.is_none() {
            guichet = Some(org);
        }
    }
    let guichet = guichet.ok_or_else(|| Error::internal("demo", "no registering guichet"))?;
    // The guichet's scanning workstation, last so the people keep their places.
    let (token, hash) = new_token()?;
    let name = format!("Scanner de l'accueil, {}", guichet.name);
    vault.db().insert_agent(guichet.id, &name, &hash, true).await?;
    report.agents.push(DemoAgent { organisation: guichet.id.to_string(), name, token, scanner: true });
    let id = Uuid::new_v4();
    let today = OffsetDateTime::now_utc().date();
    let credentials = Credentials::issue().await?;
    let dossier = vault
        .db()
        .insert_dossier(&NewDossier {
            id,
            number: NumberSource::Issue {
                territory: vault.config().nu_territory.clone(),
                guichet: guichet
                    .guichet_code
                    .clone()
                    .ok_or_else(|| Error::internal("demo", "the guichet has no code"))?,
            },
            registered_by: guichet.id,
            registered_by_agent: None,
            purpose: crate::domain::Purpose::Enregistrement,
            deposited_on: today,
            valid_until: one_year_after(today),
            communes: vec![CommuneCode::parse("59183")?],
            key: DossierKey::generate(id)?.wrap(&vault.keys())?,
            applicant: Some((credentials.identifier.clone(), credentials.code_hash.clone())),
            contact: None,
            // A situation that calls for a tax notice and pay slips, so
            // the checklists have something to show.
            expected: vec![PieceKind::parse("avis_imposition_n2")?, PieceKind::parse("ressources")?],
        })
        .await?;
    report.dossiers.push(DemoDossier {
        numero_unique: dossier.numero_unique.to_string(),
        communes: dossier.communes.iter().map(ToString::to_string).collect(),
        applicant: credentials.shown(),
    });
    Ok(report)
}
