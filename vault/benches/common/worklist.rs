//! The worklist against hand-written SQL without any policy engine, in the
//! same run: the first page, then every page to the end. Shared by the
//! 100,000-dossier bench (`worklist`) and the national one (`national`).

use std::time::{Duration, Instant};

use axum::{body::Body, http::Request};
use tower::ServiceExt;
use vault::Vault;

/// Put before a baseline's SQL: each page's completeness is then asked too.
pub const COMPLETE: &str = "-- and completeness\n";

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Measures the worklist of `token`'s agent, which must show exactly the
/// `shown` of the `n` dossiers that each baseline lists 50 at a time in
/// numéro unique order after `$1` (selecting at least `id` and
/// `numero_unique`). Baselines are named: the listing as one would first
/// write it, and the same SQL the worklist runs, without its policy,
/// completeness and trace.
pub async fn measure(vault: &Vault, who: &str, token: &str, baselines: &[(&str, String)], shown: usize, n: usize) {
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
    let plain = |baseline: &str, after: String| {
        let pool = db.pool().clone();
        let (complete, baseline) = match baseline.strip_prefix(COMPLETE) {
            Some(sql) => (true, sql.to_owned()),
            None => (false, baseline.to_owned()),
        };
        async move {
            // The same page, the territory filtered in SQL: ids, then their communes.
            let rows = sqlx::query(&baseline).bind(after).fetch_all(&pool).await.unwrap();
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
            if complete {
                // And which of them are complete today, as the worklist
                // shows (the same predicate, `db::expected`).
                let sql = format!(
                    "SELECT d.id FROM dossiers d WHERE d.id IN ({}) AND {}",
                    (3..3 + ids.len()).map(|i| format!("${i}")).collect::<Vec<_>>().join(", "),
                    vault::db::expected::complete_predicate("d.id", "$1", "$2")
                );
                // "identite": the kind every dossier needs.
                let mut q = sqlx::query(&sql).bind("identite").bind(vault::clock::iso_date(vault::clock::today()));
                for id in &ids {
                    q = q.bind(id.clone());
                }
                q.fetch_all(&pool).await.unwrap();
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
        for ((_, sql), times) in baselines.iter().zip(&mut first_p) {
            let t = Instant::now();
            plain(sql, String::new()).await;
            times.push(t.elapsed());
        }
    }
    let w = median(first_w);
    println!("  first page of 50: worklist {:.2} ms", w.as_secs_f64() * 1e3);
    for ((name, _), times) in baselines.iter().zip(first_p) {
        let p = median(times);
        println!(
            "    SQL only, {name}: {:.2} ms, ratio {:.1}",
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
    for (name, sql) in baselines {
        let t = Instant::now();
        let (mut cursor, mut plain_pages) = (String::new(), 0);
        while let Some(last) = plain(sql, cursor.clone()).await {
            cursor = last;
            plain_pages += 1;
        }
        let p = t.elapsed();
        println!(
            "    SQL only, {name}: {plain_pages} pages, {:.2} s, ratio {:.1}",
            p.as_secs_f64(),
            w.as_secs_f64() / p.as_secs_f64()
        );
    }
}
