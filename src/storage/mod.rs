//! Everything that speaks SQL lives here; nothing else in the crate sees sqlx.
//!
//! One SQL text serves SQLite and PostgreSQL through sqlx's `Any` driver: `$N` placeholders,
//! `RETURNING`, `ON CONFLICT DO NOTHING` and BIGINT epoch seconds mean the same on both. The
//! few dialect differences (migrations, how a write transaction begins, the outbox claim's
//! row locking) are decided by [`Backend`] in this module and in `outbox.rs`.

pub mod access;
pub mod app_state;
pub mod changes;
pub mod complaints;
pub mod contacts;
pub mod counters;
pub mod customers;
pub mod delivery_io;
pub mod departments;
pub mod dialogues;
pub mod duty;
pub mod escalations;
pub mod group_commit;
pub mod holidays;
pub mod interactions;
pub mod invites;
pub mod outbox;
pub mod send_gate;
pub mod staff;
pub mod tasks;
pub mod update_io;
pub mod updates;

use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{Any, AnyConnection, AnyPool, Executor};

/// A transaction on whichever backend is configured.
pub type Tx = sqlx::Transaction<'static, Any>;

/// Rows a multi-row `INSERT` carries (outbox, escalations, access log). More rows a statement
/// were measured slower on PostgreSQL (1,000 rows took a daily round from 1.3 s to 2.5–3 s);
/// at this size every backend's parameter limit is far away.
pub(crate) const ROWS_PER_STATEMENT: usize = 100;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn from_url(url: &str) -> Option<Self> {
        if url.starts_with("sqlite:") {
            Some(Self::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Self::Postgres)
        } else {
            None
        }
    }
}

/// Connections to a SQLite file, in this process.
///
/// One: SQLite lets one writer in at a time, and a second connection that wants to write
/// while the first does sleeps in SQLite's busy handler (1, 2, 5, 10 … ms) instead of being
/// woken when the lock frees. With one connection the pool's queue is the writers' queue, and
/// a waiter is woken at once. Measured with `benches/updates.rs`: 490–559 updates/s and an
/// answer p99 of 0.5 s, against 402–431 and 0.7–0.9 s with four connections. Reads wait in
/// the same queue; they take microseconds. Code must never hold a connection while it
/// acquires another (it would wait for itself until the acquire timeout). Other processes on
/// the same file (`guanxi tick` beside `guanxi run`) still meet the busy timeout.
pub const SQLITE_CONNECTIONS: u32 = 1;

/// Whether a SQLite connection coming back to the pool may be handed out again.
///
/// A transaction dropped without commit is rolled back by the connection's worker thread after
/// the fact. When SQLite has already rolled it back by itself (a full disk, for one), that
/// `ROLLBACK` fails and sqlx keeps counting the connection as inside a transaction: every
/// later `BEGIN IMMEDIATE` on it is refused ("attempted to call begin_with at non-zero
/// transaction depth"). Such a connection is closed, and the pool opens a fresh one. The ping
/// (only when a transaction seems open) waits for the pending rollback to be done first.
async fn keep_unless_stuck_in_a_transaction(conn: &mut sqlx::AnyConnection) -> Result<bool, sqlx::Error> {
    use sqlx::Connection;
    if !conn.is_in_transaction() {
        return Ok(true);
    }
    conn.ping().await?;
    let stuck = conn.is_in_transaction();
    if stuck {
        tracing::warn!("closing a SQLite connection left inside a transaction that could not be rolled back");
    }
    Ok(!stuck)
}

/// The connection pool plus the knowledge of which dialect it speaks.
#[derive(Debug, Clone)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
}

impl Db {
    /// Connect; a SQLite file is created if missing and switched to WAL.
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        sqlx::any::install_default_drivers();
        let backend =
            Backend::from_url(url).with_context(|| format!("unsupported database URL scheme: {}", redact_url(url)))?;
        let options = match backend {
            // No ping before handing out a connection: an embedded database has no server to
            // have gone away, and on SQLite each ping is a round trip to the connection's
            // worker thread — measured as a sizeable share of handling an update.
            Backend::Sqlite => AnyPoolOptions::new()
                .max_connections(SQLITE_CONNECTIONS)
                .test_before_acquire(false)
                .after_connect(|conn, _| {
                    Box::pin(async move {
                        // WAL lets other processes read while one writes; the busy timeout
                        // turns their writer contention into waiting instead of errors.
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                        conn.execute("PRAGMA busy_timeout = 10000").await?;
                        conn.execute("PRAGMA foreign_keys = ON").await?;
                        conn.execute("PRAGMA synchronous = NORMAL").await?;
                        Ok(())
                    })
                })
                .after_release(|conn, _| Box::pin(keep_unless_stuck_in_a_transaction(conn))),
            Backend::Postgres => AnyPoolOptions::new().max_connections(10),
        }
        .acquire_timeout(Duration::from_secs(15));
        let url = match backend {
            Backend::Sqlite if !url.contains("mode=") && !url.contains(":memory:") => {
                let sep = if url.contains('?') { '&' } else { '?' };
                format!("{url}{sep}mode=rwc")
            }
            _ => url.to_owned(),
        };
        let connect_options =
            AnyConnectOptions::from_str(&url).with_context(|| format!("invalid database URL: {}", redact_url(&url)))?;
        if backend == Backend::Sqlite {
            probe_sqlite(&connect_options)
                .await
                .with_context(|| format!(
                    "cannot open the database at {} for writing (is its disk read-only or full, or its folder missing?)",
                    redact_url(&url)
                ))?;
        }
        let pool = options
            .connect_with(connect_options)
            .await
            .with_context(|| format!("cannot connect to the database at {}", redact_url(&url)))?;
        Ok(Self { pool, backend })
    }

    /// Apply pending migrations of this backend.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        let migrator = match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator.run(&self.pool).await.context("applying database migrations")?;
        Ok(())
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Begin a transaction that will write.
    ///
    /// On SQLite `BEGIN IMMEDIATE` takes the write lock up front: a deferred transaction that
    /// reads and then writes can fail with SQLITE_BUSY without waiting for the busy timeout.
    pub async fn begin(&self) -> anyhow::Result<Tx> {
        let tx = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.pool.begin().await,
        };
        tx.context("beginning a database transaction")
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Open one connection and switch it to WAL the way the pool will. The pool retries a failing
/// connection until its timeout and then reports only "timed out"; this reports the cause
/// (a read-only file system, a full disk, a missing folder) at once.
async fn probe_sqlite(options: &AnyConnectOptions) -> anyhow::Result<()> {
    use sqlx::ConnectOptions;
    let mut conn = options.connect().await?;
    conn.execute("PRAGMA journal_mode = WAL").await?;
    conn.execute("PRAGMA user_version").await?;
    sqlx::Connection::close(conn).await?;
    Ok(())
}

/// Take the planner's lock for the rest of this transaction; `false` when another instance
/// holds it. PostgreSQL: a transaction-scoped advisory lock. SQLite: the write transaction
/// (`BEGIN IMMEDIATE`) is already exclusive.
pub async fn try_lock_planner(tx: &mut Tx, backend: Backend) -> anyhow::Result<bool> {
    /// Any fixed number unique to this purpose; "GX" + "plan" in ASCII.
    const PLANNER_LOCK: i64 = 0x4758_706c_616e;
    match backend {
        Backend::Sqlite => Ok(true),
        Backend::Postgres => sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1)")
            .bind(PLANNER_LOCK)
            .fetch_one(&mut **tx)
            .await
            .context("taking the planner lock"),
    }
}

/// A database URL with its password replaced, for logs and error messages.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

/// Microseconds of the wall clock: Telegram's rate limits are about real time, whatever
/// instant the planner is asked to plan for.
pub fn wall_clock_us() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}

/// Begin a write transaction on a connection already held, as [`Db::begin`] begins one (the
/// write lock up front on SQLite): the group-committed batches run in the connection their
/// batch was given.
pub(crate) async fn begin_on(conn: &mut AnyConnection, backend: Backend) -> anyhow::Result<sqlx::Transaction<'_, Any>> {
    let tx = match backend {
        Backend::Sqlite => sqlx::Connection::begin_with(conn, "BEGIN IMMEDIATE").await,
        Backend::Postgres => sqlx::Connection::begin(conn).await,
    };
    tx.context("beginning a database transaction")
}

/// `$first, $first+1, …`: `count` numbered placeholders, for an `IN (…)` list.
pub(crate) fn params(first: usize, count: usize) -> String {
    let mut out = String::with_capacity(count * PLACEHOLDER_LEN);
    push_params(&mut out, first, count);
    out
}

/// `($first, …), (…), …`: `rows` rows of `columns` numbered placeholders, for a multi-row
/// `VALUES`.
pub(crate) fn value_rows(first: usize, rows: usize, columns: usize) -> String {
    let mut out = String::with_capacity(rows * (columns * PLACEHOLDER_LEN + 4));
    for row in 0..rows {
        if row > 0 {
            out.push_str(", ");
        }
        out.push('(');
        push_params(&mut out, first + row * columns, columns);
        out.push(')');
    }
    out
}

/// Room for one placeholder and its separator (`$123, `), to size the strings above.
const PLACEHOLDER_LEN: usize = 6;

/// Append [`params`]' placeholders to `out`.
///
/// Written into one string: these lists are built for every group-committed statement (a
/// multi-row insert of replies has fourteen a row), and building each placeholder as a
/// string of its own and joining them took 0.8–1.4 % of the updates bench's CPU in a profile
/// (`perf record`, 2026-12-06); written into one string, about 0.2–0.3 %.
fn push_params(out: &mut String, first: usize, count: usize) {
    use std::fmt::Write;
    for i in first..first + count {
        if i > first {
            out.push_str(", ");
        }
        // Writing to a String cannot fail.
        let _ = write!(out, "${i}");
    }
}

/// `sql` as it is fastest to bind on `conn`: on SQLite, with `$1 … $n` each written once
/// and in order, those become anonymous `?`, bound in the same order; anything else is left
/// as it is.
///
/// Why: SQLite takes `$1` for a parameter *named* "$1". It finds a name by walking the list
/// of the statement's names, when it parses the statement and again when sqlx asks each
/// parameter's name to bind it, so a statement with n named parameters costs n² steps twice.
/// The multi-row statements of a group commit have hundreds: in the updates bench, binding
/// and parsing were a fifth of SQLite's thread. Anonymous parameters have no names to walk.
/// PostgreSQL numbers its parameters and needs the `$N`.
pub(crate) fn positional(conn: &AnyConnection, sql: String) -> String {
    if conn.backend_name() != <sqlx::Sqlite as sqlx::Database>::NAME {
        return sql;
    }
    anonymous(&sql).unwrap_or(sql)
}

/// `sql` with `$1 … $n` as `?`, when each is written once and in order outside string
/// literals; `None` otherwise.
fn anonymous(sql: &str) -> Option<String> {
    let bytes = sql.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut next = 1usize;
    let mut in_literal = false;
    let mut i = 0;
    while i < bytes.len() {
        let byte = bytes[i];
        in_literal ^= byte == b'\'';
        let digits = if byte == b'$' { bytes[i + 1..].iter().take_while(|b| b.is_ascii_digit()).count() } else { 0 };
        if !in_literal && digits > 0 {
            if sql[i + 1..i + 1 + digits].parse::<usize>().ok()? != next {
                return None;
            }
            next += 1;
            out.push(b'?');
            i += 1 + digits;
        } else {
            out.push(byte);
            i += 1;
        }
    }
    // Only ASCII was replaced, by ASCII: still UTF-8.
    String::from_utf8(out).ok()
}

pub(crate) fn epoch(t: DateTime<Utc>) -> i64 {
    t.timestamp()
}

pub(crate) fn from_epoch(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or_default()
}

pub(crate) fn date_text(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

pub(crate) fn parse_date(s: &str) -> anyhow::Result<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").with_context(|| format!("stored date '{s}' is malformed"))
}

pub(crate) fn parse_opt_date(s: Option<&str>) -> anyhow::Result<Option<NaiveDate>> {
    s.map(parse_date).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_from_where_the_statement_needs_them() {
        assert_eq!(params(2, 3), "$2, $3, $4");
        assert_eq!(value_rows(1, 2, 3), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(value_rows(2, 2, 2), "($2, $3), ($4, $5)");
        assert_eq!(value_rows(9, 2, 2), "($9, $10), ($11, $12)");
        assert_eq!(params(1, 0), "");
        assert_eq!(value_rows(1, 0, 3), "");
    }

    #[test]
    fn parameters_written_once_in_order_become_anonymous_and_others_stay_numbered() {
        assert_eq!(
            anonymous("SELECT $1, '$2' WHERE a IN ($2, $3)").as_deref(),
            Some("SELECT ?, '$2' WHERE a IN (?, ?)")
        );
        assert_eq!(anonymous("VALUES ($1, '价格', $2), ($3, $4)").as_deref(), Some("VALUES (?, '价格', ?), (?, ?)"));
        assert_eq!(anonymous("SELECT 1").as_deref(), Some("SELECT 1"));
        // Out of order, repeated, or skipping one: SQLite must keep the numbers.
        assert_eq!(anonymous("SELECT $2, $1"), None);
        assert_eq!(anonymous("SELECT $1 WHERE a = $1"), None);
        assert_eq!(anonymous("SELECT $1, $3"), None);
        assert_eq!(anonymous("SELECT $10, $11").as_deref(), None);
    }

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(redact_url("postgres://guanxi:s3cret@db:5432/crm"), "postgres://guanxi:***@db:5432/crm");
        assert_eq!(redact_url("sqlite://guanxi.db"), "sqlite://guanxi.db");
    }
}
