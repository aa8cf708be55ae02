//! The statements of updates, group-committed (`storage::update_io`): what several handlers
//! ask at the same moment is one statement, each still gets its own answer, and an update's
//! writes are stored together at its end or not at all.

use chrono::{DateTime, Utc};
use guanxi::domain::staff::Role;
use guanxi::notify::telegram_parts;
use guanxi::storage::outbox::Priority;
use guanxi::storage::update_io::{Begun, DialogueChange, Ending, Opening, UpdateIo};
use guanxi::storage::updates::STALE_CLAIM;

use crate::helpers::spawn_app;

fn opening(update_id: i64, now: DateTime<Utc>) -> Opening {
    Opening { update_id, now, sender: None, chat: None }
}

fn ending(update_id: i64, chat: i64, dialogue: DialogueChange, now: DateTime<Utc>) -> Ending {
    Ending { update_id, now, chat, dialogue, replies: Vec::new() }
}

#[tokio::test]
async fn an_update_begun_twice_at_the_same_moment_is_handled_once() {
    let app = spawn_app().await;
    let io = &app.ctx.update_io;
    let now = app.now();
    // Both requests reach the committer before it runs: one statement for both.
    let (a, b) = tokio::join!(io.begin(opening(42, now)), io.begin(opening(42, now)));
    assert_eq!((a.unwrap().is_some(), b.unwrap().is_some()), (true, false));
    assert!(io.begin(opening(42, now)).await.unwrap().is_none(), "a later delivery finds it claimed");
}

#[tokio::test]
async fn many_updates_begun_at_once_are_each_claimed_once() {
    let app = spawn_app().await;
    let io = &app.ctx.update_io;
    let now = app.now();
    let first = begin_all(io, 1..=50, now).await;
    assert!(first.iter().all(|&c| c), "{first:?}");
    let second = begin_all(io, 1..=50, now).await;
    assert!(second.iter().all(|&c| !c), "{second:?}");
}

#[tokio::test]
async fn an_update_begins_with_its_senders_staff_record_and_its_chats_state() {
    let app = spawn_app().await;
    let io = &app.ctx.update_io;
    let now = app.now();
    let staff = app.add_staff(7001, "王芳", Role::Service, None, None).await;
    io.finish(ending(1, 7001, DialogueChange::Set("\"asked\"".into()), now)).await.unwrap();

    let known = Opening { update_id: 2, now, sender: Some(staff.telegram_id), chat: Some(7001) };
    let stranger =
        Opening { update_id: 3, now, sender: Some(guanxi::domain::ids::TelegramUserId(7002)), chat: Some(7002) };
    let (known, stranger) = tokio::join!(io.begin(known), io.begin(stranger));
    assert_eq!(known.unwrap(), Some(Begun { staff: Some(staff), dialogue: Some("\"asked\"".into()) }));
    assert_eq!(stranger.unwrap(), Some(Begun::default()));
}

#[tokio::test]
async fn an_ending_stores_the_state_the_replies_and_the_done_mark_together() {
    let app = spawn_app().await;
    let io = &app.ctx.update_io;
    let now = app.now();
    assert!(io.begin(opening(10, now)).await.unwrap().is_some());
    let mut end = ending(10, 7001, DialogueChange::Set("\"next\"".into()), now);
    end.replies = ["first", "second"]
        .iter()
        .enumerate()
        .flat_map(|(n, text)| telegram_parts(&format!("reply:10:{n}"), 7001, text, None, Priority::Interactive, now))
        .collect();
    io.finish(end.clone()).await.unwrap();

    let rows = app.outbox().await;
    let bodies: Vec<&str> = rows.iter().map(|r| r.body.as_str()).collect();
    assert_eq!(bodies, ["first", "second"]);
    let statuses: Vec<&str> = rows.iter().map(|r| r.status.as_str()).collect();
    // The first is claimed for the handler to send (see `first_reply`).
    assert_eq!(statuses, ["sending", "pending"]);
    assert!(rows.iter().all(|r| r.recipient == "7001"));
    let later = now + STALE_CLAIM * 2;
    let again = Opening { update_id: 10, now: later, sender: None, chat: Some(7001) };
    assert_eq!(io.begin(again).await.unwrap(), None, "a handled update is never handled again");
    let other = Opening { update_id: 11, now: later, sender: None, chat: Some(7001) };
    assert_eq!(io.begin(other).await.unwrap().unwrap().dialogue.as_deref(), Some("\"next\""));
    // The same ending stored twice (a retried batch) queues each reply once.
    io.finish(end).await.unwrap();
    assert_eq!(app.outbox().await.len(), 2);
}

#[tokio::test]
async fn an_update_that_never_ended_is_handled_again_from_where_it_started() {
    let app = spawn_app().await;
    let io = &app.ctx.update_io;
    let now = app.now();
    io.finish(ending(1, 7001, DialogueChange::Set("\"before\"".into()), now)).await.unwrap();
    let start = |now| Opening { update_id: 2, now, sender: None, chat: Some(7001) };
    assert!(io.begin(start(now)).await.unwrap().is_some());
    // Its process died before the end: nothing of it was stored.
    assert!(io.begin(start(now + STALE_CLAIM / 2)).await.unwrap().is_none(), "still claimed");
    let taken_over = io.begin(start(now + STALE_CLAIM * 2)).await.unwrap();
    assert_eq!(taken_over.unwrap().dialogue.as_deref(), Some("\"before\""));
    assert!(app.outbox().await.is_empty());
}

#[tokio::test]
async fn two_endings_of_one_chat_in_one_batch_leave_the_later_state() {
    let app = spawn_app().await;
    let io = &app.ctx.update_io;
    let now = app.now();
    let state = |id: i64| async move {
        let begun = io.begin(Opening { update_id: id, now, sender: None, chat: Some(7) }).await.unwrap();
        begun.unwrap().dialogue
    };
    let (a, b) = tokio::join!(
        io.finish(ending(1, 7, DialogueChange::Set("\"first\"".into()), now)),
        io.finish(ending(2, 7, DialogueChange::Set("\"second\"".into()), now))
    );
    a.unwrap();
    b.unwrap();
    assert_eq!(state(3).await.as_deref(), Some("\"second\""));
    let (a, b, c) = tokio::join!(
        io.finish(ending(4, 7, DialogueChange::Set("\"third\"".into()), now)),
        io.finish(ending(5, 7, DialogueChange::Clear, now)),
        io.finish(ending(6, 8, DialogueChange::Keep, now))
    );
    for result in [a, b, c] {
        result.unwrap();
    }
    assert_eq!(state(7).await, None);
}

/// On SQLite an update's beginning, another's end and a reply's completion go to one task
/// (`update_io`): waiting together, they are one batch in one transaction, and each caller
/// still gets its own answer. (On PostgreSQL the beginning goes to a task of its own.)
#[tokio::test]
async fn a_beginning_an_end_and_a_completion_waiting_together_each_get_their_own_answer() {
    let app = spawn_app().await;
    let io = &app.ctx.update_io;
    let now = app.now();
    let staff = app.add_staff(7001, "王芳", Role::Service, None, None).await;
    // Update 1 left chat 7001 a state and a reply in flight; update 2, in chat 7002, is
    // being handled.
    assert!(io.begin(opening(1, now)).await.unwrap().is_some());
    let mut first = ending(1, 7001, DialogueChange::Set("\"asked\"".into()), now);
    first.replies = telegram_parts("reply:1:0", 7001, "first", None, Priority::Interactive, now);
    let (sent, _) = io.finish(first).await.unwrap().claimed.expect("update 1's reply is claimed");
    assert!(io.begin(opening(2, now)).await.unwrap().is_some());
    let mut second = ending(2, 7002, DialogueChange::Clear, now);
    second.replies = telegram_parts("reply:2:0", 7002, "second", None, Priority::Interactive, now);
    let third = Opening { update_id: 3, now, sender: Some(staff.telegram_id), chat: Some(7001) };

    // SQLite's only connection is held until all three have been queued.
    let held = app.ctx.db.pool().acquire().await.unwrap();
    let (begun, finished, completed, ()) =
        tokio::join!(io.begin(third), io.finish(second), io.complete(&sent, now), async move { drop(held) });
    assert_eq!(begun.unwrap(), Some(Begun { staff: Some(staff), dialogue: Some("\"asked\"".into()) }));
    let (claimed, _) = finished.unwrap().claimed.expect("update 2's reply is claimed");
    assert_eq!(claimed.key, "reply:2:0");
    assert!(completed.unwrap(), "the completion is taken");
    let rows: Vec<(String, String)> = app.outbox().await.into_iter().map(|r| (r.idem_key, r.status)).collect();
    assert_eq!(rows, [("reply:1:0".into(), "sent".into()), ("reply:2:0".into(), "sending".into())]);
    assert!(io.begin(opening(2, now + STALE_CLAIM * 2)).await.unwrap().is_none(), "update 2 is done");
}

/// Begin `ids` from as many tasks at once (so that they share batches); whether each was
/// claimed, in order.
async fn begin_all(io: &UpdateIo, ids: std::ops::RangeInclusive<i64>, now: DateTime<Utc>) -> Vec<bool> {
    let mut tasks = tokio::task::JoinSet::new();
    for id in ids.clone() {
        let io = io.clone();
        tasks.spawn(async move { (id, io.begin(opening(id, now)).await.unwrap().is_some()) });
    }
    let mut answers = tasks.join_all().await;
    answers.sort();
    assert_eq!(answers.len(), ids.count());
    answers.into_iter().map(|(_, claimed)| claimed).collect()
}
