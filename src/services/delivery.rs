//! What happens when a message cannot be delivered: nothing is dropped silently. A member of
//! staff who blocked the bot gets the message by e-mail instead; every dead letter is reported
//! to the administrators, and `guanxi outbox retry` puts it back once the cause is fixed.

use anyhow::Context;

use super::Ctx;
use super::directory::Directory;
use crate::notify;
use crate::storage::outbox::{Channel, Claimed, Priority};
use crate::storage::staff;
use crate::templates::keys;

/// After a row became a dead letter: e-mail fallback (for a blocked chat of staff with an
/// address) and a notice to the administrators.
pub async fn dead_letter(ctx: &Ctx, row: &Claimed, error: &str, blocked: bool) -> anyhow::Result<()> {
    let now = ctx.now();
    let mut tx = ctx.db.begin().await?;
    let mut fell_back = false;
    let blocked_chat =
        (blocked && row.channel == Channel::Telegram).then(|| row.recipient.parse::<i64>().ok()).flatten();
    if let Some(chat) = blocked_chat
        && let Some(person) =
            staff::by_telegram_id(&mut tx, crate::domain::ids::TelegramUserId(chat)).await?.filter(|p| p.active)
        && let Some(address) = person.email.as_deref()
    {
        let l = ctx.locale_of(&person);
        let subject = ctx.templates.render(l, keys::FALLBACK_SUBJECT, &[]);
        let body = ctx.templates.render(l, keys::FALLBACK_BODY, &[("name", &person.name), ("text", &row.body)]);
        fell_back = notify::email(&mut tx, &format!("fallback:{}", row.key), address, &subject, &body, now).await?;
    }
    // A notice about a notice that failed would loop: those are only logged.
    if !row.key.starts_with("dead:") && !fell_back {
        let dir = Directory::load(&mut tx).await?;
        for admin in dir.admins() {
            let text = ctx.templates.render(
                ctx.locale_of(admin),
                keys::DEAD_LETTER,
                &[("id", &row.id.to_string()), ("key", &row.key), ("recipient", &row.recipient), ("error", error)],
            );
            let key = format!("dead:{}:{}", row.id, admin.telegram_id.0);
            notify::telegram(&mut tx, &key, admin.telegram_id.0, &text, None, Priority::Bulk, now).await?;
        }
    }
    tx.commit().await.context("committing a dead letter's follow-up")?;
    ctx.wake_worker.notify_one();
    Ok(())
}
