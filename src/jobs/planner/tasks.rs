//! Archive tasks on the clock: reminders and escalations of open tasks (every tick), and the
//! daily work that creates tasks or reports — expired credit ratings, the yearly data check,
//! Monday's update digest, and the reminder to load next year's holidays.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc, Weekday};

use crate::domain::staff::Role;
use crate::domain::tasks::{TaskAlarm, TaskKind, task_alarms};
use crate::notify;
use crate::services::directory::Directory;
use crate::services::{self, Ctx};
use crate::storage::Tx;
use crate::storage::changes;
use crate::storage::customers;
use crate::storage::outbox::Priority;
use crate::storage::staff::Staff;
use crate::storage::tasks::{self as store, NewTask, Task};
use crate::templates::keys;

/// Who works on a task: keepers for archive updates and tier changes, the rep (and keepers)
/// for a credit check, the rep for a data check.
fn assignees<'a>(dir: &'a Directory, t: &Task, rep: Option<&'a Staff>) -> Vec<&'a Staff> {
    let mut people = match t.kind {
        TaskKind::ArchiveUpdate | TaskKind::TierChange => dir.all_service_staff(),
        TaskKind::CreditCheck => {
            let mut p = dir.all_service_staff();
            p.extend(rep);
            p
        }
        TaskKind::DataCheck => rep.into_iter().collect(),
    };
    people.sort_by_key(|s| s.id);
    people.dedup_by_key(|s| s.id);
    people
}

/// Who hears by e-mail that a task is late: the service manager for archive work, the rep's
/// manager for a rep's own work (administrators when there is none).
fn escalation_to<'a>(dir: &'a Directory, t: &Task, rep: Option<&'a Staff>) -> Vec<&'a Staff> {
    match t.kind {
        TaskKind::ArchiveUpdate | TaskKind::TierChange => dir.service_managers(),
        TaskKind::CreditCheck | TaskKind::DataCheck => match rep.and_then(|r| dir.active(r.manager)) {
            Some(manager) => vec![manager],
            None => dir.admins(),
        },
    }
}

async fn task_vars(tx: &mut Tx, t: &Task) -> anyhow::Result<(String, String)> {
    match t.customer {
        Some(id) => Ok(customers::by_id(tx, id)
            .await?
            .map(|r| (r.customer.archive_no.to_string(), r.customer.name))
            .unwrap_or_default()),
        None => Ok((String::new(), String::new())),
    }
}

/// Reminders and escalations of open tasks.
pub(super) async fn plan_alarms(ctx: &Ctx, tx: &mut Tx, now: DateTime<Utc>) -> anyhow::Result<usize> {
    let open = store::open(tx).await?;
    if open.is_empty() {
        return Ok(0);
    }
    let dir = Directory::load(tx).await?;
    let mut sent = 0;
    for t in &open {
        let alarms = task_alarms(t.remind_at, t.escalate_at, now);
        if alarms.is_empty() {
            continue;
        }
        let rep = dir.active(t.staff);
        let (archive_no, name) = task_vars(tx, t).await?;
        let id = t.id.to_string();
        let created = ctx.local_time(t.created_at);
        let vars = [
            ("task", id.as_str()),
            ("archive_no", &archive_no),
            ("name", &name),
            ("details", &t.details),
            ("created", &created),
        ];
        for alarm in alarms {
            match alarm {
                TaskAlarm::Remind => {
                    for person in assignees(&dir, t, rep) {
                        let text = ctx.templates.render(ctx.locale_of(person), keys::TASK_REMIND, &vars);
                        let key = format!("task:{}:remind:{}", t.id, person.telegram_id.0);
                        let at = ctx.polite_time(now);
                        sent +=
                            notify::telegram_at(tx, &key, person.telegram_id.0, &text, None, Priority::Bulk, now, at)
                                .await?;
                    }
                }
                TaskAlarm::Escalate => {
                    for person in escalation_to(&dir, t, rep) {
                        let Some(address) = person.email.as_deref() else { continue };
                        let l = ctx.locale_of(person);
                        let mut vars = vars.to_vec();
                        vars.push(("recipient", &person.name));
                        let subject = ctx.templates.render(l, keys::EMAIL_TASK_OVERDUE_SUBJECT, &vars);
                        let body = ctx.templates.render(l, keys::EMAIL_TASK_OVERDUE_BODY, &vars);
                        let key = format!("task:{}:escalate:{address}", t.id);
                        sent += usize::from(notify::email(tx, &key, address, &subject, &body, now).await?);
                    }
                }
            }
        }
    }
    Ok(sent)
}

/// The daily round's archive work.
pub(super) async fn daily(ctx: &Ctx, tx: &mut Tx, now: DateTime<Utc>, today: NaiveDate) -> anyhow::Result<usize> {
    let dir = Directory::load(tx).await?;
    let mut sent = credit_checks(ctx, tx, &dir, now, today).await?;
    sent += data_checks(ctx, tx, &dir, now, today).await?;
    if today.weekday() == Weekday::Mon {
        sent += weekly_digest(ctx, tx, &dir, now, today).await?;
    }
    sent += holidays_missing(ctx, tx, &dir, now, today).await?;
    Ok(sent)
}

fn local_start(ctx: &Ctx, day: NaiveDate) -> DateTime<Utc> {
    day.and_hms_opt(0, 0, 0)
        .and_then(|t| t.and_local_timezone(ctx.settings.timezone).earliest())
        .map(|t| t.to_utc())
        .unwrap_or_default()
}

async fn credit_checks(
    ctx: &Ctx,
    tx: &mut Tx,
    dir: &Directory,
    now: DateTime<Utc>,
    today: NaiveDate,
) -> anyhow::Result<usize> {
    let mut sent = 0;
    for expired in customers::credit_expired(tx, today).await? {
        let escalate_at =
            local_start(ctx, expired.expires_on) + Duration::days(ctx.settings.tasks.credit_due_days.into());
        let new = NewTask {
            kind: TaskKind::CreditCheck,
            customer: Some(expired.customer),
            staff: expired.owner,
            details: expired.expires_on.to_string(),
            payload: None,
            remind_at: escalate_at - Duration::days(3),
            escalate_at,
            dedupe_key: Some(format!("credit:{}:{}", expired.customer.0, expired.expires_on)),
        };
        let Some(task) = store::insert(tx, &new, now).await? else { continue };
        let id = task.id.to_string();
        let due = ctx.local_time(escalate_at);
        let vars = [
            ("task", id.as_str()),
            ("archive_no", &expired.archive_no),
            ("name", &expired.name),
            ("expired", &new.details),
            ("due", &due),
        ];
        for person in assignees(dir, &task, dir.active(expired.owner)) {
            let text = ctx.templates.render(ctx.locale_of(person), keys::TASK_CREDIT_EXPIRED, &vars);
            let key = format!("task:{}:new:{}", task.id, person.telegram_id.0);
            sent += ctx.remind(tx, &key, person.telegram_id.0, &text, now).await?;
        }
    }
    Ok(sent)
}

async fn data_checks(
    ctx: &Ctx,
    tx: &mut Tx,
    dir: &Directory,
    now: DateTime<Utc>,
    today: NaiveDate,
) -> anyhow::Result<usize> {
    let Some(on) = ctx.settings.greetings.data_check_date(today.year()) else { return Ok(0) };
    // Within a month of the day: a restart after a long stop still hands the check out.
    if today < on || today > on + Duration::days(30) {
        return Ok(0);
    }
    let mut sent = 0;
    let reps: Vec<&Staff> = dir.staff.values().filter(|s| s.active && s.role == Role::Rep).collect();
    for rep in reps {
        let dedupe_key = format!("datacheck:{}:{}", today.year(), rep.id.0);
        // Every round of the month-long window comes here; only the first may create the
        // task, so the rep's customer list is loaded only while it does not exist yet.
        if store::dedupe_key_exists(tx, &dedupe_key).await? {
            continue;
        }
        let mine = customers::by_owner(tx, rep.id).await?;
        if mine.is_empty() {
            continue;
        }
        let escalate_at = now + Duration::days(ctx.settings.tasks.data_check_days.into());
        let new = NewTask {
            kind: TaskKind::DataCheck,
            customer: None,
            staff: Some(rep.id),
            details: format!("{}", today.year()),
            payload: None,
            remind_at: escalate_at - Duration::days(7),
            escalate_at,
            dedupe_key: Some(dedupe_key),
        };
        let Some(task) = store::insert(tx, &new, now).await? else { continue };
        let list: Vec<String> =
            mine.iter().map(|r| format!("• {} {}", r.customer.archive_no, r.customer.name)).collect();
        let text = ctx.templates.render(
            ctx.locale_of(rep),
            keys::TASK_DATA_CHECK,
            &[
                ("task", &task.id.to_string()),
                ("year", &today.year().to_string()),
                ("due", &ctx.local_time(escalate_at)),
                ("customers", &list.join("\n")),
            ],
        );
        let key = format!("task:{}:new:{}", task.id, rep.telegram_id.0);
        sent += ctx.remind(tx, &key, rep.telegram_id.0, &text, now).await?;
    }
    Ok(sent)
}

/// Monday: every archive change of the past week, grouped by the owning rep, with the changed
/// fields marked, to the customer-service team by e-mail.
async fn weekly_digest(
    ctx: &Ctx,
    tx: &mut Tx,
    dir: &Directory,
    now: DateTime<Utc>,
    today: NaiveDate,
) -> anyhow::Result<usize> {
    let (from, until) = (local_start(ctx, today - Duration::days(7)), local_start(ctx, today));
    let changes = changes::between(tx, from, until).await?;
    if changes.is_empty() {
        return Ok(0);
    }
    let mut team: Vec<&Staff> = dir.all_service_staff();
    team.extend(dir.service_managers());
    team.sort_by_key(|s| s.id);
    team.dedup_by_key(|s| s.id);
    let mut sent = 0;
    for person in team {
        let Some(address) = person.email.as_deref() else { continue };
        let l = ctx.locale_of(person);
        let mut by_rep: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for c in &changes {
            let rep = c
                .owner
                .and_then(|o| dir.staff.get(&o))
                .map(|s| s.name.clone())
                .unwrap_or_else(|| ctx.templates.render(l, keys::NOT_SET, &[]));
            let none = ctx.templates.render(l, keys::WEEKLY_EMPTY_VALUE, &[]);
            by_rep.entry(rep).or_default().push(ctx.templates.render(
                l,
                keys::WEEKLY_LINE,
                &[
                    ("date", &ctx.local_time(c.changed_at)),
                    ("archive_no", &c.archive_no),
                    ("name", &c.customer_name),
                    ("field", &field_label(ctx, l, &c.field)),
                    ("old", c.old_value.as_deref().unwrap_or(&none)),
                    ("new", c.new_value.as_deref().unwrap_or(&none)),
                    ("by", c.changed_by_name.as_deref().unwrap_or(&none)),
                ],
            ));
        }
        let sections: Vec<String> =
            by_rep.into_iter().map(|(rep, lines)| format!("{rep}\n{}", lines.join("\n"))).collect();
        let vars = [
            ("recipient", person.name.as_str()),
            ("from", &(today - Duration::days(7)).to_string()),
            ("until", &(today - Duration::days(1)).to_string()),
            ("count", &changes.len().to_string()),
            ("changes", &sections.join("\n\n")),
        ];
        let subject = ctx.templates.render(l, keys::EMAIL_WEEKLY_SUBJECT, &vars);
        let body = ctx.templates.render(l, keys::EMAIL_WEEKLY_BODY, &vars);
        sent +=
            usize::from(notify::email(tx, &format!("weekly:{today}:{address}"), address, &subject, &body, now).await?);
    }
    Ok(sent)
}

/// The label of a changed field in the digest: the card's name for it, marked.
fn field_label(ctx: &Ctx, l: crate::locale::Locale, field: &str) -> String {
    let label = match field.parse::<crate::domain::customer::CardField>() {
        Ok(f) if l == crate::locale::Locale::ZhCn => f.label_zh().to_owned(),
        Ok(f) => f.key().to_owned(),
        Err(()) => field.to_owned(),
    };
    ctx.templates.render(l, keys::WEEKLY_FIELD, &[("field", &label)])
}

/// From 1 December, while next year's official schedule is not loaded, remind the
/// administrators every week (the State Council publishes it around then).
async fn holidays_missing(
    ctx: &Ctx,
    tx: &mut Tx,
    dir: &Directory,
    now: DateTime<Utc>,
    today: NaiveDate,
) -> anyhow::Result<usize> {
    if today.month() != 12 {
        return Ok(0);
    }
    let next = today.year() + 1;
    if services::calendar::official_loaded(tx, next).await? {
        return Ok(0);
    }
    let week = today.iso_week().week();
    let mut sent = 0;
    for admin in dir.admins() {
        let text = ctx.templates.render(ctx.locale_of(admin), keys::HOLIDAYS_MISSING, &[("year", &next.to_string())]);
        let key = format!("holidays:missing:{next}:{week}:{}", admin.telegram_id.0);
        sent += ctx.remind(tx, &key, admin.telegram_id.0, &text, now).await?;
    }
    Ok(sent)
}
