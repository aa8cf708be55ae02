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
/// Five statements (begin, read the overall gate, read the chat's, write both, commit): each
/// is a round trip, and a booking is made for every message sent.
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
/// Every booking and pause first reads the `all` row, locked on PostgreSQL (`FOR UPDATE`),
/// which serialises all of them across instances; SQLite's `BEGIN IMMEDIATE` does the same.
/// The other gates are read in a second statement, once the lock is held: under PostgreSQL's
/// read committed, a statement that waited for the lock still sees only the rows committed
/// before it began, so a chat's row written by the booker it waited for would be missed, and
/// two messages to that chat booked at once (one statement for both rows did exactly that: a
/// 429 in about one burst test in six). A chat's row needs no lock of its own and may be
/// missing until its first booking writes it. The `all` row is created if missing, because
/// only a row that exists can be locked.
async fn load<const N: usize>(
    conn: &mut AnyConnection,
    backend: Backend,
    keys: [&str; N],
) -> anyhow::Result<[Gate; N]> {
    debug_assert_eq!(keys.first(), Some(&OVERALL));
    let lock = match backend {
        Backend::Postgres => " FOR UPDATE",
        Backend::Sqlite => "",
    };
    let mut overall = select(&mut *conn, OVERALL, lock).await?;
    if overall.is_none() {
        sqlx::query("INSERT INTO send_gate (gate, next_at) VALUES ($1, 0) ON CONFLICT (gate) DO NOTHING")
            .bind(OVERALL)
            .execute(&mut *conn)
            .await
            .context("creating the overall send gate")?;
        overall = select(&mut *conn, OVERALL, lock).await?;
    }
    let mut gates = [Gate::default(); N];
    gates[0] = overall.unwrap_or_default();
    for (gate, key) in gates.iter_mut().zip(keys).skip(1) {
        *gate = select(&mut *conn, key, "").await?.unwrap_or_default();
    }
    Ok(gates)
}

async fn select(conn: &mut AnyConnection, key: &str, lock: &str) -> anyhow::Result<Option<Gate>> {
    let sql = format!("SELECT next_at, window_start, window_count FROM send_gate WHERE gate = $1{lock}");
    let row: Option<(i64, i64, i64)> =
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(key).fetch_optional(conn).await.context("reading a send gate")?;
    Ok(row.map(|(next_at, window_start, window_count)| Gate { next_at, window_start, window_count }))
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
