//! What one statement's trip to SQLite's connection thread costs: a transaction of twelve
//! upserts sent as twelve statements, against the same twelve sent as one query.
//!
//! Why: sqlx runs each SQLite connection on a thread of its own, and every statement is a
//! hand-off to that thread and back. The updates bench spends about 40 % of its CPU on the
//! database path, spread over many small costs (`BENCHMARKS.md`); this isolates the
//! hand-off. sqlx-sqlite runs every statement of one query string and binds anonymous
//! parameters across them in order, so a group commit's batch could go as one query.
//!
//! A fresh SQLite file in a temp dir, WAL with `synchronous = NORMAL` as the app opens it,
//! through one `AnyConnection` as the group commit's tasks hold theirs. Each transaction
//! (`BEGIN`, twelve upserts, `COMMIT`) is run 2,000 times per round, three rounds, each way
//! in turn; CPU is this whole process's (`/proc/self/stat`).
//!
//! ```sh
//! cargo bench --bench statements
//! ```

mod common;

use std::sync::Arc;
use std::time::Instant;

use sqlx::{AnyConnection, Connection};

const STATEMENTS: usize = 12;
const TRANSACTIONS: i64 = 2_000;
const ROUNDS: usize = 3;
const UPSERT: &str = "INSERT INTO t (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v";

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    sqlx::any::install_default_drivers();
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("statements.db").display());
    let mut conn = AnyConnection::connect(&url).await?;
    sqlx::query("PRAGMA journal_mode = WAL").execute(&mut conn).await?;
    sqlx::query("PRAGMA synchronous = NORMAL").execute(&mut conn).await?;
    sqlx::query("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT NOT NULL)").execute(&mut conn).await?;
    // Shared, not copied, each time it is sent: the twelve statements' text is a `&'static
    // str`, so neither way pays for building its query string inside the timed loop.
    let one_query: Arc<str> = (0..STATEMENTS).map(|_| format!("{UPSERT};")).collect::<String>().into();

    println!("| round | sent as | trips to SQLite's thread | wall per transaction | CPU per transaction |");
    println!("|---:|---|---:|---:|---:|");
    for round in 1..=ROUNDS {
        for together in [false, true] {
            let (start, cpu_before) = (Instant::now(), common::process_cpu()?);
            for i in 0..TRANSACTIONS {
                let keys = (0..STATEMENTS as i64).map(|j| j * 1_000_000 + i);
                let mut tx = conn.begin().await?;
                if together {
                    let mut query = sqlx::query(sqlx::AssertSqlSafe(Arc::clone(&one_query)));
                    for key in keys {
                        query = query.bind(key).bind("v");
                    }
                    query.execute(&mut *tx).await?;
                } else {
                    for key in keys {
                        sqlx::query(UPSERT).bind(key).bind("v").execute(&mut *tx).await?;
                    }
                }
                tx.commit().await?;
            }
            let wall = start.elapsed().as_secs_f64() * 1e6 / TRANSACTIONS as f64;
            let cpu = common::process_cpu()?.saturating_sub(cpu_before).as_secs_f64() * 1e6 / TRANSACTIONS as f64;
            // BEGIN and COMMIT are a trip each either way.
            let (how, trips) = if together { ("one query", 3) } else { ("12 statements", STATEMENTS + 2) };
            println!("| {round} | {how} | {trips} | {wall:.0} µs | {cpu:.0} µs |");
        }
    }
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM t").fetch_one(&mut conn).await?;
    anyhow::ensure!(rows == STATEMENTS as i64 * TRANSACTIONS, "expected every upsert stored, found {rows} rows");
    Ok(())
}
