//! The tiered call and visit cadence: one digest per rep and the e-mail escalations.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate, Utc};

use crate::domain::agenda::{Agenda, DueItem};
use crate::domain::escalation::Level;
use crate::domain::ids::{CustomerId, StaffId};
use crate::notify;
use crate::render::{self, EscalatedItem};
use crate::services::Ctx;
use crate::storage::access as access_log;
use crate::storage::outbox::{self, Priority};
use crate::storage::staff::Staff;
use crate::storage::{Tx, escalations};

/// One digest per active rep with anything overdue, due today or coming up.
pub(super) async fn queue_digests(
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
    // Every digest is built first and queued in a few statements; a digest is also a list of
    // customers read by the rep, logged (like any list) for the digests that are new.
    let mut messages = Vec::new();
    let mut seen_by: Vec<(String, StaffId, Vec<CustomerId>)> = Vec::new();
    for (owner, items) in by_owner {
        let Some(rep) = staff.get(&owner).filter(|s| s.active) else {
            continue;
        };
        let agenda = Agenda::build(items, today, ctx.settings.upcoming_days);
        if agenda.is_empty() {
            continue;
        }
        let locale = ctx.locale_of(rep);
        let text = render::agenda(&ctx.templates, locale, &agenda, today, ctx.settings.upcoming_days);
        let key = format!("digest:{}:{today}", owner.0);
        let at = ctx.polite_time(now);
        messages.extend(notify::telegram_parts(&key, rep.telegram_id.0, &text, None, Priority::Bulk, at));
        let mut seen: Vec<_> =
            agenda.overdue.iter().chain(&agenda.due_today).chain(&agenda.upcoming).map(|i| i.customer).collect();
        seen.sort();
        seen.dedup();
        seen_by.push((key, owner, seen));
    }
    let new = outbox::enqueue_many(tx, &messages, now).await?;
    let mut queued = 0;
    let mut reads = Vec::new();
    for (key, owner, seen) in seen_by {
        if new.contains(&key) {
            queued += 1;
            reads.extend(seen.into_iter().map(|customer| (owner, customer)));
        }
    }
    access_log::log_reads_of_many(tx, &reads, "public,internal", "digest", now).await?;
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
pub(super) async fn queue_escalations(
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
    // Every level each overdue item has reached, with who receives it…
    let mut candidates = Vec::new();
    for item in sorted {
        let Some(rep) = staff.get(&item.owner) else { continue };
        for level in ctx.settings.escalation.levels_reached(item.action, item.days_overdue(today)) {
            let (recipients, no_chain) = recipients_for(rep, level, staff);
            candidates.push((item, rep, level, recipients, no_chain));
        }
    }
    // …recorded in one go; only the pairs recorded now (never before) are escalated.
    let entries: Vec<_> = candidates.iter().map(|(item, _, level, r, _)| (*item, *level, r.first().copied())).collect();
    let new = escalations::record_many(tx, &entries, now).await?;
    for (item, rep, level, recipients, no_chain) in candidates {
        if !new.contains(&(item.key(), level.number())) {
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
                days_overdue: item.days_overdue(today),
                rep_name: rep.name.clone(),
                no_chain,
            });
        }
    }
    let mut emails = 0;
    for (recipient, items) in batches {
        let person = &staff[&recipient];
        let Some(address) = person.email.as_deref() else { continue };
        let locale = ctx.locale_of(person);
        let (subject, body) = render::escalation_email(&ctx.templates, locale, &person.name, &items, today);
        // The first item's (item, level) was recorded in this very transaction and can never
        // be recorded again, so this key is unique to this batch.
        let first = &items[0];
        let key = format!("escalate:{}:{}:{}", recipient.0, first.item.key(), first.level.number());
        if notify::email(tx, &key, address, &subject, &body, now).await? {
            emails += 1;
            let seen: Vec<_> = items.iter().map(|e| e.item.customer).collect();
            access_log::log_reads(tx, recipient, &seen, "public,internal", "escalation e-mail", now).await?;
        }
    }
    Ok((escalated, emails))
}
