//! Putting the parts together: database, templates, bot, mailer, and the three long-running
//! tasks (bot dispatcher, scheduler tick, outbox worker).

use std::sync::Arc;

use anyhow::Context;
use teloxide::dispatching::ShutdownToken;
use teloxide::error_handlers::LoggingErrorHandler;
use teloxide::prelude::*;
use tokio::sync::Notify;

use crate::clock::Clock;
use crate::config::Settings;
use crate::email::Mailer;
use crate::jobs::{scheduler, worker::Worker};
use crate::services::{self, Ctx};
use crate::shutdown::{self, Shutdown};
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
    };
    services::customers::reconcile_cadence_policy(&ctx).await?;
    Ok(ctx)
}

/// Start the bot's dispatcher (long polling) in the background.
pub fn spawn_dispatcher(ctx: &Ctx, bot: TgBot) -> (ShutdownToken, tokio::task::JoinHandle<()>) {
    let mut dispatcher = Dispatcher::builder(bot, telegram::schema())
        .dependencies(dptree::deps![ctx.clone()])
        .default_handler(|update| async move {
            tracing::debug!(update = update.id.0, "update of a kind the bot does not handle");
        })
        .error_handler(LoggingErrorHandler::with_custom_text("a bot handler failed"))
        .build();
    let token = dispatcher.shutdown_token();
    let handle = tokio::spawn(async move { dispatcher.dispatch().await });
    (token, handle)
}

/// Start the outbox worker loop in the background.
pub fn spawn_worker(ctx: &Ctx, bot: TgBot, mailer: Mailer, stop: Shutdown) -> tokio::task::JoinHandle<()> {
    let worker = Worker::new(ctx.clone(), bot, mailer);
    tokio::spawn(worker.run(ctx.wake_worker.clone(), stop))
}

/// `guanxi run`: everything, until Ctrl-C or SIGTERM.
pub async fn run(ctx: Ctx) -> anyhow::Result<()> {
    let token = ctx.settings.require_token()?.expose().to_owned();
    let bot = telegram::build_bot(&ctx.settings, &token);
    let me = bot.get_me().await.context("the Bot API refused getMe: check TELOXIDE_TOKEN and TELOXIDE_API_URL")?;
    tracing::info!(bot = %me.username(), "connected to Telegram");
    if let Err(error) = telegram::publish_commands(&bot, &ctx.templates, ctx.settings.locale).await {
        tracing::warn!(%error, "could not publish the command menu; continuing");
    }
    let mailer = Mailer::new(&ctx.settings.mail, &ctx.settings.mail_from)?;
    let (stop_handle, stop) = shutdown::channel();
    let worker = spawn_worker(&ctx, bot.clone(), mailer, stop);
    let mut scheduler = scheduler::start(ctx.clone()).await?;
    let (dispatcher, dispatcher_task) = spawn_dispatcher(&ctx, bot);
    // Catch up at once instead of waiting for the first minute boundary.
    scheduler::tick(&ctx).await;

    wait_for_signal().await;
    tracing::info!("shutting down");
    if let Ok(done) = dispatcher.shutdown() {
        done.await;
    }
    let _ = dispatcher_task.await;
    let _ = scheduler.shutdown().await;
    stop_handle.trigger();
    let _ = worker.await;
    ctx.db.close().await;
    Ok(())
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).expect("installing the SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}
