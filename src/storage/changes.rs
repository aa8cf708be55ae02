//! The record of archive changes: who changed which field of which customer, when, and from
//! what to what. The weekly update digest is read from here.

use anyhow::Context;
use chrono::{DateTime, Utc};
use sqlx::{AnyConnection, FromRow};

use super::{epoch, from_epoch};
use crate::domain::ids::{CustomerId, StaffId};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub customer: CustomerId,
    pub archive_no: String,
    pub customer_name: String,
    pub owner: Option<StaffId>,
    pub field: String,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
    pub changed_by_name: Option<String>,
    pub changed_at: DateTime<Utc>,
}

#[allow(clippy::too_many_arguments)]
pub async fn record(
    conn: &mut AnyConnection,
    customer: CustomerId,
    field: &str,
    old_value: Option<&str>,
    new_value: Option<&str>,
    by: Option<StaffId>,
    task: Option<i64>,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO archive_changes (customer_id, field, old_value, new_value, changed_by, task_id, changed_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(customer.0)
    .bind(field)
    .bind(old_value)
    .bind(new_value)
    .bind(by.map(|s| s.0))
    .bind(task)
    .bind(epoch(now))
    .execute(conn)
    .await
    .context("recording an archive change")?;
    Ok(())
}

/// Changes in `[from, until)`, oldest first.
pub async fn between(
    conn: &mut AnyConnection,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> anyhow::Result<Vec<Change>> {
    #[derive(FromRow)]
    struct Row {
        customer_id: i64,
        archive_no: String,
        name: String,
        owner_id: Option<i64>,
        field: String,
        old_value: Option<String>,
        new_value: Option<String>,
        changed_by_name: Option<String>,
        changed_at: i64,
    }
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT a.customer_id, c.archive_no, c.name, c.owner_id, a.field, a.old_value, a.new_value,
                s.name AS changed_by_name, a.changed_at
         FROM archive_changes a JOIN customers c ON c.id = a.customer_id LEFT JOIN staff s ON s.id = a.changed_by
         WHERE a.changed_at >= $1 AND a.changed_at < $2 ORDER BY a.changed_at, a.id",
    )
    .bind(epoch(from))
    .bind(epoch(until))
    .fetch_all(conn)
    .await
    .context("loading archive changes")?;
    Ok(rows
        .into_iter()
        .map(|r| Change {
            customer: CustomerId(r.customer_id),
            archive_no: r.archive_no,
            customer_name: r.name,
            owner: r.owner_id.map(StaffId),
            field: r.field,
            old_value: r.old_value,
            new_value: r.new_value,
            changed_by_name: r.changed_by_name,
            changed_at: from_epoch(r.changed_at),
        })
        .collect())
}
