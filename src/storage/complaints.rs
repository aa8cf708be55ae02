//! Complaint records (客户投诉记录单), their event history and attachments.

use std::collections::HashMap;

use anyhow::Context;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{AnyConnection, FromRow};

use super::{date_text, epoch, from_epoch};
use crate::domain::complaint::{ComplaintNo, Intake, Method, Nature, Outcome, Status, Timeline};
use crate::domain::customer::Tier;
use crate::domain::ids::{CustomerId, StaffId};

/// What the record form asks when a complaint comes in.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct ComplaintForm {
    pub customer_name: String,
    pub address: Option<String>,
    pub contact_name: Option<String>,
    pub contact_phone: Option<String>,
    pub description: String,
    pub request: String,
}

/// A file the customer attached, kept by Telegram `file_id`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Attachment {
    pub kind: String,
    pub file_id: String,
    pub file_name: Option<String>,
}

/// A complaint as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Complaint {
    pub id: i64,
    pub number: ComplaintNo,
    pub received_at: DateTime<Utc>,
    pub intake: Intake,
    pub submitter_chat_id: Option<i64>,
    pub submitter_locale: Option<String>,
    pub recorded_by: Option<StaffId>,
    pub customer_id: Option<CustomerId>,
    pub form: ComplaintForm,
    pub status: Status,
    pub outcome: Option<Outcome>,
    pub department: Option<String>,
    pub nature: Option<Nature>,
    pub deadline: Option<DateTime<Utc>>,
    pub first_response_at: Option<DateTime<Utc>>,
    pub handled_by: Option<StaffId>,
    pub findings: Option<String>,
    pub proposal: Option<String>,
    pub method: Option<Method>,
    pub amount_cents: i64,
    pub resolution: Option<String>,
    pub result_sent_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub reopen_count: i64,
    pub revisit_asked_at: Option<DateTime<Utc>>,
    pub satisfaction: Option<u8>,
    pub satisfaction_comment: Option<String>,
}

impl Complaint {
    pub fn timeline(&self) -> Timeline {
        Timeline {
            status: self.status,
            received_at: self.received_at,
            deadline: self.deadline,
            resolved_at: self.resolved_at,
            revisit_asked_at: self.revisit_asked_at,
            customer_in_chat: self.submitter_chat_id.is_some(),
        }
    }
}

#[derive(FromRow)]
struct Row {
    id: i64,
    number: String,
    received_at: i64,
    intake: String,
    submitter_chat_id: Option<i64>,
    submitter_locale: Option<String>,
    recorded_by: Option<i64>,
    customer_id: Option<i64>,
    customer_name: String,
    address: Option<String>,
    contact_name: Option<String>,
    contact_phone: Option<String>,
    description: String,
    request: String,
    status: String,
    outcome: Option<String>,
    department: Option<String>,
    nature: Option<String>,
    deadline_at: Option<i64>,
    first_response_at: Option<i64>,
    handled_by: Option<i64>,
    findings: Option<String>,
    proposal: Option<String>,
    method: Option<String>,
    amount_cents: i64,
    resolution: Option<String>,
    result_sent_at: Option<i64>,
    resolved_at: Option<i64>,
    closed_at: Option<i64>,
    reopen_count: i64,
    revisit_asked_at: Option<i64>,
    satisfaction: Option<i64>,
    satisfaction_comment: Option<String>,
}

const COLUMNS: &str = "id, number, received_at, intake, submitter_chat_id, submitter_locale, recorded_by, customer_id, \
    customer_name, address, contact_name, contact_phone, description, request, status, outcome, department, nature, \
    deadline_at, first_response_at, handled_by, findings, proposal, method, amount_cents, resolution, result_sent_at, \
    resolved_at, closed_at, reopen_count, revisit_asked_at, satisfaction, satisfaction_comment";

fn parse<T: std::str::FromStr>(what: &str, text: &str) -> anyhow::Result<T> {
    text.parse().ok().with_context(|| format!("stored {what} '{text}' is unknown"))
}

fn parse_opt<T: std::str::FromStr>(what: &str, text: Option<String>) -> anyhow::Result<Option<T>> {
    text.map(|t| parse(what, &t)).transpose()
}

impl TryFrom<Row> for Complaint {
    type Error = anyhow::Error;

    fn try_from(r: Row) -> anyhow::Result<Self> {
        Ok(Self {
            id: r.id,
            number: parse("complaint number", &r.number)?,
            received_at: from_epoch(r.received_at),
            intake: parse("intake", &r.intake)?,
            submitter_chat_id: r.submitter_chat_id,
            submitter_locale: r.submitter_locale,
            recorded_by: r.recorded_by.map(StaffId),
            customer_id: r.customer_id.map(CustomerId),
            form: ComplaintForm {
                customer_name: r.customer_name,
                address: r.address,
                contact_name: r.contact_name,
                contact_phone: r.contact_phone,
                description: r.description,
                request: r.request,
            },
            status: parse("status", &r.status)?,
            outcome: parse_opt("outcome", r.outcome)?,
            department: r.department,
            nature: parse_opt("nature", r.nature)?,
            deadline: r.deadline_at.map(from_epoch),
            first_response_at: r.first_response_at.map(from_epoch),
            handled_by: r.handled_by.map(StaffId),
            findings: r.findings,
            proposal: r.proposal,
            method: parse_opt("method", r.method)?,
            amount_cents: r.amount_cents,
            resolution: r.resolution,
            result_sent_at: r.result_sent_at.map(from_epoch),
            resolved_at: r.resolved_at.map(from_epoch),
            closed_at: r.closed_at.map(from_epoch),
            reopen_count: r.reopen_count,
            revisit_asked_at: r.revisit_asked_at.map(from_epoch),
            satisfaction: r.satisfaction.and_then(|s| u8::try_from(s).ok()),
            satisfaction_comment: r.satisfaction_comment,
        })
    }
}

/// Where a new complaint came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub intake: Intake,
    pub submitter_chat_id: Option<i64>,
    pub submitter_locale: Option<String>,
    pub recorded_by: Option<StaffId>,
}

pub async fn insert(
    conn: &mut AnyConnection,
    number: &ComplaintNo,
    received_on: NaiveDate,
    origin: &Origin,
    customer: Option<CustomerId>,
    form: &ComplaintForm,
    now: DateTime<Utc>,
) -> anyhow::Result<Complaint> {
    let new = NewComplaint { number, received_on, origin, customer, form };
    insert_many(conn, std::slice::from_ref(&new), now).await?.pop().context("a complaint inserted went missing")
}

/// A complaint to be recorded (see [`insert_many`]).
#[derive(Debug, Clone, Copy)]
pub struct NewComplaint<'a> {
    pub number: &'a ComplaintNo,
    pub received_on: NaiveDate,
    pub origin: &'a Origin,
    pub customer: Option<CustomerId>,
    pub form: &'a ComplaintForm,
}

/// Record complaints in few statements (one per hundred), all received at `now`; returns
/// them as stored, in the order given.
pub async fn insert_many(
    conn: &mut AnyConnection,
    complaints: &[NewComplaint<'_>],
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<Complaint>> {
    let mut stored: HashMap<String, Complaint> = HashMap::with_capacity(complaints.len());
    for chunk in complaints.chunks(super::ROWS_PER_STATEMENT) {
        // 16 parameters a row, written once and in order so that SQLite binds them by position
        // (see `storage::positional`): `now` is bound with each row (received, created,
        // updated) rather than once for all.
        let values: Vec<String> = (0..chunk.len())
            .map(|i| format!("({}, 'received', {})", super::params(i * 16 + 1, 14), super::params(i * 16 + 15, 2)))
            .collect();
        let sql = super::positional(
            conn,
            format!(
                "INSERT INTO complaints (number, received_on, received_at, intake, submitter_chat_id, submitter_locale,
                     recorded_by, customer_id, customer_name, address, contact_name, contact_phone, description,
                     request, status, created_at, updated_at)
                 VALUES {} RETURNING {COLUMNS}",
                values.join(", ")
            ),
        );
        let mut query = sqlx::query_as::<_, Row>(sqlx::AssertSqlSafe(sql));
        for c in chunk {
            query = query
                .bind(c.number.as_str())
                .bind(date_text(c.received_on))
                .bind(epoch(now))
                .bind(c.origin.intake.as_str())
                .bind(c.origin.submitter_chat_id)
                .bind(c.origin.submitter_locale.as_deref())
                .bind(c.origin.recorded_by.map(|s| s.0))
                .bind(c.customer.map(|id| id.0))
                .bind(&c.form.customer_name)
                .bind(c.form.address.as_deref())
                .bind(c.form.contact_name.as_deref())
                .bind(c.form.contact_phone.as_deref())
                .bind(&c.form.description)
                .bind(&c.form.request)
                .bind(epoch(now))
                .bind(epoch(now));
        }
        for row in query.fetch_all(&mut *conn).await.context("inserting complaints")? {
            let complaint = Complaint::try_from(row)?;
            stored.insert(complaint.number.as_str().to_owned(), complaint);
        }
    }
    complaints
        .iter()
        .map(|c| stored.remove(c.number.as_str()).with_context(|| format!("complaint {} not stored", c.number)))
        .collect()
}

pub async fn by_number(conn: &mut AnyConnection, number: &ComplaintNo) -> anyhow::Result<Option<Complaint>> {
    let row: Option<Row> =
        sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM complaints WHERE number = $1")))
            .bind(number.as_str())
            .fetch_optional(conn)
            .await
            .context("loading complaint")?;
    row.map(Complaint::try_from).transpose()
}

/// A customer's own complaints, newest first.
pub async fn by_submitter(conn: &mut AnyConnection, chat_id: i64, limit: i64) -> anyhow::Result<Vec<Complaint>> {
    let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM complaints WHERE submitter_chat_id = $1 ORDER BY id DESC LIMIT $2"
    )))
    .bind(chat_id)
    .bind(limit)
    .fetch_all(conn)
    .await
    .context("listing a customer's complaints")?;
    rows.into_iter().map(Complaint::try_from).collect()
}

/// Every complaint not closed yet, oldest first.
pub async fn open(conn: &mut AnyConnection) -> anyhow::Result<Vec<Complaint>> {
    let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM complaints WHERE status <> 'closed' ORDER BY id"
    )))
    .fetch_all(conn)
    .await
    .context("listing open complaints")?;
    rows.into_iter().map(Complaint::try_from).collect()
}

/// Complaints received on local dates in `[from, until)`, with the tier of the linked customer.
pub async fn received_between(
    conn: &mut AnyConnection,
    from: NaiveDate,
    until: NaiveDate,
) -> anyhow::Result<Vec<(Complaint, Option<Tier>)>> {
    #[derive(FromRow)]
    struct ReportRow {
        #[sqlx(flatten)]
        complaint: Row,
        linked_tier: Option<String>,
    }
    let columns: String = COLUMNS.split(", ").map(|c| format!("c.{c}")).collect::<Vec<_>>().join(", ");
    let rows: Vec<ReportRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {columns}, cu.tier AS linked_tier FROM complaints c LEFT JOIN customers cu ON cu.id = c.customer_id
         WHERE c.received_on >= $1 AND c.received_on < $2 ORDER BY c.id"
    )))
    .bind(date_text(from))
    .bind(date_text(until))
    .fetch_all(conn)
    .await
    .context("loading complaints for a report")?;
    rows.into_iter()
        .map(|r| Ok((Complaint::try_from(r.complaint)?, r.linked_tier.and_then(|t| t.parse().ok()))))
        .collect()
}

/// Write back every field a workflow step may change, if the complaint is still in
/// `expected` status. `false` means someone else moved it first; the caller reloads.
pub async fn save(
    conn: &mut AnyConnection,
    c: &Complaint,
    expected: Status,
    now: DateTime<Utc>,
) -> anyhow::Result<bool> {
    let done = sqlx::query(
        "UPDATE complaints SET status = $1, outcome = $2, department = $3, nature = $4, deadline_at = $5,
             first_response_at = $6, handled_by = $7, findings = $8, proposal = $9, method = $10, amount_cents = $11,
             resolution = $12, result_sent_at = $13, resolved_at = $14, closed_at = $15, reopen_count = $16,
             revisit_asked_at = $17, satisfaction = $18, satisfaction_comment = $19, customer_id = $20, updated_at = $21
         WHERE id = $22 AND status = $23",
    )
    .bind(c.status.as_str())
    .bind(c.outcome.map(|o| o.as_str()))
    .bind(c.department.as_deref())
    .bind(c.nature.map(|n| n.as_str()))
    .bind(c.deadline.map(epoch))
    .bind(c.first_response_at.map(epoch))
    .bind(c.handled_by.map(|s| s.0))
    .bind(c.findings.as_deref())
    .bind(c.proposal.as_deref())
    .bind(c.method.map(|m| m.as_str()))
    .bind(c.amount_cents)
    .bind(c.resolution.as_deref())
    .bind(c.result_sent_at.map(epoch))
    .bind(c.resolved_at.map(epoch))
    .bind(c.closed_at.map(epoch))
    .bind(c.reopen_count)
    .bind(c.revisit_asked_at.map(epoch))
    .bind(c.satisfaction.map(i64::from))
    .bind(c.satisfaction_comment.as_deref())
    .bind(c.customer_id.map(|id| id.0))
    .bind(epoch(now))
    .bind(c.id)
    .bind(expected.as_str())
    .execute(conn)
    .await
    .context("saving complaint")?;
    Ok(done.rows_affected() == 1)
}

/// One entry of a complaint's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub id: i64,
    pub at: DateTime<Utc>,
    /// `customer`, `staff` or `system`.
    pub actor: String,
    pub actor_name: Option<String>,
    pub kind: String,
    pub details: String,
}

pub async fn add_event(
    conn: &mut AnyConnection,
    complaint_id: i64,
    actor: &str,
    actor_staff: Option<StaffId>,
    kind: &str,
    details: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO complaint_events (complaint_id, at, actor, actor_staff_id, kind, details)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(complaint_id)
    .bind(epoch(now))
    .bind(actor)
    .bind(actor_staff.map(|s| s.0))
    .bind(kind)
    .bind(details)
    .fetch_one(conn)
    .await
    .context("recording a complaint event")
}

pub async fn events(conn: &mut AnyConnection, complaint_id: i64) -> anyhow::Result<Vec<Event>> {
    #[derive(FromRow)]
    struct EventRow {
        id: i64,
        at: i64,
        actor: String,
        actor_name: Option<String>,
        kind: String,
        details: String,
    }
    let rows: Vec<EventRow> = sqlx::query_as(
        "SELECT e.id, e.at, e.actor, s.name AS actor_name, e.kind, e.details
         FROM complaint_events e LEFT JOIN staff s ON s.id = e.actor_staff_id
         WHERE e.complaint_id = $1 ORDER BY e.id",
    )
    .bind(complaint_id)
    .fetch_all(conn)
    .await
    .context("loading complaint history")?;
    Ok(rows
        .into_iter()
        .map(|r| Event {
            id: r.id,
            at: from_epoch(r.at),
            actor: r.actor,
            actor_name: r.actor_name,
            kind: r.kind,
            details: r.details,
        })
        .collect())
}

/// A complaint's event to be recorded (see [`add_events`]).
#[derive(Debug, Clone, Copy)]
pub struct NewEvent<'a> {
    pub complaint_id: i64,
    pub actor: &'a str,
    pub actor_staff: Option<StaffId>,
    pub kind: &'a str,
    pub details: &'a str,
}

/// [`add_event`] for several events at `now`, in one statement per hundred.
pub async fn add_events(conn: &mut AnyConnection, events: &[NewEvent<'_>], now: DateTime<Utc>) -> anyhow::Result<()> {
    for chunk in events.chunks(super::ROWS_PER_STATEMENT) {
        // Six parameters a row, `now` bound with each, so that SQLite binds them by position
        // (see `storage::positional`).
        let sql = super::positional(
            conn,
            format!(
                "INSERT INTO complaint_events (complaint_id, at, actor, actor_staff_id, kind, details) VALUES {}",
                super::value_rows(1, chunk.len(), 6)
            ),
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for e in chunk {
            query = query
                .bind(e.complaint_id)
                .bind(epoch(now))
                .bind(e.actor)
                .bind(e.actor_staff.map(|s| s.0))
                .bind(e.kind)
                .bind(e.details);
        }
        query.execute(&mut *conn).await.context("recording complaint events")?;
    }
    Ok(())
}

pub async fn add_attachment(conn: &mut AnyConnection, complaint_id: i64, a: &Attachment) -> anyhow::Result<()> {
    sqlx::query("INSERT INTO complaint_attachments (complaint_id, kind, file_id, file_name) VALUES ($1, $2, $3, $4)")
        .bind(complaint_id)
        .bind(&a.kind)
        .bind(&a.file_id)
        .bind(a.file_name.as_deref())
        .execute(conn)
        .await
        .context("storing an attachment")?;
    Ok(())
}

pub async fn attachments(conn: &mut AnyConnection, complaint_id: i64) -> anyhow::Result<Vec<Attachment>> {
    let rows: Vec<(String, String, Option<String>)> = sqlx::query_as(
        "SELECT kind, file_id, file_name FROM complaint_attachments WHERE complaint_id = $1 ORDER BY id",
    )
    .bind(complaint_id)
    .fetch_all(conn)
    .await
    .context("loading attachments")?;
    Ok(rows.into_iter().map(|(kind, file_id, file_name)| Attachment { kind, file_id, file_name }).collect())
}

/// Remember that the revisit question went out (so the 2-day answer window can start).
pub async fn mark_revisit_asked(conn: &mut AnyConnection, id: i64, now: DateTime<Utc>) -> anyhow::Result<()> {
    sqlx::query("UPDATE complaints SET revisit_asked_at = $1 WHERE id = $2 AND revisit_asked_at IS NULL")
        .bind(epoch(now))
        .bind(id)
        .execute(conn)
        .await
        .context("marking the revisit as asked")?;
    Ok(())
}
