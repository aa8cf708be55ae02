//! Registering staff: directly (the first admin) or by one-time invitation code.

use anyhow::Context;
use chrono::{DateTime, Utc};
use rand::Rng;

use super::Ctx;
use crate::domain::ids::{StaffId, TelegramUserId};
use crate::domain::invite::{CODE_ALPHABET, CODE_LEN, InviteProblem, check_invite, normalise_code};
use crate::domain::staff::Role;
use crate::storage::invites::{self, Invite};
use crate::storage::staff::{self as staff_store, NewStaff, Staff};

/// Why registering someone failed, for the person who asked.
#[derive(Debug, thiserror::Error)]
pub enum StaffError {
    #[error("Telegram user {0} is registered already")]
    Duplicate(i64),
    #[error("no staff member has Telegram id {0}")]
    UnknownManager(i64),
    #[error("invitation: {0:?}")]
    Invite(InviteProblem),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// Register someone directly.
pub async fn add(
    ctx: &Ctx,
    telegram_id: TelegramUserId,
    name: &str,
    role: Role,
    manager: Option<TelegramUserId>,
    email: Option<String>,
) -> Result<Staff, StaffError> {
    let mut tx = ctx.db.begin().await?;
    let manager = resolve_manager(&mut tx, manager).await?;
    let new = NewStaff { telegram_id, name: name.trim().to_owned(), role, manager, email };
    let staff = staff_store::insert(&mut tx, &new, ctx.now()).await?.ok_or(StaffError::Duplicate(telegram_id.0))?;
    tx.commit().await.context("committing new staff")?;
    Ok(staff)
}

async fn resolve_manager(
    conn: &mut sqlx::AnyConnection,
    manager: Option<TelegramUserId>,
) -> Result<Option<StaffId>, StaffError> {
    match manager {
        None => Ok(None),
        Some(tg) => {
            staff_store::by_telegram_id(conn, tg).await?.map(|m| Some(m.id)).ok_or(StaffError::UnknownManager(tg.0))
        }
    }
}

/// Create a one-time code for someone to join with `/start CODE`.
pub async fn invite(
    ctx: &Ctx,
    role: Role,
    manager: Option<TelegramUserId>,
    name: Option<String>,
    email: Option<String>,
) -> Result<Invite, StaffError> {
    let mut conn = ctx.db.pool().acquire().await.context("connecting")?;
    let manager = resolve_manager(&mut conn, manager).await?;
    let code: String = {
        let mut rng = rand::rng();
        (0..CODE_LEN).map(|_| CODE_ALPHABET[rng.random_range(0..CODE_ALPHABET.len())] as char).collect()
    };
    let invite = Invite { code, role, manager, name, email, created_at: ctx.now(), used: false };
    invites::insert(&mut conn, &invite).await?;
    Ok(invite)
}

/// Redeem a code for the Telegram user who sent it.
pub async fn redeem(
    ctx: &Ctx,
    code: &str,
    telegram_id: TelegramUserId,
    telegram_name: &str,
    now: DateTime<Utc>,
) -> Result<Staff, StaffError> {
    let code = normalise_code(code).ok_or(StaffError::Invite(InviteProblem::Unknown))?;
    let mut tx = ctx.db.begin().await?;
    let invite = invites::find(&mut tx, &code).await?.ok_or(StaffError::Invite(InviteProblem::Unknown))?;
    check_invite(invite.created_at, invite.used, now).map_err(StaffError::Invite)?;
    let name = invite.name.clone().unwrap_or_else(|| telegram_name.to_owned());
    let new = NewStaff { telegram_id, name, role: invite.role, manager: invite.manager, email: invite.email.clone() };
    let staff = staff_store::insert(&mut tx, &new, now).await?.ok_or(StaffError::Duplicate(telegram_id.0))?;
    if !invites::mark_used(&mut tx, &code, staff.id, now).await? {
        return Err(StaffError::Invite(InviteProblem::AlreadyUsed));
    }
    tx.commit().await.context("committing invitation")?;
    Ok(staff)
}
