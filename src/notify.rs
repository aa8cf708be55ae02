//! Turning what we want to say into outbox rows.
//!
//! Nothing talks to Telegram or SMTP directly: a message becomes a row (see
//! `storage::outbox`) and the worker delivers it. Long texts are split here at line breaks so
//! that each part fits Telegram's 4096-character limit.

use anyhow::Context;
use sqlx::AnyConnection;

use crate::storage::outbox::{self, Channel, NewMessage, Priority};

/// Telegram refuses texts over 4096 characters; stay below it with room for safety.
pub const TELEGRAM_MAX_CHARS: usize = 4000;

/// Queue a Telegram text (split if long) to `chat_id`; part `n` gets key `{key}` or
/// `{key}:{n}` for n > 0. Returns how many parts were new.
pub async fn telegram(
    conn: &mut AnyConnection,
    key: &str,
    chat_id: i64,
    text: &str,
    reply_markup: Option<String>,
    priority: Priority,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<usize> {
    telegram_at(conn, key, chat_id, text, reply_markup, priority, now, now).await
}

/// The same, to go out no earlier than `not_before` (the end of quiet hours).
#[allow(clippy::too_many_arguments)]
pub async fn telegram_at(
    conn: &mut AnyConnection,
    key: &str,
    chat_id: i64,
    text: &str,
    reply_markup: Option<String>,
    priority: Priority,
    now: chrono::DateTime<chrono::Utc>,
    not_before: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<usize> {
    let parts = telegram_parts(key, chat_id, text, reply_markup, priority, not_before);
    let new = outbox::enqueue_many(conn, &parts, now).await.with_context(|| format!("queueing message {key}"))?;
    Ok(new.len())
}

/// The outbox rows of a Telegram text: split if long; part `n` gets key `{key}` or
/// `{key}:{n}` for n > 0, and the buttons go under the last part, next to the question they
/// answer.
pub fn telegram_parts(
    key: &str,
    chat_id: i64,
    text: &str,
    reply_markup: Option<String>,
    priority: Priority,
    not_before: chrono::DateTime<chrono::Utc>,
) -> Vec<NewMessage> {
    let parts = split_for_telegram(text, TELEGRAM_MAX_CHARS);
    let last = parts.len() - 1;
    parts
        .into_iter()
        .enumerate()
        .map(|(n, part)| NewMessage {
            key: if n == 0 { key.to_owned() } else { format!("{key}:{n}") },
            channel: Channel::Telegram,
            recipient: chat_id.to_string(),
            subject: None,
            body: part,
            reply_markup: if n == last { reply_markup.clone() } else { None },
            priority,
            not_before: Some(not_before),
            attachment_name: None,
        })
        .collect()
}

/// Queue an e-mail. Returns whether it was new.
pub async fn email(
    conn: &mut AnyConnection,
    key: &str,
    to: &str,
    subject: &str,
    body: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<bool> {
    let msg = NewMessage {
        key: key.to_owned(),
        channel: Channel::Email,
        recipient: to.to_owned(),
        subject: Some(subject.to_owned()),
        body: body.to_owned(),
        reply_markup: None,
        priority: Priority::Bulk,
        not_before: None,
        attachment_name: None,
    };
    outbox::enqueue(conn, &msg, now).await
}

/// Queue a file for a Telegram chat (sent as a document). Returns whether it was new.
pub async fn document(
    conn: &mut AnyConnection,
    key: &str,
    chat_id: i64,
    file_name: &str,
    content: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<bool> {
    let msg = NewMessage {
        key: key.to_owned(),
        channel: Channel::Telegram,
        recipient: chat_id.to_string(),
        subject: None,
        body: content.to_owned(),
        reply_markup: None,
        priority: Priority::Interactive,
        not_before: None,
        attachment_name: Some(file_name.to_owned()),
    };
    outbox::enqueue(conn, &msg, now).await
}

/// Split at line breaks into parts of at most `max` characters; a single longer line is cut
/// at character boundaries. Never returns an empty list.
pub fn split_for_telegram(text: &str, max: usize) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut current_len = 0;
    for line in text.split_inclusive('\n') {
        let mut line = line;
        loop {
            let len = line.chars().count();
            if current_len + len <= max {
                current.push_str(line);
                current_len += len;
                break;
            }
            if current_len > 0 {
                parts.push(std::mem::take(&mut current));
                current_len = 0;
                continue;
            }
            let cut = line.char_indices().nth(max).map(|(i, _)| i).unwrap_or(line.len());
            parts.push(line[..cut].to_owned());
            line = &line[cut..];
        }
    }
    if !current.is_empty() || parts.is_empty() {
        parts.push(current);
    }
    parts.into_iter().map(|p| p.trim_end_matches('\n').to_owned()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn short_texts_stay_whole() {
        assert_eq!(split_for_telegram("一\n二", 10), ["一\n二"]);
        assert_eq!(split_for_telegram("", 10), [""]);
    }

    #[test]
    fn long_texts_split_at_line_breaks() {
        assert_eq!(split_for_telegram("aaaa\nbbbb\ncc", 6), ["aaaa", "bbbb", "cc"]);
        assert_eq!(split_for_telegram("字字字字字字字", 3), ["字字字", "字字字", "字"]);
    }

    proptest! {
        #[test]
        fn parts_fit_and_keep_every_character(text in "[a-z字\n]{0,300}", max in 1usize..50) {
            let parts = split_for_telegram(&text, max);
            for p in &parts {
                prop_assert!(p.chars().count() <= max);
            }
            let kept: String = parts.concat().chars().filter(|c| *c != '\n').collect();
            let original: String = text.chars().filter(|c| *c != '\n').collect();
            prop_assert_eq!(kept, original);
        }
    }
}
