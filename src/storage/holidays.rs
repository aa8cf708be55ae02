//! Our own table of statutory holidays and make-up working days, seeded from the calendar
//! crate and extended by administrators when the State Council publishes a new year.

use anyhow::Context;
use chrono::{Datelike, NaiveDate};
use sqlx::{AnyConnection, FromRow};

use super::{date_text, parse_date};
use crate::domain::calendar::DayKind;
use crate::domain::prc_calendar::{Festival, HolidayDay};

fn kind_text(kind: DayKind) -> &'static str {
    match kind {
        DayKind::Off => "off",
        DayKind::Working => "working",
    }
}

#[derive(FromRow)]
struct Row {
    day: String,
    kind: String,
    name: String,
    festival: Option<String>,
    estimated: i64,
}

impl TryFrom<Row> for HolidayDay {
    type Error = anyhow::Error;
    fn try_from(r: Row) -> anyhow::Result<Self> {
        Ok(HolidayDay {
            date: parse_date(&r.day)?,
            kind: if r.kind == "working" { DayKind::Working } else { DayKind::Off },
            name: r.name,
            festival: r.festival.and_then(|f| f.parse::<Festival>().ok()),
            estimated: r.estimated != 0,
        })
    }
}

/// Days of the table within `[from, to]`.
pub async fn between(conn: &mut AnyConnection, from: NaiveDate, to: NaiveDate) -> anyhow::Result<Vec<HolidayDay>> {
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT day, kind, name, festival, estimated FROM holidays WHERE day >= $1 AND day <= $2 ORDER BY day",
    )
    .bind(date_text(from))
    .bind(date_text(to))
    .fetch_all(conn)
    .await
    .context("loading holidays")?;
    rows.into_iter().map(HolidayDay::try_from).collect()
}

pub async fn year(conn: &mut AnyConnection, year: i32) -> anyhow::Result<Vec<HolidayDay>> {
    let rows: Vec<Row> =
        sqlx::query_as("SELECT day, kind, name, festival, estimated FROM holidays WHERE year = $1 ORDER BY day")
            .bind(i64::from(year))
            .fetch_all(conn)
            .await
            .context("loading a year's holidays")?;
    rows.into_iter().map(HolidayDay::try_from).collect()
}

/// Whether the table has anything for `year`, and whether all of it is estimated.
pub async fn year_state(conn: &mut AnyConnection, year: i32) -> anyhow::Result<(i64, i64)> {
    let (rows, estimated): (i64, Option<i64>) =
        sqlx::query_as("SELECT COUNT(*), CAST(SUM(estimated) AS BIGINT) FROM holidays WHERE year = $1")
            .bind(i64::from(year))
            .fetch_one(conn)
            .await
            .context("checking a year's holidays")?;
    Ok((rows, estimated.unwrap_or(0)))
}

/// Replace everything stored for the years the given days belong to.
pub async fn replace_years(conn: &mut AnyConnection, days: &[HolidayDay]) -> anyhow::Result<()> {
    let mut years: Vec<i32> = days.iter().map(|d| d.date.year()).collect();
    years.sort();
    years.dedup();
    for y in years {
        sqlx::query("DELETE FROM holidays WHERE year = $1")
            .bind(i64::from(y))
            .execute(&mut *conn)
            .await
            .context("clearing a year")?;
    }
    for d in days {
        sqlx::query(
            // Two requests may seed a new year at the same moment (PostgreSQL, READ COMMITTED):
            // both compute the same schedule, so the second one's rows are simply already there.
            "INSERT INTO holidays (day, year, kind, name, festival, estimated) VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT DO NOTHING",
        )
        .bind(date_text(d.date))
        .bind(i64::from(d.date.year()))
        .bind(kind_text(d.kind))
        .bind(&d.name)
        .bind(d.festival.map(|f| f.key()))
        .bind(i64::from(d.estimated))
        .execute(&mut *conn)
        .await
        .with_context(|| format!("storing holiday {}", d.date))?;
    }
    Ok(())
}
