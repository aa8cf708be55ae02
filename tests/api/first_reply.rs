//! An update's first reply is claimed with the update's end and sent by its handler
//! (`storage::update_io`, `telegram::reply::Replier::finish`): in flight the moment it is
//! stored, sent once, and left to the outbox senders whenever going at once would break a
//! rule (the chat's order, its send slot, quiet hours) or the handler dies before sending.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use guanxi::config::RateLimits;
use guanxi::jobs::pace::{Booking, Pace};
use guanxi::notify::telegram_parts;
use guanxi::storage::outbox::{self, OutboxRow, Priority};
use guanxi::storage::send_gate;
use guanxi::storage::update_io::{DialogueChange, Ending, Finished};

use crate::helpers::fake_telegram::TgUser;
use crate::helpers::{TestApp, spawn_app};

const CHAT: i64 = 7001;

/// An ending of update `update_id` in [`CHAT`] with one reply a text.
fn ending_with(update_id: i64, texts: &[&str], now: DateTime<Utc>) -> Ending {
    let replies = texts
        .iter()
        .enumerate()
        .flat_map(|(n, text)| {
            telegram_parts(&format!("reply:{update_id}:{n}"), CHAT, text, None, Priority::Interactive, now)
        })
        .collect();
    Ending { update_id, now, chat: CHAT, dialogue: DialogueChange::Keep, replies }
}

async fn finish(app: &TestApp, ending: Ending) -> Finished {
    app.ctx.update_io.finish(ending).await.expect("the ending is stored")
}

async fn statuses(app: &TestApp) -> Vec<(String, String, i64)> {
    app.outbox().await.into_iter().map(|r| (r.idem_key, r.status, r.attempts)).collect()
}

/// The one outbox row once its handler is done with it (no longer in flight); panics after
/// 10 s.
async fn settled_reply(app: &TestApp) -> OutboxRow {
    let deadline = tokio::time::Instant::now() + StdDuration::from_secs(10);
    loop {
        let rows = app.outbox().await;
        if let [row] = rows.as_slice()
            && row.status != "sending"
        {
            return row.clone();
        }
        assert!(tokio::time::Instant::now() < deadline, "no settled reply: {rows:#?}");
        tokio::time::sleep(StdDuration::from_millis(5)).await;
    }
}

/// Queue a message to [`CHAT`] outside any update (an earlier reply, a reminder); its key is
/// also its text.
async fn queue(app: &TestApp, key: &str, priority: Priority) {
    let now = app.now();
    let mut conn = app.ctx.db.pool().acquire().await.unwrap();
    outbox::enqueue_many(&mut conn, &telegram_parts(key, CHAT, key, None, priority, now), now).await.unwrap();
}

/// What [`CHAT`] was sent, in order.
fn texts_sent(app: &TestApp) -> Vec<String> {
    app.telegram.sent_to(CHAT).into_iter().map(|m| m.text).collect()
}

fn pace(app: &TestApp) -> Pace {
    guanxi::jobs::worker::send_now(&app.ctx.settings).pace
}

#[tokio::test]
async fn an_ending_claims_its_first_reply_with_a_send_slot_and_leaves_the_rest_to_the_senders() {
    let app = spawn_app().await;
    let finished = finish(&app, ending_with(10, &["first", "second"], app.now())).await;

    let (row, booking) = finished.claimed.expect("the first reply is claimed");
    assert_eq!((row.key.as_str(), row.body.as_str(), row.attempts), ("reply:10:0", "first", 1));
    assert!(matches!(booking, Some(Booking::At { .. })), "{booking:?}");
    assert_eq!(finished.pending, 1);
    assert_eq!(
        statuses(&app).await,
        [("reply:10:0".into(), "sending".into(), 1), ("reply:10:1".into(), "pending".into(), 0)]
    );
    // The second must follow the first: no sender takes it while the first is in flight.
    assert_eq!(app.deliver().await, 0);
    assert!(app.telegram.sent_to(CHAT).is_empty());
}

#[tokio::test]
async fn a_reply_waits_behind_its_chats_earlier_message() {
    let app = spawn_app().await;
    let now = app.now();
    queue(&app, "earlier", Priority::Interactive).await;

    let finished = finish(&app, ending_with(11, &["later"], now)).await;
    assert!(finished.claimed.is_none());
    assert_eq!(finished.pending, 1);
    app.deliver().await;
    assert_eq!(texts_sent(&app), ["earlier", "later"], "the chat's messages leave in the order queued");
}

#[tokio::test]
async fn a_reply_goes_ahead_of_its_chats_waiting_reminders_but_not_of_an_earlier_reply() {
    let app = spawn_app().await;
    let now = app.now();
    queue(&app, "reminder", Priority::Bulk).await;
    let finished = finish(&app, ending_with(17, &["reply"], now)).await;
    let (row, _) = finished.claimed.expect("a person waiting goes before bulk");
    assert_eq!((row.key.as_str(), row.attempts, row.fence), ("reply:17:0", 1, 1));

    // Once it is sent, an earlier reply still waiting (its chat was busy) keeps its place.
    app.ctx.update_io.complete(&row, now).await.unwrap();
    queue(&app, "earlier reply", Priority::Interactive).await;
    let finished = finish(&app, ending_with(18, &["later reply"], now)).await;
    assert!(finished.claimed.is_none());
    app.deliver().await;
    assert_eq!(texts_sent(&app), ["earlier reply", "later reply", "reminder"]);
}

/// A handler's completion of its reply goes in the same batch as the updates' endings, first
/// (`update_io`): the chat's next reply, ended in that batch, finds the chat free.
#[tokio::test]
async fn a_replys_completion_stored_with_the_chats_next_ending_frees_the_chat_first() {
    let app = spawn_app().await;
    let now = app.now();
    let first = finish(&app, ending_with(20, &["first"], now)).await;
    let (row, _) = first.claimed.expect("the first reply is claimed");

    // On SQLite its only connection is held until both have been queued, so that they share
    // one batch; the completion is queued first either way.
    let held = app.ctx.db.pool().acquire().await.unwrap();
    let (completed, second, ()) = tokio::join!(
        app.ctx.update_io.complete(&row, now),
        finish(&app, ending_with(21, &["second"], now)),
        async move { drop(held) }
    );
    assert!(completed.unwrap(), "the completion is taken");
    let (next, _) = second.claimed.expect("the chat is free by the time the next reply is stored");
    assert_eq!(next.key, "reply:21:0");
    assert_eq!(statuses(&app).await[0], ("reply:20:0".into(), "sent".into(), 1));
}

#[tokio::test]
async fn a_reply_is_not_claimed_while_another_message_to_its_chat_is_in_flight() {
    let app = spawn_app().await;
    let now = app.now();
    queue(&app, "reminder", Priority::Bulk).await;
    let mut conn = app.ctx.db.pool().acquire().await.unwrap();
    // Claimed without booking a slot, so that only its being in flight stands in the way.
    let lease = guanxi::jobs::worker::send_now(&app.ctx.settings).lease;
    let claimed = outbox::claim(&mut conn, app.ctx.db.backend(), now, lease).await.unwrap();
    assert_eq!(claimed.expect("the reminder is claimed").key, "reminder");
    drop(conn);

    let finished = finish(&app, ending_with(12, &["reply"], now)).await;
    assert!(finished.claimed.is_none());
    assert_eq!(statuses(&app).await[1], ("reply:12:0".into(), "pending".into(), 0));
}

#[tokio::test]
async fn a_reply_whose_chat_has_no_free_slot_is_left_to_the_senders_untried() {
    let mut app = spawn_app().await;
    // Telegram's own limits (the tests' are raised): a chat's slots a second apart.
    app.restart_with(|settings| settings.rate_limits = RateLimits::default()).await;
    // A message to the chat has just been booked: its next slot is about a second away.
    let booked = send_gate::book(&app.ctx.db, &pace(&app), CHAT).await.unwrap();
    assert!(matches!(booked, Booking::At { .. }));

    let finished = finish(&app, ending_with(13, &["reply"], app.now())).await;
    assert!(finished.claimed.is_none());
    assert_eq!(finished.pending, 1);
    assert_eq!(statuses(&app).await, [("reply:13:0".into(), "pending".into(), 0)], "the attempt is not counted");
}

#[tokio::test]
async fn a_reply_held_for_later_is_not_claimed() {
    let app = spawn_app().await;
    let now = app.now();
    let mut ending = ending_with(14, &["tomorrow morning"], now);
    ending.replies[0].not_before = Some(now + Duration::hours(9));
    let finished = finish(&app, ending).await;
    assert!(finished.claimed.is_none());
    assert_eq!(app.outbox().await[0].status, "pending");
}

#[tokio::test]
async fn a_claimed_reply_whose_handler_died_is_sent_once_by_a_sender_when_its_lease_runs_out() {
    let app = spawn_app().await;
    let finished = finish(&app, ending_with(15, &["reply"], app.now())).await;
    assert!(finished.claimed.is_some());
    // The handler dies here, before sending.
    drop(finished);
    assert_eq!(app.deliver().await, 0, "still leased");
    app.clock.set(app.now() + Duration::seconds(i64::try_from(app.ctx.settings.lease_secs).unwrap() + 1));
    assert_eq!(app.deliver().await, 1);
    assert_eq!(app.deliver().await, 0);
    assert_eq!(app.telegram.sent_to(CHAT).len(), 1);
    assert_eq!(statuses(&app).await, [("reply:15:0".into(), "sent".into(), 2)]);
}

#[tokio::test]
async fn the_handler_sends_its_reply_itself_and_marks_it_sent() {
    let app = spawn_app().await;
    let customer = TgUser::new(CHAT, "李");
    app.telegram.push_text(&customer, "/help");
    // No sender runs in this test: the reply can only come from the handler.
    let sent = app.telegram.wait_for_sent_to(CHAT, 1).await;
    assert_eq!(sent.len(), 1);
    let row = settled_reply(&app).await;
    assert_eq!((row.status.as_str(), row.attempts), ("sent", 1));
}

#[tokio::test]
async fn a_reply_the_handler_could_not_send_is_retried_by_the_senders() {
    let app = spawn_app().await;
    // A 429 (a 5xx would cost the test teloxide's 10 s delay on server errors).
    app.telegram.fail_next_sends(1, 429, Some(1));
    let customer = TgUser::new(CHAT, "李");
    app.telegram.push_text(&customer, "/help");
    let row = settled_reply(&app).await;
    assert_eq!((row.status.as_str(), row.attempts), ("pending", 1));
    assert!(row.last_error.is_some());
    assert!(app.telegram.sent_to(CHAT).is_empty());

    app.clock.set(row.next_attempt() + Duration::seconds(1));
    assert_eq!(app.deliver().await, 1);
    assert_eq!(app.telegram.sent_to(CHAT).len(), 1);
}

#[tokio::test]
async fn the_first_reply_is_claimed_once_when_its_ending_is_stored_twice() {
    let app = spawn_app().await;
    let end = ending_with(16, &["reply"], app.now());
    assert!(finish(&app, end.clone()).await.claimed.is_some());
    let again = finish(&app, end).await;
    assert!(again.claimed.is_none(), "a reply queued before is not claimed again by a retried batch");
    assert_eq!(statuses(&app).await, [("reply:16:0".into(), "sending".into(), 1)]);
}
