//! The clock that drives the planner. It only ticks: every minute it asks the planner what is
//! due now and wakes the worker. All business state is in the database, so a tick that is
//! missed (downtime, or upstream's known habit of repeated jobs stalling) costs nothing; the
//! time of the last tick is stored (`app_state.last_tick`) for health checks.

use std::sync::Arc;

use anyhow::Context;
use tokio::sync::Mutex;
use tokio_cron_scheduler::{Job, JobScheduler};

use super::planner;
use crate::services::Ctx;

/// Every minute, at second 0, in the company's time zone.
pub const TICK_EVERY_MINUTE: &str = "0 * * * * *";

/// Start ticking; the returned scheduler must be kept (and shut down) by the caller.
pub async fn start(ctx: Ctx) -> anyhow::Result<JobScheduler> {
    let scheduler = JobScheduler::new().await.context("creating the scheduler")?;
    // One planner run at a time in this process; a slow run makes the next tick wait
    // rather than race it (the database would keep them correct, this keeps them cheap).
    let running = Arc::new(Mutex::new(()));
    let tz = ctx.settings.timezone;
    let job = Job::new_async_tz(TICK_EVERY_MINUTE, tz, move |_id, _scheduler| {
        let ctx = ctx.clone();
        let running = running.clone();
        Box::pin(async move {
            let Ok(_guard) = running.try_lock() else {
                tracing::warn!("previous tick still running; skipping this one");
                return;
            };
            tick(&ctx).await;
        })
    })
    .context("creating the tick job")?;
    scheduler.add(job).await.context("adding the tick job")?;
    scheduler.start().await.context("starting the scheduler")?;
    Ok(scheduler)
}

/// One tick: plan as of now, then wake the worker.
pub async fn tick(ctx: &Ctx) {
    let started = std::time::Instant::now();
    match planner::plan(ctx, ctx.now()).await {
        Ok(report) => {
            tracing::debug!(?report, elapsed_ms = started.elapsed().as_millis() as u64, "tick");
            ctx.wake_worker.notify_one();
        }
        Err(error) => tracing::error!(error = format!("{error:#}"), "planner run failed"),
    }
}
