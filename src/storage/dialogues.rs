//! Where a person is in a multi-step conversation, kept in our database so that a restart
//! in the middle of `/newcustomer` loses nothing.

use anyhow::Context;
use chrono::{DateTime, Utc};
use sqlx::AnyConnection;

use super::epoch;

/// The stored state as JSON text; the telegram layer owns its shape.
pub async fn get(conn: &mut AnyConnection, chat_id: i64) -> anyhow::Result<Option<String>> {
    sqlx::query_scalar("SELECT state FROM dialogues WHERE chat_id = $1")
        .bind(chat_id)
        .fetch_optional(conn)
        .await
        .context("loading dialogue state")
}

pub async fn set(conn: &mut AnyConnection, chat_id: i64, state: &str, now: DateTime<Utc>) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO dialogues (chat_id, state, updated_at) VALUES ($1, $2, $3)
         ON CONFLICT (chat_id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
    )
    .bind(chat_id)
    .bind(state)
    .bind(epoch(now))
    .execute(conn)
    .await
    .context("storing dialogue state")?;
    Ok(())
}

pub async fn clear(conn: &mut AnyConnection, chat_id: i64) -> anyhow::Result<()> {
    sqlx::query("DELETE FROM dialogues WHERE chat_id = $1")
        .bind(chat_id)
        .execute(conn)
        .await
        .context("clearing dialogue state")?;
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
