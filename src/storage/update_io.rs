//! The statements every Telegram update makes, each group-committed across the updates being
//! handled at the same moment (see `group_commit`): its claim and done mark, the sender's
//! staff record, the chat's dialogue state read and written, and the replies it queues.
//!
//! Each call still returns only once its own statement is done, so the handlers keep the
//! order and durability they had with one statement each: a state written before a reply is
//! stored before the reply is queued, and a claim is held before handling starts.

use chrono::{DateTime, Utc};

use super::Db;
use super::group_commit::{Connection, GroupCommit};
use super::outbox::{self, NewMessage};
use super::staff::{self, Staff};
use super::{dialogues, updates};
use crate::domain::ids::TelegramUserId;

/// One task per statement kind; cheap to clone.
#[derive(Debug, Clone)]
pub struct UpdateIo {
    claims: GroupCommit<(i64, DateTime<Utc>), bool>,
    finishes: GroupCommit<(i64, DateTime<Utc>), ()>,
    staff: GroupCommit<TelegramUserId, Option<Staff>>,
    states: GroupCommit<i64, Option<String>>,
    state_writes: GroupCommit<(i64, String, DateTime<Utc>), ()>,
    state_clears: GroupCommit<i64, ()>,
    replies: GroupCommit<(Vec<NewMessage>, DateTime<Utc>), usize>,
}

impl UpdateIo {
    /// Start the tasks (they need a running tokio runtime); they end when the last clone of
    /// this is dropped.
    pub fn start(db: &Db) -> Self {
        Self {
            claims: GroupCommit::start(
                db,
                "claiming Telegram updates",
                |_, mut conn: Connection, keys: Vec<_>| async move { updates::claim_many(&mut conn, &keys).await },
            ),
            finishes: GroupCommit::start(
                db,
                "finishing Telegram updates",
                |_, mut conn: Connection, keys: Vec<_>| async move {
                    updates::finish_many(&mut conn, &keys).await.map(|()| vec![(); keys.len()])
                },
            ),
            staff: GroupCommit::start(
                db,
                "loading staff by Telegram id",
                |_, mut conn: Connection, keys: Vec<_>| async move { staff::by_telegram_ids(&mut conn, &keys).await },
            ),
            states: GroupCommit::start(
                db,
                "loading dialogue state",
                |_, mut conn: Connection, keys: Vec<_>| async move { dialogues::get_many(&mut conn, &keys).await },
            ),
            state_writes: GroupCommit::start(
                db,
                "storing dialogue state",
                |_, mut conn: Connection, keys: Vec<_>| async move {
                    dialogues::set_many(&mut conn, &keys).await.map(|()| vec![(); keys.len()])
                },
            ),
            state_clears: GroupCommit::start(
                db,
                "clearing dialogue state",
                |_, mut conn: Connection, keys: Vec<_>| async move {
                    dialogues::clear_many(&mut conn, &keys).await.map(|()| vec![(); keys.len()])
                },
            ),
            replies: GroupCommit::start(db, "queueing replies", |_, mut conn: Connection, keys: Vec<_>| async move {
                queue_replies(&mut conn, keys).await
            }),
        }
    }

    /// Claim an update for handling; `false` when it was handled or is being handled.
    pub async fn claim_update(&self, update_id: i64, now: DateTime<Utc>) -> anyhow::Result<bool> {
        self.claims.run((update_id, now)).await
    }

    /// The update was handled to the end.
    pub async fn finish_update(&self, update_id: i64, now: DateTime<Utc>) -> anyhow::Result<()> {
        self.finishes.run((update_id, now)).await
    }

    pub async fn staff(&self, telegram_id: TelegramUserId) -> anyhow::Result<Option<Staff>> {
        self.staff.run(telegram_id).await
    }

    /// The chat's dialogue state as stored (JSON text).
    pub async fn dialogue(&self, chat_id: i64) -> anyhow::Result<Option<String>> {
        self.states.run(chat_id).await
    }

    pub async fn set_dialogue(&self, chat_id: i64, state: String, now: DateTime<Utc>) -> anyhow::Result<()> {
        self.state_writes.run((chat_id, state, now)).await
    }

    pub async fn clear_dialogue(&self, chat_id: i64) -> anyhow::Result<()> {
        self.state_clears.run(chat_id).await
    }

    /// Queue one reply's outbox rows (its parts); returns how many were new.
    pub async fn queue_reply(&self, parts: Vec<NewMessage>, now: DateTime<Utc>) -> anyhow::Result<usize> {
        self.replies.run((parts, now)).await
    }
}

/// All replies of a batch in multi-row inserts, as of the latest of their times (a reply's
/// `created_at`; when it may be sent is its own `not_before`).
async fn queue_replies(
    conn: &mut sqlx::AnyConnection,
    replies: Vec<(Vec<NewMessage>, DateTime<Utc>)>,
) -> anyhow::Result<Vec<usize>> {
    let Some(now) = replies.iter().map(|(_, now)| *now).max() else { return Ok(Vec::new()) };
    let parts_per_reply: Vec<usize> = replies.iter().map(|(parts, _)| parts.len()).collect();
    let rows: Vec<NewMessage> = replies.into_iter().flat_map(|(parts, _)| parts).collect();
    let new = outbox::enqueue_many(conn, &rows, now).await?;
    // Each reply's parts follow one another in `rows`.
    let mut parts = rows.iter();
    Ok(parts_per_reply.into_iter().map(|n| parts.by_ref().take(n).filter(|p| new.contains(&p.key)).count()).collect())
}
