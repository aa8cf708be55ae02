//! The statements every Telegram update makes, group-committed across the updates being
//! handled at the same moment (see `group_commit`), in two uses of the database per update:
//!
//! - [`UpdateIo::begin`]: the claim, and with it what handling needs first, the sender's staff
//!   record and the chat's dialogue state;
//! - [`UpdateIo::finish`]: everything the update leaves behind, in one transaction: the
//!   chat's new dialogue state, its replies, and the done mark.
//!
//! Why two: each use of the database is a wait in a queue (SQLite has one connection, and a
//! PostgreSQL commit flushes the WAL), and an update waits for its uses one after the other.
//! With one use per statement an update waited six times before its reply could be sent;
//! now it waits twice. What the update's handler writes is held until it ends
//! (`telegram::reply::Replier`), so an update is stored whole or not at all: a crash half-way
//! leaves its claim unfinished, and whoever takes the stale claim over handles it from the
//! start, instead of finding a state written whose reply was never queued.
//!
//! What the handler writes through its own services (a complaint and its notices, an access
//! log) is still committed where it happens, in those services' transactions.

use std::collections::HashMap;

use anyhow::Context;
use chrono::{DateTime, Utc};

use super::group_commit::{Connection, GroupCommit};
use super::outbox::{self, NewMessage};
use super::staff::{self, Staff};
use super::{Backend, Db, begin_on, dialogues, updates};
use crate::domain::ids::TelegramUserId;

/// One task for the beginnings, one for the ends; cheap to clone.
#[derive(Debug, Clone)]
pub struct UpdateIo {
    beginnings: GroupCommit<Opening, Option<Begun>>,
    endings: GroupCommit<Ending, ()>,
}

/// An update about to be handled.
#[derive(Debug, Clone)]
pub struct Opening {
    pub update_id: i64,
    pub now: DateTime<Utc>,
    /// Who sent it, when anyone is to be answered: their staff record is loaded.
    pub sender: Option<TelegramUserId>,
    /// The chat it came from, when it is to be answered: its dialogue state is loaded.
    pub chat: Option<i64>,
}

/// What an update's handling starts from, read right after its claim.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Begun {
    pub staff: Option<Staff>,
    /// The chat's dialogue state as stored (JSON text; the telegram layer owns its shape).
    pub dialogue: Option<String>,
}

/// How an update leaves its chat's dialogue state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum DialogueChange {
    #[default]
    Keep,
    Set(String),
    Clear,
}

/// What a handled update leaves behind.
#[derive(Debug, Clone)]
pub struct Ending {
    pub update_id: i64,
    pub now: DateTime<Utc>,
    pub chat: i64,
    pub dialogue: DialogueChange,
    /// Its replies' outbox rows, in order.
    pub replies: Vec<NewMessage>,
}

impl UpdateIo {
    /// Start the tasks (they need a running tokio runtime); they end when the last clone of
    /// this is dropped.
    pub fn start(db: &Db) -> Self {
        Self {
            beginnings: GroupCommit::start(db, "beginning Telegram updates", begin_many),
            endings: GroupCommit::start(db, "finishing Telegram updates", finish_many),
        }
    }

    /// Claim an update for handling and read what handling starts from; `None` when it was
    /// handled or is being handled.
    pub async fn begin(&self, opening: Opening) -> anyhow::Result<Option<Begun>> {
        self.beginnings.run(opening).await
    }

    /// Store what the update leaves behind and mark it handled, all in one transaction.
    pub async fn finish(&self, ending: Ending) -> anyhow::Result<()> {
        self.endings.run(ending).await
    }
}

/// The claims of a batch in one statement, then the staff records and dialogue states of the
/// updates claimed, one statement each.
async fn begin_many(_: Backend, mut conn: Connection, openings: Vec<Opening>) -> anyhow::Result<Vec<Option<Begun>>> {
    let claims: Vec<(i64, DateTime<Utc>)> = openings.iter().map(|o| (o.update_id, o.now)).collect();
    let claimed = updates::claim_many(&mut conn, &claims).await?;
    let mine: Vec<&Opening> = openings.iter().zip(&claimed).filter(|(_, claimed)| **claimed).map(|(o, _)| o).collect();
    let senders: Vec<TelegramUserId> = mine.iter().filter_map(|o| o.sender).collect();
    let chats: Vec<i64> = mine.iter().filter_map(|o| o.chat).collect();
    let staff: HashMap<TelegramUserId, Staff> =
        staff::by_telegram_ids(&mut conn, &senders).await?.into_iter().flatten().map(|s| (s.telegram_id, s)).collect();
    let dialogues: HashMap<i64, String> = chats
        .iter()
        .copied()
        .zip(dialogues::get_many(&mut conn, &chats).await?)
        .filter_map(|(chat, state)| Some((chat, state?)))
        .collect();
    Ok(openings
        .iter()
        .zip(claimed)
        .map(|(o, claimed)| {
            claimed.then(|| Begun {
                staff: o.sender.and_then(|id| staff.get(&id).cloned()),
                dialogue: o.chat.and_then(|chat| dialogues.get(&chat).cloned()),
            })
        })
        .collect())
}

/// A batch's endings in one transaction: each chat's last dialogue change (a chat's updates
/// are handled one after another, so a batch seldom holds two of one chat, but if it does the
/// later wins), all replies in multi-row inserts, and the done marks.
async fn finish_many(backend: Backend, mut conn: Connection, endings: Vec<Ending>) -> anyhow::Result<Vec<()>> {
    let Some(now) = endings.iter().map(|e| e.now).max() else { return Ok(Vec::new()) };
    let count = endings.len();
    let mut changes: HashMap<i64, (DialogueChange, DateTime<Utc>)> = HashMap::new();
    let mut done = Vec::with_capacity(count);
    let mut replies = Vec::new();
    for ending in endings {
        if ending.dialogue != DialogueChange::Keep {
            changes.insert(ending.chat, (ending.dialogue, ending.now));
        }
        done.push((ending.update_id, ending.now));
        replies.extend(ending.replies);
    }
    let mut sets = Vec::new();
    let mut clears = Vec::new();
    for (chat, (change, at)) in changes {
        match change {
            DialogueChange::Set(state) => sets.push((chat, state, at)),
            DialogueChange::Clear => clears.push(chat),
            DialogueChange::Keep => {}
        }
    }
    let mut tx = begin_on(&mut conn, backend).await?;
    dialogues::set_many(&mut tx, &sets).await?;
    dialogues::clear_many(&mut tx, &clears).await?;
    outbox::enqueue_many(&mut tx, &replies, now).await?;
    updates::finish_many(&mut tx, &done).await?;
    tx.commit().await.context("finishing Telegram updates")?;
    Ok(vec![(); count])
}
