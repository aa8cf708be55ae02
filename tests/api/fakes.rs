//! The test fakes proven against the real clients: an unmodified teloxide `Bot` against
//! `FakeTelegram`, and lettre's `AsyncSmtpTransport` against `SmtpSink`. If these fail, no
//! other test's verdict means anything.

use std::time::{Duration, Instant};

use crate::helpers::fake_telegram::{FakeTelegram, TgUser};
use crate::helpers::smtp_sink::SmtpSink;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message as Email, Tokio1Executor};
use teloxide::prelude::*;
use teloxide::types::{BotCommand, InlineKeyboardButton, InlineKeyboardMarkup, InputFile, MessageId, UpdateKind};
use teloxide::{ApiError, RequestError};

fn bot_for(tg: &FakeTelegram) -> Bot {
    Bot::new("123:abc").set_api_url(tg.api_url().parse().expect("fake API URL"))
}

fn keyboard() -> InlineKeyboardMarkup {
    InlineKeyboardMarkup::new([[
        InlineKeyboardButton::callback("好", "yes"),
        InlineKeyboardButton::callback("不", "no"),
    ]])
}

#[tokio::test]
async fn teloxide_requests_round_trip() {
    let tg = FakeTelegram::start().await;
    let bot = bot_for(&tg);

    let me = bot.get_me().await.expect("getMe");
    assert_eq!(me.username(), "guanxi_test_bot");
    assert!(me.is_bot);

    let sent = bot.send_message(ChatId(42), "你好").reply_markup(keyboard()).await.expect("sendMessage");
    assert_eq!(sent.text(), Some("你好"));
    assert_eq!(sent.chat.id, ChatId(42));
    assert!(sent.chat.is_private());
    assert_eq!(sent.from.as_ref().map(|u| u.is_bot), Some(true));
    assert_eq!(sent.reply_markup(), Some(&keyboard()));

    let recorded = tg.sent_to(42);
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].message_id, sent.id.0);
    assert_eq!(recorded[0].text, "你好");
    let markup = recorded[0].reply_markup.as_ref().expect("markup recorded");
    assert_eq!(markup["inline_keyboard"][0][1]["callback_data"], "no");

    bot.set_my_commands([BotCommand::new("start", "开始")]).language_code("zh").await.expect("setMyCommands");
    bot.set_my_commands([BotCommand::new("start", "Start")]).await.expect("setMyCommands");
    let commands = tg.my_commands();
    assert_eq!(commands.len(), 2);
    assert_eq!(commands[0].0.as_deref(), Some("zh"));
    assert_eq!(commands[0].1[0]["description"], "开始");
    assert_eq!(commands[1].0, None);
    let zh = bot.get_my_commands().language_code("zh").await.expect("getMyCommands");
    assert_eq!(zh, vec![BotCommand::new("start", "开始")]);

    let edited =
        bot.edit_message_text(ChatId(42), sent.id, "改了").reply_markup(keyboard()).await.expect("editMessageText");
    assert_eq!(edited.text(), Some("改了"));
    assert!(edited.edit_date().is_some());
    let edited = bot.edit_message_reply_markup(ChatId(42), sent.id).await.expect("editMessageReplyMarkup");
    assert_eq!(edited.text(), Some("改了"));
    assert_eq!(edited.reply_markup(), None);
    assert_eq!(tg.edits().len(), 2);

    let doc = bot
        .send_document(ChatId(42), InputFile::memory(b"name,phone\n".to_vec()).file_name("export.csv"))
        .caption("导出")
        .await
        .expect("sendDocument");
    assert_eq!(doc.caption(), Some("导出"));
    let docs = tg.documents();
    assert_eq!(docs.len(), 1);
    assert_eq!(docs[0].chat_id, 42);
    assert_eq!(docs[0].caption.as_deref(), Some("导出"));
    assert_eq!(docs[0].file_name.as_deref(), Some("export.csv"));
    assert_eq!(docs[0].size, 11);

    bot.delete_webhook().await.expect("deleteWebhook");
    bot.send_chat_action(ChatId(42), teloxide::types::ChatAction::Typing).await.expect("unknown methods answer true");
    assert_eq!(tg.calls("sendchataction"), 1);
    assert_eq!(tg.calls("SendMessage"), 1);
    // Documents and edits are not `sendMessage`s.
    assert_eq!(tg.sent().len(), 1);
    tg.clear_sent();
    assert!(tg.sent().is_empty());
}

#[tokio::test]
async fn get_updates_honours_offset_and_bounded_timeout() {
    let tg = FakeTelegram::start().await;
    let bot = bot_for(&tg);
    let user = TgUser::new(1001, "王").with_language("zh-hans");

    let prompt = bot.send_message(ChatId(user.id), "选一个").reply_markup(keyboard()).await.expect("sendMessage");

    let first = tg.push_text(&user, "/start hello");
    let updates = bot.get_updates().timeout(5).await.expect("getUpdates");
    assert_eq!(updates.len(), 1);
    assert_eq!(i64::from(updates[0].id.0), first);
    let UpdateKind::Message(msg) = &updates[0].kind else {
        panic!("expected a message update, got {:?}", updates[0].kind);
    };
    assert_eq!(msg.text(), Some("/start hello"));
    assert_eq!(msg.chat.id, ChatId(user.id));
    let from = msg.from.as_ref().expect("from");
    assert_eq!(from.first_name, "王");
    assert_eq!(from.language_code.as_deref(), Some("zh-hans"));
    assert_eq!(msg.entities().map(<[_]>::len), Some(1));
    // Not confirmed yet: still pending and returned again.
    assert_eq!(tg.pending_updates(), 1);

    tg.push_callback(&user, prompt.id.0, "yes");
    let updates = bot.get_updates().offset(updates[0].id.as_offset()).timeout(5).await.expect("getUpdates");
    assert_eq!(updates.len(), 1);
    let UpdateKind::CallbackQuery(query) = &updates[0].kind else {
        panic!("expected a callback query, got {:?}", updates[0].kind);
    };
    assert_eq!(query.data.as_deref(), Some("yes"));
    assert_eq!(query.from.id, UserId(1001));
    let message = query.regular_message().expect("accessible message");
    assert_eq!(message.id, prompt.id);
    assert_eq!(message.text(), Some("选一个"));
    assert_eq!(message.reply_markup(), Some(&keyboard()));
    assert_eq!(tg.pending_updates(), 1);

    bot.answer_callback_query(query.id.clone()).text("收到").await.expect("answerCallbackQuery");
    assert_eq!(tg.callback_answers()[0]["text"], "收到");

    // Empty queue: a long poll comes back empty after the capped wait.
    let started = Instant::now();
    let updates = bot.get_updates().offset(updates[0].id.as_offset()).timeout(30).await.expect("getUpdates");
    assert!(updates.is_empty());
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(tg.pending_updates(), 0);

    // A long poll in flight is woken by a push.
    let poll = tokio::spawn({
        let bot = bot.clone();
        async move { bot.get_updates().offset(0).timeout(30).await }
    });
    let raw_id = tg.push_raw_update(serde_json::json!({
        "message": {
            "message_id": 999, "date": 1_700_000_000,
            "chat": { "id": 5, "type": "private", "first_name": "Raw" },
            "text": "raw"
        }
    }));
    let updates = poll.await.expect("join").expect("getUpdates");
    assert_eq!(updates.len(), 1);
    assert_eq!(i64::from(updates[0].id.0), raw_id);
    assert!(tg.calls("getUpdates") >= 4);
}

#[tokio::test]
async fn dispatcher_long_polls_the_fake() {
    let tg = FakeTelegram::start().await;
    let bot = bot_for(&tg);
    let user = TgUser::new(2002, "Li");

    let handler = dptree::entry()
        .branch(Update::filter_message().endpoint(|bot: Bot, msg: Message| async move {
            let text = format!("echo: {}", msg.text().unwrap_or_default());
            bot.send_message(msg.chat.id, text).reply_markup(keyboard()).await?;
            Ok::<(), RequestError>(())
        }))
        .branch(Update::filter_callback_query().endpoint(|bot: Bot, q: CallbackQuery| async move {
            bot.answer_callback_query(q.id.clone()).text("ok").await?;
            let data = q.data.unwrap_or_default();
            bot.send_message(q.from.id, format!("pressed: {data}")).await?;
            Ok::<(), RequestError>(())
        }));
    let mut dispatcher = Dispatcher::builder(bot, handler).build();
    let shutdown = dispatcher.shutdown_token();
    let running = tokio::spawn(async move { dispatcher.dispatch().await });

    tg.push_text(&user, "第一");
    tg.push_text(&user, "second");
    let sent = tg.wait_for_sent_to(user.id, 2).await;
    assert_eq!(sent[0].text, "echo: 第一");
    assert_eq!(sent[1].text, "echo: second");

    tg.push_callback(&user, sent[1].message_id, "no");
    let sent = tg.wait_for_sent_to(user.id, 3).await;
    assert_eq!(sent[2].text, "pressed: no");
    assert_eq!(tg.callback_answers().len(), 1);

    shutdown.shutdown().expect("dispatcher running").await;
    running.await.expect("dispatcher task");
    assert_eq!(tg.pending_updates(), 0);
    assert!(tg.calls("getMe") >= 1);
}

#[tokio::test]
async fn injected_failures_surface_as_teloxide_errors() {
    let tg = FakeTelegram::start().await;
    let bot = bot_for(&tg);

    tg.fail_next_sends(2, 429, Some(7));
    for _ in 0..2 {
        let err = bot.send_message(ChatId(1), "x").await.unwrap_err();
        assert!(matches!(err, RequestError::RetryAfter(s) if s.seconds() == 7), "{err:?}");
    }
    tg.fail_next_sends(1, 403, None);
    let err = bot.send_message(ChatId(1), "x").await.unwrap_err();
    assert!(matches!(err, RequestError::Api(ApiError::BotBlocked)), "{err:?}");
    bot.send_message(ChatId(1), "finally").await.expect("faults exhausted");
    assert_eq!(tg.calls("sendMessage"), 4);
    let sent = tg.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].text, "finally");
}

#[tokio::test]
async fn limits_mode_refuses_sends_over_telegrams_limits_with_retry_after() {
    let tg = FakeTelegram::start().await;
    let bot = bot_for(&tg);
    tg.enforce_limits(3, 2);

    // Per chat: a third message to one chat within the second is refused.
    for text in ["1", "2"] {
        bot.send_message(ChatId(1), text).await.expect("within the limits");
    }
    let err = bot.send_message(ChatId(1), "3").await.unwrap_err();
    assert!(matches!(err, RequestError::RetryAfter(s) if s.seconds() == 1), "{err:?}");
    // Overall: a third chat's message fits the 3 a second, the next one does not.
    bot.send_message(ChatId(2), "4").await.expect("within the overall limit");
    let err = bot.send_message(ChatId(3), "5").await.unwrap_err();
    assert!(matches!(err, RequestError::RetryAfter(_)), "{err:?}");
    assert_eq!(tg.too_many_requests(), 2);
    assert_eq!(tg.sent().iter().map(|m| m.text.as_str()).collect::<Vec<_>>(), ["1", "2", "4"]);
    assert_eq!(tg.peak_sends_per_sec(), (3, 2));

    // Documents count against the same limits; a second later the window has moved on.
    let file = || InputFile::memory(b"a,b\n".to_vec()).file_name("x.csv");
    assert!(matches!(bot.send_document(ChatId(4), file()).await, Err(RequestError::RetryAfter(_))));
    tokio::time::sleep(Duration::from_millis(1_050)).await;
    bot.send_document(ChatId(4), file()).await.expect("a new second");
    bot.send_message(ChatId(1), "6").await.expect("a new second");
    assert_eq!(tg.too_many_requests(), 3);
    let sent = tg.sent();
    assert!(sent[3].at.duration_since(sent[0].at) >= Duration::from_secs(1));
    // Four sends within the limit of 3 a second took at least a second (the document counts too).
    let four = tg.shortest_span(4).expect("five sends");
    assert!(four >= Duration::from_secs(1) && four < Duration::from_secs(3), "{four:?}");
    assert!(tg.shortest_span(2).expect("five sends") < Duration::from_secs(1), "1 and 2 went out at once");
    assert_eq!(tg.shortest_span(6), None, "only five sends");
}

#[tokio::test]
async fn latency_holds_back_the_answers_to_sends() {
    let tg = FakeTelegram::start().await;
    let bot = bot_for(&tg);
    tg.set_latency(Duration::from_millis(150));

    let started = Instant::now();
    bot.send_message(ChatId(1), "slow").await.expect("sendMessage");
    let took = started.elapsed();
    bot.get_me().await.expect("getMe");

    assert!(took >= Duration::from_millis(150), "{took:?}");
    // Recorded on arrival, not when the answer left.
    let at = tg.sent()[0].at;
    assert!(at.duration_since(started) < Duration::from_millis(150), "{:?}", at.duration_since(started));
    tg.set_latency(Duration::ZERO);
    let started = Instant::now();
    bot.send_message(ChatId(1), "fast").await.expect("sendMessage");
    assert!(started.elapsed() < Duration::from_millis(150));
}

#[tokio::test]
async fn edit_on_unknown_message_uses_new_markup() {
    let tg = FakeTelegram::start().await;
    let bot = bot_for(&tg);
    let msg = bot.edit_message_text(ChatId(9), MessageId(77), "x").await.expect("lenient edit");
    assert_eq!(msg.id, MessageId(77));
}

fn email(to: &str, subject: &str, body: &str) -> Email {
    Email::builder()
        .from("Guanxi <noreply@guanxi.test>".parse().unwrap())
        .to(to.parse().unwrap())
        .subject(subject)
        .body(body.to_owned())
        .unwrap()
}

#[tokio::test]
async fn lettre_delivers_utf8_mail_to_the_sink() {
    let sink = SmtpSink::start().await;
    assert!(
        AsyncSmtpTransport::<Tokio1Executor>::from_url(&format!("{}?tls=none", sink.url())).is_err(),
        "lettre rejects tls=none; url() must not use it"
    );
    let mailer = AsyncSmtpTransport::<Tokio1Executor>::from_url(&sink.url()).expect("smtp url").build();

    let subject = "关系提醒：明天联系王先生 (Mr Wang) — 第二次跟进，请别忘记带上合同和礼物";
    let body = "你好！\n.这一行以点开头\n..两个点\n再见。";
    mailer.send(email("王先生 <wang@example.com>", subject, body)).await.expect("send");
    // Long line => quoted-printable with soft breaks; leading dots => the
    // SMTP dot-stuffing path (the Chinese body above is base64).
    let ascii_body = format!("plain ascii\n.one dot\n..two dots\n{}", "x".repeat(120));
    mailer.send(email("li@example.com", "Hello", &ascii_body)).await.expect("send ascii");

    let mails = sink.wait_for(2).await;
    assert_eq!(mails[0].from, "noreply@guanxi.test");
    assert_eq!(mails[0].to, vec!["wang@example.com".to_owned()]);
    assert_eq!(mails[0].subject, subject);
    assert_eq!(mails[0].body, body);
    assert!(mails[0].raw.contains("=?utf-8?b?"));
    assert_eq!(mails[1].subject, "Hello");
    assert_eq!(mails[1].body, ascii_body);
    assert!(mails[1].raw.contains("\r\n.one dot\r\n..two dots\r\n"));
    assert_eq!(sink.messages_to("LI@example.com").len(), 1);
}

#[tokio::test]
async fn sink_down_is_a_transient_failure() {
    let sink = SmtpSink::start().await;
    let mailer = AsyncSmtpTransport::<Tokio1Executor>::from_url(&sink.url()).expect("smtp url").build();
    mailer.send(email("a@example.com", "one", "1")).await.expect("send while up");

    sink.set_down(true);
    // Pooled connection (NOOP check) and a fresh connection both get 421.
    let err = mailer.send(email("a@example.com", "two", "2")).await.unwrap_err();
    assert!(err.is_transient(), "{err:?}");
    let fresh = AsyncSmtpTransport::<Tokio1Executor>::from_url(&sink.url()).expect("smtp url").build();
    let err = fresh.send(email("a@example.com", "two", "2")).await.unwrap_err();
    assert!(err.is_transient(), "{err:?}");

    sink.set_down(false);
    mailer.send(email("a@example.com", "three", "3")).await.expect("send after recovery");
    let subjects: Vec<String> = sink.messages().into_iter().map(|m| m.subject).collect();
    assert_eq!(subjects, ["one", "three"]);
}

#[tokio::test]
async fn sink_serves_concurrent_connections() {
    let sink = SmtpSink::start().await;
    let sends = (0..6).map(|i| {
        let url = sink.url();
        tokio::spawn(async move {
            // Separate transports force separate connections.
            let mailer = AsyncSmtpTransport::<Tokio1Executor>::from_url(&url).expect("smtp url").build();
            mailer.send(email(&format!("c{i}@example.com"), &format!("第{i}封"), "内容")).await
        })
    });
    for send in sends.collect::<Vec<_>>() {
        send.await.expect("join").expect("send");
    }
    let mails = sink.wait_for(6).await;
    assert_eq!(mails.len(), 6);
    assert!(mails.iter().all(|m| m.body == "内容"));
    assert_eq!(sink.messages_to("c3@example.com")[0].subject, "第3封");
}
