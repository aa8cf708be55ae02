//! Which overdue items have reached which level: the record that makes each escalation
//! happen once per level, however many ticks see the item overdue.

use anyhow::Context;
use chrono::{DateTime, Utc};
use sqlx::AnyConnection;

use super::{date_text, epoch};
use crate::domain::agenda::DueItem;
use crate::domain::escalation::Level;
use crate::domain::ids::StaffId;

/// Record that `item` reached `level`; `false` when it had already.
pub async fn record(
    conn: &mut AnyConnection,
    item: &DueItem,
    level: Level,
    recipient: Option<StaffId>,
    now: DateTime<Utc>,
) -> anyhow::Result<bool> {
    let inserted = sqlx::query(
        "INSERT INTO escalations (item_key, level, customer_id, action, due_on, recipient_id, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (item_key, level) DO NOTHING",
    )
    .bind(item.key())
    .bind(level.number())
    .bind(item.customer.0)
    .bind(item.action.as_str())
    .bind(date_text(item.due_on))
    .bind(recipient.map(|r| r.0))
    .bind(epoch(now))
    .execute(conn)
    .await
    .context("recording escalation")?;
    Ok(inserted.rows_affected() == 1)
}

/// How many escalations exist (for reports and tests of idempotency).
pub async fn count(conn: &mut AnyConnection) -> anyhow::Result<i64> {
    sqlx::query_scalar("SELECT COUNT(*) FROM escalations").fetch_one(conn).await.context("counting escalations")
}
