//! The command line. Exit codes: 0 ok, 2 bad input or configuration, 1 anything else.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand};

use crate::clock::{Clock, FixedClock, SystemClock};
use crate::config::{ConfigError, Settings};
use crate::domain::ids::TelegramUserId;
use crate::domain::report::Period;
use crate::domain::staff::Role;
use crate::email::Mailer;
use crate::jobs::{planner, worker::Worker};
use crate::services::import::ImportError;
use crate::services::staff::StaffError;
use crate::services::{self, Ctx};
use crate::startup;
use crate::storage::{outbox, staff as staff_store};
use crate::telegram;

#[derive(Debug, Parser)]
#[command(name = "guanxi", version, about = "Customer-relationship procedures as a Telegram bot and a scheduler")]
pub struct Cli {
    /// Settings file (TOML); environment variables override it.
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the bot, the scheduler and the outbox worker (the default).
    Run {
        /// Receive updates by webhook at this public https URL instead of long polling (needed
        /// for several instances; set TELEGRAM_WEBHOOK_SECRET).
        #[arg(long, value_name = "URL", requires = "listen")]
        webhook: Option<url::Url>,
        /// The local address the webhook listens on, e.g. 0.0.0.0:8443.
        #[arg(long, value_name = "ADDR", requires = "webhook")]
        listen: Option<std::net::SocketAddr>,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Run the planner and the worker once as of an instant, then exit.
    Tick {
        /// The instant to plan for (RFC 3339); default now.
        #[arg(long, value_parser = parse_instant)]
        now: Option<DateTime<Utc>>,
        /// Print what would be sent; send and store nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Manage staff.
    #[command(subcommand)]
    Staff(StaffCommand),
    /// Import or export the customer archive.
    #[command(subcommand)]
    Customers(CustomersCommand),
    /// The on-duty roster for complaints.
    #[command(subcommand)]
    Duty(DutyCommand),
    /// Departments that complaints are assigned to, and their heads.
    #[command(subcommand)]
    Departments(DepartmentsCommand),
    /// Reports.
    #[command(subcommand)]
    Report(ReportCommand),
    /// The PRC working calendar: statutory holidays and make-up working days.
    #[command(subcommand)]
    Holidays(HolidaysCommand),
    /// The outbox: list messages, resend dead letters.
    #[command(subcommand)]
    Outbox(OutboxCommand),
    /// Who read a customer's data (the append-only access log).
    Audit {
        /// Archive number or name.
        #[arg(long)]
        customer: String,
        /// From this local date (YYYY-MM-DD); default a year back.
        #[arg(long)]
        since: Option<chrono::NaiveDate>,
    },
}

#[derive(Debug, Subcommand)]
pub enum OutboxCommand {
    /// Messages in a status (pending, sending, sent, dead), oldest first; all without --status.
    List {
        #[arg(long)]
        status: Option<String>,
    },
    /// Put dead letters back in the queue (after fixing the cause).
    Retry {
        /// Row ids; with --all-dead, every dead letter.
        ids: Vec<i64>,
        #[arg(long)]
        all_dead: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum HolidaysCommand {
    /// Load an official schedule: CSV `date,name,kind` (kind: off or workday); each year in the
    /// file replaces what was stored for it.
    Import { file: PathBuf },
    /// The days off and make-up working days of a year.
    List {
        #[arg(long)]
        year: i32,
    },
}

#[derive(Debug, Subcommand)]
pub enum DutyCommand {
    /// Put someone on duty for a shift.
    Set {
        #[arg(long)]
        telegram_id: i64,
        /// Shift start (RFC 3339); default now.
        #[arg(long, value_parser = parse_instant)]
        from: Option<DateTime<Utc>>,
        /// Shift end (RFC 3339).
        #[arg(long, value_parser = parse_instant)]
        until: DateTime<Utc>,
    },
    /// Who is on duty at an instant (default now).
    List {
        #[arg(long, value_parser = parse_instant)]
        at: Option<DateTime<Utc>>,
    },
}

#[derive(Debug, Subcommand)]
pub enum DepartmentsCommand {
    List,
    /// Create or change a department; `service` is customer service (its head is the service manager).
    Set {
        key: String,
        /// The head's Telegram id.
        #[arg(long)]
        head: Option<i64>,
        #[arg(long)]
        name_zh: Option<String>,
        #[arg(long)]
        name_en: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Complaint statistics (客户投诉统计表) for a month, quarter or year.
    Complaints {
        /// 2026-11, 2026-Q4 or 2026.
        #[arg(long, value_parser = parse_period)]
        period: Period,
        #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
        format: ReportFormat,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    Text,
    Csv,
}

fn parse_period(s: &str) -> Result<Period, String> {
    s.parse().map_err(|()| format!("'{s}' is not a period like 2026-11, 2026-Q4 or 2026"))
}

#[derive(Debug, Subcommand)]
pub enum StaffCommand {
    /// Register someone directly (e.g. the first admin).
    Add {
        #[arg(long)]
        telegram_id: i64,
        #[arg(long)]
        name: String,
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// The manager's Telegram id (the escalation chain).
        #[arg(long)]
        manager: Option<i64>,
        #[arg(long)]
        email: Option<String>,
    },
    /// Print a one-time code (valid 7 days) that registers whoever sends `/start CODE`.
    Invite {
        #[arg(long, value_parser = parse_role)]
        role: Role,
        #[arg(long)]
        manager: Option<i64>,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        email: Option<String>,
    },
    /// List staff.
    List,
    /// Stop someone using any staff command (after a handover, when they leave).
    Deactivate {
        #[arg(long)]
        telegram_id: i64,
    },
}

#[derive(Debug, Subcommand)]
pub enum CustomersCommand {
    /// Import customers from CSV (all rows or none).
    Import { file: PathBuf },
    /// Write, as CSV on standard output, the customers a member of staff may read (logged as
    /// their read; A-tier customers need the two-approval export and are left out).
    Export {
        /// The Telegram id of the member of staff the export is for.
        #[arg(long = "as", value_name = "TELEGRAM_ID")]
        as_staff: i64,
    },
}

fn parse_instant(s: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.to_utc())
        .map_err(|e| format!("'{s}' is not an RFC 3339 instant like 2026-11-25T09:00:00+08:00 ({e})"))
}

fn parse_role(s: &str) -> Result<Role, String> {
    s.parse().map_err(|()| format!("'{s}' is not one of rep, service, manager, director, admin"))
}

/// An error with the exit code it deserves.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{0}")]
    BadInput(String),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl CliError {
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Self::BadInput(_) | Self::Config(_) => ExitCode::from(2),
            Self::Other(_) => ExitCode::from(1),
        }
    }
}

impl From<StaffError> for CliError {
    fn from(e: StaffError) -> Self {
        match e {
            StaffError::Other(e) => Self::Other(e),
            other => Self::BadInput(other.to_string()),
        }
    }
}

impl From<ImportError> for CliError {
    fn from(e: ImportError) -> Self {
        match e {
            ImportError::Other(e) => Self::Other(e),
            other => Self::BadInput(other.to_string()),
        }
    }
}

/// Run a parsed command line, printing errors; returns the process exit code.
pub async fn main(cli: Cli) -> ExitCode {
    match dispatch(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            match &error {
                CliError::Other(e) => eprintln!("error: {e:#}"),
                other => eprintln!("error: {other}"),
            }
            error.exit_code()
        }
    }
}

async fn dispatch(cli: Cli) -> Result<(), CliError> {
    let settings = Settings::load(cli.config.as_deref())?;
    let command = cli.command.unwrap_or(Command::Run { webhook: None, listen: None });
    if let Command::Run { webhook, .. } = &command {
        settings.require_token()?;
        if webhook.is_some() {
            settings.require_webhook_secret()?;
        }
    }
    let clock: Arc<dyn Clock> = match &command {
        Command::Tick { now: Some(now), .. } => Arc::new(FixedClock(*now)),
        _ => Arc::new(SystemClock),
    };
    let ctx = startup::build_context(settings, clock).await?;
    let result = match command {
        Command::Run { webhook, listen } => {
            let updates = match (webhook, listen) {
                (Some(public_url), Some(listen)) => startup::Updates::Webhook { public_url, listen },
                _ => startup::Updates::LongPolling,
            };
            startup::run(ctx.clone(), updates).await.map_err(CliError::from)
        }
        Command::Migrate => {
            println!("migrations applied");
            Ok(())
        }
        Command::Tick { dry_run: true, .. } => dry_run(&ctx).await,
        Command::Tick { dry_run: false, .. } => tick(&ctx).await,
        Command::Staff(command) => staff(&ctx, command).await,
        Command::Customers(CustomersCommand::Import { file }) => {
            let input = std::fs::File::open(&file)
                .map_err(|e| CliError::BadInput(format!("cannot open {}: {e}", file.display())))?;
            let created = services::import::import_csv(&ctx, std::io::BufReader::new(input)).await?;
            println!("imported {created} customers");
            Ok(())
        }
        Command::Customers(CustomersCommand::Export { as_staff }) => {
            let staff = staff_by_telegram(&ctx, as_staff).await?;
            let stdout = std::io::stdout();
            let done = services::import::export_csv(&ctx, &staff, stdout.lock()).await?;
            if done.a_tier_left_out > 0 {
                eprintln!("{} A-tier customers left out: exporting them needs two approvals", done.a_tier_left_out);
            }
            Ok(())
        }
        Command::Duty(command) => duty(&ctx, command).await,
        Command::Audit { customer, since } => audit(&ctx, &customer, since).await,
        Command::Outbox(command) => outbox_command(&ctx, command).await,
        Command::Holidays(HolidaysCommand::Import { file }) => {
            let input = std::fs::File::open(&file)
                .map_err(|e| CliError::BadInput(format!("cannot open {}: {e}", file.display())))?;
            let days = services::calendar::import(&ctx, std::io::BufReader::new(input)).await?;
            println!("imported {days} days");
            Ok(())
        }
        Command::Holidays(HolidaysCommand::List { year }) => {
            if !(1900..=2200).contains(&year) {
                return Err(CliError::BadInput(format!("--year {year} is out of range")));
            }
            let mut tx = ctx.db.begin().await?;
            services::calendar::ensure_years(&mut tx, year..=year).await?;
            let days = crate::storage::holidays::year(&mut tx, year).await?;
            tx.commit().await.context("committing the calendar")?;
            println!("date\tkind\tname\tfestival\testimated");
            for d in days {
                let kind = match d.kind {
                    crate::domain::calendar::DayKind::Off => "off",
                    crate::domain::calendar::DayKind::Working => "workday",
                };
                let festival = d.festival.map(|f| f.key()).unwrap_or("");
                println!("{}\t{kind}\t{}\t{festival}\t{}", d.date, d.name, if d.estimated { "yes" } else { "no" });
            }
            Ok(())
        }
        Command::Departments(command) => departments(&ctx, command).await,
        Command::Report(ReportCommand::Complaints { period, format }) => {
            let (stats, all) = services::complaints::report(&ctx, period).await?;
            let text = match format {
                ReportFormat::Text => {
                    crate::render::complaint_report(&ctx.templates, ctx.settings.locale, period, &stats, &all)
                }
                ReportFormat::Csv => crate::render::complaint_report_csv(period, &stats)?,
            };
            println!("{}", text.trim_end());
            Ok(())
        }
    };
    ctx.db.close().await;
    result
}

async fn tick(ctx: &Ctx) -> Result<(), CliError> {
    let now = ctx.now();
    let token = ctx.settings.require_token()?.expose().to_owned();
    let report = planner::plan(ctx, now).await?;
    let bot = telegram::build_bot(&ctx.settings, &token);
    let mailer = Mailer::new(&ctx.settings.mail, &ctx.settings.mail_from)?;
    let sent = Worker::new(ctx.clone(), bot, mailer).run_until_empty(now).await?;
    println!(
        "planned as of {now}: {} digests, {} escalated items in {} e-mails; delivered {sent}",
        report.digests, report.escalated_items, report.escalation_emails
    );
    Ok(())
}

/// Plan inside a transaction, show what would go out, roll everything back.
async fn dry_run(ctx: &Ctx) -> Result<(), CliError> {
    let now = ctx.now();
    let mut tx = ctx.db.begin().await?;
    let report = planner::plan_in(ctx, &mut tx, now).await?;
    let rows = outbox::list(&mut tx, Some("pending")).await?;
    tx.rollback().await.context("rolling back the dry run")?;
    let due: Vec<_> = rows.into_iter().filter(|r| r.next_attempt() <= now).collect();
    let mut out = std::io::stdout().lock();
    writeln!(out, "dry run as of {now}: {} messages would be sent", due.len()).context("writing")?;
    for row in &due {
        let subject = row.subject.as_deref().map(|s| format!(" [{s}]")).unwrap_or_default();
        writeln!(out, "--- {} to {}{subject} (key {})", row.channel, row.recipient, row.idem_key).context("writing")?;
        writeln!(out, "{}", row.body).context("writing")?;
    }
    writeln!(
        out,
        "({} digests and {} escalation e-mails planned now; nothing was stored or sent)",
        report.digests, report.escalation_emails
    )
    .context("writing")?;
    Ok(())
}

async fn staff(ctx: &Ctx, command: StaffCommand) -> Result<(), CliError> {
    match command {
        StaffCommand::Add { telegram_id, name, role, manager, email } => {
            if name.trim().is_empty() {
                return Err(CliError::BadInput("--name must not be empty".into()));
            }
            let email = check_email(email)?;
            let s =
                services::staff::add(ctx, TelegramUserId(telegram_id), &name, role, manager.map(TelegramUserId), email)
                    .await?;
            println!("registered {} ({}) as {} with Telegram id {}", s.name, s.id.0, s.role, s.telegram_id.0);
        }
        StaffCommand::Invite { role, manager, name, email } => {
            let email = check_email(email)?;
            let invite = services::staff::invite(ctx, role, manager.map(TelegramUserId), name, email).await?;
            println!("{}", invite.code);
            eprintln!("valid for 7 days: the new {role} sends /start {} to the bot", invite.code);
        }
        StaffCommand::Deactivate { telegram_id } => {
            let staff = staff_by_telegram(ctx, telegram_id).await?;
            let mut conn = ctx.db.pool().acquire().await.context("connecting")?;
            crate::storage::access::deactivate(&mut conn, staff.id).await?;
            println!("{} can no longer use staff commands", staff.name);
        }
        StaffCommand::List => {
            let mut conn = ctx.db.pool().acquire().await.context("connecting")?;
            let all = staff_store::list(&mut conn).await?;
            let by_id: std::collections::HashMap<_, _> = all.iter().map(|s| (s.id, s.telegram_id.0)).collect();
            println!("telegram_id\trole\tname\tmanager_telegram_id\temail\tactive");
            for s in &all {
                let manager = s.manager.and_then(|m| by_id.get(&m)).map(|t| t.to_string()).unwrap_or_default();
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    s.telegram_id.0,
                    s.role,
                    s.name,
                    manager,
                    s.email.as_deref().unwrap_or(""),
                    if s.active { "yes" } else { "no" }
                );
            }
        }
    }
    Ok(())
}

fn check_email(email: Option<String>) -> Result<Option<String>, CliError> {
    email
        .map(|e| {
            crate::domain::customer::EmailAddress::parse(&e)
                .map(|a| a.as_str().to_owned())
                .map_err(|_| CliError::BadInput(format!("--email: '{e}' is not an e-mail address")))
        })
        .transpose()
}

async fn staff_by_telegram(ctx: &Ctx, telegram_id: i64) -> Result<crate::storage::staff::Staff, CliError> {
    let mut conn = ctx.db.pool().acquire().await.context("connecting")?;
    staff_store::by_telegram_id(&mut conn, TelegramUserId(telegram_id))
        .await?
        .filter(|s| s.active)
        .ok_or_else(|| CliError::BadInput(format!("no active staff member has Telegram id {telegram_id}")))
}

async fn duty(ctx: &Ctx, command: DutyCommand) -> Result<(), CliError> {
    match command {
        DutyCommand::Set { telegram_id, from, until } => {
            let staff = staff_by_telegram(ctx, telegram_id).await?;
            let from = from.unwrap_or_else(|| ctx.now());
            if until <= from {
                return Err(CliError::BadInput("--until must be after --from".into()));
            }
            let mut conn = ctx.db.pool().acquire().await.context("connecting")?;
            crate::storage::duty::add(&mut conn, staff.id, from, until, ctx.now()).await?;
            println!("{} is on duty from {} to {}", staff.name, ctx.local_time(from), ctx.local_time(until));
        }
        DutyCommand::List { at } => {
            let at = at.unwrap_or_else(|| ctx.now());
            let mut conn = ctx.db.pool().acquire().await.context("connecting")?;
            let everyone = staff_store::list(&mut conn).await?;
            for (id, until) in crate::storage::duty::on_duty(&mut conn, at).await? {
                if let Some(s) = everyone.iter().find(|s| s.id == id) {
                    println!("{}\t{}\t{}", s.telegram_id.0, s.name, ctx.local_time(until));
                }
            }
        }
    }
    Ok(())
}

async fn departments(ctx: &Ctx, command: DepartmentsCommand) -> Result<(), CliError> {
    use crate::storage::departments as store;
    match command {
        DepartmentsCommand::List => {
            let mut conn = ctx.db.pool().acquire().await.context("connecting")?;
            let everyone = staff_store::list(&mut conn).await?;
            println!("key\tname_zh\tname_en\thead_telegram_id\thandles_complaints");
            for d in store::all(&mut conn).await? {
                let head =
                    d.head.and_then(|h| everyone.iter().find(|s| s.id == h)).map(|s| s.telegram_id.0.to_string());
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    d.key,
                    d.name_zh,
                    d.name_en,
                    head.unwrap_or_default(),
                    d.handles_complaints
                );
            }
        }
        DepartmentsCommand::Set { key, head, name_zh, name_en } => {
            if key.is_empty() || !key.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
                return Err(CliError::BadInput(format!(
                    "department key '{key}' must be lower-case letters, digits or _"
                )));
            }
            let head = match head {
                Some(tg) => Some(staff_by_telegram(ctx, tg).await?.id),
                None => None,
            };
            let mut conn = ctx.db.pool().acquire().await.context("connecting")?;
            let existing = store::get(&mut conn, &key).await?;
            let (zh, en) = match (&existing, name_zh, name_en) {
                (_, Some(zh), Some(en)) => (zh, en),
                (Some(d), zh, en) => (zh.unwrap_or_else(|| d.name_zh.clone()), en.unwrap_or_else(|| d.name_en.clone())),
                (None, _, _) => {
                    return Err(CliError::BadInput("a new department needs --name-zh and --name-en".into()));
                }
            };
            let department = store::Department {
                handles_complaints: existing.as_ref().map(|d| d.handles_complaints).unwrap_or(key != store::SERVICE),
                head: head.or(existing.and_then(|d| d.head)),
                key,
                name_zh: zh,
                name_en: en,
            };
            store::upsert(&mut conn, &department).await?;
            println!("department {} saved", department.key);
        }
    }
    Ok(())
}

/// The access log of one customer as tab-separated lines, newest first.
async fn audit(ctx: &Ctx, customer: &str, since: Option<chrono::NaiveDate>) -> Result<(), CliError> {
    let mut conn = ctx.db.pool().acquire().await.context("connecting")?;
    let found = crate::storage::customers::find(&mut conn, customer, None, 2).await?;
    let [record] = found.as_slice() else {
        return Err(CliError::BadInput(format!(
            "'{customer}' does not name exactly one customer; use the archive number"
        )));
    };
    let since = match since {
        Some(day) => day
            .and_hms_opt(0, 0, 0)
            .and_then(|t| t.and_local_timezone(ctx.settings.timezone).earliest())
            .map(|t| t.to_utc())
            .unwrap_or_default(),
        None => ctx.now() - chrono::Duration::days(366),
    };
    println!("at\tstaff_telegram_id\tstaff\tcommand\tlevels");
    for e in crate::storage::access::log_for(&mut conn, record.customer.id, since, i64::MAX).await? {
        println!("{}\t{}\t{}\t{}\t{}", ctx.local_time(e.at), e.staff_telegram_id, e.staff_name, e.command, e.levels);
    }
    Ok(())
}

async fn outbox_command(ctx: &Ctx, command: OutboxCommand) -> Result<(), CliError> {
    let mut conn = ctx.db.pool().acquire().await.context("connecting")?;
    match command {
        OutboxCommand::List { status } => {
            if let Some(s) = status.as_deref().filter(|s| !["pending", "sending", "sent", "dead"].contains(s)) {
                return Err(CliError::BadInput(format!("--status {s}: not one of pending, sending, sent, dead")));
            }
            println!("id\tstatus\tchannel\trecipient\tattempts\tnext_attempt\tkey\tlast_error");
            for r in outbox::list(&mut conn, status.as_deref()).await? {
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    r.id,
                    r.status,
                    r.channel,
                    r.recipient,
                    r.attempts,
                    ctx.local_time(r.next_attempt()),
                    r.idem_key,
                    r.last_error.as_deref().unwrap_or("")
                );
            }
        }
        OutboxCommand::Retry { ids, all_dead } => {
            let ids: Vec<i64> = if all_dead {
                outbox::list(&mut conn, Some("dead")).await?.into_iter().map(|r| r.id).collect()
            } else if ids.is_empty() {
                return Err(CliError::BadInput("name the rows to retry, or --all-dead".into()));
            } else {
                ids
            };
            let mut retried = 0;
            for id in &ids {
                if outbox::retry(&mut conn, *id, ctx.now()).await? {
                    retried += 1;
                } else {
                    eprintln!("row {id} is not a dead letter; left as it is");
                }
            }
            println!("{retried} messages queued again");
        }
    }
    Ok(())
}
