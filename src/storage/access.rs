//! The access log, access requests and handovers.

use anyhow::Context;
use chrono::{DateTime, Utc};
use sqlx::{AnyConnection, FromRow};

use super::{epoch, from_epoch};
use crate::domain::ids::{CustomerId, StaffId};

/// Append one read to the log (never updated, never deleted).
pub async fn log_read(
    conn: &mut AnyConnection,
    staff: StaffId,
    customer: Option<CustomerId>,
    levels: &str,
    command: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    sqlx::query("INSERT INTO access_log (staff_id, customer_id, levels, command, at) VALUES ($1, $2, $3, $4, $5)")
        .bind(staff.0)
        .bind(customer.map(|c| c.0))
        .bind(levels)
        .bind(command)
        .bind(epoch(now))
        .execute(conn)
        .await
        .context("writing the access log")?;
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    pub at: DateTime<Utc>,
    pub staff_name: String,
    pub staff_telegram_id: i64,
    pub archive_no: Option<String>,
    pub levels: String,
    pub command: String,
}

/// Reads of a customer since `since`, newest first.
pub async fn log_for(
    conn: &mut AnyConnection,
    customer: CustomerId,
    since: DateTime<Utc>,
    limit: i64,
) -> anyhow::Result<Vec<LogEntry>> {
    #[derive(FromRow)]
    struct Row {
        at: i64,
        name: String,
        telegram_id: i64,
        archive_no: Option<String>,
        levels: String,
        command: String,
    }
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT l.at, s.name, s.telegram_id, c.archive_no, l.levels, l.command
         FROM access_log l JOIN staff s ON s.id = l.staff_id LEFT JOIN customers c ON c.id = l.customer_id
         WHERE l.customer_id = $1 AND l.at >= $2 ORDER BY l.at DESC, l.id DESC LIMIT $3",
    )
    .bind(customer.0)
    .bind(epoch(since))
    .bind(limit)
    .fetch_all(conn)
    .await
    .context("reading the access log")?;
    Ok(rows
        .into_iter()
        .map(|r| LogEntry {
            at: from_epoch(r.at),
            staff_name: r.name,
            staff_telegram_id: r.telegram_id,
            archive_no: r.archive_no,
            levels: r.levels,
            command: r.command,
        })
        .collect())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub id: i64,
    pub staff: StaffId,
    pub customer: CustomerId,
    pub reason: String,
    pub status: String,
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(FromRow)]
struct RequestRow {
    id: i64,
    staff_id: i64,
    customer_id: i64,
    reason: String,
    status: String,
    expires_at: Option<i64>,
}

impl From<RequestRow> for Request {
    fn from(r: RequestRow) -> Self {
        Self {
            id: r.id,
            staff: StaffId(r.staff_id),
            customer: CustomerId(r.customer_id),
            reason: r.reason,
            status: r.status,
            expires_at: r.expires_at.map(from_epoch),
        }
    }
}

pub async fn add_request(
    conn: &mut AnyConnection,
    staff: StaffId,
    customer: CustomerId,
    reason: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO access_requests (staff_id, customer_id, reason, status, created_at) VALUES ($1, $2, $3, 'pending', $4)
         RETURNING id",
    )
    .bind(staff.0)
    .bind(customer.0)
    .bind(reason)
    .bind(epoch(now))
    .fetch_one(conn)
    .await
    .context("storing an access request")
}

pub async fn request(conn: &mut AnyConnection, id: i64) -> anyhow::Result<Option<Request>> {
    let row: Option<RequestRow> = sqlx::query_as(
        "SELECT id, staff_id, customer_id, reason, status, expires_at FROM access_requests WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(conn)
    .await
    .context("loading an access request")?;
    Ok(row.map(Request::from))
}

/// Decide a pending request; `false` when it was decided already.
pub async fn decide(
    conn: &mut AnyConnection,
    id: i64,
    approve: bool,
    by: StaffId,
    expires_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> anyhow::Result<bool> {
    let done = sqlx::query(
        "UPDATE access_requests SET status = $1, decided_by = $2, decided_at = $3, expires_at = $4
         WHERE id = $5 AND status = 'pending'",
    )
    .bind(if approve { "approved" } else { "denied" })
    .bind(by.0)
    .bind(epoch(now))
    .bind(expires_at.map(epoch))
    .bind(id)
    .execute(conn)
    .await
    .context("deciding an access request")?;
    Ok(done.rows_affected() == 1)
}

/// Whether `staff` holds an approved grant for `customer` valid at `now`.
pub async fn granted(
    conn: &mut AnyConnection,
    staff: StaffId,
    customer: CustomerId,
    now: DateTime<Utc>,
) -> anyhow::Result<bool> {
    let found: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM access_requests
         WHERE staff_id = $1 AND customer_id = $2 AND status = 'approved' AND expires_at > $3 LIMIT 1",
    )
    .bind(staff.0)
    .bind(customer.0)
    .bind(epoch(now))
    .fetch_optional(conn)
    .await
    .context("checking access grants")?;
    Ok(found.is_some())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handover {
    pub id: i64,
    pub from: StaffId,
    pub to: StaffId,
    pub customers: Vec<CustomerId>,
    pub deactivate: bool,
    pub head_ok: bool,
    pub service_ok: bool,
    pub done: bool,
}

#[allow(clippy::too_many_arguments)]
pub async fn add_handover(
    conn: &mut AnyConnection,
    from: StaffId,
    to: StaffId,
    customers: &[CustomerId],
    deactivate: bool,
    by: StaffId,
    now: DateTime<Utc>,
) -> anyhow::Result<i64> {
    let ids: Vec<i64> = customers.iter().map(|c| c.0).collect();
    sqlx::query_scalar(
        "INSERT INTO handovers (from_staff, to_staff, customers, deactivate, requested_by, status, created_at)
         VALUES ($1, $2, $3, $4, $5, 'pending', $6) RETURNING id",
    )
    .bind(from.0)
    .bind(to.0)
    .bind(serde_json::to_string(&ids)?)
    .bind(i64::from(deactivate))
    .bind(by.0)
    .bind(epoch(now))
    .fetch_one(conn)
    .await
    .context("storing a handover")
}

pub async fn handover(conn: &mut AnyConnection, id: i64) -> anyhow::Result<Option<Handover>> {
    #[derive(FromRow)]
    struct Row {
        id: i64,
        from_staff: i64,
        to_staff: i64,
        customers: String,
        deactivate: i64,
        head_ok_by: Option<i64>,
        service_ok_by: Option<i64>,
        status: String,
    }
    let row: Option<Row> = sqlx::query_as(
        "SELECT id, from_staff, to_staff, customers, deactivate, head_ok_by, service_ok_by, status FROM handovers WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(conn)
    .await
    .context("loading a handover")?;
    row.map(|r| {
        let ids: Vec<i64> = serde_json::from_str(&r.customers).context("stored handover customers")?;
        Ok(Handover {
            id: r.id,
            from: StaffId(r.from_staff),
            to: StaffId(r.to_staff),
            customers: ids.into_iter().map(CustomerId).collect(),
            deactivate: r.deactivate != 0,
            head_ok: r.head_ok_by.is_some(),
            service_ok: r.service_ok_by.is_some(),
            done: r.status == "done",
        })
    })
    .transpose()
}

/// Record a confirmation as department head or service head.
pub async fn confirm_handover(
    conn: &mut AnyConnection,
    id: i64,
    as_head: bool,
    as_service: bool,
    by: StaffId,
) -> anyhow::Result<()> {
    if as_head {
        sqlx::query("UPDATE handovers SET head_ok_by = $1 WHERE id = $2 AND head_ok_by IS NULL AND status = 'pending'")
            .bind(by.0)
            .bind(id)
            .execute(&mut *conn)
            .await
            .context("confirming a handover")?;
    }
    if as_service {
        sqlx::query(
            "UPDATE handovers SET service_ok_by = $1 WHERE id = $2 AND service_ok_by IS NULL AND status = 'pending'",
        )
        .bind(by.0)
        .bind(id)
        .execute(&mut *conn)
        .await
        .context("confirming a handover")?;
    }
    Ok(())
}

/// Mark done; `false` when another confirmation completed it first.
pub async fn finish_handover(conn: &mut AnyConnection, id: i64, now: DateTime<Utc>) -> anyhow::Result<bool> {
    let done = sqlx::query("UPDATE handovers SET status = 'done', done_at = $1 WHERE id = $2 AND status = 'pending'")
        .bind(epoch(now))
        .bind(id)
        .execute(conn)
        .await
        .context("finishing a handover")?;
    Ok(done.rows_affected() == 1)
}

/// Move customers to a new owner (one owner at a time: the column holds one).
pub async fn reassign(
    conn: &mut AnyConnection,
    customer: CustomerId,
    to: StaffId,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    sqlx::query("UPDATE customers SET owner_id = $1, updated_at = $2 WHERE id = $3")
        .bind(to.0)
        .bind(epoch(now))
        .bind(customer.0)
        .execute(&mut *conn)
        .await
        .context("reassigning a customer")?;
    sqlx::query("UPDATE tasks SET staff_id = $1 WHERE customer_id = $2 AND status = 'open'")
        .bind(to.0)
        .bind(customer.0)
        .execute(conn)
        .await
        .context("reassigning a customer's open tasks")?;
    Ok(())
}

pub async fn deactivate(conn: &mut AnyConnection, staff: StaffId) -> anyhow::Result<()> {
    sqlx::query("UPDATE staff SET active = 0 WHERE id = $1")
        .bind(staff.0)
        .execute(conn)
        .await
        .context("deactivating staff")?;
    Ok(())
}

/// An export waiting for (or past) its two approvals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportRequest {
    pub id: i64,
    pub staff: StaffId,
    pub head_ok: bool,
    pub director_ok: bool,
    pub status: String,
}

pub async fn add_export(conn: &mut AnyConnection, staff: StaffId, now: DateTime<Utc>) -> anyhow::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO export_requests (staff_id, status, created_at) VALUES ($1, 'pending', $2) RETURNING id",
    )
    .bind(staff.0)
    .bind(epoch(now))
    .fetch_one(conn)
    .await
    .context("storing an export request")
}

pub async fn export_request(conn: &mut AnyConnection, id: i64) -> anyhow::Result<Option<ExportRequest>> {
    #[derive(FromRow)]
    struct Row {
        id: i64,
        staff_id: i64,
        head_ok_by: Option<i64>,
        director_ok_by: Option<i64>,
        status: String,
    }
    let row: Option<Row> =
        sqlx::query_as("SELECT id, staff_id, head_ok_by, director_ok_by, status FROM export_requests WHERE id = $1")
            .bind(id)
            .fetch_optional(conn)
            .await
            .context("loading an export request")?;
    Ok(row.map(|r| ExportRequest {
        id: r.id,
        staff: StaffId(r.staff_id),
        head_ok: r.head_ok_by.is_some(),
        director_ok: r.director_ok_by.is_some(),
        status: r.status,
    }))
}

/// Record an approval in the roles the approver holds.
pub async fn approve_export(
    conn: &mut AnyConnection,
    id: i64,
    as_head: bool,
    as_director: bool,
    by: StaffId,
) -> anyhow::Result<()> {
    if as_head {
        sqlx::query(
            "UPDATE export_requests SET head_ok_by = $1 WHERE id = $2 AND head_ok_by IS NULL AND status = 'pending'",
        )
        .bind(by.0)
        .bind(id)
        .execute(&mut *conn)
        .await
        .context("approving an export")?;
    }
    if as_director {
        sqlx::query("UPDATE export_requests SET director_ok_by = $1 WHERE id = $2 AND director_ok_by IS NULL AND status = 'pending'")
            .bind(by.0)
            .bind(id)
            .execute(&mut *conn)
            .await
            .context("approving an export")?;
    }
    Ok(())
}

/// Close an export request (`done` or `denied`); `false` when it was closed already.
pub async fn close_export(conn: &mut AnyConnection, id: i64, status: &str, now: DateTime<Utc>) -> anyhow::Result<bool> {
    let done = sqlx::query("UPDATE export_requests SET status = $1, done_at = $2 WHERE id = $3 AND status = 'pending'")
        .bind(status)
        .bind(epoch(now))
        .bind(id)
        .execute(conn)
        .await
        .context("closing an export request")?;
    Ok(done.rows_affected() == 1)
}

/// This month's purge list, if made.
pub async fn purge_list(
    conn: &mut AnyConnection,
    id: i64,
) -> anyhow::Result<Option<(String, Vec<CustomerId>, String)>> {
    let row: Option<(String, String, String)> =
        sqlx::query_as("SELECT month, customers, status FROM purge_lists WHERE id = $1")
            .bind(id)
            .fetch_optional(conn)
            .await
            .context("loading a purge list")?;
    row.map(|(month, ids, status)| {
        let ids: Vec<i64> = serde_json::from_str(&ids).context("stored purge list")?;
        Ok((month, ids.into_iter().map(CustomerId).collect(), status))
    })
    .transpose()
}

/// Make the list of `month`; `None` when it exists already.
pub async fn add_purge_list(
    conn: &mut AnyConnection,
    month: &str,
    customers: &[CustomerId],
    now: DateTime<Utc>,
) -> anyhow::Result<Option<i64>> {
    let ids: Vec<i64> = customers.iter().map(|c| c.0).collect();
    sqlx::query_scalar(
        "INSERT INTO purge_lists (month, customers, status, created_at) VALUES ($1, $2, 'pending', $3)
         ON CONFLICT (month) DO NOTHING RETURNING id",
    )
    .bind(month)
    .bind(serde_json::to_string(&ids)?)
    .bind(epoch(now))
    .fetch_optional(conn)
    .await
    .context("storing a purge list")
}

pub async fn decide_purge(
    conn: &mut AnyConnection,
    id: i64,
    approve: bool,
    by: StaffId,
    now: DateTime<Utc>,
) -> anyhow::Result<bool> {
    let done = sqlx::query(
        "UPDATE purge_lists SET status = $1, decided_by = $2, decided_at = $3 WHERE id = $4 AND status = 'pending'",
    )
    .bind(if approve { "done" } else { "rejected" })
    .bind(by.0)
    .bind(epoch(now))
    .bind(id)
    .execute(conn)
    .await
    .context("deciding a purge list")?;
    Ok(done.rows_affected() == 1)
}

pub async fn purge_list_exists(conn: &mut AnyConnection, month: &str) -> anyhow::Result<bool> {
    let found: Option<i64> = sqlx::query_scalar("SELECT id FROM purge_lists WHERE month = $1")
        .bind(month)
        .fetch_optional(conn)
        .await
        .context("looking up a purge list")?;
    Ok(found.is_some())
}

/// Append one read per customer in few statements (a digest or a list reads many at once).
pub async fn log_reads(
    conn: &mut AnyConnection,
    staff: StaffId,
    customers: &[CustomerId],
    levels: &str,
    command: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let reads: Vec<(StaffId, CustomerId)> = customers.iter().map(|c| (staff, *c)).collect();
    log_reads_of_many(conn, &reads, levels, command, now).await
}

/// Append reads by several people at once (the daily round's digests: one statement per
/// hundred reads, not one per rep).
pub async fn log_reads_of_many(
    conn: &mut AnyConnection,
    reads: &[(StaffId, CustomerId)],
    levels: &str,
    command: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    // The three values every row shares are bound once, then two parameters a row.
    for chunk in reads.chunks(super::ROWS_PER_STATEMENT) {
        let values: Vec<String> =
            (0..chunk.len()).map(|i| format!("(${}, ${}, $1, $2, $3)", 2 * i + 4, 2 * i + 5)).collect();
        let sql =
            format!("INSERT INTO access_log (staff_id, customer_id, levels, command, at) VALUES {}", values.join(", "));
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(levels).bind(command).bind(epoch(now));
        for (staff, customer) in chunk {
            query = query.bind(staff.0).bind(customer.0);
        }
        query.execute(&mut *conn).await.context("writing the access log")?;
    }
    Ok(())
}
