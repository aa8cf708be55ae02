//! The harness: `spawn_app()` and the fakes it talks to.

pub mod app;
pub mod clock;
pub mod db;
pub mod fake_telegram;
pub mod process;
pub mod smtp_sink;

pub use app::{TestApp, spawn_app, spawn_app_at};
pub use fake_telegram::TgUser;

use guanxi::storage::outbox::{Channel, NewMessage, Priority};

/// A Telegram message to `chat` as the outbox takes it, keyed `key`, its text "消息 {key}".
pub fn outbox_message(key: &str, chat: i64, priority: Priority) -> NewMessage {
    NewMessage {
        key: key.to_owned(),
        channel: Channel::Telegram,
        recipient: chat.to_string(),
        subject: None,
        body: format!("消息 {key}"),
        reply_markup: None,
        priority,
        not_before: None,
        attachment_name: None,
    }
}
