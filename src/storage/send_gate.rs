//! The shared send schedule (see `jobs::pace`): one row for the whole bot and one per chat.
//!
//! A booking reads and writes both rows in one transaction. On PostgreSQL the `all` row is
//! locked first and the chat row second by every booker, so concurrent instances queue on the
//! `all` row and never deadlock; SQLite's write transaction serialises them anyway.

use anyhow::Context;
use sqlx::AnyConnection;

use super::{Backend, Db, wall_clock_us};
use crate::jobs::pace::{self, Booking, Gate, Pace};

const OVERALL: &str = "all";

fn chat_gate(chat: i64) -> String {
    format!("tg:{chat}")
}

/// Book a slot for a message to `chat`. The wall clock is read once the `all` row is ours:
/// a "now" read before waiting for the lock would be stale, and slots booked from it would
/// crowd the ones booked just before.
pub async fn book(db: &Db, pace: &Pace, chat: i64) -> anyhow::Result<Booking> {
    let mut tx = db.begin().await?;
    let chat_key = chat_gate(chat);
    let overall = load(&mut tx, db.backend(), OVERALL).await?;
    let chat_state = load(&mut tx, db.backend(), &chat_key).await?;
    // Telegram's minute budget is for groups (negative ids); a private chat has none.
    let pace = if chat < 0 { *pace } else { Pace { per_minute: i64::MAX, ..*pace } };
    let booking = pace::book(&pace, overall, chat_state, wall_clock_us());
    if let Booking::At { overall, chat, .. } = booking {
        store(&mut tx, OVERALL, overall).await?;
        store(&mut tx, &chat_key, chat).await?;
    }
    tx.commit().await.context("committing a send slot")?;
    Ok(booking)
}

/// Telegram asked us to wait: every sender of every instance waits `wait_us` from now.
pub async fn pause(db: &Db, wait_us: i64) -> anyhow::Result<()> {
    let mut tx = db.begin().await?;
    let overall = load(&mut tx, db.backend(), OVERALL).await?;
    let now = wall_clock_us();
    store(&mut tx, OVERALL, pace::pause(overall, now, now.saturating_add(wait_us))).await?;
    tx.commit().await.context("committing a send pause")
}

/// Forget chat gates that have been quiet since `before_us`.
pub async fn prune(conn: &mut AnyConnection, before_us: i64) -> anyhow::Result<u64> {
    let done = sqlx::query("DELETE FROM send_gate WHERE gate <> 'all' AND next_at < $1 AND window_start < $1")
        .bind(before_us)
        .execute(conn)
        .await
        .context("pruning send gates")?;
    Ok(done.rows_affected())
}

/// The gate's row, created empty if missing, locked for this transaction on PostgreSQL.
async fn load(conn: &mut AnyConnection, backend: Backend, gate: &str) -> anyhow::Result<Gate> {
    sqlx::query("INSERT INTO send_gate (gate, next_at) VALUES ($1, 0) ON CONFLICT (gate) DO NOTHING")
        .bind(gate)
        .execute(&mut *conn)
        .await
        .context("creating a send gate")?;
    let sql = match backend {
        Backend::Postgres => "SELECT next_at, window_start, window_count FROM send_gate WHERE gate = $1 FOR UPDATE",
        Backend::Sqlite => "SELECT next_at, window_start, window_count FROM send_gate WHERE gate = $1",
    };
    let (next_at, window_start, window_count): (i64, i64, i64) =
        sqlx::query_as(sql).bind(gate).fetch_one(conn).await.context("reading a send gate")?;
    Ok(Gate { next_at, window_start, window_count })
}

async fn store(conn: &mut AnyConnection, gate: &str, state: Gate) -> anyhow::Result<()> {
    sqlx::query("UPDATE send_gate SET next_at = $1, window_start = $2, window_count = $3 WHERE gate = $4")
        .bind(state.next_at)
        .bind(state.window_start)
        .bind(state.window_count)
        .bind(gate)
        .execute(conn)
        .await
        .context("booking a send gate")?;
    Ok(())
}
