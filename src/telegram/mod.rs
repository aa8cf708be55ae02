//! The Telegram side: one handler tree, a pure command parser, dialogue state kept in our
//! database, and replies that go out through the outbox like every other message.

pub mod commands;
pub mod dialogue;
pub mod handlers;
pub mod reply;
pub mod view;

use teloxide::adaptors::Throttle;
use teloxide::adaptors::throttle::{Limits, Settings as ThrottleSettings};
use teloxide::dispatching::UpdateHandler;
use teloxide::prelude::*;
use teloxide::types::BotCommand;

use crate::config::Settings;
use crate::locale::Locale;
use crate::templates::{Templates, keys};

/// The bot as the whole app uses it: Telegram's flood limits applied by teloxide's Throttle.
pub type TgBot = Throttle<Bot>;

/// Build the bot against the configured Bot API URL (tests point it at their fake server).
///
/// Throttle keeps us inside Telegram's flood limits and, on a 429, pauses all sends for the
/// `retry_after` Telegram names. It does not retry the request itself (`no_retry`): the outbox
/// row is rescheduled durably instead, so a restart during the pause loses nothing.
pub fn build_bot(settings: &Settings, token: &str) -> TgBot {
    let limits = Limits {
        messages_per_sec_chat: settings.rate_limits.messages_per_sec_chat,
        messages_per_min_chat: settings.rate_limits.messages_per_min_chat,
        messages_per_min_channel_or_supergroup: settings.rate_limits.messages_per_min_chat,
        messages_per_sec_overall: settings.rate_limits.messages_per_sec_overall,
    };
    Throttle::spawn_with_settings(
        Bot::new(token).set_api_url(settings.telegram_api_url.clone()),
        ThrottleSettings::default().limits(limits).no_retry(),
    )
}

/// The one handler tree: messages and button presses. Who may do what is decided in the
/// endpoints from the sender's staff record (see `handlers`).
pub fn schema() -> UpdateHandler<anyhow::Error> {
    dptree::entry()
        .branch(Update::filter_message().endpoint(handlers::on_message))
        .branch(Update::filter_callback_query().endpoint(handlers::on_callback))
}

/// The command menu in each locale, as `setMyCommands` receives it.
pub fn command_menu(templates: &Templates, locale: Locale) -> Vec<BotCommand> {
    [
        ("help", keys::COMMAND_HELP),
        ("customers", keys::COMMAND_CUSTOMERS),
        ("customer", keys::COMMAND_CUSTOMER),
        ("newcustomer", keys::COMMAND_NEWCUSTOMER),
        ("call", keys::COMMAND_CALL),
        ("visit", keys::COMMAND_VISIT),
        ("due", keys::COMMAND_DUE),
        ("cancel", keys::COMMAND_CANCEL),
    ]
    .into_iter()
    .map(|(command, key)| BotCommand::new(command, templates.render(locale, key, &[])))
    .collect()
}

/// Publish the menu: the default locale for everyone, English for English clients.
pub async fn publish_commands(bot: &TgBot, templates: &Templates, default: Locale) -> anyhow::Result<()> {
    bot.set_my_commands(command_menu(templates, default)).await?;
    bot.set_my_commands(command_menu(templates, Locale::En)).language_code("en").await?;
    Ok(())
}
