//! The worklist against hand-written SQL without any policy engine, in the
//! same run: the first page, then every page to the end. Shared by the
//! 100,000-dossier bench (`worklist`) and the national one (`national`).

use std::time::{Duration, Instant};

use axum::{body::Body, http::Request};
use tower::ServiceExt;
use vault::Vault;

/// A hand-written listing to compare with: its SQL lists a page after `$1`;
/// with `completeness`, each page's completeness is asked too, through the
/// vault's own query (`Db::complete_among`), as the worklist shows it.
pub struct Baseline {
    pub name: &'static str,
    pub sql: String,
    pub completeness: bool,
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Measures the worklist of `token`'s agent, which must show exactly the
/// `shown` of the `n` dossiers that each baseline lists 50 at a time in
/// numéro unique order after `$1` (selecting at least `id` and
/// `numero_unique`).
pub async fn measure(vault: &Vault, who: &str, token: &str, baselines: &[Baseline], shown: usize, n: usize) {
    println!("{who}:");
    let db = vault.db();

    let router = vault::router::router(vault.clone());
    let page = |after: Option<String>| {
        let router = router.clone();
        let token = token.to_owned();
        async move {
            let uri = match after {
                Some(a) => format!("/api/v1/dossiers?limit=50&after={a}"),
                None => "/api/v1/dossiers?limit=50".to_owned(),
            };
            let r = router
                .oneshot(
                    Request::get(uri).header("authorization", format!("Bearer {token}")).body(Body::empty()).unwrap(),
                )
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            let b = axum::body::to_bytes(r.into_body(), usize::MAX).await.unwrap();
            serde_json::from_slice::<serde_json::Value>(&b).unwrap()
        }
    };
    let plain = |baseline: &Baseline, after: String| {
        let (pool, db) = (db.pool().clone(), db.clone());
        let (sql, completeness) = (baseline.sql.clone(), baseline.completeness);
        async move {
            // The same page, the territory filtered in SQL: ids, then their communes.
            let rows = sqlx::query(&sql).bind(after).fetch_all(&pool).await.unwrap();
            let ids: Vec<String> = rows.iter().map(|r| sqlx::Row::get::<String, _>(r, "id")).collect();
            if ids.is_empty() {
                return None;
            }
            let marks: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
            let sql =
                format!("SELECT dossier_id, commune FROM dossier_communes WHERE dossier_id IN ({})", marks.join(","));
            let mut q = sqlx::query(&sql);
            for id in &ids {
                q = q.bind(id.clone());
            }
            q.fetch_all(&pool).await.unwrap();
            if completeness {
                let uuids: Vec<uuid::Uuid> = ids.iter().map(|id| id.parse().unwrap()).collect();
                let required = vault::domain::PieceKind::required().unwrap();
                db.complete_among(&uuids, required, vault::clock::today()).await.unwrap();
            }
            rows.last().map(|r| sqlx::Row::get::<String, _>(r, "numero_unique"))
        }
    };
    let mut first_w = Vec::new();
    let mut first_p = vec![Vec::new(); baselines.len()];
    for _ in 0..21 {
        let t = Instant::now();
        let j = page(None).await;
        first_w.push(t.elapsed());
        assert_eq!(j["items"].as_array().unwrap().len(), 50);
        for (baseline, times) in baselines.iter().zip(&mut first_p) {
            let t = Instant::now();
            plain(baseline, String::new()).await;
            times.push(t.elapsed());
        }
    }
    let w = median(first_w);
    println!("  first page of 50: worklist {:.2} ms", w.as_secs_f64() * 1e3);
    for (baseline, times) in baselines.iter().zip(first_p) {
        let p = median(times);
        println!(
            "    SQL only, {}: {:.2} ms, ratio {:.1}",
            baseline.name,
            p.as_secs_f64() * 1e3,
            w.as_secs_f64() / p.as_secs_f64()
        );
    }
    // Every page, to the end.
    let t = Instant::now();
    let (mut after, mut items, mut pages) = (None, 0, 0);
    loop {
        let j = page(after).await;
        items += j["items"].as_array().unwrap().len();
        pages += 1;
        match j["next"].as_str() {
            Some(n) => after = Some(n.to_owned()),
            None => break,
        }
    }
    let w = t.elapsed();
    assert_eq!(items, shown, "the worklist shows exactly the territory");
    println!("  whole worklist: {items} of {n} dossiers in {pages} pages, {:.2} s", w.as_secs_f64());
    for baseline in baselines {
        let t = Instant::now();
        let (mut cursor, mut plain_pages) = (String::new(), 0);
        while let Some(last) = plain(baseline, cursor.clone()).await {
            cursor = last;
            plain_pages += 1;
        }
        let p = t.elapsed();
        println!(
            "    SQL only, {}: {plain_pages} pages, {:.2} s, ratio {:.1}",
            baseline.name,
            p.as_secs_f64(),
            w.as_secs_f64() / p.as_secs_f64()
        );
    }
}
