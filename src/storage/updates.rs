//! Telegram updates already handled, so that each is handled once.
//!
//! Telegram redelivers a webhook update until it gets a 200, long polling can hand out an
//! update again after a restart, and with several instances any of them may receive it. The
//! first to claim an update handles it; a claim left unfinished for a minute (its process
//! died mid-way) may be taken over, so a crash does not lose the update either.

use std::collections::HashSet;

use anyhow::Context;
use chrono::{DateTime, Duration, Utc};
use sqlx::AnyConnection;

use super::{epoch, params, positional, value_rows};

/// A claim older than this without `done_at` belongs to a process that died.
pub const STALE_CLAIM: Duration = Duration::minutes(1);

/// Claim updates for handling, each as of its own `now`: for each, `false` when it was
/// handled or is being handled. One statement for all (see `group_commit`); an update id
/// twice in one call is refused by PostgreSQL, and the caller then claims each alone.
pub async fn claim_many(conn: &mut AnyConnection, claims: &[(i64, DateTime<Utc>)]) -> anyhow::Result<Vec<bool>> {
    // A claim is stale when it is older than STALE_CLAIM as of the new claim's own time.
    let sql = positional(
        conn,
        format!(
            "INSERT INTO updates_seen (update_id, claimed_at) VALUES {}
             ON CONFLICT (update_id) DO UPDATE SET claimed_at = excluded.claimed_at
             WHERE updates_seen.done_at IS NULL AND updates_seen.claimed_at < excluded.claimed_at - ${}
             RETURNING update_id",
            value_rows(1, claims.len(), 2),
            2 * claims.len() + 1
        ),
    );
    let mut query = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql));
    for (update_id, now) in claims {
        query = query.bind(update_id).bind(epoch(*now));
    }
    let query = query.bind(STALE_CLAIM.num_seconds());
    let mut claimed: HashSet<i64> =
        query.fetch_all(conn).await.context("claiming Telegram updates")?.into_iter().collect();
    // The same update twice in one call (SQLite takes it): only the first may handle it.
    Ok(claims.iter().map(|(id, _)| claimed.remove(id)).collect())
}

/// The updates were handled to the end (marked as of the latest of their times).
pub async fn finish_many(conn: &mut AnyConnection, done: &[(i64, DateTime<Utc>)]) -> anyhow::Result<()> {
    let Some(at) = done.iter().map(|(_, now)| *now).max() else { return Ok(()) };
    let sql = positional(
        conn,
        format!("UPDATE updates_seen SET done_at = $1 WHERE update_id IN ({})", params(2, done.len())),
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(epoch(at));
    for (update_id, _) in done {
        query = query.bind(update_id);
    }
    query.execute(conn).await.context("finishing Telegram updates")?;
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
