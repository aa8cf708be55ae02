//! The planner's daily round at archive scale.
//!
//! What it measures: the wall time of one `guanxi::jobs::planner::plan(&ctx, now)` run that
//! performs the daily round (digests and escalations, plus everything else the round does),
//! on an archive of N customers of which D are due, on SQLite and optionally PostgreSQL.
//!
//! Why: customers carry indexed `next_call_due` / `next_visit_due` columns precisely so that
//! the planner's cost follows the number of DUE items, not the size of the archive. The
//! project asks for "under 1 s per tick at 1M customers with 1% due". Comparing N = 10k and
//! 100k at 1% due (D grows with N) against a case with the same D at a larger N (for example
//! `100000:100`) separates the two.
//!
//! How: every (backend, N, D) case runs in a fresh child process of this same binary, so the
//! peak resident memory it reports (`VmHWM`, which includes the seeding) belongs to that case
//! alone. The child builds the real application context (`Settings::load_with` with only
//! `DATABASE_URL`, then `startup::build_context` with a `FixedClock`), seeds staff and
//! customers with batched multi-row INSERTs (on PostgreSQL followed by `ANALYZE`, as autovacuum
//! would soon do; counted in the seeding time), then times `plan()` several times. Between runs
//! it deletes what a run wrote (outbox, escalations, access log, the day's `app_state` guards)
//! so that every run does the same daily round; the clean-up is not timed. It then times as
//! many ordinary minute ticks of the same day (round already done) for comparison.
//!
//! Run it with `cargo bench --bench planner`. Environment variables:
//!
//! - `GUANXI_BENCH_SIZES`: comma-separated cases, `N` (1% due) or `N:D` (D due), default
//!   `10000,100000`.
//! - `GUANXI_BENCH_PG`: a PostgreSQL URL (e.g. `postgres://postgres@127.0.0.1:5432/test`); each
//!   case then also runs in a fresh database `guanxi_bench_<pid>` beside it, dropped at the end.
//! - `GUANXI_BENCH_SQLITE=0`: skip SQLite (default: SQLite always runs).
//! - `GUANXI_BENCH_RUNS`: timed planner runs per case, default 5.
//! - `GUANXI_BENCH_KEEP=1`: keep each case's database for inspection (EXPLAIN) and print where.
//! - `GUANXI_BENCH_LOG`: a tracing filter for the children's stderr; `sqlx::query=debug` logs
//!   every statement with its elapsed time, which names the slow query of a run.
//!
//! Output: one Markdown table row per case on stdout; progress goes to stderr.

use std::process::{Command, ExitCode};
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chrono::{DateTime, NaiveDate, Utc};
use guanxi::clock::FixedClock;
use guanxi::config::Settings;
use guanxi::jobs::planner::{self, PlanReport};
use guanxi::startup;
use sqlx::postgres::PgConnection;
use sqlx::{AnyPool, Connection};

/// Wednesday 2026-11-25, 10:00 Beijing time: a working day, after the 09:00 daily round.
const NOW: &str = "2026-11-25T02:00:00Z";
/// The local date of `NOW`.
const TODAY: &str = "2026-11-25";
const MANAGERS: usize = 10;
const REPS: usize = 200;
/// Customers per multi-row INSERT (6 bound values each: well under SQLite's 32766).
const ROWS_PER_INSERT: usize = 1000;
/// Rows per seeding transaction.
const ROWS_PER_TX: usize = 100_000;
/// Set in a child process: the one case it runs, as `backend|N|D`.
const CHILD_ENV: &str = "GUANXI_BENCH_CHILD";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

impl FromStr for Backend {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> anyhow::Result<Self> {
        match s {
            "sqlite" => Ok(Backend::Sqlite),
            "postgres" => Ok(Backend::Postgres),
            other => bail!("unknown backend '{other}'"),
        }
    }
}

/// One measured configuration: `customers` in the archive, `due` of them with a call due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Case {
    backend: Backend,
    customers: usize,
    due: usize,
}

impl Case {
    fn encode(&self) -> String {
        format!("{}|{}|{}", self.backend.name(), self.customers, self.due)
    }

    fn decode(s: &str) -> anyhow::Result<Self> {
        let mut parts = s.split('|');
        let (Some(backend), Some(customers), Some(due), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            bail!("malformed {CHILD_ENV} '{s}'");
        };
        Ok(Self { backend: backend.parse()?, customers: customers.parse()?, due: due.parse()? })
    }
}

/// `N` (1% due) or `N:D`, comma-separated.
fn parse_sizes(text: &str) -> anyhow::Result<Vec<(usize, usize)>> {
    let mut sizes = Vec::new();
    for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (n, due) = match item.split_once(':') {
            Some((n, d)) => (n.trim().replace('_', "").parse()?, d.trim().replace('_', "").parse()?),
            None => {
                let n: usize = item.replace('_', "").parse().with_context(|| format!("'{item}' is not N or N:D"))?;
                (n, (n / 100).max(1))
            }
        };
        if n == 0 || due == 0 || due > n {
            bail!("'{item}': need 0 < due <= customers");
        }
        sizes.push((n, due));
    }
    Ok(sizes)
}

fn env_flag(key: &str) -> Option<String> {
    std::env::var(key).ok().filter(|v| !v.trim().is_empty())
}

fn main() -> ExitCode {
    // `cargo bench` passes `--bench`; a filter or other flags are not supported and ignored.
    let result = match std::env::var(CHILD_ENV) {
        Ok(case) => Case::decode(&case).and_then(run_child),
        Err(_) => run_parent(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("planner bench failed: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Run every case in its own child process and print the table.
fn run_parent() -> anyhow::Result<()> {
    let sizes = parse_sizes(&env_flag("GUANXI_BENCH_SIZES").unwrap_or_else(|| "10000,100000".into()))?;
    let mut backends = Vec::new();
    if env_flag("GUANXI_BENCH_SQLITE").as_deref() != Some("0") {
        backends.push(Backend::Sqlite);
    }
    if env_flag("GUANXI_BENCH_PG").is_some() {
        backends.push(Backend::Postgres);
    }
    if backends.is_empty() {
        bail!("no backend to measure: GUANXI_BENCH_SQLITE=0 and no GUANXI_BENCH_PG");
    }
    let exe = std::env::current_exe().context("locating this bench binary")?;
    println!(
        "| backend | customers | due items | planner run min | planner run median | 1st run | ordinary tick median | \
         runs | digests | escalated items | escalation e-mails | outbox rows | seeding | peak RSS |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut failed = 0;
    for &backend in &backends {
        for &(customers, due) in &sizes {
            let case = Case { backend, customers, due };
            let status = Command::new(&exe)
                .env(CHILD_ENV, case.encode())
                .status()
                .with_context(|| format!("starting the child for {case:?}"))?;
            if !status.success() {
                eprintln!("case {case:?} failed ({status})");
                failed += 1;
            }
        }
    }
    if failed > 0 {
        bail!("{failed} case(s) failed");
    }
    Ok(())
}

/// Where one case's database lives; created fresh, removed by [`Place::remove`].
enum Place {
    Sqlite { url: String, dir: tempfile::TempDir },
    Postgres { url: String, admin_url: String, name: String },
}

impl Place {
    async fn create(backend: Backend) -> anyhow::Result<Self> {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::Builder::new().prefix("guanxi-bench-").tempdir().context("creating a temp dir")?;
                let url = format!("sqlite://{}", dir.path().join("guanxi.db").display());
                Ok(Place::Sqlite { url, dir })
            }
            Backend::Postgres => {
                let admin_url = env_flag("GUANXI_BENCH_PG").context("GUANXI_BENCH_PG is not set")?;
                let name = format!("guanxi_bench_{}", std::process::id());
                let mut conn =
                    PgConnection::connect(&admin_url).await.context("GUANXI_BENCH_PG must reach PostgreSQL")?;
                sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")))
                    .execute(&mut conn)
                    .await?;
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
                    .execute(&mut conn)
                    .await
                    .with_context(|| format!("creating database {name}"))?;
                conn.close().await?;
                let mut url = url::Url::parse(&admin_url).context("GUANXI_BENCH_PG is not a URL")?;
                url.set_path(&name);
                Ok(Place::Postgres { url: url.to_string(), admin_url, name })
            }
        }
    }

    fn url(&self) -> &str {
        match self {
            Place::Sqlite { url, .. } | Place::Postgres { url, .. } => url,
        }
    }

    async fn remove(self) -> anyhow::Result<()> {
        let keep = env_flag("GUANXI_BENCH_KEEP").as_deref() == Some("1");
        match self {
            Place::Sqlite { dir, .. } if keep => eprintln!("  kept {}", dir.keep().join("guanxi.db").display()),
            Place::Sqlite { dir, .. } => dir.close().context("removing the SQLite temp dir")?,
            Place::Postgres { url, .. } if keep => eprintln!("  kept {url}"),
            Place::Postgres { admin_url, name, .. } => {
                let mut conn = PgConnection::connect(&admin_url).await?;
                sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")))
                    .execute(&mut conn)
                    .await
                    .with_context(|| format!("dropping database {name}"))?;
                conn.close().await?;
            }
        }
        Ok(())
    }
}

/// What one case measured.
struct Measured {
    seeding: Duration,
    runs: Vec<Duration>,
    /// Ordinary ticks after the round (same day, one minute apart).
    ticks: Vec<Duration>,
    report: PlanReport,
    outbox_rows: i64,
}

fn run_child(case: Case) -> anyhow::Result<()> {
    if let Some(filter) = env_flag("GUANXI_BENCH_LOG") {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::try_new(filter)?)
            .with_writer(std::io::stderr)
            .init();
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        let place = Place::create(case.backend).await?;
        let measured = measure(case, place.url()).await;
        let removed = place.remove().await;
        let measured = measured?;
        removed?;
        print_row(case, &measured);
        Ok(())
    })
}

async fn measure(case: Case, url: &str) -> anyhow::Result<Measured> {
    let now: DateTime<Utc> = NOW.parse()?;
    let today: NaiveDate = TODAY.parse()?;
    let runs: usize = env_flag("GUANXI_BENCH_RUNS").map(|r| r.parse()).transpose()?.unwrap_or(5).max(1);
    let env = |key: &str| (key == "DATABASE_URL").then(|| url.to_owned());
    let settings = Settings::load_with(None, env).context("bench settings")?;
    let ctx = startup::build_context(settings, Arc::new(FixedClock(now))).await.context("building the app")?;
    let label = format!("{} N={} due={}", case.backend.name(), case.customers, case.due);

    eprintln!("{label}: seeding…");
    let started = Instant::now();
    seed(ctx.db.pool(), case, now, today).await?;
    if case.backend == Backend::Postgres {
        // Autovacuum would analyze a table this size within a minute or so of the load; measure
        // that steady state, not the first minute after a bulk load. (SQLite keeps no statistics
        // unless ANALYZE is run, and the app never runs it, so SQLite is measured without.)
        sqlx::query("ANALYZE").execute(ctx.db.pool()).await.context("ANALYZE")?;
    }
    let seeding = started.elapsed();
    eprintln!("{label}: seeded in {seeding:.2?}");

    let mut times = Vec::with_capacity(runs);
    let mut first: Option<(PlanReport, i64)> = None;
    for run in 0..runs {
        reset_round(ctx.db.pool()).await?;
        let started = Instant::now();
        let report = planner::plan(&ctx, now).await?;
        let took = started.elapsed();
        let outbox_rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox").fetch_one(ctx.db.pool()).await?;
        eprintln!("{label}: run {} took {took:.2?} ({report:?}, {outbox_rows} outbox rows)", run + 1);
        if report.round != Some(today) {
            bail!("the planner did not run the daily round: {report:?}");
        }
        match &first {
            None => first = Some((report, outbox_rows)),
            Some(f) if *f != (report, outbox_rows) => bail!("run {} differs from the first: {report:?}", run + 1),
            Some(_) => {}
        }
        times.push(took);
    }
    let (report, outbox_rows) = first.context("no run")?;

    // The minute ticks after it: the day's round is done, so only the every-tick work remains.
    let mut ticks = Vec::with_capacity(runs);
    for minute in 1..=runs {
        let at = now + chrono::Duration::minutes(minute as i64);
        let started = Instant::now();
        let tick = planner::plan(&ctx, at).await?;
        ticks.push(started.elapsed());
        if tick.round.is_some() {
            bail!("the daily round ran twice on one day: {tick:?}");
        }
    }
    ctx.db.close().await;
    Ok(Measured { seeding, runs: times, ticks, report, outbox_rows })
}

/// Undo what a planner run wrote, so that the next run does the same daily round again.
async fn reset_round(pool: &AnyPool) -> anyhow::Result<()> {
    let mut tx = pool.begin().await?;
    for sql in [
        "DELETE FROM outbox",
        "DELETE FROM escalations",
        "DELETE FROM access_log",
        "DELETE FROM app_state WHERE key IN ('daily_round', 'greetings_through', 'last_tick')",
    ] {
        sqlx::query(sql).execute(&mut *tx).await.with_context(|| sql.to_owned())?;
    }
    tx.commit().await?;
    Ok(())
}

/// An admin, a director, `MANAGERS` managers under the director and `REPS` reps under the
/// managers (all with e-mail, so escalations reach a person), then `case.customers` customers
/// spread over the reps. `case.due` of them, evenly spaced, have a call due between today and
/// 10 days ago (so some escalate to the manager, some to the director); every other due date
/// lies beyond the 7-day horizon.
async fn seed(pool: &AnyPool, case: Case, now: DateTime<Utc>, today: NaiveDate) -> anyhow::Result<()> {
    let at = now.timestamp();
    let mut tx = pool.begin().await?;
    let staff = |telegram: i64, name: String, role: &'static str, manager: Option<i64>| {
        let email = format!("staff{telegram}@corp.example");
        sqlx::query_scalar::<_, i64>(
            "INSERT INTO staff (telegram_id, name, role, manager_id, email, active, created_at)
             VALUES ($1, $2, $3, $4, $5, 1, $6) RETURNING id",
        )
        .bind(telegram)
        .bind(name)
        .bind(role)
        .bind(manager)
        .bind(email)
        .bind(at)
    };
    staff(900_000_001, "Admin".into(), "admin", None).fetch_one(&mut *tx).await?;
    let director = staff(900_000_002, "Director".into(), "director", None).fetch_one(&mut *tx).await?;
    let mut managers = Vec::with_capacity(MANAGERS);
    for m in 0..MANAGERS {
        let telegram = 910_000_000 + m as i64;
        managers.push(staff(telegram, format!("Manager {m}"), "manager", Some(director)).fetch_one(&mut *tx).await?);
    }
    let mut reps = Vec::with_capacity(REPS);
    for r in 0..REPS {
        let telegram = 920_000_000 + r as i64;
        let manager = managers[r % MANAGERS];
        reps.push(staff(telegram, format!("Rep {r}"), "rep", Some(manager)).fetch_one(&mut *tx).await?);
    }
    tx.commit().await?;

    let step = case.customers / case.due;
    let date = |offset: i64| (today + chrono::Duration::days(offset)).format("%Y-%m-%d").to_string();
    let full_sql = insert_sql(ROWS_PER_INSERT, at);
    let mut tx = pool.begin().await?;
    let mut start = 0;
    while start < case.customers {
        let rows = ROWS_PER_INSERT.min(case.customers - start);
        let sql = if rows == ROWS_PER_INSERT { full_sql.clone() } else { insert_sql(rows, at) };
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for i in start..start + rows {
            let n = i as i64;
            let due_index = (i % step == 0 && i / step < case.due).then_some(i / step);
            // Due: 0–10 days overdue. Not due: 8–67 days ahead, past the 7-day horizon.
            let call = match due_index {
                Some(k) => date(-((k % 11) as i64)),
                None => date(8 + n % 60),
            };
            let tier = ["A", "B", "B", "C", "C", "C", "C", "C", "C", "C"][i % 10];
            // Due customers go round the reps by their own count, so every rep gets a share.
            let owner = reps[due_index.unwrap_or(i) % REPS];
            query = query
                .bind(format!("KH-{:06}", n + 1))
                .bind(format!("基准客户 {:07}", n + 1))
                .bind(tier)
                .bind(owner)
                .bind(call)
                .bind(date(8 + n % 300));
        }
        query.execute(&mut *tx).await.context("inserting customers")?;
        start += rows;
        if start % ROWS_PER_TX == 0 && start < case.customers {
            tx.commit().await?;
            tx = pool.begin().await?;
        }
    }
    // Later archive numbers continue after the seeded ones, as the app would number them.
    sqlx::query(
        "INSERT INTO counters (name, value) VALUES ('archive_no', $1)
         ON CONFLICT (name) DO UPDATE SET value = excluded.value",
    )
    .bind(case.customers as i64)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// A multi-row INSERT of `rows` customers with 6 bound values each.
fn insert_sql(rows: usize, at: i64) -> String {
    let mut sql = String::from(
        "INSERT INTO customers (archive_no, name, tier, owner_id, next_call_due, next_visit_due, created_on, \
         active, created_at, updated_at) VALUES ",
    );
    for r in 0..rows {
        let p = r * 6;
        if r > 0 {
            sql.push_str(", ");
        }
        sql.push_str(&format!(
            "(${}, ${}, ${}, ${}, ${}, ${}, '2025-01-02', 1, {at}, {at})",
            p + 1,
            p + 2,
            p + 3,
            p + 4,
            p + 5,
            p + 6
        ));
    }
    sql
}

/// This process's peak resident set size (`VmHWM`), in MiB.
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// The smallest and the median (upper median for an even count) of some durations.
fn min_median(durations: &[Duration]) -> (Duration, Duration) {
    let mut sorted = durations.to_vec();
    sorted.sort();
    (sorted[0], sorted[sorted.len() / 2])
}

fn print_row(case: Case, m: &Measured) {
    let (min, median) = min_median(&m.runs);
    let (_, tick_median) = min_median(&m.ticks);
    let rss = peak_rss_mib().map_or_else(|| "n/a".to_owned(), |mib| format!("{mib:.0} MiB"));
    println!(
        "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.1} s | {} |",
        case.backend.name(),
        case.customers,
        case.due,
        ms(min),
        ms(median),
        ms(m.runs[0]),
        ms(tick_median),
        m.runs.len(),
        m.report.digests,
        m.report.escalated_items,
        m.report.escalation_emails,
        m.outbox_rows,
        m.seeding.as_secs_f64(),
        rss
    );
}
