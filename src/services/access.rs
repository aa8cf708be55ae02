//! Access to customer data: every read goes through [`read`] (which decides and logs), access
//! beyond one's role is requested and granted by the service manager for the day, and
//! customers change hands through a handover confirmed by two heads.

use anyhow::Context;
use chrono::{DateTime, Duration, NaiveTime, Utc};

use super::Ctx;
use super::directory::Directory;
use crate::domain::access::{Access, FieldLevels, Level, Subject, access, readable};
use crate::domain::ids::{CustomerId, StaffId};
use crate::domain::staff::Role;
use crate::notify;
use crate::storage::access::{self as store, Handover, LogEntry};
use crate::storage::changes;
use crate::storage::customers::{self, CustomerRecord};
use crate::storage::outbox::Priority;
use crate::storage::staff::Staff;
use crate::templates::keys;

/// Why an access operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    #[error("not allowed")]
    NotAllowed,
    #[error("not found")]
    NotFound,
    #[error("decided already")]
    AlreadyDecided,
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl From<sqlx::Error> for AccessError {
    fn from(e: sqlx::Error) -> Self {
        Self::Other(e.into())
    }
}

/// What a person may see of one customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Visibility {
    pub levels: Vec<Level>,
    pub fields: FieldLevels,
}

impl Visibility {
    pub fn shows(&self, field: &str) -> bool {
        self.levels.contains(&self.fields.of(field))
    }

    pub fn any(&self) -> bool {
        !self.levels.is_empty()
    }

    fn text(&self) -> String {
        self.levels.iter().map(|l| l.as_str()).collect::<Vec<_>>().join(",")
    }
}

/// The person as the permission model sees them for one customer.
pub async fn subject(
    conn: &mut sqlx::AnyConnection,
    staff: &Staff,
    record: &CustomerRecord,
    now: DateTime<Utc>,
) -> anyhow::Result<Subject> {
    let owner = record.customer.owner == Some(staff.id);
    let granted = !owner && staff.role == Role::Rep && store::granted(conn, staff.id, record.customer.id, now).await?;
    Ok(Subject { role: staff.role, owner, granted })
}

/// What `staff` may read of `record`, without logging (to filter search results).
pub async fn visibility(
    ctx: &Ctx,
    conn: &mut sqlx::AnyConnection,
    staff: &Staff,
    record: &CustomerRecord,
) -> anyhow::Result<Visibility> {
    let s = subject(conn, staff, record, ctx.now()).await?;
    Ok(Visibility { levels: readable(s, record.customer.tier), fields: ctx.settings.access.fields.clone() })
}

/// Decide what `staff` may read of `record` and log the read (nothing is logged when nothing
/// may be read). Every path that shows customer data calls this.
pub async fn read(ctx: &Ctx, staff: &Staff, record: &CustomerRecord, command: &str) -> anyhow::Result<Visibility> {
    let mut conn = ctx.db.pool().acquire().await?;
    let seen = visibility(ctx, &mut conn, staff, record).await?;
    if seen.any() {
        store::log_read(&mut conn, staff.id, Some(record.customer.id), &seen.text(), command, ctx.now()).await?;
    }
    Ok(seen)
}

/// Log a read of several customers at once (a list): one entry per customer.
pub async fn log_list(
    ctx: &Ctx,
    staff: &Staff,
    customers: &[CustomerId],
    levels: &str,
    command: &str,
) -> anyhow::Result<()> {
    let now = ctx.now();
    let mut conn = ctx.db.pool().acquire().await?;
    store::log_reads(&mut conn, staff.id, customers, levels, command, now).await?;
    Ok(())
}

/// Whether `staff` may change `level` fields of `record` (e.g. log a call: internal).
pub async fn may_edit(ctx: &Ctx, staff: &Staff, record: &CustomerRecord, level: Level) -> anyhow::Result<bool> {
    let mut conn = ctx.db.pool().acquire().await?;
    let s = subject(&mut conn, staff, record, ctx.now()).await?;
    Ok(access(s, record.customer.tier, level) == Access::Edit)
}

/// Managers and above (and administrators) read the log.
pub fn may_audit(staff: &Staff) -> bool {
    matches!(staff.role, Role::Manager | Role::Director | Role::Admin)
}

pub async fn audit(
    ctx: &Ctx,
    staff: &Staff,
    customer: CustomerId,
    since: DateTime<Utc>,
) -> Result<Vec<LogEntry>, AccessError> {
    if !may_audit(staff) {
        return Err(AccessError::NotAllowed);
    }
    let mut conn = ctx.db.pool().acquire().await?;
    Ok(store::log_for(&mut conn, customer, since, 50).await?)
}

/// Who decides access requests: the service manager (administrators when none is set).
fn deciders(dir: &Directory) -> Vec<&Staff> {
    dir.service_managers()
}

/// `/request`: ask the service manager for today's access to a customer.
pub async fn request(ctx: &Ctx, staff: &Staff, record: &CustomerRecord, reason: &str) -> anyhow::Result<i64> {
    let now = ctx.now();
    let mut tx = ctx.db.begin().await?;
    let id = store::add_request(&mut tx, staff.id, record.customer.id, reason.trim(), now).await?;
    let dir = Directory::load(&mut tx).await?;
    for person in deciders(&dir) {
        let l = ctx.locale_of(person);
        let text = ctx.templates.render(
            l,
            keys::ACCESS_REQUEST_ASK,
            &[
                ("id", &id.to_string()),
                ("staff", &staff.name),
                ("role", staff.role.as_str()),
                ("archive_no", record.customer.archive_no.as_str()),
                ("name", &record.customer.name),
                ("tier", record.customer.tier.as_str()),
                ("reason", reason.trim()),
            ],
        );
        let keyboard = crate::telegram::view::yes_no_keyboard(&ctx.templates, l, &format!("ar:{id}"));
        let markup = serde_json::to_string(&keyboard)?;
        notify::telegram(
            &mut tx,
            &format!("access:{id}:ask:{}", person.telegram_id.0),
            person.telegram_id.0,
            &text,
            Some(markup),
            Priority::Interactive,
            now,
        )
        .await?;
    }
    tx.commit().await.context("committing an access request")?;
    ctx.wake_worker.notify_one();
    Ok(id)
}

/// The end of the grant: the end of today, or of the day `grant_days` later.
fn grant_end(ctx: &Ctx, now: DateTime<Utc>) -> DateTime<Utc> {
    let tz = ctx.settings.timezone;
    let day = ctx.local_date(now) + Duration::days(i64::from(ctx.settings.access.grant_days) + 1);
    day.and_time(NaiveTime::MIN)
        .and_local_timezone(tz)
        .earliest()
        .map(|t| t.to_utc())
        .unwrap_or(now + Duration::days(1))
}

/// Approve or deny a request (the service manager, or an administrator).
pub async fn decide(ctx: &Ctx, decider: &Staff, id: i64, approve: bool) -> Result<store::Request, AccessError> {
    let now = ctx.now();
    let mut tx = ctx.db.begin().await?;
    let req = store::request(&mut tx, id).await?.ok_or(AccessError::NotFound)?;
    let dir = Directory::load(&mut tx).await?;
    if !deciders(&dir).iter().any(|d| d.id == decider.id) && decider.role != Role::Admin {
        return Err(AccessError::NotAllowed);
    }
    let expires = approve.then(|| grant_end(ctx, now));
    if !store::decide(&mut tx, id, approve, decider.id, expires, now).await? {
        return Err(AccessError::AlreadyDecided);
    }
    if let (Some(asker), Some(record)) = (dir.active(Some(req.staff)), customers::by_id(&mut tx, req.customer).await?) {
        let l = ctx.locale_of(asker);
        let (key, until) = match expires {
            Some(e) => (keys::ACCESS_GRANTED, ctx.local_time(e)),
            None => (keys::ACCESS_DENIED_BY, String::new()),
        };
        let text = ctx.templates.render(
            l,
            key,
            &[("archive_no", record.customer.archive_no.as_str()), ("until", &until), ("by", &decider.name)],
        );
        notify::telegram(
            &mut tx,
            &format!("access:{id}:decided"),
            asker.telegram_id.0,
            &text,
            None,
            Priority::Interactive,
            now,
        )
        .await?;
    }
    tx.commit().await.context("committing an access decision")?;
    ctx.wake_worker.notify_one();
    Ok(store::Request { status: if approve { "approved".into() } else { "denied".into() }, expires_at: expires, ..req })
}

/// Who must confirm a handover: the department head (the leaving rep's manager) and the
/// service head.
fn confirmers(dir: &Directory, from: &Staff) -> (Vec<StaffId>, Vec<StaffId>) {
    let heads = match dir.active(from.manager) {
        Some(m) => vec![m.id],
        None => dir.admins().iter().map(|s| s.id).collect(),
    };
    let service = dir.service_managers().iter().map(|s| s.id).collect();
    (heads, service)
}

/// `/handover`: a manager proposes moving some or all of a rep's customers to another rep.
pub async fn propose_handover(
    ctx: &Ctx,
    by: &Staff,
    from: &Staff,
    to: &Staff,
    only: Option<Vec<CustomerId>>,
    deactivate: bool,
) -> Result<(i64, Vec<CustomerRecord>), AccessError> {
    if !matches!(by.role, Role::Manager | Role::Director | Role::Admin)
        || to.role != Role::Rep
        || !to.active
        || from.id == to.id
    {
        return Err(AccessError::NotAllowed);
    }
    let now = ctx.now();
    let mut tx = ctx.db.begin().await?;
    let all = customers::by_owner(&mut tx, from.id).await?;
    let moving: Vec<CustomerRecord> = match &only {
        Some(ids) => all.into_iter().filter(|c| ids.contains(&c.customer.id)).collect(),
        None => all,
    };
    if moving.is_empty() {
        return Err(AccessError::NotFound);
    }
    let ids: Vec<CustomerId> = moving.iter().map(|c| c.customer.id).collect();
    let id = store::add_handover(&mut tx, from.id, to.id, &ids, deactivate, by.id, now).await?;
    let open_tasks = crate::storage::tasks::open(&mut tx)
        .await?
        .iter()
        .filter(|t| t.staff == Some(from.id) || t.customer.is_some_and(|c| ids.contains(&c)))
        .count();
    let open_complaints = crate::storage::complaints::open(&mut tx)
        .await?
        .iter()
        .filter(|c| c.customer_id.is_some_and(|c| ids.contains(&c)))
        .count();
    let dir = Directory::load(&mut tx).await?;
    let (heads, service) = confirmers(&dir, from);
    let mut asked: Vec<StaffId> = heads.into_iter().chain(service).collect();
    asked.sort();
    asked.dedup();
    for person in asked.iter().filter_map(|id| dir.active(Some(*id))) {
        let l = ctx.locale_of(person);
        let list: Vec<String> =
            moving.iter().map(|c| format!("• {} {}", c.customer.archive_no, c.customer.name)).collect();
        let text = ctx.templates.render(
            l,
            keys::HANDOVER_CONFIRM,
            &[
                ("id", &id.to_string()),
                ("from", &from.name),
                ("to", &to.name),
                ("count", &moving.len().to_string()),
                ("customers", &list.join("\n")),
                ("tasks", &open_tasks.to_string()),
                ("complaints", &open_complaints.to_string()),
            ],
        );
        let keyboard = crate::telegram::view::yes_no_keyboard(&ctx.templates, l, &format!("ho:{id}"));
        notify::telegram(
            &mut tx,
            &format!("handover:{id}:ask:{}", person.telegram_id.0),
            person.telegram_id.0,
            &text,
            Some(serde_json::to_string(&keyboard).map_err(anyhow::Error::from)?),
            Priority::Interactive,
            now,
        )
        .await?;
    }
    tx.commit().await.context("committing a handover proposal")?;
    ctx.wake_worker.notify_one();
    Ok((id, moving))
}

/// What a confirmation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandoverState {
    /// Waiting for the other head.
    Waiting,
    /// Both confirmed: the customers moved.
    Done(Handover),
}

/// A head confirms; when both have, the customers (with their open tasks) move at once.
pub async fn confirm_handover(ctx: &Ctx, by: &Staff, id: i64) -> Result<HandoverState, AccessError> {
    let now = ctx.now();
    let mut tx = ctx.db.begin().await?;
    let h = store::handover(&mut tx, id).await?.ok_or(AccessError::NotFound)?;
    if h.done {
        return Err(AccessError::AlreadyDecided);
    }
    let dir = Directory::load(&mut tx).await?;
    let from = dir.staff.get(&h.from).ok_or(AccessError::NotFound)?;
    let (heads, service) = confirmers(&dir, from);
    let (as_head, as_service) = (heads.contains(&by.id), service.contains(&by.id));
    if !as_head && !as_service {
        return Err(AccessError::NotAllowed);
    }
    store::confirm_handover(&mut tx, id, as_head, as_service, by.id).await?;
    let h = store::handover(&mut tx, id).await?.ok_or(AccessError::NotFound)?;
    if !(h.head_ok && h.service_ok) {
        tx.commit().await.context("committing a handover confirmation")?;
        return Ok(HandoverState::Waiting);
    }
    if !store::finish_handover(&mut tx, id, now).await? {
        return Err(AccessError::AlreadyDecided);
    }
    let to = dir.staff.get(&h.to).ok_or(AccessError::NotFound)?;
    let mut list = Vec::new();
    for customer in &h.customers {
        let Some(record) = customers::by_id(&mut tx, *customer).await? else { continue };
        // Only customers still owned by the leaving rep move; one owner at any time.
        if record.customer.owner != Some(h.from) {
            continue;
        }
        store::reassign(&mut tx, *customer, h.to, now).await?;
        changes::record(&mut tx, *customer, "owner", Some(&from.name), Some(&to.name), Some(by.id), None, now).await?;
        list.push(format!("• {} {}", record.customer.archive_no, record.customer.name));
    }
    if h.deactivate {
        store::deactivate(&mut tx, h.from).await?;
    }
    let l = ctx.locale_of(to);
    let text = ctx.templates.render(
        l,
        keys::HANDOVER_RECEIVED,
        &[("from", &from.name), ("count", &list.len().to_string()), ("customers", &list.join("\n"))],
    );
    notify::telegram(
        &mut tx,
        &format!("handover:{id}:done"),
        to.telegram_id.0,
        &text,
        None,
        Priority::Interactive,
        now,
    )
    .await?;
    tx.commit().await.context("committing a handover")?;
    ctx.wake_worker.notify_one();
    tracing::info!(handover = id, customers = list.len(), "handover done");
    Ok(HandoverState::Done(h))
}
