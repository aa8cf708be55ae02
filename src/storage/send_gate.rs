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
///
/// Four statements (begin, read both gates, write both, commit): each is a round trip, and a
/// booking is made for every message sent.
pub async fn book(db: &Db, pace: &Pace, chat: i64) -> anyhow::Result<Booking> {
    let mut tx = db.begin().await?;
    let chat_key = chat_gate(chat);
    let [overall, chat_state] = load(&mut tx, db.backend(), [OVERALL, &chat_key]).await?;
    // Telegram's minute budget is for groups (negative ids); a private chat has none.
    let pace = if chat < 0 { *pace } else { Pace { per_minute: i64::MAX, ..*pace } };
    let booking = pace::book(&pace, overall, chat_state, wall_clock_us());
    if let Booking::At { overall, chat, .. } = booking {
        store(&mut tx, [(OVERALL, overall), (&chat_key, chat)]).await?;
    }
    tx.commit().await.context("committing a send slot")?;
    Ok(booking)
}

/// Telegram asked us to wait: every sender of every instance waits `wait_us` from now.
pub async fn pause(db: &Db, wait_us: i64) -> anyhow::Result<()> {
    let mut tx = db.begin().await?;
    let [overall] = load(&mut tx, db.backend(), [OVERALL]).await?;
    let now = wall_clock_us();
    store(&mut tx, [(OVERALL, pace::pause(overall, now, now.saturating_add(wait_us)))]).await?;
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

/// The gates `keys` (the `all` gate first), a missing one as empty.
///
/// Every booking and pause reads the `all` row, locked on PostgreSQL (`FOR UPDATE` after
/// `ORDER BY`, so in key order: `all` sorts before `tg:…`), which serialises all of them
/// across instances; SQLite's `BEGIN IMMEDIATE` does the same. So a chat's row needs no lock
/// of its own and may be missing until its first booking writes it. The `all` row is created
/// if missing, because only a row that exists can be locked.
async fn load<const N: usize>(
    conn: &mut AnyConnection,
    backend: Backend,
    keys: [&str; N],
) -> anyhow::Result<[Gate; N]> {
    debug_assert_eq!(keys.first(), Some(&OVERALL));
    let mut found = select(&mut *conn, backend, &keys).await?;
    if !found.iter().any(|(gate, _)| gate == OVERALL) {
        sqlx::query("INSERT INTO send_gate (gate, next_at) VALUES ($1, 0) ON CONFLICT (gate) DO NOTHING")
            .bind(OVERALL)
            .execute(&mut *conn)
            .await
            .context("creating the overall send gate")?;
        found = select(conn, backend, &keys).await?;
    }
    Ok(keys.map(|key| found.iter().find(|(gate, _)| gate == key).map(|(_, g)| *g).unwrap_or_default()))
}

async fn select(conn: &mut AnyConnection, backend: Backend, keys: &[&str]) -> anyhow::Result<Vec<(String, Gate)>> {
    let placeholders: Vec<String> = (1..=keys.len()).map(|n| format!("${n}")).collect();
    let lock = match backend {
        Backend::Postgres => " FOR UPDATE",
        Backend::Sqlite => "",
    };
    let sql = format!(
        "SELECT gate, next_at, window_start, window_count FROM send_gate WHERE gate IN ({}) ORDER BY gate{lock}",
        placeholders.join(", ")
    );
    let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql));
    for key in keys {
        query = query.bind(*key);
    }
    let rows: Vec<(String, i64, i64, i64)> = query.fetch_all(conn).await.context("reading send gates")?;
    Ok(rows
        .into_iter()
        .map(|(gate, next_at, window_start, window_count)| (gate, Gate { next_at, window_start, window_count }))
        .collect())
}

/// Write the gates in one statement, creating a chat's row on its first booking.
async fn store<const N: usize>(conn: &mut AnyConnection, gates: [(&str, Gate); N]) -> anyhow::Result<()> {
    let rows: Vec<String> =
        (0..N).map(|i| format!("(${}, ${}, ${}, ${})", 4 * i + 1, 4 * i + 2, 4 * i + 3, 4 * i + 4)).collect();
    let sql = format!(
        "INSERT INTO send_gate (gate, next_at, window_start, window_count) VALUES {}
         ON CONFLICT (gate) DO UPDATE SET next_at = excluded.next_at, window_start = excluded.window_start,
             window_count = excluded.window_count",
        rows.join(", ")
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for (gate, state) in gates {
        query = query.bind(gate).bind(state.next_at).bind(state.window_start).bind(state.window_count);
    }
    query.execute(conn).await.context("booking send gates")?;
    Ok(())
}
