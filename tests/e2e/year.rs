//! A demand's legal year over the real binary, with a real SMTP server
//! (aiosmtpd) receiving the notices: the renewal notice a month before
//! expiry, sent once; radiation for non-renewal (e) a month after the
//! notice, never at expiry; the purge a year after radiation, leaving
//! nothing of the applicant; the postal applicant's letter in the
//! guichet's queue; the days simulated with `lifecycle run --as-of`.

use e2e::{BOUNDARY, Server, demo, files_under, found_in_files, run, smtp::Smtp};
use serde_json::{Value, json};
use std::io::Write;
use time::{Date, Duration};

fn date(s: &str) -> Date {
    Date::parse(s, time::macros::format_description!("[year]-[month]-[day]")).unwrap()
}

fn iso(d: Date) -> String {
    d.format(time::macros::format_description!("[year]-[month]-[day]")).unwrap()
}

/// The same day one month later (the vault's rule, R.441-2-8).
fn one_month_after(d: Date) -> Date {
    let (y, m) = if d.month() == time::Month::December {
        (d.year() + 1, time::Month::January)
    } else {
        (d.year(), d.month().next())
    };
    Date::from_calendar_date(y, m, d.day().min(time::util::days_in_month(m, y))).unwrap()
}

const MONTHS: [&str; 12] = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
];

fn french(d: Date) -> String {
    let m = MONTHS[usize::from(u8::from(d.month())) - 1];
    if d.day() == 1 { format!("1er {m} {}", d.year()) } else { format!("{} {m} {}", d.day(), d.year()) }
}

struct Pass<'a> {
    dir: &'a std::path::Path,
    env: &'a [(&'a str, &'a str)],
    log: String,
}

impl Pass<'_> {
    /// `lifecycle run --as-of DAY --json`; the report.
    fn run(&mut self, day: Date) -> Value {
        let out = run(self.dir, self.env, &["lifecycle", "run", "--as-of", &iso(day), "--json"]);
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "lifecycle run --as-of {day}: {err}");
        self.log.push_str(&err);
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

const GUICHET_BOX: &str = "relance.guichet-e2e@exemple.fr";

/// The notices to applicants (the digests go to the guichet's box).
fn notices(smtp: &Smtp) -> Vec<Value> {
    smtp.messages().into_iter().filter(|m| m["to"] != GUICHET_BOX).collect()
}

fn for_nu<'a>(mails: &'a [Value], nu: &str) -> Vec<&'a Value> {
    mails.iter().filter(|m| m["subject"].as_str().unwrap().contains(nu)).collect()
}

#[tokio::test]
async fn a_demand_s_year_over_the_real_binary_and_a_real_smtp_server() {
    let dir = tempfile::tempdir().unwrap();
    let mail_dir = tempfile::tempdir().unwrap();
    let smtp = Smtp::start(mail_dir.path(), 0);
    let smtp_url = smtp.url();
    let env = [
        ("VAULT_SMTP_URL", smtp_url.as_str()),
        ("VAULT_MAIL_FROM", "DNU Vault <ne-pas-repondre@dnu.exemple.fr>"),
        ("VAULT_PUBLIC_URL", "https://dnu.exemple.fr"),
        // The days are simulated with --as-of; serve must not run its own.
        ("VAULT_LIFECYCLE_DAILY", "false"),
    ];
    // The settings of the pass are listed where they mean something.
    let help = |args: &[&str]| String::from_utf8_lossy(&run(dir.path(), &[], args).stdout).into_owned();
    assert!(help(&["lifecycle", "run", "--help"]).contains("VAULT_SMTP_URL"));
    assert!(help(&["serve", "--help"]).contains("VAULT_LIFECYCLE_AT"));
    assert!(!help(&["gc", "--help"]).contains("VAULT_SMTP_URL"));
    let d = demo(dir.path(), &env);
    let guichet = d["agents"][0]["token"].as_str().unwrap().to_owned();
    // The guichet's shared mailbox gets the daily digest of its relance list.
    let siren = d["organisations"][0]["siren"].as_str().unwrap().to_owned();
    let set = run(dir.path(), &env, &["admin", "org", "contact", "--org", &siren, "--email", GUICHET_BOX]);
    assert!(set.status.success(), "{}", String::from_utf8_lossy(&set.stderr));
    let mut server = Server::start(dir.path(), &env);
    let http = reqwest::Client::new();
    let today = time::OffsetDateTime::now_utc().date();
    let register = |deposited: Date, contact: Value| {
        let (http, url, guichet) = (http.clone(), server.url("/api/v1/dossiers"), guichet.clone());
        async move {
            let r = http
                .post(url)
                .bearer_auth(guichet)
                .json(&json!({"communes": ["59183"], "deposited_on": iso(deposited), "contact": contact}))
                .send()
                .await
                .unwrap();
            let status = r.status();
            (status, r.json::<Value>().await.unwrap())
        }
    };
    const EMAIL_A: &str = "marie.martin.e2e-7f3a@exemple.fr";
    const STREET_C: &str = "12 rue des Tilleuls-e2e-c41b";
    // A malformed address is refused, naming the field.
    let (status, body) = register(today, json!({"email": "marie@", "online": true})).await;
    assert_eq!(status, 422);
    assert!(body["error"]["message"].as_str().unwrap().contains("contact.email"), "{body}");

    // A: registered online with an e-mail (e-mail only); its day 334 is today.
    let (status, a) = register(today - Duration::days(334), json!({"email": EMAIL_A, "online": true})).await;
    assert_eq!(status, 201, "{a}");
    let nu_a = a["numero_unique"].as_str().unwrap().to_owned();
    let va = date(a["valid_until"].as_str().unwrap());
    assert_eq!(a["contact"]["email"], EMAIL_A);
    // B: its day 340 is today, when it is renewed.
    let (_, b) = register(today - Duration::days(340), json!({"email": "b.e2e@exemple.fr", "online": true})).await;
    let nu_b = b["numero_unique"].as_str().unwrap().to_owned();
    // C: registered at a counter, no e-mail: post only.
    let (_, c) = register(
        today - Duration::days(334),
        json!({"postal_address": ["M. Karim Benali", STREET_C, "59140 Dunkerque"], "online": false}),
    )
    .await;
    let nu_c = c["numero_unique"].as_str().unwrap().to_owned();
    let vc = date(c["valid_until"].as_str().unwrap());

    // A's tax notice lapses before the demand: the renewal notice lists it.
    const MARKER: &[u8] = b"MARKER-year-e2e-91c2-PIECE-DU-DEMANDEUR";
    let mut payload = MARKER.to_vec();
    payload.extend(intake::sample::pseudo_random(50_000, 3));
    let doc = intake::sample::pdf_with_payload(&payload);
    let mut body = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\navis_imposition_n1\r\n--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"valid_until\"\r\n\r\n{}\r\n--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"avis.pdf\"\r\nContent-Type: application/pdf\r\n\r\n",
        iso(va - Duration::days(5))
    )
    .into_bytes();
    body.extend_from_slice(&doc);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    let up = http
        .post(server.url(&format!("/api/v1/dossiers/{nu_a}/pieces")))
        .bearer_auth(&guichet)
        .header("content-type", e2e::multipart_content_type())
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(up.status(), 201, "{}", up.text().await.unwrap());

    let mut pass = Pass { dir: dir.path(), env: &env, log: String::new() };
    // A malformed day: a clear error, nothing done.
    let bad = run(dir.path(), &env, &["lifecycle", "run", "--as-of", "2027-13-01"]);
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("expected a date"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );

    // B's day 334: B's notice only.
    let r = pass.run(today - Duration::days(6));
    assert_eq!(r["renewal_notices"], 1, "{r}");
    assert_eq!(notices(&smtp).len(), 1);
    assert_eq!(r["digests"], 1, "{r}");
    // E: imported late, its notice can only go out 10 days before expiry.
    let (_, e) = register(today - Duration::days(355), json!({"email": "e.e2e@exemple.fr", "online": true})).await;
    let nu_e = e["numero_unique"].as_str().unwrap().to_owned();
    let ve = date(e["valid_until"].as_str().unwrap());
    assert!((ve - today).whole_days() <= 11, "E expires {ve}");

    // Day 334 of A: exactly one notice to A, in French, naming the number,
    // the expiry date and the piece to update; E's notice; C's letter.
    let r = pass.run(today);
    assert_eq!(r["renewal_notices"], 3, "{r}");
    assert_eq!(r["delivery"]["sent"], 2, "{r}");
    let mails = notices(&smtp);
    let to_a = for_nu(&mails, &nu_a);
    assert_eq!(to_a.len(), 1, "{mails:?}");
    let m = to_a[0];
    assert_eq!(m["to"], EMAIL_A);
    assert_eq!(m["subject"], format!("Votre demande de logement social n° {nu_a} expire le {}", french(va)));
    let text = m["text"].as_str().unwrap();
    assert!(text.contains(&nu_a) && text.contains(&french(va)), "{text}");
    assert!(text.contains("Avis d'impôt") && text.contains(&french(va - Duration::days(5))), "{text}");
    assert!(text.contains("https://dnu.exemple.fr/mon-dossier"), "{text}");
    assert!(m["html"].as_str().unwrap().contains(&nu_a));
    assert!(m["message_id"].as_str().unwrap().ends_with("@dnu.exemple.fr>"));
    // The same day again: nothing more.
    let r = pass.run(today);
    assert_eq!(r["renewal_notices"], 0, "{r}");
    assert_eq!(r["digests"], 0, "one digest a day: {r}");
    assert_eq!(notices(&smtp).len(), 3);

    // C's letter waits in the guichet's queue: a PDF qpdf accepts, whose
    // text names the number and the expiry date, until marked posted.
    let queue: Value =
        http.get(server.url("/api/v1/letters")).bearer_auth(&guichet).send().await.unwrap().json().await.unwrap();
    let letters = queue["letters"].as_array().unwrap();
    assert_eq!(letters.len(), 1, "{queue}");
    assert_eq!(letters[0]["numero_unique"], nu_c.as_str());
    let pdf = http.get(server.url(letters[0]["pdf"].as_str().unwrap())).bearer_auth(&guichet).send().await.unwrap();
    assert_eq!(pdf.status(), 200);
    let pdf_path = mail_dir.path().join("letter.pdf");
    std::fs::write(&pdf_path, pdf.bytes().await.unwrap()).unwrap();
    let check = std::process::Command::new("qpdf").arg("--check").arg(&pdf_path).output().unwrap();
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stdout));
    let words = std::process::Command::new("pdftotext").arg(&pdf_path).arg("-").output().unwrap();
    let words = String::from_utf8_lossy(&words.stdout);
    assert!(words.contains(&nu_c) && words.contains(&french(vc)) && words.contains(STREET_C), "{words}");
    let id = letters[0]["id"].as_str().unwrap();
    let posted =
        http.post(server.url(&format!("/api/v1/letters/{id}/posted"))).bearer_auth(&guichet).send().await.unwrap();
    assert_eq!(posted.status(), 200);
    let queue: Value =
        http.get(server.url("/api/v1/letters")).bearer_auth(&guichet).send().await.unwrap().json().await.unwrap();
    assert_eq!(queue["letters"].as_array().unwrap().len(), 0, "{queue}");

    // B is renewed on its day 340 (today).
    let renewed =
        http.post(server.url(&format!("/api/v1/dossiers/{nu_b}/renew"))).bearer_auth(&guichet).send().await.unwrap();
    assert_eq!(renewed.status(), 200);

    // E lapsed, but its notice is younger than a month: it stays active,
    // at expiry and until the month is up.
    let month_after_notice = one_month_after(today);
    for day in [ve + Duration::days(1), month_after_notice - Duration::days(1)] {
        let r = pass.run(day);
        assert_eq!(r["radiated_non_renewal"], 0, "{day}: {r}");
    }
    let status = |nu: String| {
        let (http, url, guichet) = (http.clone(), server.url(&format!("/api/v1/dossiers/{nu}")), guichet.clone());
        async move {
            let r = http.get(url).bearer_auth(guichet).send().await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap_or_default())
        }
    };
    assert_eq!(status(nu_e.clone()).await.1["status"], "active");

    // A's day 366 (and E's month after its notice): A, C and E are
    // radiated for non-renewal and told so; B, renewed, stays active.
    let day_366 = va + Duration::days(1);
    assert!(day_366 >= month_after_notice);
    let r = pass.run(day_366);
    assert_eq!(r["radiated_non_renewal"], 3, "{r}");
    for nu in [&nu_a, &nu_c, &nu_e] {
        let (_, v) = status(nu.clone()).await;
        assert_eq!(v["status"], "radiated", "{v}");
        assert_eq!(v["radiation_reason"], "non_renouvellement");
        assert_eq!(v["radiated_on"], iso(day_366));
    }
    assert_eq!(status(nu_b.clone()).await.1["status"], "active");
    let mails = notices(&smtp);
    assert_eq!(mails.len(), 5, "A's and E's radiation notices");
    let radiated =
        for_nu(&mails, &nu_a).into_iter().find(|m| m["subject"].as_str().unwrap().contains("radiée")).unwrap();
    assert!(radiated["text"].as_str().unwrap().contains("n'a pas été renouvelée"));

    // A year after radiation: the purge. Nothing of A is left but its tombstone.
    let purge_day = date(status(nu_a.clone()).await.1["purge_on"].as_str().unwrap());
    let r = pass.run(purge_day);
    assert_eq!(r["purge"]["purged"], 3, "{r}");
    let (code, gone) = status(nu_a.clone()).await;
    assert_eq!(code, 410, "{gone}");
    assert_eq!(gone["error"]["code"], "gone");
    // B lapsed meanwhile: it gets its notice, is neither radiated nor purged.
    assert_eq!(status(nu_b.clone()).await.1["status"], "active");
    assert_eq!(notices(&smtp).len(), 6);
    // The digests: a count and a link, never a number or an address.
    let digests: Vec<Value> = smtp.messages().into_iter().filter(|m| m["to"] == GUICHET_BOX).collect();
    assert!(digests.len() >= 3, "{digests:?}");
    for m in &digests {
        let text = m["text"].as_str().unwrap();
        assert!(m["subject"].as_str().unwrap().contains("à relancer"), "{m}");
        assert!(text.contains("https://dnu.exemple.fr/dossiers"), "{text}");
        for nu in [&nu_a, &nu_b, &nu_c, &nu_e] {
            assert!(!text.contains(nu.as_str()), "a digest names {nu}");
        }
        assert!(!text.contains("@exemple.fr"), "a digest holds an address");
    }
    let objects: Vec<_> = files_under(&dir.path().join("objects/dossiers"));
    assert!(objects.is_empty(), "objects left after the purge: {objects:?}");

    assert!(server.terminate().success());
    for args in [&["check", "--deep"][..], &["audit", "verify", "--max-checkpoint-age-hours", "0"][..]] {
        let out = run(dir.path(), &env, args);
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
    for needle in [EMAIL_A.as_bytes(), MARKER, STREET_C.as_bytes()] {
        let found = found_in_files(dir.path(), needle);
        assert!(found.is_empty(), "{:?} still in {found:?}", String::from_utf8_lossy(needle));
    }
    // No address, street or number in any log line.
    let logs = format!("{}{}", server.log(), pass.log);
    for needle in [EMAIL_A, STREET_C, "b.e2e@exemple.fr", &nu_a, &nu_b, &nu_c, &nu_e] {
        assert!(!logs.contains(needle), "the logs hold {needle:?}");
    }
}

/// Rows of a PostgreSQL query, one per line.
fn psql(url: &str, sql: &str) -> String {
    let out = std::process::Command::new("psql").args([url, "-qAtc", sql]).output().unwrap();
    assert!(out.status.success(), "{sql}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[tokio::test]
async fn a_killed_pass_two_replicas_and_a_mail_server_down_send_each_notice_once() {
    let Ok(admin) = std::env::var("VAULT_TEST_DATABASE_URL") else {
        eprintln!("VAULT_TEST_DATABASE_URL unset: the replicas test needs PostgreSQL");
        return;
    };
    let name = format!("vault_test_e2e_year_{}", std::process::id());
    psql(&admin, &format!("CREATE DATABASE {name}"));
    let db = format!("{}/{name}", admin.rsplit_once('/').unwrap().0);
    let dir = tempfile::tempdir().unwrap();
    let mail_dir = tempfile::tempdir().unwrap();
    // The mail server is down at first: nothing listens on its port.
    let smtp_port = e2e::free_port();
    let smtp_url = format!("smtp://127.0.0.1:{smtp_port}");
    let env = [
        ("VAULT_DATABASE_URL", db.as_str()),
        ("VAULT_SMTP_URL", smtp_url.as_str()),
        ("VAULT_MAIL_FROM", "ne-pas-repondre@dnu.exemple.fr"),
        ("VAULT_LIFECYCLE_TIME_ZONE", "UTC"),
        ("VAULT_LIFECYCLE_AT", "00:00"),
    ];
    assert!(run(dir.path(), &env, &["migrate"]).status.success());
    let d = demo(dir.path(), &env);
    let guichet = d["agents"][0]["token"].as_str().unwrap().to_owned();
    let quiet = [env.as_slice(), &[("VAULT_LIFECYCLE_DAILY", "false")]].concat();
    let mut server = Server::start(dir.path(), &quiet);
    let http = reqwest::Client::new();
    let today = time::OffsetDateTime::now_utc().date();
    // Six batches of the pass's 100: a kill lands between two commits.
    const DUE: usize = 600;
    let mut numbers = Vec::new();
    for i in 0..DUE {
        let r = http
            .post(server.url("/api/v1/dossiers"))
            .bearer_auth(&guichet)
            .json(&json!({"communes": ["59183"], "deposited_on": iso(today - Duration::days(340)),
                          "contact": {"email": format!("demandeur-{i}@exemple.fr"), "online": true}}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        numbers.push(r.json::<Value>().await.unwrap()["numero_unique"].as_str().unwrap().to_owned());
    }
    assert!(server.terminate().success());

    // A pass killed half-way through its notices: another session holds
    // one demand's row, so the batch that holds it waits on its guard
    // while the batches beside it commit; once the count stops moving the
    // pass is killed, mid-way whatever the machine's speed.
    let mut holder = std::process::Command::new("psql")
        .args([db.as_str(), "-q", "-v", "ON_ERROR_STOP=1"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut hold = holder.stdin.take().unwrap();
    writeln!(hold, "BEGIN; SELECT 1 FROM dossiers WHERE numero_unique = '{}' FOR UPDATE;", numbers[DUE / 2]).unwrap();
    hold.flush().unwrap();
    let holding =
        format!("SELECT count(*) FROM pg_stat_activity WHERE datname = '{name}' AND state = 'idle in transaction'");
    while psql(&admin, &holding) != "1" {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let mut child = e2e::command(dir.path(), &quiet)
        .args(["lifecycle", "run"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let (mut last, mut since) = (0usize, std::time::Instant::now());
    let killed_at = loop {
        let n: usize = psql(&db, "SELECT count(*) FROM notices").parse().unwrap();
        if n != last {
            (last, since) = (n, std::time::Instant::now());
        }
        if (n > 0 && since.elapsed() > std::time::Duration::from_secs(2)) || std::time::Instant::now() > deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            break psql(&db, "SELECT count(*) FROM notices").parse::<usize>().unwrap();
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    writeln!(hold, "ROLLBACK;").unwrap();
    drop(hold);
    assert!(holder.wait().unwrap().success());
    eprintln!("the pass was killed with {killed_at} of {DUE} notices written");
    assert!(killed_at > 0 && killed_at < DUE, "the pass was not killed half-way ({killed_at} notices of {DUE})");

    // Two replicas whose pass time has come start at the same minute: one
    // takes the day and completes the killed pass's work.
    let mut a = Server::start(dir.path(), &env);
    let mut b = Server::start(dir.path(), &env);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !(a.log().contains("lifecycle pass done") || b.log().contains("lifecycle pass done")) {
        assert!(std::time::Instant::now() < deadline, "no replica ran the pass:\n{}\n{}", a.log(), b.log());
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    std::thread::sleep(std::time::Duration::from_secs(2));
    let ran = [&a, &b].iter().filter(|s| s.log().contains("lifecycle pass done")).count();
    assert_eq!(ran, 1, "the day's pass ran on {ran} replicas");
    assert_eq!(psql(&db, "SELECT count(*) FROM notices"), DUE.to_string());
    assert_eq!(psql(&db, "SELECT count(*) FROM lifecycle_runs WHERE finished_at IS NOT NULL"), "1");
    // The mail server was down: every e-mail waits, none is lost.
    assert_eq!(psql(&db, "SELECT count(*) FROM notices WHERE sent_at IS NULL AND gave_up_at IS NULL"), DUE.to_string());
    for s in [&mut a, &mut b] {
        assert!(s.terminate().success());
        for nu in &numbers {
            assert!(!s.log().contains(nu.as_str()), "a log holds a numéro unique");
        }
        assert!(!s.log().contains("@exemple.fr"), "a log holds an e-mail address");
    }
    // A replica stopped while sending finished the e-mail in flight and
    // left the others unclaimed: none waits out a dead sender's lease.
    assert_eq!(psql(&db, "SELECT count(*) FROM notices WHERE claimed_until IS NOT NULL"), "0");

    // It comes back: the waiting e-mails leave, each once.
    let smtp = Smtp::start(mail_dir.path(), smtp_port);
    let out = run(dir.path(), &quiet, &["lifecycle", "run", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["renewal_notices"], 0, "{r}");
    assert_eq!(r["delivery"]["waiting"], 0, "{r}");
    let mails = smtp.messages();
    assert_eq!(mails.len(), DUE, "one e-mail per notice");
    let ids: std::collections::HashSet<&str> = mails.iter().map(|m| m["message_id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), DUE);
    for nu in &numbers {
        assert_eq!(for_nu(&mails, nu).len(), 1, "{nu}");
    }
    psql(&admin, &format!("DROP DATABASE {name} WITH (FORCE)"));
}
