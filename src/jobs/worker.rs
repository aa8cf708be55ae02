//! Delivers the outbox: claim a row, send it, then mark it done — or schedule a retry, or
//! give up into the visible dead-letter state. Never "mark, then send": a crash between the
//! two must lead to a resend, not to a silent loss.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use teloxide::ApiError;
use teloxide::RequestError;
use teloxide::prelude::*;
use teloxide::types::InlineKeyboardMarkup;
use tokio::sync::Notify;
use tokio::time::Instant;
use tracing::Instrument;

use super::pace::{Booking, Pace};
use crate::config::Settings;
use crate::email::{MailError, Mailer, message_id_for};
use crate::metrics::Metrics;
use crate::services::{Ctx, delivery};
use crate::shutdown::Shutdown;
use crate::storage::delivery_io::{ClaimedRow, SendNow};
use crate::storage::outbox::{self, Channel, Claimed};
use crate::storage::{send_gate, wall_clock_us};
use crate::telegram::TgBot;

/// How long a claim is exclusive by default; a worker that dies holding a row loses it
/// after this (`delivery.lease_secs`).
pub const LEASE: Duration = Duration::minutes(2);

/// What one step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing was due.
    Idle,
    Sent,
    /// Failed for now; will be tried again.
    Retry,
    /// Failed for good (or too often): left as a dead letter for operators.
    Dead,
    /// Sent, but another worker had taken the row over meanwhile (our lease ran out).
    Fenced,
    /// Handed back untried: the chat had no free slot, or our lease ran out before sending.
    Deferred,
}

/// Why a send failed.
enum SendError {
    Transient(String),
    RetryAfter(StdDuration, String),
    Permanent(String),
    /// The person blocked the bot (or deleted their account): no retry; e-mail instead.
    Blocked(String),
}

/// How a claimed row's delivery ended.
enum Delivery {
    /// Sent at `at`: still to be marked done.
    Sent { row: Claimed, at: DateTime<Utc> },
    /// Anything else, stored already.
    Done(Outcome),
}

/// Resolves once `stop` is requested; never without one.
async fn stopped(stop: Option<&Shutdown>) {
    match stop {
        Some(stop) => stop.cancelled().await,
        None => std::future::pending().await,
    }
}

/// The outcome of a sent row whose completion was `completed` (taken, or refused by its fence).
fn completion(completed: bool) -> Outcome {
    if completed {
        Outcome::Sent
    } else {
        tracing::warn!("completion refused: the row was claimed again after our lease expired");
        Outcome::Fenced
    }
}

/// The delivering side of the outbox.
#[derive(Debug, Clone)]
pub struct Worker {
    ctx: Ctx,
    bot: TgBot,
    mailer: Mailer,
    pace: Pace,
    lease: Duration,
}

/// How this process's deliveries hold their rows and pace their sends, from its settings:
/// the senders' and the handlers' (see `storage::update_io`).
pub fn send_now(settings: &Settings) -> SendNow {
    SendNow {
        lease: Duration::seconds(i64::try_from(settings.lease_secs).unwrap_or(i64::MAX / 2_000_000)),
        pace: Pace::from_limits(settings.rate_limits),
    }
}

impl Worker {
    pub fn new(ctx: Ctx, bot: TgBot, mailer: Mailer) -> Self {
        let SendNow { lease, pace } = send_now(&ctx.settings);
        Self { ctx, bot, mailer, pace, lease }
    }

    /// Claim and deliver one row as of `now`.
    pub async fn try_execute(&self, now: DateTime<Utc>) -> anyhow::Result<Outcome> {
        let Some(row) = self.ctx.delivery_io.claim(now, self.lease, self.pace).await? else {
            return Ok(Outcome::Idle);
        };
        self.deliver_now(row, now).await
    }

    /// Deliver a row claimed already (by [`Self::try_execute`], or with the end of the update
    /// that queued it) and store how it went. Its completion goes with the updates' endings
    /// (`storage::update_io`), since it is a handler that sends such a row.
    pub async fn deliver_now(&self, row: ClaimedRow, now: DateTime<Utc>) -> anyhow::Result<Outcome> {
        match self.deliver_claimed(row, now).await? {
            Delivery::Sent { row, at } => Ok(completion(self.ctx.update_io.complete(&row, at).await?)),
            Delivery::Done(outcome) => Ok(outcome),
        }
    }

    async fn deliver_claimed(&self, (claimed, booking): ClaimedRow, now: DateTime<Utc>) -> anyhow::Result<Delivery> {
        // Measured on the monotonic clock: a process frozen past its lease (SIGSTOP, a paused
        // VM) must notice when it wakes up, whatever the wall clock did meanwhile.
        let claimed_at = Instant::now();
        // `instrument`, not `span.enter()`: a guard held across `.await` leaks the span into
        // whatever else runs on this thread meanwhile (other senders, the dispatcher).
        let span = tracing::info_span!("deliver", key = %claimed.key, channel = claimed.channel.as_str(), attempt = claimed.attempts);
        self.deliver(claimed, booking, claimed_at, now).instrument(span).await
    }

    /// Send a claimed row. A row sent is handed back to be marked done (`Delivery::Sent`);
    /// every other end is stored here.
    async fn deliver(
        &self,
        claimed: Claimed,
        booking: Option<Booking>,
        claimed_at: Instant,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Delivery> {
        if claimed.channel == Channel::Telegram && !self.wait_for_slot(&claimed, booking).await? {
            return Ok(Delivery::Done(Outcome::Deferred));
        }
        if !self.lease_left(claimed_at) {
            tracing::warn!("our lease ran out before sending; handing the row back untried");
            let mut conn = self.ctx.db.pool().acquire().await?;
            outbox::release(&mut conn, &claimed).await?;
            return Ok(Delivery::Done(Outcome::Deferred));
        }
        let result = self.send(&claimed).await;
        let m = &self.ctx.metrics;
        match (&result, claimed.channel) {
            (Ok(()), Channel::Telegram) => Metrics::inc(&m.messages_sent),
            (Ok(()), Channel::Email) => Metrics::inc(&m.emails_sent),
            (Err(_), _) => Metrics::inc(&m.messages_failed),
        }
        let Err(error) = result else {
            return Ok(Delivery::Sent { row: claimed, at: self.ctx.now().max(now) });
        };
        self.store_failure(&claimed, error, now).await.map(Delivery::Done)
    }

    /// Schedule a failed row's retry, or leave it as a dead letter.
    async fn store_failure(&self, claimed: &Claimed, error: SendError, now: DateTime<Utc>) -> anyhow::Result<Outcome> {
        let mut conn = self.ctx.db.pool().acquire().await?;
        match error {
            SendError::Permanent(error) => {
                tracing::error!(%error, "delivery failed permanently; row is now a dead letter");
                if outbox::fail(&mut conn, claimed, &error, None).await? {
                    drop(conn);
                    delivery::dead_letter(&self.ctx, claimed, &error, false).await?;
                }
                Ok(Outcome::Dead)
            }
            SendError::Blocked(error) => {
                tracing::warn!(%error, "the recipient blocked the bot; falling back to e-mail where possible");
                if outbox::fail(&mut conn, claimed, &error, None).await? {
                    drop(conn);
                    delivery::dead_letter(&self.ctx, claimed, &error, true).await?;
                }
                Ok(Outcome::Dead)
            }
            SendError::Transient(error) | SendError::RetryAfter(_, error)
                if claimed.attempts >= i64::from(self.ctx.settings.max_attempts) =>
            {
                tracing::error!(%error, "delivery failed too often; row is now a dead letter");
                if outbox::fail(&mut conn, claimed, &error, None).await? {
                    drop(conn);
                    delivery::dead_letter(&self.ctx, claimed, &error, false).await?;
                }
                Ok(Outcome::Dead)
            }
            SendError::RetryAfter(wait, error) => {
                let at = now + Duration::from_std(wait).unwrap_or(Duration::seconds(1));
                tracing::warn!(%error, retry_at = %at, "rate limited; retrying when allowed");
                outbox::fail(&mut conn, claimed, &error, Some(at)).await?;
                Ok(Outcome::Retry)
            }
            SendError::Transient(error) => {
                let at = now + backoff(claimed.attempts);
                tracing::warn!(%error, retry_at = %at, "delivery failed; will retry");
                outbox::fail(&mut conn, claimed, &error, Some(at)).await?;
                Ok(Outcome::Retry)
            }
        }
    }

    /// Deliver everything due at `now`, and what falls due while this runs; returns how many
    /// rows were sent. Rows whose chat has no free send slot yet are waited for (a chat's slot
    /// opens within about a second), so that `guanxi tick` does not exit with a second message
    /// to one chat still queued.
    ///
    /// The clock is read again before every claim: a burst of thousands of reminders takes
    /// minutes at Telegram's pace, and a reply queued meanwhile is due at its own queuing
    /// time. Claiming "as of" the start of the burst would hold every such reply back until
    /// the burst was over (the delivery bench's customers went unanswered for that long).
    pub async fn run_until_empty(&self, now: DateTime<Utc>) -> anyhow::Result<usize> {
        self.deliver_due(now, None).await
    }

    /// [`Self::run_until_empty`], which also ends, once the send in hand is stored, when `stop`
    /// is requested: a burst of thousands of reminders takes minutes at Telegram's pace, and a
    /// shutdown must not wait for all of it (the rest stays queued for the next start).
    async fn deliver_due(&self, now: DateTime<Utc>, stop: Option<&Shutdown>) -> anyhow::Result<usize> {
        let mut sent = 0;
        // The row last sent: marked done in the same use of the database as the next claim.
        let mut to_complete: Option<(Claimed, DateTime<Utc>)> = None;
        loop {
            if stop.is_some_and(Shutdown::is_requested) {
                if let Some((row, at)) = to_complete.take() {
                    completion(self.ctx.update_io.complete(&row, at).await?);
                    sent += 1;
                }
                return Ok(sent);
            }
            let now = now.max(self.ctx.now());
            let next = match to_complete.take() {
                Some((row, at)) => {
                    let (completed, next) =
                        self.ctx.delivery_io.complete_and_claim(&row, at, now, self.lease, self.pace).await?;
                    // Sent either way; a refused completion is logged by `completion`.
                    completion(completed);
                    sent += 1;
                    next
                }
                None => self.ctx.delivery_io.claim(now, self.lease, self.pace).await?,
            };
            let Some(row) = next else {
                let opening = {
                    let mut conn = self.ctx.db.pool().acquire().await?;
                    outbox::next_gate_opening(&mut conn, now, wall_clock_us()).await?
                };
                match opening.map(|t| t - wall_clock_us()) {
                    Some(wait) if wait <= 5 * 1_000_000 => {
                        tokio::select! {
                            _ = tokio::time::sleep(StdDuration::from_micros(wait.max(1).unsigned_abs())) => {}
                            _ = stopped(stop) => {}
                        }
                        continue;
                    }
                    _ => return Ok(sent),
                }
            };
            if let Delivery::Sent { row, at } = self.deliver_claimed(row, now).await? {
                to_complete = Some((row, at));
            }
        }
    }

    /// The production loop: `delivery.concurrency` senders sharing the outbox and the send
    /// schedule, each delivering until nothing is due, then sleeping until woken or the poll
    /// interval passes.
    pub async fn run(self, wake: Arc<Notify>, stop: Shutdown) {
        let senders = self.ctx.settings.senders();
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..senders {
            tasks.spawn(self.clone().sender(wake.clone(), stop.clone()));
        }
        while tasks.join_next().await.is_some() {}
    }

    async fn sender(self, wake: Arc<Notify>, stop: Shutdown) {
        let poll = StdDuration::from_secs(self.ctx.settings.worker_poll_secs);
        // Rows skipped because their chat had no free slot become sendable within about a
        // chat's spacing: look again that soon after a busy round instead of a whole poll.
        let soon = StdDuration::from_micros(self.pace.chat_spacing_us.unsigned_abs()).min(poll);
        loop {
            let busy = match self.deliver_due(self.ctx.now(), Some(&stop)).await {
                Ok(sent) => sent > 0,
                Err(error) => {
                    tracing::error!(error = format!("{error:#}"), "outbox worker step failed");
                    false
                }
            };
            tokio::select! {
                _ = wake.notified() => {}
                _ = tokio::time::sleep(if busy { soon } else { poll }) => {}
                _ = stop.cancelled() => return,
            }
        }
    }

    /// Wait for the row's send slot (`booked` with the claim, or booked here); `false` when
    /// the chat has no free slot now (the row is handed back and others go first).
    ///
    /// A sender that wakes up well after its slot (a busy machine, a stalled database) books
    /// again instead of sending late: a late send lands next to the following slot's send,
    /// and two of those in one second are a 429.
    async fn wait_for_slot(&self, claimed: &Claimed, mut booked: Option<Booking>) -> anyhow::Result<bool> {
        let Ok(chat) = claimed.recipient.parse::<i64>() else {
            return Ok(true); // not a chat id: `send` makes it a dead letter
        };
        // Never less than 25 ms: at high configured limits half a spacing is shorter than the
        // booking itself, and every booking would count as late.
        let late = (self.pace.overall_spacing_us / 2).max(25_000);
        loop {
            let booking = match booked.take() {
                Some(booking) => booking,
                None => self.ctx.delivery_io.book(chat, self.pace).await?,
            };
            match booking {
                Booking::At { slot, .. } => {
                    let wait = slot - wall_clock_us();
                    if wait > 0 {
                        tokio::time::sleep(StdDuration::from_micros(wait.unsigned_abs())).await;
                    }
                    if wall_clock_us() - slot <= late {
                        return Ok(true);
                    }
                    tracing::debug!("woke up too late for the booked slot; booking again");
                }
                Booking::ChatBusyUntil(_) => {
                    let mut conn = self.ctx.db.pool().acquire().await?;
                    outbox::release(&mut conn, claimed).await?;
                    return Ok(false);
                }
            }
        }
    }

    /// Whether enough of the lease is left to send and record the result: a quarter is kept
    /// in hand for the send itself.
    fn lease_left(&self, claimed_at: Instant) -> bool {
        let lease = self.lease.to_std().unwrap_or_default();
        claimed_at.elapsed() < lease - lease / 4
    }

    async fn send(&self, msg: &Claimed) -> Result<(), SendError> {
        match msg.channel {
            Channel::Telegram => self.send_telegram(msg).await,
            Channel::Email => {
                let subject = msg.subject.as_deref().unwrap_or("Guanxi");
                self.mailer.send(&msg.recipient, subject, &msg.body, &message_id_for(&msg.key)).await.map_err(|e| {
                    match e {
                        MailError::Permanent(m) => SendError::Permanent(m),
                        MailError::Transient(m) => SendError::Transient(m),
                    }
                })
            }
        }
    }

    async fn send_telegram(&self, msg: &Claimed) -> Result<(), SendError> {
        let chat: i64 =
            msg.recipient.parse().map_err(|_| SendError::Permanent(format!("'{}' is not a chat id", msg.recipient)))?;
        let result = if let Some(file_name) = &msg.attachment_name {
            let file = teloxide::types::InputFile::memory(msg.body.clone().into_bytes()).file_name(file_name.clone());
            self.bot.send_document(ChatId(chat), file).await.map(drop).map_err(classify)
        } else {
            let mut request = self.bot.send_message(ChatId(chat), msg.body.clone());
            if let Some(markup) = &msg.reply_markup {
                let keyboard: InlineKeyboardMarkup = serde_json::from_str(markup)
                    .map_err(|e| SendError::Permanent(format!("stored keyboard is not valid: {e}")))?;
                request = request.reply_markup(keyboard);
            }
            request.await.map(drop).map_err(classify)
        };
        if let Err(SendError::RetryAfter(wait, _)) = &result {
            // Every sender of every instance holds off, not only this one.
            let wait_us = i64::try_from(wait.as_micros()).unwrap_or(i64::MAX / 2);
            if let Err(error) = send_gate::pause(&self.ctx.db, wait_us).await {
                tracing::warn!(error = format!("{error:#}"), "could not record Telegram's pause");
            }
        }
        result
    }
}

/// Retry logical errors never, everything else with backoff (DESIGN: retry non-logical errors only).
fn classify(error: RequestError) -> SendError {
    match error {
        RequestError::RetryAfter(wait) => SendError::RetryAfter(wait.duration(), "Telegram: too many requests".into()),
        RequestError::Api(ApiError::Unknown(text)) => SendError::Transient(format!("Telegram: {text}")),
        RequestError::Api(api @ (ApiError::BotBlocked | ApiError::UserDeactivated)) => {
            SendError::Blocked(format!("Telegram: {api}"))
        }
        RequestError::Api(api) => SendError::Permanent(format!("Telegram: {api}")),
        RequestError::MigrateToChatId(_) => SendError::Permanent("Telegram: chat migrated".into()),
        other => SendError::Transient(format!("Telegram: {other}")),
    }
}

/// Exponential backoff from 30 s doubling to at most an hour, with ±20 % jitter so that rows
/// failed together do not retry together.
pub fn backoff(attempts: i64) -> Duration {
    let exp = attempts.clamp(1, 12) - 1;
    let base = (30i64 << exp).min(3600);
    let jitter = rand::rng().random_range(-0.2..=0.2);
    Duration::milliseconds(((base as f64) * (1.0 + jitter) * 1000.0) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        for (attempts, base) in [(1, 30), (2, 60), (3, 120), (8, 3600), (50, 3600)] {
            let d = backoff(attempts).num_milliseconds();
            assert!(d >= base * 800 && d <= base * 1200, "attempt {attempts}: {d} ms");
        }
    }
}
