//! The outbox worker's statements, group-committed across its senders (see `group_commit`):
//! the claim of a row together with the booking of its send slot, a booking again (a sender
//! that woke up too late for its slot), and the completion.
//!
//! Each sender still claims, books and completes one row at a time, with the same fencing
//! and order as before; what several senders ask at the same moment is done in one
//! statement (one transaction for the bookings). The rows claimed together get their slots
//! in the same connection use, in claiming order, so a message costs two uses of the
//! database (claim and booking, completion) instead of three. How many rows are claimed
//! ahead of their slots is still bounded by the number of senders.

use chrono::{DateTime, Duration, Utc};

use super::group_commit::{Connection, GroupCommit};
use super::outbox::{self, Channel, Claimed};
use super::{Backend, Db, send_gate};
use crate::jobs::pace::{Booking, Pace};

/// One task per statement kind; cheap to clone.
#[derive(Debug, Clone)]
pub struct DeliveryIo {
    claims: GroupCommit<Ask, Option<(Claimed, Option<Booking>)>>,
    bookings: GroupCommit<(i64, Pace), Booking>,
    completions: GroupCommit<(i64, i64, DateTime<Utc>), bool>,
}

impl DeliveryIo {
    /// Start the tasks (they need a running tokio runtime); they end when the last clone of
    /// this is dropped.
    pub fn start(db: &Db) -> Self {
        Self {
            claims: GroupCommit::start(db, "claiming outbox rows", claim),
            bookings: GroupCommit::start(
                db,
                "booking send slots",
                |backend, mut conn: Connection, requests: Vec<_>| async move {
                    send_gate::book_many(&mut conn, backend, &requests).await
                },
            ),
            completions: GroupCommit::start(db, "completing outbox rows", complete),
        }
    }

    /// Claim the next sendable row as of `now` for `lease` (see `outbox::claim`) and, for a
    /// Telegram message, book its send slot at `pace` (see `send_gate::book`). No booking
    /// when the row is not a Telegram message to a chat id, or when booking failed: the
    /// sender then books on its own.
    pub async fn claim(
        &self,
        now: DateTime<Utc>,
        lease: Duration,
        pace: Pace,
    ) -> anyhow::Result<Option<(Claimed, Option<Booking>)>> {
        self.claims.run(Ask { now, lease, pace }).await
    }

    /// Book a send slot for a message to `chat` (see `send_gate::book`).
    pub async fn book(&self, chat: i64, pace: Pace) -> anyhow::Result<Booking> {
        self.bookings.run((chat, pace)).await
    }

    /// Mark a claimed row sent; `false` when its fence moved on (see `outbox::complete`).
    pub async fn complete(&self, claimed: &Claimed, now: DateTime<Utc>) -> anyhow::Result<bool> {
        self.completions.run((claimed.id, claimed.fence, now)).await
    }
}

/// A sender asking for a row.
#[derive(Debug, Clone, Copy)]
struct Ask {
    now: DateTime<Utc>,
    lease: Duration,
    pace: Pace,
}

/// As many rows as senders asked for, as of the latest of their times, in one statement per
/// lease asked for (one, unless workers of different settings share this process); then the
/// Telegram rows' slots, in one transaction.
async fn claim(
    backend: Backend,
    mut conn: Connection,
    asks: Vec<Ask>,
) -> anyhow::Result<Vec<Option<(Claimed, Option<Booking>)>>> {
    let mut claimed: Vec<Option<Claimed>> = asks.iter().map(|_| None).collect();
    let mut leases: Vec<Duration> = asks.iter().map(|ask| ask.lease).collect();
    leases.sort();
    leases.dedup();
    for lease in leases {
        let mine: Vec<usize> = (0..asks.len()).filter(|&i| asks[i].lease == lease).collect();
        let Some(now) = mine.iter().map(|&i| asks[i].now).max() else { continue };
        let rows = outbox::claim_many(&mut conn, backend, now, lease, mine.len()).await?;
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
            Some((i, (row.recipient.parse::<i64>().ok()?, asks[i].pace)))
        })
        .collect();
    let mut bookings: Vec<Option<Booking>> = asks.iter().map(|_| None).collect();
    if !to_book.is_empty() {
        let requests: Vec<(i64, Pace)> = to_book.iter().map(|(_, request)| *request).collect();
        match send_gate::book_many(&mut conn, backend, &requests).await {
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

async fn complete(_: Backend, mut conn: Connection, done: Vec<(i64, i64, DateTime<Utc>)>) -> anyhow::Result<Vec<bool>> {
    let Some(now) = done.iter().map(|(_, _, now)| *now).max() else { return Ok(Vec::new()) };
    let claims: Vec<(i64, i64)> = done.iter().map(|(id, fence, _)| (*id, *fence)).collect();
    outbox::complete_many(&mut conn, &claims, now).await
}
