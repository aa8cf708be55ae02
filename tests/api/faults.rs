//! Faults inside one process: the wall clock jumping, a deployment across both DST changes,
//! PostgreSQL going away mid-run, and SQLite on a disk that fills up or turns read-only.
//! (Faults across processes — kill -9, SIGSTOP, several instances — are in `instances`.)

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use guanxi::domain::customer::Tier;
use guanxi::jobs::planner;
use guanxi::jobs::worker::Worker;
use guanxi::services::Ctx;
use guanxi::storage::outbox;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::helpers::app::{TOKEN, beijing, settings_for, team};
use crate::helpers::clock::ManualClock;
use crate::helpers::fake_telegram::FakeTelegram;
use crate::helpers::smtp_sink::SmtpSink;
use crate::helpers::{TestApp, db, spawn_app};

async fn digest_keys(app: &TestApp) -> Vec<String> {
    app.outbox().await.into_iter().filter(|r| r.idem_key.starts_with("digest:")).map(|r| r.idem_key).collect()
}

#[tokio::test]
async fn clock_jumps_back_and_forward_an_hour_ten_times_give_one_digest_per_working_day() {
    // Arrange: an A-tier customer keeps the rep's digest non-empty every working day.
    let app = spawn_app().await;
    let t = team(&app).await;
    app.add_customer("时钟公司", Tier::A, &t.rep).await;

    // Act: Monday 5 to Friday 9 January; each day the clock runs past the round, jumps back an
    // hour (before the round again), forward, back across midnight into the previous day, …
    let days = ["2026-01-05", "2026-01-06", "2026-01-07", "2026-01-08", "2026-01-09"];
    let mut jumps = 0;
    for d in days {
        let round = beijing(&format!("{d} 09:10"));
        for step in [Duration::zero(), -Duration::hours(1), Duration::zero(), -Duration::hours(1), Duration::zero()] {
            app.clock.set(round + step);
            app.tick().await;
            jumps += usize::from(step != Duration::zero());
        }
        // Just after midnight the clock falls back an hour into yesterday, then recovers.
        let next = beijing(&format!("{d} 00:20")) + Duration::days(1);
        for t in [next, next - Duration::hours(1), next] {
            app.clock.set(t);
            app.tick().await;
        }
        jumps += 2;
    }

    // Assert: one digest per working day, each day's once, whatever the clock did.
    assert!(jumps >= 10 * 2, "{jumps} jumps");
    let mut keys = digest_keys(&app).await;
    keys.sort();
    let expected: Vec<String> = days.iter().map(|d| format!("digest:{}:{d}", t.rep.id.0)).collect();
    assert_eq!(keys, expected);
    let sent = app.telegram.sent_to(9001).into_iter().filter(|m| m.text.contains("客户联络提醒")).count();
    assert_eq!(sent, days.len());
}

#[tokio::test]
async fn a_deployment_in_berlin_gets_one_digest_per_local_working_day_across_both_dst_changes() {
    // Arrange: the same company run from Berlin.
    let mut app = spawn_app().await;
    app.restart_with(|s| s.timezone = chrono_tz::Europe::Berlin).await;
    let t = team(&app).await;
    app.add_customer("柏林公司", Tier::A, &t.rep).await;

    // Act: tick every 20 minutes of real (UTC) time across the spring and the autumn change.
    let windows = [("2026-03-27T00:00:00Z", "2026-04-01T00:00:00Z"), ("2026-10-23T00:00:00Z", "2026-10-28T00:00:00Z")];
    for (from, until) in windows {
        let mut now: DateTime<Utc> = from.parse().unwrap();
        let until: DateTime<Utc> = until.parse().unwrap();
        while now < until {
            app.clock.set(now);
            app.tick().await;
            now += Duration::minutes(20);
        }
    }

    // Assert: Friday, Monday and Tuesday around each change (weekends have no round), each
    // once, and each at 09:00 Berlin time whether that was 08:00 or 07:00 UTC.
    let mut rows: Vec<_> =
        app.outbox().await.into_iter().filter(|r| r.idem_key.starts_with("digest:")).collect::<Vec<_>>();
    rows.sort_by(|a, b| a.idem_key.cmp(&b.idem_key));
    let dates: Vec<&str> = rows.iter().map(|r| r.idem_key.rsplit(':').next().unwrap()).collect();
    assert_eq!(dates, ["2026-03-27", "2026-03-30", "2026-03-31", "2026-10-23", "2026-10-26", "2026-10-27"]);
    for row in &rows {
        let local = row.next_attempt().with_timezone(&chrono_tz::Europe::Berlin);
        assert_eq!(local.format("%H:%M").to_string(), "09:00", "{}", row.idem_key);
        let day: NaiveDate = row.idem_key.rsplit(':').next().unwrap().parse().unwrap();
        assert_eq!(local.date_naive(), day);
    }
}

/// A TCP proxy in front of PostgreSQL that can be "restarted": every connection is cut and
/// new ones are refused until it comes back — what the service sees when the server restarts.
struct FlakyProxy {
    addr: std::net::SocketAddr,
    up: watch::Sender<bool>,
}

impl FlakyProxy {
    async fn start(target: std::net::SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (up, watch_up) = watch::channel(true);
        tokio::spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else { return };
                if !*watch_up.borrow() {
                    continue; // dropped: refused while "restarting"
                }
                let mut down = watch_up.clone();
                tokio::spawn(async move {
                    let Ok(mut server) = TcpStream::connect(target).await else { return };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = down.wait_for(|up| !*up) => {}
                    }
                });
            }
        });
        Self { addr, up }
    }

    fn set_up(&self, up: bool) {
        self.up.send_replace(up);
    }
}

/// The app on a database URL of the test's choosing, with a rep who owns one A-tier customer:
/// the rep's digest is due every working day.
struct OwnApp {
    telegram: FakeTelegram,
    smtp: SmtpSink,
    clock: ManualClock,
    ctx: Ctx,
    worker: Worker,
}

async fn app_on(url: &str, customer: &str) -> OwnApp {
    let telegram = FakeTelegram::start().await;
    let smtp = SmtpSink::start().await;
    let clock = ManualClock::new(beijing("2026-01-05 08:00"));
    let ctx =
        guanxi::startup::build_context(settings_for(&telegram, &smtp, url), Arc::new(clock.clone())).await.unwrap();
    let worker = worker_for(&ctx);
    let rep = guanxi::services::staff::add(
        &ctx,
        guanxi::domain::ids::TelegramUserId(9001),
        "孙销售",
        guanxi::domain::staff::Role::Rep,
        None,
        None,
    )
    .await
    .unwrap();
    let now = guanxi::clock::Clock::now(&clock);
    guanxi::services::customers::create(&ctx, customer, Tier::A, Some(rep.id), Default::default(), None, now)
        .await
        .unwrap();
    OwnApp { telegram, smtp, clock, ctx, worker }
}

fn worker_for(ctx: &Ctx) -> Worker {
    let bot = guanxi::telegram::build_bot(&ctx.settings, TOKEN);
    let mailer = guanxi::email::Mailer::new(&ctx.settings.mail, &ctx.settings.mail_from).unwrap();
    Worker::new(ctx.clone(), bot, mailer)
}

#[tokio::test]
async fn postgres_restarted_mid_run_the_service_recovers_by_itself() {
    if db::backend() != "postgres" {
        eprintln!("postgres_restarted_mid_run: PostgreSQL only; skipped on SQLite");
        return;
    }
    // Arrange: the app reaches its database through a proxy we can cut.
    let database = db::fresh().await;
    let mut url = url::Url::parse(&database.url).unwrap();
    let target = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap_or(5432));
    let target = tokio::net::lookup_host(target).await.unwrap().next().unwrap();
    let proxy = FlakyProxy::start(target).await;
    url.set_port(Some(proxy.addr.port())).unwrap();
    let OwnApp { telegram, clock, ctx, worker, .. } = app_on(url.as_str(), "重启公司").await;

    // Act: the server "restarts" just before the round; the tick fails, then the server is back.
    proxy.set_up(false);
    clock.set(beijing("2026-01-07 09:00"));
    let failed = planner::plan(&ctx, guanxi::clock::Clock::now(&clock)).await;
    tokio::time::sleep(StdDuration::from_millis(500)).await;
    proxy.set_up(true);
    let mut recovered = None;
    for _ in 0..50 {
        clock.advance(Duration::minutes(1));
        match planner::plan(&ctx, guanxi::clock::Clock::now(&clock)).await {
            Ok(report) => {
                recovered = Some(report);
                break;
            }
            Err(_) => tokio::time::sleep(StdDuration::from_millis(100)).await,
        }
    }
    let sent = worker.run_until_empty(guanxi::clock::Clock::now(&clock)).await.unwrap();

    // Assert: a clear error while it was down, then the same pool works again by itself.
    let error = format!("{:#}", failed.expect_err("the database was down"));
    assert!(!error.contains("panicked"), "{error}");
    let report = recovered.expect("the service recovered once PostgreSQL was back");
    assert_eq!(report.digests, 1);
    assert_eq!(sent, 1);
    assert_eq!(telegram.sent_to(9001).len(), 1);
}

/// A small tmpfs we can fill or make read-only; unmounted when dropped.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(megabytes: u32) -> Option<Self> {
        let dir = tempfile::tempdir().ok()?;
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={megabytes}m"), "tmpfs"])
            .arg(dir.path())
            .status()
            .is_ok_and(|s| s.success());
        ok.then_some(Self { dir })
    }

    fn path(&self) -> &std::path::Path {
        self.dir.path()
    }

    fn remount(&self, mode: &str) {
        // The pool is closed first: a file open for writing keeps a mount from turning read-only.
        let status = std::process::Command::new("mount")
            .args(["-o", &format!("remount,{mode}")])
            .arg(self.dir.path())
            .status()
            .unwrap();
        assert!(status.success(), "remount {mode}");
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg("-l").arg(self.dir.path()).status();
    }
}

/// Fill the disk up with a file; returns its path (delete it to free the space).
fn fill(disk: &SmallDisk) -> std::path::PathBuf {
    use std::io::Write;
    let path = disk.path().join("filler");
    let mut file = std::fs::File::create(&path).unwrap();
    let block = vec![0u8; 64 * 1024];
    while file.write_all(&block).is_ok() {}
    let _ = file.flush();
    path
}

async fn integrity(ctx: &Ctx) -> String {
    sqlx::query_scalar("PRAGMA integrity_check").fetch_one(ctx.db.pool()).await.unwrap()
}

#[tokio::test]
async fn sqlite_on_a_full_or_read_only_disk_gives_a_clear_error_and_loses_nothing_once_fixed() {
    if db::backend() != "sqlite" {
        return;
    }
    let Some(disk) = SmallDisk::mount(8) else {
        eprintln!("sqlite disk faults: cannot mount a tmpfs here (not root?); skipped");
        return;
    };
    // Arrange: the app's SQLite file on the small disk, a digest already queued and one owed.
    let url = format!("sqlite://{}", disk.path().join("guanxi.db").display());
    let OwnApp { telegram, smtp, clock, ctx, worker } = app_on(&url, "磁盘公司").await;
    clock.set(beijing("2026-01-05 09:00"));
    let first = planner::plan(&ctx, guanxi::clock::Clock::now(&clock)).await.unwrap();
    assert_eq!(first.digests, 1);

    // Act 1: the disk is full when the next day's round runs.
    let filler = fill(&disk);
    clock.set(beijing("2026-01-06 09:00"));
    let full = planner::plan(&ctx, guanxi::clock::Clock::now(&clock)).await;
    let full_error = format!("{:#}", full.expect_err("nothing can be written on a full disk"));
    std::fs::remove_file(&filler).unwrap();
    clock.set(beijing("2026-01-06 09:05"));
    let after_full = planner::plan(&ctx, guanxi::clock::Clock::now(&clock)).await.unwrap();

    // Act 2: the disk is mounted read-only (an operator's mistake, a failing volume) when the
    // service starts for the third day's round.
    ctx.db.close().await;
    disk.remount("ro");
    clock.set(beijing("2026-01-07 09:00"));
    let settings = settings_for(&telegram, &smtp, &url);
    let read_only = guanxi::startup::build_context(settings.clone(), Arc::new(clock.clone())).await;
    let read_only_error = format!("{:#}", read_only.expect_err("a read-only disk cannot hold the database"));
    disk.remount("rw");
    let ctx = guanxi::startup::build_context(settings, Arc::new(clock.clone())).await.unwrap();
    let after_ro = planner::plan(&ctx, guanxi::clock::Clock::now(&clock)).await.unwrap();
    let sent = worker_for(&ctx).run_until_empty(guanxi::clock::Clock::now(&clock)).await.unwrap();
    drop(worker);

    // Assert: errors that say what is wrong, an intact database, and every digest delivered.
    assert!(full_error.contains("full"), "{full_error}");
    assert!(read_only_error.contains("read-only") && read_only_error.contains("guanxi.db"), "{read_only_error}");
    eprintln!("full disk: {full_error}\nread-only disk: {read_only_error}");
    assert_eq!(after_full.digests, 1, "the second day's round ran once the disk had room");
    assert_eq!(after_ro.digests, 1);
    assert_eq!(integrity(&ctx).await, "ok");
    assert_eq!(sent, 3);
    let keys: Vec<String> = {
        let mut conn = ctx.db.pool().acquire().await.unwrap();
        outbox::list(&mut conn, None).await.unwrap().into_iter().map(|r| r.idem_key).collect()
    };
    assert_eq!(keys.iter().filter(|k| k.starts_with("digest:")).count(), 3, "{keys:?}");
    assert_eq!(telegram.sent_to(9001).len(), 3);
    ctx.db.close().await;
}
