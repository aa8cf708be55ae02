//! Small key/value facts the service keeps about itself (last tick, policy fingerprint).

use anyhow::Context;
use sqlx::AnyConnection;

pub const LAST_TICK: &str = "last_tick";
pub const CADENCE_FINGERPRINT: &str = "cadence_fingerprint";

pub async fn get(conn: &mut AnyConnection, key: &str) -> anyhow::Result<Option<String>> {
    sqlx::query_scalar("SELECT value FROM app_state WHERE key = $1")
        .bind(key)
        .fetch_optional(conn)
        .await
        .with_context(|| format!("reading app state {key}"))
}

pub async fn set(conn: &mut AnyConnection, key: &str, value: &str) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO app_state (key, value) VALUES ($1, $2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )
    .bind(key)
    .bind(value)
    .execute(conn)
    .await
    .with_context(|| format!("writing app state {key}"))?;
    Ok(())
}
