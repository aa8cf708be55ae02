//! Replies to a person, queued in the outbox at interactive priority.
//!
//! Keys are `reply:{update_id}:{n}`: if Telegram delivers the same update twice, or we handle
//! it again after a crash, the person still gets each reply once.

use anyhow::Context;
use teloxide::types::InlineKeyboardMarkup;

use crate::locale::Locale;
use crate::notify;
use crate::services::Ctx;
use crate::storage::outbox::Priority;
use crate::templates::Key;

#[derive(Debug)]
pub struct Replier {
    ctx: Ctx,
    chat_id: i64,
    update_id: u32,
    sent: usize,
    pub locale: Locale,
}

impl Replier {
    pub fn new(ctx: Ctx, chat_id: i64, update_id: u32, locale: Locale) -> Self {
        Self { ctx, chat_id, update_id, sent: 0, locale }
    }

    /// Render `key` in the person's language and queue it.
    pub async fn template(&mut self, key: Key, vars: &[(&str, &str)]) -> anyhow::Result<()> {
        let text = self.ctx.templates.render(self.locale, key, vars);
        self.text(&text, None).await
    }

    /// Queue a prepared text, optionally with inline buttons.
    pub async fn text(&mut self, text: &str, keyboard: Option<InlineKeyboardMarkup>) -> anyhow::Result<()> {
        let key = format!("reply:{}:{}", self.update_id, self.sent);
        self.sent += 1;
        let markup = keyboard.map(|k| serde_json::to_string(&k)).transpose()?;
        let now = self.ctx.now();
        let parts = notify::telegram_parts(&key, self.chat_id, text, markup, Priority::Interactive, now);
        self.ctx.update_io.queue_reply(parts, now).await.with_context(|| format!("queueing message {key}"))?;
        self.ctx.wake_worker.notify_one();
        Ok(())
    }

    /// What identifies this update, for idempotency keys of what it causes.
    pub fn key_base(&self) -> String {
        self.update_id.to_string()
    }

    pub fn ctx(&self) -> &Ctx {
        &self.ctx
    }

    pub fn render(&self, key: Key, vars: &[(&str, &str)]) -> String {
        self.ctx.templates.render(self.locale, key, vars)
    }
}
