//! Archive tasks and their lifecycle.

use anyhow::Context;
use chrono::{DateTime, Utc};
use sqlx::{AnyConnection, FromRow};

use super::{epoch, from_epoch};
use crate::domain::ids::{CustomerId, StaffId};
use crate::domain::tasks::TaskKind;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    pub id: i64,
    pub kind: TaskKind,
    pub customer: Option<CustomerId>,
    /// Who asked (the rep with new information) or whom it is for (the rep's data check).
    pub staff: Option<StaffId>,
    pub details: String,
    pub payload: Option<String>,
    pub open: bool,
    pub remind_at: DateTime<Utc>,
    pub escalate_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTask {
    pub kind: TaskKind,
    pub customer: Option<CustomerId>,
    pub staff: Option<StaffId>,
    pub details: String,
    pub payload: Option<String>,
    pub remind_at: DateTime<Utc>,
    pub escalate_at: DateTime<Utc>,
    pub dedupe_key: Option<String>,
}

#[derive(FromRow)]
struct Row {
    id: i64,
    kind: String,
    customer_id: Option<i64>,
    staff_id: Option<i64>,
    details: String,
    payload: Option<String>,
    status: String,
    remind_at: i64,
    escalate_at: i64,
    created_at: i64,
}

impl TryFrom<Row> for Task {
    type Error = anyhow::Error;
    fn try_from(r: Row) -> anyhow::Result<Self> {
        Ok(Task {
            id: r.id,
            kind: r.kind.parse().ok().with_context(|| format!("stored task kind '{}' is unknown", r.kind))?,
            customer: r.customer_id.map(CustomerId),
            staff: r.staff_id.map(StaffId),
            details: r.details,
            payload: r.payload,
            open: r.status == "open",
            remind_at: from_epoch(r.remind_at),
            escalate_at: from_epoch(r.escalate_at),
            created_at: from_epoch(r.created_at),
        })
    }
}

const COLUMNS: &str = "id, kind, customer_id, staff_id, details, payload, status, remind_at, escalate_at, created_at";

/// Create a task; `None` when its dedupe key exists already.
pub async fn insert(conn: &mut AnyConnection, t: &NewTask, now: DateTime<Utc>) -> anyhow::Result<Option<Task>> {
    let id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO tasks (kind, customer_id, staff_id, details, payload, status, remind_at, escalate_at, created_at,
             dedupe_key)
         VALUES ($1, $2, $3, $4, $5, 'open', $6, $7, $8, $9)
         ON CONFLICT (dedupe_key) DO NOTHING RETURNING id",
    )
    .bind(t.kind.as_str())
    .bind(t.customer.map(|c| c.0))
    .bind(t.staff.map(|s| s.0))
    .bind(&t.details)
    .bind(t.payload.as_deref())
    .bind(epoch(t.remind_at))
    .bind(epoch(t.escalate_at))
    .bind(epoch(now))
    .bind(t.dedupe_key.as_deref())
    .fetch_optional(&mut *conn)
    .await
    .context("creating a task")?;
    match id {
        Some(id) => get(conn, id).await,
        None => Ok(None),
    }
}

/// Whether a task with this dedupe key was ever created (open or closed), so a caller can skip
/// the work of preparing one that `insert` would refuse anyway.
pub async fn dedupe_key_exists(conn: &mut AnyConnection, key: &str) -> anyhow::Result<bool> {
    let found: Option<i64> = sqlx::query_scalar("SELECT id FROM tasks WHERE dedupe_key = $1")
        .bind(key)
        .fetch_optional(conn)
        .await
        .context("looking up a task's dedupe key")?;
    Ok(found.is_some())
}

pub async fn get(conn: &mut AnyConnection, id: i64) -> anyhow::Result<Option<Task>> {
    let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM tasks WHERE id = $1")))
        .bind(id)
        .fetch_optional(conn)
        .await
        .context("loading a task")?;
    row.map(Task::try_from).transpose()
}

pub async fn open(conn: &mut AnyConnection) -> anyhow::Result<Vec<Task>> {
    let rows: Vec<Row> =
        sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM tasks WHERE status = 'open' ORDER BY id")))
            .fetch_all(conn)
            .await
            .context("loading open tasks")?;
    rows.into_iter().map(Task::try_from).collect()
}

/// Close a task; `false` when it was closed already (two people pressing at once).
pub async fn close(
    conn: &mut AnyConnection,
    id: i64,
    by: StaffId,
    result: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<bool> {
    let done = sqlx::query(
        "UPDATE tasks SET status = 'done', done_at = $1, done_by = $2, result = $3 WHERE id = $4 AND status = 'open'",
    )
    .bind(epoch(now))
    .bind(by.0)
    .bind(result)
    .bind(id)
    .execute(conn)
    .await
    .context("closing a task")?;
    Ok(done.rows_affected() == 1)
}

/// Close the open tasks of `kind` for `customer` (a new credit rating ends its re-check).
pub async fn close_for_customer(
    conn: &mut AnyConnection,
    kind: crate::domain::tasks::TaskKind,
    customer: CustomerId,
    by: StaffId,
    result: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<u64> {
    let done = sqlx::query(
        "UPDATE tasks SET status = 'done', done_at = $1, done_by = $2, result = $3
         WHERE kind = $4 AND customer_id = $5 AND status = 'open'",
    )
    .bind(epoch(now))
    .bind(by.0)
    .bind(result)
    .bind(kind.as_str())
    .bind(customer.0)
    .execute(conn)
    .await
    .context("closing a customer's tasks")?;
    Ok(done.rows_affected())
}
