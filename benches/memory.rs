//! Resident memory of the running app: idle, and with a large archive after a daily round and
//! some list reads.
//!
//! What it measures: the resident set (`VmRSS`) and its peak (`VmHWM`, from
//! `/proc/self/status`) of a process that runs only the app: the bot long-polling the fake
//! Bot API and the outbox worker (`startup::start` with `Tasks { tick_every_minute: false,
//! background_worker: true }`). For each archive size N it reads them
//! 1. **idle**: 3 s after start, no updates;
//! 2. **after the round** (N > 0): after `planner::plan` ran the day's round at `NOW` (digests,
//!    escalations; the planner bench's seed has 1% of the customers due) and the worker has
//!    delivered what it queued;
//! 3. **after reads** (N > 0): after R reps at once each sent `/customers` (the first page of
//!    the N / 200 customers each owns; the count is of all of them) and `/due` through the fake
//!    Bot API, and all the answers arrived. The peak (`VmHWM`) covers the reads while they ran.
//!
//! Why: the project's target is under 100 MB resident for a deployment with 1M customers. An
//! archive that size must stay on disk, not in the process: only the due items, a rep's list
//! or a page of the database's cache should ever be in memory.
//!
//! How: the parent process creates a fresh database per case (a SQLite file in a temp dir;
//! with `GUANXI_BENCH_PG` also a PostgreSQL database `guanxi_bench_<pid>`, dropped at the end),
//! seeds it with the planner bench's archive (`common::seed`: 1 admin, 1 director, 10
//! managers, 200 reps, N customers with 1% due), and serves the fake Bot API
//! (`tests/api/helpers/fake_telegram.rs`) over HTTP on 127.0.0.1. It then starts this same
//! binary as a child with the case in `GUANXI_BENCH_CHILD`: the child builds the app the way
//! the tests do (`Settings::load_with`, `startup::build_context` with a `FixedClock` at `NOW`,
//! e-mail into files in a temp dir) and starts it. So neither the seeding nor the fake is in
//! the measured process. Flood limits are raised to 10,000 a second so that delivering a
//! round and the long lists takes seconds, not minutes; pacing does not change what is held
//! in memory. The parent and the child talk over the child's stdin and stdout: the child
//! says `READS` when the round is delivered, the parent pushes the reads and answers `DONE`
//! when every reader got their answers and the bot has been quiet for a second.
//!
//! Run it with `cargo bench --bench memory`. Environment variables:
//!
//! - `GUANXI_BENCH_SIZES`: comma-separated archive sizes, default `0,100000`; `0` is an
//!   empty database (idle only). 1M customers: `0,1000000`.
//! - `GUANXI_BENCH_READERS`: reps who send `/customers` and `/due` at the same time, default 20
//!   (at most 99: reps 1 to R).
//! - `GUANXI_BENCH_PG`, `GUANXI_BENCH_SQLITE=0`, `GUANXI_BENCH_LOG`: as in the planner bench.
//!
//! Output: one Markdown table row per case on stdout; progress goes to stderr.

mod common;
#[path = "../tests/api/helpers/fake_telegram.rs"]
mod fake_telegram;

use std::collections::HashMap;
use std::process::{ExitCode, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use chrono::{DateTime, NaiveDate, Utc};
use guanxi::clock::FixedClock;
use guanxi::config::Settings;
use guanxi::email::Mailer;
use guanxi::jobs::planner;
use guanxi::services::Ctx;
use guanxi::startup::{self, Tasks};
use guanxi::telegram;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::Command;

use common::{Backend, NOW, Place, REPS, TODAY, env_flag, peak_rss_mib, rss_mib, seed};
use fake_telegram::{FakeTelegram, TgUser};

const TOKEN: &str = "123456:BENCH-memory";
/// Set in a child process: `backend|N|database URL|Bot API URL`.
const CHILD_ENV: &str = "GUANXI_BENCH_CHILD";
/// How long the app runs before the idle reading.
const SETTLE: Duration = Duration::from_secs(3);
/// Telegram id of rep r is this plus r (as `common::seed` numbers them).
const FIRST_REP_TELEGRAM_ID: i64 = 920_000_000;
/// What the child prints before its readings, so other output cannot be mistaken for one.
const RESULT: &str = "RESULT";

fn main() -> ExitCode {
    if let Some(filter) = env_flag("GUANXI_BENCH_LOG") {
        match tracing_subscriber::EnvFilter::try_new(filter) {
            Ok(filter) => tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init(),
            Err(error) => {
                eprintln!("GUANXI_BENCH_LOG: {error}");
                return ExitCode::FAILURE;
            }
        }
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("memory bench failed: {error}");
            return ExitCode::FAILURE;
        }
    };
    let result = match std::env::var(CHILD_ENV) {
        Ok(case) => runtime.block_on(run_child(&case)),
        Err(_) => runtime.block_on(run_parent()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("memory bench failed: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// One memory reading of the child: (`VmRSS`, `VmHWM`) in MiB.
type Reading = (f64, f64);

fn reading() -> anyhow::Result<Reading> {
    Ok((rss_mib().context("no VmRSS in /proc/self/status")?, peak_rss_mib().context("no VmHWM")?))
}

async fn run_parent() -> anyhow::Result<()> {
    let sizes: Vec<usize> = env_flag("GUANXI_BENCH_SIZES")
        .unwrap_or_else(|| "0,100000".into())
        .split(',')
        .map(|s| s.trim().replace('_', ""))
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().with_context(|| format!("'{s}' is not a number of customers")))
        .collect::<anyhow::Result<_>>()?;
    let readers: usize =
        env_flag("GUANXI_BENCH_READERS").map(|n| n.parse()).transpose()?.unwrap_or(20).min(REPS / 2 - 1);
    let mut backends = Vec::new();
    if env_flag("GUANXI_BENCH_SQLITE").as_deref() != Some("0") {
        backends.push(Backend::Sqlite);
    }
    if env_flag("GUANXI_BENCH_PG").is_some() {
        backends.push(Backend::Postgres);
    }
    ensure!(!backends.is_empty(), "no backend to measure: GUANXI_BENCH_SQLITE=0 and no GUANXI_BENCH_PG");
    let fake = FakeTelegram::start().await;
    let exe = std::env::current_exe().context("locating this bench binary")?;
    println!(
        "| backend | customers | idle RSS | after the round RSS | after reads RSS | peak (VmHWM) | round | \
         bot sends | seeding |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for &backend in &backends {
        for &customers in &sizes {
            let place = Place::create(backend).await?;
            let measured = measure(&fake, &exe, backend, place.url(), customers, readers).await;
            let removed = place.remove().await;
            measured.with_context(|| format!("{} with {customers} customers", backend.name()))?;
            removed?;
        }
    }
    Ok(())
}

/// Seed one case's database, run the child on it, drive its reads and print its row.
async fn measure(
    fake: &FakeTelegram,
    exe: &std::path::Path,
    backend: Backend,
    url: &str,
    customers: usize,
    readers: usize,
) -> anyhow::Result<()> {
    let label = format!("{} N={customers}", backend.name());
    let started = Instant::now();
    {
        let env = |key: &str| (key == "DATABASE_URL").then(|| url.to_owned());
        let settings = Settings::load_with(None, env).context("seeding settings")?;
        let now: DateTime<Utc> = NOW.parse()?;
        let ctx = startup::build_context(settings, Arc::new(FixedClock(now))).await.context("migrating")?;
        if customers > 0 {
            eprintln!("{label}: seeding…");
            let today: NaiveDate = TODAY.parse()?;
            seed(ctx.db.pool(), customers, (customers / 100).max(1), now, today).await?;
            if backend == Backend::Postgres {
                sqlx::query("ANALYZE").execute(ctx.db.pool()).await.context("ANALYZE")?;
            }
        }
        ctx.db.close().await;
    }
    let seeding = started.elapsed();
    eprintln!("{label}: seeded in {seeding:.2?}; starting the app in a child process");

    fake.clear_sent();
    let case = format!("{}|{customers}|{url}|{}", backend.name(), fake.api_url());
    let mut child = Command::new(exe)
        .env(CHILD_ENV, case)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .context("starting the child")?;
    let mut stdin = child.stdin.take().context("child stdin")?;
    let mut lines = BufReader::new(child.stdout.take().context("child stdout")?).lines();
    let mut result = None;
    while let Some(line) = lines.next_line().await? {
        if line == "READS" {
            eprintln!("{label}: {readers} reps send /customers and /due…");
            read_lists(fake, readers).await?;
            stdin.write_all(b"DONE\n").await?;
            stdin.flush().await?;
        } else if let Some(rest) = line.strip_prefix(RESULT) {
            result = Some(rest.trim().to_owned());
        }
    }
    let status = child.wait().await?;
    ensure!(status.success(), "the child failed ({status})");
    let result = result.context("the child printed no result")?;
    println!(
        "| {} | {} | {result} | {} | {:.1} s |",
        backend.name(),
        customers,
        fake.sent().len(),
        seeding.as_secs_f64()
    );
    Ok(())
}

/// `readers` reps each ask for their customer list and their due items; returns when each
/// got at least one answer to both and the bot has sent nothing for a second.
async fn read_lists(fake: &FakeTelegram, readers: usize) -> anyhow::Result<()> {
    // Reps 1, 2, …: in the planner bench's seed each owns N / 200 customers, except reps 0 and
    // 100, whose share falls on customers that are all due (so they own only 1 in 200 of it).
    let reps: Vec<TgUser> =
        (1..=readers).map(|r| TgUser::new(FIRST_REP_TELEGRAM_ID + r as i64, &format!("Rep {r}"))).collect();
    let before: Vec<usize> = reps.iter().map(|r| fake.sent_to(r.id).len()).collect();
    for rep in &reps {
        fake.push_text(rep, "/customers");
        fake.push_text(rep, "/due");
    }
    let deadline = Instant::now() + Duration::from_secs(300);
    let mut last_count = fake.sent().len();
    let mut quiet_since = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let count = fake.sent().len();
        if count != last_count {
            last_count = count;
            quiet_since = Instant::now();
        }
        let answered = reps.iter().zip(&before).all(|(rep, &b)| fake.sent_to(rep.id).len() >= b + 2);
        if answered && quiet_since.elapsed() >= Duration::from_secs(1) {
            let got: usize = reps.iter().zip(&before).map(|(rep, &b)| fake.sent_to(rep.id).len() - b).sum();
            eprintln!("  the readers got {got} messages");
            return Ok(());
        }
        ensure!(Instant::now() < deadline, "the reads were not answered within 300 s");
    }
}

/// The measured process: the app and nothing else.
async fn run_child(case: &str) -> anyhow::Result<()> {
    let mut parts = case.splitn(4, '|');
    let (Some(backend), Some(customers), Some(url), Some(api_url)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        bail!("malformed {CHILD_ENV} '{case}'");
    };
    let customers: usize = customers.parse()?;
    let mail_dir = tempfile::Builder::new().prefix("guanxi-bench-mail-").tempdir()?;
    let env: HashMap<&str, String> = HashMap::from([
        ("TELOXIDE_TOKEN", TOKEN.to_owned()),
        ("TELOXIDE_API_URL", api_url.to_owned()),
        ("DATABASE_URL", url.to_owned()),
        ("GUANXI_MAIL_DIR", mail_dir.path().display().to_string()),
    ]);
    let mut settings = Settings::load_with(None, |k| env.get(k).cloned()).context("bench settings")?;
    // Delivering the round and the long lists at Telegram's pace would take minutes, and the
    // pace does not change what is in memory.
    settings.rate_limits.messages_per_sec_overall = 10_000;
    settings.rate_limits.messages_per_sec_chat = 10_000;
    settings.rate_limits.messages_per_min_chat = 100_000;
    let now: DateTime<Utc> = NOW.parse()?;
    let ctx = startup::build_context(settings, Arc::new(FixedClock(now))).await.context("building the app")?;
    let bot = telegram::build_bot(&ctx.settings, TOKEN);
    let mailer = Mailer::new(&ctx.settings.mail, &ctx.settings.mail_from)?;
    let tasks = Tasks { tick_every_minute: false, background_worker: true };
    let running = startup::start(&ctx, bot, mailer, tasks).await.context("starting the app")?;
    tokio::time::sleep(SETTLE).await;
    let idle = reading()?;
    eprintln!("{backend} N={customers}: idle {idle:?} MiB");

    let mut after_round = None;
    let mut after_reads = None;
    let mut round = String::from("—");
    if customers > 0 {
        let started = Instant::now();
        let report = planner::plan(&ctx, now).await.context("the daily round")?;
        ensure!(report.round.is_some(), "the planner did not run the daily round: {report:?}");
        drain_outbox(&ctx).await?;
        round = format!("{:.2} s", started.elapsed().as_secs_f64());
        after_round = Some(reading()?);
        eprintln!("{backend} N={customers}: after the round ({report:?}) {after_round:?} MiB");

        println!("READS");
        // The parent answers `DONE` once the reads are answered (std's stdin: tokio's needs a
        // feature the app does not use).
        tokio::task::spawn_blocking(|| std::io::stdin().lines().map_while(Result::ok).find(|l| l == "DONE"))
            .await?
            .context("the parent closed stdin before the reads were done")?;
        drain_outbox(&ctx).await?;
        after_reads = Some(reading()?);
        eprintln!("{backend} N={customers}: after the reads {after_reads:?} MiB");
    }
    let rss = |r: Option<Reading>| r.map_or_else(|| "—".to_owned(), |(rss, _)| format!("{rss:.1} MiB"));
    // The kernel syncs each thread's RSS count lazily, so a reading can exceed the `VmHWM` read
    // a moment later by a few hundred KiB; the peak is the larger of all.
    let peak = [Some(idle), after_round, after_reads]
        .into_iter()
        .flatten()
        .map(|(rss, hwm)| rss.max(hwm))
        .fold(peak_rss_mib().context("no VmHWM")?, f64::max);
    println!("{RESULT} {:.1} MiB | {} | {} | {peak:.1} MiB | {round}", idle.0, rss(after_round), rss(after_reads));
    // A stop that is stuck must not keep the parent waiting: the readings are out, the
    // process ends either way.
    if let Err(error) = running.stop().await {
        eprintln!("warning: {error:#}");
        std::process::exit(0);
    }
    ctx.db.close().await;
    Ok(())
}

/// Wait until the worker has delivered everything queued (nothing pending or being sent).
async fn drain_outbox(ctx: &Ctx) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let waiting: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE status IN ('pending', 'sending')")
            .fetch_one(ctx.db.pool())
            .await?;
        if waiting == 0 {
            return Ok(());
        }
        ensure!(Instant::now() < deadline, "{waiting} outbox rows still undelivered after 300 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
