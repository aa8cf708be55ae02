//! `spawn_app()`: the real application wired to the fakes, with a clock the test controls.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Utc};
use guanxi::config::{RateLimits, Settings};
use guanxi::domain::customer::{CardFields, Tier};
use guanxi::domain::ids::TelegramUserId;
use guanxi::domain::staff::Role;
use guanxi::email::Mailer;
use guanxi::jobs::planner::{self, PlanReport};
use guanxi::jobs::worker::Worker;
use guanxi::services::{self, Ctx};
use guanxi::startup::{self, Running, Tasks};
use guanxi::storage::customers::CustomerRecord;
use guanxi::storage::outbox::{self, OutboxRow};
use guanxi::storage::staff::Staff;
use guanxi::telegram;

use super::clock::ManualClock;
use super::db::{self, TestDb};
use super::fake_telegram::{FakeTelegram, SentMessage, TgUser};
use super::smtp_sink::SmtpSink;

pub const TOKEN: &str = "123456:TEST-TOKEN-never-logged";

/// The application under test and everything it talks to.
pub struct TestApp {
    pub ctx: Ctx,
    pub telegram: FakeTelegram,
    pub smtp: SmtpSink,
    pub clock: ManualClock,
    pub worker: Worker,
    pub db: Arc<TestDb>,
    running: Option<Running>,
}

/// The instant a local Beijing-time string names, e.g. `2026-01-05 09:00`.
pub fn beijing(local: &str) -> DateTime<Utc> {
    let naive = chrono::NaiveDateTime::parse_from_str(local, "%Y-%m-%d %H:%M").expect("YYYY-MM-DD HH:MM");
    naive.and_local_timezone(chrono_tz::Asia::Shanghai).single().expect("unambiguous local time").to_utc()
}

/// Spawn at Monday 2026-01-05 08:00 Beijing time.
pub async fn spawn_app() -> TestApp {
    spawn_app_at("2026-01-05 08:00").await
}

pub async fn spawn_app_at(local: &str) -> TestApp {
    let telegram = FakeTelegram::start().await;
    let smtp = SmtpSink::start().await;
    let clock = ManualClock::new(beijing(local));
    let db = Arc::new(db::fresh().await);
    let ctx = build_ctx(&telegram, &smtp, &clock, &db.url).await;
    let worker = new_worker(&ctx, &smtp);
    let mut app = TestApp { ctx, telegram, smtp, clock, worker, db, running: None };
    app.start().await;
    app
}

/// Settings as an operator would give them, pointed at the fakes.
pub fn settings_for(telegram: &FakeTelegram, smtp: &SmtpSink, database_url: &str) -> Settings {
    let env: HashMap<&str, String> = HashMap::from([
        ("TELOXIDE_TOKEN", TOKEN.to_owned()),
        ("TELOXIDE_API_URL", telegram.api_url()),
        ("DATABASE_URL", database_url.to_owned()),
        ("SMTP_URL", format!("{}?tls=none", smtp.url())),
        ("MAIL_FROM", "Guanxi <guanxi@corp.example>".to_owned()),
    ]);
    let mut settings = Settings::load_with(None, |k| env.get(k).cloned()).expect("test settings are valid");
    // Telegram's real per-chat limit would make every multi-reply test wait seconds.
    settings.rate_limits =
        RateLimits { messages_per_sec_overall: 10_000, messages_per_sec_chat: 10_000, messages_per_min_chat: 100_000 };
    settings
}

async fn build_ctx(telegram: &FakeTelegram, smtp: &SmtpSink, clock: &ManualClock, url: &str) -> Ctx {
    build_ctx_with(settings_for(telegram, smtp, url), clock).await
}

async fn build_ctx_with(settings: Settings, clock: &ManualClock) -> Ctx {
    startup::build_context(settings, Arc::new(clock.clone())).await.expect("app builds")
}

fn new_worker(ctx: &Ctx, smtp: &SmtpSink) -> Worker {
    let _ = smtp;
    let bot = telegram::build_bot(&ctx.settings, TOKEN);
    let mailer = Mailer::new(&ctx.settings.mail, &ctx.settings.mail_from).expect("mailer");
    Worker::new(ctx.clone(), bot, mailer)
}

impl TestApp {
    /// Start the bot; the scheduler and the worker are driven by the test (`tick`, `deliver`).
    pub async fn start(&mut self) {
        self.start_with(Tasks::BOT_ONLY).await;
    }

    pub async fn start_with(&mut self, tasks: Tasks) {
        assert!(self.running.is_none(), "already running");
        let bot = telegram::build_bot(&self.ctx.settings, TOKEN);
        let mailer = Mailer::new(&self.ctx.settings.mail, &self.ctx.settings.mail_from).expect("mailer");
        self.running = Some(startup::start(&self.ctx, bot, mailer, tasks).await.expect("app starts"));
    }

    /// Stop the bot and the worker and close the pool, as when the process goes down.
    pub async fn stop(&mut self) {
        self.stop_tasks().await;
        self.ctx.db.close().await;
    }

    /// Stop the running tasks only.
    pub async fn stop_tasks(&mut self) {
        if let Some(running) = self.running.take() {
            running.stop().await.expect("the app stops within its grace");
        }
    }

    /// A new process on the same database: everything in memory is gone.
    pub async fn restart(&mut self) {
        self.restart_with(|_| {}).await;
    }

    /// Restart with changed settings (as after editing `guanxi.toml`).
    pub async fn restart_with(&mut self, change: impl FnOnce(&mut Settings)) {
        self.stop().await;
        let mut settings = settings_for(&self.telegram, &self.smtp, &self.db.url);
        change(&mut settings);
        self.ctx = build_ctx_with(settings, &self.clock).await;
        self.worker = new_worker(&self.ctx, &self.smtp);
        self.start().await;
    }

    /// The context another process on the same database would build (one that is about to die).
    pub async fn other_process(&self) -> Ctx {
        build_ctx(&self.telegram, &self.smtp, &self.clock, &self.db.url).await
    }

    pub fn now(&self) -> DateTime<Utc> {
        guanxi::clock::Clock::now(&self.clock)
    }

    /// Move the clock to a Beijing local time.
    pub fn set_time(&self, local: &str) {
        self.clock.set(beijing(local));
    }

    /// One scheduler tick as of the clock: plan, then deliver everything due.
    pub async fn tick(&self) -> PlanReport {
        let now = self.now();
        let report = planner::plan(&self.ctx, now).await.expect("planner runs");
        self.deliver().await;
        report
    }

    pub async fn tick_at(&self, local: &str) -> PlanReport {
        self.set_time(local);
        self.tick().await
    }

    /// Run the worker until nothing is due at the clock's time.
    pub async fn deliver(&self) -> usize {
        self.worker.run_until_empty(self.now()).await.expect("worker runs")
    }

    pub async fn outbox(&self) -> Vec<OutboxRow> {
        let mut conn = self.ctx.db.pool().acquire().await.expect("connection");
        outbox::list(&mut conn, None).await.expect("outbox rows")
    }

    /// Send a text as `user`, deliver, and return the `n` new messages to that chat.
    pub async fn say_n(&self, user: &TgUser, text: &str, n: usize) -> Vec<SentMessage> {
        let before = self.telegram.sent_to(user.id).len();
        self.telegram.push_text(user, text);
        self.replies(user.id, before, n).await
    }

    /// Send a text and return the single reply.
    pub async fn say(&self, user: &TgUser, text: &str) -> SentMessage {
        self.say_n(user, text, 1).await.remove(0)
    }

    /// Press an inline button under `message_id` and return the single reply.
    pub async fn press(&self, user: &TgUser, message_id: i32, data: &str) -> SentMessage {
        let before = self.telegram.sent_to(user.id).len();
        self.telegram.push_callback(user, message_id, data);
        self.replies(user.id, before, 1).await.remove(0)
    }

    /// The bot handles updates on its own; the test plays the worker until the replies are out.
    pub async fn replies(&self, chat: i64, before: usize, n: usize) -> Vec<SentMessage> {
        let deadline = tokio::time::Instant::now() + StdDuration::from_secs(10);
        loop {
            self.deliver().await;
            let all = self.telegram.sent_to(chat);
            if all.len() >= before + n {
                // A reply may have come from its handler, before the senders' turn: deliver
                // what its update queued for others too, as the senders would have by now.
                self.deliver().await;
                return all[before..].to_vec();
            }
            assert!(tokio::time::Instant::now() < deadline, "expected {n} replies, got {:#?}", &all[before..]);
            tokio::time::sleep(StdDuration::from_millis(5)).await;
        }
    }

    pub async fn add_staff(
        &self,
        telegram_id: i64,
        name: &str,
        role: Role,
        manager: Option<i64>,
        email: Option<&str>,
    ) -> Staff {
        services::staff::add(
            &self.ctx,
            TelegramUserId(telegram_id),
            name,
            role,
            manager.map(TelegramUserId),
            email.map(str::to_owned),
        )
        .await
        .expect("staff added")
    }

    pub async fn add_customer(&self, name: &str, tier: Tier, owner: &Staff) -> CustomerRecord {
        services::customers::create(&self.ctx, name, tier, Some(owner.id), CardFields::default(), None, self.now())
            .await
            .expect("customer created")
    }
}

/// The usual cast: a director, a manager reporting to them, and a rep reporting to the manager.
pub struct Team {
    pub manager: Staff,
    pub rep: Staff,
    pub rep_user: TgUser,
}

pub const DIRECTOR_EMAIL: &str = "director@corp.example";
pub const MANAGER_EMAIL: &str = "manager@corp.example";

pub async fn team(app: &TestApp) -> Team {
    app.add_staff(9003, "赵总监", Role::Director, None, Some(DIRECTOR_EMAIL)).await;
    let manager = app.add_staff(9002, "钱经理", Role::Manager, Some(9003), Some(MANAGER_EMAIL)).await;
    let rep = app.add_staff(9001, "孙销售", Role::Rep, Some(9002), None).await;
    Team { manager, rep, rep_user: TgUser::new(9001, "孙") }
}
