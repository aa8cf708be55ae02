//! Two echo bots that keep what any durable bot must keep, and nothing more: what that costs
//! on its own, beside the bare echo bot and ours, in the same run (`benches/updates.rs`).
//!
//! Why: the project asks our bot to stay within 2x of the bare teloxide echo bot in updates
//! a second, and asks too that nothing is lost or doubled: every update is recorded so that a
//! redelivered one is handled once, and every reply goes through a durable outbox before it
//! is sent and is marked sent after. These bots do exactly that for an echo, on the same
//! database settings as ours (`guanxi::storage::Db`: one SQLite connection in WAL mode,
//! `synchronous = NORMAL`; or a PostgreSQL pool of 10), with two tables of their own and no
//! other work (no dialogue state, no templates, no send pacing, no worker: the handler sends
//! its own reply right after its commit). So they are a floor for any design that keeps the
//! durability rules, not a second implementation of ours:
//!
//! - [`per_update`]: one transaction per update (the update recorded, its reply queued),
//!   then the send, then the reply marked sent: 5 statements and 2 commits an update.
//! - [`GroupCommit`]: the same records, but the handlers of all updates waiting at one moment
//!   hand them to one task that writes them in a single transaction with multi-row
//!   statements (group commit), and the sent marks likewise. Each handler still waits for
//!   its own update to be committed before it sends.

use std::collections::HashSet;

use anyhow::{Context, ensure};
use guanxi::storage::Db;
use sqlx::AssertSqlSafe;
use teloxide::prelude::*;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// The two tables: updates seen, and replies queued (`sent` set once Telegram accepted one).
const SCHEMA: [&str; 2] = [
    "CREATE TABLE echo_seen (update_id BIGINT PRIMARY KEY)",
    "CREATE TABLE echo_outbox (msg_key TEXT PRIMARY KEY, chat_id BIGINT NOT NULL, text TEXT NOT NULL,
     sent BIGINT NOT NULL DEFAULT 0)",
];

/// Most records one group-commit transaction takes (3 bound values each).
const MAX_BATCH: usize = 1_000;

/// Connect to a fresh database (`url`) the way our bot does and create the two tables.
pub async fn prepare(url: &str) -> anyhow::Result<Db> {
    let db = Db::connect(url).await?;
    for statement in SCHEMA {
        sqlx::query(statement).execute(db.pool()).await.context("creating the durable echo's tables")?;
    }
    Ok(db)
}

/// Replies recorded and marked sent: what the run must have left behind.
pub async fn replies_sent(db: &Db) -> anyhow::Result<i64> {
    let (queued, sent): (i64, i64) =
        sqlx::query_as("SELECT COUNT(*), (SELECT COUNT(*) FROM echo_outbox WHERE sent = 1) FROM echo_outbox")
            .fetch_one(db.pool())
            .await?;
    ensure!(queued == sent, "{queued} replies queued but {sent} marked sent");
    Ok(sent)
}

fn reply_key(upd: &Update) -> String {
    format!("reply:{}", upd.id.0)
}

/// One transaction per update, then the send, then the sent mark.
pub async fn per_update(bot: Bot, msg: Message, upd: Update, db: Db) -> anyhow::Result<()> {
    let Some(text) = msg.text() else { return Ok(()) };
    let key = reply_key(&upd);
    let mut tx = db.begin().await?;
    let first = sqlx::query("INSERT INTO echo_seen (update_id) VALUES ($1) ON CONFLICT DO NOTHING")
        .bind(i64::from(upd.id.0))
        .execute(&mut *tx)
        .await?
        .rows_affected()
        == 1;
    if !first {
        tx.rollback().await?;
        return Ok(());
    }
    sqlx::query("INSERT INTO echo_outbox (msg_key, chat_id, text) VALUES ($1, $2, $3)")
        .bind(&key)
        .bind(msg.chat.id.0)
        .bind(text)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    bot.send_message(msg.chat.id, text).await?;
    sqlx::query("UPDATE echo_outbox SET sent = 1 WHERE msg_key = $1").bind(&key).execute(db.pool()).await?;
    Ok(())
}

/// An update to record and the reply it queues, with where to say whether it was new.
struct Record {
    update_id: i64,
    key: String,
    chat_id: i64,
    text: String,
    first: oneshot::Sender<Result<bool, String>>,
}

/// The group committer: two tasks, one writing records, one writing sent marks, each taking
/// everything waiting at once.
#[derive(Clone)]
pub struct GroupCommit {
    records: mpsc::UnboundedSender<Record>,
    sent: mpsc::UnboundedSender<String>,
}

impl GroupCommit {
    /// Start both tasks; they end once every handle is dropped and all they hold is written.
    pub fn start(db: &Db) -> (Self, Vec<JoinHandle<()>>) {
        let (records, records_rx) = mpsc::unbounded_channel();
        let (sent, sent_rx) = mpsc::unbounded_channel();
        let tasks =
            vec![tokio::spawn(write_records(db.clone(), records_rx)), tokio::spawn(write_sent(db.clone(), sent_rx))];
        (Self { records, sent }, tasks)
    }

    /// Record the update and queue its reply; `false` when the update was seen before.
    async fn record(&self, update_id: i64, key: String, chat_id: i64, text: String) -> anyhow::Result<bool> {
        let (first, answer) = oneshot::channel();
        self.records
            .send(Record { update_id, key, chat_id, text, first })
            .map_err(|_| anyhow::anyhow!("the group committer stopped"))?;
        answer.await.context("the group committer stopped")?.map_err(anyhow::Error::msg)
    }
}

/// The same as [`per_update`], through the group committer.
pub async fn group_committed(bot: Bot, msg: Message, upd: Update, commit: GroupCommit) -> anyhow::Result<()> {
    let Some(text) = msg.text() else { return Ok(()) };
    let key = reply_key(&upd);
    if !commit.record(i64::from(upd.id.0), key.clone(), msg.chat.id.0, text.to_owned()).await? {
        return Ok(());
    }
    bot.send_message(msg.chat.id, text).await?;
    commit.sent.send(key).map_err(|_| anyhow::anyhow!("the group committer stopped"))?;
    Ok(())
}

async fn write_records(db: Db, mut rx: mpsc::UnboundedReceiver<Record>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        match commit_records(&db, &batch).await {
            Ok(new) => {
                let mut answered = HashSet::new();
                for record in batch.drain(..) {
                    // An update twice in one batch: the first handler to ask handles it.
                    let first = new.contains(&record.update_id) && answered.insert(record.update_id);
                    let _ = record.first.send(Ok(first));
                }
            }
            Err(error) => {
                for record in batch.drain(..) {
                    let _ = record.first.send(Err(format!("{error:#}")));
                }
            }
        }
    }
}

/// One transaction: the updates recorded (those new returned), the replies of the new ones.
async fn commit_records(db: &Db, batch: &[Record]) -> anyhow::Result<HashSet<i64>> {
    let mut tx = db.begin().await?;
    let sql = format!(
        "INSERT INTO echo_seen (update_id) VALUES {} ON CONFLICT DO NOTHING RETURNING update_id",
        placeholders(batch.len(), 1)
    );
    let mut query = sqlx::query_scalar::<_, i64>(AssertSqlSafe(sql));
    for record in batch {
        query = query.bind(record.update_id);
    }
    let new: HashSet<i64> = query.fetch_all(&mut *tx).await?.into_iter().collect();
    let replies: Vec<&Record> = batch.iter().filter(|r| new.contains(&r.update_id)).collect();
    if !replies.is_empty() {
        let sql = format!(
            "INSERT INTO echo_outbox (msg_key, chat_id, text) VALUES {} ON CONFLICT DO NOTHING",
            placeholders(replies.len(), 3)
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for record in replies {
            query = query.bind(&record.key).bind(record.chat_id).bind(&record.text);
        }
        query.execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(new)
}

async fn write_sent(db: Db, mut rx: mpsc::UnboundedReceiver<String>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let sql = format!("UPDATE echo_outbox SET sent = 1 WHERE msg_key IN ({})", numbered(1..=batch.len()));
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for key in &batch {
            query = query.bind(key);
        }
        if let Err(error) = query.execute(db.pool()).await {
            // A bench has nobody to retry for: the count at the end shows the loss.
            eprintln!("durable echo: marking {} replies sent failed: {error}", batch.len());
        }
        batch.clear();
    }
}

/// `($1, $2), ($3, $4)` for `rows` rows of `columns` values.
fn placeholders(rows: usize, columns: usize) -> String {
    (0..rows).map(|r| format!("({})", numbered(r * columns + 1..=r * columns + columns))).collect::<Vec<_>>().join(", ")
}

/// `$1, $2, …` over `range`.
fn numbered(range: std::ops::RangeInclusive<usize>) -> String {
    range.map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}
