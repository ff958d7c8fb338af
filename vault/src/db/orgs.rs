//! Organisations and their territories.

use sqlx::{Row, any::AnyRow};
use uuid::Uuid;

use super::{Db, from_str_col, is_unique_violation, now_ms, parsed, uuid_col};
use crate::{
    domain::{GuichetCode, OrgKind, Siren, TerritoryCode},
    error::Error,
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organisation {
    pub id: Uuid,
    pub siren: Siren,
    pub name: String,
    pub kind: OrgKind,
    /// A *service enregistreur*: may register dossiers.
    pub registering: bool,
    pub guichet_code: Option<GuichetCode>,
    pub territory: Vec<TerritoryCode>,
}

#[derive(Debug, Clone)]
pub struct NewOrganisation {
    pub siren: Siren,
    pub name: String,
    pub kind: OrgKind,
    pub registering: bool,
    pub guichet_code: Option<GuichetCode>,
    pub territory: Vec<TerritoryCode>,
}

/// An organisation and its territory in one round trip: one row per code
/// (one with a NULL code when it has none), the organisation's columns
/// repeated. Callers add `WHERE` and `ORDER BY territory_code`. Every
/// request resolves its caller's organisation: two queries for it were
/// two of a dossier fetch's sixteen round trips.
pub(super) const WITH_TERRITORY: &str = "o.id, o.siren, o.name, o.kind, o.registering, o.guichet_code, \
     t.code AS territory_code FROM organisations o \
     LEFT JOIN organisation_territories t ON t.organisation_id = o.id";

/// Folds the rows of a [`WITH_TERRITORY`] query into organisations, in
/// row order (each organisation's rows are adjacent: order by its key first).
pub(super) fn with_territory_from_rows(rows: &[AnyRow]) -> Result<Vec<Organisation>, Error> {
    let mut out: Vec<Organisation> = Vec::new();
    for r in rows {
        let id = uuid_col(r, "id")?;
        if out.last().is_none_or(|o| o.id != id) {
            out.push(from_row(r)?);
        }
        if r.try_get::<Option<String>, _>("territory_code")?.is_some() {
            let code = parsed(r, "territory_code", TerritoryCode::parse)?;
            if let Some(o) = out.last_mut() {
                o.territory.push(code);
            }
        }
    }
    Ok(out)
}

fn from_row(row: &AnyRow) -> Result<Organisation, Error> {
    Ok(Organisation {
        id: uuid_col(row, "id")?,
        siren: parsed(row, "siren", Siren::parse)?,
        name: row.try_get("name")?,
        kind: from_str_col(row, "kind")?,
        registering: row.try_get::<i64, _>("registering")? != 0,
        guichet_code: row
            .try_get::<Option<String>, _>("guichet_code")?
            .map(|g| GuichetCode::parse(&g))
            .transpose()
            .map_err(|e| Error::Database(sqlx::Error::Decode(e.0.into())))?,
        territory: Vec::new(),
    })
}

impl Db {
    pub async fn insert_organisation(&self, new: &NewOrganisation) -> Result<Organisation, Error> {
        if new.registering && !new.kind.may_register() {
            return Err(Error::Invalid(format!(
                "an organisation of kind {} cannot be a registering service: it would read every dossier of its territory",
                new.kind.as_str()
            )));
        }
        let id = Uuid::new_v4();
        let mut tx = self.write_tx().await?;
        let inserted = sqlx::query(
            "INSERT INTO organisations (id, siren, name, kind, registering, guichet_code, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id.to_string())
        .bind(new.siren.as_str())
        .bind(&new.name)
        .bind(new.kind.as_str())
        .bind(i64::from(new.registering))
        .bind(new.guichet_code.as_ref().map(|g| g.as_str().to_owned()))
        .bind(now_ms())
        .execute(&mut *tx)
        .await;
        match inserted {
            Err(e) if is_unique_violation(&e) => {
                return Err(Error::Conflict(format!(
                    "an organisation with SIREN {} or guichet code {} already exists",
                    new.siren,
                    new.guichet_code.as_ref().map_or("-", |g| g.as_str())
                )));
            }
            r => r?,
        };
        // A territory is a set: the same code given twice is one entry.
        let mut territory = new.territory.clone();
        territory.sort();
        territory.dedup();
        for t in &territory {
            sqlx::query("INSERT INTO organisation_territories (organisation_id, code) VALUES ($1, $2)")
                .bind(id.to_string())
                .bind(t.as_str())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(Organisation {
            id,
            siren: new.siren.clone(),
            name: new.name.clone(),
            kind: new.kind,
            registering: new.registering,
            guichet_code: new.guichet_code.clone(),
            territory,
        })
    }

    pub async fn organisation(&self, id: Uuid) -> Result<Option<Organisation>, Error> {
        let rows = sqlx::query(&format!("SELECT {WITH_TERRITORY} WHERE o.id = $1 ORDER BY territory_code"))
            .bind(id.to_string())
            .fetch_all(self.pool())
            .await?;
        Ok(with_territory_from_rows(&rows)?.pop())
    }

    pub async fn organisation_by_siren(&self, siren: &Siren) -> Result<Option<Organisation>, Error> {
        let rows = sqlx::query(&format!("SELECT {WITH_TERRITORY} WHERE o.siren = $1 ORDER BY territory_code"))
            .bind(siren.as_str())
            .fetch_all(self.pool())
            .await?;
        Ok(with_territory_from_rows(&rows)?.pop())
    }

    pub async fn organisations(&self) -> Result<Vec<Organisation>, Error> {
        // Siren is unique: one organisation's rows stay together.
        let rows = sqlx::query(&format!("SELECT {WITH_TERRITORY} ORDER BY o.name, o.siren, territory_code"))
            .fetch_all(self.pool())
            .await?;
        with_territory_from_rows(&rows)
    }
}
