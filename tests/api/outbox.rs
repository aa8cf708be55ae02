//! The outbox on the real database: idempotency, exclusive claims, fencing, retries.

use chrono::Duration;
use guanxi::domain::customer::Tier;
use guanxi::jobs::worker::{LEASE, Outcome};
use guanxi::storage::outbox::{self, NewMessage, Priority};

use crate::helpers::app::team;
use crate::helpers::{TestApp, outbox_message, spawn_app};

#[tokio::test]
async fn the_same_key_is_queued_once() {
    let app = spawn_app().await;
    let mut conn = app.ctx.db.pool().acquire().await.unwrap();
    assert!(outbox::enqueue(&mut conn, &outbox_message("k:1", 1, Priority::Bulk), app.now()).await.unwrap());
    assert!(!outbox::enqueue(&mut conn, &outbox_message("k:1", 1, Priority::Bulk), app.now()).await.unwrap());
    assert_eq!(outbox::list(&mut conn, None).await.unwrap().len(), 1);
}

#[tokio::test]
async fn concurrent_claimers_never_take_the_same_row() {
    let app = spawn_app().await;
    {
        let mut conn = app.ctx.db.pool().acquire().await.unwrap();
        for i in 0..60 {
            outbox::enqueue(&mut conn, &outbox_message(&format!("k:{i}"), i, Priority::Bulk), app.now()).await.unwrap();
        }
    }
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let db = app.ctx.db.clone();
        let now = app.now();
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let mut conn = db.pool().acquire().await.unwrap();
                match outbox::claim(&mut conn, db.backend(), now, LEASE).await.unwrap() {
                    Some(row) => mine.push(row.id),
                    None => return mine,
                }
            }
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    all.sort();
    let before = all.len();
    all.dedup();
    assert_eq!((before, all.len()), (60, 60));
}

#[tokio::test]
async fn a_stale_worker_cannot_complete_a_row_another_worker_claimed_after_its_lease() {
    let app = spawn_app().await;
    let mut conn = app.ctx.db.pool().acquire().await.unwrap();
    let backend = app.ctx.db.backend();
    outbox::enqueue(&mut conn, &outbox_message("fenced", 1, Priority::Bulk), app.now()).await.unwrap();
    let first = outbox::claim(&mut conn, backend, app.now(), LEASE).await.unwrap().unwrap();
    assert!(outbox::claim(&mut conn, backend, app.now() + Duration::seconds(60), LEASE).await.unwrap().is_none());
    let later = app.now() + LEASE + Duration::seconds(1);
    let second = outbox::claim(&mut conn, backend, later, LEASE).await.unwrap().unwrap();
    assert_eq!((first.id, second.fence), (second.id, first.fence + 1));
    assert!(!outbox::complete(&mut conn, &first, later).await.unwrap(), "the stale claim is fenced off");
    assert!(outbox::complete(&mut conn, &second, later).await.unwrap());
    assert_eq!(outbox::list(&mut conn, Some("sent")).await.unwrap().len(), 1);
}

#[tokio::test]
async fn interactive_replies_go_before_bulk_reminders() {
    let app = spawn_app().await;
    let mut conn = app.ctx.db.pool().acquire().await.unwrap();
    for i in 0..5 {
        outbox::enqueue(&mut conn, &outbox_message(&format!("bulk:{i}"), 1, Priority::Bulk), app.now()).await.unwrap();
    }
    outbox::enqueue(&mut conn, &outbox_message("reply:1:0", 2, Priority::Interactive), app.now()).await.unwrap();
    let first = outbox::claim(&mut conn, app.ctx.db.backend(), app.now(), LEASE).await.unwrap().unwrap();
    assert_eq!(first.key, "reply:1:0");
}

/// `per_chat` bulk reminders to chat 1, then to chat 2 and so on, queued one by one in the
/// same second: the order of `benches/delivery.rs`, the hardest for per-chat pacing.
async fn queue_burst(app: &TestApp, chats: i64, per_chat: i64) {
    let mut conn = app.ctx.db.pool().acquire().await.unwrap();
    for chat in 1..=chats {
        for n in 0..per_chat {
            let msg = outbox_message(&format!("burst:{chat}:{n}"), chat, Priority::Bulk);
            outbox::enqueue(&mut conn, &msg, app.now()).await.unwrap();
        }
    }
}

fn assert_each_chat_got_its_burst_in_order(app: &TestApp, chats: i64, per_chat: i64) {
    for chat in 1..=chats {
        let texts: Vec<String> = app.telegram.sent_to(chat).into_iter().map(|m| m.text).collect();
        assert_eq!(texts, (0..per_chat).map(|n| format!("消息 burst:{chat}:{n}")).collect::<Vec<_>>(), "chat {chat}");
    }
}

#[tokio::test]
async fn a_burst_goes_round_robin_over_its_chats_and_each_chat_keeps_its_order() {
    // Arrange: three reminders for chat 1, then three for chat 2, then for chat 3.
    let app = spawn_app().await;
    queue_burst(&app, 3, 3).await;

    // Act
    assert_eq!(app.deliver().await, 9);

    // Assert: the chat served least recently goes next. Taken in queuing order, the last
    // chat of a burst would get its messages one per second at the very end, at the pace of
    // one chat instead of the bot's: the burst's tail, measured by `benches/delivery.rs`.
    let sent = app.telegram.sent();
    let chats: Vec<i64> = sent.iter().map(|m| m.chat_id).collect();
    assert_eq!(chats, [1, 2, 3, 1, 2, 3, 1, 2, 3]);
    assert_each_chat_got_its_burst_in_order(&app, 3, 3);
}

#[tokio::test]
async fn concurrent_senders_keep_each_chats_messages_in_order() {
    // Arrange: a burst queued chat by chat, so a chat's next message sits right behind the one
    // another sender is claiming (on PostgreSQL `SKIP LOCKED` passes over the locked row to
    // the next one, which is the same chat's).
    let app = spawn_app().await;
    queue_burst(&app, 40, 5).await;

    // Act: four senders at once, as `delivery.concurrency` runs them.
    let mut senders = Vec::new();
    for _ in 0..4 {
        let worker = app.worker.clone();
        let now = app.now();
        senders.push(tokio::spawn(async move { worker.run_until_empty(now).await.unwrap() }));
    }
    let mut sent = 0;
    for sender in senders {
        sent += sender.await.unwrap();
    }

    // Assert
    assert_eq!(sent, 200);
    assert_each_chat_got_its_burst_in_order(&app, 40, 5);
}

#[tokio::test]
async fn rate_limited_sends_wait_for_retry_after_and_then_go_out_once() {
    let app = spawn_app().await;
    let t = team(&app).await;
    app.add_customer("限流公司", Tier::A, &t.rep).await;
    app.set_time("2026-01-05 09:00");
    guanxi::jobs::planner::plan(&app.ctx, app.now()).await.unwrap();
    // Telegram asks for a pause (kept short: the Throttle adaptor honours it in real time).
    app.telegram.fail_next_sends(1, 429, Some(1));

    assert_eq!(app.worker.try_execute(app.now()).await.unwrap(), Outcome::Retry);
    let row = app.outbox().await.remove(0);
    assert_eq!((row.status.as_str(), row.attempts), ("pending", 1));
    assert_eq!(row.next_attempt(), app.now() + Duration::seconds(1));
    assert!(row.last_error.unwrap().contains("too many requests"));
    // Not before Telegram allows it.
    assert_eq!(app.deliver().await, 0);
    app.clock.advance(Duration::seconds(1));
    assert_eq!(app.deliver().await, 1);
    assert_eq!(app.deliver().await, 0);
    assert_eq!(app.telegram.sent_to(t.rep.telegram_id.0).len(), 1);
}

#[tokio::test]
async fn a_chat_that_blocked_the_bot_becomes_a_dead_letter_not_a_retry_loop() {
    let app = spawn_app().await;
    let mut conn = app.ctx.db.pool().acquire().await.unwrap();
    outbox::enqueue(&mut conn, &outbox_message("blocked", 42, Priority::Bulk), app.now()).await.unwrap();
    drop(conn);
    app.telegram.fail_next_sends(1, 403, None);
    assert_eq!(app.worker.try_execute(app.now()).await.unwrap(), Outcome::Dead);
    let row = app.outbox().await.remove(0);
    assert_eq!(row.status, "dead");
    assert!(row.last_error.unwrap().contains("blocked"), "the cause is kept for operators");
    app.clock.advance(Duration::hours(2));
    assert_eq!(app.deliver().await, 0);
}

#[tokio::test]
async fn an_smtp_outage_delays_escalations_and_loses_none() {
    let app = spawn_app().await;
    let t = team(&app).await;
    app.add_customer("邮件公司", Tier::A, &t.rep).await;
    app.smtp.set_down(true);
    app.tick_at("2026-01-08 09:00").await;
    let mail = app.outbox().await.into_iter().find(|r| r.channel == "email").unwrap();
    assert_eq!((mail.status.as_str(), mail.attempts), ("pending", 1));
    app.clock.advance(Duration::minutes(5));
    app.deliver().await;
    assert!(app.smtp.messages().is_empty());
    app.smtp.set_down(false);
    app.clock.advance(Duration::hours(1));
    app.deliver().await;
    app.deliver().await;
    assert_eq!(app.smtp.messages().len(), 1);
    assert!(app.outbox().await.iter().all(|r| r.status == "sent"));
}

#[tokio::test]
async fn a_rep_who_blocked_the_bot_gets_the_digest_by_email_instead() {
    let app = spawn_app().await;
    let t = team(&app).await;
    sqlx::query("UPDATE staff SET email = 'rep@corp.example' WHERE id = $1")
        .bind(t.rep.id.0)
        .execute(app.ctx.db.pool())
        .await
        .unwrap();
    app.add_customer("屏蔽公司", Tier::B, &t.rep).await;
    app.telegram.fail_next_sends(1, 403, None);
    app.tick_at("2026-01-05 09:00").await;
    app.deliver().await;
    let mails = app.smtp.messages_to("rep@corp.example");
    assert_eq!(mails.len(), 1);
    assert!(mails[0].body.contains("屏蔽公司") && mails[0].body.contains("屏蔽"), "{}", mails[0].body);
    let rows = app.outbox().await;
    assert!(rows.iter().any(|r| r.idem_key.starts_with("digest:") && r.status == "dead"));
    assert!(!rows.iter().any(|r| r.idem_key.starts_with("dead:")), "an e-mail went out: no dead-letter notice");
}

#[tokio::test]
async fn a_dead_letter_is_reported_to_the_administrators_and_can_be_resent() {
    let app = spawn_app().await;
    app.add_staff(9100, "管理员", guanxi::domain::staff::Role::Admin, None, None).await;
    let mut conn = app.ctx.db.pool().acquire().await.unwrap();
    outbox::enqueue(&mut conn, &outbox_message("lost", 42, Priority::Bulk), app.now()).await.unwrap();
    drop(conn);
    app.telegram.fail_next_sends(1, 400, None);
    app.deliver().await;
    let notice = app.telegram.sent_to(9100).pop().expect("the admin is told");
    assert!(notice.text.contains("无法送达 42") && notice.text.contains("guanxi outbox retry 1"), "{}", notice.text);

    let run = |args: &'static [&'static str]| {
        let url = app.db.url.clone();
        async move {
            tokio::process::Command::new(env!("CARGO_BIN_EXE_guanxi"))
                .args(args)
                .env_clear()
                .env("DATABASE_URL", url)
                .output()
                .await
                .unwrap()
        }
    };
    let listed = String::from_utf8(run(&["outbox", "list", "--status", "dead"]).await.stdout).unwrap();
    assert!(
        listed.lines().nth(1).is_some_and(|l| l.starts_with("1\tdead\ttelegram\t42\t1\t") && l.contains("\tlost\t")),
        "{listed}"
    );
    assert_eq!(run(&["outbox", "list", "--status", "lost"]).await.status.code(), Some(2));
    let retried = String::from_utf8(run(&["outbox", "retry", "1"]).await.stdout).unwrap();
    assert!(retried.contains("1 messages queued again"), "{retried}");
    // The command line queued it as of the real clock.
    app.clock.set(chrono::Utc::now() + Duration::minutes(1));
    app.deliver().await;
    assert_eq!(app.telegram.sent_to(42).len(), 1);
    let again = run(&["outbox", "retry", "1"]).await;
    assert!(String::from_utf8_lossy(&again.stderr).contains("not a dead letter"));
}

#[tokio::test]
async fn a_customer_is_answered_within_a_second_while_a_burst_goes_out_at_telegrams_limits() {
    // Arrange: Telegram's real limits, enforced by the fake; the app's own worker running.
    let mut app = spawn_app().await;
    app.stop_tasks().await;
    app.restart_with(|s| s.rate_limits = guanxi::config::RateLimits::default()).await;
    app.stop_tasks().await;
    app.telegram.enforce_limits(30, 1);
    app.start_with(guanxi::startup::Tasks { tick_every_minute: false, background_worker: true }).await;
    {
        let mut conn = app.ctx.db.pool().acquire().await.unwrap();
        for i in 0..150 {
            outbox::enqueue(&mut conn, &outbox_message(&format!("burst:{i}"), 1 + i / 5, Priority::Bulk), app.now())
                .await
                .unwrap();
        }
    }
    app.ctx.wake_worker.notify_waiters();
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;

    // Act: three customers write while the burst is going out, each a few seconds later on
    // the app's clock than the burst's start (a reply is due from its own queuing time; the
    // senders once claimed "as of" the start of the burst and left these replies waiting
    // until the whole burst was out).
    let mut waits = Vec::new();
    for c in 0..3 {
        app.clock.advance(chrono::Duration::seconds(3));
        let customer = crate::helpers::TgUser::new(7000 + c, "客户");
        let asked = std::time::Instant::now();
        app.telegram.push_text(&customer, "/complain");
        app.telegram.wait_for_sent_to(customer.id, 1).await;
        waits.push(asked.elapsed());
    }
    let bulk_left =
        app.outbox().await.iter().filter(|r| r.idem_key.starts_with("burst:") && r.status != "sent").count();

    // Assert
    assert!(waits.iter().all(|w| *w < std::time::Duration::from_secs(1)), "{waits:?}");
    assert!(bulk_left > 0, "the burst was over before the customers were answered: the test proves nothing");
    assert_eq!(app.telegram.too_many_requests(), 0, "refused: {:?}", app.telegram.refused());
}

/// The claims of several senders at once (`claim_many`): one row per chat, each chat's first,
/// interactive first, never a chat with a row in flight; `complete_many` marks each row that
/// its claim still owns and refuses a stale fence.
#[tokio::test]
async fn many_claims_in_one_statement_take_one_row_per_chat_and_completions_check_each_fence() {
    let app = spawn_app().await;
    let backend = app.ctx.db.backend();
    let mut conn = app.ctx.db.pool().acquire().await.unwrap();
    for (key, chat, priority) in [
        ("bulk:1:a", 1, Priority::Bulk),
        ("bulk:1:b", 1, Priority::Bulk),
        ("reply:1", 1, Priority::Interactive),
        ("bulk:2:a", 2, Priority::Bulk),
        ("bulk:3:a", 3, Priority::Bulk),
    ] {
        outbox::enqueue(&mut conn, &outbox_message(key, chat, priority), app.now()).await.unwrap();
    }
    let first = outbox::claim_many(&mut conn, backend, app.now(), LEASE, 10).await.unwrap();
    let keys: Vec<&str> = first.iter().map(|c| c.key.as_str()).collect();
    assert_eq!(keys, ["reply:1", "bulk:2:a", "bulk:3:a"], "one per chat, the reply first");
    // Chat 1 has a row in flight: nothing of it until that one is done.
    assert!(outbox::claim_many(&mut conn, backend, app.now(), LEASE, 10).await.unwrap().is_empty());
    let stale = (first[1].id, first[1].fence - 1);
    let done = outbox::complete_many(&mut conn, &[(first[0].id, first[0].fence), stale], app.now()).await.unwrap();
    assert_eq!(done, [true, false], "the stale fence is refused, the other row completed");
    let next = outbox::claim_many(&mut conn, backend, app.now(), LEASE, 10).await.unwrap();
    assert_eq!(next.iter().map(|c| c.key.as_str()).collect::<Vec<_>>(), ["bulk:1:a"]);
    let limited = {
        outbox::enqueue(&mut conn, &outbox_message("bulk:4:a", 4, Priority::Bulk), app.now()).await.unwrap();
        outbox::enqueue(&mut conn, &outbox_message("bulk:5:a", 5, Priority::Bulk), app.now()).await.unwrap();
        outbox::claim_many(&mut conn, backend, app.now(), LEASE, 1).await.unwrap()
    };
    assert_eq!(limited.iter().map(|c| c.key.as_str()).collect::<Vec<_>>(), ["bulk:4:a"], "at most the limit");
}

/// The claim takes each chat's first message only, however many wait behind it: a message not
/// yet due (a retry, quiet hours) is passed over for the next one of its chat, and a head
/// whose lease ran out (its sender died) is taken again before anything queued after it.
#[tokio::test]
async fn the_claim_takes_each_chats_first_due_message_and_a_lapsed_one_again_before_the_rest() {
    let app = spawn_app().await;
    let backend = app.ctx.db.backend();
    let mut conn = app.ctx.db.pool().acquire().await.unwrap();
    let later =
        NewMessage { not_before: Some(app.now() + Duration::hours(1)), ..outbox_message("2:later", 2, Priority::Bulk) };
    for msg in [
        outbox_message("1:a", 1, Priority::Bulk),
        outbox_message("1:b", 1, Priority::Bulk),
        outbox_message("1:c", 1, Priority::Bulk),
        later,
        outbox_message("2:due", 2, Priority::Bulk),
        outbox_message("3:a", 3, Priority::Bulk),
    ] {
        outbox::enqueue(&mut conn, &msg, app.now()).await.unwrap();
    }
    let keys = |rows: &[outbox::Claimed]| rows.iter().map(|c| c.key.clone()).collect::<Vec<_>>();
    let first = outbox::claim_many(&mut conn, backend, app.now(), LEASE, 10).await.unwrap();
    assert_eq!(keys(&first), ["1:a", "2:due", "3:a"]);
    let lapsed = app.now() + LEASE + Duration::seconds(1);
    let again = outbox::claim_many(&mut conn, backend, lapsed, LEASE, 10).await.unwrap();
    assert_eq!(keys(&again), ["1:a", "2:due", "3:a"], "the lapsed heads, not what waits behind them");
    assert!(again.iter().zip(&first).all(|(a, f)| a.fence == f.fence + 1 && a.id == f.id));
    let done: Vec<(i64, i64)> = again.iter().map(|c| (c.id, c.fence)).collect();
    assert_eq!(outbox::complete_many(&mut conn, &done, lapsed).await.unwrap(), [true, true, true]);
    let next = outbox::claim_many(&mut conn, backend, lapsed, LEASE, 10).await.unwrap();
    assert_eq!(keys(&next), ["1:b"], "chat 2's held message is not due yet, chat 3 is done");
}

/// Bookings of several senders in one transaction (`book_many`): each gets its own slot, the
/// overall spacing between them, and a second message to one chat in the same batch is told
/// the chat is busy, as it would be booked one after the other.
#[tokio::test]
async fn many_bookings_in_one_transaction_are_spaced_as_one_by_one() {
    use guanxi::jobs::pace::{Booking, Pace};
    use guanxi::storage::send_gate;
    let app = spawn_app().await;
    let pace = Pace { overall_spacing_us: 40_000, chat_spacing_us: 1_050_000, per_minute: 20 };
    let mut conn = app.ctx.db.pool().acquire().await.unwrap();
    let bookings =
        send_gate::book_many(&mut conn, app.ctx.db.backend(), &[(1, pace), (2, pace), (1, pace)]).await.unwrap();
    let (Booking::At { slot: a, .. }, Booking::At { slot: b, .. }) = (bookings[0], bookings[1]) else {
        panic!("the first two get slots: {bookings:?}");
    };
    assert_eq!(b - a, 40_000, "the overall spacing apart");
    assert_eq!(bookings[2], Booking::ChatBusyUntil(a + 1_050_000), "chat 1 is busy until its spacing passed");
    // Stored: the next booking, on its own, comes after both.
    drop(conn);
    let Booking::At { slot: c, .. } = send_gate::book(&app.ctx.db, &pace, 3).await.unwrap() else {
        panic!("chat 3 is free");
    };
    assert!(c >= b + 40_000, "{c} after {b}");
}

/// A completion stored twice under the same claim (a batch retried after its completions
/// were stored) is taken both times and keeps the first `sent_at`; a stale fence is still
/// refused after the row was sent by its new owner.
#[tokio::test]
async fn a_completion_stored_twice_counts_once_and_a_stale_fence_stays_refused() {
    let app = spawn_app().await;
    let backend = app.ctx.db.backend();
    let mut conn = app.ctx.db.pool().acquire().await.unwrap();
    outbox::enqueue(&mut conn, &outbox_message("twice", 1, Priority::Bulk), app.now()).await.unwrap();
    let first = outbox::claim(&mut conn, backend, app.now(), LEASE).await.unwrap().unwrap();
    let later = app.now() + LEASE + Duration::seconds(1);
    let second = outbox::claim(&mut conn, backend, later, LEASE).await.unwrap().unwrap();
    assert!(outbox::complete(&mut conn, &second, later).await.unwrap());
    assert!(outbox::complete(&mut conn, &second, later + Duration::seconds(30)).await.unwrap(), "stored again");
    assert!(!outbox::complete(&mut conn, &first, later).await.unwrap(), "the stale claim is still fenced off");
    let sent_at: i64 = sqlx::query_scalar("SELECT sent_at FROM outbox WHERE id = $1")
        .bind(second.id)
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert_eq!(sent_at, later.timestamp(), "the first completion's time is kept");
}

/// An app with two bulk rows queued for chat 1 (`chat:1:a`, then `chat:1:b`), and a pace
/// that never makes a sender wait.
async fn two_rows_for_chat_one() -> (TestApp, guanxi::jobs::pace::Pace) {
    let app = spawn_app().await;
    {
        let mut conn = app.ctx.db.pool().acquire().await.unwrap();
        for key in ["chat:1:a", "chat:1:b"] {
            outbox::enqueue(&mut conn, &outbox_message(key, 1, Priority::Bulk), app.now()).await.unwrap();
        }
    }
    (app, guanxi::jobs::pace::Pace { overall_spacing_us: 1, chat_spacing_us: 1, per_minute: 1_000_000 })
}

/// A sender marks the row it sent done in the same call as its next claim, and the done
/// mark comes first: the next message to the same chat can be the one it claims.
#[tokio::test]
async fn a_sender_completes_its_row_and_claims_the_next_in_one_call() {
    let (app, pace) = two_rows_for_chat_one().await;
    let io = &app.ctx.delivery_io;
    let (row, booking) = io.claim(app.now(), LEASE, pace).await.unwrap().unwrap();
    assert_eq!(row.key, "chat:1:a");
    assert!(booking.is_some(), "a Telegram row gets its slot with the claim");
    assert!(io.claim(app.now(), LEASE, pace).await.unwrap().is_none(), "chat 1 has a row in flight");
    let (completed, next) = io.complete_and_claim(&row, app.now(), app.now(), LEASE, pace).await.unwrap();
    assert!(completed);
    assert_eq!(next.map(|(row, _)| row.key).as_deref(), Some("chat:1:b"));
    let (completed, next) = io.complete_and_claim(&row, app.now(), app.now(), LEASE, pace).await.unwrap();
    assert!(completed && next.is_none(), "stored again, nothing left to claim");
    let sent: Vec<String> = app.outbox().await.into_iter().filter(|r| r.status == "sent").map(|r| r.idem_key).collect();
    assert_eq!(sent, ["chat:1:a"]);
}

/// A sender's completion is committed before its claim: when the claim fails, the row
/// already sent is still marked sent (it must not go out again once its lease runs out) and
/// the row that was to be claimed stays pending, untried.
#[tokio::test]
async fn a_failed_claim_keeps_the_completion_of_the_row_sent_and_claims_nothing() {
    let (app, pace) = two_rows_for_chat_one().await;
    let io = &app.ctx.delivery_io;
    let (row, _) = io.claim(app.now(), LEASE, pace).await.unwrap().unwrap();
    // The schedule's table, which the claim reads, gone (dropped, not renamed: PostgreSQL's
    // prepared statements follow a renamed table), then put back as the migration made it.
    let mut conn = app.ctx.db.pool().acquire().await.unwrap();
    sqlx::query("DROP TABLE send_gate").execute(&mut *conn).await.unwrap();
    drop(conn); // SQLite's pool has one connection
    let failed = io.complete_and_claim(&row, app.now(), app.now(), LEASE, pace).await;
    let error = format!("{:#}", failed.expect_err("the claim cannot be made"));
    assert!(error.contains("send_gate"), "{error}");
    let mut conn = app.ctx.db.pool().acquire().await.unwrap();
    sqlx::query(
        "CREATE TABLE send_gate (gate TEXT PRIMARY KEY, next_at BIGINT NOT NULL,
             window_start BIGINT NOT NULL DEFAULT 0, window_count BIGINT NOT NULL DEFAULT 0)",
    )
    .execute(&mut *conn)
    .await
    .unwrap();
    drop(conn);
    let rows: Vec<(String, String, i64)> =
        app.outbox().await.into_iter().map(|r| (r.idem_key, r.status, r.attempts)).collect();
    assert_eq!(rows, [("chat:1:a".to_owned(), "sent".to_owned(), 1), ("chat:1:b".to_owned(), "pending".to_owned(), 0)]);
    let (next, _) = io.claim(app.now(), LEASE, pace).await.unwrap().unwrap();
    assert_eq!(next.key, "chat:1:b");
}
