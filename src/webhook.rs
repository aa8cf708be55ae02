//! Updates by webhook: what lets several instances serve one bot (only one process may long-poll
//! a bot). Telegram POSTs each update to the public URL with the secret we registered in the
//! `X-Telegram-Bot-Api-Secret-Token` header; a request without it is refused with 403.
//!
//! The update is handled before we answer, through the same handler tree as long polling. A
//! 500 (the database is unreachable, say) makes Telegram deliver the update again later, and
//! `storage::updates` makes sure an update that arrives twice — at one instance or at two — is
//! handled once.

use std::net::SocketAddr;
use std::ops::ControlFlow;
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use teloxide::dispatching::UpdateHandler;
use teloxide::prelude::*;
use teloxide::types::{AllowedUpdate, Me};

use crate::config::Secret;
use crate::jobs::worker::Worker;
use crate::services::Ctx;
use crate::shutdown::Shutdown;
use crate::telegram::{self, TgBot};

pub const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";

#[derive(Clone)]
struct Hook {
    ctx: Ctx,
    bot: TgBot,
    me: Me,
    worker: Worker,
    secret: Secret,
    handler: Arc<UpdateHandler<anyhow::Error>>,
}

/// Tell Telegram where to send updates, with our secret.
pub async fn register(bot: &TgBot, public_url: &url::Url, secret: &Secret) -> anyhow::Result<()> {
    bot.set_webhook(public_url.clone())
        .secret_token(secret.expose())
        .allowed_updates([AllowedUpdate::Message, AllowedUpdate::CallbackQuery])
        .await
        .context("the Bot API refused setWebhook")?;
    tracing::info!(url = %public_url, "webhook registered");
    Ok(())
}

/// Serve the webhook at the public URL's path on `listen` until `stop`; returns the bound
/// address (port 0 picks one).
pub async fn serve(
    ctx: Ctx,
    bot: TgBot,
    me: Me,
    worker: Worker,
    public_url: &url::Url,
    listen: SocketAddr,
    stop: Shutdown,
) -> anyhow::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let secret = ctx.settings.require_webhook_secret()?.clone();
    let hook = Hook { ctx, bot, me, worker, secret, handler: Arc::new(telegram::schema()) };
    let app = Router::new().route(public_url.path(), post(receive)).with_state(hook);
    let listener =
        tokio::net::TcpListener::bind(listen).await.with_context(|| format!("binding the webhook to {listen}"))?;
    let bound = listener.local_addr()?;
    let task = tokio::spawn(async move {
        let served = axum::serve(listener, app).with_graceful_shutdown(async move { stop.cancelled().await }).await;
        if let Err(error) = served {
            tracing::error!(%error, "the webhook listener stopped");
        }
    });
    tracing::info!(%bound, path = public_url.path(), "webhook listening");
    Ok((bound, task))
}

async fn receive(State(hook): State<Hook>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let given = headers.get(SECRET_HEADER).map(|v| v.as_bytes()).unwrap_or_default();
    if !same_secret(given, hook.secret.expose().as_bytes()) {
        tracing::warn!("webhook call without the right secret token refused");
        return StatusCode::FORBIDDEN;
    }
    let update: Update = match serde_json::from_slice(&body) {
        Ok(update) => update,
        Err(error) => {
            tracing::warn!(%error, "webhook body is not a Telegram update");
            return StatusCode::BAD_REQUEST;
        }
    };
    let id = update.id.0;
    let deps = dptree::deps![hook.bot.clone(), hook.me.clone(), hook.ctx.clone(), hook.worker.clone(), update];
    match hook.handler.dispatch(deps).await {
        ControlFlow::Break(Err(error)) => {
            // Telegram will deliver it again; the update is not lost.
            tracing::error!(error = format!("{error:#}"), update = id, "handling a webhook update failed");
            StatusCode::INTERNAL_SERVER_ERROR
        }
        ControlFlow::Break(Ok(())) => StatusCode::OK,
        ControlFlow::Continue(_) => {
            tracing::debug!(update = id, "update of a kind the bot does not handle");
            StatusCode::OK
        }
    }
}

/// Compare without leaking, through timing, how much of a guess was right.
fn same_secret(given: &[u8], expected: &[u8]) -> bool {
    given.len() == expected.len() && given.iter().zip(expected).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_secret_is_accepted() {
        assert!(same_secret(b"abc-123", b"abc-123"));
        assert!(!same_secret(b"abc-124", b"abc-123"));
        assert!(!same_secret(b"abc-12", b"abc-123"));
        assert!(!same_secret(b"", b"abc-123"));
    }
}
