//! The daily pass over a shared file of 1,000,000 demands on PostgreSQL,
//! against one sequential scan of the same table in the same run.
//!
//! The file: 3 % of the demands due for their renewal notice (expiring
//! within 31 days, none issued yet, each with an e-mail address), 1 %
//! lapsed more than a month after their notice (to radiate for (e)), 1 %
//! radiated more than a year ago (to purge; metadata only, no objects),
//! and the rest valid for months. Every due demand has a real wrapped key
//! and sealed contact details, as registration makes them; the others are
//! generated in SQL. The pass writes its notices to the outbox (no SMTP).
//!
//! The baselines, same database, same run:
//! - one sequential scan of the table: `SELECT count(*), max(created_at)
//!   FROM dossiers`, whose plan is checked to be a `Seq Scan` (no index
//!   holds `created_at`, so PostgreSQL reads every page of the heap);
//!   until 2026-12-04 the baseline was `max(valid_until)`, which the
//!   planner answers from the `dossiers_by_validity` index alone, first
//!   run after the fetch below: a slower, partly cold read that flattered
//!   the ratio about 2×;
//! - the whole table fetched by the vault's own pool (what any program
//!   that looks at every demand pays);
//! - a floor under any pass: the rows this pass wrote, written again by
//!   PostgreSQL alone, set-based, into copies of their tables with the
//!   same indexes.
//!
//! With `pg_stat_statements` loaded (`shared_preload_libraries`), the
//! pass's statements are listed by their time in the database.
//!
//! `BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test cargo bench -p vault --bench lifecycle`
//! (BENCH_DEMANDS, default 1000000). A fresh database is created and
//! dropped at the end (kept, with `BENCH_KEEP=1`, to look at afterwards).
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::time::{Duration, Instant};

use vault::{
    Config, Vault,
    app::Schema,
    crypto::DossierKey,
    db::orgs::NewOrganisation,
    domain::{Contact, ContactFields, OrgKind, Siren, TerritoryCode},
};

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn iso(d: time::Date) -> String {
    vault::clock::iso_date(d)
}

fn main() {
    let Ok(admin) = std::env::var("BENCH_DATABASE_URL") else {
        println!("set BENCH_DATABASE_URL=postgres://… to run this benchmark");
        return;
    };
    let n: usize = std::env::var("BENCH_DEMANDS").ok().and_then(|s| s.parse().ok()).unwrap_or(1_000_000);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async move {
        sqlx::any::install_default_drivers();
        let name = format!("vault_bench_pass_{}", std::process::id());
        let pool = sqlx::AnyPool::connect(&admin).await.unwrap();
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(&pool).await.unwrap();
        let url = format!("{}/{name}", admin.rsplit_once('/').unwrap().0);
        let dir = tempfile::tempdir().unwrap();
        let vault = Vault::open(Config::for_tests(dir.path(), Some(url)), Schema::Migrate).await.unwrap();
        let db = vault.db();
        let org = db
            .insert_organisation(&NewOrganisation {
                siren: Siren::parse("215901836").unwrap(),
                name: "Mairie de Dunkerque".into(),
                kind: OrgKind::Guichet,
                registering: true,
                guichet_code: Some(vault::domain::GuichetCode::parse("DKMAI").unwrap()),
                territory: vec![TerritoryCode::parse("59183").unwrap()],
            })
            .await
            .unwrap();
        let today = vault::clock::today();
        let (notice, radiate, purge) = (n * 3 / 100, n / 100, n / 100);
        let quiet = n - notice - radiate - purge;

        let t = Instant::now();
        // The quiet demands, set-based: valid for two to ten more months.
        sqlx::query(&format!(
            "INSERT INTO dossiers (id, numero_unique, status, registered_by, deposited_on, valid_until, created_at) \
             SELECT gen_random_uuid()::text, \
                    '059' || lpad((1 + i / 1000000)::text, 2, '0') || '25' || lpad((i % 1000000)::text, 6, '0') || 'QUIET', \
                    'active', '{org}', '2026-01-15', to_char(DATE '{today}' + 60 + (i % 240), 'YYYY-MM-DD'), 0 \
             FROM generate_series(0, {last}) AS i",
            org = org.id,
            today = iso(today),
            last = quiet - 1
        ))
        .execute(db.pool())
        .await
        .unwrap();
        // The due ones, as registration makes them: a wrapped key, sealed
        // contact details, for the lapsed ones the notice of a month ago.
        let contact =
            Contact::parse(&ContactFields { email: Some("demandeur@exemple.fr".into()), online: true, ..Default::default() })
                .unwrap();
        let mut i = 0usize;
        for (group, count) in [("notice", notice), ("radiate", radiate), ("purge", purge)] {
            for chunk in (0..count).collect::<Vec<_>>().chunks(1000) {
                let (mut d, mut k, mut c, mut s) = (String::new(), String::new(), String::new(), String::new());
                for (j, _) in chunk.iter().enumerate() {
                    let id = uuid::Uuid::new_v4();
                    let sep = if j == 0 { "" } else { "," };
                    let nu = format!("05901{:02}{:06}DUEAB", 27 + i / 1_000_000, i % 1_000_000);
                    i += 1;
                    let (status, valid_until, radiated) = match group {
                        "notice" => ("active", today + time::Duration::days(1 + (j as i64 % 31)), "NULL, NULL".to_owned()),
                        "radiate" => ("active", today - time::Duration::days(40), "NULL, NULL".to_owned()),
                        _ => (
                            "radiated",
                            today - time::Duration::days(800),
                            format!("'{}', 'non_renouvellement'", iso(today - time::Duration::days(400))),
                        ),
                    };
                    d.push_str(&format!(
                        "{sep}('{id}', '{nu}', '{status}', '{}', '2025-01-15', '{}', 0, {radiated})",
                        org.id,
                        iso(valid_until)
                    ));
                    let dk = DossierKey::generate(id).unwrap();
                    let w = dk.wrap(&vault.keys()).unwrap();
                    k.push_str(&format!("{sep}('{id}', {}, decode('{}', 'hex'), 0)", w.kek_version, hex(&w.bytes)));
                    let sealed = vault::sealed::records::seal_contact(&dk, &contact).unwrap();
                    c.push_str(&format!("{sep}('{id}', '{}', decode('{}', 'hex'), 0)", sealed.id, hex(&sealed.sealed)));
                    if group == "radiate" {
                        let sep = if s.is_empty() { "" } else { "," };
                        s.push_str(&format!(
                            "{sep}('{}', '{id}', '{}', 'renewal', '{}', 'email', '{}', decode('00', 'hex'), 1, 0, 0)",
                            uuid::Uuid::new_v4(),
                            org.id,
                            iso(valid_until),
                            iso(today - time::Duration::days(71))
                        ));
                    }
                }
                for sql in [
                    format!("INSERT INTO dossiers (id, numero_unique, status, registered_by, deposited_on, valid_until, created_at, radiated_on, radiation_reason) VALUES {d}"),
                    format!("INSERT INTO dossier_keys (dossier_id, kek_version, wrapped, updated_at) VALUES {k}"),
                    format!("INSERT INTO dossier_contacts (dossier_id, sealed_id, sealed, updated_at) VALUES {c}"),
                ] {
                    sqlx::query(&sql).execute(db.pool()).await.unwrap();
                }
                if !s.is_empty() {
                    sqlx::query(&format!(
                        "INSERT INTO notices (id, dossier_id, organisation_id, kind, period, channel, issued_on, sealed, \
                         next_attempt_at, created_at, sent_at) VALUES {s}"
                    ))
                    .execute(db.pool())
                    .await
                    .unwrap();
                }
            }
        }
        sqlx::query("INSERT INTO dossier_communes (dossier_id, commune, departement, numero_unique) \
             SELECT id, '59183', '59', numero_unique FROM dossiers")
            .execute(db.pool())
            .await
            .unwrap();
        sqlx::query("VACUUM ANALYZE").execute(db.pool()).await.unwrap();
        println!(
            "seeded {n} demands ({notice} due for a notice, {radiate} to radiate, {purge} to purge) in {:.1} s",
            t.elapsed().as_secs_f64()
        );

        // Baselines, warm: the median of three runs after one run each.
        const SCAN: &str = "SELECT count(*), max(created_at) FROM dossiers";
        let plan: Vec<String> = sqlx::query_scalar(&format!("EXPLAIN {SCAN}")).fetch_all(db.pool()).await.unwrap();
        assert!(plan.iter().any(|l| l.contains("Seq Scan on dossiers")), "not a sequential scan: {plan:?}");
        let scan_plan = plan
            .iter()
            .find(|l| l.contains("Seq Scan"))
            .and_then(|l| l.split(" (cost").next())
            .map(|l| l.trim().trim_start_matches("->").trim().to_owned())
            .unwrap_or_default();
        let median = |mut v: Vec<Duration>| {
            v.sort();
            v[v.len() / 2]
        };
        let (mut scans, mut fetches) = (Vec::new(), Vec::new());
        for run in 0..4 {
            let t = Instant::now();
            sqlx::query(SCAN).fetch_one(db.pool()).await.unwrap();
            let scan = t.elapsed();
            let t = Instant::now();
            let rows = sqlx::query("SELECT id, numero_unique, status, registered_by, deposited_on, valid_until FROM dossiers")
                .fetch_all(db.pool())
                .await
                .unwrap();
            assert_eq!(rows.len(), n);
            if run > 0 {
                scans.push(scan);
                fetches.push(t.elapsed());
            }
        }
        let (scan, fetch) = (median(scans), median(fetches));
        // Where the database's time goes, when pg_stat_statements is loaded
        // (`shared_preload_libraries`): reset just before the pass.
        let statements = sqlx::query("SELECT pg_stat_statements_reset()").execute(&pool).await.is_ok();
        let t = Instant::now();
        let r = vault::jobs::lifecycle::run_pass(&vault, today, false).await.unwrap();
        let pass = t.elapsed();
        if statements {
            let rows = sqlx::query(
                "SELECT calls, total_exec_time::float8 AS ms, rows, left(regexp_replace(query, '\\$[0-9]+(, )?', '', 'g'), 90) AS q \
                 FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = $1) \
                 ORDER BY total_exec_time DESC LIMIT 14",
            )
            .bind(&name)
            .fetch_all(&pool)
            .await
            .unwrap();
            println!("the pass's statements, by time in the database (pg_stat_statements):");
            for r in rows {
                use sqlx::Row;
                let (calls, ms, n, q): (i64, f64, i64, String) =
                    (r.get("calls"), r.get("ms"), r.get("rows"), r.get("q"));
                println!("  {ms:8.1} ms {calls:6} calls {n:8} rows  {q}");
            }
        }
        assert_eq!(r.renewal_notices, notice, "{r:?}");
        assert_eq!(r.radiated_non_renewal, radiate, "{r:?}");
        assert_eq!(r.purge.purged, purge, "{r:?}");
        let s = |d: Duration| d.as_secs_f64();
        println!("one sequential scan of the {n} demands ({}): {:.3} s", scan_plan, s(scan));
        println!("the whole table fetched by the vault's pool:          {:.3} s", s(fetch));
        println!(
            "the daily pass ({} notices, {} radiations with their notices, {} purges): {:.2} s = {:.1}× the scan, {:.1}× the fetch",
            r.renewal_notices,
            r.radiated_non_renewal,
            r.purge.purged,
            s(pass),
            s(pass) / s(scan),
            s(pass) / s(fetch)
        );
        println!("steps (ms): notices, radiations (e), radiations (c, d), purge = {:?}", r.step_ms);
        // A floor under any pass: the rows it wrote (its notices and journal
        // events), written again by PostgreSQL alone in two set-based
        // statements into copies of their tables with the same indexes.
        let mut floor = Duration::ZERO;
        let mut rows = Vec::new();
        for table in ["notices", "audit_events"] {
            sqlx::query(&format!("CREATE TABLE floor_{table} (LIKE {table} INCLUDING ALL)"))
                .execute(db.pool())
                .await
                .unwrap();
            let t = Instant::now();
            // Only what the pass wrote: the seeded notices were created at 0,
            // and the seeding records no journal event.
            let only = if table == "notices" { " WHERE created_at > 0" } else { "" };
            let written = sqlx::query(&format!("INSERT INTO floor_{table} SELECT * FROM {table}{only}"))
                .execute(db.pool())
                .await
                .unwrap()
                .rows_affected();
            rows.push(written);
            floor += t.elapsed();
        }
        println!(
            "the same {} notices and {} journal events written by PostgreSQL alone (set-based): {:.2} s = {:.1}× the \
             scan; the pass is {:.1}× that",
            rows[0],
            rows[1],
            s(floor),
            s(floor) / s(scan),
            s(pass) / s(floor)
        );
        let t = Instant::now();
        let again = vault::jobs::lifecycle::run_pass(&vault, today, false).await.unwrap();
        println!("the same pass again (nothing left to do: {} notices): {:.2} s", again.messages, s(t.elapsed()));
        db.close().await;
        if std::env::var("BENCH_KEEP").is_err() {
            sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)")).execute(&pool).await.unwrap();
        } else {
            println!("kept: {name}");
        }
    });
}
