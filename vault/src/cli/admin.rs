//! `dnu-vault admin …`: organisations and agents.

use anyhow::{Context, bail};
use clap::Subcommand;
use uuid::Uuid;

use crate::{
    app::Vault,
    auth::new_token,
    db::orgs::NewOrganisation,
    domain::{EmailAddress, GuichetCode, OrgKind, Siren, TerritoryCode},
};

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Organisations.
    #[command(subcommand)]
    Org(OrgCommand),
    /// Agents (people individually authorised by an organisation).
    #[command(subcommand)]
    Agent(AgentCommand),
}

#[derive(Debug, Subcommand)]
pub enum OrgCommand {
    /// Add an organisation.
    Add {
        /// SIREN (9 digits, checked).
        #[arg(long)]
        siren: String,
        #[arg(long)]
        name: String,
        /// guichet, bailleur, reservataire, etat or gestionnaire.
        #[arg(long)]
        kind: String,
        /// The organisation is a registering service (service enregistreur).
        #[arg(long)]
        registering: bool,
        /// 5-character guichet code, ending the numéros uniques it issues.
        #[arg(long)]
        guichet_code: Option<String>,
        /// Territory, comma-separated: département codes (59, 2A, 974), INSEE codes of current communes, and/or the SIREN of an EPCI (245900428, the Communauté urbaine de Dunkerque), which stands for its member communes.
        #[arg(long, value_delimiter = ',')]
        territory: Vec<String>,
    },
    /// Accept a SIRET of another SIREN for an organisation's agents signing in with ProConnect (a CCAS under its
    /// commune's SIRET, a service under its ministry's).
    AcceptSiret {
        /// SIREN of the organisation.
        #[arg(long)]
        org: String,
        /// The SIRET (14 digits) its agents' ProConnect accounts carry.
        #[arg(long)]
        siret: String,
    },
    /// Set the address the daily digest of the relance list goes to (a registering organisation's shared
    /// mailbox: the digest holds a count and a link, no personal data).
    Contact {
        /// SIREN of the organisation.
        #[arg(long)]
        org: String,
        /// The address; omit to stop the digest.
        #[arg(long)]
        email: Option<String>,
    },
    /// List organisations.
    List {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum AgentCommand {
    /// Add an agent to an organisation and print its bearer token (shown once).
    Add {
        /// SIREN of the organisation.
        #[arg(long)]
        org: String,
        /// The agent's name or role, as shown in access traces.
        #[arg(long)]
        name: String,
        /// A guichet's scanning workstation (scanner-ingest): its uploads carry scan provenance, which no other
        /// agent's may.
        #[arg(long)]
        scanner: bool,
    },
    /// Invite a person as an agent: they sign in with ProConnect under this e-mail address (the first sign-in binds
    /// their ProConnect account; no token is issued).
    Invite {
        /// SIREN of the organisation.
        #[arg(long)]
        org: String,
        /// The e-mail address of their ProConnect account (any case).
        #[arg(long)]
        email: String,
        /// The agent's name or role, as shown in access traces [default: the e-mail's local part].
        #[arg(long)]
        name: Option<String>,
    },
    /// Disable an agent: its token stops working at once.
    Disable {
        /// The agent id printed by `admin agent add`.
        agent: String,
    },
}

pub async fn run(vault: Vault, cmd: AdminCommand) -> anyhow::Result<()> {
    match cmd {
        AdminCommand::Org(OrgCommand::Add { siren, name, kind, registering, guichet_code, territory }) => {
            let new = NewOrganisation {
                siren: Siren::parse(&siren)?,
                name: name.trim().to_owned(),
                kind: kind.parse::<OrgKind>()?,
                registering,
                guichet_code: guichet_code.as_deref().map(GuichetCode::parse).transpose()?,
                // A département, a current commune, or an EPCI's SIREN,
                // which stands for its member communes.
                territory: territory
                    .iter()
                    .map(|t| crate::domain::geo::territory(t))
                    .collect::<Result<Vec<_>, _>>()?
                    .into_iter()
                    .flatten()
                    .collect(),
            };
            if new.name.is_empty() {
                bail!("--name must not be empty");
            }
            let org = vault.db().insert_organisation(&new).await?;
            println!("{}", org.id);
            eprintln!("organisation {} ({}) added", org.name, org.siren);
        }
        AdminCommand::Org(OrgCommand::List { json }) => {
            let orgs = vault.db().organisations().await?;
            if json {
                let v: Vec<_> = orgs
                    .iter()
                    .map(|o| {
                        serde_json::json!({
                            "id": o.id, "siren": o.siren.as_str(), "name": o.name, "kind": o.kind,
                            "registering": o.registering,
                            "guichet_code": o.guichet_code.as_ref().map(GuichetCode::as_str),
                            "territory": o.territory.iter().map(TerritoryCode::as_str).collect::<Vec<_>>(),
                        })
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                for o in orgs {
                    let t: Vec<_> = o.territory.iter().map(TerritoryCode::as_str).collect();
                    println!(
                        "{}  {}  {:<12} {}{}  [{}]",
                        o.id,
                        o.siren,
                        o.kind.as_str(),
                        o.name,
                        if o.registering { " (registering)" } else { "" },
                        t.join(",")
                    );
                }
            }
        }
        AdminCommand::Agent(AgentCommand::Add { org, name, scanner }) => {
            let siren = Siren::parse(&org)?;
            let org = vault
                .db()
                .organisation_by_siren(&siren)
                .await?
                .with_context(|| format!("no organisation with SIREN {siren}"))?;
            if name.trim().is_empty() {
                bail!("--name must not be empty");
            }
            let (token, hash) = new_token()?;
            let agent = vault.db().insert_agent(org.id, name.trim(), &hash, scanner).await?;
            eprintln!("agent {} added to {}; its token is shown once:", agent.id, org.name);
            println!("{token}");
        }
        AdminCommand::Org(OrgCommand::Contact { org, email }) => {
            let siren = Siren::parse(&org)?;
            let email = email.as_deref().map(EmailAddress::parse).transpose().context("--email")?;
            let org = vault
                .db()
                .organisation_by_siren(&siren)
                .await?
                .with_context(|| format!("no organisation with SIREN {siren}"))?;
            vault.db().set_contact_email(org.id, email.as_ref()).await?;
            match email {
                Some(_) => eprintln!("{}: the daily digest of the relance list goes to this address", org.name),
                None => eprintln!("{}: no digest any more", org.name),
            }
        }
        AdminCommand::Org(OrgCommand::AcceptSiret { org, siret }) => {
            let siren = Siren::parse(&org)?;
            let siret = siret.trim();
            if siret.len() != 14 || !siret.bytes().all(|b| b.is_ascii_digit()) {
                bail!("--siret {siret:?}: a SIRET is 14 digits");
            }
            let org = vault
                .db()
                .organisation_by_siren(&siren)
                .await?
                .with_context(|| format!("no organisation with SIREN {siren}"))?;
            vault.db().accept_siret(org.id, siret).await?;
            eprintln!("{}: agents may sign in with ProConnect under SIRET {siret}", org.name);
        }
        AdminCommand::Agent(AgentCommand::Invite { org, email, name }) => {
            let siren = Siren::parse(&org)?;
            let email = EmailAddress::parse(&email).context("--email")?;
            let org = vault
                .db()
                .organisation_by_siren(&siren)
                .await?
                .with_context(|| format!("no organisation with SIREN {siren}"))?;
            let name = name
                .map(|n| n.trim().to_owned())
                .unwrap_or_else(|| email.as_str().split('@').next().unwrap_or_default().to_owned());
            if name.is_empty() {
                bail!("--name must not be empty");
            }
            let id = vault.db().invite_agent(org.id, &name, &email).await?;
            eprintln!("agent {id} invited to {}: they sign in with ProConnect", org.name);
            println!("{id}");
        }
        AdminCommand::Agent(AgentCommand::Disable { agent }) => {
            let id = Uuid::parse_str(agent.trim()).context("the agent id must be a UUID")?;
            if !vault.db().disable_agent(id).await? {
                bail!("no agent {id}");
            }
            eprintln!("agent {id} disabled");
        }
    }
    Ok(())
}
