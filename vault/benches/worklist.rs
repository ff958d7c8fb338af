//! The worklist over 100,000 dossiers on PostgreSQL, against hand-written
//! SQL that lists the same territory's dossiers without any policy engine
//! (what a vault with its rules in code would run), in the same run: a
//! bailleur of a dense territory (the Nord, half of the dossiers) and one of
//! a sparse territory (one commune, an eighth of them). The worklist's time
//! includes the token lookup and JSON of a real request; the baseline's
//! does not.
//!
//! `BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test cargo bench -p vault --bench worklist`
//! (BENCH_DOSSIERS, default 100000). A fresh database is created and left
//! for inspection (`vault_bench_…`).
#![allow(clippy::unwrap_used, clippy::print_stdout)]

#[path = "common/worklist.rs"]
mod worklist;

use std::time::Instant;
use worklist::Baseline;

use vault::{
    Config, Vault,
    app::Schema,
    auth::new_token,
    db::orgs::NewOrganisation,
    domain::{OrgKind, Siren, TerritoryCode},
};

const COMMUNES: [&str; 8] = ["59183", "59350", "59155", "59512", "62193", "62041", "80021", "75056"];

fn main() {
    let Ok(admin) = std::env::var("BENCH_DATABASE_URL") else {
        println!("set BENCH_DATABASE_URL=postgres://… to run this benchmark");
        return;
    };
    let n: usize = std::env::var("BENCH_DOSSIERS").ok().and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async move {
        sqlx::any::install_default_drivers();
        let name = format!("vault_bench_{}", std::process::id());
        let pool = sqlx::AnyPool::connect(&admin).await.unwrap();
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(&pool).await.unwrap();
        let url = format!("{}/{name}", admin.rsplit_once('/').unwrap().0);
        let dir = tempfile::tempdir().unwrap();
        let vault = Vault::open(Config::for_tests(dir.path(), Some(url)), Schema::Migrate).await.unwrap();
        let db = vault.db();
        let org = db
            .insert_organisation(&NewOrganisation {
                siren: Siren::parse("590000014").unwrap(),
                name: "Habitat du Nord".into(),
                kind: OrgKind::Bailleur,
                registering: false,
                guichet_code: None,
                territory: vec![TerritoryCode::parse("59").unwrap()],
            })
            .await
            .unwrap();
        let (dense, hash) = new_token().unwrap();
        db.insert_agent(org.id, "bench", &hash, false).await.unwrap();
        let somme = db
            .insert_organisation(&NewOrganisation {
                siren: Siren::parse("800000010").unwrap(),
                name: "Amiens Habitat".into(),
                kind: OrgKind::Bailleur,
                registering: false,
                guichet_code: None,
                territory: vec![TerritoryCode::parse("80021").unwrap()],
            })
            .await
            .unwrap();
        let (sparse, hash) = new_token().unwrap();
        db.insert_agent(somme.id, "bench", &hash, false).await.unwrap();

        let t = Instant::now();
        for chunk in (0..n).collect::<Vec<_>>().chunks(1000) {
            let mut d = String::from(
                "INSERT INTO dossiers (id, numero_unique, status, registered_by, deposited_on, valid_until, created_at) VALUES ",
            );
            let mut c = String::from("INSERT INTO dossier_communes (dossier_id, commune, departement, numero_unique) VALUES ");
            for (k, i) in chunk.iter().enumerate() {
                let id = uuid::Uuid::new_v4();
                let sep = if k == 0 { "" } else { "," };
                d.push_str(&format!(
                    "{sep}('{id}', '0590126{i:06}BENCH', 'active', '{}', '2026-01-15', '2027-01-15', 0)",
                    org.id
                ));
                let commune = COMMUNES[i * 7 % COMMUNES.len()];
                c.push_str(&format!("{sep}('{id}', '{commune}', '{}', '0590126{i:06}BENCH')", &commune[..2]));
            }
            sqlx::query(&d).execute(db.pool()).await.unwrap();
            sqlx::query(&c).execute(db.pool()).await.unwrap();
        }
        sqlx::query("ANALYZE").execute(db.pool()).await.unwrap();
        println!("seeded {n} dossiers in {:.1} s", t.elapsed().as_secs_f64());
        for (who, token, territory, shown) in [
            ("dense territory (département 59, 1/2 of dossiers)", &dense, "c.departement = '59'", n / 2),
            ("sparse territory (commune 80021, 1/8 of dossiers)", &sparse, "c.commune = '80021'", n / 8),
        ] {
            let baseline = format!(
                "SELECT id, numero_unique, status, deposited_on, valid_until FROM dossiers d WHERE numero_unique > $1 \
                 AND EXISTS (SELECT 1 FROM dossier_communes c WHERE c.dossier_id = d.id AND {territory}) \
                 ORDER BY numero_unique LIMIT 50"
            );
            // The territory's index walked in numéro order, as the worklist
            // does (each dossier here wishes one commune).
            let walk = format!(
                "SELECT d.id AS id, c.numero_unique AS numero_unique, d.status, d.deposited_on, d.valid_until \
                 FROM dossier_communes c JOIN dossiers d ON d.id = c.dossier_id \
                 WHERE {territory} AND c.numero_unique > $1 ORDER BY c.numero_unique LIMIT 50"
            );
            let baselines = [
                Baseline { name: "as first written", sql: baseline, completeness: false },
                Baseline { name: "the territory's index walked", sql: walk.clone(), completeness: false },
                Baseline { name: "the index walked and completeness", sql: walk, completeness: true },
            ];
            worklist::measure(&vault, who, token, &baselines, shown, n).await;
        }
    });
}
