//! Calls, visits and other touches, as logged.

use anyhow::Context;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{AnyConnection, FromRow};

use super::{date_text, epoch, from_epoch, parse_date};
use crate::domain::ids::{CustomerId, StaffId};

/// Where an interaction record came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Bot,
    Import,
}

impl Source {
    fn as_str(self) -> &'static str {
        match self {
            Self::Bot => "bot",
            Self::Import => "import",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewInteraction {
    pub customer: CustomerId,
    pub staff: Option<StaffId>,
    /// `call`, `visit`, …
    pub kind: String,
    pub occurred_at: DateTime<Utc>,
    pub occurred_on: NaiveDate,
    pub notes: String,
    pub source: Source,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interaction {
    pub kind: String,
    pub occurred_at: DateTime<Utc>,
    pub occurred_on: NaiveDate,
    pub notes: String,
    pub staff_name: Option<String>,
}

pub async fn insert(conn: &mut AnyConnection, new: &NewInteraction, now: DateTime<Utc>) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO interactions (customer_id, staff_id, kind, occurred_at, occurred_on, notes, source, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(new.customer.0)
    .bind(new.staff.map(|s| s.0))
    .bind(&new.kind)
    .bind(epoch(new.occurred_at))
    .bind(date_text(new.occurred_on))
    .bind(&new.notes)
    .bind(new.source.as_str())
    .bind(epoch(now))
    .execute(conn)
    .await
    .context("logging interaction")?;
    Ok(())
}

/// The latest `limit` interactions of a customer, newest first.
pub async fn latest(conn: &mut AnyConnection, customer: CustomerId, limit: i64) -> anyhow::Result<Vec<Interaction>> {
    #[derive(FromRow)]
    struct Row {
        kind: String,
        occurred_at: i64,
        occurred_on: String,
        notes: String,
        staff_name: Option<String>,
    }
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT i.kind, i.occurred_at, i.occurred_on, i.notes, s.name AS staff_name
         FROM interactions i LEFT JOIN staff s ON s.id = i.staff_id
         WHERE i.customer_id = $1 ORDER BY i.occurred_at DESC, i.id DESC LIMIT $2",
    )
    .bind(customer.0)
    .bind(limit)
    .fetch_all(conn)
    .await
    .context("loading interactions")?;
    rows.into_iter()
        .map(|r| {
            Ok(Interaction {
                kind: r.kind,
                occurred_at: from_epoch(r.occurred_at),
                occurred_on: parse_date(&r.occurred_on)?,
                notes: r.notes,
                staff_name: r.staff_name,
            })
        })
        .collect()
}
