//! Stopping: the bot stops whenever it is asked, even while updates arrive, and the senders
//! stop after the send in hand instead of after the whole burst; nothing is lost or doubled.
//! A stop that is stuck ends with an error after its grace instead of hanging.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use guanxi::config::RateLimits;
use guanxi::startup::{SHUTDOWN_GRACE, Tasks};
use guanxi::storage::outbox::{self, Priority};

use crate::helpers::app::TOKEN;
use crate::helpers::{TgUser, outbox_message, spawn_app};

/// Far more than a stop takes, far less than the stop's own grace: a stop that missed its
/// request shows as a failure here, not as the grace's error.
const STOP_LIMIT: Duration = Duration::from_secs(5);

#[tokio::test]
async fn the_bot_stops_when_asked_while_updates_keep_arriving_and_each_is_answered_once() {
    // Arrange: the bot running (handlers send their replies themselves).
    let mut app = spawn_app().await;
    let users: Vec<TgUser> = (0..6).map(|i| TgUser::new(9_000 + i, "客户")).collect();

    // Act: each round one chat sends more updates than teloxide queues per chat, so that the
    // dispatcher waits to hand them over; stop meanwhile, then start again. teloxide's own
    // shutdown request was lost when it came while the dispatcher was not waiting for it, and
    // the bot polled on for ever.
    for (round, user) in users.iter().enumerate() {
        for _ in 0..UPDATES_PER_CHAT {
            app.telegram.push_text(user, "/help");
        }
        tokio::time::sleep(Duration::from_millis(10 + round as u64 * 10)).await;
        let stopped = tokio::time::timeout(STOP_LIMIT, app.stop_tasks()).await;
        assert!(stopped.is_ok(), "round {round}: the bot did not stop within {STOP_LIMIT:?}");
        app.start().await;
    }

    // Assert: the updates not confirmed before a stop came again after it; each was answered
    // once.
    for user in &users {
        app.telegram.wait_for_sent_to(user.id, UPDATES_PER_CHAT).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    for user in &users {
        assert_eq!(app.telegram.sent_to(user.id).len(), UPDATES_PER_CHAT, "chat {}", user.id);
    }
}

/// More than teloxide's queue for one chat's updates (64).
const UPDATES_PER_CHAT: usize = 100;

#[tokio::test]
async fn a_stop_during_a_burst_ends_after_the_sends_in_hand_and_the_rest_goes_out_once_after() {
    // Arrange: Telegram's real limits, so that 200 reminders take about 7 s; the app's own
    // senders running.
    let mut app = spawn_app().await;
    app.restart_with(|s| s.rate_limits = RateLimits::default()).await;
    app.stop_tasks().await;
    {
        let mut conn = app.ctx.db.pool().acquire().await.unwrap();
        for i in 0..200 {
            outbox::enqueue(&mut conn, &outbox_message(&format!("burst:{i}"), 1 + i / 5, Priority::Bulk), app.now())
                .await
                .unwrap();
        }
    }
    app.start_with(Tasks { tick_every_minute: false, background_worker: true }).await;
    app.ctx.wake_worker.notify_waiters();
    let started = Instant::now();
    while app.telegram.sent().len() < 20 {
        assert!(started.elapsed() < Duration::from_secs(10), "the burst did not start");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    // Act
    let asked = Instant::now();
    let stopped = tokio::time::timeout(STOP_LIMIT, app.stop_tasks()).await;
    let took = asked.elapsed();

    // Assert: stopped without waiting for the burst; every send made is stored as sent and
    // nothing is left claimed.
    assert!(stopped.is_ok(), "the senders did not stop within {STOP_LIMIT:?}");
    let sent_before = app.telegram.sent().len();
    assert!(sent_before < 150, "the burst was nearly over before the stop: the test proves nothing");
    assert!(took < Duration::from_secs(3), "the stop took {took:?}");
    let rows = app.outbox().await;
    assert_eq!(rows.iter().filter(|r| r.status == "sending").count(), 0, "rows left claimed");
    assert_eq!(rows.iter().filter(|r| r.status == "sent").count(), sent_before);

    // The rest goes out after a restart (at the tests' fast limits), each reminder once.
    app.restart().await;
    app.deliver().await;
    let mut times_sent: HashMap<String, usize> = HashMap::new();
    for message in app.telegram.sent() {
        *times_sent.entry(message.text).or_default() += 1;
    }
    assert_eq!(times_sent.len(), 200, "every reminder sent");
    assert!(times_sent.values().all(|&n| n == 1), "a reminder sent twice: {times_sent:?}");
}

#[tokio::test]
async fn a_stop_stuck_on_a_send_that_is_never_answered_ends_with_an_error_naming_the_senders() {
    // Arrange: our own senders, and a Bot API that takes a send and then never answers it in
    // time (a minute).
    let mut app = spawn_app().await;
    app.stop_tasks().await;
    let bot = guanxi::telegram::build_bot(&app.ctx.settings, TOKEN);
    let mailer = guanxi::email::Mailer::new(&app.ctx.settings.mail, &app.ctx.settings.mail_from).unwrap();
    let tasks = Tasks { tick_every_minute: false, background_worker: true };
    let running = guanxi::startup::start(&app.ctx, bot, mailer, tasks).await.unwrap();
    app.telegram.set_latency(Duration::from_secs(60));
    {
        let mut conn = app.ctx.db.pool().acquire().await.unwrap();
        outbox::enqueue(&mut conn, &outbox_message("burst:0", 1, Priority::Bulk), app.now()).await.unwrap();
    }
    app.ctx.wake_worker.notify_waiters();
    let started = Instant::now();
    while app.telegram.sent().is_empty() {
        assert!(started.elapsed() < Duration::from_secs(10), "the send did not start");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    // Act
    let asked = Instant::now();
    let stopped = running.stop().await;
    let took = asked.elapsed();

    // Assert: not a hang, but an error after the grace that says what was still running; the
    // row stays claimed, for its lease to hand it to the next start.
    let error = stopped.expect_err("a stop stuck on a send cannot succeed");
    assert_eq!(error.to_string(), "the outbox senders did not stop within 15 s");
    assert!(took >= SHUTDOWN_GRACE && took < SHUTDOWN_GRACE + Duration::from_secs(2), "{took:?}");
    assert_eq!(app.outbox().await[0].status, "sending");
}
