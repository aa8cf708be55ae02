//! What one update says and leaves behind: its replies, queued in the outbox at interactive
//! priority, and the chat's dialogue state.
//!
//! Both are held here while the update is handled and stored together when it ends
//! ([`Replier::finish`], see `storage::update_io`): one use of the database for all of an
//! update's writes, and an update stored whole or not at all. Handlers read the dialogue
//! state as this update left it so far. The first reply is then sent right away by the
//! update's own task, claimed in that same use of the database.
//!
//! Keys are `reply:{update_id}:{n}`: if Telegram delivers the same update twice, or we handle
//! it again after a crash, the person still gets each reply once.

use anyhow::Context;
use teloxide::types::InlineKeyboardMarkup;

use super::dialogue::State;
use crate::jobs::worker::Worker;
use crate::locale::Locale;
use crate::notify;
use crate::services::Ctx;
use crate::storage::delivery_io::ClaimedRow;
use crate::storage::outbox::{NewMessage, Priority};
use crate::storage::update_io::{DialogueChange, Ending};
use crate::templates::Key;

#[derive(Debug)]
pub struct Replier {
    ctx: Ctx,
    chat_id: i64,
    update_id: u32,
    sent: usize,
    pub locale: Locale,
    /// The chat's dialogue state as stored when the update was claimed.
    stored_state: Option<String>,
    state_change: DialogueChange,
    queued: Vec<NewMessage>,
    /// Rows claimed by the services this update called, to send once it is stored.
    claimed_elsewhere: Vec<ClaimedRow>,
}

impl Replier {
    /// `stored_state`: the chat's dialogue state read with the update's claim.
    pub fn new(ctx: Ctx, chat_id: i64, update_id: u32, locale: Locale, stored_state: Option<String>) -> Self {
        Self {
            ctx,
            chat_id,
            update_id,
            sent: 0,
            locale,
            stored_state,
            state_change: DialogueChange::Keep,
            queued: Vec::new(),
            claimed_elsewhere: Vec::new(),
        }
    }

    /// Render `key` in the person's language and queue it.
    pub async fn template(&mut self, key: Key, vars: &[(&str, &str)]) -> anyhow::Result<()> {
        let text = self.ctx.templates.render(self.locale, key, vars);
        self.text(&text, None).await
    }

    /// Queue a prepared text, optionally with inline buttons. It is stored with the rest of
    /// the update when the update ends; async like the rest of a handler's steps, so that
    /// where a reply is stored stays this module's business.
    pub async fn text(&mut self, text: &str, keyboard: Option<InlineKeyboardMarkup>) -> anyhow::Result<()> {
        let key = format!("reply:{}:{}", self.update_id, self.sent);
        self.sent += 1;
        let markup = keyboard.map(|k| serde_json::to_string(&k)).transpose()?;
        let parts = notify::telegram_parts(&key, self.chat_id, text, markup, Priority::Interactive, self.ctx.now());
        self.queued.extend(parts);
        Ok(())
    }

    /// The chat's dialogue state as this update has left it so far.
    pub fn state(&self) -> Option<State> {
        match &self.state_change {
            DialogueChange::Keep => self.stored_state.as_deref().and_then(State::from_json),
            DialogueChange::Set(json) => State::from_json(json),
            DialogueChange::Clear => None,
        }
    }

    pub fn set_state(&mut self, state: &State) {
        self.state_change = DialogueChange::Set(state.to_json());
    }

    pub fn clear_state(&mut self) {
        self.state_change = DialogueChange::Clear;
    }

    /// Send a row a service claimed for this update (a new complaint's acceptance, see
    /// `services::intake`) when the update ends.
    pub fn send_after(&mut self, row: ClaimedRow) {
        self.claimed_elsewhere.push(row);
    }

    /// Store the replies and the state change and mark the update handled; then send the
    /// first reply through `worker` when it was claimed with them (see `storage::update_io`),
    /// and wake an outbox sender for the rest. The sender is woken after that send, so
    /// that the chat's next reply finds it done, not in flight.
    ///
    /// Rows claimed by services ([`Self::send_after`]) were stored before anything of this
    /// update's end, so they are sent first, while the end is being stored: they need not wait
    /// for it, and they go even if it fails (the update is then handled again and finds its
    /// work done). A reply of the update's own that finds one of them still in flight is left
    /// to the senders, so the chat's order holds.
    ///
    /// A failure to send is not the update's: the reply stays in the outbox (retried, or
    /// taken over by a sender when its lease runs out), and the update is handled.
    pub async fn finish(self, worker: &Worker) -> anyhow::Result<()> {
        let now = self.ctx.now();
        let update_id = self.update_id;
        let ending = Ending {
            update_id: i64::from(update_id),
            now,
            chat: self.chat_id,
            dialogue: self.state_change,
            replies: self.queued,
        };
        let send = |rows: Vec<ClaimedRow>| async move {
            for row in rows {
                if let Err(error) = worker.deliver_now(row, now).await {
                    tracing::error!(error = format!("{error:#}"), update = update_id, "sending a reply failed");
                }
            }
        };
        let (finished, ()) = tokio::join!(self.ctx.update_io.finish(ending), send(self.claimed_elsewhere));
        let finished = finished.with_context(|| format!("storing the end of update {update_id}"))?;
        send(finished.claimed.into_iter().collect()).await;
        // One sender for all of them: they are all to this chat, and go one at a time.
        if finished.pending > 0 {
            self.ctx.wake_worker.notify_one();
        }
        Ok(())
    }

    pub fn update_id(&self) -> u32 {
        self.update_id
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
