//! The statements every Telegram update makes, group-committed across the updates being
//! handled at the same moment (see `group_commit`), in two uses of the database per update:
//!
//! - [`UpdateIo::begin`]: the claim, and with it what handling needs first, the sender's staff
//!   record and the chat's dialogue state;
//! - [`UpdateIo::finish`]: everything the update leaves behind, in one transaction: the
//!   chat's new dialogue state, its replies, and the done mark; and the claim of its first
//!   reply with that reply's send slot, for the handler to send at once.
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
//!
//! Why the handler sends its reply itself: left to the outbox senders, a reply waited for a
//! sender to wake up, for its claim and its slot (a third use of the database, shared with
//! every bulk message), and for its completion with the next claim. The senders' claims were
//! three quarters of SQLite's busy time in the updates bench. Claimed in the ending's
//! transaction, the reply is in flight (`sending`, fenced, leased) the moment it is stored,
//! so nothing changes for the durability rules: it is queued before it is sent, marked sent
//! after, and if the handler dies in between its lease runs out and a sender sends it. Its
//! slot is booked from the same shared schedule as every other message, so the bot's limits
//! hold. A reply whose chat has an earlier message waiting, or no free slot, is left to the
//! senders as before, and so are any further replies of the same update (they must follow
//! the first).
//!
//! The handlers' completions of the replies they sent ([`UpdateIo::complete`]) go in the same
//! batches as the endings, first in their transaction. Why: a reply is sent between its
//! update's end and the chat's next update, so under load its completion arrives among other
//! updates' endings. In batches of their own (shared with the senders' claims) they were the
//! most frequent use of the database, most of them for a single row: in a run of the updates
//! bench at 200 customers, 435 completion statements for 2,310 rows, 269 of them for one.
//! Stored first, they also leave their chats free for the replies stored after them in the
//! same transaction.

use std::collections::HashMap;

use anyhow::Context;
use chrono::{DateTime, Utc};

use super::delivery_io::{self, ClaimedRow, SendNow, Sent};
use super::group_commit::{Connection, GroupCommit};
use super::outbox::{Claimed, NewMessage};
use super::staff::{self, Staff};
use super::{Backend, Db, begin_on, dialogues, updates};
use crate::domain::ids::TelegramUserId;

/// The task the updates' uses of the database go to; cheap to clone.
///
/// On SQLite one task takes the beginnings, the ends and the replies' completions alike, so
/// that whatever of them waits at the same moment shares one transaction: SQLite has one
/// connection, so separate tasks only took turns on it, each with its own commit and its
/// own hand-over of the connection. On PostgreSQL the beginnings have a task of their own,
/// on a connection of their own, and are not held up by the ends' longer transactions.
#[derive(Debug, Clone)]
pub struct UpdateIo {
    beginnings: GroupCommit<Asked, Answer>,
    endings: GroupCommit<Asked, Answer>,
}

/// One use of the database: an update's beginning, its end, or a reply sent.
#[derive(Debug, Clone)]
enum Asked {
    Begin(Opening),
    End(Ending),
    Sent(Sent),
}

/// Its answer: what handling starts from (`None`: handled or being handled elsewhere), the
/// end stored, or whether the completion was taken.
#[derive(Debug)]
enum Answer {
    Begun(Option<Begun>),
    Ended(Finished),
    Sent(bool),
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

/// What storing an update's end left to do.
#[derive(Debug, Default)]
pub struct Finished {
    /// Its first reply, claimed and with its send slot booked: the handler sends it.
    pub claimed: Option<ClaimedRow>,
    /// Its replies left pending for the outbox senders.
    pub pending: usize,
}

impl UpdateIo {
    /// Start the task or tasks (they need a running tokio runtime); they end when the last
    /// clone of this is dropped.
    pub fn start(db: &Db, send_now: SendNow) -> Self {
        let run = move |backend, conn, asked| run_many(backend, conn, asked, send_now);
        let endings = GroupCommit::start(db, "storing Telegram updates", run);
        let beginnings = match db.backend() {
            Backend::Sqlite => endings.clone(),
            Backend::Postgres => GroupCommit::start(db, "beginning Telegram updates", run),
        };
        Self { beginnings, endings }
    }

    /// Claim an update for handling and read what handling starts from; `None` when it was
    /// handled or is being handled.
    pub async fn begin(&self, opening: Opening) -> anyhow::Result<Option<Begun>> {
        match self.beginnings.run(Asked::Begin(opening)).await? {
            Answer::Begun(begun) => Ok(begun),
            other => anyhow::bail!("an update's beginning was answered as {}", other.what()),
        }
    }

    /// Store what the update leaves behind and mark it handled, all in one transaction, with
    /// its first reply claimed for sending at once when its chat is free.
    pub async fn finish(&self, ending: Ending) -> anyhow::Result<Finished> {
        match self.endings.run(Asked::End(ending)).await? {
            Answer::Ended(finished) => Ok(finished),
            other => anyhow::bail!("an update's end was answered as {}", other.what()),
        }
    }

    /// Mark a reply claimed with its update's end (or any row claimed to be sent at once)
    /// sent as of `at`; `false` when its fence moved on (see `outbox::complete_many`).
    pub async fn complete(&self, claimed: &Claimed, at: DateTime<Utc>) -> anyhow::Result<bool> {
        match self.endings.run(Asked::Sent(Sent::of(claimed, at))).await? {
            Answer::Sent(completed) => Ok(completed),
            other => anyhow::bail!("a completion was answered as {}", other.what()),
        }
    }
}

/// A batch, in its order of arrival. Completions alone are one statement, and beginnings
/// alone their three, without a transaction of their own. Anything else goes in one
/// transaction: the completions first (they free their chats for the replies stored after
/// them), then the ends, then the beginnings (a beginning never meets its chat's previous
/// end in one batch, since a chat's updates are handled one after another, but if it did it
/// would read the state that end left).
async fn run_many(
    backend: Backend,
    mut conn: Connection,
    asked: Vec<Asked>,
    send_now: SendNow,
) -> anyhow::Result<Vec<Answer>> {
    let kinds: Vec<Kind> = asked.iter().map(Kind::of).collect();
    let (mut openings, mut endings, mut sent) = (Vec::new(), Vec::new(), Vec::new());
    for one in asked {
        match one {
            Asked::Begin(opening) => openings.push(opening),
            Asked::End(ending) => endings.push(ending),
            Asked::Sent(one) => sent.push(one),
        }
    }
    let answers = if endings.is_empty() && (openings.is_empty() || sent.is_empty()) {
        Answers {
            completed: delivery_io::complete_sent(&mut conn, &sent).await?,
            begun: begin_many(&mut conn, &openings).await?,
            finished: Vec::new(),
        }
    } else {
        let mut tx = begin_on(&mut conn, backend).await?;
        let completed = delivery_io::complete_sent(&mut tx, &sent).await?;
        let finished = finish_many(&mut tx, backend, endings, send_now).await?;
        let begun = begin_many(&mut tx, &openings).await?;
        tx.commit().await.context("storing Telegram updates")?;
        Answers { completed, finished, begun }
    };
    Ok(answers.in_order(&kinds))
}

impl Answer {
    /// Which answer this is, for an error: never its content (a staff record is personal
    /// data, and errors are logged).
    fn what(&self) -> &'static str {
        match self {
            Self::Begun(_) => "a beginning",
            Self::Ended(_) => "an end",
            Self::Sent(_) => "a completion",
        }
    }
}

/// Which of the three a use of the database is.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Begin,
    End,
    Sent,
}

impl Kind {
    fn of(asked: &Asked) -> Self {
        match asked {
            Asked::Begin(_) => Self::Begin,
            Asked::End(_) => Self::End,
            Asked::Sent(_) => Self::Sent,
        }
    }
}

/// A batch's answers, each kind in its own order.
struct Answers {
    begun: Vec<Option<Begun>>,
    finished: Vec<Finished>,
    completed: Vec<bool>,
}

impl Answers {
    /// One answer per use, in the batch's order (`kinds`). A kind short of answers leaves the
    /// batch short, which `group_commit` refuses.
    fn in_order(self, kinds: &[Kind]) -> Vec<Answer> {
        let mut begun = self.begun.into_iter();
        let mut finished = self.finished.into_iter();
        let mut completed = self.completed.into_iter();
        kinds
            .iter()
            .filter_map(|kind| match kind {
                Kind::Begin => begun.next().map(Answer::Begun),
                Kind::End => finished.next().map(Answer::Ended),
                Kind::Sent => completed.next().map(Answer::Sent),
            })
            .collect()
    }
}

/// The claims of a batch in one statement, then the staff records and dialogue states of the
/// updates claimed, one statement each.
async fn begin_many(conn: &mut sqlx::AnyConnection, openings: &[Opening]) -> anyhow::Result<Vec<Option<Begun>>> {
    if openings.is_empty() {
        return Ok(Vec::new());
    }
    let claims: Vec<(i64, DateTime<Utc>)> = openings.iter().map(|o| (o.update_id, o.now)).collect();
    let claimed = updates::claim_many(&mut *conn, &claims).await?;
    let mine: Vec<&Opening> = openings.iter().zip(&claimed).filter(|(_, claimed)| **claimed).map(|(o, _)| o).collect();
    let senders: Vec<TelegramUserId> = mine.iter().filter_map(|o| o.sender).collect();
    let chats: Vec<i64> = mine.iter().filter_map(|o| o.chat).collect();
    let staff: HashMap<TelegramUserId, Staff> =
        staff::by_telegram_ids(&mut *conn, &senders).await?.into_iter().flatten().map(|s| (s.telegram_id, s)).collect();
    let dialogues: HashMap<i64, String> = chats
        .iter()
        .copied()
        .zip(dialogues::get_many(&mut *conn, &chats).await?)
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

/// A batch's endings, in the caller's transaction: each chat's last dialogue change (a
/// chat's updates are handled one after another, so a batch seldom holds two of one chat,
/// but if it does the later wins), all replies in multi-row inserts, the claim of the replies
/// that can go at once and their slots, and the done marks.
async fn finish_many(
    tx: &mut sqlx::AnyConnection,
    backend: Backend,
    endings: Vec<Ending>,
    send_now: SendNow,
) -> anyhow::Result<Vec<Finished>> {
    let Some(now) = endings.iter().map(|e| e.now).max() else { return Ok(Vec::new()) };
    let mut changes: HashMap<i64, (DialogueChange, DateTime<Utc>)> = HashMap::new();
    let mut done = Vec::with_capacity(endings.len());
    let mut replies = Vec::new();
    // Each ending's reply keys, to hand it back what was claimed of them.
    let mut keys_of: Vec<Vec<String>> = Vec::with_capacity(endings.len());
    for ending in endings {
        if ending.dialogue != DialogueChange::Keep {
            changes.insert(ending.chat, (ending.dialogue, ending.now));
        }
        done.push((ending.update_id, ending.now));
        keys_of.push(ending.replies.iter().map(|r| r.key.clone()).collect());
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
    dialogues::set_many(tx, &sets).await?;
    dialogues::clear_many(tx, &clears).await?;
    let mut claimed = delivery_io::enqueue_to_send_now(tx, backend, &replies, |_| true, now, send_now).await?;
    updates::finish_many(tx, &done).await?;
    Ok(keys_of
        .into_iter()
        .map(|keys| {
            let claimed = keys.iter().find_map(|key| claimed.remove(key));
            Finished { pending: keys.len() - usize::from(claimed.is_some()), claimed }
        })
        .collect())
}
