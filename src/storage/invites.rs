//! One-time staff invitation codes.

use anyhow::Context;
use chrono::{DateTime, Utc};
use sqlx::{AnyConnection, FromRow};

use super::{epoch, from_epoch};
use crate::domain::ids::StaffId;
use crate::domain::staff::Role;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invite {
    pub code: String,
    pub role: Role,
    pub manager: Option<StaffId>,
    pub name: Option<String>,
    pub email: Option<String>,
    pub created_at: DateTime<Utc>,
    pub used: bool,
}

#[derive(FromRow)]
struct Row {
    code: String,
    role: String,
    manager_id: Option<i64>,
    name: Option<String>,
    email: Option<String>,
    created_at: i64,
    used_at: Option<i64>,
}

pub async fn insert(conn: &mut AnyConnection, invite: &Invite) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO invites (code, role, manager_id, name, email, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&invite.code)
    .bind(invite.role.as_str())
    .bind(invite.manager.map(|m| m.0))
    .bind(invite.name.as_deref())
    .bind(invite.email.as_deref())
    .bind(epoch(invite.created_at))
    .execute(conn)
    .await
    .context("storing invitation")?;
    Ok(())
}

pub async fn find(conn: &mut AnyConnection, code: &str) -> anyhow::Result<Option<Invite>> {
    let row: Option<Row> =
        sqlx::query_as("SELECT code, role, manager_id, name, email, created_at, used_at FROM invites WHERE code = $1")
            .bind(code)
            .fetch_optional(conn)
            .await
            .context("loading invitation")?;
    row.map(|r| {
        Ok(Invite {
            role: r.role.parse().ok().context("stored invitation role is unknown")?,
            code: r.code,
            manager: r.manager_id.map(StaffId),
            name: r.name,
            email: r.email,
            created_at: from_epoch(r.created_at),
            used: r.used_at.is_some(),
        })
    })
    .transpose()
}

/// Mark used; `false` when someone else used it first (the race is decided here).
pub async fn mark_used(conn: &mut AnyConnection, code: &str, by: StaffId, now: DateTime<Utc>) -> anyhow::Result<bool> {
    let done = sqlx::query("UPDATE invites SET used_at = $1, used_by = $2 WHERE code = $3 AND used_at IS NULL")
        .bind(epoch(now))
        .bind(by.0)
        .bind(code)
        .execute(conn)
        .await
        .context("redeeming invitation")?;
    Ok(done.rows_affected() == 1)
}
