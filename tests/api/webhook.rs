//! Updates by webhook, in process, on both backends: the secret token is checked, the update
//! is handled before Telegram gets its 200, and an update delivered twice is handled once.

use std::net::SocketAddr;

use guanxi::startup::{Tasks, Updates};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::app::{TOKEN, team};
use crate::helpers::{TestApp, spawn_app};

const SECRET: &str = "hook-Secret_123";

/// POST `body` to the webhook with the given secret header (none when `None`); the status.
async fn post(addr: SocketAddr, secret: Option<&str>, body: &str) -> u16 {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let header = secret.map(|s| format!("X-Telegram-Bot-Api-Secret-Token: {s}\r\n")).unwrap_or_default();
    let request = format!(
        "POST /telegram/hook HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n{header}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).await.unwrap();
    raw.split_whitespace().nth(1).unwrap().parse().unwrap()
}

fn text_update(update_id: i64, from: i64, text: &str) -> String {
    json!({
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 1_767_571_200,
            "chat": { "id": from, "type": "private", "first_name": "客户" },
            "from": { "id": from, "is_bot": false, "first_name": "客户" },
            "text": text,
        }
    })
    .to_string()
}

/// Restart the app receiving by webhook on a free port; returns where it listens.
async fn by_webhook(app: &mut TestApp) -> (guanxi::startup::Running, SocketAddr) {
    app.stop_tasks().await;
    let mut settings = (*app.ctx.settings).clone();
    settings.webhook_secret = Some(guanxi::config::Secret::new(SECRET));
    app.ctx.settings = std::sync::Arc::new(settings);
    let bot = guanxi::telegram::build_bot(&app.ctx.settings, TOKEN);
    let mailer = guanxi::email::Mailer::new(&app.ctx.settings.mail, &app.ctx.settings.mail_from).unwrap();
    let updates = Updates::Webhook {
        public_url: "https://bot.corp.example/telegram/hook".parse().unwrap(),
        listen: "127.0.0.1:0".parse().unwrap(),
    };
    let running = guanxi::startup::start_receiving(&app.ctx, bot, mailer, Tasks::BOT_ONLY, &updates).await.unwrap();
    let addr = running.webhook_addr().expect("listening");
    (running, addr)
}

#[tokio::test]
async fn the_webhook_is_registered_with_its_secret_and_refuses_calls_without_it() {
    // Arrange
    let mut app = spawn_app().await;
    let (running, addr) = by_webhook(&mut app).await;

    // Act
    let missing = post(addr, None, &text_update(1, 5001, "/start")).await;
    let wrong = post(addr, Some("hook-Secret_124"), &text_update(2, 5001, "/start")).await;
    let garbage = post(addr, Some(SECRET), "{not json").await;

    // Assert: refused, and nothing was handled or queued.
    assert_eq!((missing, wrong, garbage), (403, 403, 400));
    assert!(app.outbox().await.is_empty());
    let registered = app.telegram.requests("setWebhook");
    assert_eq!(registered.len(), 1, "{registered:?}");
    assert_eq!(registered[0]["url"], "https://bot.corp.example/telegram/hook");
    assert_eq!(registered[0]["secret_token"], SECRET);
    // setWebhook goes as a multipart form (it may carry a certificate): lists arrive as JSON text.
    let allowed: Value = match &registered[0]["allowed_updates"] {
        Value::String(text) => serde_json::from_str(text).unwrap(),
        other => other.clone(),
    };
    assert_eq!(allowed, json!(["message", "callback_query"]));
    running.stop().await.expect("the app stops within its grace");
}

#[tokio::test]
async fn the_same_update_delivered_twice_is_handled_once() {
    // Arrange
    let mut app = spawn_app().await;
    let t = team(&app).await;
    let (running, addr) = by_webhook(&mut app).await;

    // Act: Telegram retries an update (same update_id), once at the same time as the first
    // delivery and once after it; a staff command and a customer's first message.
    let help = text_update(77, t.rep_user.id, "/help");
    let (a, b) = tokio::join!(post(addr, Some(SECRET), &help), post(addr, Some(SECRET), &help));
    let again = post(addr, Some(SECRET), &help).await;
    let customer = text_update(78, 5002, "你好");
    let first = post(addr, Some(SECRET), &customer).await;
    let second = post(addr, Some(SECRET), &customer).await;
    app.deliver().await;

    // Assert: every delivery answered 200, each update answered once.
    assert_eq!([a, b, again, first, second], [200; 5]);
    assert_eq!(app.telegram.sent_to(t.rep_user.id).len(), 1);
    assert_eq!(app.telegram.sent_to(5002).len(), 1);
    let replies: Vec<String> = app.outbox().await.into_iter().map(|r| r.idem_key).collect();
    assert_eq!(replies, ["reply:77:0", "reply:78:0"]);
    running.stop().await.expect("the app stops within its grace");
}
