//! Departments that complaints go to, each with a head among the staff. `service` is customer
//! service itself; its head is the service manager.

use anyhow::Context;
use sqlx::{AnyConnection, FromRow};

use crate::domain::ids::StaffId;
use crate::locale::Locale;

pub const SERVICE: &str = "service";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Department {
    pub key: String,
    pub name_zh: String,
    pub name_en: String,
    pub head: Option<StaffId>,
    pub handles_complaints: bool,
}

impl Department {
    pub fn name(&self, locale: Locale) -> &str {
        match locale {
            Locale::ZhCn => &self.name_zh,
            Locale::En => &self.name_en,
        }
    }
}

#[derive(FromRow)]
struct Row {
    key: String,
    name_zh: String,
    name_en: String,
    head_id: Option<i64>,
    handles_complaints: i64,
}

impl From<Row> for Department {
    fn from(r: Row) -> Self {
        Self {
            key: r.key,
            name_zh: r.name_zh,
            name_en: r.name_en,
            head: r.head_id.map(StaffId),
            handles_complaints: r.handles_complaints != 0,
        }
    }
}

pub async fn all(conn: &mut AnyConnection) -> anyhow::Result<Vec<Department>> {
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT key, name_zh, name_en, head_id, handles_complaints FROM departments ORDER BY position, key",
    )
    .fetch_all(conn)
    .await
    .context("listing departments")?;
    Ok(rows.into_iter().map(Department::from).collect())
}

pub async fn get(conn: &mut AnyConnection, key: &str) -> anyhow::Result<Option<Department>> {
    let row: Option<Row> =
        sqlx::query_as("SELECT key, name_zh, name_en, head_id, handles_complaints FROM departments WHERE key = $1")
            .bind(key)
            .fetch_optional(conn)
            .await
            .context("loading department")?;
    Ok(row.map(Department::from))
}

/// Create or change a department (names and head).
pub async fn upsert(conn: &mut AnyConnection, d: &Department) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO departments (key, name_zh, name_en, head_id, handles_complaints, position)
         VALUES ($1, $2, $3, $4, $5, (SELECT COALESCE(MAX(position), 0) + 1 FROM departments))
         ON CONFLICT (key) DO UPDATE SET name_zh = excluded.name_zh, name_en = excluded.name_en,
             head_id = excluded.head_id, handles_complaints = excluded.handles_complaints",
    )
    .bind(&d.key)
    .bind(&d.name_zh)
    .bind(&d.name_en)
    .bind(d.head.map(|h| h.0))
    .bind(i64::from(d.handles_complaints))
    .execute(conn)
    .await
    .context("storing department")?;
    Ok(())
}
