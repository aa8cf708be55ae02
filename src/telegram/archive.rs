//! Staff commands that keep the archive current: new information, tier proposals, tasks,
//! credit ratings, birthdays and contacts' Telegram codes.

use super::commands::Command;
use super::reply::Replier;
use crate::domain::birthday::Birthday;
use crate::domain::staff::Role;
use crate::domain::tasks::TaskKind;
use crate::services::Ctx;
use crate::services::archive::{self, ArchiveError};
use crate::storage::customers::{self, CustomerRecord};
use crate::storage::staff::Staff;
use crate::templates::{Key, keys};

pub(super) async fn run_command(ctx: &Ctx, reply: &mut Replier, staff: &Staff, command: Command) -> anyhow::Result<()> {
    match command {
        Command::Info { customer, text } => {
            let Some(record) = one_customer(ctx, reply, staff, &customer).await? else { return Ok(()) };
            match archive::submit_info(ctx, staff, record.customer.id, &text).await? {
                Some(task) => {
                    let due = ctx.local_time(task.remind_at);
                    reply
                        .template(
                            keys::INFO_RECEIVED,
                            &[
                                ("task", &task.id.to_string()),
                                ("archive_no", record.customer.archive_no.as_str()),
                                ("due", &due),
                            ],
                        )
                        .await
                }
                None => reply.template(keys::STALE_BUTTON, &[]).await,
            }
        }
        Command::Tier { customer, tier, reason } => {
            let Some(record) = one_customer(ctx, reply, staff, &customer).await? else { return Ok(()) };
            if record.customer.tier == tier {
                return reply.template(keys::TIER_UNCHANGED, &[("tier", tier.as_str())]).await;
            }
            match archive::propose_tier(ctx, staff, record.customer.id, tier, &reason).await? {
                Some(task) => {
                    reply
                        .template(keys::TIER_PROPOSED, &[("task", &task.id.to_string()), ("tier", tier.as_str())])
                        .await
                }
                None => reply.template(keys::STALE_BUTTON, &[]).await,
            }
        }
        Command::Tasks => list(ctx, reply, staff).await,
        Command::Done { task, text } => match archive::complete(ctx, staff, task, &text).await {
            Ok(done) => {
                let changed: Vec<String> = done
                    .changes
                    .iter()
                    .map(|(field, _, new)| format!("{field}={}", new.as_deref().unwrap_or("-")))
                    .collect();
                reply
                    .template(keys::TASK_CLOSED, &[("task", &task.to_string()), ("changes", &changed.join("; "))])
                    .await
            }
            Err(error) => explain(reply, task, error).await,
        },
        Command::Credit { customer, rating } => {
            let Some(record) = one_customer(ctx, reply, staff, &customer).await? else { return Ok(()) };
            if !may_edit(ctx, staff, &record, "credit").await? {
                return reply
                    .template(keys::ACCESS_NO_RIGHT, &[("archive_no", record.customer.archive_no.as_str())])
                    .await;
            }
            match archive::record_credit(ctx, staff, record.customer.id, &rating).await? {
                Some(expires) => {
                    reply
                        .template(
                            keys::CREDIT_RECORDED,
                            &[
                                ("archive_no", record.customer.archive_no.as_str()),
                                ("rating", &rating),
                                ("expires", &expires.to_string()),
                            ],
                        )
                        .await
                }
                None => reply.template(keys::STALE_BUTTON, &[]).await,
            }
        }
        Command::Birthday { customer, contact, birthday } => {
            let Ok(parsed) = birthday.parse::<Birthday>() else {
                return reply.template(keys::USAGE_BIRTHDAY, &[]).await;
            };
            let Some(record) = one_customer(ctx, reply, staff, &customer).await? else { return Ok(()) };
            if !may_edit(ctx, staff, &record, "contact_personal").await? {
                return reply
                    .template(keys::ACCESS_NO_RIGHT, &[("archive_no", record.customer.archive_no.as_str())])
                    .await;
            }
            let full = chrono::NaiveDate::parse_from_str(birthday.trim(), "%Y-%m-%d").ok();
            let saved = archive::set_birthday(ctx, staff, record.customer.id, &contact, parsed, full).await?;
            let label = parsed.label(reply.locale == crate::locale::Locale::ZhCn);
            let next =
                parsed.between(ctx.local_date(ctx.now()), ctx.local_date(ctx.now()) + chrono::Duration::days(400));
            let next = next.first().map(|d| d.to_string()).unwrap_or_default();
            reply.template(keys::BIRTHDAY_SAVED, &[("name", &saved.name), ("birthday", &label), ("next", &next)]).await
        }
        Command::ContactCode { customer, contact } => {
            let Some(record) = one_customer(ctx, reply, staff, &customer).await? else { return Ok(()) };
            if !may_edit(ctx, staff, &record, "contacts").await? {
                return reply
                    .template(keys::ACCESS_NO_RIGHT, &[("archive_no", record.customer.archive_no.as_str())])
                    .await;
            }
            let (code, saved) = archive::contact_code(ctx, staff, record.customer.id, &contact).await?;
            reply.template(keys::CONTACT_CODE, &[("name", &saved.name), ("code", &code)]).await
        }
        _ => reply.template(keys::HELP_HINT, &[]).await,
    }
}

/// The one customer a reference names within the person's scope, or a reply saying why not.
async fn one_customer(
    ctx: &Ctx,
    reply: &mut Replier,
    staff: &Staff,
    reference: &str,
) -> anyhow::Result<Option<CustomerRecord>> {
    let scope = (staff.role == Role::Rep).then_some(staff.id);
    let mut found = {
        let mut conn = ctx.db.pool().acquire().await?;
        customers::find(&mut conn, reference, scope, 2).await?
    };
    match found.len() {
        1 => Ok(found.pop()),
        0 => reply.template(keys::NO_MATCH, &[("reference", reference)]).await.map(|()| None),
        _ => reply.template(keys::ARCHIVE_AMBIGUOUS, &[("reference", reference)]).await.map(|()| None),
    }
}

async fn may_edit(ctx: &Ctx, staff: &Staff, record: &CustomerRecord, field: &str) -> anyhow::Result<bool> {
    let level = ctx.settings.access.fields.of(field);
    crate::services::access::may_edit(ctx, staff, record, level).await
}

async fn explain(reply: &mut Replier, task: i64, error: ArchiveError) -> anyhow::Result<()> {
    let id = task.to_string();
    let key: Key = match error {
        ArchiveError::NoTask => keys::TASK_NOT_FOUND,
        ArchiveError::AlreadyDone => keys::TASK_ALREADY_DONE,
        ArchiveError::NotAllowed => keys::TASK_NOT_ALLOWED,
        ArchiveError::Field(_, field) => {
            return reply.template(keys::TASK_BAD_FIELD, &[("task", &id), ("field", field)]).await;
        }
        ArchiveError::NoContact | ArchiveError::Invite(_) => keys::STALE_BUTTON,
        ArchiveError::Other(e) => return Err(e),
    };
    reply.template(key, &[("task", &id)]).await
}

async fn list(ctx: &Ctx, reply: &mut Replier, staff: &Staff) -> anyhow::Result<()> {
    let tasks = archive::tasks_for(ctx, staff).await?;
    if tasks.is_empty() {
        return reply.template(keys::TASKS_NONE, &[]).await;
    }
    let mut text = reply.render(keys::TASKS_HEADER, &[("count", &tasks.len().to_string())]);
    for t in &tasks {
        let (archive_no, name) = match t.customer {
            Some(id) => {
                let mut conn = ctx.db.pool().acquire().await?;
                customers::by_id(&mut conn, id)
                    .await?
                    .map(|r| (r.customer.archive_no.to_string(), r.customer.name))
                    .unwrap_or_default()
            }
            None => (String::new(), String::new()),
        };
        let kind = reply.render(
            match t.kind {
                TaskKind::ArchiveUpdate => keys::TASK_KIND_UPDATE,
                TaskKind::TierChange => keys::TASK_KIND_TIER,
                TaskKind::CreditCheck => keys::TASK_KIND_CREDIT,
                TaskKind::DataCheck => keys::TASK_KIND_DATA_CHECK,
            },
            &[],
        );
        text.push('\n');
        text.push_str(&reply.render(
            keys::TASKS_LINE,
            &[
                ("task", &t.id.to_string()),
                ("kind", &kind),
                ("archive_no", &archive_no),
                ("name", &name),
                ("details", &t.details),
                ("due", &ctx.local_time(t.remind_at)),
            ],
        ));
    }
    reply.text(&text, None).await
}
