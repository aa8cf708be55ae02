//! Bad input at volume: 10,000 random and hostile messages and button presses from strangers,
//! a rep, a manager, customer service and an administrator (unicode edge cases, texts of 4096
//! characters, emoji sequences, right-to-left text with bidi controls, control characters, SQL,
//! HTML and MarkdownV2 markup, forged button data) go through the fake Bot API to the real bot.
//!
//! It proves that nothing panics or fails inside a handler, that every message gets an answer in
//! its sender's chat and every button press is answered, that every reply Telegram would accept
//! (not empty, at most 4096 characters, button data of at most 64 bytes), and that the free text
//! the bot stores — call and visit notes, new information for the archive keepers, the complaint
//! form — reads back from the database byte for byte as it was sent.
//!
//! The inputs come from a seeded generator, so a failure replays: the seed is printed, and
//! `GUANXI_FUZZ_SEED=<n>` runs another one.

use std::collections::{HashMap, HashSet};
use std::time::{Duration as StdDuration, Instant};

use guanxi::domain::cadence::Action;
use guanxi::domain::customer::Tier;
use guanxi::domain::ids::{ArchiveNo, CustomerId};
use guanxi::domain::staff::Role;
use guanxi::domain::tasks::TaskKind;
use guanxi::locale::Locale;
use guanxi::storage::complaints::{self as complaint_store, ComplaintForm};
use guanxi::storage::outbox::{self, OutboxRow};
use guanxi::storage::{interactions, tasks};
use guanxi::telegram::commands::{self, Command};
use guanxi::templates::keys;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};

use crate::helpers::app::team;
use crate::helpers::fake_telegram::BOT_USERNAME;
use crate::helpers::{TestApp, TgUser, spawn_app};

/// The seed of the committed run ("guanxi" in ASCII).
const DEFAULT_SEED: u64 = 0x6775_616e_7869;
const INPUTS: usize = 10_000;
/// Updates pushed before the test waits for them to be handled and answered (100 to 1,000 ran
/// about as fast; 250 keeps a failing batch small enough to read).
const BATCH: usize = 250;
/// How long one batch may take to be answered before the test gives up and names the silent ones.
const BATCH_TIMEOUT: StdDuration = StdDuration::from_secs(60);
/// Telegram's limits: a message's text, and a button's callback data.
const MAX_MESSAGE_CHARS: usize = 4096;
const MAX_CALLBACK_DATA_BYTES: usize = 64;
/// A character the generator never produces except to make a reference that names no customer.
const POISON: char = '\u{10FFFD}';

const REP: i64 = 9001;
const MANAGER: i64 = 9002;
const ADMIN: i64 = 9004;
const SERVICE: i64 = 9005;

// Two threads, as in production: on one, the bot, the fake Bot API and the worker take turns and
// the run is several times slower.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_hostile_messages_and_presses_are_all_answered_and_stored_text_reads_back_byte_for_byte() {
    // A handler that fails replies with the internal-error template and logs the cause at
    // error level: show those lines with the test's output.
    let _ = tracing_subscriber::fmt().with_env_filter("guanxi=error").with_test_writer().try_init();
    // Arrange: the usual team plus an administrator and customer service; three customers whose
    // stored text the test follows.
    let app = spawn_app().await;
    commit_without_waiting_for_the_disk(&app).await;
    let t = team(&app).await;
    app.add_staff(ADMIN, "管理员", Role::Admin, None, Some("admin@corp.example")).await;
    app.add_staff(SERVICE, "客服", Role::Service, Some(MANAGER), None).await;
    let mut followed = Vec::new();
    for (name, tier) in [("华东精密机械", Tier::A), ("Acme Trading 上海", Tier::B), ("东方轴承", Tier::C)] {
        let record = app.add_customer(name, tier, &t.rep).await;
        followed.push(Followed {
            id: record.customer.id,
            archive_no: record.customer.archive_no.to_string(),
            name: name.to_owned(),
        });
    }
    let seed = std::env::var("GUANXI_FUZZ_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(DEFAULT_SEED);
    println!("fuzz seed: {seed} (replay with GUANXI_FUZZ_SEED={seed})");
    let plan = Plan::generate(seed, &followed);
    assert_eq!(plan.steps.len(), INPUTS);
    println!(
        "fuzz plan: {} texts, {} presses; {} notes, {} new informations, {} complaint forms, {} NUL texts",
        plan.steps.iter().filter(|s| matches!(s.input, Input::Text(_))).count(),
        plan.steps.iter().filter(|s| matches!(s.input, Input::Press { .. })).count(),
        plan.notes.len(),
        plan.infos.len(),
        plan.complaints.len(),
        plan.steps.iter().filter(|s| matches!(s.expect, Expect::Refused)).count(),
    );

    // Act
    let started = Instant::now();
    let pushed = push_all(&app, &plan).await;
    let pushing = started.elapsed();
    // The bot still works for staff and strangers after all that.
    let help = app.say(&t.rep_user, "/help").await;
    assert_eq!(help.text, app.ctx.templates.render(Locale::ZhCn, keys::HELP_STAFF, &[]));
    let menu = app.say(&TgUser::new(699_999, "新客户"), "/start").await;
    assert_eq!(menu.text, app.ctx.templates.render(Locale::ZhCn, keys::CUSTOMER_MENU, &[]));
    // Let every handler finish, then send what they queued.
    wait_until_handled(&app, None).await;
    deliver_everything(&app).await;
    println!("fuzz run: {INPUTS} inputs handled and answered in {pushing:.1?} ({BATCH} per batch)");
    let checking = Instant::now();

    // Assert
    let rows = app.outbox().await;
    every_reply_went_out(&rows);
    every_message_was_answered_in_its_chat(&app, &plan, &pushed, &rows);
    no_handler_failed(&app, &plan, &pushed, &rows);
    replies_show_the_input_unaltered(&app, &plan, &pushed, &rows);
    every_sent_message_is_one_telegram_accepts(&app, &rows);
    stored_text_reads_back_byte_for_byte(&app, &plan, &followed).await;
    every_button_carries_data_telegram_accepts(&app);
    println!("fuzz checks: {:.1?}", checking.elapsed());
}

/// PostgreSQL: let this scratch database commit without waiting for the disk. The run makes
/// some 60,000 commits, and at a few milliseconds of `fsync` each they would be most of its
/// time; durability after a crash is not what this test is about.
async fn commit_without_waiting_for_the_disk(app: &TestApp) {
    if !app.db.url.starts_with("postgres") {
        return;
    }
    let url = url::Url::parse(&app.db.url).expect("database URL");
    let name = url.path().trim_start_matches('/');
    sqlx::query(sqlx::AssertSqlSafe(format!("ALTER DATABASE \"{name}\" SET synchronous_commit = off")))
        .execute(app.ctx.db.pool())
        .await
        .expect("setting synchronous_commit");
    // Connections opened from now on read the setting; close the ones already open.
    let mut open = Vec::new();
    while let Some(conn) = app.ctx.db.pool().try_acquire() {
        open.push(conn);
    }
    for conn in open {
        conn.close().await.expect("closing a connection");
    }
}

/// A customer whose stored text the test follows.
struct Followed {
    id: CustomerId,
    archive_no: String,
    name: String,
}

#[derive(Debug, Clone)]
enum Input {
    Text(String),
    Press { message_id: i32, data: String },
}

#[derive(Debug, Clone)]
enum Expect {
    /// Some reply in the sender's chat.
    Answer,
    /// A text with NUL: refused whole, with exactly the template that says so.
    Refused,
    /// The reply (when it fits one message) contains each of these texts unaltered.
    Shows(Vec<String>),
    /// A button press: answered; a reply too, unless it submitted a customer's complaint (then
    /// the acceptance notice is the answer).
    Pressed,
}

#[derive(Debug, Clone)]
struct Step {
    who: TgUser,
    input: Input,
    expect: Expect,
}

/// Everything to send, and what the database must hold afterwards.
struct Plan {
    steps: Vec<Step>,
    /// (customer index, action, notes) in the order sent.
    notes: Vec<(usize, Action, String)>,
    /// (customer index, new information) in the order sent.
    infos: Vec<(usize, String)>,
    /// (customer's chat, the form as filled).
    complaints: Vec<(i64, ComplaintForm)>,
}

impl Plan {
    fn generate(seed: u64, followed: &[Followed]) -> Self {
        let mut g = Gen { rng: StdRng::seed_from_u64(seed), followed, next_customer_chat: 700_001 };
        let mut plan = Plan { steps: Vec::new(), notes: Vec::new(), infos: Vec::new(), complaints: Vec::new() };
        let strangers: Vec<TgUser> = (0..24)
            .map(|i| {
                let user = TgUser::new(600_001 + i, ["王先生", "Ahmed", "שרה", "👩🏽‍💻", "\u{202E}evE"][i as usize % 5]);
                match i % 4 {
                    0 => user.with_language("en"),
                    1 => user.with_language("zh-hans"),
                    2 => user.with_language("ar"),
                    _ => user,
                }
            })
            .collect();
        while plan.steps.len() < INPUTS {
            let left = INPUTS - plan.steps.len();
            let roll = g.rng.random_range(0..1000);
            match roll {
                0..6 if left >= 9 => g.complaint_form(&mut plan),
                6..50 => g.logged_touch(&mut plan),
                50..65 => g.new_information(&mut plan),
                65..90 => g.echo_probe(&mut plan, &strangers),
                _ => g.noise(&mut plan, &strangers),
            }
        }
        plan
    }
}

/// The generator: one seeded random source and the flows built from it.
struct Gen<'a> {
    rng: StdRng,
    followed: &'a [Followed],
    next_customer_chat: i64,
}

impl Gen<'_> {
    /// A staff member, sometimes with an English client.
    fn staff(&mut self, id: i64) -> TgUser {
        let user = TgUser::new(id, "员工");
        if self.rng.random_bool(0.2) { user.with_language("en") } else { user }
    }

    fn char(&mut self) -> char {
        const RANGES: [(u32, u32); 6] =
            [(0x1, 0x20), (0x20, 0x7f), (0x7f, 0x800), (0x800, 0xd800), (0xe000, 0x1_0000), (0x1_0000, 0x11_0000)];
        let (lo, hi) = RANGES[self.rng.random_range(0..RANGES.len())];
        char::from_u32(self.rng.random_range(lo..hi)).filter(|c| *c != POISON).unwrap_or('?')
    }

    /// Hostile text of at most `max` characters (never NUL, never the poison character).
    fn text(&mut self, max: usize) -> String {
        let mut out = String::new();
        let mut chars = 0;
        match self.rng.random_range(0..100) {
            // As long as Telegram allows: one piece repeated, or many mixed.
            0..6 => {
                let repeat = self.rng.random_bool(0.5);
                let piece = *HOSTILE.choose(&mut self.rng).expect("pieces");
                while chars < max {
                    let next = if repeat { piece } else { HOSTILE.choose(&mut self.rng).expect("pieces") };
                    out.push_str(next);
                    chars += next.chars().count();
                }
            }
            // Blank lines in the middle of a text.
            6..9 => {
                let lines = self.rng.random_range(1..max.max(4) - 2);
                out = format!("a{}b", ["\n", "\r\n", "\u{2028}"][lines % 3].repeat(lines));
            }
            // Random scalar values from every plane.
            9..20 => {
                for _ in 0..self.rng.random_range(1..60) {
                    out.push(self.char());
                }
            }
            _ => {
                for _ in 0..self.rng.random_range(1..7) {
                    if self.rng.random_bool(0.2) {
                        out.push(self.char());
                    } else {
                        out.push_str(HOSTILE.choose(&mut self.rng).expect("pieces"));
                    }
                    if self.rng.random_bool(0.3) {
                        out.push(' ');
                    }
                }
            }
        }
        truncate_chars(out, max)
    }

    /// Free text as the bot should store it: hostile, but already without surrounding
    /// whitespace (which the bot trims), not empty, and not starting with `/` (a command).
    fn stored_text(&mut self, max: usize) -> String {
        loop {
            let text = self.text(max).trim().to_owned();
            if !text.is_empty() && !text.starts_with('/') {
                return text;
            }
        }
    }

    /// Text or a command with hostile arguments that touches none of the followed customers.
    fn noise_text(&mut self) -> String {
        for _ in 0..100 {
            let text = if self.rng.random_bool(0.4) { self.command() } else { self.text(MAX_MESSAGE_CHARS) };
            let text = if self.rng.random_bool(0.03) { with_nul(&mut self.rng, text) } else { text };
            if harmless(&text, self.followed) {
                return text;
            }
        }
        "你好".to_owned()
    }

    fn command(&mut self) -> String {
        let mut text = String::new();
        if self.rng.random_bool(0.05) {
            text.push_str([" ", "\u{3000}", "\n"].choose(&mut self.rng).expect("spaces"));
        }
        text.push('/');
        let name = *COMMANDS.choose(&mut self.rng).expect("commands");
        text.push_str(&match self.rng.random_range(0..10) {
            0 => name.to_uppercase(),
            _ => name.to_owned(),
        });
        match self.rng.random_range(0..20) {
            0 => text.push_str(&format!("@{BOT_USERNAME}")),
            1 => text.push_str("@other_bot"),
            2 => text.push_str(&format!("@{}", self.text(20))),
            _ => {}
        }
        match self.rng.random_range(0..10) {
            0 => {}
            1..3 => {
                text.push(' ');
                text.push_str(ARGUMENTS.choose(&mut self.rng).expect("arguments"));
            }
            _ => {
                text.push_str(["", " ", "  ", "\t", "\n", "\u{3000}"].choose(&mut self.rng).expect("separators"));
                let room = MAX_MESSAGE_CHARS - text.chars().count();
                text.push_str(&self.text(room));
            }
        }
        truncate_chars(text, MAX_MESSAGE_CHARS)
    }

    fn press_data(&mut self) -> String {
        match self.rng.random_range(0..10) {
            0..6 => (*PRESSES.choose(&mut self.rng).expect("presses")).to_owned(),
            6..8 => {
                let prefix = ["pick:", "tier:", "cw:TS-20260105-0001:", "cc:TS-20260105-0001:", "form:", "ar:1:", ""]
                    .choose(&mut self.rng)
                    .expect("prefixes");
                truncate_bytes(format!("{prefix}{}", self.text(64)), MAX_CALLBACK_DATA_BYTES)
            }
            _ => {
                let data = self.text(64);
                let data = if self.rng.random_bool(0.1) { with_nul(&mut self.rng, data) } else { data };
                truncate_bytes(data, MAX_CALLBACK_DATA_BYTES)
            }
        }
    }

    fn message_id(&mut self) -> i32 {
        if self.rng.random_bool(0.05) { i32::MAX } else { self.rng.random_range(1..30_000) }
    }

    /// One random message or press from anyone.
    fn noise(&mut self, plan: &mut Plan, strangers: &[TgUser]) {
        let who = match self.rng.random_range(0..100) {
            0..50 => strangers.choose(&mut self.rng).expect("strangers").clone(),
            50..65 => self.staff(REP),
            65..77 => self.staff(MANAGER),
            77..89 => self.staff(ADMIN),
            _ => self.staff(SERVICE),
        };
        let step = if self.rng.random_bool(0.25) {
            let (message_id, data) = (self.message_id(), self.press_data());
            Step { who, input: Input::Press { message_id, data }, expect: Expect::Pressed }
        } else {
            let text = self.noise_text();
            let expect = if text.contains('\0') { Expect::Refused } else { Expect::Answer };
            Step { who, input: Input::Text(text), expect }
        };
        plan.steps.push(step);
    }

    /// The rep logs a call or visit with hostile notes (sometimes with a NUL: refused, not stored).
    fn logged_touch(&mut self, plan: &mut Plan) {
        let customer = self.rng.random_range(0..self.followed.len());
        let (command, action) = *[
            ("/call", Action::Call),
            ("/visit", Action::Visit),
            ("/电话", Action::Call),
            ("/拜访", Action::Visit),
            ("/CALL@guanxi_test_bot", Action::Call),
            ("/Visit", Action::Visit),
        ]
        .choose(&mut self.rng)
        .expect("commands");
        let prefix = format!("{command}{}{}{}", self.space(), self.reference(customer), self.space());
        let notes = self.stored_text(MAX_MESSAGE_CHARS - prefix.chars().count());
        let who = self.staff(REP);
        if self.rng.random_bool(0.03) {
            let text = with_nul(&mut self.rng, format!("{prefix}{notes}"));
            plan.steps.push(Step { who, input: Input::Text(text), expect: Expect::Refused });
            return;
        }
        plan.steps.push(Step { who, input: Input::Text(format!("{prefix}{notes}")), expect: Expect::Answer });
        plan.notes.push((customer, action, notes));
    }

    /// The rep sends new information about a customer for the archive keepers.
    fn new_information(&mut self, plan: &mut Plan) {
        let customer = self.rng.random_range(0..self.followed.len());
        let command = ["/info", "/新信息", "/INFO"].choose(&mut self.rng).expect("commands");
        let prefix = format!("{command}{}{}{}", self.space(), self.reference(customer), self.space());
        let text = self.stored_text(MAX_MESSAGE_CHARS - prefix.chars().count());
        let who = self.staff(REP);
        plan.steps.push(Step { who, input: Input::Text(format!("{prefix}{text}")), expect: Expect::Answer });
        plan.infos.push((customer, text));
    }

    /// Replies that quote the input: a staff member's `/customer` with a reference that names
    /// nobody, and a stranger's `/status` of a number that is not theirs.
    fn echo_probe(&mut self, plan: &mut Plan, strangers: &[TgUser]) {
        let mut reference = self.text(1500);
        let at = self.rng.random_range(0..=reference.chars().count());
        let at = reference.char_indices().nth(at).map_or(reference.len(), |(i, _)| i);
        reference.insert(at, POISON);
        let (who, text) = if self.rng.random_bool(0.5) {
            let id = *[REP, MANAGER, ADMIN, SERVICE].choose(&mut self.rng).expect("staff");
            (self.staff(id), format!("/customer {reference}"))
        } else {
            (strangers.choose(&mut self.rng).expect("strangers").clone(), format!("/status {reference}"))
        };
        let shown = match commands::parse(&text, Some(BOT_USERNAME)) {
            Some(Ok(Command::Customer(r) | Command::Status(r))) => r,
            other => panic!("the probe {text:?} parsed as {other:?}"),
        };
        plan.steps.push(Step { who, input: Input::Text(text), expect: Expect::Shows(vec![shown]) });
    }

    /// A new customer files a whole complaint form with hostile answers, then submits it.
    fn complaint_form(&mut self, plan: &mut Plan) {
        let chat = self.next_customer_chat;
        self.next_customer_chat += 1;
        let who = if self.rng.random_bool(0.3) {
            TgUser::new(chat, "客户").with_language("en")
        } else {
            TgUser::new(chat, "客户")
        };
        let text = |text: String| Step { who: who.clone(), input: Input::Text(text), expect: Expect::Answer };
        let start = match self.rng.random_range(0..4) {
            0 => Step {
                who: who.clone(),
                input: Input::Press { message_id: 1, data: "menu:complain".into() },
                expect: Expect::Pressed,
            },
            1 => text("/投诉".into()),
            2 => text(format!("/COMPLAIN@{BOT_USERNAME}")),
            _ => text("/complain".into()),
        };
        let form = ComplaintForm {
            customer_name: self.stored_text(MAX_MESSAGE_CHARS),
            address: self.rng.random_bool(0.75).then(|| self.stored_text(MAX_MESSAGE_CHARS)).filter(|a| a != "-"),
            contact_name: Some(self.stored_text(MAX_MESSAGE_CHARS)),
            contact_phone: Some(self.phone()),
            description: self.stored_text(MAX_MESSAGE_CHARS),
            request: self.stored_text(MAX_MESSAGE_CHARS),
        };
        let last_answer = match self.rng.random_range(0..3) {
            0 => "-".to_owned(),
            1 => "完成".to_owned(),
            _ => self.stored_text(200),
        };
        let mut shown = vec![form.customer_name.clone(), form.description.clone(), form.request.clone()];
        shown.extend(form.address.clone());
        shown.extend(form.contact_name.clone());
        shown.extend(form.contact_phone.clone());
        plan.steps.extend([
            start,
            text(form.customer_name.clone()),
            text(form.address.clone().unwrap_or_else(|| "-".into())),
            text(form.contact_name.clone().unwrap_or_default()),
            text(form.contact_phone.clone().unwrap_or_default()),
            text(form.description.clone()),
            text(form.request.clone()),
            Step { who: who.clone(), input: Input::Text(last_answer), expect: Expect::Shows(shown) },
            Step {
                who: who.clone(),
                input: Input::Press { message_id: 1, data: "form:submit".into() },
                expect: Expect::Pressed,
            },
        ]);
        plan.complaints.push((chat, form));
    }

    /// A followed customer as people write it: archive number in several spellings, quoted or not.
    fn reference(&mut self, customer: usize) -> String {
        let canonical = &self.followed[customer].archive_no;
        let number: i64 = canonical.trim_start_matches("KH-").parse().expect("archive number");
        match self.rng.random_range(0..6) {
            0 => format!("kh-{number}"),
            1 => format!("KH{number:06}"),
            2 => format!("\"{canonical}\""),
            3 => format!("「{canonical}」"),
            4 => format!("“{}”", canonical.to_lowercase()),
            _ => canonical.clone(),
        }
    }

    fn space(&mut self) -> &'static str {
        [" ", "  ", "\t", "\n", "\u{3000}", " \r\n "].choose(&mut self.rng).expect("spaces")
    }

    /// A phone number the form accepts, written in one of the usual ways.
    fn phone(&mut self) -> String {
        // 5 to 20 digits in all, `+86` included.
        let digits: String =
            (0..self.rng.random_range(5..=18)).map(|_| self.rng.random_range(0..10).to_string()).collect();
        match self.rng.random_range(0..4) {
            0 => format!("+86 {digits}"),
            1 => format!("({}) {}", &digits[..2], &digits[2..]),
            2 => format!("{}-{} 转 8", &digits[..3], &digits[3..]),
            _ => digits,
        }
    }
}

/// Whether noise is safe to send beside the followed flows: it must not name a followed customer
/// (whose stored text is checked), close a task, or hand customers over between real staff.
fn harmless(text: &str, followed: &[Followed]) -> bool {
    let Some(Ok(command)) = commands::parse(text, Some(BOT_USERNAME)) else { return true };
    let reference = match &command {
        Command::Customer(r) | Command::Audit(r) | Command::Deal(r) => r,
        Command::Log { customer, .. }
        | Command::Info { customer, .. }
        | Command::Tier { customer, .. }
        | Command::Credit { customer, .. }
        | Command::Birthday { customer, .. }
        | Command::ContactCode { customer, .. }
        | Command::Request { customer, .. }
        | Command::Link { customer, .. } => customer,
        Command::Done { task, .. } => return *task > 1_000_000_000,
        Command::Handover { from, to, .. } => {
            return ![REP, MANAGER, ADMIN, SERVICE, 9003].iter().any(|id| id == from || id == to);
        }
        _ => return true,
    };
    let reference = reference.trim();
    let lower = reference.to_lowercase();
    reference.parse::<ArchiveNo>().is_err()
        && !lower.is_empty()
        && !followed.iter().any(|c| c.name.to_lowercase().contains(&lower))
}

/// Push every step, a batch at a time: each batch is handled to the end, then its replies are
/// delivered. Returns the update id of each step.
async fn push_all(app: &TestApp, plan: &Plan) -> Vec<i64> {
    let mut pushed = Vec::with_capacity(plan.steps.len());
    for steps in plan.steps.chunks(BATCH) {
        let first = pushed.len();
        for step in steps {
            pushed.push(match &step.input {
                Input::Text(text) => app.telegram.push_text(&step.who, text),
                Input::Press { message_id, data } => app.telegram.push_callback(&step.who, *message_id, data),
            });
        }
        wait_until_handled(app, Some((&plan.steps[first..], &pushed[first..]))).await;
        deliver_everything(app).await;
    }
    pushed
}

/// Wait until the bot has handled `updates` to the end (all it was given when `None`): each
/// handler marks its update done in `updates_seen` as its last act.
async fn wait_until_handled(app: &TestApp, updates: Option<(&[Step], &[i64])>) {
    let deadline = Instant::now() + BATCH_TIMEOUT;
    loop {
        let unfinished: Vec<i64> = match updates {
            Some((_, ids)) => {
                let (first, last) = (ids[0], ids[ids.len() - 1]);
                let done: Vec<i64> = sqlx::query_scalar(
                    "SELECT update_id FROM updates_seen WHERE done_at IS NOT NULL AND update_id BETWEEN $1 AND $2",
                )
                .bind(first)
                .bind(last)
                .fetch_all(app.ctx.db.pool())
                .await
                .expect("handled updates");
                let done: HashSet<i64> = done.into_iter().collect();
                ids.iter().copied().filter(|id| !done.contains(id)).collect()
            }
            None => sqlx::query_scalar("SELECT update_id FROM updates_seen WHERE done_at IS NULL")
                .fetch_all(app.ctx.db.pool())
                .await
                .expect("unfinished updates"),
        };
        if unfinished.is_empty() {
            return;
        }
        if Instant::now() > deadline {
            let steps: HashMap<i64, &Step> =
                updates.map(|(steps, ids)| ids.iter().copied().zip(steps).collect()).unwrap_or_default();
            let examples: Vec<_> = unfinished
                .iter()
                .take(5)
                .map(|id| (id, steps.get(id).map(|s| (s.who.id, preview(&s.input)))))
                .collect();
            panic!(
                "after {BATCH_TIMEOUT:?}, {} update(s) are not handled to the end (a handler hung or panicked), \
                 e.g. {examples:#?}",
                unfinished.len()
            );
        }
        tokio::time::sleep(StdDuration::from_millis(2)).await;
    }
}

/// Deliver what is due with several senders sharing the outbox, as production's
/// `delivery.concurrency` does.
async fn deliver(app: &TestApp) -> usize {
    let (a, b) = tokio::join!(app.deliver(), app.deliver());
    a + b
}

/// Run the worker until nothing is left to send: a row whose chat had no free send slot yet is
/// handed back and becomes sendable a moment later.
async fn deliver_everything(app: &TestApp) {
    let deadline = Instant::now() + BATCH_TIMEOUT;
    loop {
        deliver(app).await;
        let backlog = {
            let mut conn = app.ctx.db.pool().acquire().await.expect("connection");
            outbox::backlog(&mut conn).await.expect("outbox backlog")
        };
        if backlog == 0 {
            return;
        }
        assert!(Instant::now() < deadline, "{backlog} message(s) still not sent after {BATCH_TIMEOUT:?}");
        tokio::time::sleep(StdDuration::from_millis(1)).await;
    }
}

/// The update a reply row answers: keys are `reply:{update}:{n}` (`:{part}` for long texts).
fn reply_update(key: &str) -> Option<i64> {
    key.strip_prefix("reply:")?.split(':').next()?.parse().ok()
}

fn replies_by_update(rows: &[OutboxRow]) -> HashMap<i64, Vec<&OutboxRow>> {
    let mut by_update: HashMap<i64, Vec<&OutboxRow>> = HashMap::new();
    for row in rows {
        if let Some(update) = reply_update(&row.idem_key) {
            by_update.entry(update).or_default().push(row);
        }
    }
    by_update
}

fn every_reply_went_out(rows: &[OutboxRow]) {
    let stuck: Vec<_> = rows.iter().filter(|r| r.status != "sent").collect();
    assert!(
        stuck.is_empty(),
        "{} outbox row(s) were not sent, e.g. {:#?}",
        stuck.len(),
        stuck.iter().take(3).map(|r| (&r.idem_key, &r.status, &r.last_error)).collect::<Vec<_>>()
    );
}

fn every_message_was_answered_in_its_chat(app: &TestApp, plan: &Plan, pushed: &[i64], rows: &[OutboxRow]) {
    let by_update = replies_by_update(rows);
    for (step, update) in plan.steps.iter().zip(pushed) {
        let replies = by_update.get(update).map(Vec::as_slice).unwrap_or_default();
        let silent_submit = matches!(&step.input, Input::Press { data, .. } if data == "form:submit");
        assert!(
            !replies.is_empty() || silent_submit,
            "update {update} from {} got no reply: {:?}",
            step.who.id,
            preview(&step.input)
        );
        for reply in replies {
            assert_eq!(reply.recipient, step.who.id.to_string(), "a reply to update {update} went to another chat");
        }
    }
    let presses = plan.steps.iter().filter(|s| matches!(s.input, Input::Press { .. })).count();
    let answered: HashSet<String> = app
        .telegram
        .callback_answers()
        .iter()
        .filter_map(|a| a["callback_query_id"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(answered.len(), presses, "every button press is answered exactly once");
    // A submitted form is answered with its acceptance number in the customer's chat.
    for (chat, _) in &plan.complaints {
        let told = app.telegram.sent_to(*chat);
        assert!(
            told.iter().any(|m| m.text.contains("TS-2026")),
            "customer {chat} was not told an acceptance number: {told:#?}"
        );
    }
}

fn no_handler_failed(app: &TestApp, plan: &Plan, pushed: &[i64], rows: &[OutboxRow]) {
    let failure: Vec<String> =
        [Locale::ZhCn, Locale::En].iter().map(|l| app.ctx.templates.render(*l, keys::INTERNAL_ERROR, &[])).collect();
    let steps: HashMap<i64, &Step> = pushed.iter().copied().zip(&plan.steps).collect();
    let failed: Vec<_> = rows
        .iter()
        .filter(|r| failure.contains(&r.body))
        .map(|r| {
            let step = reply_update(&r.idem_key).and_then(|u| steps.get(&u));
            (&r.idem_key, step.map(|s| (s.who.id, preview(&s.input))))
        })
        .collect();
    assert!(
        failed.is_empty(),
        "{} handler(s) failed and answered with the internal-error template (the cause is logged above): \
         {failed:#?}",
        failed.len()
    );
}

fn replies_show_the_input_unaltered(app: &TestApp, plan: &Plan, pushed: &[i64], rows: &[OutboxRow]) {
    let by_key: HashMap<&str, &OutboxRow> = rows.iter().map(|r| (r.idem_key.as_str(), r)).collect();
    let by_update = replies_by_update(rows);
    let (mut shown, mut too_long_to_check) = (0, 0);
    for (step, update) in plan.steps.iter().zip(pushed) {
        let locale = Locale::from_telegram(step.who.language_code.as_deref(), Locale::ZhCn);
        match &step.expect {
            Expect::Refused => {
                let replies = &by_update[update];
                let refusal = app.ctx.templates.render(locale, keys::BAD_CHARACTERS, &[]);
                assert_eq!(replies.len(), 1, "a text with NUL gets exactly one reply");
                assert_eq!(replies[0].body, refusal, "a text with NUL is refused with the template");
            }
            Expect::Shows(texts) => {
                // A reply over 4000 characters is split; only a whole one can be searched.
                if by_key.contains_key(format!("reply:{update}:0:1").as_str()) {
                    too_long_to_check += 1;
                    continue;
                }
                let reply = &by_key[format!("reply:{update}:0").as_str()];
                for text in texts {
                    assert!(
                        reply.body.contains(text.as_str()),
                        "the reply to {:?} does not show {text:?} unaltered: {:?}",
                        preview(&step.input),
                        reply.body
                    );
                }
                shown += 1;
            }
            Expect::Answer | Expect::Pressed => {}
        }
    }
    println!("fuzz echoes: {shown} replies show the input unaltered ({too_long_to_check} split, not searched)");
    assert!(shown > 100, "too few replies were checked for echoes: {shown}");
}

fn every_sent_message_is_one_telegram_accepts(app: &TestApp, rows: &[OutboxRow]) {
    let sent = app.telegram.sent();
    // What reached Telegram is what was queued, byte for byte.
    let mut queued: HashMap<(String, &str), usize> = HashMap::new();
    for row in rows.iter().filter(|r| r.channel == "telegram") {
        *queued.entry((row.recipient.clone(), row.body.as_str())).or_default() += 1;
    }
    for message in &sent {
        match queued.get_mut(&(message.chat_id.to_string(), message.text.as_str())) {
            Some(left) if *left > 0 => *left -= 1,
            _ => panic!("a message to {} was sent that was never queued: {:?}", message.chat_id, message.text),
        }
    }
    let telegram_rows = rows.iter().filter(|r| r.channel == "telegram").count();
    assert_eq!(sent.len() + app.telegram.documents().len(), telegram_rows, "every queued message was sent once");
    for message in &sent {
        let chars = message.text.chars().count();
        assert!(
            !message.text.trim().is_empty() && chars <= MAX_MESSAGE_CHARS,
            "Telegram refuses a text that is empty or over {MAX_MESSAGE_CHARS} characters; sent {chars} to {}: {:?}",
            message.chat_id,
            truncate_chars(message.text.clone(), 200)
        );
    }
}

fn every_button_carries_data_telegram_accepts(app: &TestApp) {
    let sent = app.telegram.sent();
    // BUG if this fails: a forged press on `cw:{number}:dept:{department}` echoes the department
    // into the callback data of the nature buttons (src/telegram/complaint_view.rs,
    // `nature_keyboard_for`), so that data can exceed Telegram's 64 bytes; the real Bot API then
    // refuses the whole message and the presser gets no answer.
    let oversized: Vec<(i64, String)> = sent
        .iter()
        .flat_map(|m| {
            let data = callback_data(m.reply_markup.as_ref());
            data.into_iter().map(move |d| (m.chat_id, d))
        })
        .filter(|(_, d)| d.is_empty() || d.len() > MAX_CALLBACK_DATA_BYTES)
        .collect();
    assert!(
        oversized.is_empty(),
        "BUG: {} button(s) carry callback data Telegram refuses (1-{MAX_CALLBACK_DATA_BYTES} bytes), e.g. {:?}",
        oversized.len(),
        oversized.iter().take(3).collect::<Vec<_>>()
    );
}

fn callback_data(markup: Option<&serde_json::Value>) -> Vec<String> {
    let Some(rows) = markup.and_then(|m| m["inline_keyboard"].as_array()) else { return Vec::new() };
    rows.iter()
        .filter_map(|row| row.as_array())
        .flatten()
        .filter_map(|button| button["callback_data"].as_str().map(str::to_owned))
        .collect()
}

async fn stored_text_reads_back_byte_for_byte(app: &TestApp, plan: &Plan, followed: &[Followed]) {
    let mut conn = app.ctx.db.pool().acquire().await.expect("connection");
    for (index, customer) in followed.iter().enumerate() {
        // Newest first; the clock stands still, so the order is the order of insertion.
        let mut stored = interactions::latest(&mut conn, customer.id, 1_000_000).await.expect("interactions");
        stored.reverse();
        let stored: Vec<(String, &str)> = stored.iter().map(|i| (i.kind.clone(), i.notes.as_str())).collect();
        let sent: Vec<(String, &str)> = plan
            .notes
            .iter()
            .filter(|(c, _, _)| *c == index)
            .map(|(_, action, notes)| (action.as_str().to_owned(), notes.as_str()))
            .collect();
        assert_same_texts(&format!("{} notes", customer.archive_no), &sent, &stored);

        let open = tasks::open(&mut conn).await.expect("tasks");
        let stored: Vec<(String, &str)> = open
            .iter()
            .filter(|t| t.customer == Some(customer.id) && t.kind == TaskKind::ArchiveUpdate)
            .map(|t| (String::new(), t.details.as_str()))
            .collect();
        let sent: Vec<(String, &str)> =
            plan.infos.iter().filter(|(c, _)| *c == index).map(|(_, text)| (String::new(), text.as_str())).collect();
        assert_same_texts(&format!("{} new information", customer.archive_no), &sent, &stored);
    }
    for (chat, form) in &plan.complaints {
        let stored = complaint_store::by_submitter(&mut conn, *chat, 10).await.expect("complaints");
        assert_eq!(stored.len(), 1, "customer {chat} filed exactly one complaint");
        let stored = &stored[0].form;
        for (field, sent, kept) in [
            ("company", Some(&form.customer_name), Some(&stored.customer_name)),
            ("address", form.address.as_ref(), stored.address.as_ref()),
            ("contact", form.contact_name.as_ref(), stored.contact_name.as_ref()),
            ("phone", form.contact_phone.as_ref(), stored.contact_phone.as_ref()),
            ("description", Some(&form.description), Some(&stored.description)),
            ("request", Some(&form.request), Some(&stored.request)),
        ] {
            let (sent, kept) = (sent.map(String::as_str), kept.map(String::as_str));
            assert!(
                sent.map(str::as_bytes) == kept.map(str::as_bytes),
                "BUG: complaint of {chat}, {field}: stored {kept:?} differs from sent {sent:?}"
            );
        }
    }
    println!(
        "fuzz storage: {} notes, {} new informations and {} complaint forms read back byte for byte",
        plan.notes.len(),
        plan.infos.len(),
        plan.complaints.len()
    );
}

fn assert_same_texts(what: &str, sent: &[(String, &str)], stored: &[(String, &str)]) {
    for (n, (s, k)) in sent.iter().zip(stored).enumerate() {
        let first_difference = s.1.bytes().zip(k.1.bytes()).position(|(a, b)| a != b);
        assert!(
            s.0 == k.0 && s.1.as_bytes() == k.1.as_bytes(),
            "BUG: {what} #{n}: stored {:?} {:?} differs from sent {:?} {:?} (first differing byte: {first_difference:?})",
            k.0,
            k.1,
            s.0,
            s.1
        );
    }
    assert_eq!(sent.len(), stored.len(), "{what}: {} sent, {} stored", sent.len(), stored.len());
}

/// The text with one character (or, if empty, nothing) replaced by NUL: no longer than before.
fn with_nul(rng: &mut StdRng, text: String) -> String {
    let chars = text.chars().count();
    if chars == 0 {
        return "\0".to_owned();
    }
    let at = rng.random_range(0..chars);
    text.chars().enumerate().map(|(i, c)| if i == at { '\0' } else { c }).collect()
}

fn truncate_chars(mut text: String, max: usize) -> String {
    if let Some((at, _)) = text.char_indices().nth(max) {
        text.truncate(at);
    }
    text
}

fn truncate_bytes(mut text: String, max: usize) -> String {
    while text.len() > max {
        text.pop();
    }
    text
}

fn preview(input: &Input) -> String {
    let text = match input {
        Input::Text(t) => t.clone(),
        Input::Press { data, .. } => format!("[press] {data}"),
    };
    format!("{:?}", truncate_chars(text, 120))
}

/// Pieces of hostile text.
const HOSTILE: &[&str] = &[
    // Emoji: ZWJ sequences, skin tones, flags, keycaps, variation selectors.
    "👨‍👩‍👧‍👦",
    "🧑🏿‍🚀",
    "👍🏽",
    "🏳️‍🌈",
    "🇨🇳🇹🇼",
    "1️⃣",
    "❤️‍🔥",
    "🫠",
    "😀",
    "\u{1F3FB}",
    // Right-to-left text and bidi controls.
    "مرحبا بالعالم",
    "שָׁלוֹם עוֹלָם",
    "\u{202E}txet desrever\u{202C}",
    "\u{200F}\u{200E}",
    "\u{2067}عزل\u{2069}",
    "\u{202B}embedding\u{202C}",
    "\u{061C}",
    // Combining marks.
    "e\u{301}\u{302}\u{303}\u{304}",
    "Z\u{334}\u{321}\u{32a}\u{30d}a\u{338}\u{32a}l\u{336}\u{34a}g\u{338}o\u{336}\u{35c}",
    "\u{20DD}",
    "ﷺ",
    // Invisible characters, byte-order mark, noncharacters, private use, replacement.
    "\u{FEFF}",
    "\u{200B}",
    "\u{200C}\u{200D}",
    "\u{2060}",
    "\u{00AD}",
    "\u{FFFF}",
    "\u{FFFE}",
    "\u{FDD0}",
    "\u{10FFFF}",
    "\u{E000}",
    "\u{FFFD}",
    // Unusual whitespace and line breaks.
    "\u{3000}",
    "\u{2028}",
    "\u{2029}",
    "\u{0085}",
    "\u{00A0}",
    "\t",
    "\r\n",
    "\r",
    "\u{000B}\u{000C}",
    // Control characters and terminal escapes (NUL is added on purpose elsewhere).
    "\u{1}\u{2}\u{7}\u{8}",
    "\u{1b}[31mred\u{1b}[0m",
    "\u{7f}",
    "\u{9b}",
    // Chinese, astral CJK, fullwidth forms.
    "客户投诉处理",
    "𠀀𪚥𩸽",
    "ＫＨ－０００００１",
    "／help",
    // SQL.
    "'; DROP TABLE customers; --",
    "1' OR '1'='1",
    "\" OR \"\"=\"",
    "'); DELETE FROM outbox; --",
    "%",
    "_",
    "\\",
    "\\%",
    "$1",
    "?",
    "::text",
    "' || (SELECT sqlite_version()) || '",
    "E'\\x00'",
    // HTML.
    "<b>bold</b>",
    "<script>alert(1)</script>",
    "&amp;&lt;&gt;&quot;&#39;&#0;",
    "<a href=\"tg://user?id=1\">x</a>",
    "</code></pre>",
    "<img src=x onerror=alert(1)>",
    // MarkdownV2.
    "_*[]()~`>#+-=|{}.!",
    "*bold* _italic_ __underline__ ~strike~ ||spoiler||",
    "[link](http://example.com)",
    "```rust\nfn main() {}\n```",
    "\\_\\*\\[",
    "`",
    ">quote",
    // Template placeholders and format strings.
    "{reference}",
    "{name}",
    "{{number}}",
    "{archive_no}",
    "{",
    "}",
    "%s%n%d",
    "{0}",
    "${HOME}",
    // JSON and our own formats.
    "{\"kind\":\"new_customer\"}",
    "\"}]}",
    "TS-20260105-0001",
    "KH-999999",
    "tier:A",
    "cw:TS-20260105-0001:accept",
    // Numbers.
    "9223372036854775808",
    "-1",
    "0",
    "NaN",
    "１２３",
];

/// Command names the parser knows (English and Chinese), and some it does not.
const COMMANDS: &[&str] = &[
    "start",
    "help",
    "帮助",
    "cancel",
    "取消",
    "customers",
    "客户列表",
    "我的客户",
    "customer",
    "客户",
    "newcustomer",
    "新客户",
    "call",
    "电话",
    "visit",
    "拜访",
    "due",
    "待办",
    "complain",
    "投诉",
    "status",
    "查询",
    "mycomplaints",
    "我的投诉",
    "newcomplaint",
    "登记投诉",
    "complaints",
    "投诉列表",
    "complaint",
    "投诉单",
    "link",
    "关联",
    "duty",
    "值班",
    "report",
    "报表",
    "revisit",
    "回访",
    "info",
    "新信息",
    "tier",
    "调级",
    "tasks",
    "任务",
    "done",
    "完成",
    "credit",
    "信用",
    "birthday",
    "生日",
    "contactcode",
    "联系人码",
    "request",
    "申请",
    "audit",
    "查阅记录",
    "deal",
    "成交",
    "export",
    "导出",
    "handover",
    "交接",
    "frobnicate",
    "",
    "🙂",
    "\u{202E}pleh",
];

/// Arguments with a shape some command expects.
const ARGUMENTS: &[&str] = &[
    "on",
    "on 8",
    "on 999",
    "off",
    "上班 72",
    "complaints 2026-11",
    "投诉 2026-Q4",
    "complaints 9999-99",
    "full",
    "全部",
    "1 2",
    "9001 9004 KH-000001 leave",
    "#1 电话=021-1234",
    "TS-20260105-0001 5 好",
    "TS-20260105-0001 0",
    "TS-20260105-0001",
    "TS-99999999-9999",
    "KH-000001 A",
    "ABCDEFGHJK",
    "\"",
    "“”",
    "「」",
];

/// Button data: what the bot offers, stale, and forged.
const PRESSES: &[&str] = &[
    "pick:1",
    "pick:-1",
    "pick:99999999999999999999",
    "tier:A",
    "tier:b",
    "tier:Z",
    "tier:",
    "cw:TS-20260105-0001:accept",
    "cw:TS-20260105-0001:reject",
    "cw:TS-20260105-0001:view",
    "cw:TS-20260105-0001:dept:quality",
    "cw:TS-20260105-0001:dept:xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    "cw:TS-20260105-0001:assign:quality:urgent",
    "cw:TS-20260105-0002:report",
    "cw:TS-20260105-0001:method:discount",
    "cw:garbage",
    "cw:",
    "cc:TS-20260105-0001:yes",
    "cc:TS-20260105-0001:no",
    "cc:TS-20260105-0001:rate5",
    "cc:TS-20260105-0001:rate999",
    "cc:TS-20260105-0001:rate",
    "cc:x",
    "form:submit",
    "form:done",
    "form:cancel",
    "form:",
    "intake:phone",
    "intake:telegram",
    "intake:",
    "menu:complain",
    "menu:mine",
    "menu:",
    "ar:1:yes",
    "ar:1:maybe",
    "ho:1:yes",
    "ho:1:no",
    "ex:1:yes",
    "pg:1:no",
    "pg:x:yes",
    ":",
    "::::",
    "",
];
