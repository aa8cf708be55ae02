//! "What is due at `now` that has not been queued yet?"
//!
//! The planner holds no state between runs beyond what it wrote: every run recomputes what is
//! owed from the database and queues it under idempotency keys, so a missed tick, a restart or
//! a second instance changes nothing — catch-up after downtime is just the next ordinary run.
//!
//! Every tick: complaint timers, task timers, and (at the greeting hour) the day's greetings.
//! Once per working day, from the daily-round time on: digests, escalations, birthday and
//! holiday preparation, credit expiry, the yearly data check, the weekly update digest and the
//! reminder to load next year's holidays.

mod cadence;
mod greetings;
mod tasks;

use std::collections::HashMap;

use anyhow::Context;
use chrono::{DateTime, NaiveDate, Utc};

use crate::domain::calendar::daily_round_due;
use crate::domain::ids::StaffId;
use crate::services::{self, Ctx};
use crate::storage::staff::{self as staff_store, Staff};
use crate::storage::{Tx, app_state, customers};

const DAILY_ROUND: &str = "daily_round";

/// What one planner run queued.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PlanReport {
    /// The local date whose daily round ran in this run, if it did.
    pub round: Option<NaiveDate>,
    pub digests: usize,
    pub escalated_items: usize,
    pub escalation_emails: usize,
    /// Complaint timers that produced messages (they run every tick, at any hour).
    pub complaint_alarms: usize,
    /// Archive-task messages: new tasks, reminders, escalations.
    pub task_messages: usize,
    /// Greetings and birthday or holiday messages to reps.
    pub greetings: usize,
}

/// Run the planner as of `now`, committing everything it queues in one transaction.
#[tracing::instrument(skip_all, fields(now = %now))]
pub async fn plan(ctx: &Ctx, now: DateTime<Utc>) -> anyhow::Result<PlanReport> {
    let started = std::time::Instant::now();
    let mut tx = ctx.db.begin().await?;
    // Several instances tick every minute; one plans, the others skip this minute. (The outbox
    // keys would keep a second run from sending twice anyway; the lock saves the work.)
    if !crate::storage::try_lock_planner(&mut tx, ctx.db.backend()).await? {
        tracing::debug!("another instance is planning; skipping this tick");
        return Ok(PlanReport::default());
    }
    let report = plan_in(ctx, &mut tx, now).await?;
    app_state::set(&mut tx, app_state::LAST_TICK, &now.to_rfc3339()).await?;
    tx.commit().await.context("committing planner run")?;
    let m = &ctx.metrics;
    crate::metrics::Metrics::inc(&m.ticks);
    crate::metrics::Metrics::add(&m.escalations, report.escalated_items as u64);
    m.last_tick_micros.store(started.elapsed().as_micros() as u64, std::sync::atomic::Ordering::Relaxed);
    if report != (PlanReport { round: report.round, ..PlanReport::default() }) {
        tracing::info!(?report, "planner queued messages");
    }
    Ok(report)
}

/// The planner's work inside a caller's transaction (`guanxi tick --dry-run` rolls it back).
pub async fn plan_in(ctx: &Ctx, tx: &mut Tx, now: DateTime<Utc>) -> anyhow::Result<PlanReport> {
    let settings = &ctx.settings;
    let mut report = PlanReport {
        complaint_alarms: services::complaints::plan_alarms(ctx, tx, now).await?,
        task_messages: tasks::plan_alarms(ctx, tx, now).await?,
        ..PlanReport::default()
    };
    let local_now = now.with_timezone(&settings.timezone).naive_local();
    let calendar = services::calendar::work_calendar(tx, local_now.date()).await?;
    report.greetings = greetings::on_the_day(ctx, tx, now, local_now).await?;

    let Some(today) = daily_round_due(&calendar, local_now, settings.daily_round_at) else {
        return Ok(report);
    };
    // `>=`, not `==`: after the wall clock jumps back across midnight, yesterday's round
    // must not run a second time.
    let last_round = app_state::get(tx, DAILY_ROUND).await?.and_then(|d| d.parse::<NaiveDate>().ok());
    if last_round.is_some_and(|last| last >= today) {
        return Ok(report);
    }
    report.round = Some(today);
    let staff: HashMap<StaffId, Staff> = staff_store::list(tx).await?.into_iter().map(|s| (s.id, s)).collect();
    let horizon = today + chrono::Duration::days(settings.upcoming_days.into());
    let items = customers::due_items(tx, horizon, None).await?;
    report.digests = cadence::queue_digests(ctx, tx, &items, &staff, today, now).await?;
    let (escalated, emails) = cadence::queue_escalations(ctx, tx, &items, &staff, today, now).await?;
    report.escalated_items = escalated;
    report.escalation_emails = emails;
    report.greetings += greetings::ahead(ctx, tx, now, today, &staff).await?;
    report.task_messages += tasks::daily(ctx, tx, now, today).await?;
    report.task_messages += services::retention::monthly_list(ctx, tx, now, today).await?;
    app_state::set(tx, DAILY_ROUND, &today.to_string()).await?;
    forget_delivery_bookkeeping(tx, now).await?;
    Ok(report)
}

/// Handled update ids and idle chat send slots are only needed for a day or two.
async fn forget_delivery_bookkeeping(tx: &mut Tx, now: DateTime<Utc>) -> anyhow::Result<()> {
    crate::storage::updates::prune(tx, now - chrono::Duration::days(2)).await?;
    let day_us = 86_400 * 1_000_000;
    crate::storage::send_gate::prune(tx, crate::storage::wall_clock_us() - day_us).await?;
    Ok(())
}
