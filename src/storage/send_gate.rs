//! The shared send schedule (see `jobs::pace`): one row for the whole bot and one per chat.
//!
//! A booking reads and writes both rows in one transaction. On PostgreSQL the `all` row is
//! locked first and the chat row second by every booker, so concurrent instances queue on the
//! `all` row and never deadlock; SQLite's write transaction serialises them anyway.

use std::collections::HashMap;

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
    let mut conn = db.pool().acquire().await?;
    Ok(book_many(&mut conn, db.backend(), &[(chat, *pace)]).await?.remove(0))
}

/// Book slots for several messages (`(chat, pace)`) in one transaction, in the order given:
/// the bookings of several senders at once (see `storage::delivery_io`). Five statements on
/// PostgreSQL (begin, read the overall gate, read the chats', write them all, commit) and
/// four on SQLite (one read, see [`load`]) whatever their number; each is a round trip, and
/// a booking is made for every message sent.
pub async fn book_many(
    conn: &mut AnyConnection,
    backend: Backend,
    requests: &[(i64, Pace)],
) -> anyhow::Result<Vec<Booking>> {
    let mut tx = super::begin_on(conn, backend).await.context("beginning a send slot booking")?;
    let bookings = book_in(&mut tx, backend, requests).await?;
    tx.commit().await.context("committing send slots")?;
    Ok(bookings)
}

/// [`book_many`] inside a transaction the caller began (on SQLite, with `BEGIN IMMEDIATE`)
/// and commits: the slots of the replies an update's ending claims (`storage::update_io`).
/// On PostgreSQL the `all` row stays locked until that commit.
pub async fn book_in(
    conn: &mut AnyConnection,
    backend: Backend,
    requests: &[(i64, Pace)],
) -> anyhow::Result<Vec<Booking>> {
    if requests.is_empty() {
        return Ok(Vec::new());
    }
    let keys: Vec<String> = requests.iter().map(|(chat, _)| chat_gate(*chat)).collect();
    let (mut overall, mut chats) = load(conn, backend, &keys).await?;
    let now = wall_clock_us();
    let mut changed: Vec<String> = Vec::new();
    let mut bookings = Vec::with_capacity(requests.len());
    for ((chat, pace), key) in requests.iter().zip(&keys) {
        // Telegram's minute budget is for groups (negative ids); a private chat has none.
        let pace = if *chat < 0 { *pace } else { Pace { per_minute: i64::MAX, ..*pace } };
        let gate = chats.get(key).copied().unwrap_or_default();
        let booking = pace::book(&pace, overall, gate, now);
        if let Booking::At { overall: o, chat: c, .. } = booking {
            overall = o;
            chats.insert(key.clone(), c);
            if !changed.contains(key) {
                changed.push(key.clone());
            }
        }
        bookings.push(booking);
    }
    if !changed.is_empty() {
        let mut gates = vec![(OVERALL.to_owned(), overall)];
        gates.extend(changed.into_iter().map(|key| {
            let gate = chats[&key];
            (key, gate)
        }));
        store(conn, &gates).await?;
    }
    Ok(bookings)
}

/// Telegram asked us to wait: every sender of every instance waits `wait_us` from now.
pub async fn pause(db: &Db, wait_us: i64) -> anyhow::Result<()> {
    let mut tx = db.begin().await?;
    let overall = load_overall(&mut tx, db.backend()).await?;
    let now = wall_clock_us();
    store(&mut tx, &[(OVERALL.to_owned(), pace::pause(overall, now, now.saturating_add(wait_us)))]).await?;
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

/// The overall gate and the chats' gates that exist, by key.
///
/// On PostgreSQL in two statements, the overall gate first and locked (see
/// [`load_overall`]). On SQLite in one: the caller's `BEGIN IMMEDIATE` has made this
/// booking the only writer already, so there is no lock to take first, and a missing `all`
/// row is written by [`store`] with the rest. One statement fewer for every booking, and a
/// booking is made for every message sent.
async fn load(
    conn: &mut AnyConnection,
    backend: Backend,
    keys: &[String],
) -> anyhow::Result<(Gate, HashMap<String, Gate>)> {
    match backend {
        Backend::Postgres => Ok((load_overall(conn, backend).await?, load_chats(conn, keys).await?)),
        Backend::Sqlite => {
            let all: Vec<String> = std::iter::once(OVERALL.to_owned()).chain(keys.iter().cloned()).collect();
            let mut gates = load_chats(conn, &all).await?;
            let overall = gates.remove(OVERALL).unwrap_or_default();
            Ok((overall, gates))
        }
    }
}

/// The overall gate, locked on PostgreSQL (`FOR UPDATE`).
///
/// Every booking and pause first reads the `all` row this way, which serialises all of them
/// across instances; SQLite's `BEGIN IMMEDIATE` does the same. The chats' gates are read in a
/// second statement, once the lock is held: under PostgreSQL's read committed, a statement
/// that waited for the lock still sees only the rows committed before it began, so a chat's
/// row written by the booker it waited for would be missed, and two messages to that chat
/// booked at once (one statement for both rows did exactly that: a 429 in about one burst
/// test in six). A chat's row needs no lock of its own and may be missing until its first
/// booking writes it. The `all` row is created if missing, because only a row that exists
/// can be locked.
async fn load_overall(conn: &mut AnyConnection, backend: Backend) -> anyhow::Result<Gate> {
    let lock = match backend {
        Backend::Postgres => " FOR UPDATE",
        Backend::Sqlite => "",
    };
    let mut overall = select_overall(&mut *conn, lock).await?;
    if overall.is_none() {
        sqlx::query("INSERT INTO send_gate (gate, next_at) VALUES ($1, 0) ON CONFLICT (gate) DO NOTHING")
            .bind(OVERALL)
            .execute(&mut *conn)
            .await
            .context("creating the overall send gate")?;
        overall = select_overall(&mut *conn, lock).await?;
    }
    Ok(overall.unwrap_or_default())
}

async fn select_overall(conn: &mut AnyConnection, lock: &str) -> anyhow::Result<Option<Gate>> {
    let sql = format!("SELECT next_at, window_start, window_count FROM send_gate WHERE gate = $1{lock}");
    let row: Option<(i64, i64, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(OVERALL)
        .fetch_optional(conn)
        .await
        .context("reading the overall send gate")?;
    Ok(row.map(|(next_at, window_start, window_count)| Gate { next_at, window_start, window_count }))
}

/// The gates of `keys` that exist, by key.
async fn load_chats(conn: &mut AnyConnection, keys: &[String]) -> anyhow::Result<HashMap<String, Gate>> {
    let sql = super::positional(
        conn,
        format!(
            "SELECT gate, next_at, window_start, window_count FROM send_gate WHERE gate IN ({})",
            super::params(1, keys.len())
        ),
    );
    let mut query = sqlx::query_as::<_, (String, i64, i64, i64)>(sqlx::AssertSqlSafe(sql));
    for key in keys {
        query = query.bind(key);
    }
    let rows = query.fetch_all(conn).await.context("reading send gates")?;
    Ok(rows
        .into_iter()
        .map(|(gate, next_at, window_start, window_count)| (gate, Gate { next_at, window_start, window_count }))
        .collect())
}

/// Write the gates in one statement, creating a chat's row on its first booking.
async fn store(conn: &mut AnyConnection, gates: &[(String, Gate)]) -> anyhow::Result<()> {
    let sql = super::positional(
        conn,
        format!(
            "INSERT INTO send_gate (gate, next_at, window_start, window_count) VALUES {}
             ON CONFLICT (gate) DO UPDATE SET next_at = excluded.next_at, window_start = excluded.window_start,
                 window_count = excluded.window_count",
            super::value_rows(1, gates.len(), 4)
        ),
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for (gate, state) in gates {
        query = query.bind(gate).bind(state.next_at).bind(state.window_start).bind(state.window_count);
    }
    query.execute(conn).await.context("booking send gates")?;
    Ok(())
}
