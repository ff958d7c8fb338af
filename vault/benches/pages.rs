//! What a page costs: the bailleur's worklist page with 50 rows (policy,
//! completeness, journal, DSFR markup), time to first byte through the
//! router, against the same 50 rows as the API's JSON in the same run; and
//! the bytes of CSS and JavaScript a page makes the browser fetch.
//!
//! `cargo bench -p vault --bench pages` (SQLite, the embedded default;
//! `BENCH_DATABASE_URL=postgres://…` for PostgreSQL). The page is rendered
//! whole before its first byte leaves (maud), so its first byte is its time.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::time::{Duration, Instant};

use axum::{body::Body, http::Request};
use tower::ServiceExt;
use vault::{
    Config, Vault,
    app::Schema,
    auth::{TokenKind, new_token},
    db::orgs::NewOrganisation,
    domain::{OrgKind, Siren, TerritoryCode},
};

const ROWS: usize = 50;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async move {
        sqlx::any::install_default_drivers();
        let dir = tempfile::tempdir().unwrap();
        let url = match std::env::var("BENCH_DATABASE_URL") {
            Ok(admin) => {
                let name = format!("vault_bench_pages_{}", std::process::id());
                let pool = sqlx::AnyPool::connect(&admin).await.unwrap();
                sqlx::query(&format!("CREATE DATABASE {name}")).execute(&pool).await.unwrap();
                Some(format!("{}/{name}", admin.rsplit_once('/').unwrap().0))
            }
            Err(_) => None,
        };
        let backend = if url.is_some() { "PostgreSQL" } else { "SQLite" };
        let vault = Vault::open(Config::for_tests(dir.path(), url), Schema::Migrate).await.unwrap();
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
        let (token, hash) = new_token().unwrap();
        let agent = db.insert_agent(org.id, "bench", &hash, false).await.unwrap();
        let (session, hash) = TokenKind::AgentSession.mint().unwrap();
        db.agent_session_open(agent.id, &hash, vault::clock::now_ms() + 3_600_000).await.unwrap();
        let mut d = String::from(
            "INSERT INTO dossiers (id, numero_unique, status, registered_by, deposited_on, valid_until, created_at) VALUES ",
        );
        let mut c = String::from("INSERT INTO dossier_communes (dossier_id, commune, departement, numero_unique) VALUES ");
        for i in 0..ROWS {
            let id = uuid::Uuid::new_v4();
            let sep = if i == 0 { "" } else { "," };
            d.push_str(&format!(
                "{sep}('{id}', '0590126{i:06}BENCH', 'active', '{}', '2026-01-15', '2027-01-15', 0)",
                org.id
            ));
            c.push_str(&format!("{sep}('{id}', '59183', '59', '0590126{i:06}BENCH')"));
        }
        sqlx::query(&d).execute(db.pool()).await.unwrap();
        sqlx::query(&c).execute(db.pool()).await.unwrap();

        let router = vault::router::router(vault.clone());
        let get = |uri: &'static str, header: (&'static str, String)| {
            let router = router.clone();
            async move {
                let t = Instant::now();
                let r = router.oneshot(Request::get(uri).header(header.0, header.1).body(Body::empty()).unwrap()).await.unwrap();
                assert_eq!(r.status(), 200);
                let first = t.elapsed();
                let body = axum::body::to_bytes(r.into_body(), usize::MAX).await.unwrap();
                (first, body)
            }
        };
        let (mut page, mut api) = (Vec::new(), Vec::new());
        let mut html = bytes::Bytes::new();
        for _ in 0..31 {
            let (t, b) = get("/dossiers", ("cookie", format!("__Host-dnu_session={session}"))).await;
            page.push(t);
            html = b;
            let (t, b) = get("/api/v1/dossiers?limit=50", ("authorization", format!("Bearer {token}"))).await;
            api.push(t);
            assert_eq!(serde_json::from_slice::<serde_json::Value>(&b).unwrap()["items"].as_array().unwrap().len(), ROWS);
        }
        let text = String::from_utf8(html.to_vec()).unwrap();
        assert_eq!(text.matches("<tr>").count(), ROWS + 1, "50 rows and the header");
        let (p, a) = (median(page), median(api));
        println!(
            "{backend}: worklist page of {ROWS} rows, first byte {:.2} ms ({} bytes of HTML); the same rows as JSON {:.2} ms; ratio {:.1}",
            p.as_secs_f64() * 1e3,
            text.len(),
            a.as_secs_f64() * 1e3,
            p.as_secs_f64() / a.as_secs_f64()
        );
        let css = vault::web::assets::find("dsfr.css").unwrap();
        let fonts = vault::web::assets::find("marianne.css").unwrap();
        let woff2: usize = ["Regular", "Medium", "Bold"]
            .iter()
            .map(|w| vault::web::assets::find(&format!("fonts-Marianne-{w}.woff2")).map_or(0, |a| a.body.len()))
            .sum();
        let js = vault::web::assets::find("upload.js").unwrap();
        println!(
            "per page: CSS {} KB ({} KB gzipped, the one stylesheet), JavaScript {:.1} KB ({:.1} KB gzipped, \
             the upload's progress), both cached a year; a State operator adds {} KB of @font-face and {} KB \
             of Marianne (regular, medium, bold woff2)",
            css.body.len() / 1000,
            css.gzip.map_or(0, <[u8]>::len) / 1000,
            js.body.len() as f64 / 1000.0,
            js.gzip.map_or(0, <[u8]>::len) as f64 / 1000.0,
            fonts.body.len() / 1000,
            woff2 / 1000,
        );
    });
}
