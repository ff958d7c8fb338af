//! National scale (issue 20): 2.7 million dossiers across the 101
//! départements, generated straight into PostgreSQL, then the worklist and
//! the dossier fetch measured on them.
//!
//! ```text
//! BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test cargo bench -p vault --bench national
//! ```
//!
//! * `BENCH_DOSSIERS` (2,700,000), `BENCH_PIECES` per dossier (10, so 27
//!   million versions), `BENCH_EVENTS` (50,000,000 audit events);
//! * `BENCH_NATIONAL_DB` (`vault_national`, dropped and made again) and
//!   `BENCH_NATIONAL_DIR` (`/var/tmp/dnu-national`: the development master
//!   key, and `agents.tsv`/`dossiers.tsv` naming each département's agents
//!   with their tokens and a sample of its dossiers, for `bench/load.sh`);
//! * `BENCH_REUSE=1` measures the dataset already there.
//!
//! Three organisations per département: the registering guichet of the
//! département, a bailleur of the whole département (a dense worklist) and
//! a bailleur of its three largest communes (a sparse one); each has one
//! agent. Grants on 1 % of the dossiers go to other départements' guichets.
#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::print_stderr)]

mod generate;
mod geo;
#[path = "../common/worklist.rs"]
mod worklist;

use std::{path::PathBuf, time::Instant};

use generate::{DepOrgs, Org, Size};
use sqlx::{PgPool, Row};
use vault::{
    Config, Vault,
    app::Schema,
    auth::new_token,
    db::orgs::NewOrganisation,
    domain::{GuichetCode, OrgKind, Siren, TerritoryCode},
};
use worklist::Baseline;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|s| s.replace('_', "").parse().ok()).unwrap_or(default)
}

/// A SIREN with a right Luhn check digit, from eight digits.
fn siren(base: u32) -> Siren {
    let body = format!("{:08}", base % 100_000_000);
    for check in 0..10 {
        if let Ok(s) = Siren::parse(&format!("{body}{check}")) {
            return s;
        }
    }
    unreachable!("one check digit of ten passes Luhn")
}

async fn organisation(
    vault: &Vault,
    n: u32,
    name: String,
    kind: OrgKind,
    guichet: Option<String>,
    territory: &[String],
) -> (Org, String) {
    let registering = kind == OrgKind::Guichet;
    let org = vault
        .db()
        .insert_organisation(&NewOrganisation {
            siren: siren(10_000_000 + n),
            name,
            kind,
            registering,
            guichet_code: guichet.map(|g| GuichetCode::parse(&g).unwrap()),
            territory: territory.iter().map(|t| TerritoryCode::parse(t).unwrap()).collect(),
        })
        .await
        .unwrap();
    let (token, hash) = new_token().unwrap();
    let agent = vault.db().insert_agent(org.id, "agent", &hash, false).await.unwrap();
    (Org { id: org.id, agent: agent.id, guichet: org.guichet_code }, token)
}

/// Connections for bulk work: one per `COPY` stream and index build, no
/// wait for the log flush at each commit (a crash means generating again),
/// room to sort an index in memory.
async fn loader(url: &str) -> PgPool {
    sqlx::postgres::PgPoolOptions::new()
        .max_connections(12)
        .after_connect(|c, _| {
            Box::pin(async move {
                sqlx::Executor::execute(&mut *c, "SET synchronous_commit = off").await?;
                sqlx::Executor::execute(&mut *c, "SET maintenance_work_mem = '1GB'").await?;
                Ok(())
            })
        })
        .connect(url)
        .await
        .unwrap()
}

async fn generate(admin: &str, name: &str, dir: &std::path::Path, size: Size) {
    let started = Instant::now();
    let admin_pool = PgPool::connect(admin).await.unwrap();
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&admin_pool).await.unwrap();
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&admin_pool).await.unwrap();
    let url = format!("{}/{name}", admin.rsplit_once('/').unwrap().0);
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).unwrap();
    let vault = Vault::open(Config::for_tests(dir, Some(url.clone())), Schema::Migrate).await.unwrap();
    let france = geo::France::load(
        &PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../web/node_modules/@etalab/decoupage-administratif/data/communes.json"),
    );
    let mut orgs = Vec::new();
    let mut agents = String::new();
    for (i, d) in france.departements.iter().enumerate() {
        let n = i as u32 * 3;
        let code = d.code.clone();
        let guichet_code = format!("G{:0>3}X", code);
        let (guichet, t1) = organisation(
            &vault,
            n,
            format!("Guichet enregistreur {code}"),
            OrgKind::Guichet,
            Some(guichet_code),
            &[code.clone()],
        )
        .await;
        let (bailleur, t2) = organisation(
            &vault,
            n + 1,
            format!("Bailleur départemental {code}"),
            OrgKind::Bailleur,
            None,
            &[code.clone()],
        )
        .await;
        let (local, t3) =
            organisation(&vault, n + 2, format!("Bailleur local {code}"), OrgKind::Bailleur, None, &d.largest).await;
        for (role, org, token) in [("guichet", &guichet, t1), ("bailleur", &bailleur, t2), ("local", &local, t3)] {
            agents.push_str(&format!("{code}\t{role}\t{}\t{}\t{token}\n", org.id, d.largest.join(",")));
        }
        orgs.push(DepOrgs { guichet, bailleur });
    }
    std::fs::write(dir.join("agents.tsv"), agents).unwrap();
    println!(
        "{} départements, {} organisations, {} communes",
        france.departements.len(),
        orgs.len() * 3,
        france.departements.iter().map(|d| d.communes.len()).sum::<usize>()
    );

    let pool = loader(&url).await;
    let again = generate::set_aside(&pool).await;
    // Kept so that an interrupted run can build them again (`BENCH_REUSE=1`).
    std::fs::write(dir.join("rebuild.sql"), again.join(";\n")).unwrap();
    let t = Instant::now();
    let (deps, sample) = generate::dossiers(&pool, &france, &orgs, vault.keys(), size).await;
    println!(
        "dossiers: {} dossiers, {} versions, keys and metadata sealed, in {:.0} s",
        size.dossiers,
        size.dossiers * size.pieces_per_dossier,
        t.elapsed().as_secs_f64()
    );
    let mut lines = String::new();
    for (d, nu) in &sample {
        lines.push_str(&format!("{}\t{nu}\n", france.departements[*d as usize].code));
    }
    std::fs::write(dir.join("dossiers.tsv"), lines).unwrap();
    let t = Instant::now();
    generate::journal(&pool, &orgs, &deps, size).await;
    println!("journal: {} chained events in {:.0} s", size.events, t.elapsed().as_secs_f64());
    let t = Instant::now();
    generate::rebuild(&pool, &again).await;
    std::fs::remove_file(dir.join("rebuild.sql")).unwrap();
    sqlx::query("ANALYZE").execute(&pool).await.unwrap();
    println!("indexes and constraints built again, analysed, in {:.0} s", t.elapsed().as_secs_f64());
    let bytes: i64 = sqlx::query_scalar("SELECT pg_database_size(current_database())").fetch_one(&pool).await.unwrap();
    println!("generated in {:.0} s; database {:.1} GB", started.elapsed().as_secs_f64(), bytes as f64 / 1e9);
    for r in sqlx::query(
        "SELECT relname AS t, pg_total_relation_size(oid) AS total, pg_relation_size(oid) AS heap, reltuples::bigint AS n \
         FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace ORDER BY 2 DESC LIMIT 10",
    )
    .fetch_all(&pool)
    .await
    .unwrap()
    {
        let (t, total, heap, n): (String, i64, i64, i64) = (r.get("t"), r.get("total"), r.get("heap"), r.get("n"));
        println!("  {t:<24} {n:>12} rows  {:>7.2} GB with indexes ({:.2} GB of rows)", total as f64 / 1e9, heap as f64 / 1e9);
    }
}

/// `GET /api/v1/dossiers/{nu}` through the router, one at a time, for
/// sampled dossiers of the département (each decided, its pieces' sealed
/// metadata opened under its unwrapped key, its daily trace recorded).
async fn fetch(vault: &Vault, token: &str, dep: &str, dir: &std::path::Path) {
    use axum::{body::Body, http::Request};
    use tower::ServiceExt;
    let sample = std::fs::read_to_string(dir.join("dossiers.tsv")).unwrap();
    let nus: Vec<&str> =
        sample.lines().filter_map(|l| l.split_once('\t')).filter(|(d, _)| *d == dep).map(|(_, nu)| nu).collect();
    let router = vault::router::router(vault.clone());
    let mut times = Vec::new();
    let (mut ok, mut gone) = (0, 0);
    for round in 0..3 {
        for nu in &nus {
            let t = Instant::now();
            let r = router
                .clone()
                .oneshot(
                    Request::get(format!("/api/v1/dossiers/{nu}"))
                        .header("authorization", format!("Bearer {token}"))
                        .body(Body::empty())
                        .unwrap(),
                )
                .await
                .unwrap();
            let status = r.status();
            let body = axum::body::to_bytes(r.into_body(), usize::MAX).await.unwrap();
            if round > 0 {
                times.push(t.elapsed());
            }
            match status.as_u16() {
                200 => ok += 1,
                // Radiated dossiers are closed to non-registering partners.
                403 => gone += 1,
                s => panic!("{nu}: {s} {}", String::from_utf8_lossy(&body)),
            }
        }
    }
    times.sort();
    let q = |p: f64| times[((times.len() - 1) as f64 * p) as usize].as_secs_f64() * 1e3;
    println!(
        "  dossier fetch, one at a time, {} sampled dossiers of {dep} (2 rounds after 1 of warm-up): p50 {:.2} ms, p99 {:.2} ms ({ok} answered 200, {gone} 403 for radiated)",
        nus.len(),
        q(0.5),
        q(0.99)
    );
}

fn main() {
    let Ok(admin) = std::env::var("BENCH_DATABASE_URL") else {
        println!("set BENCH_DATABASE_URL=postgres://… to run this benchmark");
        return;
    };
    let size = Size {
        dossiers: env_u64("BENCH_DOSSIERS", 2_700_000),
        pieces_per_dossier: env_u64("BENCH_PIECES", 10),
        events: env_u64("BENCH_EVENTS", 50_000_000),
    };
    let name = std::env::var("BENCH_NATIONAL_DB").unwrap_or_else(|_| "vault_national".into());
    let dir = PathBuf::from(std::env::var("BENCH_NATIONAL_DIR").unwrap_or_else(|_| "/var/tmp/dnu-national".into()));
    let reuse = std::env::var("BENCH_REUSE").is_ok_and(|v| v == "1") && dir.join("agents.tsv").exists();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async move {
        if !reuse {
            generate(&admin, &name, &dir, size).await;
        }
        let url = format!("{}/{name}", admin.rsplit_once('/').unwrap().0);
        if reuse && let Ok(saved) = std::fs::read_to_string(dir.join("rebuild.sql")) {
            // Whatever an interrupted generation did not build again.
            let pool = loader(&url).await;
            let t = Instant::now();
            let statements: Vec<String> = saved.split(";\n").map(str::to_owned).filter(|s| !s.is_empty()).collect();
            generate::rebuild(&pool, &statements).await;
            sqlx::query("ANALYZE").execute(&pool).await.unwrap();
            // Built: later migrations may drop some of these on purpose.
            std::fs::remove_file(dir.join("rebuild.sql")).unwrap();
            println!("indexes and constraints checked and built, analysed, in {:.0} s", t.elapsed().as_secs_f64());
        }
        // A dataset made by an older binary takes this one's migrations.
        let vault = Vault::open(Config::for_tests(&dir, Some(url)), Schema::Migrate).await.unwrap();
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM dossiers").fetch_one(vault.db().pool()).await.unwrap();
        // The département with the most dossiers: its two bailleurs.
        let top: String = sqlx::query_scalar(
            "SELECT departement FROM dossier_communes GROUP BY departement ORDER BY COUNT(*) DESC LIMIT 1",
        )
        .fetch_one(vault.db().pool())
        .await
        .unwrap();
        let agents = std::fs::read_to_string(dir.join("agents.tsv")).unwrap();
        for line in agents.lines() {
            let f: Vec<&str> = line.split('\t').collect();
            if f[0] != top || f[1] == "guichet" {
                continue;
            }
            let communes: Vec<String> = f[3].split(',').map(|c| format!("'{c}'")).collect();
            let territory = if f[1] == "bailleur" {
                format!("c.departement = '{top}'")
            } else {
                format!("c.commune IN ({})", communes.join(","))
            };
            // What one would first write by hand with the same indexes: the
            // territory's rows in numéro order, the dossier's status.
            let from = format!(
                "FROM dossier_communes c JOIN dossiers d ON d.id = c.dossier_id WHERE {territory} AND d.status = 'active'"
            );
            let columns = "c.numero_unique AS numero_unique, d.id AS id, d.status, d.deposited_on, d.valid_until";
            let first = format!("SELECT DISTINCT {columns} {from} AND c.numero_unique > $1 ORDER BY c.numero_unique LIMIT 50");
            // The SQL the worklist runs (`db::dossiers::dossiers_page`):
            // each code's index walked in numéro order up to the page, one
            // row per dossier without DISTINCT, the codes' pages merged.
            let branch = |code: &str| {
                format!(
                    "SELECT {columns} FROM dossier_communes c JOIN dossiers d ON d.id = c.dossier_id \
                     WHERE {code} AND c.numero_unique > $1 AND d.status = 'active' ORDER BY c.numero_unique LIMIT 50"
                )
            };
            let same = if f[1] == "bailleur" {
                branch(&format!(
                    "c.departement = '{top}' AND NOT EXISTS (SELECT 1 FROM dossier_communes o \
                     WHERE o.dossier_id = c.dossier_id AND o.departement = c.departement AND o.commune < c.commune)"
                ))
            } else {
                let parts: Vec<String> = communes
                    .iter()
                    .map(|c| format!("SELECT * FROM ({}) AS b", branch(&format!("c.commune = {c}"))))
                    .collect();
                format!("{} ORDER BY numero_unique LIMIT 50", parts.join(" UNION "))
            };
            let baselines = [
                Baseline { name: "as first written", sql: first, completeness: false },
                Baseline { name: "the worklist's own SQL", sql: same.clone(), completeness: false },
                Baseline { name: "the worklist's own SQL and completeness", sql: same, completeness: true },
            ];
            let shown: i64 = sqlx::query_scalar(&format!("SELECT COUNT(DISTINCT d.id) {from}"))
                .fetch_one(vault.db().pool())
                .await
                .unwrap();
            let who = format!(
                "{} of département {top} ({shown} dossiers)",
                if f[1] == "bailleur" { "dense: the bailleur" } else { "sparse: the local bailleur" }
            );
            worklist::measure(&vault, &who, f[4], &baselines, shown as usize, n as usize).await;
            if f[1] == "bailleur" {
                fetch(&vault, f[4], &top, &dir).await;
            }
        }
    });
}
