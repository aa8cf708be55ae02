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
use crate::locale::Locale;
use crate::services::Ctx;
use crate::storage::complaints::Attachment;
use crate::storage::staff::{self as staff_store, Staff};
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

pub async fn on_message(bot: TgBot, msg: Message, upd: Update, me: Me, ctx: Ctx) -> anyhow::Result<()> {
    if !first_delivery(&ctx, &upd).await? {
        return Ok(());
    }
    crate::metrics::Metrics::inc(&ctx.metrics.updates_handled);
    handle_message_update(&bot, &msg, &upd, &me, &ctx).await;
    finished(&ctx, &upd).await
}

async fn handle_message_update(bot: &TgBot, msg: &Message, upd: &Update, me: &Me, ctx: &Ctx) {
    let Some(user) = msg.from.as_ref() else { return };
    if !msg.chat.is_private() {
        return;
    }
    let locale = Locale::from_telegram(user.language_code.as_deref(), ctx.settings.locale);
    let mut reply = Replier::new(ctx.clone(), msg.chat.id.0, upd.id.0, locale);
    let input = Input::from_message(msg);
    // PostgreSQL cannot store NUL in text: refuse the message whole rather than alter it.
    if input.text().is_some_and(|t| t.contains('\0')) {
        tracing::warn!(update = upd.id.0, "message with a NUL character refused");
        reply.template(keys::BAD_CHARACTERS, &[]).await.ok();
        return;
    }
    if let Err(error) = handle_message(ctx, bot, &mut reply, user, input, me.username()).await {
        tracing::error!(error = format!("{error:#}"), update = upd.id.0, "handling a message failed");
        reply.template(keys::INTERNAL_ERROR, &[]).await.ok();
    }
}

/// Whether this is the first time this update is handled (see `storage::updates`).
async fn first_delivery(ctx: &Ctx, upd: &Update) -> anyhow::Result<bool> {
    let first = ctx.update_io.claim_update(i64::from(upd.id.0), ctx.now()).await?;
    if !first {
        tracing::info!(update = upd.id.0, "update delivered again; already handled");
    }
    Ok(first)
}

async fn finished(ctx: &Ctx, upd: &Update) -> anyhow::Result<()> {
    ctx.update_io.finish_update(i64::from(upd.id.0), ctx.now()).await
}

pub async fn on_callback(bot: TgBot, q: CallbackQuery, upd: Update, ctx: Ctx) -> anyhow::Result<()> {
    if !first_delivery(&ctx, &upd).await? {
        return Ok(());
    }
    crate::metrics::Metrics::inc(&ctx.metrics.updates_handled);
    // Stop the button's spinner first; a failure here must not cost the person the action.
    if let Err(error) = bot.answer_callback_query(q.id.clone()).await {
        tracing::warn!(%error, "answerCallbackQuery failed");
    }
    let chat_id = q.message.as_ref().map(|m| m.chat().id.0).unwrap_or(q.from.id.0 as i64);
    let locale = Locale::from_telegram(q.from.language_code.as_deref(), ctx.settings.locale);
    let mut reply = Replier::new(ctx.clone(), chat_id, upd.id.0, locale);
    if let Err(error) = handle_callback(&ctx, &mut reply, &q.from, chat_id, q.data.as_deref().unwrap_or("")).await {
        tracing::error!(error = format!("{error:#}"), update = upd.id.0, "handling a button press failed");
        reply.template(keys::INTERNAL_ERROR, &[]).await.ok();
    }
    finished(&ctx, &upd).await
}

pub(super) fn telegram_id(user: &User) -> TelegramUserId {
    TelegramUserId(user.id.0 as i64)
}

async fn load_staff(ctx: &Ctx, user: &User) -> anyhow::Result<Option<Staff>> {
    let staff = ctx.update_io.staff(telegram_id(user)).await?;
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
    input: Input,
    bot_username: &str,
) -> anyhow::Result<()> {
    let parsed = input.text().and_then(|t| commands::parse(t, Some(bot_username)));
    let chat_id = telegram_id(user).0;
    match load_staff(ctx, user).await? {
        Some(s) if s.active => staff_message(ctx, reply, &s, chat_id, input, parsed).await,
        Some(_) => reply.template(keys::DEACTIVATED, &[]).await,
        None => customer::on_message(ctx, bot, reply, user, chat_id, input, parsed).await,
    }
}

async fn staff_message(
    ctx: &Ctx,
    reply: &mut Replier,
    staff: &Staff,
    chat_id: i64,
    input: Input,
    parsed: Option<Result<Command, ParseError>>,
) -> anyhow::Result<()> {
    match parsed {
        Some(Ok(command)) => {
            if !matches!(command, Command::Cancel) {
                clear_state(ctx, chat_id).await?;
            }
            match command {
                Command::NewComplaint
                | Command::Complaints
                | Command::Complaint(_)
                | Command::Link { .. }
                | Command::Duty(_)
                | Command::Report { .. }
                | Command::Revisit { .. } => complaints::run_command(ctx, reply, staff, chat_id, command).await,
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
                other => staff::run_command(ctx, reply, staff, chat_id, other).await,
            }
        }
        Some(Err(ParseError::Unknown(_))) => reply.template(keys::HELP_HINT, &[]).await,
        Some(Err(ParseError::Usage { command })) => reply.template(usage_key(command), &[]).await,
        None => match load_state(ctx, chat_id).await? {
            Some(State::ComplaintForm(draft)) => form::step(ctx, reply, chat_id, draft, input).await,
            Some(state) => match input {
                Input::Text(text) => match state {
                    State::NewCustomer(draft) => {
                        staff::new_customer_step(ctx, reply, staff, chat_id, draft, &text).await
                    }
                    State::PickCustomer { .. } => reply.template(keys::PICK_WITH_BUTTONS, &[]).await,
                    State::ComplaintInput { number, purpose } => {
                        complaints::text_input(
                            ctx,
                            reply,
                            crate::services::complaints::Who::Staff(staff),
                            chat_id,
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

async fn handle_callback(ctx: &Ctx, reply: &mut Replier, user: &User, chat_id: i64, data: &str) -> anyhow::Result<()> {
    let state = load_state(ctx, chat_id).await?;
    // Button data is only trusted as far as it matches what we asked this chat and what the
    // presser may do: a forged or stale button changes nothing.
    match load_staff(ctx, user).await? {
        Some(s) if s.active => match data.split_once(':') {
            Some(("tier" | "pick" | staff::LIST_BUTTON, _)) => {
                staff::on_button(ctx, reply, &s, chat_id, data, state).await
            }
            Some(("cw", rest)) => complaints::on_button(ctx, reply, &s, chat_id, rest).await,
            Some(("ar" | "ho" | "ex" | "pg", _)) => access::on_button(ctx, reply, &s, data).await,
            Some(("intake" | "form", _)) => form::on_button(ctx, reply, Some(&s), chat_id, data, state).await,
            _ => reply.template(keys::STALE_BUTTON, &[]).await,
        },
        Some(_) => reply.template(keys::DEACTIVATED, &[]).await,
        None => customer::on_button(ctx, reply, chat_id, data, state).await,
    }
}

pub(super) async fn load_state(ctx: &Ctx, chat_id: i64) -> anyhow::Result<Option<State>> {
    Ok(ctx.update_io.dialogue(chat_id).await?.and_then(|json| State::from_json(&json)))
}

pub(super) async fn save_state(ctx: &Ctx, chat_id: i64, state: &State) -> anyhow::Result<()> {
    ctx.update_io.set_dialogue(chat_id, state.to_json(), ctx.now()).await
}

pub(super) async fn clear_state(ctx: &Ctx, chat_id: i64) -> anyhow::Result<()> {
    ctx.update_io.clear_dialogue(chat_id).await
}
