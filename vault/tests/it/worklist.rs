//! The worklist holds exactly the dossiers the single-dossier check allows:
//! random organisations, territories, dossiers, statuses and grants, every
//! agent's paginated worklist compared with `GET /dossiers/{nu}` on each.

use std::collections::BTreeSet;

use axum::http::StatusCode;
use e2e::Rng;
use vault::domain::{NumeroUnique, OrgKind, Siren};

use crate::common::{TestApp, add_org_agent, databases};

const COMMUNES: [&str; 6] = ["59183", "59350", "59155", "62193", "62041", "80021"];
const TERRITORIES: [&str; 9] = ["59", "62", "80", "59183", "59350", "62193", "80021", "59155", "62041"];

fn siren(i: u64) -> String {
    let base = format!("{:08}", 31_000_000 + i);
    (0..10).map(|d| format!("{base}{d}")).find(|s| Siren::parse(s).is_ok()).unwrap()
}

async fn worklist_of(app: &TestApp, token: &str, query: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut after: Option<String> = None;
    loop {
        let uri = match &after {
            Some(a) => format!("/api/v1/dossiers?limit=3{query}&after={a}"),
            None => format!("/api/v1/dossiers?limit=3{query}"),
        };
        let r = app.get(&uri, token).await;
        assert_eq!(r.status, StatusCode::OK, "{uri}: {:?}", r.body);
        let j = r.json();
        for item in j["items"].as_array().unwrap() {
            assert!(out.insert(item["numero_unique"].as_str().unwrap().to_owned()), "a dossier appeared twice");
        }
        match j["next"].as_str() {
            Some(n) => after = Some(n.to_owned()),
            None => return out,
        }
    }
}

#[tokio::test]
async fn worklist_equals_the_single_dossier_check() {
    // The default set (SQL narrowed to territory, grants and own dossier),
    // then the same plus a permit without @worklist (SQL examines all).
    let dalo = tempfile::tempdir().unwrap();
    for (file, text) in policies::BUILTIN_SETS[0].1 {
        std::fs::write(dalo.path().join(file), text).unwrap();
    }
    std::fs::write(
        dalo.path().join("70-dalo.cedar"),
        r#"@id("etat-dalo")
           permit (principal is Vault::Agent, action == Vault::Action::"dossier.read", resource is Vault::Dossier)
           when { principal.organisation.kind == "etat" && resource.status == "active" };"#,
    )
    .unwrap();
    let mut runs: Vec<_> = databases()
        .into_iter()
        .flat_map(|db| [0x5EED_0001_u64, 0xDEAD_BEEF, 0x0123_4567_89AB].map(|seed| (db, seed, None)))
        .collect();
    runs.push((databases()[0], 0x00E7_A7DA, Some(dalo.path().to_owned())));
    for (db, seed, policy_dir) in runs {
        {
            let mut rng = Rng(seed);
            let dalo_set = policy_dir.is_some();
            let mut builder = TestApp::builder().db(db);
            if let Some(dir) = policy_dir {
                builder = builder.policy_dir(dir);
            }
            let app = builder.build().await;
            assert_eq!(app.vault.policies().worklist_scope().unrestricted.is_empty(), !dalo_set);
            let kinds =
                [OrgKind::Guichet, OrgKind::Bailleur, OrgKind::Reservataire, OrgKind::Etat, OrgKind::Gestionnaire];
            let mut agents = vec![
                (app.guichet_token.clone(), "guichet-dk".to_owned()),
                (app.bailleur_token.clone(), "bailleur-59".to_owned()),
            ];
            let mut orgs = Vec::new();
            for i in 0..6 {
                let kind = *rng.pick(&kinds);
                let territory: Vec<&str> = (0..1 + rng.below(2)).map(|_| *rng.pick(&TERRITORIES)).collect();
                let s = siren(seed % 1000 * 10 + i);
                // The vault refuses a registering manager (access.rs).
                let registering = rng.below(2) == 0 && kind.may_register();
                let (token, _) = add_org_agent(&app.vault, &s, kind, registering, None, &territory).await;
                agents.push((token, format!("{kind}-{territory:?}")));
                orgs.push(s);
            }
            // Dossiers, registered by the Dunkerque guichet as the vault
            // would, then re-homed on random communes (the register check
            // would confine them to Dunkerque).
            let mut all = Vec::new();
            for _ in 0..18 {
                let nu = app.register().await;
                let id = app.vault.db().dossier_by_nu(&NumeroUnique::parse(&nu).unwrap()).await.unwrap().unwrap().id;
                let communes: BTreeSet<&str> = (0..1 + rng.below(2)).map(|_| *rng.pick(&COMMUNES)).collect();
                sqlx::query("DELETE FROM dossier_communes WHERE dossier_id = $1")
                    .bind(id.to_string())
                    .execute(app.vault.db().pool())
                    .await
                    .unwrap();
                for c in &communes {
                    sqlx::query(
                        "INSERT INTO dossier_communes (dossier_id, commune, departement, numero_unique) \
                         VALUES ($1, $2, $3, $4)",
                    )
                    .bind(id.to_string())
                    .bind(*c)
                    .bind(&c[..2])
                    .bind(&nu)
                    .execute(app.vault.db().pool())
                    .await
                    .unwrap();
                }
                if rng.below(4) == 0 {
                    sqlx::query("UPDATE dossiers SET status = 'radiated' WHERE id = $1")
                        .bind(id.to_string())
                        .execute(app.vault.db().pool())
                        .await
                        .unwrap();
                }
                if rng.below(3) == 0 {
                    let org = app
                        .vault
                        .db()
                        .organisation_by_siren(&Siren::parse(rng.pick(orgs.as_slice()).as_str()).unwrap())
                        .await
                        .unwrap()
                        .unwrap();
                    let now = vault::clock::now_ms() / 1000;
                    let expires = if rng.below(2) == 0 { now + 3600 } else { now - 10 };
                    let g = app
                        .vault
                        .db()
                        .insert_grant(
                            id,
                            org.id,
                            vault::domain::Purpose::Attribution,
                            None,
                            expires,
                            app.guichet_actor(org.id),
                        )
                        .await
                        .unwrap();
                    if rng.below(3) == 0 {
                        app.vault.db().revoke_grant(id, g.id, app.guichet_actor(org.id)).await.unwrap();
                    }
                }
                all.push(nu);
            }
            let (mut granted, mut refused) = (0, 0);
            for (token, who) in &agents {
                let mut allowed = BTreeSet::new();
                for nu in &all {
                    let r = app.get(&format!("/api/v1/dossiers/{nu}"), token).await;
                    match r.status {
                        StatusCode::OK => {
                            allowed.insert(nu.clone());
                        }
                        StatusCode::FORBIDDEN => {}
                        other => panic!("{who}: unexpected {other}"),
                    }
                }
                granted += allowed.len();
                refused += all.len() - allowed.len();
                assert_eq!(worklist_of(&app, token, "").await, allowed, "seed {seed:#x}, {who}");
                // Filters narrow the same set.
                let in_dk = worklist_of(&app, token, "&commune=59183&status=active").await;
                assert!(in_dk.is_subset(&allowed));
            }
            assert!(
                granted > 0 && refused > 0,
                "seed {seed:#x}: a vacuous case ({granted} allowed, {refused} refused)"
            );
        }
    }
}

#[tokio::test]
async fn worklist_refuses_bad_parameters() {
    let app = TestApp::builder().build().await;
    // Well-formed but meaningless values: 422.
    for q in ["limit=0", "limit=501", "status=lost", "commune=5918", "after=nope"] {
        let r = app.get(&format!("/api/v1/dossiers?{q}"), &app.guichet_token).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{q}");
    }
    // A query string that is not the worklist's (an unknown parameter, a
    // number that is none): 400, in the JSON error shape.
    for q in ["colour=red", "limit=abc"] {
        let r = app.get(&format!("/api/v1/dossiers?{q}"), &app.guichet_token).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{q}");
        assert_eq!(r.json()["error"]["code"], "bad_request", "{q}");
    }
}
