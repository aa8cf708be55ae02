//! Exports of customer data. Operational data a person may read goes to them at once; an
//! export with A-tier customers or confidential fields needs two approvals — the requester's
//! department head and the marketing director — and the file then goes only to the
//! requester, its name and first line marked with who and when.

use anyhow::Context;

use super::Ctx;
use super::access::AccessError;
use super::directory::Directory;
use crate::domain::ids::StaffId;
use crate::domain::staff::Role;
use crate::notify;
use crate::storage::access as store;
use crate::storage::outbox::Priority;
use crate::storage::staff::Staff;
use crate::templates::keys;

/// Who approves: the requester's department head (their manager) and the head of marketing
/// (a director or an administrator when marketing has no head).
fn approvers(dir: &Directory, requester: &Staff) -> (Vec<StaffId>, Vec<StaffId>) {
    let head = match dir.active(requester.manager) {
        Some(m) => vec![m.id],
        None => dir.admins().iter().map(|s| s.id).collect(),
    };
    let marketing = dir.department(Some("marketing")).and_then(|d| dir.active(d.head));
    let director = match marketing {
        Some(m) => vec![m.id],
        None => {
            let mut d: Vec<StaffId> =
                dir.staff.values().filter(|s| s.active && s.role == Role::Director).map(|s| s.id).collect();
            d.sort();
            if d.is_empty() { dir.admins().iter().map(|s| s.id).collect() } else { d }
        }
    };
    (head, director)
}

/// The file for `staff`, marked with who and when; queued as a Telegram document.
async fn deliver(ctx: &Ctx, staff: &Staff, approved: bool, key: &str) -> anyhow::Result<usize> {
    let now = ctx.now();
    let mut csv = Vec::new();
    let marker = ctx.templates.render(
        ctx.locale_of(staff),
        keys::EXPORT_MARK,
        &[("name", &staff.name), ("id", &staff.telegram_id.0.to_string()), ("at", &ctx.local_time(now))],
    );
    csv.extend_from_slice(format!("# {marker}\n").as_bytes());
    let done = super::import::export(ctx, staff, approved, &mut csv).await?;
    let name = format!(
        "customers-{}-{}.csv",
        staff.telegram_id.0,
        now.with_timezone(&ctx.settings.timezone).format("%Y%m%d-%H%M")
    );
    let mut conn = ctx.db.pool().acquire().await?;
    notify::document(&mut conn, key, staff.telegram_id.0, &name, &String::from_utf8(csv)?, now).await?;
    ctx.wake_worker.notify_one();
    Ok(done.rows)
}

/// `/export`: what the person may read, A-tier customers left out, at once.
pub async fn export_now(ctx: &Ctx, staff: &Staff, update_key: &str) -> anyhow::Result<usize> {
    deliver(ctx, staff, false, &format!("export:{update_key}")).await
}

/// `/export full`: ask the two approvers.
pub async fn request_full(ctx: &Ctx, staff: &Staff) -> anyhow::Result<i64> {
    let now = ctx.now();
    let mut tx = ctx.db.begin().await?;
    let id = store::add_export(&mut tx, staff.id, now).await?;
    let dir = Directory::load(&mut tx).await?;
    let (heads, directors) = approvers(&dir, staff);
    let mut asked: Vec<StaffId> = heads.into_iter().chain(directors).collect();
    asked.sort();
    asked.dedup();
    for person in asked.iter().filter_map(|id| dir.active(Some(*id))) {
        let l = ctx.locale_of(person);
        let text = ctx.templates.render(
            l,
            keys::EXPORT_ASK,
            &[("id", &id.to_string()), ("staff", &staff.name), ("role", staff.role.as_str())],
        );
        let keyboard = crate::telegram::view::yes_no_keyboard(&ctx.templates, l, &format!("ex:{id}"));
        notify::telegram(
            &mut tx,
            &format!("export:{id}:ask:{}", person.telegram_id.0),
            person.telegram_id.0,
            &text,
            Some(serde_json::to_string(&keyboard)?),
            Priority::Interactive,
            now,
        )
        .await?;
    }
    tx.commit().await.context("committing an export request")?;
    ctx.wake_worker.notify_one();
    Ok(id)
}

/// What an approval did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportState {
    Waiting,
    /// Both approved: the file went to the requester with this many rows.
    Sent(usize),
    Denied,
}

/// An approver says yes or no. One "no" ends the request.
pub async fn decide(ctx: &Ctx, by: &Staff, id: i64, yes: bool) -> Result<ExportState, AccessError> {
    let now = ctx.now();
    let mut tx = ctx.db.begin().await?;
    let req = store::export_request(&mut tx, id).await?.ok_or(AccessError::NotFound)?;
    if req.status != "pending" {
        return Err(AccessError::AlreadyDecided);
    }
    let dir = Directory::load(&mut tx).await?;
    let requester = dir.active(Some(req.staff)).ok_or(AccessError::NotFound)?.clone();
    let (heads, directors) = approvers(&dir, &requester);
    let (as_head, as_director) = (heads.contains(&by.id), directors.contains(&by.id));
    if !as_head && !as_director {
        return Err(AccessError::NotAllowed);
    }
    if !yes {
        store::close_export(&mut tx, id, "denied", now).await?;
        let l = ctx.locale_of(&requester);
        let text = ctx.templates.render(l, keys::EXPORT_DENIED, &[("id", &id.to_string()), ("by", &by.name)]);
        notify::telegram(
            &mut tx,
            &format!("export:{id}:denied"),
            requester.telegram_id.0,
            &text,
            None,
            Priority::Interactive,
            now,
        )
        .await?;
        tx.commit().await.context("committing an export decision")?;
        ctx.wake_worker.notify_one();
        return Ok(ExportState::Denied);
    }
    store::approve_export(&mut tx, id, as_head, as_director, by.id).await?;
    let req = store::export_request(&mut tx, id).await?.ok_or(AccessError::NotFound)?;
    if !(req.head_ok && req.director_ok) {
        tx.commit().await.context("committing an export approval")?;
        return Ok(ExportState::Waiting);
    }
    if !store::close_export(&mut tx, id, "done", now).await? {
        return Err(AccessError::AlreadyDecided);
    }
    tx.commit().await.context("committing an export approval")?;
    let rows = deliver(ctx, &requester, true, &format!("export:{id}:file")).await?;
    Ok(ExportState::Sent(rows))
}
