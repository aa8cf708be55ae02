//! Which overdue items have reached which level: the record that makes each escalation
//! happen once per level, however many ticks see the item overdue.

use anyhow::Context;
use chrono::{DateTime, Utc};
use sqlx::AnyConnection;

use super::{date_text, epoch};
use crate::domain::agenda::DueItem;
use crate::domain::escalation::Level;
use crate::domain::ids::StaffId;

/// How many escalations exist (for reports and tests of idempotency).
pub async fn count(conn: &mut AnyConnection) -> anyhow::Result<i64> {
    sqlx::query_scalar("SELECT COUNT(*) FROM escalations").fetch_one(conn).await.context("counting escalations")
}

/// Record many (item, level) pairs at once; returns the pairs (item key, level) that were new.
/// A daily round at scale escalates thousands of items: one statement per hundred, not per item.
pub async fn record_many(
    conn: &mut AnyConnection,
    entries: &[(&DueItem, Level, Option<StaffId>)],
    now: DateTime<Utc>,
) -> anyhow::Result<std::collections::HashSet<(String, i64)>> {
    let mut new = std::collections::HashSet::new();
    // `created_at` is bound once, then six parameters a row.
    for chunk in entries.chunks(super::ROWS_PER_STATEMENT) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| {
                let p = i * 6 + 1;
                format!("(${}, ${}, ${}, ${}, ${}, ${}, $1)", p + 1, p + 2, p + 3, p + 4, p + 5, p + 6)
            })
            .collect();
        let sql = format!(
            "INSERT INTO escalations (item_key, level, customer_id, action, due_on, recipient_id, created_at)
             VALUES {} ON CONFLICT (item_key, level) DO NOTHING RETURNING item_key, level",
            values.join(", ")
        );
        let mut query = sqlx::query_as::<_, (String, i64)>(sqlx::AssertSqlSafe(sql)).bind(epoch(now));
        for (item, level, recipient) in chunk {
            query = query
                .bind(item.key())
                .bind(level.number())
                .bind(item.customer.0)
                .bind(item.action.as_str())
                .bind(date_text(item.due_on))
                .bind(recipient.map(|r| r.0));
        }
        new.extend(query.fetch_all(&mut *conn).await.context("recording escalations")?);
    }
    Ok(new)
}
