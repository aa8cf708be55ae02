//! Prospects that never became customers are destroyed when of no further value (客户数据管理
//! 制度): once a month the managers get the list of prospects without a deal for N months;
//! approving it deletes their personal data and keeps only anonymous counts.

use anyhow::Context;
use chrono::{DateTime, Datelike, NaiveDate, Utc};

use super::Ctx;
use super::access::AccessError;
use super::directory::Directory;
use crate::domain::ids::CustomerId;
use crate::domain::staff::Role;
use crate::notify;
use crate::storage::access as store;
use crate::storage::outbox::Priority;
use crate::storage::staff::Staff;
use crate::storage::{Tx, changes, customers};
use crate::templates::keys;

fn approvers(dir: &Directory) -> Vec<&Staff> {
    let mut people: Vec<&Staff> =
        dir.staff.values().filter(|s| s.active && matches!(s.role, Role::Manager | Role::Director)).collect();
    people.sort_by_key(|s| s.id);
    if people.is_empty() { dir.admins() } else { people }
}

/// In the daily round: the month's purge list, once, from the first round of the month.
pub async fn monthly_list(ctx: &Ctx, tx: &mut Tx, now: DateTime<Utc>, today: NaiveDate) -> anyhow::Result<usize> {
    let months = ctx.settings.retention_months;
    if months == 0 {
        return Ok(0);
    }
    let month = format!("{}-{:02}", today.year(), today.month());
    // The list is made once a month: no scan of the archive on the other days.
    if store::purge_list_exists(tx, &month).await? {
        return Ok(0);
    }
    let before = today.checked_sub_months(chrono::Months::new(months)).unwrap_or(NaiveDate::MIN);
    let stale = customers::stale_prospects(tx, before).await?;
    if stale.is_empty() {
        // Remember the month was looked at, so the rest of it costs nothing.
        store::add_purge_list(tx, &month, &[], now).await?;
        return Ok(0);
    }
    let ids: Vec<CustomerId> = stale.iter().map(|(id, _, _)| *id).collect();
    let Some(list) = store::add_purge_list(tx, &month, &ids, now).await? else { return Ok(0) };
    let dir = Directory::load(tx).await?;
    let lines: Vec<String> = stale.iter().map(|(_, no, name)| format!("• {no} {name}")).collect();
    let mut sent = 0;
    for person in approvers(&dir) {
        let l = ctx.locale_of(person);
        let text = ctx.templates.render(
            l,
            keys::PURGE_ASK,
            &[
                ("month", &month),
                ("months", &months.to_string()),
                ("count", &stale.len().to_string()),
                ("customers", &lines.join("\n")),
            ],
        );
        let keyboard = crate::telegram::view::yes_no_keyboard(&ctx.templates, l, &format!("pg:{list}"));
        let key = format!("purge:{list}:ask:{}", person.telegram_id.0);
        let at = ctx.polite_time(now);
        sent += notify::telegram_at(
            tx,
            &key,
            person.telegram_id.0,
            &text,
            Some(serde_json::to_string(&keyboard)?),
            Priority::Bulk,
            now,
            at,
        )
        .await?;
    }
    Ok(sent)
}

/// A manager approves (the personal data goes) or rejects the list. Returns how many were purged.
pub async fn decide(ctx: &Ctx, by: &Staff, id: i64, approve: bool) -> Result<usize, AccessError> {
    let now = ctx.now();
    let mut tx = ctx.db.begin().await?;
    let dir = Directory::load(&mut tx).await?;
    if !approvers(&dir).iter().any(|s| s.id == by.id) {
        return Err(AccessError::NotAllowed);
    }
    let (_, ids, _) = store::purge_list(&mut tx, id).await?.ok_or(AccessError::NotFound)?;
    if !store::decide_purge(&mut tx, id, approve, by.id, now).await? {
        return Err(AccessError::AlreadyDecided);
    }
    let mut purged = 0;
    if approve {
        for customer in ids {
            // A prospect that made a deal since the list was made is kept.
            if customers::status(&mut tx, customer).await?.as_deref() != Some("prospect") {
                continue;
            }
            customers::purge(&mut tx, customer, now).await?;
            changes::record(&mut tx, customer, "purged", None, None, Some(by.id), None, now).await?;
            purged += 1;
        }
    }
    tx.commit().await.context("committing a purge decision")?;
    Ok(purged)
}

/// `/deal`: a prospect made a deal and is a customer now.
pub async fn mark_deal(ctx: &Ctx, staff: &Staff, customer: CustomerId) -> anyhow::Result<bool> {
    let now = ctx.now();
    let mut tx = ctx.db.begin().await?;
    if customers::status(&mut tx, customer).await?.as_deref() != Some("prospect") {
        return Ok(false);
    }
    customers::set_status(&mut tx, customer, "customer", now).await?;
    changes::record(&mut tx, customer, "status", Some("prospect"), Some("customer"), Some(staff.id), None, now).await?;
    tx.commit().await.context("committing a deal")?;
    Ok(true)
}
