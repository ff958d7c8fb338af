//! The national dataset, written straight into PostgreSQL with `COPY`.
//!
//! Every row is what the vault itself would have written: numéros uniques
//! issued by `NumeroUnique::issue`, dossier keys generated and wrapped under
//! the vault's master key, each version's metadata sealed under its
//! dossier's key and bound to its piece and object, the audit journal
//! hash-chained with `chain_hash`. Only the objects' bytes are absent (no
//! benchmark of metadata reads them). Ids are drawn from a seeded generator
//! so a dossier's pieces and versions can be named again without being
//! kept in memory.
//!
//! Secondary indexes and constraints are dropped before the load and built
//! again after, from their own definitions (`pg_get_indexdef`,
//! `pg_get_constraintdef`): a 27-million-row table loads in minutes that way,
//! against hours of random index updates.

use std::{fmt::Write as _, time::Instant};

use sqlx::{PgPool, Row, postgres::PgPoolCopyExt};
use uuid::Uuid;
use vault::{
    crypto::{DossierKey, MasterKeys},
    domain::{GuichetCode, NumeroUnique},
    pieces::{Binding, SealedMeta},
};

use super::geo::{Departement, France};

/// Seeded SplitMix64: reproducible, and cheap enough for 100 million draws.
#[derive(Debug, Clone)]
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix(self.0)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// What an id names, so the same index gives different ids per table.
#[derive(Debug, Clone, Copy)]
pub enum Tag {
    Dossier = 1,
    Piece = 2,
    Version = 3,
    Object = 4,
    Grant = 5,
}

/// The id of row `i` of a kind: a version-4 UUID from the seed.
pub fn id(tag: Tag, i: u64) -> Uuid {
    let a = mix((tag as u64) << 56 ^ i);
    let b = mix(a ^ 0x5851_f42d_4c95_7f2d);
    uuid::Builder::from_random_bytes([a.to_le_bytes(), b.to_le_bytes()].concat().try_into().unwrap_or([0; 16]))
        .into_uuid()
}

/// How big the dataset is.
#[derive(Debug, Clone, Copy)]
pub struct Size {
    pub dossiers: u64,
    pub pieces_per_dossier: u64,
    pub events: u64,
}

/// The organisations the generator set up, by département.
#[derive(Debug, Clone)]
pub struct Org {
    pub id: Uuid,
    pub agent: Uuid,
    pub guichet: Option<GuichetCode>,
}

/// Per département: its guichet and its whole-département bailleur (the
/// local bailleur of its largest communes is only read, never written for).
#[derive(Debug, Clone)]
pub struct DepOrgs {
    pub guichet: Org,
    pub bailleur: Org,
}

/// One table's `COPY` stream, fed from the generating thread.
struct Feed {
    tx: tokio::sync::mpsc::Sender<Vec<u8>>,
    buf: Vec<u8>,
}

const FLUSH: usize = 1 << 20;

impl Feed {
    fn row(&mut self, cols: std::fmt::Arguments<'_>) {
        std::io::Write::write_fmt(&mut self.buf, cols).unwrap_or(());
        self.buf.push(b'\n');
        if self.buf.len() >= FLUSH {
            let full = std::mem::replace(&mut self.buf, Vec::with_capacity(FLUSH + 4096));
            // The receiving side only goes away on a COPY error, reported there.
            let _ = self.tx.blocking_send(full);
        }
    }

    fn close(self) {
        if !self.buf.is_empty() {
            let _ = self.tx.blocking_send(self.buf);
        }
    }
}

/// Starts `COPY table (columns) FROM STDIN` on its own connection; the
/// feed, written from the generating thread, sends it 1 MiB at a time, at
/// most 8 chunks ahead.
fn copy(pool: &PgPool, statement: String) -> (Feed, tokio::task::JoinHandle<u64>) {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<u8>>(8);
    let pool = pool.clone();
    let handle = tokio::spawn(async move {
        let mut copy = pool.copy_in_raw(&statement).await.unwrap_or_else(|e| panic!("{statement}: {e}"));
        while let Some(chunk) = rx.recv().await {
            copy.send(chunk).await.unwrap_or_else(|e| panic!("{statement}: {e}"));
        }
        copy.finish().await.unwrap_or_else(|e| panic!("{statement}: {e}"))
    });
    (Feed { tx, buf: Vec::with_capacity(FLUSH + 4096) }, handle)
}

/// Long work shows where it is.
fn progress(what: &str, done: u64, of: u64, started: Instant) {
    eprintln!("  {done} {what} of {of} ({:.0} per second)", done as f64 / started.elapsed().as_secs_f64());
}

fn hex(b: &[u8]) -> String {
    let mut s = String::with_capacity(3 + 2 * b.len());
    s.push_str("\\\\x");
    for x in b {
        let _ = write!(s, "{x:02x}");
    }
    s
}

/// A day `days` before 2026-12-01, as (ISO date, Unix ms, month, year).
fn day(days: u64) -> (String, i64, u8, i32) {
    let base = time::Date::from_calendar_date(2026, time::Month::December, 1).unwrap_or(time::Date::MIN);
    let d = base - time::Duration::days(days as i64);
    let ms = (d.midnight().assume_utc().unix_timestamp()) * 1000;
    (d.to_string(), ms, u8::from(d.month()), d.year())
}

/// Dossiers, their communes, keys, pieces, objects, versions and grants.
pub async fn dossiers(
    pool: &PgPool,
    france: &France,
    orgs: &[DepOrgs],
    ring: std::sync::Arc<MasterKeys>,
    size: Size,
) -> (Vec<u16>, Vec<(u16, String)>) {
    let kinds: Vec<&'static str> = vault::domain::catalogue::shipped()
        .map(|c| c.kinds.iter().map(|k| k.code.as_str()).collect())
        .unwrap_or_default();
    let streams = [
        "COPY dossiers (id, numero_unique, status, registered_by, deposited_on, valid_until, radiated_on, radiation_reason, created_at) FROM STDIN",
        "COPY dossier_communes (dossier_id, commune, departement, numero_unique) FROM STDIN",
        "COPY dossier_keys (dossier_id, kek_version, wrapped, updated_at) FROM STDIN",
        "COPY pieces (id, dossier_id, kind, created_at) FROM STDIN",
        "COPY objects (id, dossier_id, role, stored_len, created_at) FROM STDIN",
        "COPY piece_versions (id, piece_id, dossier_id, number, object_id, fingerprint, size_bytes, media_type, sealed_meta, uploaded_by_agent, uploaded_by_org, created_at, pages) FROM STDIN",
        "COPY grants (id, dossier_id, organisation_id, purpose, expires_at, created_at) FROM STDIN",
    ];
    let mut feeds = Vec::new();
    let mut handles = Vec::new();
    for s in streams {
        let (f, h) = copy(pool, s.to_owned());
        feeds.push(f);
        handles.push(h);
    }
    let france = france.clone();
    let orgs = orgs.to_vec();
    let producer = std::thread::spawn(move || {
        let mut rng = Rng(0x00d0_55e5);
        let mut seq = std::collections::HashMap::<(usize, u8, i32), u32>::new();
        let mut deps = Vec::with_capacity(size.dossiers as usize);
        // One dossier in a hundred, by département, for the fetch benchmarks.
        let mut sample = Vec::new();
        let started = Instant::now();
        let [fd, fc, fk, fp, fo, fv, fg] = <[Feed; 7]>::try_from(feeds).unwrap_or_else(|_| unreachable!());
        let (mut fd, mut fc, mut fk, mut fp, mut fo, mut fv, mut fg) = (fd, fc, fk, fp, fo, fv, fg);
        for i in 0..size.dossiers {
            let di = france.pick_departement(&mut rng);
            deps.push(di as u16);
            let dep: &Departement = &france.departements[di];
            let org = &orgs[di];
            let dossier = id(Tag::Dossier, i);
            let (deposited, ms, month, year) = day(1 + rng.below(365));
            let (until, ..) = day(0);
            let n = seq.entry((di, month, year)).or_insert(0);
            *n += 1;
            let guichet = org.guichet.guichet.as_ref().unwrap_or_else(|| unreachable!());
            let nu = NumeroUnique::issue(&dep.territory(), month, year, *n, guichet)
                .unwrap_or_else(|e| panic!("numéro unique for {}: {e}", dep.code));
            if i % 100 == 0 {
                sample.push((di as u16, nu.as_str().to_owned()));
            }
            let radiated = rng.below(100) < 4;
            let (status, rad_on, reason) =
                if radiated { ("radiated", deposited.clone(), "attribution") } else { ("active", String::new(), "") };
            let null = |s: &str| if s.is_empty() { "\\N".to_owned() } else { s.to_owned() };
            fd.row(format_args!(
                "{dossier}\t{}\t{status}\t{}\t{deposited}\t{until}\t{}\t{}\t{ms}",
                nu.as_str(),
                org.guichet.id,
                null(&rad_on),
                null(reason)
            ));
            // The commune the demand is about, and up to two more nearby.
            let wished = 1 + usize::from(rng.below(10) < 3) + usize::from(rng.below(10) < 1);
            let mut communes: Vec<&str> = Vec::with_capacity(3);
            for _ in 0..wished {
                let c = dep.pick_commune(&mut rng);
                if !communes.contains(&c) {
                    communes.push(c);
                }
            }
            for c in &communes {
                fc.row(format_args!("{dossier}\t{c}\t{}\t{}", dep.code, nu.as_str()));
            }
            let dk = DossierKey::generate(dossier).unwrap_or_else(|e| panic!("dossier key: {e}"));
            let wrapped = dk.wrap(&ring).unwrap_or_else(|e| panic!("wrap: {e}"));
            fk.row(format_args!("{dossier}\t{}\t{}\t{ms}", wrapped.kek_version, hex(&wrapped.bytes)));
            for k in 0..size.pieces_per_dossier {
                let j = i * size.pieces_per_dossier + k;
                let (piece, version, object) = (id(Tag::Piece, j), id(Tag::Version, j), id(Tag::Object, j));
                let kind = kinds[(k as usize) % kinds.len().max(1)];
                let len = 60_000 + rng.below(400_000);
                fp.row(format_args!("{piece}\t{dossier}\t{kind}\t{ms}"));
                fo.row(format_args!("{object}\t{dossier}\toriginal\t{}\t{ms}", len + 64));
                let mut sha = [0u8; 32];
                for (w, chunk) in sha.chunks_mut(8).enumerate() {
                    chunk.copy_from_slice(&mix(j ^ (w as u64) << 60).to_le_bytes());
                }
                let meta = SealedMeta {
                    sha256: sha.iter().fold(String::new(), |mut s, b| {
                        let _ = write!(s, "{b:02x}");
                        s
                    }),
                    filename: None,
                    declared_type: None,
                    scan: None,
                    bound: Some(Binding { piece, original: object, rendition: None, thumbnail: None }),
                };
                let sealed = meta.seal(&dk, version).unwrap_or_else(|e| panic!("seal: {e}"));
                fv.row(format_args!(
                    "{version}\t{piece}\t{dossier}\t1\t{object}\t{}\t{len}\tapplication/pdf\t{}\t{}\t{}\t{ms}\t{}",
                    hex(&dk.fingerprint(&sha)),
                    hex(&sealed),
                    org.guichet.agent,
                    org.guichet.id,
                    1 + rng.below(4)
                ));
            }
            // Grants on 1 % of the dossiers, to the guichet of another
            // département (an applicant who moved): the bailleurs' worklists
            // stay exactly their territories, which the baseline lists.
            if rng.below(100) == 0 {
                let other = &orgs[rng.below(orgs.len() as u64) as usize];
                let expires = 1_790_000_000 + rng.below(60_000_000) as i64;
                fg.row(format_args!(
                    "{}\t{dossier}\t{}\tattribution\t{expires}\t{ms}",
                    id(Tag::Grant, i),
                    other.guichet.id
                ));
            }
            if (i + 1) % 100_000 == 0 {
                progress("dossiers", i + 1, size.dossiers, started);
            }
        }
        for f in [fd, fc, fk, fp, fo, fv, fg] {
            f.close();
        }
        (deps, sample)
    });
    for h in handles {
        h.await.unwrap_or_else(|e| panic!("COPY task: {e}"));
    }
    producer.join().unwrap_or_else(|_| panic!("the generating thread panicked"))
}

/// The audit journal: `size.events` reads by bailleurs of dossiers of
/// their département, spread over the last year, hash-chained.
pub async fn journal(pool: &PgPool, orgs: &[DepOrgs], deps: &[u16], size: Size) {
    // The chain goes on from whatever the set-up recorded.
    let head = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1")
        .fetch_one(pool)
        .await
        .unwrap_or_else(|e| panic!("audit head: {e}"));
    let (first, start_hash): (i64, Vec<u8>) = (head.get("seq"), head.get("hash"));
    let (feed, handle) = copy(
        pool,
        "COPY audit_events (seq, at, agent_id, organisation_id, action, dossier_id, piece_id, version_id, outcome, \
         purpose, grantee, request_id, hash) FROM STDIN"
            .to_owned(),
    );
    let orgs = orgs.to_vec();
    let deps = deps.to_vec();
    let producer = std::thread::spawn(move || {
        let mut feed = feed;
        let mut rng = Rng(0x0a0d_17e5);
        let mut prev = start_hash;
        let start_ms = day(365).1;
        let span = 365 * 86_400_000i64;
        let started = Instant::now();
        for s in 0..size.events {
            let seq = first + s as i64 + 1;
            let at = start_ms + (span as i128 * s as i128 / size.events.max(1) as i128) as i64;
            let i = rng.below(deps.len() as u64);
            let org = &orgs[deps[i as usize] as usize].bailleur;
            let k = rng.below(size.pieces_per_dossier.max(1));
            let j = i * size.pieces_per_dossier + k;
            let (action, piece, version) = if rng.below(3) == 0 {
                ("dossier.read", None, None)
            } else {
                ("piece.read_rendition", Some(id(Tag::Piece, j).to_string()), Some(id(Tag::Version, j).to_string()))
            };
            let fields = [
                Some(org.agent.to_string()),
                Some(org.id.to_string()),
                Some(action.to_owned()),
                Some(id(Tag::Dossier, i).to_string()),
                piece,
                version,
                Some("ok".to_owned()),
                Some("instruction".to_owned()),
                None,
                None,
            ];
            let hash = vault::db::audit::chain_hash(&prev, seq, at, &fields);
            let col = |f: &Option<String>| f.clone().unwrap_or_else(|| "\\N".to_owned());
            feed.row(format_args!(
                "{seq}\t{at}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
                col(&fields[0]),
                col(&fields[1]),
                col(&fields[2]),
                col(&fields[3]),
                col(&fields[4]),
                col(&fields[5]),
                col(&fields[6]),
                col(&fields[7]),
                col(&fields[8]),
                col(&fields[9]),
                hex(&hash)
            ));
            prev = hash.to_vec();
            if (s + 1) % 5_000_000 == 0 {
                progress("events", s + 1, size.events, started);
            }
        }
        feed.close();
        prev
    });
    handle.await.unwrap_or_else(|e| panic!("COPY task: {e}"));
    let head = producer.join().unwrap_or_else(|_| panic!("the journal thread panicked"));
    let last = first + size.events as i64;
    sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
        .bind(last)
        .bind(head)
        .execute(pool)
        .await
        .unwrap_or_else(|e| panic!("audit head: {e}"));
    sqlx::query("SELECT setval('audit_events_seq_seq', $1)")
        .bind(last.max(1))
        .execute(pool)
        .await
        .unwrap_or_else(|e| panic!("audit sequence: {e}"));
}

/// The tables loaded here, whose indexes and constraints are set aside.
pub const TABLES: [&str; 8] =
    ["dossiers", "dossier_communes", "dossier_keys", "pieces", "objects", "piece_versions", "grants", "audit_events"];

/// Drops the loaded tables' indexes and constraints; returns the
/// statements that build them again, in order (keys before references).
pub async fn set_aside(pool: &PgPool) -> Vec<String> {
    let names: Vec<String> = TABLES.iter().map(|t| format!("'{t}'")).collect();
    let list = names.join(",");
    let constraints = sqlx::query(&format!(
        "SELECT c.conrelid::regclass::text AS t, c.conname AS n, pg_get_constraintdef(c.oid) AS d, c.contype AS k \
         FROM pg_constraint c JOIN pg_class r ON r.oid = c.conrelid \
         WHERE r.relname IN ({list}) AND c.contype IN ('p', 'u', 'f') \
         UNION ALL SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid), c.contype \
         FROM pg_constraint c JOIN pg_class r ON r.oid = c.confrelid WHERE r.relname IN ({list}) AND c.contype = 'f'"
    ))
    .fetch_all(pool)
    .await
    .unwrap_or_else(|e| panic!("constraints: {e}"));
    let indexes = sqlx::query(&format!(
        "SELECT indexname AS n, indexdef AS d FROM pg_indexes WHERE tablename IN ({list}) AND indexname NOT IN \
         (SELECT conname FROM pg_constraint)"
    ))
    .fetch_all(pool)
    .await
    .unwrap_or_else(|e| panic!("indexes: {e}"));
    let mut keys = Vec::new();
    let mut refs = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for c in &constraints {
        let (t, n, d, k): (String, String, String, i8) = (c.get("t"), c.get("n"), c.get("d"), c.get::<i8, _>("k"));
        if !seen.insert((t.clone(), n.clone())) {
            continue;
        }
        let add = format!("ALTER TABLE {t} ADD CONSTRAINT {n} {d}");
        if k == b'f' as i8 { refs.push((t, n, add)) } else { keys.push((t, n, add)) }
    }
    for (t, n, _) in &refs {
        sqlx::query(&format!("ALTER TABLE {t} DROP CONSTRAINT {n}")).execute(pool).await.unwrap_or_default();
    }
    for (t, n, _) in &keys {
        sqlx::query(&format!("ALTER TABLE {t} DROP CONSTRAINT {n}")).execute(pool).await.unwrap_or_default();
    }
    let mut again: Vec<String> = keys.into_iter().map(|(_, _, a)| a).collect();
    for i in &indexes {
        let (n, d): (String, String) = (i.get("n"), i.get("d"));
        sqlx::query(&format!("DROP INDEX {n}")).execute(pool).await.unwrap_or_default();
        again.push(d);
    }
    again.extend(refs.into_iter().map(|(_, _, a)| a));
    again
}

/// The name a rebuilding statement creates (`ADD CONSTRAINT n`, `INDEX n`)
/// and the table it works on.
fn target(statement: &str) -> (String, String) {
    let words: Vec<&str> = statement.split_whitespace().collect();
    let after = |w: &str| words.iter().position(|x| *x == w).and_then(|i| words.get(i + 1)).map(|s| (*s).to_owned());
    let name = after("CONSTRAINT").or_else(|| after("INDEX")).unwrap_or_default();
    let table = after("TABLE").or_else(|| after("ON")).unwrap_or_default();
    let table = if table == "public." { String::new() } else { table.trim_start_matches("public.").to_owned() };
    (name, table)
}

/// Builds again what [`set_aside`] dropped and is not there yet (so an
/// interrupted run resumes): keys and indexes first, references after;
/// two tables at a time (each build already uses PostgreSQL's parallel
/// workers), one statement at a time per table (they lock it).
pub async fn rebuild(pool: &PgPool, statements: &[String]) {
    let existing: std::collections::HashSet<String> = sqlx::query_scalar::<_, String>(
        "SELECT conname::text FROM pg_constraint UNION SELECT indexname::text FROM pg_indexes WHERE schemaname = 'public'",
    )
    .fetch_all(pool)
    .await
    .unwrap_or_else(|e| panic!("existing indexes: {e}"))
    .into_iter()
    .collect();
    let (refs, keys): (Vec<&String>, Vec<&String>) = statements.iter().partition(|s| s.contains("FOREIGN KEY"));
    for phase in [keys, refs] {
        let mut by_table: std::collections::BTreeMap<String, Vec<String>> = Default::default();
        for s in phase {
            let (name, table) = target(s);
            if !existing.contains(&name) {
                by_table.entry(table).or_default().push(s.clone());
            }
        }
        let turns = std::sync::Arc::new(tokio::sync::Semaphore::new(2));
        let mut tasks = Vec::new();
        for (table, list) in by_table {
            let (pool, turns) = (pool.clone(), std::sync::Arc::clone(&turns));
            tasks.push(tokio::spawn(async move {
                let _turn = turns.acquire_owned().await;
                let t = Instant::now();
                for s in &list {
                    sqlx::query(s).execute(&pool).await.unwrap_or_else(|e| panic!("{s}: {e}"));
                }
                eprintln!("  {table}: {} built in {:.0} s", list.len(), t.elapsed().as_secs_f64());
            }));
        }
        for t in tasks {
            t.await.unwrap_or_else(|e| panic!("rebuild: {e}"));
        }
    }
}
