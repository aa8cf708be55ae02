//! One settings tree: built-in defaults, then an optional `guanxi.toml`, then the environment.
//!
//! Anything invalid is reported as a [`ConfigError`] that names the key, so an operator can
//! fix it from one line; the binary exits with code 2. Secrets (bot token, SMTP password,
//! database password) are wrapped so that `Debug` never prints them.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use chrono::NaiveTime;
use chrono_tz::Tz;
use serde::Deserialize;

use crate::domain::access::FieldLevels;
use crate::domain::cadence::CadencePolicy;
use crate::domain::complaint::ComplaintPolicy;
use crate::domain::escalation::EscalationPolicy;
use crate::domain::prc_calendar::Festival;
use crate::domain::quiet::QuietHours;
use crate::domain::tasks::{CreditPolicy, TaskPolicy};
use crate::locale::Locale;

pub const DEFAULT_API_URL: &str = "https://api.telegram.org/";
pub const DEFAULT_DATABASE_URL: &str = "sqlite://guanxi.db";

/// A value that must not be logged.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// A configuration problem, naming the key it concerns.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("configuration error: {key}: {message}")]
pub struct ConfigError {
    pub key: String,
    pub message: String,
}

impl ConfigError {
    fn new(key: &str, message: impl Into<String>) -> Self {
        Self { key: key.to_owned(), message: message.into() }
    }
}

/// How e-mail leaves: an SMTP relay, or `.eml` files in a folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailTransport {
    Smtp(SmtpSettings),
    Files(PathBuf),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// `smtps://` — TLS from the first byte.
    Implicit,
    /// `smtp://` — STARTTLS required.
    StartTls,
    /// `smtp://…?tls=none` — plain text, for a local relay.
    None,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    pub username: Option<String>,
    pub password: Option<Secret>,
}

impl SmtpSettings {
    /// `smtp://user:pass@host:port` (STARTTLS), `smtps://…` (implicit TLS) or
    /// `smtp://host:port?tls=none` (plain).
    pub fn parse(input: &str) -> Result<Self, String> {
        let url = url::Url::parse(input).map_err(|e| format!("not a URL ({e})"))?;
        let tls_param = url.query_pairs().find(|(k, _)| k == "tls").map(|(_, v)| v.into_owned());
        let (tls, default_port) = match (url.scheme(), tls_param.as_deref()) {
            ("smtps", None) => (SmtpTls::Implicit, 465),
            ("smtp", None | Some("required") | Some("starttls")) => (SmtpTls::StartTls, 587),
            ("smtp", Some("none")) => (SmtpTls::None, 25),
            (scheme, tls) => {
                return Err(format!(
                    "scheme '{scheme}' with tls={} is not supported; use smtp://, smtps:// or smtp://…?tls=none",
                    tls.unwrap_or("")
                ));
            }
        };
        let host = url.host_str().filter(|h| !h.is_empty()).ok_or("the URL has no host")?.to_owned();
        let decode = |s: &str| {
            percent_decode(s).ok_or_else(|| "user name or password is not valid percent-encoded UTF-8".to_owned())
        };
        let username = (!url.username().is_empty()).then(|| decode(url.username())).transpose()?;
        let password = url.password().map(decode).transpose()?.map(Secret::new);
        Ok(Self { host, port: url.port().unwrap_or(default_port), tls, username, password })
    }
}

fn parse_env_number(key: &str, env: &impl Fn(&str) -> Option<String>) -> Result<Option<u64>, ConfigError> {
    env(key)
        .map(|v| v.trim().parse::<u64>().map_err(|_| ConfigError::new(key, format!("'{v}' is not a whole number"))))
        .transpose()
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Telegram's flood limits, applied by the outbox worker's shared send schedule
/// (`jobs::pace`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimits {
    pub messages_per_sec_overall: u32,
    pub messages_per_sec_chat: u32,
    pub messages_per_min_chat: u32,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self { messages_per_sec_overall: 30, messages_per_sec_chat: 1, messages_per_min_chat: 20 }
    }
}

/// The resolved settings.
#[derive(Debug, Clone)]
pub struct Settings {
    pub telegram_token: Option<Secret>,
    pub telegram_api_url: url::Url,
    pub rate_limits: RateLimits,
    pub database_url: Secret,
    pub mail: MailTransport,
    pub mail_from: String,
    pub timezone: Tz,
    pub locale: Locale,
    /// Local time of the daily round (digests, escalations) on working days.
    pub daily_round_at: NaiveTime,
    /// How far ahead "coming up" looks in digests and `/due`.
    pub upcoming_days: u32,
    pub cadence: CadencePolicy,
    pub escalation: EscalationPolicy,
    /// How often the worker looks for due outbox rows when nobody wakes it.
    pub worker_poll_secs: u64,
    /// Attempts before an outbox row becomes a dead letter.
    pub max_attempts: u32,
    /// How long a worker's claim on an outbox row is exclusive.
    pub lease_secs: u64,
    /// Senders per process working the outbox side by side; `None` for as many as the
    /// Telegram rate limits call for (see [`Settings::senders`]).
    pub delivery_concurrency: Option<usize>,
    /// The secret Telegram sends with every webhook call (`--webhook` mode).
    pub webhook_secret: Option<Secret>,
    /// Deadlines and timers of the complaint procedure.
    pub complaints: ComplaintPolicy,
    /// No message to a person inside this nightly window (some are exempt).
    pub quiet_hours: QuietHours,
    pub greetings: Greetings,
    pub tasks: TaskPolicy,
    pub credit: CreditPolicy,
    pub access: AccessSettings,
    /// Prospects with no deal for this many months go on the monthly purge list (0: never).
    pub retention_months: u32,
    /// Where `GET /healthz` and `GET /metrics` listen; none when unset.
    pub http_addr: Option<std::net::SocketAddr>,
}

/// Confidentiality of card fields and how long an access grant lasts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AccessSettings {
    pub fields: FieldLevels,
    /// A grant ends at the end of the day it was approved, plus this many days.
    pub grant_days: u32,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileAccess {
    /// Field → public, internal or confidential (overrides the defaults).
    fields: Option<std::collections::BTreeMap<String, crate::domain::access::Level>>,
    grant_days: Option<u32>,
}

/// Birthday and holiday greetings.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Greetings {
    /// Local time at which greetings go out on the day.
    #[serde(with = "hh_mm")]
    pub at: NaiveTime,
    /// Reps are reminded this many days before a contact's birthday.
    pub birthday_ahead_days: u32,
    /// Holidays greeted, by key (new_year, spring_festival, qingming, labour_day,
    /// dragon_boat, mid_autumn, national_day).
    pub festivals: Vec<Festival>,
    /// Reps get their A-tier gift list this many days before a holiday.
    pub gift_days_ahead: u32,
    /// Every year on this day (MM-DD) each rep gets the full data-check list.
    pub data_check_on: String,
}

impl Default for Greetings {
    fn default() -> Self {
        Self {
            at: NaiveTime::from_hms_opt(9, 0, 0).expect("valid"),
            birthday_ahead_days: 3,
            festivals: Festival::ALL.to_vec(),
            gift_days_ahead: 7,
            data_check_on: "01-15".into(),
        }
    }
}

impl Greetings {
    /// The data-check day in `year` (29 February falls on the 28th in common years).
    pub fn data_check_date(&self, year: i32) -> Option<chrono::NaiveDate> {
        let (m, d) = self.data_check_on.split_once('-')?;
        crate::domain::birthday::Birthday::Solar { month: m.parse().ok()?, day: d.parse().ok()? }.in_year(year)
    }
}

mod hh_mm {
    use chrono::NaiveTime;
    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveTime, D::Error> {
        let s = String::deserialize(d)?;
        NaiveTime::parse_from_str(&s, "%H:%M").map_err(|_| serde::de::Error::custom(format!("'{s}' is not HH:MM")))
    }
}

/// The shape of `guanxi.toml`: every key optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    timezone: Option<String>,
    locale: Option<String>,
    telegram: Option<FileTelegram>,
    database: Option<FileDatabase>,
    email: Option<FileEmail>,
    schedule: Option<FileSchedule>,
    cadence: Option<CadencePolicy>,
    escalation: Option<EscalationPolicy>,
    delivery: Option<FileDelivery>,
    complaints: Option<ComplaintPolicy>,
    quiet_hours: Option<QuietHours>,
    greetings: Option<Greetings>,
    tasks: Option<TaskPolicy>,
    credit: Option<CreditPolicy>,
    access: Option<FileAccess>,
    retention: Option<FileRetention>,
    http: Option<FileHttp>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileHttp {
    addr: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileRetention {
    prospect_months: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileTelegram {
    token: Option<String>,
    webhook_secret: Option<String>,
    api_url: Option<String>,
    rate_limits: Option<RateLimits>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDatabase {
    url: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileEmail {
    smtp_url: Option<String>,
    from: Option<String>,
    mail_dir: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSchedule {
    daily_round_at: Option<String>,
    upcoming_days: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDelivery {
    worker_poll_secs: Option<u64>,
    max_attempts: Option<u32>,
    lease_secs: Option<u64>,
    concurrency: Option<usize>,
}

/// Most senders a process runs.
pub const MAX_SENDERS: usize = 64;

impl Settings {
    /// Senders per process: as configured, or enough to keep 150 ms of the overall rate in
    /// flight, between 4 and [`MAX_SENDERS`]. Each sender holds one claimed message until its
    /// slot comes, so the senders bound how many messages are claimed ahead, and a person's
    /// reply queued behind a bulk burst waits for at most that many slots: at Telegram's 30 a
    /// second that is 4 (about 140 ms of slots). At higher limits (a local Bot API server)
    /// more senders keep the database's group commits full: the updates bench measured 4,
    /// 16 and 64 senders at 10,000 a second (`BENCHMARKS.md`).
    pub fn senders(&self) -> usize {
        self.delivery_concurrency.unwrap_or_else(|| {
            let per_sec = usize::try_from(self.rate_limits.messages_per_sec_overall).unwrap_or(usize::MAX);
            (per_sec.saturating_mul(15) / 100).clamp(4, MAX_SENDERS)
        })
    }

    /// Load from the process environment and `config` (if given; it must then exist).
    pub fn load(config: Option<&Path>) -> Result<Self, ConfigError> {
        Self::load_with(config, |key| std::env::var(key).ok())
    }

    /// Load with an explicit environment (tests use this instead of mutating the process env).
    pub fn load_with(config: Option<&Path>, env: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let file = match config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| ConfigError::new("--config", format!("cannot read {}: {e}", path.display())))?;
                toml::from_str::<FileSettings>(&text)
                    .map_err(|e| ConfigError::new(&path.display().to_string(), e.message().to_owned()))?
            }
            None => FileSettings::default(),
        };
        let env = |key: &str| env(key).filter(|v| !v.trim().is_empty());
        let telegram = file.telegram.unwrap_or_default();
        let database = file.database.unwrap_or_default();
        let email = file.email.unwrap_or_default();
        let schedule = file.schedule.unwrap_or_default();
        let delivery = file.delivery.unwrap_or_default();

        let telegram_token = env("TELOXIDE_TOKEN").or(telegram.token).map(Secret::new);
        let webhook_secret = env("TELEGRAM_WEBHOOK_SECRET").or(telegram.webhook_secret);
        // Telegram accepts 1–256 of A–Z, a–z, 0–9, _ and - as a webhook secret.
        if let Some(secret) = &webhook_secret
            && (secret.is_empty()
                || secret.len() > 256
                || !secret.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'))
        {
            return Err(ConfigError::new(
                "TELEGRAM_WEBHOOK_SECRET",
                "use 1 to 256 characters of A-Z, a-z, 0-9, _ and - (Telegram's rule)",
            ));
        }
        let api_url_text = env("TELOXIDE_API_URL").or(telegram.api_url).unwrap_or_else(|| DEFAULT_API_URL.into());
        let telegram_api_url =
            url::Url::parse(&api_url_text).ok().filter(|u| matches!(u.scheme(), "http" | "https")).ok_or_else(
                || ConfigError::new("TELOXIDE_API_URL", format!("'{api_url_text}' is not an http(s) URL")),
            )?;

        let database_url = env("DATABASE_URL").or(database.url).unwrap_or_else(|| DEFAULT_DATABASE_URL.into());
        if crate::storage::Backend::from_url(&database_url).is_none() {
            return Err(ConfigError::new(
                "DATABASE_URL",
                format!("'{}' is neither sqlite://… nor postgres://…", crate::storage::redact_url(&database_url)),
            ));
        }

        let mail = match env("SMTP_URL").or(email.smtp_url) {
            Some(url) => MailTransport::Smtp(SmtpSettings::parse(&url).map_err(|m| ConfigError::new("SMTP_URL", m))?),
            None => MailTransport::Files(PathBuf::from(
                env("GUANXI_MAIL_DIR").or(email.mail_dir).unwrap_or_else(|| "mail".into()),
            )),
        };
        let mail_from = env("MAIL_FROM").or(email.from).unwrap_or_else(|| "Guanxi <guanxi@localhost>".into());
        if mail_from.parse::<lettre::message::Mailbox>().is_err() {
            return Err(ConfigError::new("MAIL_FROM", format!("'{mail_from}' is not a mailbox like Name <a@b.cn>")));
        }

        let tz_text = env("GUANXI_TIMEZONE").or(file.timezone).unwrap_or_else(|| "Asia/Shanghai".into());
        let timezone = Tz::from_str(&tz_text)
            .map_err(|_| ConfigError::new("GUANXI_TIMEZONE", format!("'{tz_text}' is not an IANA time zone")))?;
        let locale_text = env("GUANXI_LOCALE").or(file.locale).unwrap_or_else(|| "zh-CN".into());
        let locale = locale_text
            .parse()
            .map_err(|_| ConfigError::new("GUANXI_LOCALE", format!("'{locale_text}' is not one of zh-CN, en")))?;

        let round_env = env("GUANXI_DAILY_ROUND_AT");
        let round_key = if round_env.is_some() { "GUANXI_DAILY_ROUND_AT" } else { "schedule.daily_round_at" };
        let round_text = round_env.or(schedule.daily_round_at).unwrap_or_else(|| "09:00".into());
        let daily_round_at = NaiveTime::parse_from_str(&round_text, "%H:%M")
            .map_err(|_| ConfigError::new(round_key, format!("'{round_text}' is not HH:MM")))?;
        let upcoming_days = schedule.upcoming_days.unwrap_or(7);
        if upcoming_days > 366 {
            return Err(ConfigError::new("schedule.upcoming_days", "at most 366"));
        }
        let escalation = file.escalation.unwrap_or_default();
        for (name, ladder) in [("call", escalation.call), ("visit", escalation.visit)] {
            if ladder.director_after_days < ladder.manager_after_days {
                return Err(ConfigError::new(
                    &format!("escalation.{name}.director_after_days"),
                    "must not be less than manager_after_days",
                ));
            }
        }
        let complaints = file.complaints.unwrap_or_default();
        if [complaints.urgent_days, complaints.normal_days, complaints.complex_days].contains(&0) {
            return Err(ConfigError::new("complaints", "deadlines must be at least 1 day"));
        }
        let greetings = file.greetings.unwrap_or_default();
        if greetings.data_check_date(2027).is_none() {
            return Err(ConfigError::new(
                "greetings.data_check_on",
                format!("'{}' is not MM-DD", greetings.data_check_on),
            ));
        }
        let credit = file.credit.unwrap_or_default();
        if [credit.a_months, credit.b_months, credit.c_months].contains(&0) {
            return Err(ConfigError::new("credit", "validity must be at least 1 month"));
        }
        let file_access = file.access.unwrap_or_default();
        let access = AccessSettings {
            fields: FieldLevels::with_overrides(file_access.fields.unwrap_or_default()),
            grant_days: file_access.grant_days.unwrap_or(0),
        };
        let http_addr = match env("GUANXI_HTTP_ADDR").or(file.http.and_then(|h| h.addr)) {
            Some(text) => Some(text.parse::<std::net::SocketAddr>().map_err(|_| {
                ConfigError::new("GUANXI_HTTP_ADDR", format!("'{text}' is not an address like 127.0.0.1:9090"))
            })?),
            None => None,
        };
        let max_attempts = delivery.max_attempts.unwrap_or(8);
        if max_attempts == 0 {
            return Err(ConfigError::new("delivery.max_attempts", "must be at least 1"));
        }
        let lease_secs = parse_env_number("GUANXI_LEASE_SECS", &env)?.or(delivery.lease_secs).unwrap_or(120);
        if !(2..=86_400).contains(&lease_secs) {
            return Err(ConfigError::new("delivery.lease_secs", "must be between 2 and 86400 seconds"));
        }
        let delivery_concurrency = delivery.concurrency;
        if delivery_concurrency.is_some_and(|n| !(1..=MAX_SENDERS).contains(&n)) {
            return Err(ConfigError::new("delivery.concurrency", "must be between 1 and 64"));
        }
        let rate_limits = telegram.rate_limits.unwrap_or_default();
        if rate_limits.messages_per_sec_overall == 0 || rate_limits.messages_per_sec_chat == 0 {
            return Err(ConfigError::new("telegram.rate_limits", "limits must be at least 1"));
        }

        Ok(Self {
            telegram_token,
            telegram_api_url,
            rate_limits,
            database_url: Secret::new(database_url),
            mail,
            mail_from,
            timezone,
            locale,
            daily_round_at,
            upcoming_days,
            cadence: file.cadence.unwrap_or_default(),
            escalation,
            worker_poll_secs: delivery.worker_poll_secs.unwrap_or(5).max(1),
            max_attempts,
            lease_secs,
            delivery_concurrency,
            webhook_secret: webhook_secret.map(Secret::new),
            complaints,
            quiet_hours: file.quiet_hours.unwrap_or_default(),
            greetings,
            tasks: file.tasks.unwrap_or_default(),
            credit,
            access,
            retention_months: file.retention.and_then(|r| r.prospect_months).unwrap_or(12),
            http_addr,
        })
    }

    /// The webhook secret, or the error `run --webhook` reports without one.
    pub fn require_webhook_secret(&self) -> Result<&Secret, ConfigError> {
        self.webhook_secret.as_ref().ok_or_else(|| {
            ConfigError::new(
                "TELEGRAM_WEBHOOK_SECRET",
                "required with --webhook: Telegram sends it with every update so that nobody else can",
            )
        })
    }

    /// The bot token, or the error `run` reports without one.
    pub fn require_token(&self) -> Result<&Secret, ConfigError> {
        self.telegram_token
            .as_ref()
            .ok_or_else(|| ConfigError::new("TELOXIDE_TOKEN", "required to run the bot (get one from @BotFather)"))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn load(env: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let env: HashMap<String, String> = env.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect();
        Settings::load_with(None, |k| env.get(k).cloned())
    }

    #[test]
    fn defaults_run_embedded() {
        let s = load(&[]).unwrap();
        assert_eq!(s.database_url.expose(), "sqlite://guanxi.db");
        assert_eq!(s.mail, MailTransport::Files("mail".into()));
        assert_eq!(s.timezone, chrono_tz::Asia::Shanghai);
        assert_eq!(s.locale, Locale::ZhCn);
        assert_eq!(s.daily_round_at, NaiveTime::from_hms_opt(9, 0, 0).unwrap());
        assert!(s.telegram_token.is_none());
        assert_eq!(s.require_token().unwrap_err().key, "TELOXIDE_TOKEN");
    }

    #[test]
    fn senders_follow_the_rate_limits_unless_configured() {
        let mut s = load(&[]).unwrap();
        assert_eq!(s.senders(), 4, "Telegram's 30 a second: 4 messages claimed ahead at most");
        s.rate_limits.messages_per_sec_overall = 200;
        assert_eq!(s.senders(), 30);
        s.rate_limits.messages_per_sec_overall = 10_000;
        assert_eq!(s.senders(), MAX_SENDERS);
        s.delivery_concurrency = Some(2);
        assert_eq!(s.senders(), 2);
    }

    #[test]
    fn bad_values_name_their_key() {
        for (key, value) in [
            ("GUANXI_TIMEZONE", "Mars/Olympus"),
            ("GUANXI_LOCALE", "fr"),
            ("DATABASE_URL", "mysql://x"),
            ("SMTP_URL", "http://mail"),
            ("TELOXIDE_API_URL", "not a url"),
            ("MAIL_FROM", "nobody"),
            ("GUANXI_DAILY_ROUND_AT", "25:00"),
            ("GUANXI_HTTP_ADDR", "everywhere"),
            ("GUANXI_LEASE_SECS", "soon"),
            ("TELEGRAM_WEBHOOK_SECRET", "has spaces"),
        ] {
            assert_eq!(load(&[(key, value)]).unwrap_err().key, key, "{key}");
        }
    }

    #[test]
    fn smtp_urls_choose_their_tls() {
        let s = SmtpSettings::parse("smtp://li%40corp:p%40ss@mail.corp.cn").unwrap();
        assert_eq!((s.tls, s.port, s.username.as_deref()), (SmtpTls::StartTls, 587, Some("li@corp")));
        assert_eq!(s.password.unwrap().expose(), "p@ss");
        let s = SmtpSettings::parse("smtps://mail.corp.cn").unwrap();
        assert_eq!((s.tls, s.port), (SmtpTls::Implicit, 465));
        let s = SmtpSettings::parse("smtp://127.0.0.1:2525?tls=none").unwrap();
        assert_eq!((s.tls, s.port, s.username), (SmtpTls::None, 2525, None));
    }

    #[test]
    fn the_example_file_is_valid_and_spells_out_the_defaults() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("guanxi.example.toml");
        let from_file = Settings::load_with(Some(&path), |_| None).unwrap();
        let defaults = load(&[]).unwrap();
        assert_eq!(from_file.cadence, defaults.cadence);
        assert_eq!(from_file.escalation, defaults.escalation);
        assert_eq!(from_file.rate_limits, defaults.rate_limits);
        assert_eq!(
            (from_file.daily_round_at, from_file.upcoming_days),
            (defaults.daily_round_at, defaults.upcoming_days)
        );
        assert_eq!(from_file.mail, defaults.mail);
        assert_eq!(from_file.complaints, defaults.complaints);
        assert_eq!(from_file.quiet_hours, defaults.quiet_hours);
        assert_eq!(from_file.greetings, defaults.greetings);
        assert_eq!(from_file.tasks, defaults.tasks);
        assert_eq!(from_file.credit, defaults.credit);
    }

    #[test]
    fn secrets_do_not_show_in_debug_output() {
        let s = load(&[
            ("TELOXIDE_TOKEN", "123:SECRETTOKEN"),
            ("SMTP_URL", "smtp://u:SMTPPASS@mail.corp.cn"),
            ("DATABASE_URL", "postgres://u:DBPASS@db/crm"),
            ("TELEGRAM_WEBHOOK_SECRET", "HOOKSECRET"),
        ])
        .unwrap();
        let shown = format!("{s:?}");
        for secret in ["SECRETTOKEN", "SMTPPASS", "DBPASS", "HOOKSECRET"] {
            assert!(!shown.contains(secret), "{secret} leaked: {shown}");
        }
    }

    #[test]
    fn the_file_sets_cadence_and_the_environment_wins() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("guanxi.toml");
        std::fs::write(
            &path,
            r#"
timezone = "Europe/Berlin"
[cadence.A]
call = "3d"
visit = "1m"
[cadence.B]
call = "7d"
visit = "3m"
[cadence.C]
call = "14d"
visit = "4m"
"#,
        )
        .unwrap();
        let s = Settings::load_with(Some(&path), |k| (k == "GUANXI_TIMEZONE").then(|| "Asia/Tokyo".into())).unwrap();
        assert_eq!(s.timezone, chrono_tz::Asia::Tokyo);
        assert_eq!(s.cadence.a.call, crate::domain::cadence::Interval::Days(3));
        std::fs::write(&path, "unknown_key = 1").unwrap();
        assert!(Settings::load_with(Some(&path), |_| None).is_err());
    }
}
