//! Endpoints: identify the sender, parse, route, reply.
//!
//! Every message gets an answer. Staff are recognised by their Telegram id; everyone else is
//! treated as a customer and only reaches the customer menu (complaints, their own status) or
//! an invitation code — the staff lookup comes before anything that could show staff data.

use teloxide::prelude::*;
use teloxide::types::{Me, User};

use super::TgBot;
use super::commands::{self, Command, ParseError};
use super::dialogue::State;
use super::reply::Replier;
use super::{access, archive, complaints, customer, form, staff};
use crate::domain::ids::TelegramUserId;
use crate::jobs::worker::Worker;
use crate::locale::Locale;
use crate::services::Ctx;
use crate::storage::complaints::Attachment;
use crate::storage::staff::{self as staff_store, Staff};
use crate::storage::update_io::{Begun, Opening};
use crate::templates::{Key, keys};

/// What a message carries, as far as the bot cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Text(String),
    /// A photo or document, kept by Telegram `file_id`.
    File(Attachment),
    Unsupported,
}

impl Input {
    fn from_message(msg: &Message) -> Self {
        if let Some(text) = msg.text() {
            return Self::Text(text.to_owned());
        }
        if let Some(photo) = msg.photo().and_then(|sizes| sizes.iter().max_by_key(|p| p.width * p.height)) {
            return Self::File(Attachment { kind: "photo".into(), file_id: photo.file.id.0.clone(), file_name: None });
        }
        if let Some(doc) = msg.document() {
            return Self::File(Attachment {
                kind: "document".into(),
                file_id: doc.file.id.0.clone(),
                file_name: doc.file_name.clone(),
            });
        }
        Self::Unsupported
    }

    pub fn text(&self) -> Option<&str> {
        match self {
            Self::Text(t) => Some(t),
            _ => None,
        }
    }
}

/// `worker`: sends the update's first reply right after it is stored (see `Replier::finish`).
pub async fn on_message(bot: TgBot, msg: Message, upd: Update, me: Me, ctx: Ctx, worker: Worker) -> anyhow::Result<()> {
    // Only private chats are answered; other messages are only marked as seen.
    let sender = msg.from.as_ref().filter(|_| msg.chat.is_private());
    let Some(begun) = first_delivery(&ctx, &upd, sender, msg.chat.id.0).await? else {
        return Ok(());
    };
    crate::metrics::Metrics::inc(&ctx.metrics.updates_handled);
    let language = sender.and_then(|user| user.language_code.as_deref());
    let locale = Locale::from_telegram(language, ctx.settings.locale);
    let mut reply = Replier::new(ctx.clone(), msg.chat.id.0, upd.id.0, locale, begun.dialogue);
    if let Some(user) = sender {
        handle_message_update(&bot, &msg, &me, &ctx, user, begun.staff, &mut reply).await;
    }
    reply.finish(&worker).await
}

async fn handle_message_update(
    bot: &TgBot,
    msg: &Message,
    me: &Me,
    ctx: &Ctx,
    user: &User,
    staff: Option<Staff>,
    reply: &mut Replier,
) {
    let input = Input::from_message(msg);
    // PostgreSQL cannot store NUL in text: refuse the message whole rather than alter it.
    if input.text().is_some_and(|t| t.contains('\0')) {
        tracing::warn!(update = reply.update_id(), "message with a NUL character refused");
        reply.template(keys::BAD_CHARACTERS, &[]).await.ok();
        return;
    }
    if let Err(error) = handle_message(ctx, bot, reply, user, staff, input, me.username()).await {
        tracing::error!(error = format!("{error:#}"), update = reply.update_id(), "handling a message failed");
        reply.template(keys::INTERNAL_ERROR, &[]).await.ok();
    }
}

/// Claim the update and read what handling it starts from (see `storage::update_io`);
/// `None` when it was handled before or is being handled. `sender`: who is to be answered,
/// in `chat`.
async fn first_delivery(ctx: &Ctx, upd: &Update, sender: Option<&User>, chat: i64) -> anyhow::Result<Option<Begun>> {
    let opening = Opening {
        update_id: i64::from(upd.id.0),
        now: ctx.now(),
        sender: sender.map(telegram_id),
        chat: sender.map(|_| chat),
    };
    let begun = ctx.update_io.begin(opening).await?;
    if begun.is_none() {
        tracing::info!(update = upd.id.0, "update delivered again; already handled");
    }
    Ok(begun)
}

pub async fn on_callback(bot: TgBot, q: CallbackQuery, upd: Update, ctx: Ctx, worker: Worker) -> anyhow::Result<()> {
    let chat_id = q.message.as_ref().map(|m| m.chat().id.0).unwrap_or(q.from.id.0 as i64);
    let Some(begun) = first_delivery(&ctx, &upd, Some(&q.from), chat_id).await? else {
        return Ok(());
    };
    crate::metrics::Metrics::inc(&ctx.metrics.updates_handled);
    // Stop the button's spinner first; a failure here must not cost the person the action.
    if let Err(error) = bot.answer_callback_query(q.id.clone()).await {
        tracing::warn!(%error, "answerCallbackQuery failed");
    }
    let locale = Locale::from_telegram(q.from.language_code.as_deref(), ctx.settings.locale);
    let mut reply = Replier::new(ctx.clone(), chat_id, upd.id.0, locale, begun.dialogue);
    let data = q.data.as_deref().unwrap_or("");
    if let Err(error) = handle_callback(&ctx, &mut reply, &q.from, begun.staff, chat_id, data).await {
        tracing::error!(error = format!("{error:#}"), update = upd.id.0, "handling a button press failed");
        reply.template(keys::INTERNAL_ERROR, &[]).await.ok();
    }
    reply.finish(&worker).await
}

pub(super) fn telegram_id(user: &User) -> TelegramUserId {
    TelegramUserId(user.id.0 as i64)
}

/// The sender's staff record (read with the update's claim), its language brought up to date.
async fn with_current_locale(ctx: &Ctx, user: &User, staff: Option<Staff>) -> anyhow::Result<Option<Staff>> {
    if let (Some(s), Some(code)) = (&staff, user.language_code.as_deref()) {
        // Only when it changed: a write on every staff message would queue behind the others.
        let locale = Locale::from_telegram(Some(code), ctx.settings.locale).as_str();
        if s.locale.as_deref() != Some(locale) {
            let mut conn = ctx.db.pool().acquire().await?;
            staff_store::set_locale(&mut conn, s.id, locale).await?;
        }
    }
    Ok(staff)
}

async fn handle_message(
    ctx: &Ctx,
    bot: &TgBot,
    reply: &mut Replier,
    user: &User,
    staff: Option<Staff>,
    input: Input,
    bot_username: &str,
) -> anyhow::Result<()> {
    let parsed = input.text().and_then(|t| commands::parse(t, Some(bot_username)));
    let chat_id = telegram_id(user).0;
    match with_current_locale(ctx, user, staff).await? {
        Some(s) if s.active => staff_message(ctx, reply, &s, input, parsed).await,
        Some(_) => reply.template(keys::DEACTIVATED, &[]).await,
        None => customer::on_message(ctx, bot, reply, user, chat_id, input, parsed).await,
    }
}

async fn staff_message(
    ctx: &Ctx,
    reply: &mut Replier,
    staff: &Staff,
    input: Input,
    parsed: Option<Result<Command, ParseError>>,
) -> anyhow::Result<()> {
    match parsed {
        Some(Ok(command)) => {
            if !matches!(command, Command::Cancel) {
                reply.clear_state();
            }
            match command {
                Command::NewComplaint
                | Command::Complaints
                | Command::Complaint(_)
                | Command::Link { .. }
                | Command::Duty(_)
                | Command::Report { .. }
                | Command::Revisit { .. } => complaints::run_command(ctx, reply, staff, command).await,
                Command::Info { .. }
                | Command::Tier { .. }
                | Command::Tasks
                | Command::Done { .. }
                | Command::Credit { .. }
                | Command::Birthday { .. }
                | Command::ContactCode { .. } => archive::run_command(ctx, reply, staff, command).await,
                Command::Request { .. }
                | Command::Audit(_)
                | Command::Handover { .. }
                | Command::Export { .. }
                | Command::Deal(_) => access::run_command(ctx, reply, staff, command).await,
                // Customers' commands mean nothing from staff.
                Command::Complain | Command::Status(_) | Command::MyComplaints => {
                    reply.template(keys::HELP_HINT, &[]).await
                }
                other => staff::run_command(ctx, reply, staff, other).await,
            }
        }
        Some(Err(ParseError::Unknown(_))) => reply.template(keys::HELP_HINT, &[]).await,
        Some(Err(ParseError::Usage { command })) => reply.template(usage_key(command), &[]).await,
        None => match reply.state() {
            Some(State::ComplaintForm(draft)) => form::step(ctx, reply, draft, input).await,
            Some(state) => match input {
                Input::Text(text) => match state {
                    State::NewCustomer(draft) => staff::new_customer_step(ctx, reply, staff, draft, &text).await,
                    State::PickCustomer { .. } => reply.template(keys::PICK_WITH_BUTTONS, &[]).await,
                    State::ComplaintInput { number, purpose } => {
                        complaints::text_input(
                            ctx,
                            reply,
                            crate::services::complaints::Who::Staff(staff),
                            &number,
                            purpose,
                            &text,
                        )
                        .await
                    }
                    State::ComplaintForm(_) => unreachable!("handled above"),
                },
                _ => reply.template(keys::NOT_TEXT, &[]).await,
            },
            None if input.text().is_some() => reply.template(keys::HELP_HINT, &[]).await,
            None => reply.template(keys::NOT_TEXT, &[]).await,
        },
    }
}

pub(super) fn usage_key(command: &str) -> Key {
    match command {
        "call" => keys::USAGE_CALL,
        "visit" => keys::USAGE_VISIT,
        "status" => keys::USAGE_STATUS,
        "complaint" => keys::USAGE_COMPLAINT,
        "link" => keys::USAGE_LINK,
        "duty" => keys::USAGE_DUTY,
        "report" => keys::USAGE_REPORT,
        "revisit" => keys::USAGE_REVISIT,
        "info" => keys::USAGE_INFO,
        "tier" => keys::USAGE_TIER,
        "done" => keys::USAGE_DONE,
        "credit" => keys::USAGE_CREDIT,
        "birthday" => keys::USAGE_BIRTHDAY,
        "contactcode" => keys::USAGE_CONTACTCODE,
        "request" => keys::USAGE_REQUEST,
        "audit" => keys::USAGE_AUDIT,
        "handover" => keys::USAGE_HANDOVER,
        "export" => keys::USAGE_EXPORT,
        "deal" => keys::USAGE_DEAL,
        _ => keys::USAGE_CUSTOMER,
    }
}

async fn handle_callback(
    ctx: &Ctx,
    reply: &mut Replier,
    user: &User,
    staff: Option<Staff>,
    chat_id: i64,
    data: &str,
) -> anyhow::Result<()> {
    let state = reply.state();
    // Button data is only trusted as far as it matches what we asked this chat and what the
    // presser may do: a forged or stale button changes nothing.
    match with_current_locale(ctx, user, staff).await? {
        Some(s) if s.active => match data.split_once(':') {
            Some(("tier" | "pick" | staff::LIST_BUTTON, _)) => staff::on_button(ctx, reply, &s, data, state).await,
            Some(("cw", rest)) => complaints::on_button(ctx, reply, &s, rest).await,
            Some(("ar" | "ho" | "ex" | "pg", _)) => access::on_button(ctx, reply, &s, data).await,
            Some(("intake" | "form", _)) => form::on_button(ctx, reply, Some(&s), chat_id, data, state).await,
            _ => reply.template(keys::STALE_BUTTON, &[]).await,
        },
        Some(_) => reply.template(keys::DEACTIVATED, &[]).await,
        None => customer::on_button(ctx, reply, chat_id, data, state).await,
    }
}
