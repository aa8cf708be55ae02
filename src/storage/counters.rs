//! Gapless counters that roll back with their transaction.
//!
//! A database sequence is not transactional: a rolled-back import would leave holes in the
//! archive numbers on PostgreSQL but not on SQLite. An upserted row is transactional on both,
//! and concurrent callers queue on its row lock, so numbers are unique and race-free.

use anyhow::Context;
use sqlx::AnyConnection;

pub const ARCHIVE_NO: &str = "archive_no";

/// The next value of `name` (1 for a new counter).
pub async fn next(conn: &mut AnyConnection, name: &str) -> anyhow::Result<i64> {
    advance(conn, name, 1).await
}

/// Take the next `by` values of `name` at once; returns the last of them (so they are
/// `last - by + 1 ..= last`).
pub async fn advance(conn: &mut AnyConnection, name: &str, by: i64) -> anyhow::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO counters (name, value) VALUES ($1, $2)
         ON CONFLICT (name) DO UPDATE SET value = counters.value + $2
         RETURNING value",
    )
    .bind(name)
    .bind(by)
    .fetch_one(conn)
    .await
    .with_context(|| format!("advancing counter {name}"))
}
