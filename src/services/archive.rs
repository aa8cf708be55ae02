//! Keeping the archive current (客户档案的完善和更新): new information from reps becomes a task
//! for the archive keepers (customer service), due within 1 day and escalated after 2; tier
//! changes go the same way; credit ratings, birthdays and contacts' Telegram links. Every
//! change is recorded with who and when.

use anyhow::Context;
use chrono::{DateTime, Utc};
use rand::Rng;

use super::Ctx;
use super::directory::Directory;
use crate::domain::birthday::Birthday;
use crate::domain::cadence::next_dues;
use crate::domain::customer::{FieldError, Tier, parse_assignments};
use crate::domain::ids::CustomerId;
use crate::domain::invite::{CODE_ALPHABET, CODE_LEN, InviteProblem, check_invite, normalise_code};
use crate::domain::staff::Role;
use crate::domain::tasks::{TaskKind, TierProposal, update_moments};
use crate::locale::Locale;
use crate::notify;
use crate::storage::contacts::{self, Contact};
use crate::storage::customers::{self, CustomerRecord};
use crate::storage::outbox::Priority;
use crate::storage::staff::Staff;
use crate::storage::tasks::{self as store, NewTask, Task};
use crate::storage::{Tx, changes};
use crate::templates::keys;

/// Why an archive operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("no such task")]
    NoTask,
    #[error("the task is closed already")]
    AlreadyDone,
    #[error("not for this person")]
    NotAllowed,
    #[error("{1}: {0}")]
    Field(FieldError, &'static str),
    #[error("unknown contact")]
    NoContact,
    #[error("invitation: {0:?}")]
    Invite(InviteProblem),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl From<sqlx::Error> for ArchiveError {
    fn from(e: sqlx::Error) -> Self {
        Self::Other(e.into())
    }
}

/// Whether someone keeps the archive: customer service, their managers and administrators.
pub fn is_keeper(s: &Staff) -> bool {
    matches!(s.role, Role::Service | Role::Manager | Role::Director | Role::Admin)
}

/// When an archive update or tier change is reminded and escalated, counting working days
/// where configured.
async fn moments(ctx: &Ctx, tx: &mut Tx, now: DateTime<Utc>) -> anyhow::Result<(DateTime<Utc>, DateTime<Utc>)> {
    let p = &ctx.settings.tasks;
    if !p.update_working_days {
        return Ok(update_moments(p, now));
    }
    let tz = ctx.settings.timezone;
    let local = now.with_timezone(&tz).naive_local();
    let calendar = super::calendar::work_calendar(tx, local.date()).await?;
    let at = |days: u32| {
        let date = calendar.add_working_days(local.date(), days);
        date.and_time(local.time()).and_local_timezone(tz).earliest().map(|t| t.to_utc()).unwrap_or(now)
    };
    Ok((at(p.update_due_days), at(p.update_escalate_days)))
}

/// Tell the archive keepers about a new task (at a polite hour).
async fn tell_keepers(
    ctx: &Ctx,
    tx: &mut Tx,
    task: &Task,
    record: &CustomerRecord,
    requester: &Staff,
) -> anyhow::Result<()> {
    let dir = Directory::load(tx).await?;
    let not_before = ctx.polite_time(ctx.now());
    for keeper in dir.all_service_staff() {
        let l = ctx.locale_of(keeper);
        let key = match task.kind {
            TaskKind::TierChange => keys::TASK_NEW_TIER,
            _ => keys::TASK_NEW_INFO,
        };
        let text = ctx.templates.render(
            l,
            key,
            &[
                ("task", &task.id.to_string()),
                ("archive_no", record.customer.archive_no.as_str()),
                ("name", &record.customer.name),
                ("rep", &requester.name),
                ("details", &task.details),
                ("due", &ctx.local_time(task.remind_at)),
            ],
        );
        let msg_key = format!("task:{}:new:{}", task.id, keeper.telegram_id.0);
        notify::telegram_at(tx, &msg_key, keeper.telegram_id.0, &text, None, Priority::Bulk, ctx.now(), not_before)
            .await?;
    }
    Ok(())
}

/// `/info`: a rep's new information becomes an archive-update task.
pub async fn submit_info(ctx: &Ctx, rep: &Staff, customer: CustomerId, text: &str) -> anyhow::Result<Option<Task>> {
    let now = ctx.now();
    let mut tx = ctx.db.begin().await?;
    let Some(record) = customers::by_id(&mut tx, customer).await? else { return Ok(None) };
    let (remind_at, escalate_at) = moments(ctx, &mut tx, now).await?;
    let new = NewTask {
        kind: TaskKind::ArchiveUpdate,
        customer: Some(customer),
        staff: Some(rep.id),
        details: text.trim().to_owned(),
        payload: None,
        remind_at,
        escalate_at,
        dedupe_key: None,
    };
    let task = store::insert(&mut tx, &new, now).await?.context("a task without a dedupe key is always new")?;
    tell_keepers(ctx, &mut tx, &task, &record, rep).await?;
    tx.commit().await.context("committing new information")?;
    ctx.wake_worker.notify_one();
    Ok(Some(task))
}

/// `/tier`: a rep proposes another tier; applied when a keeper completes the task.
pub async fn propose_tier(
    ctx: &Ctx,
    rep: &Staff,
    customer: CustomerId,
    tier: Tier,
    reason: &str,
) -> anyhow::Result<Option<Task>> {
    let now = ctx.now();
    let mut tx = ctx.db.begin().await?;
    let Some(record) = customers::by_id(&mut tx, customer).await? else { return Ok(None) };
    let (remind_at, escalate_at) = moments(ctx, &mut tx, now).await?;
    let new = NewTask {
        kind: TaskKind::TierChange,
        customer: Some(customer),
        staff: Some(rep.id),
        details: format!("{} → {tier} {}", record.customer.tier, reason.trim()).trim().to_owned(),
        payload: Some(serde_json::to_string(&TierProposal { tier })?),
        remind_at,
        escalate_at,
        dedupe_key: None,
    };
    let task = store::insert(&mut tx, &new, now).await?.context("a task without a dedupe key is always new")?;
    tell_keepers(ctx, &mut tx, &task, &record, rep).await?;
    tx.commit().await.context("committing a tier proposal")?;
    ctx.wake_worker.notify_one();
    Ok(Some(task))
}

/// What completing a task changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completed {
    pub task: Task,
    /// (field key, old, new) for every field that changed.
    pub changes: Vec<(String, Option<String>, Option<String>)>,
}

/// `/done`: close a task, applying what it carries (field assignments in `text`, a tier).
pub async fn complete(ctx: &Ctx, staff: &Staff, task_id: i64, text: &str) -> Result<Completed, ArchiveError> {
    let now = ctx.now();
    let mut tx = ctx.db.begin().await?;
    let task = store::get(&mut tx, task_id).await?.ok_or(ArchiveError::NoTask)?;
    if !task.open {
        return Err(ArchiveError::AlreadyDone);
    }
    let allowed = match task.kind {
        TaskKind::ArchiveUpdate | TaskKind::TierChange | TaskKind::CreditCheck => is_keeper(staff),
        TaskKind::DataCheck => task.staff == Some(staff.id) || is_keeper(staff),
    };
    if !allowed {
        return Err(ArchiveError::NotAllowed);
    }
    let mut changed = Vec::new();
    if let Some(customer) = task.customer {
        let mut record = customers::by_id(&mut tx, customer).await?.ok_or(ArchiveError::NoTask)?;
        match task.kind {
            TaskKind::TierChange => {
                let proposal: TierProposal = serde_json::from_str(task.payload.as_deref().unwrap_or_default())
                    .context("stored tier proposal")?;
                if proposal.tier != record.customer.tier {
                    // The new tier's cadence holds at once: due dates recomputed in the same step.
                    let (call, visit) = next_dues(&ctx.settings.cadence, proposal.tier, &record.touches);
                    customers::set_tier(&mut tx, customer, proposal.tier, call, visit, now).await?;
                    changed.push((
                        "tier".to_owned(),
                        Some(record.customer.tier.to_string()),
                        Some(proposal.tier.to_string()),
                    ));
                }
            }
            TaskKind::ArchiveUpdate => {
                if let Some(assignments) = parse_assignments(text) {
                    let mut name = record.customer.name.clone();
                    for (field, value) in assignments {
                        let old = field
                            .set(&mut name, &mut record.customer.fields, &value)
                            .map_err(|e| ArchiveError::Field(e, field.key()))?;
                        let new = field.get(&name, &record.customer.fields);
                        if old != new {
                            changed.push((field.key().to_owned(), old, new));
                        }
                    }
                    customers::update_card(&mut tx, customer, &name, &record.customer.fields, now).await?;
                } else if !text.trim().is_empty() {
                    changed.push(("info".to_owned(), None, Some(text.trim().to_owned())));
                }
            }
            TaskKind::CreditCheck | TaskKind::DataCheck => {}
        }
        for (field, old, new) in &changed {
            changes::record(
                &mut tx,
                customer,
                field,
                old.as_deref(),
                new.as_deref(),
                Some(staff.id),
                Some(task.id),
                now,
            )
            .await?;
        }
    }
    if !store::close(&mut tx, task.id, staff.id, text.trim(), now).await? {
        return Err(ArchiveError::AlreadyDone);
    }
    // The rep who brought the information learns it is in the archive.
    if let Some(rep) = task.staff.filter(|r| *r != staff.id) {
        let dir = Directory::load(&mut tx).await?;
        if let Some(rep) = dir.active(Some(rep)) {
            let text = ctx.templates.render(
                ctx.locale_of(rep),
                keys::TASK_DONE_FOR_REP,
                &[("task", &task.id.to_string()), ("by", &staff.name)],
            );
            notify::telegram_at(
                &mut tx,
                &format!("task:{}:done", task.id),
                rep.telegram_id.0,
                &text,
                None,
                Priority::Bulk,
                now,
                ctx.polite_time(now),
            )
            .await?;
        }
    }
    tx.commit().await.context("committing a completed task")?;
    ctx.wake_worker.notify_one();
    Ok(Completed { task, changes: changed })
}

/// `/credit`: a new credit rating, investigated today; it expires by the tier's validity and
/// ends any open re-investigation task.
pub async fn record_credit(
    ctx: &Ctx,
    staff: &Staff,
    customer: CustomerId,
    rating: &str,
) -> anyhow::Result<Option<chrono::NaiveDate>> {
    let now = ctx.now();
    let today = ctx.local_date(now);
    let mut tx = ctx.db.begin().await?;
    let Some(record) = customers::by_id(&mut tx, customer).await? else { return Ok(None) };
    let expires = ctx.settings.credit.expires(record.customer.tier, today);
    customers::set_credit(&mut tx, customer, rating.trim(), today, expires, now).await?;
    changes::record(
        &mut tx,
        customer,
        "credit",
        record.customer.fields.credit_rating.as_deref(),
        Some(rating.trim()),
        Some(staff.id),
        None,
        now,
    )
    .await?;
    store::close_for_customer(&mut tx, TaskKind::CreditCheck, customer, staff.id, rating.trim(), now).await?;
    tx.commit().await.context("committing a credit rating")?;
    Ok(Some(expires))
}

/// `/birthday`: set a contact's birthday (the contact is created when the name is new).
pub async fn set_birthday(
    ctx: &Ctx,
    staff: &Staff,
    customer: CustomerId,
    contact_name: &str,
    birthday: Birthday,
    full: Option<chrono::NaiveDate>,
) -> anyhow::Result<Contact> {
    let now = ctx.now();
    let mut tx = ctx.db.begin().await?;
    let contact = find_or_create_contact(&mut tx, customer, contact_name, now).await?;
    contacts::set_birthday(&mut tx, contact.id, &birthday, full).await?;
    let old = contact.birthday_spec.map(|b| b.to_string());
    changes::record(
        &mut tx,
        customer,
        "contact_birthday",
        old.as_deref(),
        Some(&format!("{} {birthday}", contact.name)),
        Some(staff.id),
        None,
        now,
    )
    .await?;
    tx.commit().await.context("committing a birthday")?;
    Ok(Contact { birthday_spec: Some(birthday), ..contact })
}

async fn find_or_create_contact(
    tx: &mut Tx,
    customer: CustomerId,
    name: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<Contact> {
    let name = name.trim();
    if let Some(c) = contacts::of_customer(tx, customer).await?.into_iter().find(|c| c.name == name) {
        return Ok(c);
    }
    contacts::insert(tx, customer, &Contact { name: name.to_owned(), ..Contact::default() }, now).await?;
    contacts::of_customer(tx, customer)
        .await?
        .into_iter()
        .rev()
        .find(|c| c.name == name)
        .context("contact vanished after insert")
}

/// `/contactcode`: a one-time code (valid 7 days) with which a contact joins the bot to
/// receive greetings.
pub async fn contact_code(
    ctx: &Ctx,
    staff: &Staff,
    customer: CustomerId,
    contact_name: &str,
) -> anyhow::Result<(String, Contact)> {
    let now = ctx.now();
    let mut tx = ctx.db.begin().await?;
    let contact = find_or_create_contact(&mut tx, customer, contact_name, now).await?;
    let code: String = {
        let mut rng = rand::rng();
        (0..CODE_LEN).map(|_| CODE_ALPHABET[rng.random_range(0..CODE_ALPHABET.len())] as char).collect()
    };
    contacts::add_invite(&mut tx, &code, contact.id, staff.id, now).await?;
    tx.commit().await.context("committing a contact code")?;
    Ok((code, contact))
}

/// A contact sends `/start CODE`: link their Telegram account. `Ok(None)` when the code is not
/// a contact code at all (it may be a staff invitation).
pub async fn redeem_contact_code(
    ctx: &Ctx,
    code: &str,
    telegram_id: i64,
    locale: Locale,
) -> Result<Option<Contact>, ArchiveError> {
    let Some(code) = normalise_code(code) else { return Ok(None) };
    let now = ctx.now();
    let mut tx = ctx.db.begin().await?;
    let Some((contact_id, created, used)) = contacts::find_invite(&mut tx, &code).await? else { return Ok(None) };
    check_invite(created, used, now).map_err(ArchiveError::Invite)?;
    if !contacts::use_invite(&mut tx, &code, now).await? {
        return Err(ArchiveError::Invite(InviteProblem::AlreadyUsed));
    }
    contacts::link_telegram(&mut tx, contact_id, telegram_id, locale.as_str()).await?;
    let (_, contact) = contacts::by_id(&mut tx, contact_id).await?.ok_or(ArchiveError::NoContact)?;
    tx.commit().await.context("committing a contact link")?;
    Ok(Some(contact))
}

/// Open tasks a person should see: keepers all archive tasks; everyone their own.
pub async fn tasks_for(ctx: &Ctx, staff: &Staff) -> anyhow::Result<Vec<Task>> {
    let mut conn = ctx.db.pool().acquire().await?;
    let open = store::open(&mut conn).await?;
    Ok(open.into_iter().filter(|t| is_keeper(staff) || t.staff == Some(staff.id)).collect())
}
