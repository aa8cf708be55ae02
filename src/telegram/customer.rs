//! Everyone who is not staff is a customer: the customer menu, the complaint form, the status
//! of their own complaints, and their answers to a resolution and the revisit. An invitation
//! code is the only way from here to staff.

use teloxide::types::User;

use super::TgBot;
use super::commands::{Command, ParseError};
use super::complaint_view as view;
use super::dialogue::{FormDraft, InputPurpose, State};
use super::handlers::{Input, telegram_id, usage_key};
use super::reply::Replier;
use super::{complaints, form};
use crate::domain::complaint::ComplaintNo;
use crate::domain::invite::InviteProblem;
use crate::services::complaints::{self as service, ComplaintError, Who};
use crate::services::staff::StaffError;
use crate::services::{self, Ctx};
use crate::storage::complaints as store;
use crate::storage::departments;
use crate::templates::keys;

pub(super) async fn on_message(
    ctx: &Ctx,
    bot: &TgBot,
    reply: &mut Replier,
    user: &User,
    chat_id: i64,
    input: Input,
    parsed: Option<Result<Command, ParseError>>,
) -> anyhow::Result<()> {
    match parsed {
        Some(Ok(Command::Start(Some(code)))) => redeem_invite(ctx, bot, reply, user, &code).await,
        Some(Ok(Command::Cancel)) => {
            if reply.state().is_some() {
                reply.clear_state();
                reply.template(keys::CANCELLED, &[]).await
            } else {
                menu(reply).await
            }
        }
        Some(Ok(Command::Complain)) => form::start(ctx, reply, FormDraft::for_customer()).await,
        Some(Ok(Command::Status(number))) => {
            reply.clear_state();
            status(ctx, reply, chat_id, &number).await
        }
        Some(Ok(Command::MyComplaints)) => {
            reply.clear_state();
            mine(ctx, reply, chat_id).await
        }
        Some(Err(ParseError::Usage { command: "status" })) => reply.template(usage_key("status"), &[]).await,
        // Every other command (staff commands included) shows what a customer can do.
        Some(_) => menu(reply).await,
        None => match reply.state() {
            Some(State::ComplaintForm(draft)) => form::step(ctx, reply, draft, input).await,
            Some(State::ComplaintInput { number, purpose }) => match input.text() {
                Some(text) => {
                    complaints::text_input(ctx, reply, Who::Customer { chat_id }, &number, purpose, text).await
                }
                None => reply.template(keys::NOT_TEXT, &[]).await,
            },
            _ => menu(reply).await,
        },
    }
}

/// The customer menu: what this bot does for customers, with buttons.
pub(super) async fn menu(reply: &mut Replier) -> anyhow::Result<()> {
    let text = reply.render(keys::CUSTOMER_MENU, &[]);
    let keyboard = view::customer_menu(&reply.ctx().templates, reply.locale);
    reply.text(&text, Some(keyboard)).await
}

async fn redeem_invite(ctx: &Ctx, bot: &TgBot, reply: &mut Replier, user: &User, code: &str) -> anyhow::Result<()> {
    // A contact's code (for greetings) or a staff invitation: the code says which.
    match services::archive::redeem_contact_code(ctx, code, telegram_id(user).0, reply.locale).await {
        Ok(Some(contact)) => {
            tracing::info!(contact = contact.id, "contact linked to Telegram");
            return reply.template(keys::CONTACT_LINKED, &[("name", &contact.name)]).await;
        }
        Ok(None) => {}
        Err(services::archive::ArchiveError::Invite(problem)) => {
            let key = match problem {
                InviteProblem::Unknown => keys::INVITE_UNKNOWN,
                InviteProblem::AlreadyUsed => keys::INVITE_USED,
                InviteProblem::Expired => keys::INVITE_EXPIRED,
            };
            return reply.template(key, &[]).await;
        }
        Err(other) => return Err(anyhow::Error::new(other)),
    }
    match services::staff::redeem(ctx, code, telegram_id(user), &user.full_name(), ctx.now()).await {
        Ok(staff) => {
            tracing::info!(staff = staff.id.0, role = %staff.role, "invitation redeemed");
            if let Err(error) = super::publish_staff_menu(bot, &ctx.templates, ctx.settings.locale, &staff).await {
                tracing::warn!(%error, "could not publish the staff menu for a new member");
            }
            reply.clear_state();
            reply.template(keys::INVITE_WELCOME, &[("name", &staff.name), ("role", staff.role.as_str())]).await?;
            reply.template(keys::HELP_STAFF, &[]).await
        }
        Err(StaffError::Invite(problem)) => {
            tracing::warn!(?problem, user = user.id.0, "invitation refused");
            let key = match problem {
                InviteProblem::Unknown => keys::INVITE_UNKNOWN,
                InviteProblem::AlreadyUsed => keys::INVITE_USED,
                InviteProblem::Expired => keys::INVITE_EXPIRED,
            };
            reply.template(key, &[]).await
        }
        Err(StaffError::Duplicate(_)) => reply.template(keys::INVITE_ALREADY_STAFF, &[]).await,
        Err(other) => Err(anyhow::Error::new(other)),
    }
}

/// `/status <number>`: only the asker's own complaints exist for them.
async fn status(ctx: &Ctx, reply: &mut Replier, chat_id: i64, number: &str) -> anyhow::Result<()> {
    let Ok(parsed) = number.parse::<ComplaintNo>() else {
        return reply.template(keys::STATUS_NOT_FOUND, &[("number", number)]).await;
    };
    match service::load(ctx, &parsed, Who::Customer { chat_id }).await {
        Ok(c) => {
            let department = {
                let mut conn = ctx.db.pool().acquire().await?;
                match c.department.as_deref() {
                    Some(key) => departments::get(&mut conn, key).await?,
                    None => None,
                }
            };
            let text =
                view::customer_status(&ctx.templates, reply.locale, &c, department.as_ref(), |t| ctx.local_time(t));
            reply.text(&text, None).await
        }
        Err(ComplaintError::NotFound) => reply.template(keys::STATUS_NOT_FOUND, &[("number", number)]).await,
        Err(other) => Err(anyhow::anyhow!(other)),
    }
}

async fn mine(ctx: &Ctx, reply: &mut Replier, chat_id: i64) -> anyhow::Result<()> {
    let list = {
        let mut conn = ctx.db.pool().acquire().await?;
        store::by_submitter(&mut conn, chat_id, 20).await?
    };
    if list.is_empty() {
        return reply.template(keys::MY_COMPLAINTS_NONE, &[]).await;
    }
    let mut text = reply.render(keys::MY_COMPLAINTS_HEADER, &[("count", &list.len().to_string())]);
    for c in &list {
        text.push('\n');
        text.push_str(&reply.render(
            keys::MY_COMPLAINTS_LINE,
            &[
                ("number", c.number.as_str()),
                ("date", &ctx.local_date(c.received_at).to_string()),
                ("status", &view::status_label(&ctx.templates, reply.locale, c.status)),
            ],
        ));
    }
    reply.text(&text, None).await
}

/// Buttons a customer can press: the menu, the form's, and answers about their complaint.
pub(super) async fn on_button(
    ctx: &Ctx,
    reply: &mut Replier,
    chat_id: i64,
    data: &str,
    state: Option<State>,
) -> anyhow::Result<()> {
    match data.split_once(':') {
        Some(("menu", "complain")) => form::start(ctx, reply, FormDraft::for_customer()).await,
        Some(("menu", "mine")) => mine(ctx, reply, chat_id).await,
        Some(("form", _)) => form::on_button(ctx, reply, None, chat_id, data, state).await,
        Some(("cc", rest)) => {
            let Some((number, action)) = rest.rsplit_once(':') else {
                return reply.template(keys::STALE_BUTTON, &[]).await;
            };
            let Ok(number) = number.parse::<ComplaintNo>() else {
                return reply.template(keys::STALE_BUTTON, &[]).await;
            };
            let who = Who::Customer { chat_id };
            // Never confirm that someone else's complaint exists.
            if service::load(ctx, &number, who).await.is_err() {
                return reply.template(keys::STALE_BUTTON, &[]).await;
            }
            match action {
                "yes" => complaints::perform_and_confirm(
                    ctx,
                    reply,
                    who,
                    &number,
                    crate::domain::complaint::Step::CustomerAccepts,
                    false,
                )
                .await
                .map(drop),
                "no" => complaints::ask_text(reply, &number, InputPurpose::RefusalReason).await,
                rate if rate.starts_with("rate") => match rate[4..].parse::<u8>() {
                    Ok(rating @ 1..=5) => {
                        complaints::ask_text(reply, &number, InputPurpose::RevisitComment { rating }).await
                    }
                    _ => reply.template(keys::STALE_BUTTON, &[]).await,
                },
                _ => reply.template(keys::STALE_BUTTON, &[]).await,
            }
        }
        _ => menu(reply).await,
    }
}
