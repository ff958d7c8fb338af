//! Dossiers, their wished communes and the numéro unique sequence.

use policies::Action;
use sqlx::{Row, any::AnyRow};
use time::Date;
use uuid::Uuid;

use super::{
    Db, date_from_sql, date_to_sql,
    grants::{self, Grant},
    is_unique_violation, now_ms, parsed, uuid_col,
};
use crate::{
    crypto::WrappedKey,
    db::audit::AuditEvent,
    domain::journal::{Actor, Recorded},
    domain::{CommuneCode, DossierStatus, GuichetCode, NumeroUnique, Purpose},
    error::Error,
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dossier {
    pub id: Uuid,
    pub numero_unique: NumeroUnique,
    pub status: DossierStatus,
    pub registered_by: Uuid,
    pub deposited_on: Date,
    pub valid_until: Date,
    pub communes: Vec<CommuneCode>,
    pub shredded: bool,
    /// Set once radiated, with the reason given.
    pub radiated: Option<(Date, String)>,
    /// Set once purged, a year after the radiation: only the tombstone is left.
    pub purged_on: Option<Date>,
}

/// How the dossier gets its numéro unique.
#[derive(Debug, Clone)]
pub enum NumberSource {
    Given(NumeroUnique),
    /// Issue the next number of this territory and month for this guichet.
    Issue {
        territory: String,
        guichet: GuichetCode,
    },
}

#[derive(Debug, Clone)]
pub struct NewDossier {
    pub id: Uuid,
    pub number: NumberSource,
    pub registered_by: Uuid,
    pub registered_by_agent: Option<Uuid>,
    /// Recorded with the registration event.
    pub purpose: Purpose,
    pub deposited_on: Date,
    pub valid_until: Date,
    pub communes: Vec<CommuneCode>,
    pub key: WrappedKey,
    /// The applicant's identifier and the hash of their personal code.
    pub applicant: Option<(String, String)>,
    /// The applicant's contact details, sealed under the dossier's key.
    pub contact: Option<super::contacts::SealedRecord>,
    /// The pieces the applicant's situation calls for, beyond identity.
    pub expected: Vec<crate::domain::PieceKind>,
}

fn from_row(row: &AnyRow) -> Result<Dossier, Error> {
    Ok(Dossier {
        id: uuid_col(row, "id")?,
        numero_unique: parsed(row, "numero_unique", NumeroUnique::parse)?,
        status: parsed(row, "status", DossierStatus::parse)?,
        registered_by: uuid_col(row, "registered_by")?,
        deposited_on: parsed(row, "deposited_on", date_from_sql)?,
        valid_until: parsed(row, "valid_until", date_from_sql)?,
        radiated: match (
            row.try_get::<Option<String>, _>("radiated_on")?,
            row.try_get::<Option<String>, _>("radiation_reason")?,
        ) {
            (Some(on), reason) => Some((
                date_from_sql(&on).map_err(|e| Error::Database(sqlx::Error::Decode(e.into())))?,
                reason.unwrap_or_default(),
            )),
            (None, _) => None,
        },
        communes: Vec::new(),
        shredded: row.try_get::<Option<i64>, _>("shredded_at")?.is_some(),
        purged_on: row
            .try_get::<Option<String>, _>("purged_on")?
            .map(|d| date_from_sql(&d).map_err(|e| Error::Database(sqlx::Error::Decode(e.into()))))
            .transpose()?,
    })
}

/// The caller's own narrowing of the worklist.
#[derive(Debug, Clone, Copy, Default)]
pub struct PageFilter<'a> {
    pub commune: Option<&'a CommuneCode>,
    pub status: Option<DossierStatus>,
    /// The relance list: active demands of this registering organisation
    /// valid until this day at the latest.
    pub renewal_due: Option<(Uuid, Date)>,
    /// Complete (`true`) or incomplete dossiers on that day, the kind
    /// every dossier needs given (`expected::complete_predicate`).
    pub complete: Option<(bool, crate::domain::PieceKind, Date)>,
}

/// Which dossiers the policy set's permits can reach for the caller (a
/// superset of what it may read; each candidate is still decided).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reach {
    /// A permit may reach any dossier: examine them all.
    Everything,
    /// Only dossiers wishing one of these communes or départements, those
    /// the organisation holds a grant on, and the applicant's own.
    Within { communes: Vec<String>, departements: Vec<String>, grants_of: Option<Uuid>, own: Option<Uuid> },
}

const COLUMNS: &str = "id, numero_unique, status, registered_by, deposited_on, valid_until, shredded_at, radiated_on, radiation_reason, purged_on";

/// A dossier's wished communes as one comma-separated list, beside the
/// row of `$table` (`string_agg` with its own ORDER BY is PostgreSQL's and
/// SQLite's, ≥ 3.44 bundled, alike).
macro_rules! communes_of {
    ($table:literal) => {
        concat!(
            "(SELECT string_agg(commune, ',' ORDER BY commune) FROM dossier_communes c WHERE c.dossier_id = ",
            $table,
            ".id)"
        )
    };
}
const COMMUNES: &str = communes_of!("dossiers");
/// The same, for the rows of a subquery named `page`.
const PAGE_COMMUNES: &str = communes_of!("page");

/// A dossier from its row and its `communes` list.
fn with_communes(row: &AnyRow) -> Result<Dossier, Error> {
    let mut d = from_row(row)?;
    d.communes = row
        .try_get::<Option<String>, _>("communes")?
        .iter()
        .flat_map(|list| list.split(','))
        .map(|c| {
            CommuneCode::parse(c)
                .map_err(|e| Error::Database(sqlx::Error::Decode(format!("column communes: {e}").into())))
        })
        .collect::<Result<_, _>>()?;
    Ok(d)
}

/// [`COLUMNS`] read from `dossiers d` joined to another table, the numéro
/// unique taken from `nu` (a territory's `c.numero_unique`, whose index
/// gives the order).
fn joined_columns(nu: &str) -> String {
    format!(
        "d.id AS id, {nu} AS numero_unique, d.status AS status, d.registered_by AS registered_by, \
         d.deposited_on AS deposited_on, d.valid_until AS valid_until, d.shredded_at AS shredded_at, \
         d.radiated_on AS radiated_on, d.radiation_reason AS radiation_reason, d.purged_on AS purged_on"
    )
}

/// Most numbers issued in one month and territory: random draws among a
/// million stay quick while at most 60 % are taken.
const MAX_ISSUED_PER_MONTH: u32 = 600_000;

/// A lifecycle change, with who asked and why (for the journal).
#[derive(Debug, Clone, Copy)]
pub enum Lifecycle<'a> {
    /// Valid until this date from now on.
    Renew {
        valid_until: Date,
    },
    Radiate {
        on: Date,
        reason: &'a str,
    },
}

impl Db {
    /// Registers a dossier with its wrapped key, in one transaction.
    pub async fn insert_dossier(&self, new: &NewDossier) -> Result<Dossier, Error> {
        let mut tx = self.write_tx().await?;
        let nu = match &new.number {
            NumberSource::Given(nu) => nu.clone(),
            NumberSource::Issue { territory, guichet } => {
                let (month, year) = (u8::from(new.deposited_on.month()), new.deposited_on.year());
                let prefix = format!("{territory}{month:02}{:02}", year.rem_euclid(100));
                let row = sqlx::query(
                    "INSERT INTO nu_sequences (prefix, last) VALUES ($1, 1) \
                     ON CONFLICT (prefix) DO UPDATE SET last = nu_sequences.last + 1 RETURNING last",
                )
                .bind(&prefix)
                .fetch_one(&mut *tx)
                .await?;
                // The count bounds the month's numbers; the number itself is
                // drawn at random among the free ones, so that knowing one
                // number does not give its neighbours (sequential numbers
                // let any principal enumerate a territory's demands).
                let issued = u32::try_from(row.try_get::<i64, _>("last")?).unwrap_or(u32::MAX);
                if issued > MAX_ISSUED_PER_MONTH {
                    return Err(Error::Conflict("the numéros uniques of this month are exhausted".into()));
                }
                let mut tries = 0;
                loop {
                    let draw = u32::from_be_bytes(crate::crypto::random_bytes::<4>()?) % 999_999 + 1;
                    let nu =
                        NumeroUnique::issue(territory, month, year, draw, guichet).map_err(|e| Error::Conflict(e.0))?;
                    let taken: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM dossiers WHERE numero_unique = $1")
                        .bind(nu.as_str())
                        .fetch_one(&mut *tx)
                        .await?;
                    if taken == 0 {
                        break nu;
                    }
                    tries += 1;
                    // Below the month's cap, 32 draws all taken is all but
                    // impossible; say so rather than fail on the taken one.
                    if tries >= 32 {
                        return Err(Error::Conflict(
                            "no free numéro unique found in 32 random draws for this month; try again".into(),
                        ));
                    }
                }
            }
        };
        let inserted = sqlx::query(
            "INSERT INTO dossiers (id, numero_unique, status, registered_by, deposited_on, valid_until, created_at) \
             VALUES ($1, $2, 'active', $3, $4, $5, $6)",
        )
        .bind(new.id.to_string())
        .bind(nu.as_str())
        .bind(new.registered_by.to_string())
        .bind(date_to_sql(new.deposited_on))
        .bind(date_to_sql(new.valid_until))
        .bind(now_ms())
        .execute(&mut *tx)
        .await;
        match inserted {
            Err(e) if is_unique_violation(&e) => {
                return Err(Error::Conflict(format!("a dossier with numéro unique {nu} is already registered")));
            }
            r => r?,
        };
        let mut communes = new.communes.clone();
        communes.sort();
        communes.dedup();
        for c in &communes {
            sqlx::query(
                "INSERT INTO dossier_communes (dossier_id, commune, departement, numero_unique) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(new.id.to_string())
            .bind(c.as_str())
            .bind(c.departement())
            .bind(nu.as_str())
            .execute(&mut *tx)
            .await?;
        }
        Self::insert_dossier_key(&mut tx, new.id, &new.key).await?;
        if let Some((identifier, code_hash)) = &new.applicant {
            Self::insert_applicant(&mut tx, new.id, identifier, code_hash).await?;
        }
        if let Some(contact) = &new.contact {
            Self::insert_contact(&mut tx, new.id, contact).await?;
        }
        Self::insert_expected_kinds(&mut tx, new.id, &new.expected).await?;
        Self::record_in(
            &mut tx,
            &AuditEvent::new(
                Actor { agent: new.registered_by_agent, organisation: Some(new.registered_by), purpose: new.purpose },
                Recorded::DOSSIER_REGISTER,
            )
            .on(new.id),
        )
        .await?;
        tx.commit().await?;
        Ok(Dossier {
            id: new.id,
            numero_unique: nu,
            status: DossierStatus::Active,
            registered_by: new.registered_by,
            deposited_on: new.deposited_on,
            valid_until: new.valid_until,
            communes,
            shredded: false,
            radiated: None,
            purged_on: None,
        })
    }

    pub async fn dossier_by_nu(&self, nu: &NumeroUnique) -> Result<Option<Dossier>, Error> {
        self.dossier_where("numero_unique", nu.as_str()).await
    }

    pub async fn dossier_by_id(&self, id: Uuid) -> Result<Option<Dossier>, Error> {
        self.dossier_where("id", &id.to_string()).await
    }

    /// The dossier `nu` names and the grant of `organisation` on it that
    /// decides (as [`Db::grant_for`] answers), in one round trip: every
    /// request of an agent on a dossier (a fetch, each download) asks both
    /// before its decision, and the grant was a statement of its own.
    pub async fn dossier_by_nu_with_grant(
        &self,
        nu: &NumeroUnique,
        organisation: Uuid,
        now_s: i64,
    ) -> Result<Option<(Dossier, Option<Grant>)>, Error> {
        // The grants are renamed in their own subquery, so the dossier's
        // columns stay unambiguous; an organisation has a few grants on a
        // dossier at most (one row each, the dossier repeated).
        // Written once: every fetch and download sends it.
        static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
            format!(
                "SELECT {COLUMNS}, {COMMUNES} AS communes, g.* FROM dossiers LEFT JOIN \
                 (SELECT {} FROM grants WHERE organisation_id = $2) g ON g.grant_dossier_id = dossiers.id \
                 WHERE numero_unique = $1 ORDER BY g.grant_created_at DESC, g.grant_id",
                grants::prefixed_columns()
            )
        });
        let rows = sqlx::query(&SQL).bind(nu.as_str()).bind(organisation.to_string()).fetch_all(self.pool()).await?;
        let Some(first) = rows.first() else { return Ok(None) };
        let dossier = with_communes(first)?;
        let mut found = Vec::new();
        for row in &rows {
            if row.try_get::<Option<String>, _>(grants::PREFIXED[0])?.is_some() {
                found.push(grants::from_named(row, &grants::PREFIXED)?);
            }
        }
        Ok(Some((dossier, grants::deciding(found, now_s))))
    }

    /// `column` is one of this file's own column names, never input.
    async fn dossier_where(&self, column: &'static str, value: &str) -> Result<Option<Dossier>, Error> {
        // The communes in the same round trip: every request on a dossier
        // (a fetch, each download) starts here, and a second statement was
        // a tenth of a download's database work.
        let row = sqlx::query(&format!("SELECT {COLUMNS}, {COMMUNES} AS communes FROM dossiers WHERE {column} = $1"))
            .bind(value)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(with_communes).transpose()
    }

    /// Several dossiers by id, *without their communes* (for jobs that do
    /// not decide access: the daily pass).
    pub async fn dossier_rows(&self, ids: &[Uuid]) -> Result<Vec<Dossier>, Error> {
        let select = format!("SELECT {COLUMNS} FROM dossiers WHERE id IN ({{ids}})");
        self.fetch_for_ids(&select, ids).await?.iter().map(from_row).collect()
    }

    /// A page of dossiers in numéro unique order, after `after`, narrowed
    /// by the caller's filters and by the reach of the policy set's permits
    /// (`reach`); communes included.
    pub async fn dossiers_page(
        &self,
        after: Option<&NumeroUnique>,
        filter: &PageFilter<'_>,
        reach: &Reach,
        limit: i64,
    ) -> Result<Vec<Dossier>, Error> {
        let mut binds: Vec<String> = vec![after.map_or(String::new(), |a| a.as_str().to_owned())];
        let mark = |binds: &mut Vec<String>, v: String| {
            binds.push(v);
            format!("${}", binds.len())
        };
        // A purged dossier is a tombstone: in no worklist.
        let mut base = String::from("d.numero_unique > $1 AND d.purged_on IS NULL");
        if let Some(c) = filter.commune {
            let m = mark(&mut binds, c.as_str().to_owned());
            base.push_str(&format!(
                " AND EXISTS (SELECT 1 FROM dossier_communes c WHERE c.dossier_id = d.id AND c.commune = {m})"
            ));
        }
        if let Some(st) = filter.status {
            let m = mark(&mut binds, st.as_str().to_owned());
            base.push_str(&format!(" AND d.status = {m}"));
        }
        if let Some((org, by)) = filter.renewal_due {
            let (o, b) = (mark(&mut binds, org.to_string()), mark(&mut binds, date_to_sql(by)));
            base.push_str(&format!(" AND d.status = 'active' AND d.registered_by = {o} AND d.valid_until <= {b}"));
        }
        if let Some((complete, required, today)) = filter.complete {
            let (r, t) = (mark(&mut binds, required.as_str().to_owned()), mark(&mut binds, date_to_sql(today)));
            let not = if complete { "" } else { "NOT " };
            base.push_str(&format!(" AND {not}{}", super::expected::complete_predicate("d.id", &r, &t)));
        }
        // One branch per reach, each walking a numéro unique index with its
        // own LIMIT, then merged: an OR of EXISTS makes PostgreSQL hash the
        // whole territory on every page (30 ms at 100,000 dossiers against
        // 2 ms this way). A territory is one branch per code, each walking
        // `dossier_communes` by (code, numéro unique): walking `dossiers` in
        // numéro order and probing each one's communes read every dossier of
        // the départements before the territory's first — 1.25 million rows,
        // 18.6 s, for the Nord's first page among 2.7 million dossiers,
        // against 50 ms this way (`cargo bench -p vault --bench national`).
        // Grants likewise start from the organisation's own grants
        // (`grants_by_org`), not from every dossier in order; the few of
        // one organisation are made distinct (a dossier may hold several).
        let mut branches: Vec<(String, &str)> = Vec::new();
        let plain = |cond: &str| format!("SELECT {COLUMNS} FROM dossiers d WHERE {base}{cond}");
        match reach {
            Reach::Everything => branches.push((plain(""), "d.numero_unique")),
            Reach::Within { communes, departements, grants_of, own } => {
                for (column, codes) in [("commune", communes), ("departement", departements)] {
                    // One row per dossier without DISTINCT: DISTINCT made
                    // PostgreSQL join and sort every row of the territory
                    // after the cursor before the LIMIT (all 10,000 of the
                    // Nord's dossiers for its first page at 270 k, 60 ms);
                    // this way the (code, numéro unique) index is walked in
                    // order and stops at the page. A commune has each
                    // dossier once (the primary key); in a département,
                    // the row of the dossier's first commune there stands
                    // for it.
                    let once = match column {
                        "commune" => "",
                        _ => {
                            " AND NOT EXISTS (SELECT 1 FROM dossier_communes o WHERE o.dossier_id = c.dossier_id \
                             AND o.departement = c.departement AND o.commune < c.commune)"
                        }
                    };
                    for code in codes {
                        let m = mark(&mut binds, code.clone());
                        branches.push((
                            format!(
                                "SELECT {} FROM dossier_communes c \
                                 JOIN dossiers d ON d.id = c.dossier_id \
                                 WHERE c.{column} = {m} AND c.numero_unique > $1{once} AND {base}",
                                joined_columns("c.numero_unique")
                            ),
                            "c.numero_unique",
                        ));
                    }
                }
                if let Some(org) = grants_of {
                    let m = mark(&mut binds, org.to_string());
                    branches.push((
                        format!(
                            "SELECT DISTINCT {} FROM grants g JOIN dossiers d ON d.id = g.dossier_id \
                             WHERE g.organisation_id = {m} AND {base}",
                            joined_columns("d.numero_unique")
                        ),
                        "d.numero_unique",
                    ));
                }
                if let Some(own) = own {
                    let m = mark(&mut binds, own.to_string());
                    branches.push((plain(&format!(" AND d.id = {m}")), "d.numero_unique"));
                }
            }
        }
        if branches.is_empty() {
            // Nothing the permits reach: no candidate at all.
            return Ok(Vec::new());
        }
        let lim = format!("${}", binds.len() + 1);
        let sql = if let [(only, order)] = branches.as_slice() {
            format!("{only} ORDER BY {order} LIMIT {lim}")
        } else {
            let parts: Vec<String> = branches
                .iter()
                .map(|(b, order)| format!("SELECT * FROM ({b} ORDER BY {order} LIMIT {lim}) AS branch"))
                .collect();
            format!("{} ORDER BY numero_unique LIMIT {lim}", parts.join(" UNION "))
        };
        // The page's communes in the same round trip (as `dossier_where`).
        let sql =
            format!("SELECT page.*, {PAGE_COMMUNES} AS communes FROM ({sql}) AS page ORDER BY page.numero_unique");
        let mut q = sqlx::query(&sql);
        for b in binds {
            q = q.bind(b);
        }
        let rows = q.bind(limit).fetch_all(self.pool()).await?;
        rows.iter().map(with_communes).collect()
    }

    /// Renews or radiates an active dossier, with its journal event, in one
    /// transaction. `Ok(false)`: the dossier was no longer active (radiated
    /// or erased meanwhile) and nothing changed.
    pub async fn change_lifecycle(&self, dossier: Uuid, change: Lifecycle<'_>, by: Actor) -> Result<bool, Error> {
        let mut tx = self.write_tx().await?;
        let id = dossier.to_string();
        let (query, action) = match change {
            Lifecycle::Renew { valid_until } => (
                sqlx::query(
                    "UPDATE dossiers SET valid_until = $2 WHERE id = $1 AND status = 'active' AND shredded_at IS NULL",
                )
                .bind(id)
                .bind(date_to_sql(valid_until)),
                Action::DossierRenew,
            ),
            Lifecycle::Radiate { on, reason } => (
                sqlx::query(
                    "UPDATE dossiers SET status = 'radiated', radiated_on = $2, radiation_reason = $3 \
                     WHERE id = $1 AND status = 'active' AND shredded_at IS NULL",
                )
                .bind(id)
                .bind(date_to_sql(on))
                .bind(reason.to_owned()),
                Action::DossierRadiate,
            ),
        };
        let done = query.execute(&mut *tx).await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        if action == Action::DossierRenew {
            // Renewing is an answer: a pending (c) warning no longer stands.
            Self::answered_in(&mut tx, dossier).await?;
        }
        Self::record_in(&mut tx, &AuditEvent::new(by, action).on(dossier)).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Ids of every dossier (for maintenance jobs).
    pub async fn dossier_ids(&self) -> Result<Vec<Uuid>, Error> {
        let rows = sqlx::query("SELECT id FROM dossiers ORDER BY id").fetch_all(self.pool()).await?;
        rows.iter().map(|r| uuid_col(r, "id")).collect()
    }
}
