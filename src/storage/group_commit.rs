//! Group commit: one statement for the same small read or write that many callers make at the
//! same moment (the handlers of updates, `update_io`; the outbox senders, `delivery_io`).
//!
//! Why: an update's own statements (its dedup record, the sender's staff record, the dialogue
//! state read and written, the reply queued, the done mark) and a message's (its claim, slot
//! and completion) are each tiny, and what they cost is the round trip and the commit, not the
//! work. Handled one by one, every round trip waits
//! for SQLite's single connection, and on PostgreSQL every write is a commit with its WAL
//! flush. The updates bench measured the floor of the two ways on this machine
//! (`benches/durable_echo`): an echo bot that records each update and queues each reply
//! durably handles 3–6x fewer updates a second than the bare framework with one transaction
//! per update, and 1.0–1.9x fewer when the same records are group-committed.
//!
//! How: a caller hands its key to a [`GroupCommit`] and waits; one task per kind of statement
//! (or per group of kinds that share a transaction, as an update's beginning and end do on
//! SQLite, see `update_io`) takes every key waiting at that moment (at most [`MAX_BATCH`])
//! and runs the statement once for all of them. Nothing waits for a batch to fill: under
//! light load a batch is one key, and the cost over a direct statement is two task wake-ups. Each caller still waits for its own
//! statement to be done, so what it wrote is stored before it goes on, exactly as with a
//! direct statement. If a batch fails, each of its keys is tried again alone, so that one bad
//! key (or the same key twice in one batch, which PostgreSQL's multi-row upsert refuses) costs
//! only its own caller an error.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};

use tokio::sync::{mpsc, oneshot};

use sqlx::Any;
use sqlx::pool::PoolConnection;

use super::{Backend, Db};

/// Most keys one statement takes: far below the bound-parameter limits of both databases for
/// the statements here (at most 9 values a key, and those are chunked further by `outbox`).
pub const MAX_BATCH: usize = 500;

/// What runs one batch: the keys in, one value per key out, in the same order.
/// It gets the batch's pooled connection and the database's dialect.
type BatchFn<K, V> = Arc<
    dyn Fn(Backend, Connection, Vec<K>) -> Pin<Box<dyn Future<Output = anyhow::Result<Vec<V>>> + Send>> + Send + Sync,
>;

/// A connection of the pool, held for one batch.
pub type Connection = PoolConnection<Any>;

/// A [`BatchFn`] from an async function or closure.
fn batch<K, V, F, Fut>(run: F) -> BatchFn<K, V>
where
    K: Send + 'static,
    V: Send + 'static,
    F: Fn(Backend, Connection, Vec<K>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<Vec<V>>> + Send + 'static,
{
    Arc::new(move |backend, conn, keys| {
        let batch: Pin<Box<dyn Future<Output = anyhow::Result<Vec<V>>> + Send>> = Box::pin(run(backend, conn, keys));
        batch
    })
}

struct Request<K, V> {
    key: K,
    answer: oneshot::Sender<Result<V, String>>,
}

/// A handle to one kind of coalesced statement; cheap to clone.
pub struct GroupCommit<K, V> {
    what: &'static str,
    requests: mpsc::UnboundedSender<Request<K, V>>,
}

impl<K, V> Clone for GroupCommit<K, V> {
    fn clone(&self) -> Self {
        Self { what: self.what, requests: self.requests.clone() }
    }
}

impl<K, V> std::fmt::Debug for GroupCommit<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupCommit").field("what", &self.what).finish_non_exhaustive()
    }
}

impl<K: Clone + Send + 'static, V: Send + 'static> GroupCommit<K, V> {
    /// Start the task that runs `run` for each batch (the dialect, a pooled connection and
    /// the keys in; one value per key out, in order), on the group-commit thread (see
    /// `database_runtime`); it ends when every handle is dropped.
    /// `what` names the statement in errors ("loading dialogue state").
    pub fn start<F, Fut>(db: &Db, what: &'static str, run: F) -> Self
    where
        F: Fn(Backend, Connection, Vec<K>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = anyhow::Result<Vec<V>>> + Send + 'static,
    {
        let (requests, receiver) = mpsc::unbounded_channel();
        let serving = serve(db.clone(), what, batch(run), receiver);
        match database_runtime() {
            Some(runtime) => runtime.spawn(serving),
            None => tokio::spawn(serving),
        };
        Self { what, requests }
    }

    /// Run the statement for `key` together with whatever else is waiting.
    pub async fn run(&self, key: K) -> anyhow::Result<V> {
        let (answer, result) = oneshot::channel();
        let stopped = || anyhow::anyhow!("{}: the group commit task has stopped", self.what);
        self.requests.send(Request { key, answer }).map_err(|_| stopped())?;
        result.await.map_err(|_| stopped())?.map_err(anyhow::Error::msg)
    }
}

/// The runtime of the thread every group-commit task runs on, started with the first.
///
/// Why a thread of their own: each of these tasks holds a database connection (SQLite's
/// only one) while its batch goes to the database statement by statement, and every
/// statement's answer wakes the task again. On the shared runtime that wake-up queued
/// behind whatever handlers and HTTP work were ready at that moment, while the connection
/// sat idle and every other batch waited for it. On their own thread the tasks run as soon
/// as an answer arrives. Measured with the updates bench on SQLite, alternated with the
/// runtime-shared build: at 1,000 customers 4,367–4,674 updates a second against
/// 3,198–3,590; at 200, the batch of update endings held the connection 61 µs an update
/// instead of 80.
///
/// One thread for all: the tasks wait on the database far more than they compute, and
/// SQLite serves them one at a time anyway. A connection opened by one runtime may be used
/// by tasks of the other; tokio drives a socket from the runtime that opened it, and this
/// one lives as long as the process.
///
/// `None` when the thread cannot be started (the process is out of threads or memory): the
/// tasks then run on the caller's runtime as before, slower but correct.
fn database_runtime() -> Option<&'static tokio::runtime::Handle> {
    static RUNTIME: OnceLock<Option<tokio::runtime::Handle>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| match start_database_thread() {
            Ok(handle) => Some(handle),
            Err(error) => {
                tracing::warn!(%error, "no thread of their own for the group commits; they share the runtime");
                None
            }
        })
        .as_ref()
}

fn start_database_thread() -> std::io::Result<tokio::runtime::Handle> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let handle = runtime.handle().clone();
    std::thread::Builder::new()
        .name("guanxi-group-commit".into())
        .spawn(move || runtime.block_on(std::future::pending::<()>()))?;
    Ok(handle)
}

async fn serve<K: Clone, V>(
    db: Db,
    what: &'static str,
    run: BatchFn<K, V>,
    mut receiver: mpsc::UnboundedReceiver<Request<K, V>>,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while receiver.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let asked = std::time::Instant::now();
        // The connection first, then whatever arrived while we waited for it: the busier the
        // database, the longer the wait and the larger the batch.
        let conn = match db.pool().acquire().await {
            Ok(conn) => conn,
            Err(error) => {
                for request in batch.drain(..) {
                    let _ = request.answer.send(Err(format!("{what}: {error}")));
                }
                continue;
            }
        };
        while batch.len() < MAX_BATCH {
            match receiver.try_recv() {
                Ok(request) => batch.push(request),
                Err(_) => break,
            }
        }
        let keys: Vec<K> = batch.iter().map(|r| r.key.clone()).collect();
        let connected = asked.elapsed();
        let result = checked(run(db.backend(), conn, keys).await, batch.len(), what);
        tracing::debug!(
            what,
            keys = batch.len(),
            connection_us = connected.as_micros(),
            batch_us = (asked.elapsed() - connected).as_micros(),
            "group commit"
        );
        match result {
            Ok(values) => {
                for (request, value) in batch.drain(..).zip(values) {
                    // The caller may have gone (its update was cancelled): nothing to tell.
                    let _ = request.answer.send(Ok(value));
                }
            }
            Err(error) if batch.len() == 1 => {
                let _ = batch.remove(0).answer.send(Err(format!("{error:#}")));
            }
            Err(error) => {
                tracing::warn!(
                    error = format!("{error:#}"),
                    keys = batch.len(),
                    what,
                    "a group commit failed; trying each alone"
                );
                for request in batch.drain(..) {
                    let result = match db.pool().acquire().await {
                        Ok(conn) => checked(run(db.backend(), conn, vec![request.key]).await, 1, what),
                        Err(error) => Err(anyhow::Error::new(error).context(what)),
                    };
                    let _ = request.answer.send(result.map(|mut v| v.remove(0)).map_err(|e| format!("{e:#}")));
                }
            }
        }
    }
}

/// A batch's values, refused unless there is exactly one per key.
fn checked<V>(values: anyhow::Result<Vec<V>>, keys: usize, what: &str) -> anyhow::Result<Vec<V>> {
    let values = values?;
    anyhow::ensure!(values.len() == keys, "{what}: {} values for {keys} keys", values.len());
    Ok(values)
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    async fn sqlite() -> (Db, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::connect(&format!("sqlite://{}", dir.path().join("t.db").display())).await.unwrap();
        (db, dir)
    }

    /// Doubles each key, records the batch in `seen`, and fails any batch holding a 13.
    async fn double(seen: Arc<Mutex<Vec<Vec<i64>>>>, keys: Vec<i64>) -> anyhow::Result<Vec<i64>> {
        seen.lock().unwrap().push(keys.clone());
        anyhow::ensure!(!keys.contains(&13), "13 refused");
        Ok(keys.iter().map(|k| k * 2).collect())
    }

    fn doubler(db: &Db, seen: &Arc<Mutex<Vec<Vec<i64>>>>) -> GroupCommit<i64, i64> {
        let seen = seen.clone();
        GroupCommit::start(db, "doubling", move |_, _, keys| double(seen.clone(), keys))
    }

    /// Runs `calls` with the pool's only connection held until each has been polled once
    /// (has queued its key): the batch task, which takes the connection before it takes
    /// what else is waiting, then finds them all waiting.
    async fn held_together<F: Future>(db: &Db, calls: F) -> F::Output {
        let held = db.pool().acquire().await.unwrap();
        let release = async move { drop(held) };
        // `join!` polls in order: every call has sent its key before the release runs.
        let (output, ()) = tokio::join!(calls, release);
        output
    }

    #[tokio::test]
    async fn keys_waiting_together_share_one_batch_and_each_gets_its_own_value() {
        let (db, _dir) = sqlite().await;
        let seen = Arc::new(Mutex::new(Vec::new()));
        let doubles = doubler(&db, &seen);
        let (a, b, c, d, e) = held_together(&db, async {
            tokio::join!(doubles.run(1), doubles.run(2), doubles.run(3), doubles.run(4), doubles.run(5))
        })
        .await;
        assert_eq!([a.unwrap(), b.unwrap(), c.unwrap(), d.unwrap(), e.unwrap()], [2, 4, 6, 8, 10]);
        assert_eq!(*seen.lock().unwrap(), vec![vec![1, 2, 3, 4, 5]]);
    }

    #[tokio::test]
    async fn a_failing_batch_is_retried_key_by_key_so_only_the_bad_key_fails() {
        let (db, _dir) = sqlite().await;
        let seen = Arc::new(Mutex::new(Vec::new()));
        let doubles = doubler(&db, &seen);
        let (a, b, c) =
            held_together(&db, async { tokio::join!(doubles.run(12), doubles.run(13), doubles.run(14)) }).await;
        let results = [a, b, c];
        assert_eq!(results[0].as_ref().unwrap(), &24);
        assert!(results[1].as_ref().unwrap_err().to_string().contains("13 refused"));
        assert_eq!(results[2].as_ref().unwrap(), &28);
        assert_eq!(*seen.lock().unwrap(), vec![vec![12, 13, 14], vec![12], vec![13], vec![14]]);
    }

    #[tokio::test]
    async fn a_batch_with_the_wrong_number_of_values_is_an_error_not_a_wrong_answer() {
        let (db, _dir) = sqlite().await;
        let short = |_backend, _conn, _keys: Vec<i64>| async { Ok(Vec::<i64>::new()) };
        let error = GroupCommit::start(&db, "short", short).run(1).await.unwrap_err();
        assert!(error.to_string().contains("0 values for 1 keys"), "{error}");
    }
}
