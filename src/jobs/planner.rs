//! "What is due at `now` that has not been queued yet?"
//!
//! The planner holds no state between runs: every run recomputes what is owed from the
//! database and queues it under idempotency keys, so a missed tick, a restart or a second
//! instance changes nothing — catch-up after downtime is just the next ordinary run.

use std::collections::{BTreeMap, HashMap};

use anyhow::Context;
use chrono::{DateTime, NaiveDate, Utc};

use crate::domain::agenda::{Agenda, DueItem};
use crate::domain::calendar::{WorkCalendar, daily_round_due};
use crate::domain::escalation::Level;
use crate::domain::ids::StaffId;
use crate::locale::Locale;
use crate::notify;
use crate::render::{self, EscalatedItem};
use crate::services::Ctx;
use crate::storage::outbox::Priority;
use crate::storage::staff::{self as staff_store, Staff};
use crate::storage::{Tx, app_state, customers, escalations};

/// What one planner run queued.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PlanReport {
    /// The local date whose daily round ran, if it was due.
    pub round: Option<NaiveDate>,
    pub digests: usize,
    pub escalated_items: usize,
    pub escalation_emails: usize,
    /// Complaint timers that produced messages (they run every tick, at any hour).
    pub complaint_alarms: usize,
}

/// Run the planner as of `now`, committing everything it queues in one transaction.
#[tracing::instrument(skip_all, fields(now = %now))]
pub async fn plan(ctx: &Ctx, now: DateTime<Utc>) -> anyhow::Result<PlanReport> {
    let mut tx = ctx.db.begin().await?;
    let report = plan_in(ctx, &mut tx, now).await?;
    app_state::set(&mut tx, app_state::LAST_TICK, &now.to_rfc3339()).await?;
    tx.commit().await.context("committing planner run")?;
    if report.digests + report.escalation_emails + report.complaint_alarms > 0 {
        tracing::info!(?report, "planner queued messages");
    }
    Ok(report)
}

/// The planner's work inside a caller's transaction (`guanxi tick --dry-run` rolls it back).
pub async fn plan_in(ctx: &Ctx, tx: &mut Tx, now: DateTime<Utc>) -> anyhow::Result<PlanReport> {
    let settings = &ctx.settings;
    let complaint_alarms = crate::services::complaints::plan_alarms(ctx, tx, now).await?;
    let local_now = now.with_timezone(&settings.timezone).naive_local();
    let calendar = WorkCalendar::default();
    let Some(today) = daily_round_due(&calendar, local_now, settings.daily_round_at) else {
        return Ok(PlanReport { complaint_alarms, ..PlanReport::default() });
    };
    let horizon = today + chrono::Duration::days(settings.upcoming_days.into());
    let items = customers::due_items(tx, horizon, None).await?;
    let staff: HashMap<StaffId, Staff> = staff_store::list(tx).await?.into_iter().map(|s| (s.id, s)).collect();

    let mut report = PlanReport { round: Some(today), complaint_alarms, ..PlanReport::default() };
    report.digests = queue_digests(ctx, tx, &items, &staff, today, now).await?;
    let (escalated, emails) = queue_escalations(ctx, tx, &items, &staff, today, now).await?;
    report.escalated_items = escalated;
    report.escalation_emails = emails;
    Ok(report)
}

fn locale_of(ctx: &Ctx, staff: &Staff) -> Locale {
    staff.locale.as_deref().and_then(|l| l.parse().ok()).unwrap_or(ctx.settings.locale)
}

/// One digest per active rep with anything overdue, due today or coming up.
async fn queue_digests(
    ctx: &Ctx,
    tx: &mut Tx,
    items: &[DueItem],
    staff: &HashMap<StaffId, Staff>,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> anyhow::Result<usize> {
    let mut by_owner: BTreeMap<StaffId, Vec<DueItem>> = BTreeMap::new();
    for item in items {
        by_owner.entry(item.owner).or_default().push(item.clone());
    }
    let mut queued = 0;
    for (owner, items) in by_owner {
        let Some(rep) = staff.get(&owner).filter(|s| s.active) else {
            continue;
        };
        let agenda = Agenda::build(items, today, ctx.settings.upcoming_days);
        if agenda.is_empty() {
            continue;
        }
        let locale = locale_of(ctx, rep);
        let text = render::agenda(&ctx.templates, locale, &agenda, today, ctx.settings.upcoming_days);
        let key = format!("digest:{}:{today}", owner.0);
        if notify::telegram(tx, &key, rep.telegram_id.0, &text, None, Priority::Bulk, now).await? > 0 {
            queued += 1;
        }
    }
    Ok(queued)
}

/// Who receives `level` for a rep: the manager `level` steps up the chain. When the chain
/// has nobody with an e-mail there, the active admins with e-mail take it, so nothing
/// overdue goes unreported. Returns (recipients, whether it was that fallback).
fn recipients_for(rep: &Staff, level: Level, staff: &HashMap<StaffId, Staff>) -> (Vec<StaffId>, bool) {
    let mut current = rep;
    for _ in 0..level.steps_up() {
        match current.manager.and_then(|m| staff.get(&m)) {
            Some(manager) => current = manager,
            None => return (fallback_recipients(staff), true),
        }
    }
    if current.active && current.email.is_some() {
        (vec![current.id], false)
    } else {
        (fallback_recipients(staff), true)
    }
}

fn fallback_recipients(staff: &HashMap<StaffId, Staff>) -> Vec<StaffId> {
    let mut admins: Vec<StaffId> = staff
        .values()
        .filter(|s| s.active && s.email.is_some() && s.role == crate::domain::staff::Role::Admin)
        .map(|s| s.id)
        .collect();
    admins.sort();
    admins
}

/// Record each item's newly reached levels and queue one e-mail per recipient listing them.
async fn queue_escalations(
    ctx: &Ctx,
    tx: &mut Tx,
    items: &[DueItem],
    staff: &HashMap<StaffId, Staff>,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> anyhow::Result<(usize, usize)> {
    let mut batches: BTreeMap<StaffId, Vec<EscalatedItem>> = BTreeMap::new();
    let mut escalated = 0;
    let mut sorted: Vec<&DueItem> = items.iter().filter(|i| i.due_on < today).collect();
    sorted.sort_by(|a, b| (a.due_on, &a.archive_no, a.action).cmp(&(b.due_on, &b.archive_no, b.action)));
    for item in sorted {
        let Some(rep) = staff.get(&item.owner) else { continue };
        let days = item.days_overdue(today);
        for level in ctx.settings.escalation.levels_reached(item.action, days) {
            let (recipients, no_chain) = recipients_for(rep, level, staff);
            if !escalations::record(tx, item, level, recipients.first().copied(), now).await? {
                continue;
            }
            escalated += 1;
            if recipients.is_empty() {
                tracing::error!(item = %item.key(), level = level.number(), "overdue item has nobody to escalate to: give the rep a manager with an e-mail, or an admin an e-mail");
            }
            for recipient in recipients {
                batches.entry(recipient).or_default().push(EscalatedItem {
                    item: item.clone(),
                    level,
                    days_overdue: days,
                    rep_name: rep.name.clone(),
                    no_chain,
                });
            }
        }
    }
    let mut emails = 0;
    for (recipient, items) in batches {
        let person = &staff[&recipient];
        let Some(address) = person.email.as_deref() else { continue };
        let locale = locale_of(ctx, person);
        let (subject, body) = render::escalation_email(&ctx.templates, locale, &person.name, &items, today);
        // The first item's (item, level) was recorded in this very transaction and can never
        // be recorded again, so this key is unique to this batch.
        let first = &items[0];
        let key = format!("escalate:{}:{}:{}", recipient.0, first.item.key(), first.level.number());
        if notify::email(tx, &key, address, &subject, &body, now).await? {
            emails += 1;
        }
    }
    Ok((escalated, emails))
}
