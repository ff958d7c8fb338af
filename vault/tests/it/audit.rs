//! `audit verify` detects, each edited straight into the database: a deleted
//! event, a modified event, two swapped events, and a tail truncated before
//! the last checkpoint (head rewound to hide it).

use vault::audit::{VerifyOptions, verify, verify_with, write_checkpoint};

use crate::common::{DbKind, TestApp, databases, doc_of};

/// A vault with a few dozen audited events and a checkpoint at the end.
async fn journal(db: DbKind) -> (TestApp, i64) {
    let app = TestApp::builder().db(db).build().await;
    for i in 0..4u8 {
        let nu = app.register().await;
        let piece = app.upload_ok(&nu, &doc_of(1000, i)).await;
        assert!(app.original(&nu, &piece).await.body.is_ok());
    }
    let cp = write_checkpoint(&app.vault).await.unwrap().expect("a checkpoint");
    assert!(write_checkpoint(&app.vault).await.unwrap().is_none(), "nothing new, no second checkpoint");
    let clean = verify(&app.vault).await.unwrap();
    assert!(clean.is_clean(), "{:?}", clean.problems);
    assert_eq!((clean.events, clean.checkpoints), (12, 1));
    (app, cp.seq)
}

async fn exec(app: &TestApp, sql: &str) {
    sqlx::query(sql).execute(app.vault.db().pool()).await.unwrap();
}

async fn problems(app: &TestApp) -> String {
    let r = verify(&app.vault).await.unwrap();
    assert!(!r.is_clean(), "tampering went unnoticed");
    r.problems.join("\n")
}

#[tokio::test]
async fn verify_detects_deleted_modified_swapped_and_truncated_events() {
    for db in databases() {
        let (app, _) = journal(db).await;
        exec(&app, "DELETE FROM audit_events WHERE seq = 5").await;
        let p = problems(&app).await;
        assert!(p.contains("events 5 to 5 are missing"), "{p}");

        let (app, _) = journal(db).await;
        exec(&app, "UPDATE audit_events SET outcome = 'denied' WHERE seq = 7").await;
        let p = problems(&app).await;
        assert!(p.contains("event 7 does not match"), "{p}");

        let (app, _) = journal(db).await;
        // Swap the contents of events 3 and 4 (their numbers stay in place).
        exec(&app, "UPDATE audit_events SET seq = -3 WHERE seq = 3").await;
        exec(&app, "UPDATE audit_events SET seq = 3 WHERE seq = 4").await;
        exec(&app, "UPDATE audit_events SET seq = 4 WHERE seq = -3").await;
        let p = problems(&app).await;
        assert!(p.contains("event 3 does not match") && p.contains("event 4 does not match"), "{p}");

        let (app, last) = journal(db).await;
        // Remove the tail and rewind the head so the chain itself looks whole:
        // only the signed checkpoint can tell.
        exec(&app, &format!("DELETE FROM audit_events WHERE seq > {}", last - 3)).await;
        let keep: Vec<u8> =
            sqlx::query_scalar::<_, Vec<u8>>(&format!("SELECT hash FROM audit_events WHERE seq = {}", last - 3))
                .fetch_one(app.vault.db().pool())
                .await
                .unwrap();
        sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
            .bind(last - 3)
            .bind(keep)
            .execute(app.vault.db().pool())
            .await
            .unwrap();
        let p = problems(&app).await;
        assert!(p.contains("truncated"), "{p}");
    }
}

/// The red team's edit: delete the first events (a bailleur's reads and
/// export) and move `chain_start` past them, so the walk starts after the
/// hole. Then the same with the whole journal wiped. Both passed before
/// checkpoints signed where the chain starts.
#[tokio::test]
async fn verify_detects_events_cut_from_the_start_and_a_wiped_journal() {
    for db in databases() {
        let (app, last) = journal(db).await;
        exec(&app, "DELETE FROM audit_events WHERE seq <= 8").await;
        exec(&app, "UPDATE audit_head SET chain_start = 8 WHERE id = 1").await;
        let p = problems(&app).await;
        assert!(p.contains("signed a chain starting after event 0, the database says after event 8"), "{p}");
        assert!(p.contains("first event of the chain (9) is not the one"), "{p}");

        let (app, _) = journal(db).await;
        exec(&app, "DELETE FROM audit_events").await;
        exec(&app, &format!("UPDATE audit_head SET chain_start = {last} WHERE id = 1")).await;
        let p = problems(&app).await;
        assert!(p.contains(&format!("the checkpoint at event {last} lies before the chain's claimed start")), "{p}");
    }
}

/// Events no checkpoint signs, and a newest checkpoint too old, are
/// problems past the limits (here set to nothing, as time cannot be made
/// to pass in a test).
#[tokio::test]
async fn verify_wants_the_newest_events_signed_and_the_newest_checkpoint_recent() {
    let (app, _) = journal(DbKind::Sqlite).await;
    let strict = VerifyOptions { max_checkpoint_age_ms: Some(-1), max_unsigned_ms: -1 };
    let r = verify_with(&app.vault, strict).await.unwrap();
    assert_eq!(r.problems.len(), 1, "{:?}", r.problems);
    assert!(r.problems[0].contains("the newest checkpoint (event 12)"), "{:?}", r.problems);
    // One more event, not yet signed.
    let nu = app.register().await;
    assert!(!nu.is_empty());
    let r = verify_with(&app.vault, strict).await.unwrap();
    assert!(r.problems.iter().any(|p| p.contains("are signed by no checkpoint")), "{:?}", r.problems);
    // The default tolerates both: the event is fresh, the checkpoint too.
    assert!(verify(&app.vault).await.unwrap().is_clean());
}

/// Group commit (issue 20): readers arriving together share one commit of
/// their events, and none of them gets a byte before that commit. The
/// journal is held locked from another connection (PostgreSQL: the chain
/// head's row; SQLite: the write lock) while eight renditions are asked
/// for: no answer may come, and no event may be committed; once the lock
/// is let go, all eight answer, their eight events are in the chain, and
/// they took at most two commits (the first drainer may have taken one
/// event before the others queued behind it).
#[tokio::test]
async fn readers_arriving_together_share_a_commit_and_none_answers_before_it() {
    use axum::{body::Body, http::Request};
    use tower::ServiceExt;
    for db in databases() {
        let app = TestApp::builder().db(db).build().await;
        let nu = app.register().await;
        let piece = app.upload_ok(&nu, &doc_of(2000, 7)).await;
        let uri = format!("/api/v1/dossiers/{nu}/pieces/{piece}/rendition");
        let reads = || async {
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM audit_events WHERE action = 'piece.read_rendition'")
                .fetch_one(app.vault.db().pool())
                .await
                .unwrap()
        };
        let before = app.vault.db().journal_stats();

        let mut lock = app.vault.db().write_tx().await.unwrap();
        if db == DbKind::Postgres {
            sqlx::query("SELECT seq FROM audit_head WHERE id = 1 FOR UPDATE").execute(&mut *lock).await.unwrap();
        }
        let mut waiting = Vec::new();
        for _ in 0..8 {
            let req = Request::get(&uri)
                .header("authorization", format!("Bearer {}", app.bailleur_token))
                .body(Body::empty())
                .unwrap();
            waiting.push(tokio::spawn(app.router.clone().oneshot(req)));
        }
        tokio::time::sleep(std::time::Duration::from_millis(600)).await;
        let answered = waiting.iter().filter(|w| w.is_finished()).count();
        assert_eq!(answered, 0, "{db:?}: an answer came before its event was committed");
        lock.rollback().await.unwrap();

        let mut bodies = Vec::new();
        for w in waiting {
            let r = w.await.unwrap().unwrap();
            assert_eq!(r.status(), axum::http::StatusCode::OK, "{db:?}");
            bodies.push(axum::body::to_bytes(r.into_body(), usize::MAX).await.unwrap());
        }
        assert!(bodies.iter().all(|b| b.starts_with(b"%PDF") && *b == bodies[0]), "{db:?}");
        assert_eq!(reads().await, 8, "{db:?}: every read has its event");
        let after = app.vault.db().journal_stats();
        let (commits, events) = (after.commits - before.commits, after.events - before.events);
        assert_eq!(events, 8, "{db:?}");
        assert!(commits <= 2, "{db:?}: 8 waiting readers took {commits} commits");
        let chain = verify(&app.vault).await.unwrap();
        assert!(chain.is_clean(), "{db:?}: {:?}", chain.problems);
    }
}

/// With `VAULT_AUDIT_BATCH=1` each event commits alone (what the
/// benchmark compares against), and the chain is as whole.
#[tokio::test]
async fn a_batch_of_one_commits_each_event_alone() {
    let app = TestApp::builder().tune(|c| c.audit_batch = 1).build().await;
    let nu = app.register().await;
    let piece = app.upload_ok(&nu, &doc_of(2000, 8)).await;
    let uri = format!("/api/v1/dossiers/{nu}/pieces/{piece}/rendition");
    let before = app.vault.db().journal_stats();
    let gets: Vec<_> = (0..6).map(|_| app.get(&uri, &app.bailleur_token)).collect();
    for r in futures_util::future::join_all(gets).await {
        assert_eq!(r.status, axum::http::StatusCode::OK);
    }
    let after = app.vault.db().journal_stats();
    assert_eq!((after.commits - before.commits, after.events - before.events), (6, 6));
    assert!(verify(&app.vault).await.unwrap().is_clean());
}
