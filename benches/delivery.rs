//! Delivery at Telegram's limits: a burst of reminders, and people answered first meanwhile.
//!
//! What it measures, against the fake Bot API enforcing Telegram's limits (30 sends a second
//! overall, 1 a second per chat, answered with 429 beyond them):
//!
//! 1. **Burst**: M bulk reminders (default 10,000) to C chats (default 2,000, so 5 each,
//!    queued chat by chat: the hardest order for per-chat pacing) are put in the outbox at
//!    once; the app's own worker (`startup::start` with the background worker, default
//!    settings: 30/s overall, 1/s per chat, 4 senders) delivers them. Reported: messages a
//!    second from the first send to the last, 429s, and the busiest second seen by the fake.
//! 2. **Interactive during a burst**: the same burst again, while K customers (default 10)
//!    take turns stepping through the complaint form (one step every 400 ms overall, so each
//!    customer every 4 s — a person's pace, and within Telegram's 20-a-minute per chat).
//!    Reported: the latency from a step's update being queued at the fake to our reply being
//!    accepted by it (p50, p99, max), and the bulk rate meanwhile.
//!
//! Both runs also report the **holes** in the schedule: gaps between two consecutive sends
//! longer than one and a half slots, their time beyond one slot, and the largest (and when it
//! began, from the first send). The schedule's slots are 1.06 s / 30 apart (`jobs::pace`), so
//! the holes are what keeps the rate below its 28.3: this column says whether a shortfall was
//! one stall or many small delays.
//!
//! And the **shortest span of 31 sends** at the fake: Telegram's limit is 30 in any second, so
//! 31 consecutive sends must take at least 1 s. The schedule spaces them 30 slots apart
//! (1,060 ms); how much less they took is the request jitter the run met, and how much more
//! than 1 s is what it could still have absorbed without a 429.
//!
//! The clock of the app runs in real time from a working-day morning, so retries (if any)
//! fall due as they would in production.
//!
//! Run it with `cargo bench --bench delivery`. Environment variables:
//! - `GUANXI_BENCH_MESSAGES` (default 10000), `GUANXI_BENCH_CHATS` (default 2000),
//!   `GUANXI_BENCH_CUSTOMERS` (default 10);
//! - `GUANXI_BENCH_PG`: a PostgreSQL URL; the bench then runs on a fresh database there instead
//!   of SQLite;
//! - `GUANXI_BENCH_LATENCY_MS`: added to every answer of the fake (network round trip), default 0;
//! - `GUANXI_BENCH_SENDERS`: the outbox worker's senders (`[delivery] concurrency`), default
//!   from the rate limits (4 at Telegram's).

mod common;
#[path = "../tests/api/helpers/fake_telegram.rs"]
mod fake_telegram;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use chrono::{DateTime, Utc};
use guanxi::clock::Clock;
use guanxi::config::Settings;
use guanxi::email::Mailer;
use guanxi::jobs::pace::Pace;
use guanxi::services::Ctx;
use guanxi::startup::{self, Running, Tasks};
use guanxi::storage::outbox::{self, Channel, NewMessage, Priority};
use guanxi::telegram;

use common::{Backend, NOW, Place, env_flag};
use fake_telegram::{FakeTelegram, TgUser};

const TOKEN: &str = "123456:BENCH-delivery";
/// Telegram's overall limit a second, as the fake enforces it.
const OVERALL_LIMIT: u32 = 30;
/// Customer chat ids start here, well apart from the reminders' chats.
const CUSTOMER_FIRST_ID: i64 = 900_000;

/// Real time, starting at a fixed working-day morning.
#[derive(Debug)]
struct RunningClock {
    start: Instant,
    at: DateTime<Utc>,
}

impl Clock for RunningClock {
    fn now(&self) -> DateTime<Utc> {
        self.at + chrono::Duration::from_std(self.start.elapsed()).unwrap_or_default()
    }
}

fn number(key: &str, default: usize) -> usize {
    env_flag(key).and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    if let Some(filter) = env_flag("GUANXI_BENCH_LOG") {
        let filter = tracing_subscriber::EnvFilter::try_new(filter).context("GUANXI_BENCH_LOG")?;
        tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
    }
    let messages = number("GUANXI_BENCH_MESSAGES", 10_000);
    let chats = number("GUANXI_BENCH_CHATS", 2_000) as i64;
    let customers = number("GUANXI_BENCH_CUSTOMERS", 10) as i64;
    let backend = if env_flag("GUANXI_BENCH_PG").is_some() { Backend::Postgres } else { Backend::Sqlite };
    let place = Place::create(backend).await?;
    let telegram = FakeTelegram::start().await;
    telegram.enforce_limits(OVERALL_LIMIT, 1);
    if let Some(ms) = env_flag("GUANXI_BENCH_LATENCY_MS").and_then(|v| v.parse().ok()) {
        telegram.set_latency(Duration::from_millis(ms));
    }
    let (ctx, running) = start_app(&telegram, place.url()).await?;
    println!(
        "| run | backend | messages | chats | elapsed | bulk msg/s | 429s | busiest second (overall / one chat) | interactive p50 | p99 | max | samples | holes: count, time, largest (at) | shortest span of 31 sends |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");

    let burst = run_burst(&ctx, &telegram, "burst", messages, chats, 0).await?;
    print_row("burst alone", backend, &burst);
    telegram.clear_sent();
    let with_people = run_burst(&ctx, &telegram, "burst2", messages, chats, customers).await?;
    print_row("burst + customers", backend, &with_people);

    running.stop().await?;
    ctx.db.close().await;
    place.remove().await?;
    ensure!(burst.too_many == 0 && with_people.too_many == 0, "the fake answered 429: limits were exceeded");
    Ok(())
}

async fn start_app(telegram: &FakeTelegram, url: &str) -> anyhow::Result<(Ctx, Running)> {
    let env: HashMap<&str, String> = HashMap::from([
        ("TELOXIDE_TOKEN", TOKEN.to_owned()),
        ("TELOXIDE_API_URL", telegram.api_url()),
        ("DATABASE_URL", url.to_owned()),
        ("GUANXI_MAIL_DIR", std::env::temp_dir().join("guanxi-bench-mail").display().to_string()),
    ]);
    // Telegram's real limits: the defaults.
    let mut settings = Settings::load_with(None, |k| env.get(k).cloned()).context("bench settings")?;
    common::senders_from_env(&mut settings)?;
    let clock = RunningClock { start: Instant::now(), at: NOW.parse()? };
    let ctx = startup::build_context(settings, Arc::new(clock)).await?;
    let bot = telegram::build_bot(&ctx.settings, TOKEN);
    let mailer = Mailer::new(&ctx.settings.mail, &ctx.settings.mail_from)?;
    let tasks = Tasks { tick_every_minute: false, background_worker: true };
    let running = startup::start(&ctx, bot, mailer, tasks).await?;
    Ok((ctx, running))
}

struct Measured {
    messages: usize,
    chats: i64,
    elapsed: Duration,
    rate: f64,
    too_many: usize,
    peak: (usize, usize),
    latencies: Vec<Duration>,
    holes: Holes,
    /// The shortest time 31 consecutive sends took (see the module's doc).
    shortest_span: Option<Duration>,
}

/// Where the shared schedule went unused during a burst: gaps between two consecutive sends
/// (of any kind: the burst, the customers' answers, the staff alerts) longer than one and a
/// half of its slots. What each such gap lasted beyond one slot is time the burst lost, and
/// it is what keeps the rate below the schedule's own ((1 s + 60 ms) / limit).
#[derive(Debug, Default)]
struct Holes {
    count: usize,
    lost: Duration,
    largest: Duration,
    /// When the largest began, from the first send: to line it up with what else ran then.
    largest_at: Duration,
}

impl Holes {
    fn between(mut sends: Vec<Instant>, slot: Duration) -> Self {
        sends.sort();
        let mut holes = Self::default();
        let Some(&first) = sends.first() else { return holes };
        for pair in sends.windows(2) {
            let gap = pair[1] - pair[0];
            if gap <= slot * 3 / 2 {
                continue;
            }
            holes.count += 1;
            holes.lost += gap - slot;
            if gap > holes.largest {
                holes.largest = gap;
                holes.largest_at = pair[0] - first;
            }
        }
        holes
    }
}

async fn run_burst(
    ctx: &Ctx,
    telegram: &FakeTelegram,
    tag: &str,
    messages: usize,
    chats: i64,
    customers: i64,
) -> anyhow::Result<Measured> {
    let before_429 = telegram.too_many_requests();
    let now = ctx.now();
    let mut tx = ctx.db.begin().await?;
    for i in 0..messages {
        let chat = 1 + (i as i64 * chats / messages as i64);
        let msg = NewMessage {
            key: format!("{tag}:{i}"),
            channel: Channel::Telegram,
            recipient: chat.to_string(),
            subject: None,
            body: format!("提醒 {i}：今天请联系客户"),
            reply_markup: None,
            priority: Priority::Bulk,
            not_before: None,
            attachment_name: None,
        };
        outbox::enqueue(&mut tx, &msg, now).await?;
    }
    tx.commit().await?;
    let started = Instant::now();
    ctx.wake_worker.notify_waiters();
    let people = tokio::spawn(customers_meanwhile(telegram.clone(), customers, tag.to_owned()));
    let deadline = started + Duration::from_secs(messages as u64 / 10 + 120);
    loop {
        let bulk = telegram.sent().iter().filter(|m| m.chat_id < CUSTOMER_FIRST_ID).count();
        if bulk >= messages {
            break;
        }
        ensure!(Instant::now() < deadline, "only {bulk} of {messages} reminders arrived in time");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let latencies = {
        people.abort();
        // A customer left without an answer for 10 s panics in `wait_for_sent_to`: that is a
        // failed run, not a shorter list of latencies.
        if let Err(error) = people.await
            && error.is_panic()
        {
            anyhow::bail!(
                "a customer went unanswered during the burst ({} updates not yet fetched by the bot, {} getUpdates \
                 calls so far): {error}",
                telegram.pending_updates(),
                telegram.calls("getupdates")
            );
        }
        LATENCIES.with_latest()
    };
    // Every send of the burst's span (the customers' answers and the staff alerts share the
    // schedule); the burst's own rate is of the reminders alone.
    let all_sent = telegram.sent();
    let sent: Vec<_> = all_sent.iter().filter(|m| m.chat_id < CUSTOMER_FIRST_ID).collect();
    let first = sent.iter().map(|m| m.at).min().context("no sends")?;
    let last = sent.iter().map(|m| m.at).max().context("no sends")?;
    let span = last.duration_since(first);
    let slot = Duration::from_micros(Pace::from_limits(ctx.settings.rate_limits).overall_spacing_us.unsigned_abs());
    let holes = Holes::between(all_sent.iter().map(|m| m.at).filter(|at| (first..=last).contains(at)).collect(), slot);
    if holes.count > 0 {
        // On the wall clock too, to line the stall up with the database's or the system's logs.
        let began = chrono::Utc::now() - (Instant::now() - (first + holes.largest_at));
        eprintln!("{tag}: the largest hole in the schedule began at {}", began.format("%H:%M:%S%.3f UTC"));
    }
    Ok(Measured {
        messages,
        chats,
        elapsed: started.elapsed(),
        rate: (sent.len() - 1) as f64 / span.as_secs_f64(),
        too_many: telegram.too_many_requests() - before_429,
        peak: telegram.peak_sends_per_sec(),
        latencies,
        holes,
        shortest_span: telegram.shortest_span(OVERALL_LIMIT as usize + 1),
    })
}

/// Latencies measured by the customers' task, read when the burst is over.
static LATENCIES: Latencies = Latencies(std::sync::Mutex::new(Vec::new()));

struct Latencies(std::sync::Mutex<Vec<Duration>>);

impl Latencies {
    fn push(&self, d: Duration) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).push(d);
    }

    fn with_latest(&self) -> Vec<Duration> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// The complaint form's steps as a customer types them; the form then ends with two buttons.
const STEPS: [&str; 7] = ["/complain", "某某贸易公司", "-", "王建国", "139 0000 1111", "到货的轴承尺寸超差", "退货"];

/// Customers taking turns, one step every 400 ms overall, until aborted.
async fn customers_meanwhile(telegram: FakeTelegram, customers: i64, tag: String) {
    if customers == 0 {
        return;
    }
    let _ = tag;
    let users: Vec<TgUser> = (0..customers).map(|c| TgUser::new(CUSTOMER_FIRST_ID + c, "客户")).collect();
    let mut step = vec![0usize; users.len()];
    let mut turn = 0usize;
    loop {
        let who = turn % users.len();
        let user = &users[who];
        let before = telegram.sent_to(user.id).len();
        let queued = Instant::now();
        match step[who] {
            s if s < STEPS.len() => {
                telegram.push_text(user, STEPS[s]);
            }
            s => {
                // The attachments step is ended with the button, then the summary is submitted.
                let data = if s == STEPS.len() { "form:done" } else { "form:submit" };
                let offered = telegram
                    .sent_to(user.id)
                    .into_iter()
                    .rev()
                    .find(|m| m.reply_markup.as_ref().is_some_and(|k| k.to_string().contains(data)));
                match offered {
                    Some(m) => {
                        telegram.push_callback(user, m.message_id, data);
                    }
                    None => {
                        step[who] = 0;
                        continue;
                    }
                }
            }
        }
        let polls_before = telegram.calls("getupdates");
        let Ok(replies) =
            tokio::time::timeout(Duration::from_secs(9), telegram.wait_for_sent_to(user.id, before + 1)).await
        else {
            let last_poll = telegram.requests("getupdates").last().cloned();
            panic!(
                "chat {} got no answer within 9 s; updates not fetched by the bot: {}; getUpdates calls \
                 meanwhile: {}; the last one: {last_poll:?}",
                user.id,
                telegram.pending_updates(),
                telegram.calls("getupdates") - polls_before,
            );
        };
        LATENCIES.push(replies[before].at.duration_since(queued));
        step[who] = (step[who] + 1) % (STEPS.len() + 2);
        turn += 1;
        let next = queued + Duration::from_millis(400);
        tokio::time::sleep_until(next.into()).await;
    }
}

fn print_row(run: &str, backend: Backend, r: &Measured) {
    let mut l = r.latencies.clone();
    l.sort();
    let pct = |p: f64| -> String {
        if l.is_empty() {
            return "—".into();
        }
        let i = ((l.len() as f64 * p).ceil() as usize).clamp(1, l.len()) - 1;
        format!("{:.0} ms", l[i].as_secs_f64() * 1e3)
    };
    let max = l.last().map_or("—".into(), |d| format!("{:.0} ms", d.as_secs_f64() * 1e3));
    let span = r.shortest_span.map_or("—".into(), |d| format!("{:.0} ms", d.as_secs_f64() * 1e3));
    println!(
        "| {run} | {} | {} | {} | {:.1} s | {:.2} | {} | {} / {} | {} | {} | {max} | {} | {}, {:.2} s, {:.0} ms at {:.1} s | {span} |",
        backend.name(),
        r.messages,
        r.chats,
        r.elapsed.as_secs_f64(),
        r.rate,
        r.too_many,
        r.peak.0,
        r.peak.1,
        pct(0.5),
        pct(0.99),
        l.len(),
        r.holes.count,
        r.holes.lost.as_secs_f64(),
        r.holes.largest.as_secs_f64() * 1e3,
        r.holes.largest_at.as_secs_f64()
    );
}
