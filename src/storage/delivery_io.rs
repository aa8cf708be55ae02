//! The outbox worker's statements, group-committed across its senders (see `group_commit`):
//! the claim of a row, the booking of its send slot, and its completion.
//!
//! Each sender still claims, books and completes one row at a time, with the same fencing
//! and order as before; what several senders ask at the same moment is done in one
//! statement (one transaction for the bookings). How many rows are claimed ahead of their
//! slots is still bounded by the number of senders.

use chrono::{DateTime, Duration, Utc};

use super::group_commit::{Connection, GroupCommit, batch};
use super::outbox::{self, Claimed};
use super::{Backend, Db, send_gate};
use crate::jobs::pace::{Booking, Pace};

/// One task per statement kind; cheap to clone.
#[derive(Debug, Clone)]
pub struct DeliveryIo {
    claims: GroupCommit<(DateTime<Utc>, Duration), Option<Claimed>>,
    bookings: GroupCommit<(i64, Pace), Booking>,
    completions: GroupCommit<(i64, i64, DateTime<Utc>), bool>,
}

impl DeliveryIo {
    /// Start the tasks (they need a running tokio runtime); they end when the last clone of
    /// this is dropped.
    pub fn start(db: &Db) -> Self {
        Self {
            claims: GroupCommit::start(db.clone(), "claiming outbox rows", batch(claim)),
            bookings: GroupCommit::start(
                db.clone(),
                "booking send slots",
                batch(|backend, mut conn: Connection, requests: Vec<(i64, Pace)>| async move {
                    send_gate::book_many(&mut conn, backend, &requests).await
                }),
            ),
            completions: GroupCommit::start(db.clone(), "completing outbox rows", batch(complete)),
        }
    }

    /// Claim the next sendable row as of `now` for `lease` (see `outbox::claim`).
    pub async fn claim(&self, now: DateTime<Utc>, lease: Duration) -> anyhow::Result<Option<Claimed>> {
        self.claims.run((now, lease)).await
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

/// As many rows as senders asked for, as of the latest of their times, in one statement per
/// lease asked for (one, unless workers of different settings share this process).
async fn claim(
    backend: Backend,
    mut conn: Connection,
    asks: Vec<(DateTime<Utc>, Duration)>,
) -> anyhow::Result<Vec<Option<Claimed>>> {
    let mut answers: Vec<Option<Claimed>> = asks.iter().map(|_| None).collect();
    let mut leases: Vec<Duration> = asks.iter().map(|(_, lease)| *lease).collect();
    leases.sort();
    leases.dedup();
    for lease in leases {
        let mine: Vec<usize> = (0..asks.len()).filter(|&i| asks[i].1 == lease).collect();
        let Some(now) = mine.iter().map(|&i| asks[i].0).max() else { continue };
        let claimed = outbox::claim_many(&mut conn, backend, now, lease, mine.len()).await?;
        for (i, row) in mine.into_iter().zip(claimed) {
            answers[i] = Some(row);
        }
    }
    Ok(answers)
}

async fn complete(_: Backend, mut conn: Connection, done: Vec<(i64, i64, DateTime<Utc>)>) -> anyhow::Result<Vec<bool>> {
    let Some(now) = done.iter().map(|(_, _, now)| *now).max() else { return Ok(Vec::new()) };
    let claims: Vec<(i64, i64)> = done.iter().map(|(id, fence, _)| (*id, *fence)).collect();
    outbox::complete_many(&mut conn, &claims, now).await
}
