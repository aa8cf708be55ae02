//! Several `guanxi` processes on one database, and processes that die or freeze: the real
//! binary as child processes against the fake Bot API over HTTP and the SMTP sink.
//!
//! Tests that need several processes on one database at once return early on SQLite (one
//! writer, one machine: nothing to prove there). Every child is killed when its handle drops,
//! every wait has a limit, and everything a child prints is checked for secrets.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Datelike, NaiveDate, Utc, Weekday};
use guanxi::email::message_id_for;
use guanxi::jobs::planner;
use guanxi::storage::Db;
use guanxi::storage::outbox::{self, NewMessage, OutboxRow, Priority};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::app::settings_for;
use crate::helpers::clock::ManualClock;
use crate::helpers::db;
use crate::helpers::fake_telegram::FakeTelegram;
use crate::helpers::process::{self, DB_PASSWORD, Env, Guanxi, Logs, SMTP_PASSWORD, SMTP_USER, WEBHOOK_SECRET};
use crate::helpers::smtp_sink::{ReceivedMail, SmtpSink};

/// Wednesday 2026-01-07, 10:00 in Beijing: a working day after the 09:00 round.
const ROUND: &str = "2026-01-07T02:00:00Z";
const DIRECTOR: i64 = 900;
const MANAGER: i64 = 901;
const REPS: [i64; 2] = [910, 911];
const DIRECTOR_EMAIL: &str = "director@corp.example";
const MANAGER_EMAIL: &str = "manager@corp.example";
const CSV_HEADER: &str = "name,tier,region,owner_telegram_id,phone,last_call_on,last_visit_on\n";
/// Telegram's limits never get in the way (tests that are not about them).
const UNLIMITED_TOML: &str = "[telegram.rate_limits]\nmessages_per_sec_overall = 10000\n\
                              messages_per_sec_chat = 10000\nmessages_per_min_chat = 100000\n";

fn instant(rfc3339: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(rfc3339).expect("an RFC 3339 instant").to_utc()
}

/// Several processes on one database only make sense on PostgreSQL.
fn skipped_on_sqlite(test: &str) -> bool {
    let skip = db::backend() == "sqlite";
    if skip {
        println!("{test}: skipped on SQLite (several instances on one database need PostgreSQL)");
    }
    skip
}

/// A port nobody listens on right now.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binding a free port");
    listener.local_addr().expect("its address").port()
}

/// Run `guanxi <args>` to a successful end (60 s at most); its output is kept in `logs`.
async fn run_ok(logs: &mut Vec<Logs>, name: &str, env: &Env, args: &[&str]) -> String {
    let mut child = Guanxi::spawn(name, env, args);
    let stdout = child.success(Duration::from_secs(60)).await;
    logs.push(child.logs());
    stdout
}

/// A director and a manager with e-mail, two reps under the manager, and the customers in
/// `csv_rows` (after the header), through the command line as an operator would.
async fn seed_team(logs: &mut Vec<Logs>, env: &Env, dir: &Path, csv_rows: &str) {
    let cli = Env::bare().set("DATABASE_URL", env.get("DATABASE_URL").expect("a database"));
    let director = DIRECTOR.to_string();
    let manager = MANAGER.to_string();
    run_ok(
        logs,
        "staff add director",
        &cli,
        &[
            "staff",
            "add",
            "--telegram-id",
            &director,
            "--name",
            "总监",
            "--role",
            "director",
            "--email",
            DIRECTOR_EMAIL,
        ],
    )
    .await;
    run_ok(
        logs,
        "staff add manager",
        &cli,
        &[
            "staff",
            "add",
            "--telegram-id",
            &manager,
            "--name",
            "经理",
            "--role",
            "manager",
            "--manager",
            &director,
            "--email",
            MANAGER_EMAIL,
        ],
    )
    .await;
    for (rep, name) in REPS.iter().zip(["甲", "乙"]) {
        let id = rep.to_string();
        run_ok(
            logs,
            "staff add rep",
            &cli,
            &["staff", "add", "--telegram-id", &id, "--name", name, "--role", "rep", "--manager", &manager],
        )
        .await;
    }
    let file = dir.join("customers.csv");
    std::fs::write(&file, format!("{CSV_HEADER}{csv_rows}")).expect("writing the CSV");
    let out =
        run_ok(logs, "customers import", &cli, &["customers", "import", file.to_str().expect("UTF-8 path")]).await;
    assert!(out.contains("imported"), "{out}");
}

fn write_config(dir: &Path, toml: &str) -> String {
    let path = dir.join("guanxi.toml");
    std::fs::write(&path, toml).expect("writing the config file");
    path.display().to_string()
}

async fn connect(url: &str) -> Db {
    let db = Db::connect(url).await.expect("the test reaches the database");
    db.migrate().await.expect("migrations");
    db
}

async fn outbox_rows(db: &Db) -> Vec<OutboxRow> {
    let mut conn = db.pool().acquire().await.expect("a connection");
    outbox::list(&mut conn, None).await.expect("the outbox")
}

fn telegram_message(key: &str, chat: i64, body: &str, priority: Priority) -> NewMessage {
    NewMessage { body: body.to_owned(), ..crate::helpers::outbox_message(key, chat, priority) }
}

/// The `Message-ID` header of a received mail.
fn message_id(mail: &ReceivedMail) -> String {
    mail.raw
        .lines()
        .take_while(|l| !l.is_empty())
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.trim().eq_ignore_ascii_case("message-id").then(|| value.trim().to_owned())
        })
        .unwrap_or_default()
}

/// `N` in a `guanxi tick` summary's "delivered N".
fn delivered(stdout: &str) -> usize {
    stdout
        .split("delivered ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no 'delivered N' in {stdout}"))
}

/// A private-chat `/start` from `user`, as Telegram POSTs it.
fn start_update(update_id: i64, user: i64) -> String {
    json!({
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": Utc::now().timestamp(),
            "chat": { "id": user, "type": "private", "first_name": "客户" },
            "from": { "id": user, "is_bot": false, "first_name": "客户" },
            "text": "/start",
            "entities": [{ "type": "bot_command", "offset": 0, "length": 6 }],
        }
    })
    .to_string()
}

/// POST `body` to the webhook at `addr` as Telegram does; returns the HTTP status.
async fn post_update(addr: SocketAddr, secret: Option<&str>, body: &str) -> u16 {
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await.expect("connecting to the webhook");
        let mut request = format!(
            "POST /hook HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
             Connection: close\r\n",
            body.len()
        );
        if let Some(secret) = secret {
            request.push_str(&format!("X-Telegram-Bot-Api-Secret-Token: {secret}\r\n"));
        }
        request.push_str("\r\n");
        request.push_str(body);
        stream.write_all(request.as_bytes()).await.expect("sending the update");
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.expect("reading the answer");
        let raw = String::from_utf8_lossy(&raw);
        raw.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("no HTTP status in {raw}"))
    };
    tokio::time::timeout(Duration::from_secs(30), exchange).await.expect("the webhook answers within 30 s")
}

/// `guanxi run --webhook http://ADDR/hook --listen ADDR` on a free port, once it accepts
/// connections.
async fn start_webhook_instance(name: &str, env: &Env, extra: &[&str]) -> (Guanxi, SocketAddr) {
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().expect("an address");
    let url = format!("http://{addr}/hook");
    let listen = addr.to_string();
    let mut args: Vec<&str> = extra.to_vec();
    args.extend(["run", "--webhook", url.as_str(), "--listen", listen.as_str()]);
    let mut child = Guanxi::spawn(name, env, &args);
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(addr).await.is_err() {
        if let Some(status) = child.exited() {
            child.wait(Duration::from_secs(5)).await;
            panic!("{name} exited ({status}) before listening:\n{}", child.stderr());
        }
        assert!(Instant::now() < deadline, "{name} did not listen on {addr} within 30 s:\n{}", child.stderr());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    (child, addr)
}

/// Stop instances with SIGTERM (each must shut down cleanly) and keep their logs.
async fn terminate_all(logs: &mut Vec<Logs>, instances: &mut [Guanxi]) {
    for child in instances.iter_mut() {
        let status = child.terminate(Duration::from_secs(20)).await;
        assert!(status.success(), "{} did not shut down cleanly ({status}):\n{}", child.name(), child.stderr());
        logs.push(child.logs());
    }
}

fn check_logs(test: &str, logs: &[Logs]) {
    let lines = process::assert_no_secrets(logs);
    println!("{test}: no secret in {lines} lines printed by {} processes", logs.len());
}

#[tokio::test]
async fn two_and_three_instances_by_webhook_handle_each_update_once() {
    const TEST: &str = "two_and_three_instances_by_webhook_handle_each_update_once";
    if skipped_on_sqlite(TEST) {
        return;
    }
    let started = Instant::now();
    // Arrange: three instances on one PostgreSQL, one fake Telegram.
    let database = db::fresh().await;
    let telegram = FakeTelegram::start().await;
    let smtp = SmtpSink::start().await;
    let env = Env::app(&database.url, &telegram, &smtp);
    let db = connect(&database.url).await;
    let mut logs = Vec::new();
    let mut instances = Vec::new();
    let mut addrs = Vec::new();
    for i in 0..3 {
        let (child, addr) = start_webhook_instance(&format!("instance {i}"), &env, &[]).await;
        instances.push(child);
        addrs.push(addr);
    }

    // Act: Telegram delivers every update twice, to two different instances at the same time.
    const UPDATES: i64 = 30;
    let mut posts = tokio::task::JoinSet::new();
    for n in 0..UPDATES {
        let (update_id, user) = (10_000 + n, 700_000 + n);
        let body = start_update(update_id, user);
        let (a, b) = (addrs[n as usize % 3], addrs[(n as usize + 1) % 3]);
        posts.spawn(async move {
            let (first, second) =
                tokio::join!(post_update(a, Some(WEBHOOK_SECRET), &body), post_update(b, Some(WEBHOOK_SECRET), &body));
            (update_id, first, second)
        });
    }
    while let Some(done) = posts.join_next().await {
        let (update_id, first, second) = done.expect("a POST task");
        assert_eq!((first, second), (200, 200), "update {update_id}: both deliveries are acknowledged");
    }
    // Someone who does not know the secret.
    let intruder = 799_999;
    let forged = start_update(20_000, intruder);
    let wrong = post_update(addrs[0], Some("not-the-secret"), &forged).await;
    let missing = post_update(addrs[1], None, &forged).await;

    // Assert: every update answered exactly once, wherever it arrived.
    assert_eq!((wrong, missing), (403, 403), "a wrong or missing secret token is refused");
    let deadline = Instant::now() + Duration::from_secs(30);
    while (0..UPDATES).any(|n| telegram.sent_to(700_000 + n).is_empty()) {
        assert!(Instant::now() < deadline, "not every update was answered within 30 s: {:#?}", telegram.sent());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Room for a second answer to show up, if one were coming.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    for n in 0..UPDATES {
        let replies = telegram.sent_to(700_000 + n);
        assert_eq!(replies.len(), 1, "chat {}: {replies:#?}", 700_000 + n);
    }
    assert!(telegram.sent_to(intruder).is_empty(), "a forged update was handled");
    assert_eq!(telegram.sent().len(), UPDATES as usize);
    let done: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM updates_seen WHERE done_at IS NOT NULL")
        .fetch_one(db.pool())
        .await
        .expect("counting handled updates");
    assert_eq!(done, UPDATES, "each update recorded as handled once");
    let rows = outbox_rows(&db).await;
    assert_eq!(rows.len(), UPDATES as usize, "{rows:#?}");
    assert!(rows.iter().all(|r| r.status == "sent"), "{rows:#?}");
    // Each instance registered the webhook with the secret.
    let hooks = telegram.requests("setWebhook");
    assert_eq!(hooks.len(), 3, "{hooks:#?}");
    for hook in &hooks {
        assert_eq!(hook["secret_token"], json!(WEBHOOK_SECRET), "{hook}");
        let url = hook["url"].as_str().unwrap_or_default();
        assert!(addrs.iter().any(|a| url == format!("http://{a}/hook")), "{hook}");
    }

    terminate_all(&mut logs, &mut instances).await;
    let again = logs.iter().map(|l| l.stderr.matches("update delivered again; already handled").count()).sum::<usize>();
    assert_eq!(again, UPDATES as usize, "the second delivery of each update was recognised");
    check_logs(TEST, &logs);
    println!("{TEST}: {UPDATES} updates × 2 deliveries over 3 instances in {:.1?}", started.elapsed());
}

/// Customers of both reps whose calls are long overdue (each rep's digest lists them, and
/// both escalation levels are reached).
fn overdue_customers(per_rep: usize) -> String {
    let mut rows = String::new();
    for i in 0..per_rep {
        for rep in REPS {
            rows.push_str(&format!("逾期客户{rep}-{i},B,华东,{rep},,2025-06-01,2025-12-01\n"));
        }
    }
    rows
}

#[tokio::test]
async fn the_planner_runs_once_however_many_instances_tick_together() {
    const TEST: &str = "the_planner_runs_once_however_many_instances_tick_together";
    if skipped_on_sqlite(TEST) {
        return;
    }
    let started = Instant::now();
    // Arrange
    let database = db::fresh().await;
    let telegram = FakeTelegram::start().await;
    let smtp = SmtpSink::start().await;
    let env = Env::app(&database.url, &telegram, &smtp);
    let dir = tempfile::tempdir().expect("a temp dir");
    let mut logs = Vec::new();
    seed_team(&mut logs, &env, dir.path(), &overdue_customers(20)).await;

    // Act: three instances tick as of the same instant, at the same time.
    let mut ticks: Vec<Guanxi> =
        (0..3).map(|i| Guanxi::spawn(&format!("tick {i}"), &env, &["tick", "--now", ROUND])).collect();
    let mut outputs = Vec::new();
    for tick in &mut ticks {
        outputs.push(tick.success(Duration::from_secs(60)).await);
        logs.push(tick.logs());
    }

    // Assert: one digest per rep, each escalation e-mail once.
    for rep in REPS {
        let digests = telegram.sent_to(rep);
        assert_eq!(digests.len(), 1, "rep {rep}: {digests:#?}");
    }
    assert_eq!(telegram.sent().len(), REPS.len());
    let mails = smtp.messages();
    assert_eq!(smtp.messages_to(MANAGER_EMAIL).len(), 1, "{mails:#?}");
    assert_eq!(smtp.messages_to(DIRECTOR_EMAIL).len(), 1, "{mails:#?}");
    let ids: BTreeSet<String> = mails.iter().map(message_id).collect();
    assert_eq!(ids.len(), mails.len(), "distinct Message-IDs: {ids:?}");
    let logins = smtp.logins();
    assert!(!logins.is_empty() && logins.iter().all(|l| *l == (SMTP_USER.to_owned(), SMTP_PASSWORD.to_owned())));
    let planned: Vec<&String> = outputs.iter().filter(|o| o.contains(": 2 digests")).collect();
    assert_eq!(planned.len(), 1, "exactly one instance planned the round: {outputs:#?}");
    assert_eq!(outputs.iter().map(|o| delivered(o)).sum::<usize>(), 4, "{outputs:#?}");
    let rows = outbox_rows(&connect(&database.url).await).await;
    assert_eq!(rows.len(), 4, "{rows:#?}");
    assert!(rows.iter().all(|r| r.status == "sent"), "{rows:#?}");
    check_logs(TEST, &logs);
    println!("{TEST}: {:.1?}; tick outputs: {outputs:#?}", started.elapsed());
}

#[tokio::test]
async fn a_frozen_worker_past_its_lease_does_not_send_a_second_time() {
    // One process runs at a time here (A is frozen while B works): SQLite serves this too.
    const TEST: &str = "a_frozen_worker_past_its_lease_does_not_send_a_second_time";
    let started = Instant::now();
    // Arrange: one message due; the whole bot's next send slot kept a second ahead, so that
    // whoever claims the message waits in its slot (holding the claim) before sending.
    let database = db::fresh().await;
    let telegram = FakeTelegram::start().await;
    let smtp = SmtpSink::start().await;
    let env = Env::app(&database.url, &telegram, &smtp).set("GUANXI_LEASE_SECS", "2");
    let db = connect(&database.url).await;
    let chat = 4242;
    let key = "frozen:1";
    {
        let mut conn = db.pool().acquire().await.expect("a connection");
        let msg = telegram_message(key, chat, "只发一次", Priority::Interactive);
        assert!(outbox::enqueue(&mut conn, &msg, instant(ROUND)).await.expect("queued"));
    }
    sqlx::query("INSERT INTO send_gate (gate, next_at) VALUES ('all', 0) ON CONFLICT (gate) DO NOTHING")
        .execute(db.pool())
        .await
        .expect("the overall send gate");
    let pool = db.pool().clone();
    let hold_slots = tokio::spawn(async move {
        loop {
            let ahead = guanxi::storage::wall_clock_us() + 1_000_000;
            let _ =
                sqlx::query("UPDATE send_gate SET next_at = $1 WHERE gate = 'all'").bind(ahead).execute(&pool).await;
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    let mut logs = Vec::new();

    // Act: A claims, books its slot and waits for it; freeze it there.
    let mut a = Guanxi::spawn("A", &env, &["tick", "--now", ROUND]);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        // A's booking is committed once its chat has a gate: A is now asleep until the slot.
        let booked: Option<i64> = sqlx::query_scalar("SELECT next_at FROM send_gate WHERE gate = $1")
            .bind(format!("tg:{chat}"))
            .fetch_optional(db.pool())
            .await
            .expect("reading the chat's gate");
        if booked.is_some_and(|at| at > 0) {
            a.signal("STOP").await;
            break;
        }
        assert!(a.exited().is_none(), "A exited without waiting for a slot:\n{}", a.stderr());
        assert!(Instant::now() < deadline, "A never booked a slot:\n{}", a.stderr());
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    hold_slots.abort();
    let _ = hold_slots.await;
    assert!(telegram.sent_to(chat).is_empty(), "A sent before it could be frozen (the machine was too slow)");
    let rows = outbox_rows(&db).await;
    assert_eq!(rows[0].status, "sending", "A holds the claim: {rows:#?}");
    // Longer than the lease: the claim is A's no more.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let later = (instant(ROUND) + chrono::Duration::seconds(60)).to_rfc3339();
    let mut b = Guanxi::spawn("B", &env, &["tick", "--now", &later]);
    let b_out = b.success(Duration::from_secs(60)).await;
    logs.push(b.logs());
    assert_eq!(delivered(&b_out), 1, "B took the row over and sent it: {b_out}");
    assert_eq!(telegram.sent_to(chat).len(), 1);
    a.signal("CONT").await;
    let a_out = a.success(Duration::from_secs(30)).await;
    logs.push(a.logs());

    // Assert: sent once. A, awake again, found its claim gone (lease run out, or its slot
    // long past and the chat booked by B since) and handed the row back untried.
    assert_eq!(telegram.sent_to(chat).len(), 1, "{:#?}", telegram.sent());
    assert_eq!(delivered(&a_out), 0, "{a_out}");
    let (status, fence): (String, i64) = sqlx::query_as("SELECT status, fence FROM outbox WHERE idem_key = $1")
        .bind(key)
        .fetch_one(db.pool())
        .await
        .expect("the row");
    assert_eq!((status.as_str(), fence), ("sent", 2));
    check_logs(TEST, &logs);
    println!("{TEST} ({}): {:.1?}", db::backend(), started.elapsed());
}

/// `n` working days from `from` on: weekdays outside the 2026 Spring Festival break (15–23
/// February, from the State Council's schedule; its make-up Saturdays are simply not used).
fn weekdays(from: NaiveDate, n: usize) -> Vec<NaiveDate> {
    let break_from = NaiveDate::from_ymd_opt(2026, 2, 15).expect("a date");
    let break_until = NaiveDate::from_ymd_opt(2026, 2, 23).expect("a date");
    from.iter_days()
        .filter(|d| !matches!(d.weekday(), Weekday::Sat | Weekday::Sun))
        .filter(|d| !(break_from..=break_until).contains(d))
        .take(n)
        .collect()
}

/// 10:00 Beijing time on `day`, plus `minutes`.
fn round_on(day: NaiveDate, minutes: i64) -> DateTime<Utc> {
    day.and_hms_opt(2, 0, 0).expect("a time").and_utc() + chrono::Duration::minutes(minutes)
}

/// Customers whose calls fall due one after another over the days of the test, so that
/// escalations keep arriving; one long overdue for each rep, so both get a digest every day.
const STAGGERED: &str = "甲公司,B,华东,910,,2025-12-28,\n乙公司,B,华东,911,,2025-12-31,\n\
                         丙公司,B,华东,910,,2026-01-03,\n丁公司,B,华东,911,,2026-01-06,\n\
                         戊公司,B,华东,910,,2026-01-09,\n己公司,C,华南,911,,2026-01-02,\n";

#[tokio::test]
async fn kill_nine_at_random_points_twenty_times_loses_nothing() {
    const TEST: &str = "kill_nine_at_random_points_twenty_times_loses_nothing";
    const KILLS: usize = 20;
    const MIN_DAYS: usize = 6;
    let started = Instant::now();
    let seed = std::env::var("GUANXI_TEST_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(rand::random::<u64>);
    println!("{TEST} ({}): seed {seed} (GUANXI_TEST_SEED={seed} repeats this run)", db::backend());
    let mut rng = StdRng::seed_from_u64(seed);
    // Arrange: a slow Telegram (each answer 40 ms late) widens the window between Telegram
    // accepting a message and our commit, where a kill makes a duplicate.
    let database = db::fresh().await;
    let telegram = FakeTelegram::start().await;
    telegram.set_latency(Duration::from_millis(40));
    let smtp = SmtpSink::start().await;
    let dir = tempfile::tempdir().expect("a temp dir");
    let config = write_config(dir.path(), UNLIMITED_TOML);
    let env = Env::app(&database.url, &telegram, &smtp);
    let mut logs = Vec::new();
    seed_team(&mut logs, &env, dir.path(), STAGGERED).await;
    let db = connect(&database.url).await;
    // Every working day up to the end of March (the Qingming holiday comes next).
    let days = weekdays(NaiveDate::from_ymd_opt(2026, 1, 7).expect("a date"), 54);

    // Act: tick day after day, killing the process at a random moment; a killed day is ticked
    // again (3 minutes later, past the lease of a claim the dead process held) until a tick
    // of that day runs to its end.
    let (mut day, mut retry, mut runs, mut kills, mut in_flight_kills) = (0usize, 0i64, 0usize, 0usize, 0usize);
    let mut typical_ms: u64 = 0;
    let mut claims_seen: BTreeSet<(i64, i64)> = BTreeSet::new();
    let mut ticked: Vec<DateTime<Utc>> = Vec::new();
    let mut latest = round_on(days[0], 0);
    while kills < KILLS || day < MIN_DAYS {
        assert!(
            runs < 250 && started.elapsed() < Duration::from_secs(150),
            "seed {seed}: only {kills} kills in {runs} runs over {day} days"
        );
        assert!(day < days.len(), "seed {seed}: ran out of days");
        let now = round_on(days[day], 3 * retry);
        let now_text = now.to_rfc3339();
        runs += 1;
        let spawned = Instant::now();
        let mut child =
            Guanxi::spawn(&format!("tick {now_text}"), &env, &["--config", &config, "tick", "--now", &now_text]);
        // The first run is left alone: it tells how long a run takes.
        if runs == 1 {
            child.success(Duration::from_secs(60)).await;
        }
        // Anywhere in the run, or past its end: aiming up to 1.5 times a typical run (it used
        // to be twice) kills more runs, so twenty kills take about 13 to 26 days, well inside
        // the 54 listed (an unlucky seed once ran out of 40).
        let kill_at = spawned + Duration::from_millis(rng.random_range(0..=typical_ms * 3 / 2));
        let finished = loop {
            if child.exited().is_some() {
                break true;
            }
            let now = Instant::now();
            if now >= kill_at {
                break false;
            }
            tokio::time::sleep((kill_at - now).min(Duration::from_millis(5))).await;
        };
        latest = now;
        if finished {
            child.success(Duration::from_secs(10)).await;
            let took = spawned.elapsed().as_millis() as u64;
            typical_ms = if runs == 1 { took } else { (typical_ms * 3 + took) / 4 };
            ticked.push(now);
            day += 1;
            retry = 0;
        } else {
            child.kill9().await;
            kills += 1;
            retry += 1;
            // Killed before its end: aim a little later next time.
            typical_ms = typical_ms * 21 / 20;
            // A claim the dead process held: it may have been sent already.
            let sending: Vec<(i64, i64)> = sqlx::query_as("SELECT id, fence FROM outbox WHERE status = 'sending'")
                .fetch_all(db.pool())
                .await
                .expect("claims in flight");
            if sending.iter().any(|claim| !claims_seen.contains(claim)) {
                in_flight_kills += 1;
            }
            claims_seen.extend(sending);
        }
        logs.push(child.logs());
    }
    // A last clean run, an hour after the last run (past any claim's lease), delivers
    // whatever is left.
    let last = latest + chrono::Duration::hours(1);
    run_ok(&mut logs, "final tick", &env, &["--config", &config, "tick", "--now", &last.to_rfc3339()]).await;
    ticked.push(last);

    // Assert: nothing lost…
    let rows = outbox_rows(&db).await;
    let unsent: Vec<&OutboxRow> = rows.iter().filter(|r| r.status != "sent").collect();
    assert!(unsent.is_empty(), "seed {seed}: not delivered: {unsent:#?}");
    for rep in REPS {
        for d in &days[..day] {
            assert!(
                rows.iter().any(|r| r.recipient == rep.to_string() && r.body.contains(&d.to_string())),
                "seed {seed}: rep {rep} has no digest for {d}"
            );
        }
    }
    // …everything an undisturbed run would have planned, and nothing else…
    let oracle = planned_without_kills(&telegram, &smtp, dir.path(), &ticked).await;
    let keys: BTreeSet<String> = rows.iter().map(|r| comparable_key(&r.idem_key)).collect();
    assert_eq!(keys, oracle, "seed {seed}: what was queued differs from an undisturbed run");
    // …arrived at least once, and duplicated only by kills that caught a send in flight.
    let mut at_fake: HashMap<(i64, String), usize> = HashMap::new();
    for sent in telegram.sent() {
        *at_fake.entry((sent.chat_id, sent.text)).or_default() += 1;
    }
    let mut at_sink: HashMap<String, usize> = HashMap::new();
    for mail in smtp.messages() {
        *at_sink.entry(message_id(&mail)).or_default() += 1;
    }
    let (mut telegram_dupes, mut email_dupes, mut telegram_rows, mut email_rows) = (0, 0, 0, 0);
    for row in &rows {
        let copies = if row.channel == "telegram" {
            telegram_rows += 1;
            let chat = row.recipient.parse().expect("a chat id");
            at_fake.remove(&(chat, row.body.clone())).unwrap_or(0)
        } else {
            email_rows += 1;
            at_sink.remove(&message_id_for(&row.idem_key)).unwrap_or(0)
        };
        assert!(copies >= 1, "seed {seed}: {} ({}) never arrived", row.idem_key, row.channel);
        if row.channel == "telegram" {
            telegram_dupes += copies - 1;
        } else {
            email_dupes += copies - 1;
        }
    }
    assert!(at_fake.is_empty(), "seed {seed}: messages nobody queued: {at_fake:#?}");
    assert!(at_sink.is_empty(), "seed {seed}: e-mails nobody queued: {at_sink:#?}");
    let distinct_ids: BTreeSet<String> = smtp.messages().iter().map(message_id).collect();
    assert_eq!(distinct_ids.len(), email_rows, "one Message-ID per e-mail owed");
    println!(
        "{TEST} ({}): seed {seed}: {runs} runs over {day} days, {kills} kill -9, {in_flight_kills} of them with a \
         claim in flight; owed {telegram_rows} Telegram messages and {email_rows} e-mails; duplicates: \
         {telegram_dupes} Telegram, {email_dupes} e-mail ({} e-mails received, {} distinct Message-IDs); {:.1?}",
        db::backend(),
        smtp.messages().len(),
        distinct_ids.len(),
        started.elapsed()
    );
    assert!(
        telegram_dupes + email_dupes <= in_flight_kills,
        "seed {seed}: {telegram_dupes} + {email_dupes} duplicates but only {in_flight_kills} kills with a send in flight"
    );
    check_logs(TEST, &logs);
}

/// The outbox keys an undisturbed run of the planner queues at `instants` (same seed data, a
/// database of its own, planned in-process).
async fn planned_without_kills(
    telegram: &FakeTelegram,
    smtp: &SmtpSink,
    dir: &Path,
    instants: &[DateTime<Utc>],
) -> BTreeSet<String> {
    let database = db::fresh().await;
    let env = Env::app(&database.url, telegram, smtp);
    let oracle_dir = dir.join("oracle");
    std::fs::create_dir_all(&oracle_dir).expect("a folder");
    let mut logs = Vec::new();
    seed_team(&mut logs, &env, &oracle_dir, STAGGERED).await;
    process::assert_no_secrets(&logs);
    let clock = ManualClock::new(instants[0]);
    let ctx = guanxi::startup::build_context(settings_for(telegram, smtp, &database.url), Arc::new(clock.clone()))
        .await
        .expect("the oracle's context");
    for now in instants {
        clock.set(*now);
        planner::plan(&ctx, *now).await.expect("the oracle plans");
    }
    let rows = outbox_rows(&ctx.db).await;
    ctx.db.close().await;
    rows.into_iter().map(|r| comparable_key(&r.idem_key)).collect()
}

/// An outbox key without the task number in `task:{number}:{what}:{who}`: the planner numbers
/// the reps' data-check tasks in no fixed order (it walks a `HashMap`), so the same plan may
/// number them differently in two runs.
fn comparable_key(key: &str) -> String {
    match key.split(':').collect::<Vec<_>>().as_slice() {
        ["task", _, rest @ ..] => format!("task:*:{}", rest.join(":")),
        _ => key.to_owned(),
    }
}

// The fake is the yardstick here: its own threads, so that its clock readings are not held up
// behind the test's work.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_telegrams_budget_without_a_single_429() {
    const TEST: &str = "two_instances_share_telegrams_budget_without_a_single_429";
    if skipped_on_sqlite(TEST) {
        return;
    }
    const MESSAGES: usize = 2_000;
    const CHATS: usize = 500;
    /// Telegram's overall limit a second, as the fake enforces it.
    const OVERALL_LIMIT: u32 = 30;
    let started = Instant::now();
    // Arrange: Telegram's real limits; 2,000 bulk messages to 500 chats waiting in the outbox.
    let database = db::fresh().await;
    let telegram = FakeTelegram::start().await;
    telegram.enforce_limits(OVERALL_LIMIT, 1);
    let smtp = SmtpSink::start().await;
    let env = Env::app(&database.url, &telegram, &smtp);
    let db = connect(&database.url).await;
    {
        let now = Utc::now() - chrono::Duration::seconds(1);
        let mut tx = db.begin().await.expect("a transaction");
        for i in 0..MESSAGES {
            let chat = 600_000 + (i % CHATS) as i64;
            let msg = telegram_message(&format!("bulk:{i}"), chat, &format!("群发 {i}"), Priority::Bulk);
            assert!(outbox::enqueue(&mut tx, &msg, now).await.expect("queued"));
        }
        tx.commit().await.expect("committing the outbox");
    }
    let mut logs = Vec::new();

    // Act: two instances deliver them (webhook mode: only one process may long-poll a bot).
    let mut sent = telegram.subscribe_sent();
    let mut instances = Vec::new();
    for i in 0..2 {
        instances.push(start_webhook_instance(&format!("instance {i}"), &env, &[]).await.0);
    }
    let deadline = Instant::now() + Duration::from_secs(150);
    let mut last_report = Instant::now();
    let mut count = 0;
    while count < MESSAGES {
        if Instant::now() >= deadline {
            let tails: Vec<String> = instances
                .iter()
                .map(|i| {
                    let log = i.stderr();
                    let tail: Vec<&str> = log.lines().rev().take(15).collect();
                    format!("{}:\n{}", i.name(), tail.into_iter().rev().collect::<Vec<_>>().join("\n"))
                })
                .collect();
            panic!(
                "only {count} of {MESSAGES} sent within 150 s ({} refused with 429); the instances' last lines:\n{}",
                telegram.too_many_requests(),
                tails.join("\n")
            );
        }
        if last_report.elapsed() > Duration::from_secs(15) {
            println!("{TEST}: {count} sent so far");
            last_report = Instant::now();
        }
        if tokio::time::timeout(Duration::from_secs(1), sent.recv()).await.is_ok_and(|m| m.is_some()) {
            count += 1;
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    terminate_all(&mut logs, &mut instances).await;

    // Assert: all arrived, each once, and Telegram never had to say "too many requests".
    drop(sent);
    let sent = telegram.sent();
    let mut per_message: BTreeMap<(i64, &str), usize> = BTreeMap::new();
    for m in &sent {
        *per_message.entry((m.chat_id, m.text.as_str())).or_default() += 1;
    }
    assert_eq!(per_message.len(), MESSAGES, "every message arrived");
    assert!(per_message.values().all(|n| *n == 1), "a message arrived twice");
    let (peak_overall, peak_chat) = telegram.peak_sends_per_sec();
    let first = sent.iter().map(|m| m.at).min().expect("sends");
    let last = sent.iter().map(|m| m.at).max().expect("sends");
    let rate = (MESSAGES - 1) as f64 / last.duration_since(first).as_secs_f64();
    let refused = telegram.too_many_requests();
    let (per_chat, overall, when) = classify_refusals(&telegram);
    if !when.is_empty() {
        let offsets: Vec<String> =
            when.iter().map(|t| format!("{:.2}", t.saturating_duration_since(first).as_secs_f64())).collect();
        println!("{TEST}: 429s at about these seconds after the first send: {}", offsets.join(" "));
    }
    println!(
        "{TEST}: {MESSAGES} messages to {CHATS} chats by 2 instances at {rate:.2}/s; busiest second {peak_overall} \
         overall, {peak_chat} to one chat; {refused} × 429 ({per_chat} over a chat's limit, {overall} over the \
         overall limit); {} sends in {:.0} ms at the shortest; {:.1?} in all",
        OVERALL_LIMIT + 1,
        telegram.shortest_span(OVERALL_LIMIT as usize + 1).unwrap_or_default().as_secs_f64() * 1e3,
        started.elapsed()
    );
    assert_eq!(refused, 0, "Telegram answered 429");
    let rows = outbox_rows(&db).await;
    assert!(rows.iter().all(|r| r.status == "sent"), "the outbox is delivered");
    check_logs(TEST, &logs);
}

/// Which limit each 429 was about, as far as the accepted sends around it tell: `(per chat,
/// overall)`. A refused call is placed at the time of the accepted call just before it in the
/// order the fake received them.
fn classify_refusals(telegram: &FakeTelegram) -> (usize, usize, Vec<Instant>) {
    let sent = telegram.sent();
    let requests: Vec<(i64, String)> = telegram
        .requests("sendMessage")
        .iter()
        .map(|r| (r["chat_id"].as_i64().unwrap_or_default(), r["text"].as_str().unwrap_or_default().to_owned()))
        .collect();
    // A message is tried again only after a refusal: its first calls are the refused ones.
    let mut refusals_left: HashMap<&(i64, String), usize> = HashMap::new();
    for request in &requests {
        *refusals_left.entry(request).or_default() += 1;
    }
    let mut accepted_at: HashMap<(i64, String), Instant> = HashMap::new();
    let mut by_chat: HashMap<i64, Vec<Instant>> = HashMap::new();
    for m in &sent {
        accepted_at.insert((m.chat_id, m.text.clone()), m.at);
        by_chat.entry(m.chat_id).or_default().push(m.at);
    }
    for (key, left) in refusals_left.iter_mut() {
        *left -= usize::from(accepted_at.contains_key(*key));
    }
    let (mut per_chat, mut overall, mut when) = (0, 0, Vec::new());
    let mut clock: Option<Instant> = None;
    for request in &requests {
        let left = refusals_left.get_mut(request).expect("counted");
        if *left == 0 {
            clock = accepted_at.get(request).copied().or(clock);
            continue;
        }
        *left -= 1;
        let Some(at) = clock else { continue };
        when.push(at);
        let recent = |t: &Instant| *t <= at && at.duration_since(*t) < Duration::from_secs(1);
        if by_chat.get(&request.0).is_some_and(|times| times.iter().any(recent)) {
            per_chat += 1;
        } else {
            overall += 1;
        }
    }
    (per_chat, overall, when)
}

#[tokio::test]
async fn no_secret_in_any_log_line() {
    const TEST: &str = "no_secret_in_any_log_line";
    let started = Instant::now();
    // Arrange: every secret in play: the bot token, an SMTP login, a database password (on
    // PostgreSQL), the webhook secret.
    let database = db::fresh().await;
    let telegram = FakeTelegram::start().await;
    let smtp = SmtpSink::start().await;
    let env = Env::app(&database.url, &telegram, &smtp);
    let dir = tempfile::tempdir().expect("a temp dir");
    let mut logs = Vec::new();
    seed_team(&mut logs, &env, dir.path(), &overdue_customers(2)).await;

    // Act 1: the failure paths, where errors carry the most detail: Telegram unreachable
    // and the mail relay refusing, in JSON…
    let unreachable = format!("http://127.0.0.1:{}/", free_port());
    let json_info = env.clone().set("GUANXI_LOG_FORMAT", "json");
    smtp.set_down(true);
    let failing = json_info.clone().set("TELOXIDE_API_URL", &unreachable);
    let out = run_ok(&mut logs, "tick without Telegram and SMTP", &failing, &["tick", "--now", ROUND]).await;
    assert_eq!(delivered(&out), 0, "{out}");
    let failures = logs.last().map_or(0, |l| l.stderr.matches("will retry").count());
    assert_eq!(failures, 4, "two digests and two e-mails failed: {:?}", logs.last());
    smtp.set_down(false);
    let mut run = Guanxi::spawn("run without Telegram", &env.clone().set("TELOXIDE_API_URL", &unreachable), &["run"]);
    assert!(!run.wait(Duration::from_secs(30)).await.success());
    logs.push(run.logs());
    // …then the retries going through, logging everything there is, as JSON. (The failed
    // sends booked the reps' chats' next send slots a second ahead; `guanxi tick` skips a chat
    // whose slot is not free yet, so let the slots pass first.)
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let json_debug = json_info.clone().set("GUANXI_LOG", "debug");
    run_ok(&mut logs, "tick (json, debug)", &json_debug, &["tick", "--now", "2026-01-07T03:00:00Z"]).await;
    assert_eq!(smtp.messages().len(), 2, "the e-mails went out on the second try");
    assert!(
        smtp.logins().contains(&(SMTP_USER.to_owned(), SMTP_PASSWORD.to_owned())),
        "the mailer logged in with the password: {:?}",
        smtp.logins()
    );
    let json_lines = logs.last().map_or(0, |l| {
        l.stderr
            .lines()
            .filter(|line| serde_json::from_str::<serde_json::Value>(line).is_ok_and(|v| v.is_object()))
            .count()
    });
    assert!(json_lines > 10, "the log is JSON lines:\n{}", logs.last().map(|l| l.stderr.as_str()).unwrap_or(""));
    // The database unreachable, with a password in its URL:
    let dead_db = format!("postgres://postgres:{DB_PASSWORD}@127.0.0.1:{}/guanxi", free_port());
    let mut migrate =
        Guanxi::spawn("migrate without a database", &Env::bare().set("DATABASE_URL", &dead_db), &["migrate"]);
    assert!(!migrate.wait(Duration::from_secs(60)).await.success());
    assert!(migrate.stderr().contains("***"), "the URL is shown redacted: {}", migrate.stderr());
    logs.push(migrate.logs());
    // Bad configuration around secrets:
    for (key, value) in [
        ("DATABASE_URL", format!("mysql://root:{DB_PASSWORD}@db.internal/crm")),
        ("SMTP_URL", format!("smtp://{SMTP_USER}:{SMTP_PASSWORD}@mail.internal?tls=sometimes")),
        ("TELEGRAM_WEBHOOK_SECRET", format!("{WEBHOOK_SECRET} with spaces")),
    ] {
        let mut bad = Guanxi::spawn(&format!("bad {key}"), &env.clone().set(key, &value), &["tick", "--dry-run"]);
        assert_eq!(bad.wait(Duration::from_secs(30)).await.code(), Some(2), "{key}: {}", bad.stderr());
        assert!(bad.stderr().contains(key), "{}", bad.stderr());
        logs.push(bad.logs());
    }
    // A webhook instance, in JSON: forged calls, a real one, shutdown.
    let (mut instance, addr) = start_webhook_instance("webhook (json)", &json_info, &[]).await;
    assert_eq!(post_update(addr, Some("guess"), &start_update(1, 880_001)).await, 403);
    assert_eq!(post_update(addr, None, &start_update(2, 880_001)).await, 403);
    assert_eq!(post_update(addr, Some(WEBHOOK_SECRET), &start_update(3, 880_002)).await, 200);
    telegram.wait_for_sent_to(880_002, 1).await;
    terminate_all(&mut logs, std::slice::from_mut(&mut instance)).await;

    // Assert
    check_logs(TEST, &logs);
    println!("{TEST} ({}): {:.1?}", db::backend(), started.elapsed());
}
