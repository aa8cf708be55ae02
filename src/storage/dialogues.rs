//! Where a person is in a multi-step conversation, kept in our database so that a restart
//! in the middle of `/newcustomer` loses nothing.

use std::collections::HashMap;

use anyhow::Context;
use chrono::{DateTime, Utc};
use sqlx::AnyConnection;

use super::{epoch, params, positional, value_rows};

/// The stored states of `chats` as JSON text (the telegram layer owns their shape), one per
/// chat in the same order.
pub async fn get_many(conn: &mut AnyConnection, chats: &[i64]) -> anyhow::Result<Vec<Option<String>>> {
    if chats.is_empty() {
        return Ok(Vec::new());
    }
    let sql =
        positional(conn, format!("SELECT chat_id, state FROM dialogues WHERE chat_id IN ({})", params(1, chats.len())));
    let mut query = sqlx::query_as::<_, (i64, String)>(sqlx::AssertSqlSafe(sql));
    for chat in chats {
        query = query.bind(chat);
    }
    let mut found: HashMap<i64, String> =
        query.fetch_all(conn).await.context("loading dialogue state")?.into_iter().collect();
    Ok(chats.iter().map(|chat| found.remove(chat)).collect())
}

/// Store each chat's new state (none: no statement). A chat twice in one call is refused by
/// PostgreSQL: `update_io` keeps one state per chat.
pub async fn set_many(conn: &mut AnyConnection, states: &[(i64, String, DateTime<Utc>)]) -> anyhow::Result<()> {
    if states.is_empty() {
        return Ok(());
    }
    let sql = positional(
        conn,
        format!(
            "INSERT INTO dialogues (chat_id, state, updated_at) VALUES {}
             ON CONFLICT (chat_id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
            value_rows(1, states.len(), 3)
        ),
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for (chat, state, now) in states {
        query = query.bind(chat).bind(state).bind(epoch(*now));
    }
    query.execute(conn).await.context("storing dialogue state")?;
    Ok(())
}

pub async fn clear_many(conn: &mut AnyConnection, chats: &[i64]) -> anyhow::Result<()> {
    if chats.is_empty() {
        return Ok(());
    }
    let sql = positional(conn, format!("DELETE FROM dialogues WHERE chat_id IN ({})", params(1, chats.len())));
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for chat in chats {
        query = query.bind(chat);
    }
    query.execute(conn).await.context("clearing dialogue state")?;
    Ok(())
}

/// Delete the state only if it is still exactly `state`; `false` when it changed or is gone.
/// This is how a dialogue's result is consumed once, inside the transaction that uses it.
pub async fn take(conn: &mut AnyConnection, chat_id: i64, state: &str) -> anyhow::Result<bool> {
    let done = sqlx::query("DELETE FROM dialogues WHERE chat_id = $1 AND state = $2")
        .bind(chat_id)
        .bind(state)
        .execute(conn)
        .await
        .context("consuming dialogue state")?;
    Ok(done.rows_affected() == 1)
}

/// [`take`] several states at once (`(chat, state)`), in one statement: for each, whether it
/// was taken. The same state asked twice is taken once, by the first asking.
pub async fn take_many(conn: &mut AnyConnection, states: &[(i64, &str)]) -> anyhow::Result<Vec<bool>> {
    if states.is_empty() {
        return Ok(Vec::new());
    }
    let matches: Vec<String> =
        (0..states.len()).map(|i| format!("(chat_id = ${} AND state = ${})", 2 * i + 1, 2 * i + 2)).collect();
    let sql = format!("DELETE FROM dialogues WHERE {} RETURNING chat_id, state", matches.join(" OR "));
    let mut query = sqlx::query_as::<_, (i64, String)>(sqlx::AssertSqlSafe(sql));
    for (chat, state) in states {
        query = query.bind(chat).bind(*state);
    }
    let mut taken: std::collections::HashSet<(i64, String)> =
        query.fetch_all(conn).await.context("consuming dialogue states")?.into_iter().collect();
    Ok(states.iter().map(|(chat, state)| taken.remove(&(*chat, (*state).to_owned()))).collect())
}
