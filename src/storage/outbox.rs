//! The durable outbox: every Telegram message and e-mail we send is first a row here.
//!
//! A row is inserted with an idempotency key (`ON CONFLICT DO NOTHING`) in the same
//! transaction as the change that caused it, so a message is neither lost when we crash after
//! the change nor sent twice when the planner runs again. The worker claims a row (bumping its
//! `fence`), sends, and completes it only if the fence still matches: a worker that stalled
//! past its lease cannot complete a row another worker has claimed since.

use anyhow::Context;
use chrono::{DateTime, Duration, Utc};
use sqlx::{AnyConnection, FromRow};

use super::{Backend, epoch, from_epoch};

/// Which way a message leaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Telegram,
    Email,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Telegram => "telegram",
            Self::Email => "email",
        }
    }
}

/// Lower goes first: a person waiting in a chat is served before bulk reminders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    Interactive = 0,
    Bulk = 1,
}

/// A message to be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMessage {
    pub key: String,
    pub channel: Channel,
    /// A Telegram chat id, or an e-mail address.
    pub recipient: String,
    pub subject: Option<String>,
    pub body: String,
    /// Telegram `reply_markup` as JSON.
    pub reply_markup: Option<String>,
    pub priority: Priority,
    /// Not to be sent before this instant (quiet hours); `None` means at once.
    pub not_before: Option<DateTime<Utc>>,
    /// Send as a Telegram document of this file name, with `body` as its content.
    pub attachment_name: Option<String>,
}

/// A claimed row, ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimed {
    pub id: i64,
    pub key: String,
    pub channel: Channel,
    pub recipient: String,
    pub subject: Option<String>,
    pub body: String,
    pub reply_markup: Option<String>,
    pub attachment_name: Option<String>,
    pub attempts: i64,
    pub fence: i64,
}

/// Queue a message; `false` when a message with that key exists already.
pub async fn enqueue(conn: &mut AnyConnection, msg: &NewMessage, now: DateTime<Utc>) -> anyhow::Result<bool> {
    let new = enqueue_many(conn, std::slice::from_ref(msg), now)
        .await
        .with_context(|| format!("queueing message {}", msg.key))?;
    Ok(new.contains(&msg.key))
}

/// Queue messages in few statements (one, or the daily round's digests); returns the keys
/// that were new.
pub async fn enqueue_many(
    conn: &mut AnyConnection,
    messages: &[NewMessage],
    now: DateTime<Utc>,
) -> anyhow::Result<std::collections::HashSet<String>> {
    let inserted = insert(conn, messages, &[], now, now).await?;
    Ok(inserted.into_iter().map(|(key, _)| key).collect())
}

/// [`enqueue_many`], with the messages at the indexes `claim` (sorted) stored already claimed
/// for `lease` (`sending`, one attempt, fence 1), as [`claim`] would leave them: for the
/// caller to send at once (see `storage::delivery_io::enqueue_to_send_now`). Returns, of the
/// messages to claim, those that were new, claimed.
///
/// Why not queue and then claim: the claim was an `UPDATE` of rows just written, which moved
/// each of them in two of the outbox's indexes, for every reply the bot sends (about a
/// seventh of SQLite's statement time in the updates bench, `BENCHMARKS.md`).
pub async fn enqueue_claimed(
    conn: &mut AnyConnection,
    messages: &[NewMessage],
    claim: &[usize],
    now: DateTime<Utc>,
    lease: Duration,
) -> anyhow::Result<Vec<Claimed>> {
    let inserted: std::collections::HashMap<String, i64> =
        insert(conn, messages, claim, now, now + lease).await?.into_iter().collect();
    let claimed = claim
        .iter()
        .filter_map(|&i| {
            let msg = &messages[i];
            let id = *inserted.get(&msg.key)?;
            Some(Claimed {
                id,
                key: msg.key.clone(),
                channel: msg.channel,
                recipient: msg.recipient.clone(),
                subject: msg.subject.clone(),
                body: msg.body.clone(),
                reply_markup: msg.reply_markup.clone(),
                attachment_name: msg.attachment_name.clone(),
                attempts: 1,
                fence: 1,
            })
        })
        .collect();
    Ok(claimed)
}

/// Insert `messages`, those at the indexes `claim` (sorted) claimed until `lease_until`, the
/// rest pending; the keys and ids of the rows that were new.
async fn insert(
    conn: &mut AnyConnection,
    messages: &[NewMessage],
    claim: &[usize],
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
) -> anyhow::Result<Vec<(String, i64)>> {
    let mut inserted = Vec::with_capacity(messages.len());
    for (c, chunk) in messages.chunks(super::ROWS_PER_STATEMENT).enumerate() {
        let offset = c * super::ROWS_PER_STATEMENT;
        // Fourteen parameters a row, `created_at` among them, in the order they are written
        // (see `storage::positional`).
        let sql = super::positional(
            conn,
            format!(
                "INSERT INTO outbox (idem_key, channel, recipient, subject, body, reply_markup, priority, status,
                     attempts, fence, next_attempt_at, created_at, attachment_name, lease_until)
                 VALUES {} ON CONFLICT (idem_key) DO NOTHING RETURNING idem_key, id",
                super::value_rows(1, chunk.len(), 14)
            ),
        );
        let mut query = sqlx::query_as::<_, (String, i64)>(sqlx::AssertSqlSafe(sql));
        for (i, msg) in chunk.iter().enumerate() {
            let claimed = claim.binary_search(&(offset + i)).is_ok();
            query = query
                .bind(&msg.key)
                .bind(msg.channel.as_str())
                .bind(&msg.recipient)
                .bind(msg.subject.as_deref())
                .bind(&msg.body)
                .bind(msg.reply_markup.as_deref())
                .bind(msg.priority as i64)
                .bind(if claimed { "sending" } else { "pending" })
                .bind(i64::from(claimed))
                .bind(i64::from(claimed))
                .bind(epoch(msg.not_before.map_or(now, |t| t.max(now))))
                .bind(epoch(now))
                .bind(msg.attachment_name.as_deref())
                .bind(claimed.then(|| epoch(lease_until)));
        }
        inserted.extend(query.fetch_all(&mut *conn).await.context("queueing messages")?);
    }
    Ok(inserted)
}

/// Of these recipients, each with the priority of a message about to be queued for it,
/// those that could not have that message claimed as of `now`, since a claim takes only a
/// chat's first message (see [`claim_many`]): a row of theirs in flight, or an earlier row of
/// the same priority due or in flight. One statement, found through each recipient's queue
/// (`outbox_queued`).
pub async fn busy_recipients(
    conn: &mut AnyConnection,
    recipients: &[(&str, Priority)],
    now: DateTime<Utc>,
) -> anyhow::Result<std::collections::HashSet<String>> {
    if recipients.is_empty() {
        return Ok(std::collections::HashSet::new());
    }
    let sql = super::positional(conn, busy_recipients_statement(recipients.len()));
    let mut query = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql));
    for (recipient, priority) in recipients {
        query = query.bind(*recipient).bind(*priority as i64);
    }
    // `now` twice, after the recipients: each parameter once and in order (see
    // `storage::positional`).
    query = query.bind(epoch(now)).bind(epoch(now));
    let busy = query.fetch_all(conn).await.context("looking for recipients with messages in their way")?;
    Ok(busy.into_iter().collect())
}

/// [`busy_recipients`]' statement for `count` recipients: each recipient and priority, then
/// now twice. A new row comes after every row stored, so "earlier" needs no comparison of
/// ids.
fn busy_recipients_statement(count: usize) -> String {
    let now = 2 * count + 1;
    format!(
        "SELECT v.column1 FROM (VALUES {}) AS v
         WHERE EXISTS (SELECT 1 FROM outbox q
             WHERE q.recipient = v.column1 AND q.status IN ('pending', 'sending')
               AND ((q.status = 'sending' AND q.lease_until > ${now})
                    OR (q.priority = v.column2 AND (q.status = 'sending' OR q.next_attempt_at <= ${}))))",
        super::value_rows(1, count, 2),
        now + 1
    )
}

#[derive(FromRow)]
struct ClaimRow {
    id: i64,
    idem_key: String,
    channel: String,
    recipient: String,
    subject: Option<String>,
    body: String,
    reply_markup: Option<String>,
    attachment_name: Option<String>,
    attempts: i64,
    fence: i64,
    priority: i64,
    next_attempt_at: i64,
}

/// Claim the next sendable row for `lease`: pending and due, or sending with an expired
/// lease (its worker died). One statement, so two workers never claim the same row.
///
/// A row is skipped while another row to the same recipient is in flight, while an earlier
/// row of the same recipient and priority is due or in flight (a chat's messages leave in
/// order: on PostgreSQL a claimer that skips the row another is locking would otherwise take
/// the same chat's next one), and while the chat's send slot is booked ahead (`send_gate`),
/// so a burst to one chat never holds up the rest of the queue.
pub async fn claim(
    conn: &mut AnyConnection,
    backend: Backend,
    now: DateTime<Utc>,
    lease: Duration,
) -> anyhow::Result<Option<Claimed>> {
    Ok(claim_many(conn, backend, now, lease, 1).await?.pop())
}

/// Claim up to `limit` rows as [`claim`] does, in one statement, at most one per recipient:
/// the claims of several senders at once (see `storage::delivery_io`). In claiming order.
pub async fn claim_many(
    conn: &mut AnyConnection,
    backend: Backend,
    now: DateTime<Utc>,
    lease: Duration,
    limit: usize,
) -> anyhow::Result<Vec<Claimed>> {
    let limit = i64::try_from(limit.max(1)).unwrap_or(i64::MAX);
    let claim = match backend {
        // The limit written into the statement, not bound: SQLite re-prepares a statement
        // whenever a bound `LIMIT` changes (it plans with its value), and that was most of
        // what a claim cost. A sender process asks for at most as many rows as it has
        // senders, so there are few such statements to keep prepared.
        Backend::Sqlite => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!("{CLAIM} WHERE id IN ({CHAT_BY_CHAT} LIMIT {limit}) {CLAIMED}")))
        }
        Backend::Postgres => sqlx::query_as(sqlx::AssertSqlSafe(format!("{CLAIM} WHERE id IN ({HEADS}) {CLAIMED}"))),
    };
    let mut claim = claim.bind(epoch(now)).bind(epoch(now + lease)).bind(super::wall_clock_us());
    if backend == Backend::Postgres {
        // Room for heads that another instance holds locked.
        claim = claim.bind(limit).bind(limit.saturating_mul(4));
    }
    let mut rows: Vec<ClaimRow> = claim.fetch_all(conn).await.context("claiming outbox rows")?;
    // RETURNING keeps no order; the gate's part of the order only decided which rows won.
    rows.sort_by_key(|r| (r.priority, r.next_attempt_at, r.id));
    rows.into_iter().map(ClaimRow::into_claimed).collect()
}

/// The claim's update of a row; `$2` is the end of the lease.
const CLAIM: &str =
    "UPDATE outbox SET status = 'sending', attempts = attempts + 1, fence = fence + 1, lease_until = $2";

/// What a claim returns of each row (see [`ClaimRow`]).
const CLAIMED: &str = "RETURNING id, idem_key, channel, recipient, subject, body, reply_markup, attachment_name, \
                       attempts, fence, priority, next_attempt_at";

/// [`claim_many`]'s statement on SQLite, without its `LIMIT` (how many rows: written in when
/// it runs, see [`claim_many`]); `$1` now, `$3` the wall clock (µs).
///
/// It takes the chats with messages queued (`chats`, from the queue index alone) and, of each
/// chat with none in flight (`outbox_in_flight`, migration 0009), its first message
/// (`heads`): its lowest priority's first row by queuing order that is due, or in flight
/// under a lease that ran out (its sender died). A chat's later messages are never
/// candidates, so they leave in order. Among the heads, one priority first, then due
/// earliest, then the chat served least recently (its gate's next slot earliest; no gate yet:
/// never, or not for a long time), then queuing order: in queuing order alone, a burst queued
/// chat by chat would end with its last chats' messages one a second each, at the pace of one
/// chat instead of the bot's (`benches/delivery.rs`). A chat whose send slot is booked ahead
/// waits, so a burst to one chat never holds up the rest of the queue.
///
/// Its cost, beyond reading the queue index, follows the chats waiting, not the rows: the
/// alerts of a wave of complaints pile up by the thousand for two members of staff, and the
/// claim before it, which probed every waiting row for an earlier one of its chat, took 2 ms
/// on 2,000 rows for two chats against 0.11 ms for this. When every chat has one message
/// waiting there is nothing to skip (20,000 chats: 24–27 ms against 17–23).
/// `benches/claim_cost.py` measures both and checks that they choose the same rows. The
/// indexes are named because without statistics SQLite's planner reads the status index,
/// every queued row, instead.
const CHAT_BY_CHAT: &str = "WITH heads(id) AS (
         SELECT (SELECT h.id FROM outbox h INDEXED BY outbox_queued
                 WHERE h.recipient = chats.recipient AND h.status IN ('pending', 'sending')
                   AND (h.status = 'sending' OR h.next_attempt_at <= $1)
                 ORDER BY h.priority, h.id LIMIT 1)
         FROM (SELECT DISTINCT n.recipient FROM outbox n INDEXED BY outbox_queued
               WHERE n.status IN ('pending', 'sending')) chats
         WHERE NOT EXISTS (SELECT 1 FROM outbox f INDEXED BY outbox_in_flight
                           WHERE f.recipient = chats.recipient AND f.status = 'sending'
                             AND f.lease_until > $1))
     SELECT o.id FROM heads h JOIN outbox o NOT INDEXED ON o.id = h.id
     LEFT JOIN send_gate g ON o.channel = 'telegram' AND g.gate = 'tg:' || o.recipient
     WHERE ((o.status = 'pending' AND o.next_attempt_at <= $1)
            OR (o.status = 'sending' AND o.lease_until <= $1))
       AND (g.next_at IS NULL OR g.next_at <= $3)
     ORDER BY o.priority, o.next_attempt_at, COALESCE(g.next_at, 0), o.id";

/// [`claim_many`]'s statement on PostgreSQL; `$1` now, `$3` the wall clock (µs), `$4` how many,
/// `$5` room for candidates. The same rows in the same order as [`CHAT_BY_CHAT`]: each chat's
/// first message (`h`, one pass over the waiting rows, `DISTINCT ON`), of the chats with
/// nothing in flight, in the claims' order; the first `$5` of them are the candidates, and
/// the first `$4` of those that no other instance holds locked are claimed.
///
/// Why not the row-by-row claim PostgreSQL ran until 2026-12-06 (kept as the reference in
/// `benches/claim_cost.py`, which checks that this chooses what it chose): it asked of every
/// waiting row whether an earlier row of its chat was waiting, one index probe a row. In the
/// delivery bench's burst (10,000 messages to 2,000 chats) its claims took 17.7 ms at the
/// median and 171 s in all, against 10.5 ms and 106 s for this (`BENCHMARKS.md`), and on a
/// slower host the four senders' turns fell behind their slots.
///
/// - Only the candidates go on to the outer select, never every head: joined to the whole
///   queue (`o.id IN (heads)`), the planner of a fresh database, whose statistics still said
///   the outbox was empty, compared every waiting row with every head, 1 s a claim.
/// - The heads are sorted by the recipients' bytes (`COLLATE "C"`; equality is the same):
///   a generic plan sorts the waiting rows rather than read them in the queue index's order,
///   and with the database's collation that sort took 36 of a claim's 70 ms on 20,000 chats.
/// - Concurrent claimers (other instances) skip each other's locked rows instead of queueing
///   behind them. Only heads are candidates, so a claimer that skips a locked head never
///   takes the same chat's next message. The lock is taken in the outer select (PostgreSQL
///   allows none beside `DISTINCT ON`), whose conditions are checked again on a row that
///   changed after the statement began, so a head another instance just claimed is not
///   claimed twice.
const HEADS: &str = r#"SELECT o.id FROM outbox o
     LEFT JOIN send_gate g ON o.channel = 'telegram' AND g.gate = 'tg:' || o.recipient
     WHERE o.id IN (
         SELECT h.id FROM (SELECT DISTINCT ON (q.recipient COLLATE "C") q.id, q.recipient, q.channel, q.priority, q.status,
                                  q.lease_until, q.next_attempt_at
                           FROM outbox q
                           WHERE q.status IN ('pending', 'sending') AND (q.status = 'sending' OR q.next_attempt_at <= $1)
                           ORDER BY q.recipient COLLATE "C", q.priority, q.id) h
         LEFT JOIN send_gate hg ON h.channel = 'telegram' AND hg.gate = 'tg:' || h.recipient
         WHERE ((h.status = 'pending' AND h.next_attempt_at <= $1) OR (h.status = 'sending' AND h.lease_until <= $1))
           AND h.recipient NOT IN (SELECT f.recipient FROM outbox f WHERE f.status = 'sending' AND f.lease_until > $1)
           AND (hg.next_at IS NULL OR hg.next_at <= $3)
         ORDER BY h.priority, h.next_attempt_at, COALESCE(hg.next_at, 0), h.id
         LIMIT $5)
       AND ((o.status = 'pending' AND o.next_attempt_at <= $1) OR (o.status = 'sending' AND o.lease_until <= $1))
       AND (g.next_at IS NULL OR g.next_at <= $3)
     ORDER BY o.priority, o.next_attempt_at, COALESCE(g.next_at, 0), o.id
     LIMIT $4 FOR UPDATE OF o SKIP LOCKED"#;

impl ClaimRow {
    fn into_claimed(self) -> anyhow::Result<Claimed> {
        Ok(Claimed {
            channel: match self.channel.as_str() {
                "telegram" => Channel::Telegram,
                "email" => Channel::Email,
                other => anyhow::bail!("outbox row {} has unknown channel {other}", self.id),
            },
            id: self.id,
            key: self.idem_key,
            recipient: self.recipient,
            subject: self.subject,
            body: self.body,
            reply_markup: self.reply_markup,
            attachment_name: self.attachment_name,
            attempts: self.attempts,
            fence: self.fence,
        })
    }
}

/// Mark sent; `false` when the fence moved on (another worker owns the row now).
pub async fn complete(conn: &mut AnyConnection, claimed: &Claimed, now: DateTime<Utc>) -> anyhow::Result<bool> {
    Ok(complete_many(conn, &[(claimed.id, claimed.fence)], now).await?[0])
}

/// Mark several claimed rows (`(id, fence)`) sent in one statement; for each, `false` when
/// its fence moved on. Idempotent: a row already marked sent under the same fence (a batch
/// retried after its completions were stored) counts as completed and keeps its `sent_at`.
pub async fn complete_many(
    conn: &mut AnyConnection,
    claims: &[(i64, i64)],
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<bool>> {
    let sql = super::positional(conn, complete_statement(claims.len()));
    let mut query = sqlx::query_as::<_, (i64, i64)>(sqlx::AssertSqlSafe(sql)).bind(epoch(now));
    for (id, fence) in claims {
        query = query.bind(id).bind(fence);
    }
    let done: std::collections::HashSet<(i64, i64)> =
        query.fetch_all(conn).await.context("completing outbox rows")?.into_iter().collect();
    Ok(claims.iter().map(|claim| done.contains(claim)).collect())
}

/// [`complete_many`]'s statement for `count` claims: `$1` the time sent, then each claim's id
/// and fence.
///
/// The rows are found by their ids; the status is checked on the rows found, in a form no
/// index can serve ([`status_is`]). Written as `status IN ('sending', 'sent')`,
/// SQLite's planner (which has no statistics) chose the `outbox_claimable` index instead,
/// whose first column is the status, and read every row ever sent to find the few asked
/// for: 29 ms for 60 claims with 18,000 rows sent, against 0.15 ms by id; in the updates
/// bench, completions took more of SQLite's time than everything else an update stores.
fn complete_statement(count: usize) -> String {
    format!(
        "UPDATE outbox SET status = 'sent', lease_until = NULL, last_error = NULL,
                sent_at = CASE WHEN status = 'sending' THEN $1 ELSE sent_at END
         WHERE ({}) AND {}
         RETURNING id, fence",
        fenced_ids(2, count),
        status_is("status", &["sending", "sent"])
    )
}

/// `column` (an outbox status) is one of `statuses`, written as a `CASE` that no index can
/// serve: for the statements that name their rows by id, so that SQLite finds them
/// by those names and checks the status on the rows found (see [`complete_statement`] for
/// why).
fn status_is(column: &str, statuses: &[&str]) -> String {
    let arms: String = statuses.iter().map(|status| format!(" WHEN '{status}' THEN 1")).collect();
    format!("CASE {column}{arms} END = 1")
}

/// When the earliest chat send slot opens (wall clock µs) among chats that have a due
/// Telegram message waiting only for it; `None` when no due message waits for a slot.
pub async fn next_gate_opening(
    conn: &mut AnyConnection,
    now: DateTime<Utc>,
    now_us: i64,
) -> anyhow::Result<Option<i64>> {
    sqlx::query_scalar(
        "SELECT MIN(g.next_at) FROM outbox o JOIN send_gate g ON g.gate = 'tg:' || o.recipient
         WHERE o.channel = 'telegram' AND o.status = 'pending' AND o.next_attempt_at <= $1 AND g.next_at > $2",
    )
    .bind(epoch(now))
    .bind(now_us)
    .fetch_one(conn)
    .await
    .context("looking for chats waiting for a send slot")
}

/// Hand a claimed row back untried (its chat had no free slot, or our lease ran out before
/// we could send): the attempt is not counted. `false` when the fence moved on.
pub async fn release(conn: &mut AnyConnection, claimed: &Claimed) -> anyhow::Result<bool> {
    Ok(release_many(conn, &[(claimed.id, claimed.fence)]).await? == 1)
}

/// [`release`] several claimed rows (`(id, fence)`) in one statement; how many were still
/// ours.
pub async fn release_many(conn: &mut AnyConnection, claims: &[(i64, i64)]) -> anyhow::Result<u64> {
    if claims.is_empty() {
        return Ok(0);
    }
    let sql = super::positional(conn, release_statement(claims.len()));
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for (id, fence) in claims {
        query = query.bind(id).bind(fence);
    }
    let done = query.execute(conn).await.context("releasing outbox rows")?;
    Ok(done.rows_affected())
}

/// [`release_many`]'s statement for `count` claims, each claim's id and fence. Found by id
/// like [`complete_statement`]'s: by the status, SQLite walked every row in flight from 8
/// claims on.
fn release_statement(count: usize) -> String {
    format!(
        "UPDATE outbox SET status = 'pending', attempts = attempts - 1, lease_until = NULL
         WHERE ({}) AND {}",
        fenced_ids(1, count),
        status_is("status", &["sending"])
    )
}

/// `(id = $a AND fence = $b) OR …` for `count` claims, numbered from `first`.
fn fenced_ids(first: usize, count: usize) -> String {
    (0..count)
        .map(|i| format!("(id = ${} AND fence = ${})", first + 2 * i, first + 2 * i + 1))
        .collect::<Vec<_>>()
        .join(" OR ")
}

/// Put a row back for another attempt at `retry_at`, or into the dead-letter state.
pub async fn fail(
    conn: &mut AnyConnection,
    claimed: &Claimed,
    error: &str,
    retry_at: Option<DateTime<Utc>>,
) -> anyhow::Result<bool> {
    let (status, next) = match retry_at {
        Some(at) => ("pending", epoch(at)),
        None => ("dead", 0),
    };
    let done = sqlx::query(
        "UPDATE outbox SET status = $1, next_attempt_at = CASE WHEN $1 = 'pending' THEN $2 ELSE next_attempt_at END,
             lease_until = NULL, last_error = $3
         WHERE id = $4 AND fence = $5 AND status = 'sending'",
    )
    .bind(status)
    .bind(next)
    .bind(error)
    .bind(claimed.id)
    .bind(claimed.fence)
    .execute(conn)
    .await
    .context("recording an outbox failure")?;
    Ok(done.rows_affected() == 1)
}

/// A row as operators and tests see it.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct OutboxRow {
    pub id: i64,
    pub idem_key: String,
    pub channel: String,
    pub recipient: String,
    pub subject: Option<String>,
    pub body: String,
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub last_error: Option<String>,
}

impl OutboxRow {
    pub fn next_attempt(&self) -> DateTime<Utc> {
        from_epoch(self.next_attempt_at)
    }
}

/// Rows in a status (all when `None`), oldest first.
pub async fn list(conn: &mut AnyConnection, status: Option<&str>) -> anyhow::Result<Vec<OutboxRow>> {
    sqlx::query_as(
        "SELECT id, idem_key, channel, recipient, subject, body, status, attempts, next_attempt_at, last_error
         FROM outbox WHERE ($1 IS NULL OR status = $1) ORDER BY id",
    )
    .bind(status)
    .fetch_all(conn)
    .await
    .context("listing the outbox")
}

/// Whether a message with this key was ever queued.
pub async fn exists(conn: &mut AnyConnection, key: &str) -> anyhow::Result<bool> {
    let found: Option<i64> = sqlx::query_scalar("SELECT id FROM outbox WHERE idem_key = $1")
        .bind(key)
        .fetch_optional(conn)
        .await
        .context("looking up an outbox key")?;
    Ok(found.is_some())
}

/// Rows not yet sent or dead: what is still owed.
pub async fn backlog(conn: &mut AnyConnection) -> anyhow::Result<i64> {
    sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE status IN ('pending', 'sending')")
        .fetch_one(conn)
        .await
        .context("counting the outbox backlog")
}

/// Put a dead letter back in the queue for another round of attempts; `false` if it is not
/// dead (sent, or still being tried).
pub async fn retry(conn: &mut AnyConnection, id: i64, now: DateTime<Utc>) -> anyhow::Result<bool> {
    let done = sqlx::query(
        "UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = $1, lease_until = NULL
         WHERE id = $2 AND status = 'dead'",
    )
    .bind(epoch(now))
    .bind(id)
    .execute(conn)
    .await
    .context("retrying a dead letter")?;
    Ok(done.rows_affected() == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What SQLite's planner does with `sql`, one line per step, its parameters all 0.
    async fn sqlite_plan(sql: &str, parameters: usize) -> String {
        let dir = tempfile::tempdir().unwrap();
        let db = super::super::Db::connect(&format!("sqlite://{}", dir.path().join("t.db").display())).await.unwrap();
        db.migrate().await.unwrap();
        let mut query =
            sqlx::query_as::<_, (i64, i64, i64, String)>(sqlx::AssertSqlSafe(format!("EXPLAIN QUERY PLAN {sql}")));
        for _ in 0..parameters {
            query = query.bind(0_i64);
        }
        let steps = query.fetch_all(db.pool()).await.unwrap();
        steps.into_iter().map(|(.., step)| step).collect::<Vec<_>>().join("\n")
    }

    /// Rows of one status are most of the table (every row ever sent): a statement that
    /// names its rows must find them by those names, never by walking a status.
    #[tokio::test]
    async fn completions_releases_and_busy_checks_find_their_rows_by_id_and_recipient_not_by_status() {
        // Twelve: with `status IN (…)`, SQLite took the status index from 3 keys on and
        // for completions from 8.
        let complete = sqlite_plan(&complete_statement(12), 1 + 2 * 12).await;
        assert!(complete.contains("INTEGER PRIMARY KEY"), "{complete}");
        assert!(!complete.contains("outbox_claimable"), "{complete}");
        let busy = sqlite_plan(&busy_recipients_statement(12), 2 * 12 + 2).await;
        assert!(busy.contains("outbox_queued (recipient=?)"), "{busy}");
        assert!(!busy.contains("outbox_claimable"), "{busy}");
        let release = sqlite_plan(&release_statement(12), 2 * 12).await;
        assert!(release.contains("INTEGER PRIMARY KEY"), "{release}");
        assert!(!release.contains("outbox_claimable"), "{release}");
    }
}
