//! The on-duty roster (轮班制度): who receives new complaints at a given moment.

use anyhow::Context;
use chrono::{DateTime, Utc};
use sqlx::AnyConnection;

use super::epoch;
use crate::domain::ids::StaffId;

/// Put someone on duty for `[starts, ends)`.
pub async fn add(
    conn: &mut AnyConnection,
    staff: StaffId,
    starts: DateTime<Utc>,
    ends: DateTime<Utc>,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    sqlx::query("INSERT INTO duty_shifts (staff_id, starts_at, ends_at, created_at) VALUES ($1, $2, $3, $4)")
        .bind(staff.0)
        .bind(epoch(starts))
        .bind(epoch(ends))
        .bind(epoch(now))
        .execute(conn)
        .await
        .context("adding a duty shift")?;
    Ok(())
}

/// End someone's shifts that are running at `now`.
pub async fn end_current(conn: &mut AnyConnection, staff: StaffId, now: DateTime<Utc>) -> anyhow::Result<u64> {
    let done =
        sqlx::query("UPDATE duty_shifts SET ends_at = $1 WHERE staff_id = $2 AND starts_at <= $1 AND ends_at > $1")
            .bind(epoch(now))
            .bind(staff.0)
            .execute(conn)
            .await
            .context("ending duty shifts")?;
    Ok(done.rows_affected())
}

/// Active staff on duty at `now`, in id order, with when their shift ends.
pub async fn on_duty(conn: &mut AnyConnection, now: DateTime<Utc>) -> anyhow::Result<Vec<(StaffId, DateTime<Utc>)>> {
    let rows: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT d.staff_id, MAX(d.ends_at) FROM duty_shifts d JOIN staff s ON s.id = d.staff_id
         WHERE s.active = 1 AND d.starts_at <= $1 AND d.ends_at > $1
         GROUP BY d.staff_id ORDER BY d.staff_id",
    )
    .bind(epoch(now))
    .fetch_all(conn)
    .await
    .context("loading the duty roster")?;
    Ok(rows.into_iter().map(|(id, ends)| (StaffId(id), super::from_epoch(ends))).collect())
}
