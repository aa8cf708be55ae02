//! The Telegram side: one handler tree, a pure command parser, dialogue state kept in our
//! database, and replies that go out through the outbox like every other message.

mod access;
mod archive;
pub mod commands;
pub mod complaint_view;
mod complaints;
mod customer;
pub mod dialogue;
mod form;
pub mod handlers;
pub mod reply;
mod staff;
pub mod view;

use teloxide::dispatching::UpdateHandler;
use teloxide::prelude::*;
use teloxide::types::{BotCommand, BotCommandScope, Recipient};

use crate::config::Settings;
use crate::locale::Locale;
use crate::storage::staff::Staff;
use crate::templates::{Key, Templates, keys};

/// The bot as the whole app uses it. Flood limits are kept by the outbox worker's
/// shared send schedule ([`crate::jobs::pace`]), through which every message goes.
pub type TgBot = Bot;

/// Build the bot against the configured Bot API URL (tests point it at their fake server).
pub fn build_bot(settings: &Settings, token: &str) -> TgBot {
    Bot::new(token).set_api_url(settings.telegram_api_url.clone())
}

/// The one handler tree: messages and button presses. Who may do what is decided in the
/// endpoints from the sender's staff record (see `handlers`).
pub fn schema() -> UpdateHandler<anyhow::Error> {
    dptree::entry()
        .branch(Update::filter_message().endpoint(handlers::on_message))
        .branch(Update::filter_callback_query().endpoint(handlers::on_callback))
}

/// What customers (everyone who is not staff) see in the command menu.
pub fn customer_menu(templates: &Templates, locale: Locale) -> Vec<BotCommand> {
    menu(
        templates,
        locale,
        &[
            ("complain", keys::COMMAND_COMPLAIN),
            ("mycomplaints", keys::COMMAND_MYCOMPLAINTS),
            ("status", keys::COMMAND_STATUS),
            ("cancel", keys::COMMAND_CANCEL),
        ],
    )
}

/// What staff see in the command menu of their own chat.
pub fn staff_menu(templates: &Templates, locale: Locale) -> Vec<BotCommand> {
    menu(
        templates,
        locale,
        &[
            ("help", keys::COMMAND_HELP),
            ("due", keys::COMMAND_DUE),
            ("customers", keys::COMMAND_CUSTOMERS),
            ("customer", keys::COMMAND_CUSTOMER),
            ("newcustomer", keys::COMMAND_NEWCUSTOMER),
            ("call", keys::COMMAND_CALL),
            ("visit", keys::COMMAND_VISIT),
            ("info", keys::COMMAND_INFO),
            ("tier", keys::COMMAND_TIER),
            ("birthday", keys::COMMAND_BIRTHDAY),
            ("credit", keys::COMMAND_CREDIT),
            ("tasks", keys::COMMAND_TASKS),
            ("request", keys::COMMAND_REQUEST),
            ("export", keys::COMMAND_EXPORT),
            ("complaints", keys::COMMAND_COMPLAINTS),
            ("complaint", keys::COMMAND_COMPLAINT),
            ("newcomplaint", keys::COMMAND_NEWCOMPLAINT),
            ("duty", keys::COMMAND_DUTY),
            ("report", keys::COMMAND_REPORT),
            ("cancel", keys::COMMAND_CANCEL),
        ],
    )
}

fn menu(templates: &Templates, locale: Locale, items: &[(&str, Key)]) -> Vec<BotCommand> {
    items.iter().map(|(command, key)| BotCommand::new(*command, templates.render(locale, *key, &[]))).collect()
}

/// Publish the menus: the customer menu for everyone (default locale, and English for English
/// clients), and the staff menu in each active staff member's own chat.
pub async fn publish_commands(
    bot: &TgBot,
    templates: &Templates,
    default: Locale,
    staff: &[Staff],
) -> anyhow::Result<()> {
    bot.set_my_commands(customer_menu(templates, default)).await?;
    bot.set_my_commands(customer_menu(templates, Locale::En)).language_code("en").await?;
    for person in staff.iter().filter(|s| s.active) {
        publish_staff_menu(bot, templates, default, person).await?;
    }
    Ok(())
}

/// The staff menu in one person's chat (after they join, and at every start).
pub async fn publish_staff_menu(
    bot: &TgBot,
    templates: &Templates,
    default: Locale,
    person: &Staff,
) -> anyhow::Result<()> {
    let locale = person.locale.as_deref().and_then(|l| l.parse().ok()).unwrap_or(default);
    let scope = BotCommandScope::Chat { chat_id: Recipient::Id(ChatId(person.telegram_id.0)) };
    bot.set_my_commands(staff_menu(templates, locale)).scope(scope).await?;
    Ok(())
}
