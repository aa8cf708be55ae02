//! Putting the parts together: database, templates, bot, mailer, and the three long-running
//! tasks (bot dispatcher, scheduler tick, outbox worker).

use std::sync::Arc;

use anyhow::Context;
use teloxide::error_handlers::LoggingErrorHandler;
use teloxide::prelude::*;
use teloxide::stop::StopToken;
use teloxide::update_listeners::{UpdateListener, polling_default};
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
    let update_io = crate::storage::update_io::UpdateIo::start(&db, crate::jobs::worker::send_now(&settings));
    let delivery_io = crate::storage::delivery_io::DeliveryIo::start(&db);
    let settings = Arc::new(settings);
    let templates = Arc::new(templates);
    let wake_worker = Arc::new(Notify::new());
    let intake = services::intake::IntakeIo::start(&db, templates.clone(), settings.clone(), wake_worker.clone());
    let ctx =
        Ctx { db, settings, templates, clock, wake_worker, metrics: Arc::default(), update_io, delivery_io, intake };
    services::customers::reconcile_cadence_policy(&ctx).await?;
    Ok(ctx)
}

/// How updates reach the bot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Updates {
    /// `getUpdates`: one process per bot; the embedded default.
    LongPolling,
    /// Telegram POSTs updates to `public_url`, which reaches us at `listen`: any number of
    /// instances on one PostgreSQL.
    Webhook { public_url: url::Url, listen: std::net::SocketAddr },
}

/// What receives updates while we run.
enum Receiver {
    Polling { stop: StopToken, task: tokio::task::JoinHandle<()> },
    Webhook { stop: ShutdownHandle, task: tokio::task::JoinHandle<()>, bound: std::net::SocketAddr },
}

/// The running tasks: the update receiver and, as chosen, the outbox worker and the tick.
pub struct Running {
    receiver: Receiver,
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

/// Publish the command menu and start long polling and the chosen tasks.
pub async fn start(ctx: &Ctx, bot: TgBot, mailer: Mailer, tasks: Tasks) -> anyhow::Result<Running> {
    start_receiving(ctx, bot, mailer, tasks, &Updates::LongPolling).await
}

/// Publish the command menu and start receiving updates as chosen, and the chosen tasks.
pub async fn start_receiving(
    ctx: &Ctx,
    bot: TgBot,
    mailer: Mailer,
    tasks: Tasks,
    updates: &Updates,
) -> anyhow::Result<Running> {
    let staff = {
        let mut conn = ctx.db.pool().acquire().await?;
        crate::storage::staff::list(&mut conn).await?
    };
    if let Err(error) = telegram::publish_commands(&bot, &ctx.templates, ctx.settings.locale, &staff).await {
        tracing::warn!(%error, "could not publish the command menu; continuing");
    }
    // Also the handlers' sender of their first reply (see `telegram::reply::Replier::finish`).
    let worker = Worker::new(ctx.clone(), bot.clone(), mailer);
    let receiver = match updates {
        Updates::LongPolling => start_polling(ctx, bot.clone(), worker.clone()).await,
        Updates::Webhook { public_url, listen } => {
            let secret = ctx.settings.require_webhook_secret()?;
            crate::webhook::register(&bot, public_url, secret).await?;
            let me = bot.get_me().await.context("the Bot API refused getMe")?;
            let (stop, signal) = shutdown::channel();
            let (bound, task) =
                crate::webhook::serve(ctx.clone(), bot.clone(), me, worker.clone(), public_url, *listen, signal)
                    .await?;
            Receiver::Webhook { stop, task, bound }
        }
    };
    let (stop_worker, stop) = shutdown::channel();
    let worker_task = tasks.background_worker.then(|| tokio::spawn(worker.run(ctx.wake_worker.clone(), stop)));
    let scheduler = if tasks.tick_every_minute { Some(scheduler::start(ctx.clone()).await?) } else { None };
    Ok(Running { receiver, worker_task, stop_worker, scheduler })
}

/// Long polling with teloxide's dispatcher, stopped through the listener's own stop flag.
///
/// Not through the dispatcher's `ShutdownToken`: in teloxide 0.17 that token's request is a
/// `Notify::notify_waiters`, which wakes only a dispatcher waiting at that instant. One busy
/// with an update (or between two of them) missed it and polled on for ever, and the
/// shutdown's own wait could miss the dispatcher's "done" the same way; `guanxi run` then
/// hung on SIGTERM. The listener's flag stays set until the stream sees it: the stream asks
/// Telegram once more to confirm what was handled, ends, and the dispatcher returns once its
/// handlers have finished.
async fn start_polling(ctx: &Ctx, bot: TgBot, worker: Worker) -> Receiver {
    let mut dispatcher = Dispatcher::builder(bot.clone(), telegram::schema())
        .dependencies(dptree::deps![ctx.clone(), worker])
        .default_handler(|update| async move {
            tracing::debug!(update = update.id.0, "update of a kind the bot does not handle");
        })
        .error_handler(LoggingErrorHandler::with_custom_text("a bot handler failed"))
        .build();
    let mut listener = polling_default(bot).await;
    let stop = listener.stop_token();
    let task = tokio::spawn(async move {
        let listener_errors = LoggingErrorHandler::with_custom_text("polling for updates failed");
        if let Err(error) = dispatcher.try_dispatch_with_listener(listener, listener_errors).await {
            tracing::error!(%error, "the dispatcher could not start: no updates will be handled");
        }
    });
    Receiver::Polling { stop, task }
}

impl Running {
    /// Where the webhook listens (when it does): with port 0 the system picked one.
    pub fn webhook_addr(&self) -> Option<std::net::SocketAddr> {
        match &self.receiver {
            Receiver::Webhook { bound, .. } => Some(*bound),
            Receiver::Polling { .. } => None,
        }
    }

    /// Stop taking updates, let handlers finish, stop ticking, then stop the senders (each
    /// finishes the send in hand and stores its result). Fails, naming the part still
    /// running, when the whole takes longer than [`SHUTDOWN_GRACE`]: whatever was left
    /// undone is in the database (a claimed row's lease runs out, an update not marked done
    /// is handled again), so the process may then exit as after a crash, not hang.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + SHUTDOWN_GRACE;
        let receiver = async {
            match self.receiver {
                Receiver::Polling { stop, task } => {
                    stop.stop();
                    let _ = task.await;
                }
                Receiver::Webhook { stop, task, .. } => {
                    stop.trigger();
                    let _ = task.await;
                }
            }
        };
        stop_part("the update receiver", deadline, receiver).await?;
        if let Some(mut scheduler) = self.scheduler.take() {
            stop_part("the scheduler", deadline, scheduler.shutdown()).await?;
        }
        self.stop_worker.trigger();
        if let Some(worker) = self.worker_task.take() {
            stop_part("the outbox senders", deadline, worker).await?;
        }
        Ok(())
    }
}

/// Wait for one part of the app to stop, until `deadline`. How it ended (a task's panic, the
/// scheduler's error) is not kept: stopping goes on with the next part either way.
async fn stop_part<T>(
    part: &str,
    deadline: tokio::time::Instant,
    stopping: impl Future<Output = T>,
) -> anyhow::Result<()> {
    tokio::time::timeout_at(deadline, stopping)
        .await
        .map_err(|_| anyhow::anyhow!("{part} did not stop within {} s", SHUTDOWN_GRACE.as_secs()))?;
    tracing::debug!(part, "stopped");
    Ok(())
}

/// How long a stop may take. A send in hand normally takes about a second (its slot and the
/// Bot API's answer) and handlers less: a stop still running after this is stuck on a server
/// that does not answer, not slow, and well within systemd's 90 s before its SIGKILL.
pub const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(15);

/// `guanxi run`: everything, until Ctrl-C or SIGTERM.
pub async fn run(ctx: Ctx, updates: Updates) -> anyhow::Result<()> {
    // Listen for SIGTERM before anything else: a stop requested during start-up must still be
    // a clean shutdown, not the signal's default of killing the process mid-write.
    let stop = StopSignal::install()?;
    let token = ctx.settings.require_token()?.expose().to_owned();
    let bot = telegram::build_bot(&ctx.settings, &token);
    let me = bot.get_me().await.context("the Bot API refused getMe: check TELOXIDE_TOKEN and TELOXIDE_API_URL")?;
    tracing::info!(bot = %me.username(), "connected to Telegram");
    let mailer = Mailer::new(&ctx.settings.mail, &ctx.settings.mail_from)?;
    let running = start_receiving(&ctx, bot, mailer, Tasks::ALL, &updates).await?;
    let (http_stop, http_signal) = shutdown::channel();
    let http = match ctx.settings.http_addr {
        Some(addr) => Some(crate::http::serve(ctx.clone(), addr, http_signal).await?.1),
        None => None,
    };
    // Catch up at once instead of waiting for the first minute boundary.
    scheduler::tick(&ctx).await;
    stop.wait().await;
    tracing::info!("shutting down");
    // A stop that is stuck leaves the pool's connections in use: closing it would wait for
    // them for ever, so the error ends the process at once.
    running.stop().await?;
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
