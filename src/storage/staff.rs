//! Staff members and their management chain.

use anyhow::Context;
use chrono::{DateTime, Utc};
use sqlx::{AnyConnection, FromRow};

use super::epoch;
use crate::domain::ids::{StaffId, TelegramUserId};
use crate::domain::staff::Role;

/// A member of staff as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Staff {
    pub id: StaffId,
    pub telegram_id: TelegramUserId,
    pub name: String,
    pub role: Role,
    pub manager: Option<StaffId>,
    pub email: Option<String>,
    pub locale: Option<String>,
    pub active: bool,
}

/// What is needed to register someone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewStaff {
    pub telegram_id: TelegramUserId,
    pub name: String,
    pub role: Role,
    pub manager: Option<StaffId>,
    pub email: Option<String>,
}

#[derive(FromRow)]
struct Row {
    id: i64,
    telegram_id: i64,
    name: String,
    role: String,
    manager_id: Option<i64>,
    email: Option<String>,
    locale: Option<String>,
    active: i64,
}

impl TryFrom<Row> for Staff {
    type Error = anyhow::Error;

    fn try_from(r: Row) -> anyhow::Result<Self> {
        Ok(Self {
            id: StaffId(r.id),
            telegram_id: TelegramUserId(r.telegram_id),
            name: r.name,
            role: r.role.parse().ok().with_context(|| format!("stored role '{}' is unknown", r.role))?,
            manager: r.manager_id.map(StaffId),
            email: r.email,
            locale: r.locale,
            active: r.active != 0,
        })
    }
}

const COLUMNS: &str = "id, telegram_id, name, role, manager_id, email, locale, active";

/// Insert; `None` when that Telegram id is registered already.
pub async fn insert(conn: &mut AnyConnection, new: &NewStaff, now: DateTime<Utc>) -> anyhow::Result<Option<Staff>> {
    let row: Option<Row> = sqlx::query_as(
        "INSERT INTO staff (telegram_id, name, role, manager_id, email, active, created_at)
         VALUES ($1, $2, $3, $4, $5, 1, $6)
         ON CONFLICT (telegram_id) DO NOTHING
         RETURNING id, telegram_id, name, role, manager_id, email, locale, active",
    )
    .bind(new.telegram_id.0)
    .bind(&new.name)
    .bind(new.role.as_str())
    .bind(new.manager.map(|m| m.0))
    .bind(new.email.as_deref())
    .bind(epoch(now))
    .fetch_optional(conn)
    .await
    .context("inserting staff")?;
    row.map(Staff::try_from).transpose()
}

pub async fn by_telegram_id(conn: &mut AnyConnection, telegram_id: TelegramUserId) -> anyhow::Result<Option<Staff>> {
    Ok(by_telegram_ids(conn, &[telegram_id]).await?.pop().flatten())
}

/// [`by_telegram_id`] for several people in one statement, one answer per id in order.
pub async fn by_telegram_ids(conn: &mut AnyConnection, ids: &[TelegramUserId]) -> anyhow::Result<Vec<Option<Staff>>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = super::positional(
        conn,
        format!("SELECT {COLUMNS} FROM staff WHERE telegram_id IN ({})", super::params(1, ids.len())),
    );
    let mut query = sqlx::query_as::<_, Row>(sqlx::AssertSqlSafe(sql));
    for id in ids {
        query = query.bind(id.0);
    }
    let mut found = std::collections::HashMap::new();
    for row in query.fetch_all(conn).await.context("loading staff by Telegram id")? {
        let staff = Staff::try_from(row)?;
        found.insert(staff.telegram_id, staff);
    }
    Ok(ids.iter().map(|id| found.get(id).cloned()).collect())
}

pub async fn by_id(conn: &mut AnyConnection, id: StaffId) -> anyhow::Result<Option<Staff>> {
    let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM staff WHERE id = $1")))
        .bind(id.0)
        .fetch_optional(conn)
        .await
        .context("loading staff by id")?;
    row.map(Staff::try_from).transpose()
}

pub async fn list(conn: &mut AnyConnection) -> anyhow::Result<Vec<Staff>> {
    let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM staff ORDER BY id")))
        .fetch_all(conn)
        .await
        .context("listing staff")?;
    rows.into_iter().map(Staff::try_from).collect()
}

/// Remember the language a person's Telegram client reports, for messages we start.
pub async fn set_locale(conn: &mut AnyConnection, id: StaffId, locale: &str) -> anyhow::Result<()> {
    sqlx::query("UPDATE staff SET locale = $1 WHERE id = $2 AND (locale IS NULL OR locale <> $1)")
        .bind(locale)
        .bind(id.0)
        .execute(conn)
        .await
        .context("storing staff locale")?;
    Ok(())
}
