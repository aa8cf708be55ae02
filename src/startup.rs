//! Putting the parts together: database, templates, bot, mailer, and the three long-running
//! tasks (bot dispatcher, scheduler tick, outbox worker).

use std::sync::Arc;

use anyhow::Context;
use teloxide::dispatching::ShutdownToken;
use teloxide::error_handlers::LoggingErrorHandler;
use teloxide::prelude::*;
use tokio::sync::Notify;
use tokio_cron_scheduler::JobScheduler;

use crate::clock::Clock;
use crate::config::Settings;
use crate::email::Mailer;
use crate::jobs::{scheduler, worker::Worker};
use crate::services::{self, Ctx};
use crate::shutdown::{self, ShutdownHandle};
use crate::storage::Db;
use crate::telegram::{self, TgBot};
use crate::templates::Templates;

/// Connect, migrate, load templates, and bring stored due dates in line with the policy.
pub async fn build_context(settings: Settings, clock: Arc<dyn Clock>) -> anyhow::Result<Ctx> {
    let templates = Templates::load().context("loading message templates")?;
    let db = Db::connect(settings.database_url.expose()).await?;
    db.migrate().await?;
    let ctx = Ctx {
        db,
        settings: Arc::new(settings),
        templates: Arc::new(templates),
        clock,
        wake_worker: Arc::new(Notify::new()),
        metrics: Arc::default(),
    };
    services::customers::reconcile_cadence_policy(&ctx).await?;
    Ok(ctx)
}

/// The running tasks: bot dispatcher and, as chosen, the outbox worker and the scheduler tick.
pub struct Running {
    dispatcher: ShutdownToken,
    dispatcher_task: tokio::task::JoinHandle<()>,
    worker_task: Option<tokio::task::JoinHandle<()>>,
    stop_worker: ShutdownHandle,
    scheduler: Option<JobScheduler>,
}

/// Which background tasks run beside the bot. Production runs both; the integration tests
/// drive the planner and the worker by hand with a simulated clock (`planner::plan(now)`,
/// `Worker::run_until_empty(now)`), so that no test depends on real time passing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tasks {
    pub tick_every_minute: bool,
    pub background_worker: bool,
}

impl Tasks {
    pub const ALL: Tasks = Tasks { tick_every_minute: true, background_worker: true };
    pub const BOT_ONLY: Tasks = Tasks { tick_every_minute: false, background_worker: false };
}

/// Publish the command menu and start the dispatcher (long polling) and the chosen tasks.
pub async fn start(ctx: &Ctx, bot: TgBot, mailer: Mailer, tasks: Tasks) -> anyhow::Result<Running> {
    let staff = {
        let mut conn = ctx.db.pool().acquire().await?;
        crate::storage::staff::list(&mut conn).await?
    };
    if let Err(error) = telegram::publish_commands(&bot, &ctx.templates, ctx.settings.locale, &staff).await {
        tracing::warn!(%error, "could not publish the command menu; continuing");
    }
    let (stop_worker, stop) = shutdown::channel();
    let worker_task = tasks.background_worker.then(|| {
        let worker = Worker::new(ctx.clone(), bot.clone(), mailer);
        tokio::spawn(worker.run(ctx.wake_worker.clone(), stop))
    });
    let scheduler = if tasks.tick_every_minute { Some(scheduler::start(ctx.clone()).await?) } else { None };
    let mut dispatcher = Dispatcher::builder(bot, telegram::schema())
        .dependencies(dptree::deps![ctx.clone()])
        .default_handler(|update| async move {
            tracing::debug!(update = update.id.0, "update of a kind the bot does not handle");
        })
        .error_handler(LoggingErrorHandler::with_custom_text("a bot handler failed"))
        .build();
    let dispatcher_token = dispatcher.shutdown_token();
    let dispatcher_task = tokio::spawn(async move { dispatcher.dispatch().await });
    Ok(Running { dispatcher: dispatcher_token, dispatcher_task, worker_task, stop_worker, scheduler })
}

impl Running {
    /// Stop taking updates, let handlers finish, stop ticking, then stop the worker.
    pub async fn stop(mut self) {
        // The dispatcher may still be starting (getMe); retry until it accepts the request.
        loop {
            match self.dispatcher.shutdown() {
                Ok(done) => {
                    done.await;
                    break;
                }
                Err(_) if self.dispatcher_task.is_finished() => break,
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(20)).await,
            }
        }
        let _ = (&mut self.dispatcher_task).await;
        if let Some(mut scheduler) = self.scheduler.take() {
            let _ = scheduler.shutdown().await;
        }
        self.stop_worker.trigger();
        if let Some(worker) = self.worker_task.take() {
            let _ = worker.await;
        }
    }
}

/// `guanxi run`: everything, until Ctrl-C or SIGTERM.
pub async fn run(ctx: Ctx) -> anyhow::Result<()> {
    // Listen for SIGTERM before anything else: a stop requested during start-up must still be
    // a clean shutdown, not the signal's default of killing the process mid-write.
    let stop = StopSignal::install()?;
    let token = ctx.settings.require_token()?.expose().to_owned();
    let bot = telegram::build_bot(&ctx.settings, &token);
    let me = bot.get_me().await.context("the Bot API refused getMe: check TELOXIDE_TOKEN and TELOXIDE_API_URL")?;
    tracing::info!(bot = %me.username(), "connected to Telegram");
    let mailer = Mailer::new(&ctx.settings.mail, &ctx.settings.mail_from)?;
    let running = start(&ctx, bot, mailer, Tasks::ALL).await?;
    let (http_stop, http_signal) = shutdown::channel();
    let http = match ctx.settings.http_addr {
        Some(addr) => Some(crate::http::serve(ctx.clone(), addr, http_signal).await?.1),
        None => None,
    };
    // Catch up at once instead of waiting for the first minute boundary.
    scheduler::tick(&ctx).await;
    stop.wait().await;
    tracing::info!("shutting down");
    running.stop().await;
    http_stop.trigger();
    if let Some(http) = http {
        let _ = http.await;
    }
    ctx.db.close().await;
    Ok(())
}

/// Ctrl-C or SIGTERM, listened for from the moment it is installed.
struct StopSignal {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
}

impl StopSignal {
    fn install() -> anyhow::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Self {
                term: signal(SignalKind::terminate()).context("installing the SIGTERM handler")?,
                interrupt: signal(SignalKind::interrupt()).context("installing the SIGINT handler")?,
            })
        }
        #[cfg(not(unix))]
        Ok(Self {})
    }

    async fn wait(mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.term.recv() => {}
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
    }
}
