//! The outbox worker's statements, group-committed across its senders (see `group_commit`):
//! a sender's completion of the row it sent together with its claim of the next row and that
//! row's send slot, and a booking again (a sender that woke up too late for its slot).
//!
//! Each sender still sends one row at a time, with the same fencing and order as before;
//! what several senders ask at the same moment is done in one statement each (one
//! transaction for the bookings). A sender stores the completion of the row it just sent in
//! the same use of the database as its next claim, and the rows claimed together get their
//! slots in that use too: one use of the database a message (it was two: the claim with its
//! booking, then the completion). How many rows
//! are claimed ahead of their slots is still bounded by the number of senders.
//!
//! The rows a handler claimed with its update's end and sent itself are completed with the
//! updates' endings instead (`update_io::UpdateIo::complete`).

use std::collections::{HashMap, HashSet};

use anyhow::Context;
use chrono::{DateTime, Duration, Utc};

use super::group_commit::{Connection, GroupCommit};
use super::outbox::{self, Channel, Claimed, NewMessage};
use super::{Backend, Db, send_gate};
use crate::jobs::pace::{Booking, Pace};

/// One task per statement kind; cheap to clone.
#[derive(Debug, Clone)]
pub struct DeliveryIo {
    steps: GroupCommit<Step, Stepped>,
    bookings: GroupCommit<(i64, Pace), Booking>,
}

/// A row claimed, with its send slot when one was booked with the claim.
pub type ClaimedRow = (Claimed, Option<Booking>);

impl DeliveryIo {
    /// Start the tasks (they need a running tokio runtime); they end when the last clone of
    /// this is dropped.
    pub fn start(db: &Db) -> Self {
        Self {
            steps: GroupCommit::start(db, "completing and claiming outbox rows", step_many),
            bookings: GroupCommit::start(
                db,
                "booking send slots",
                |backend, mut conn: Connection, requests: Vec<_>| async move {
                    send_gate::book_many(&mut conn, backend, &requests).await
                },
            ),
        }
    }

    /// Claim the next sendable row as of `now` for `lease` (see `outbox::claim`) and, for a
    /// Telegram message, book its send slot at `pace` (see `send_gate::book`). No booking
    /// when the row is not a Telegram message to a chat id, or when booking failed: the
    /// sender then books on its own.
    pub async fn claim(&self, now: DateTime<Utc>, lease: Duration, pace: Pace) -> anyhow::Result<Option<ClaimedRow>> {
        let stepped = self.steps.run(Step { sent: None, ask: Ask { now, lease, pace } }).await?;
        Ok(stepped.claimed)
    }

    /// Mark the row sent as of `at` (see `outbox::complete_many`), then [`Self::claim`] the
    /// next, in one use of the database: whether the completion was taken (`false` when the
    /// row's fence moved on), and the next row.
    pub async fn complete_and_claim(
        &self,
        claimed: &Claimed,
        at: DateTime<Utc>,
        now: DateTime<Utc>,
        lease: Duration,
        pace: Pace,
    ) -> anyhow::Result<(bool, Option<ClaimedRow>)> {
        let step = Step { sent: Some(Sent::of(claimed, at)), ask: Ask { now, lease, pace } };
        let stepped = self.steps.run(step).await?;
        Ok((stepped.completed.context("a completion went unanswered")?, stepped.claimed))
    }

    /// Book a send slot for a message to `chat` (see `send_gate::book`).
    pub async fn book(&self, chat: i64, pace: Pace) -> anyhow::Result<Booking> {
        self.bookings.run((chat, pace)).await
    }
}

/// One sender's turn: the row it sent, if any, and its ask for the next.
#[derive(Debug, Clone, Copy)]
struct Step {
    sent: Option<Sent>,
    ask: Ask,
}

/// A row sent: its claim and when it was sent.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sent {
    id: i64,
    fence: i64,
    at: DateTime<Utc>,
}

impl Sent {
    pub(crate) fn of(claimed: &Claimed, at: DateTime<Utc>) -> Self {
        Self { id: claimed.id, fence: claimed.fence, at }
    }
}

/// Mark the rows `sent` done in one statement, as of the latest of their times; for each,
/// whether its completion was taken (see `outbox::complete_many`).
pub(crate) async fn complete_sent(conn: &mut sqlx::AnyConnection, sent: &[Sent]) -> anyhow::Result<Vec<bool>> {
    let Some(at) = sent.iter().map(|s| s.at).max() else { return Ok(Vec::new()) };
    let claims: Vec<(i64, i64)> = sent.iter().map(|s| (s.id, s.fence)).collect();
    outbox::complete_many(conn, &claims, at).await
}

/// What a turn got: whether its completion was taken, and the row it claimed.
#[derive(Debug, Default)]
struct Stepped {
    completed: Option<bool>,
    claimed: Option<ClaimedRow>,
}

/// A sender asking for a row.
#[derive(Debug, Clone, Copy)]
struct Ask {
    now: DateTime<Utc>,
    lease: Duration,
    pace: Pace,
}

/// A batch of turns: first the completions, in one statement (committed on their own, so
/// that a claim failing after them cannot lose them, and so that a chat whose row was just
/// sent can have its next claimed); then the claims and their slots.
async fn step_many(backend: Backend, mut conn: Connection, steps: Vec<Step>) -> anyhow::Result<Vec<Stepped>> {
    let mut stepped: Vec<Stepped> = steps.iter().map(|_| Stepped::default()).collect();
    let (turns, sent): (Vec<usize>, Vec<Sent>) =
        steps.iter().enumerate().filter_map(|(i, s)| Some((i, s.sent?))).unzip();
    for (i, completed) in turns.into_iter().zip(complete_sent(&mut conn, &sent).await?) {
        stepped[i].completed = Some(completed);
    }
    let asks: Vec<(usize, Ask)> = steps.iter().map(|s| s.ask).enumerate().collect();
    let rows = claim(backend, &mut conn, &asks).await?;
    for ((i, _), row) in asks.iter().zip(rows) {
        stepped[*i].claimed = row;
    }
    Ok(stepped)
}

/// As many rows as senders asked for, as of the latest of their times, in one statement per
/// lease asked for (one, unless workers of different settings share this process); then the
/// Telegram rows' slots, in one transaction. One answer per ask, in order.
async fn claim(
    backend: Backend,
    conn: &mut sqlx::AnyConnection,
    asks: &[(usize, Ask)],
) -> anyhow::Result<Vec<Option<ClaimedRow>>> {
    let mut claimed: Vec<Option<Claimed>> = asks.iter().map(|_| None).collect();
    let mut leases: Vec<Duration> = asks.iter().map(|(_, ask)| ask.lease).collect();
    leases.sort();
    leases.dedup();
    for lease in leases {
        let mine: Vec<usize> = (0..asks.len()).filter(|&i| asks[i].1.lease == lease).collect();
        let Some(now) = mine.iter().map(|&i| asks[i].1.now).max() else { continue };
        let rows = outbox::claim_many(conn, backend, now, lease, mine.len()).await?;
        for (i, row) in mine.into_iter().zip(rows) {
            claimed[i] = Some(row);
        }
    }
    // The rows are claimed (committed) by now: a failed booking must not lose them to the
    // lease, so it only leaves each sender to book on its own.
    let to_book: Vec<(usize, (i64, Pace))> = claimed
        .iter()
        .enumerate()
        .filter_map(|(i, row)| {
            let row = row.as_ref().filter(|r| r.channel == Channel::Telegram)?;
            Some((i, (row.recipient.parse::<i64>().ok()?, asks[i].1.pace)))
        })
        .collect();
    let mut bookings: Vec<Option<Booking>> = asks.iter().map(|_| None).collect();
    if !to_book.is_empty() {
        let requests: Vec<(i64, Pace)> = to_book.iter().map(|(_, request)| *request).collect();
        match send_gate::book_many(conn, backend, &requests).await {
            Ok(booked) => {
                for ((i, _), booking) in to_book.iter().zip(booked) {
                    bookings[*i] = Some(booking);
                }
            }
            Err(error) => tracing::warn!(error = format!("{error:#}"), "booking the claimed rows' slots failed"),
        }
    }
    Ok(claimed.into_iter().zip(bookings).map(|(row, booking)| row.map(|row| (row, booking))).collect())
}

/// How rows claimed to be sent at once by whoever queued them (an update's first reply, a
/// new complaint's acceptance) are held and paced: the outbox worker's lease and the bot's
/// send schedule (`jobs::worker::send_now`).
#[derive(Debug, Clone, Copy)]
pub struct SendNow {
    pub lease: Duration,
    pub pace: Pace,
}

/// Queue `messages` in the caller's transaction, and those of them that `sendable` picks and
/// that can go at once (Telegram, to a chat id, due, the first message of their chat in
/// `messages`, their chat free as [`outbox::busy_recipients`] tells and with a send slot)
/// already claimed with their slots booked, for the caller to send right after its commit
/// (`jobs::worker::Worker::deliver_now`). The rest wait for the senders. Returns the claimed
/// rows by key.
///
/// The slots are booked before the rows are stored, so that a chat without a free slot gets
/// its message stored pending, not claimed and handed back. A message whose key was queued
/// before (an update handled again) is not stored again and its slot goes unused: one
/// message's spacing for that chat.
pub(crate) async fn enqueue_to_send_now(
    conn: &mut sqlx::AnyConnection,
    backend: Backend,
    messages: &[NewMessage],
    sendable: impl Fn(&NewMessage) -> bool,
    now: DateTime<Utc>,
    send_now: SendNow,
) -> anyhow::Result<HashMap<String, ClaimedRow>> {
    // Each chat's first message, when it is one to send at once: a later one must follow it.
    let mut chats_seen = HashSet::new();
    let candidates: Vec<(usize, i64)> = messages
        .iter()
        .enumerate()
        .filter(|(_, m)| chats_seen.insert(m.recipient.as_str()))
        .filter(|(_, m)| m.channel == Channel::Telegram && m.not_before.is_none_or(|t| t <= now) && sendable(m))
        .filter_map(|(i, m)| Some((i, m.recipient.parse::<i64>().ok()?)))
        .collect();
    let asks: Vec<(&str, outbox::Priority)> =
        candidates.iter().map(|&(i, _)| (messages[i].recipient.as_str(), messages[i].priority)).collect();
    let busy = outbox::busy_recipients(conn, &asks, now).await?;
    let free: Vec<(usize, i64)> =
        candidates.into_iter().filter(|&(i, _)| !busy.contains(&messages[i].recipient)).collect();
    let requests: Vec<(i64, Pace)> = free.iter().map(|&(_, chat)| (chat, send_now.pace)).collect();
    let bookings = send_gate::book_in(conn, backend, &requests).await?;
    let mut claim = Vec::new();
    let mut booked: HashMap<&str, Booking> = HashMap::new();
    for (&(i, _), booking) in free.iter().zip(bookings) {
        if let Booking::At { .. } = booking {
            claim.push(i);
            booked.insert(messages[i].key.as_str(), booking);
        }
    }
    let claimed = outbox::enqueue_claimed(conn, messages, &claim, now, send_now.lease).await?;
    Ok(claimed
        .into_iter()
        .map(|row| {
            let booking = booked.get(row.key.as_str()).copied();
            (row.key.clone(), (row, booking))
        })
        .collect())
}

/// How many chats have `messages` left to the senders, none of them `claimed` (by key): a
/// sender to wake for each, since a chat's messages go one at a time.
pub(crate) fn chats_left_pending(messages: &[NewMessage], claimed: &HashMap<String, ClaimedRow>) -> usize {
    messages
        .iter()
        .filter(|m| !claimed.contains_key(&m.key))
        .map(|m| m.recipient.as_str())
        .collect::<HashSet<_>>()
        .len()
}
