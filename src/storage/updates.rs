//! Telegram updates already handled, so that each is handled once.
//!
//! Telegram redelivers a webhook update until it gets a 200, long polling can hand out an
//! update again after a restart, and with several instances any of them may receive it. The
//! first to claim an update handles it; a claim left unfinished for a minute (its process
//! died mid-way) may be taken over, so a crash does not lose the update either.

use anyhow::Context;
use chrono::{DateTime, Duration, Utc};
use sqlx::AnyConnection;

use super::epoch;

/// A claim older than this without `done_at` belongs to a process that died.
pub const STALE_CLAIM: Duration = Duration::minutes(1);

/// Claim `update_id` for handling; `false` when it was handled or is being handled.
pub async fn claim(conn: &mut AnyConnection, update_id: i64, now: DateTime<Utc>) -> anyhow::Result<bool> {
    let done = sqlx::query(
        "INSERT INTO updates_seen (update_id, claimed_at) VALUES ($1, $2)
         ON CONFLICT (update_id) DO UPDATE SET claimed_at = excluded.claimed_at
         WHERE updates_seen.done_at IS NULL AND updates_seen.claimed_at < $3",
    )
    .bind(update_id)
    .bind(epoch(now))
    .bind(epoch(now - STALE_CLAIM))
    .execute(conn)
    .await
    .context("claiming a Telegram update")?;
    Ok(done.rows_affected() == 1)
}

/// The update was handled to the end.
pub async fn finish(conn: &mut AnyConnection, update_id: i64, now: DateTime<Utc>) -> anyhow::Result<()> {
    sqlx::query("UPDATE updates_seen SET done_at = $1 WHERE update_id = $2")
        .bind(epoch(now))
        .bind(update_id)
        .execute(conn)
        .await
        .context("finishing a Telegram update")?;
    Ok(())
}

/// Forget updates older than `before`: Telegram keeps an update for 24 hours at most.
pub async fn prune(conn: &mut AnyConnection, before: DateTime<Utc>) -> anyhow::Result<u64> {
    let done = sqlx::query("DELETE FROM updates_seen WHERE claimed_at < $1")
        .bind(epoch(before))
        .execute(conn)
        .await
        .context("pruning handled updates")?;
    Ok(done.rows_affected())
}
