//! What the benches share: the archive they seed (the planner bench's staff and customers),
//! where each case's database lives, and reading this process's memory from `/proc`.
//!
//! Included with `mod common;`; each bench uses a different part of it.

#![allow(dead_code)]

use std::str::FromStr;
use std::time::Duration;

use anyhow::{Context, bail};
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::postgres::PgConnection;
use sqlx::{AnyPool, Connection};

/// Wednesday 2026-11-25, 10:00 Beijing time: a working day, after the 09:00 daily round.
pub const NOW: &str = "2026-11-25T02:00:00Z";
/// The local date of `NOW`.
pub const TODAY: &str = "2026-11-25";
pub const MANAGERS: usize = 10;
pub const REPS: usize = 200;
/// Customers per multi-row INSERT (6 bound values each: well under SQLite's 32766).
pub const ROWS_PER_INSERT: usize = 1000;
/// Rows per seeding transaction.
pub const ROWS_PER_TX: usize = 100_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
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

pub fn env_flag(key: &str) -> Option<String> {
    std::env::var(key).ok().filter(|v| !v.trim().is_empty())
}

/// The outbox worker's senders (`[delivery] concurrency`) from `GUANXI_BENCH_SENDERS`, when
/// set, within the bounds the setting itself has: with none, a bench would wait forever for
/// messages nobody sends.
pub fn senders_from_env(settings: &mut guanxi::config::Settings) -> anyhow::Result<()> {
    if let Some(senders) = env_flag("GUANXI_BENCH_SENDERS") {
        let senders: usize = senders.parse().context("GUANXI_BENCH_SENDERS")?;
        anyhow::ensure!(
            (1..=guanxi::config::MAX_SENDERS).contains(&senders),
            "GUANXI_BENCH_SENDERS must be between 1 and {}",
            guanxi::config::MAX_SENDERS
        );
        settings.delivery_concurrency = Some(senders);
    }
    Ok(())
}

/// Where one case's database lives; created fresh, removed by [`Place::remove`].
pub enum Place {
    Sqlite { url: String, dir: tempfile::TempDir },
    Postgres { url: String, admin_url: String, name: String },
}

impl Place {
    pub async fn create(backend: Backend) -> anyhow::Result<Self> {
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

    pub fn url(&self) -> &str {
        match self {
            Place::Sqlite { url, .. } | Place::Postgres { url, .. } => url,
        }
    }

    pub async fn remove(self) -> anyhow::Result<()> {
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

/// An admin, a director, `MANAGERS` managers under the director and `REPS` reps under the
/// managers (all with e-mail, so escalations reach a person), then `customers` customers
/// spread over the reps. `due` of them, evenly spaced, have a call due between today and
/// 10 days ago (so some escalate to the manager, some to the director); every other due date
/// lies beyond the 7-day horizon.
pub async fn seed(
    pool: &AnyPool,
    customers: usize,
    due: usize,
    now: DateTime<Utc>,
    today: NaiveDate,
) -> anyhow::Result<()> {
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

    let step = customers / due;
    let date = |offset: i64| (today + chrono::Duration::days(offset)).format("%Y-%m-%d").to_string();
    let full_sql = insert_sql(ROWS_PER_INSERT, at);
    let mut tx = pool.begin().await?;
    let mut start = 0;
    while start < customers {
        let rows = ROWS_PER_INSERT.min(customers - start);
        let sql = if rows == ROWS_PER_INSERT { full_sql.clone() } else { insert_sql(rows, at) };
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for i in start..start + rows {
            let n = i as i64;
            let due_index = (i % step == 0 && i / step < due).then_some(i / step);
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
        if start % ROWS_PER_TX == 0 && start < customers {
            tx.commit().await?;
            tx = pool.begin().await?;
        }
    }
    // Later archive numbers continue after the seeded ones, as the app would number them.
    sqlx::query(
        "INSERT INTO counters (name, value) VALUES ('archive_no', $1)
         ON CONFLICT (name) DO UPDATE SET value = excluded.value",
    )
    .bind(customers as i64)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// A multi-row INSERT of `rows` customers with 6 bound values each.
pub fn insert_sql(rows: usize, at: i64) -> String {
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
pub fn peak_rss_mib() -> Option<f64> {
    status_mib("VmHWM:")
}

/// This process's resident set now (`VmRSS`), in MiB.
pub fn rss_mib() -> Option<f64> {
    status_mib("VmRSS:")
}

/// A `kB` field of `/proc/self/status`, in MiB.
fn status_mib(field: &str) -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// This process's CPU time so far, all threads, user and system (`/proc/self/stat`, in
/// ticks of 1/100 s, Linux's `USER_HZ` on every architecture it exposes to user space).
pub fn process_cpu() -> anyhow::Result<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").context("reading /proc/self/stat")?;
    // The fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> =
        stat.rsplit_once(')').context("/proc/self/stat has no command")?.1.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok()).context("/proc/self/stat is short");
    // utime and stime are the 14th and 15th fields; the 3rd is the first after the name.
    Ok(Duration::from_millis((ticks(11)? + ticks(12)?) * 10))
}
