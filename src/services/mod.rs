//! Application services: load, ask the domain, persist (and queue what must be said) in one
//! transaction. The bot handlers, the CLI and the jobs all go through here, so there is one
//! path for each change.

pub mod access;
pub mod archive;
pub mod calendar;
pub mod complaints;
pub mod customers;
pub mod delivery;
pub(crate) mod directory;
pub mod exports;
pub mod import;
pub mod intake;
pub mod retention;
pub mod staff;

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use tokio::sync::Notify;

use crate::clock::Clock;
use crate::config::Settings;
use crate::storage::Db;
use crate::templates::Templates;

/// What every service needs, cheap to clone.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub db: Db,
    pub settings: Arc<Settings>,
    pub templates: Arc<Templates>,
    pub clock: Arc<dyn Clock>,
    /// Wakes the outbox worker when a person is waiting for a reply.
    pub wake_worker: Arc<Notify>,
    pub metrics: Arc<crate::metrics::Metrics>,
    /// The statements of every update, group-committed (see `storage::update_io`).
    pub update_io: crate::storage::update_io::UpdateIo,
    /// The outbox worker's statements, group-committed (see `storage::delivery_io`).
    pub delivery_io: crate::storage::delivery_io::DeliveryIo,
    /// New complaints, group-committed (see `services::intake`).
    pub intake: intake::IntakeIo,
}

impl Ctx {
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// The local calendar date of an instant, in the company's time zone.
    pub fn local_date(&self, t: DateTime<Utc>) -> NaiveDate {
        t.with_timezone(&self.settings.timezone).date_naive()
    }

    /// The language to write to a member of staff in: what their Telegram client last said,
    /// or the company default.
    pub fn locale_of(&self, staff: &crate::storage::staff::Staff) -> crate::locale::Locale {
        stored_locale(staff.locale.as_deref(), &self.settings)
    }

    /// When a message to a person may go out: now, or the end of quiet hours.
    pub fn polite_time(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        self.settings.quiet_hours.next_allowed(now, &self.settings.timezone)
    }

    /// Queue a reminder to a person: bulk priority, held back by quiet hours.
    pub async fn remind(
        &self,
        conn: &mut sqlx::AnyConnection,
        key: &str,
        chat_id: i64,
        text: &str,
        now: DateTime<Utc>,
    ) -> anyhow::Result<usize> {
        let at = self.polite_time(now);
        crate::notify::telegram_at(conn, key, chat_id, text, None, crate::storage::outbox::Priority::Bulk, now, at)
            .await
    }

    /// An instant as people read it: local `YYYY-MM-DD HH:MM`.
    pub fn local_time(&self, t: DateTime<Utc>) -> String {
        t.with_timezone(&self.settings.timezone).format("%Y-%m-%d %H:%M").to_string()
    }
}

/// A stored language (a member of staff's, a complaint's submitter's), or the company default
/// when none is stored or it is not one we speak.
pub(crate) fn stored_locale(stored: Option<&str>, settings: &Settings) -> crate::locale::Locale {
    stored.and_then(|l| l.parse().ok()).unwrap_or(settings.locale)
}
