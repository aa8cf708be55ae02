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

mod common;

use std::process::{Command, ExitCode};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chrono::{DateTime, NaiveDate, Utc};
use guanxi::clock::FixedClock;
use guanxi::config::Settings;
use guanxi::jobs::planner::{self, PlanReport};
use guanxi::startup;
use sqlx::AnyPool;

use common::{Backend, NOW, Place, TODAY, env_flag, peak_rss_mib, seed};

/// Set in a child process: the one case it runs, as `backend|N|D`.
const CHILD_ENV: &str = "GUANXI_BENCH_CHILD";

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
    seed(ctx.db.pool(), case.customers, case.due, now, today).await?;
    if case.backend == Backend::Postgres {
        // Autovacuum would analyze a table this size within a minute or so of the load; measure
        // that steady state, not the first minute after a bulk load. (SQLite keeps no statistics
        // unless ANALYZE is run, and the app never runs it, so SQLite is measured without.)
        sqlx::query("ANALYZE").execute(ctx.db.pool()).await.context("ANALYZE")?;
        // The load leaves about a gigabyte of WAL behind: flush it now, or the checkpoint it
        // triggers runs during the timed runs and their times vary by half a second.
        sqlx::query("CHECKPOINT").execute(ctx.db.pool()).await.context("CHECKPOINT")?;
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
