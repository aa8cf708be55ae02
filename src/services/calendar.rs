//! The PRC working calendar in our database: seeded from the calendar crate (official days
//! where it has them, lunar estimates otherwise) and replaced by the State Council's schedule
//! when an administrator imports it.

use std::io::Read;
use std::ops::RangeInclusive;

use anyhow::Context;
use chrono::{Datelike, NaiveDate};

use super::Ctx;
use super::import::ImportError;
use crate::domain::calendar::{DayKind, WorkCalendar};
use crate::domain::prc_calendar::{self, Festival, HolidayDay};
use crate::storage::{Tx, holidays};

/// Store our schedule for every year in `years` that has nothing stored yet.
pub async fn ensure_years(tx: &mut Tx, years: RangeInclusive<i32>) -> anyhow::Result<()> {
    for year in years {
        let (rows, _) = holidays::year_state(tx, year).await?;
        if rows == 0 {
            holidays::replace_years(tx, &prc_calendar::schedule(year)).await?;
        }
    }
    Ok(())
}

/// The working calendar for the year around `today`.
pub async fn work_calendar(tx: &mut Tx, today: NaiveDate) -> anyhow::Result<WorkCalendar> {
    ensure_years(tx, today.year() - 1..=today.year() + 1).await?;
    let days = holidays::between(tx, today - chrono::Duration::days(400), today + chrono::Duration::days(400)).await?;
    Ok(WorkCalendar::with_exceptions(days.into_iter().map(|d| (d.date, d.kind))))
}

/// Whether the official schedule of `year` is loaded (nothing stored, or only our estimates,
/// means it is not).
pub async fn official_loaded(tx: &mut Tx, year: i32) -> anyhow::Result<bool> {
    let (rows, estimated) = holidays::year_state(tx, year).await?;
    Ok(rows > 0 && estimated == 0)
}

/// The first day off of each festival in `year`, from the stored schedule; the festival's own
/// day when the schedule does not tag it.
pub async fn first_days_off(tx: &mut Tx, year: i32) -> anyhow::Result<Vec<(Festival, NaiveDate)>> {
    ensure_years(tx, year..=year).await?;
    let days = holidays::year(tx, year).await?;
    let mut out = Vec::new();
    for festival in Festival::ALL {
        let stored =
            days.iter().filter(|d| d.kind == DayKind::Off && d.festival == Some(festival)).map(|d| d.date).min();
        if let Some(date) = stored.or_else(|| prc_calendar::festival_date(festival, year)) {
            out.push((festival, date));
        }
    }
    Ok(out)
}

/// Import an official schedule: CSV with a header row `date,name,kind`, `kind` being `off` or
/// `workday`, dates `YYYY-MM-DD`. Every year the file mentions is replaced as a whole.
/// A festival is recognised by its Chinese name (元旦, 春节, 清明节, 劳动节, 端午节, 中秋节,
/// 国庆节) so that greetings follow the official first day off.
pub async fn import(ctx: &Ctx, input: impl Read) -> Result<usize, ImportError> {
    let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(input);
    let headers = reader.headers().map_err(|e| ImportError::Header(e.to_string()))?.clone();
    let names: Vec<String> = headers.iter().map(str::to_ascii_lowercase).collect();
    if names != ["date", "name", "kind"] {
        return Err(ImportError::Header(format!("expected date,name,kind, found {}", names.join(","))));
    }
    let mut days: Vec<HolidayDay> = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| ImportError::Row {
            line: e.position().map(|p| p.line()).unwrap_or(0),
            message: e.to_string(),
        })?;
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        let bad = |message: String| ImportError::Row { line, message };
        let date = NaiveDate::parse_from_str(&record[0], "%Y-%m-%d")
            .map_err(|_| bad(format!("date: '{}' is not YYYY-MM-DD", &record[0])))?;
        let name = record[1].to_owned();
        if name.is_empty() {
            return Err(bad("name: must not be empty".into()));
        }
        let kind = match &record[2] {
            "off" => DayKind::Off,
            "workday" | "working" => DayKind::Working,
            other => return Err(bad(format!("kind: '{other}' is neither off nor workday"))),
        };
        if days.iter().any(|d| d.date == date) {
            return Err(bad(format!("date: {date} appears twice")));
        }
        let festival = name.parse::<Festival>().ok();
        days.push(HolidayDay { date, kind, name, festival, estimated: false });
    }
    if days.is_empty() {
        return Err(ImportError::Header("the file has no days".into()));
    }
    let mut tx = ctx.db.begin().await?;
    holidays::replace_years(&mut tx, &days).await?;
    tx.commit().await.context("committing the holiday import")?;
    Ok(days.len())
}
