//! Update handling throughput: the whole bot against a bare teloxide echo bot.
//!
//! What it measures: how many Telegram updates a second the real app handles end to end, and
//! how many complaints a second that is, when N customers (distinct private chats) each file a
//! complaint through the customer dialogue at the same time. Each customer sends 9 updates and
//! waits for the bot's answer to each before sending the next, as a person does:
//! `/complain`, the company, the address (`-`), the contact, the phone, what happened, what
//! they ask for, a text that ends the attachments step, and the "submit" button under the
//! summary. A complaint is complete when the acceptance reply with its `TS-…` number reaches
//! the fake Bot API. The same N chats then send 9 texts each to a bare teloxide echo bot (one
//! `Dispatcher` endpoint doing `bot.send_message(msg.chat.id, text)`) on the same fake server
//! in the same process, which is what the framework alone costs for the same updates. On each
//! database, two **durable echo bots** (`benches/durable_echo/mod.rs`) answer the same texts
//! too, keeping only what the durability rules ask (each update recorded once, each reply
//! queued before it is sent and marked sent after): one transaction per update, and the same
//! records group-committed. They show what those rules alone cost on this machine.
//!
//! Why: every update of ours reads the sender's staff record and dialogue state, writes the
//! new state, and queues its reply in the outbox, from which the worker claims, sends and
//! completes it; the echo bot does none of that. The project asks that our bot stays within
//! 2x of the bare framework in updates a second; the bench prints the ratio.
//!
//! How: `tests/api/helpers/fake_telegram.rs` (an in-process fake Bot API over real HTTP on
//! 127.0.0.1) serves both bots, one after the other, never both at once. Our app is built as
//! the tests build it (`Settings::load_with`, `startup::build_context` with a `FixedClock` on
//! a working-day morning) on a fresh SQLite file in a temp dir, and optionally a fresh
//! PostgreSQL database, and started with `startup::start` and `Tasks { tick_every_minute:
//! false, background_worker: true }`: the dispatcher and the outbox worker run, the minute
//! tick does not. Telegram's flood limits in our settings are raised to 10,000 a second
//! overall and per chat, because this measures handling, not pacing (real Telegram allows 30
//! a second overall and 1 a second per chat, which would cap the run at 30 replies a second).
//! Two service staff are on the books, so each complaint also alerts them, as in production;
//! their alerts are counted in "bot sends" but are not what the driver waits for. Before each
//! timed run, 10 other customers go through the same script untimed (connections, prepared
//! statements). Elapsed time runs from the first update queued to the last expected answer
//! received; the reply latency is from queuing an update to the fake accepting its answer.
//! The bots, the fake server and the driver share one tokio runtime on this machine's cores.
//!
//! Run it with `cargo bench --bench updates`. Environment variables:
//!
//! - `GUANXI_BENCH_CUSTOMERS`: customers (chats) per timed run, default 200.
//! - `GUANXI_BENCH_ROUNDS`: rounds, default 5. Each round runs every bot once, each on a fresh
//!   app and database; the verdict compares the median rates. One timed run of the echo bot
//!   lasts about a tenth of a second, so one round alone swings by a third with whatever else
//!   this machine is doing at that moment.
//! - `GUANXI_BENCH_STAFF`: service staff alerted of each complaint, default 2.
//! - `GUANXI_BENCH_PG`: a PostgreSQL URL (e.g. `postgres://postgres@127.0.0.1:5432/test`); our
//!   bot then also runs on a fresh database `guanxi_bench_<pid>` beside it, dropped at the end.
//! - `GUANXI_BENCH_SQLITE=0`: skip our bot on SQLite.
//! - `GUANXI_BENCH_DURABLE=0`: skip the durable echo bots.
//! - `GUANXI_BENCH_ECHO=0`: skip the bare echo bot, to profile the others alone (no verdict is
//!   printed then).
//! - `GUANXI_BENCH_PERF_CTL`: the control FIFO of a `perf record -D -1 --control fifo:<path>`
//!   running this bench; sampling is then on during the timed runs only (not the warm-up,
//!   set-up or the `SELECT 1` floor).
//! - `GUANXI_BENCH_LOG`: a tracing filter for stderr (e.g. `guanxi=debug`).
//!
//! Output: a Markdown table on stdout, one row per round, bot and database, then for each of
//! our runs the ratio of the medians and the spread of the rounds' own ratios; progress goes
//! to stderr. "CPU per update" is this process's CPU time over the timed run (every
//! thread, user and system, in ticks of 10 ms) divided by its updates: it varies less from
//! run to run than the rate on a shared machine, so it shows a change's cost where the rate
//! is lost in noise. It leaves out PostgreSQL's own processes.

mod common;
mod durable_echo;
#[path = "../tests/api/helpers/fake_telegram.rs"]
mod fake_telegram;

use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use chrono::{DateTime, Utc};
use guanxi::clock::FixedClock;
use guanxi::config::Settings;
use guanxi::domain::ids::TelegramUserId;
use guanxi::domain::staff::Role;
use guanxi::email::Mailer;
use guanxi::locale::Locale;
use guanxi::services::{self, Ctx};
use guanxi::startup::{self, Tasks};
use guanxi::telegram;
use guanxi::templates::keys;
use teloxide::dispatching::UpdateHandler;
use teloxide::error_handlers::LoggingErrorHandler;
use teloxide::prelude::*;
use teloxide::stop::StopToken;
use teloxide::update_listeners::{UpdateListener, polling_default};

use common::{Backend, NOW, Place, env_flag};
use fake_telegram::{FakeTelegram, SentMessage, TgUser};

const TOKEN: &str = "123456:BENCH-guanxi";
const ECHO_TOKEN: &str = "654321:BENCH-echo";
/// Updates each customer sends.
const STEPS: usize = 9;
/// What a customer types at each step but the last (a button press for our bot, a text
/// for the echo bot). Step 1, the company, gets the customer's number appended.
const TEXTS: [&str; STEPS] = [
    "/complain",
    "基准测试机械有限公司",
    "-",
    "王建国",
    "139 0000 1111",
    "上周到货的轴承有 30 件尺寸超差",
    "退货并补发合格品",
    "无",
    "提交",
];
/// Customers who go through the script untimed before each timed run.
const WARM_UP: usize = 10;
/// Chat ids of the warm-up customers, then of the timed ones.
const WARM_UP_FIRST_ID: i64 = 5_000_000;
const TIMED_FIRST_ID: i64 = 5_100_000;
/// Telegram ids of the service staff.
const STAFF_FIRST_ID: i64 = 8_000_000;
/// A run fails when no expected answer arrives for this long.
const STALL: Duration = Duration::from_secs(30);
/// How long a bot may take to stop once asked.
const STOP_WITHIN: Duration = Duration::from_secs(30);

fn main() -> ExitCode {
    if let Some(filter) = env_flag("GUANXI_BENCH_LOG") {
        match tracing_subscriber::EnvFilter::try_new(filter) {
            Ok(filter) => tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init(),
            Err(error) => {
                eprintln!("GUANXI_BENCH_LOG: {error}");
                return ExitCode::FAILURE;
            }
        }
    }
    let result = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(anyhow::Error::from)
        .and_then(|runtime| runtime.block_on(run()));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("updates bench failed: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// The bots of a run, as the table names them.
const ECHO: &str = "teloxide echo";
const DURABLE_PER_UPDATE: &str = "durable echo, a transaction per update";
const DURABLE_GROUP_COMMIT: &str = "durable echo, group commit";
const GUANXI: &str = "guanxi";

/// Which bot a run drives, which decides what it sends at the last step and expects back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Script {
    /// Our bot: the complaint form, submitted with the button.
    Complaint,
    /// The echo bot: the same texts, each echoed.
    Echo,
}

/// What one timed run measured.
struct Run {
    /// Which round of the bench (1, 2, …): each round runs every bot once, one after the
    /// other, so the runs of one round met the same machine.
    round: usize,
    bot: &'static str,
    database: &'static str,
    customers: usize,
    elapsed: Duration,
    /// This process's CPU time (every thread's, user and system) during the run: the bot's
    /// work, the fake's and the driver's, but not PostgreSQL's.
    cpu: Duration,
    /// Every `sendMessage` the bot made during the run, alerts to staff included.
    bot_sends: usize,
    /// Per update: from queuing it to the fake accepting the answer.
    latencies: Vec<Duration>,
    /// Our bot: what one trivial statement costs on this database (see `statement_floor`).
    floor: Option<StatementFloor>,
}

/// The cost of one trivial statement (`SELECT 1`) with nothing else running, as throughput:
/// as many tasks as the run had customers each run statements one after another, through
/// the pool (a connection checked out and returned around each, as most of the app's
/// statements are) and, for comparison, on one connection held throughout by one task. An
/// update needs several statements (its dedup record, the dialogue state read and written,
/// the reply queued, claimed, its send slot booked, completed); their number times this is
/// what the database alone costs per update, however the code around it is arranged.
#[derive(Debug, Clone, Copy)]
struct StatementFloor {
    through_pool: Duration,
    held_connection: Duration,
}

const FLOOR_STATEMENTS: u32 = 4_000;

async fn statement_floor(ctx: &Ctx, tasks: usize) -> anyhow::Result<StatementFloor> {
    let pool = ctx.db.pool().clone();
    let each = FLOOR_STATEMENTS / u32::try_from(tasks.max(1)).unwrap_or(1);
    let started = Instant::now();
    let mut running = tokio::task::JoinSet::new();
    for _ in 0..tasks.max(1) {
        let pool = pool.clone();
        running.spawn(async move {
            for _ in 0..each.max(1) {
                let _: i32 = sqlx::query_scalar("SELECT 1").fetch_one(&pool).await?;
            }
            Ok::<(), sqlx::Error>(())
        });
    }
    while let Some(done) = running.join_next().await {
        done??;
    }
    let through_pool = started.elapsed() / (each.max(1) * u32::try_from(tasks.max(1)).unwrap_or(1));
    let mut conn = pool.acquire().await?;
    let started = Instant::now();
    for _ in 0..FLOOR_STATEMENTS {
        let _: i32 = sqlx::query_scalar("SELECT 1").fetch_one(&mut *conn).await?;
    }
    Ok(StatementFloor { through_pool, held_connection: started.elapsed() / FLOOR_STATEMENTS })
}

impl Run {
    fn in_round(self, round: usize) -> Self {
        Self { round, ..self }
    }

    fn updates(&self) -> usize {
        self.customers * STEPS
    }

    fn updates_per_sec(&self) -> f64 {
        self.updates() as f64 / self.elapsed.as_secs_f64()
    }
}

async fn run() -> anyhow::Result<()> {
    let customers: usize =
        env_flag("GUANXI_BENCH_CUSTOMERS").map(|n| n.replace('_', "").parse()).transpose()?.unwrap_or(200);
    let staff: usize = env_flag("GUANXI_BENCH_STAFF").map(|n| n.parse()).transpose()?.unwrap_or(2);
    let rounds: usize = env_flag("GUANXI_BENCH_ROUNDS").map(|n| n.parse()).transpose()?.unwrap_or(5);
    ensure!(customers > 0, "GUANXI_BENCH_CUSTOMERS must be at least 1");
    ensure!(rounds > 0, "GUANXI_BENCH_ROUNDS must be at least 1");
    let mut backends = Vec::new();
    if env_flag("GUANXI_BENCH_SQLITE").as_deref() != Some("0") {
        backends.push(Backend::Sqlite);
    }
    if env_flag("GUANXI_BENCH_PG").is_some() {
        backends.push(Backend::Postgres);
    }
    let durable = env_flag("GUANXI_BENCH_DURABLE").as_deref() != Some("0");
    let echo = env_flag("GUANXI_BENCH_ECHO").as_deref() != Some("0");

    let fake = FakeTelegram::start().await;
    let mut runs = Vec::new();
    for round in 1..=rounds {
        eprintln!("round {round} of {rounds}");
        if echo {
            eprintln!("echo bot: {customers} customers × {STEPS} updates…");
            runs.push(run_echo(&fake, customers).await.context("the echo bot")?.in_round(round));
        }
        for &backend in &backends {
            if durable {
                runs.extend(
                    run_durable_echoes(&fake, backend, customers).await?.into_iter().map(|r| r.in_round(round)),
                );
            }
            eprintln!("guanxi on {}: {customers} customers × {STEPS} updates…", backend.name());
            let place = Place::create(backend).await?;
            let run = run_guanxi(&fake, backend, place.url(), customers, staff).await;
            let removed = place.remove().await;
            runs.push(run.with_context(|| format!("our bot on {}", backend.name()))?.in_round(round));
            removed?;
        }
    }
    print_table(&runs, staff);
    Ok(())
}

async fn run_echo(fake: &FakeTelegram, customers: usize) -> anyhow::Result<Run> {
    let handler = Update::filter_message().endpoint(|bot: Bot, msg: Message| async move {
        if let Some(text) = msg.text() {
            bot.send_message(msg.chat.id, text).await?;
        }
        Ok::<(), anyhow::Error>(())
    });
    let (elapsed, cpu, bot_sends, latencies) = run_echo_script(fake, customers, handler, DependencyMap::new()).await?;
    Ok(Run { round: 0, bot: ECHO, database: "—", customers, elapsed, cpu, bot_sends, latencies, floor: None })
}

/// The durable echo bots (`durable_echo`) on a fresh database of `backend`.
async fn run_durable_echoes(fake: &FakeTelegram, backend: Backend, customers: usize) -> anyhow::Result<Vec<Run>> {
    let mut runs = Vec::new();
    for bot in [DURABLE_PER_UPDATE, DURABLE_GROUP_COMMIT] {
        eprintln!("{bot} on {}: {customers} customers × {STEPS} updates…", backend.name());
        let place = Place::create(backend).await?;
        let run = run_durable_echo(fake, bot, place.url(), customers).await;
        let removed = place.remove().await;
        let mut run = run.with_context(|| format!("{bot} on {}", backend.name()))?;
        removed?;
        run.database = backend.name();
        runs.push(run);
    }
    Ok(runs)
}

async fn run_durable_echo(fake: &FakeTelegram, bot: &'static str, url: &str, customers: usize) -> anyhow::Result<Run> {
    let db = durable_echo::prepare(url).await?;
    let mut committer_tasks = Vec::new();
    let measured = if bot == DURABLE_PER_UPDATE {
        let handler = Update::filter_message().endpoint(durable_echo::per_update);
        run_echo_script(fake, customers, handler, dptree::deps![db.clone()]).await
    } else {
        let (commit, tasks) = durable_echo::GroupCommit::start(&db);
        committer_tasks = tasks;
        let handler = Update::filter_message().endpoint(durable_echo::group_committed);
        run_echo_script(fake, customers, handler, dptree::deps![commit]).await
    };
    // The dispatcher (and with it every committer handle) is gone: the committers write what
    // they hold and end.
    for task in committer_tasks {
        task.await?;
    }
    let sent = durable_echo::replies_sent(&db).await;
    db.close().await;
    let (elapsed, cpu, bot_sends, latencies) = measured?;
    let expected = ((WARM_UP + customers) * STEPS) as i64;
    ensure!(sent? == expected, "replies marked sent: expected {expected}");
    Ok(Run { round: 0, bot, database: "", customers, elapsed, cpu, bot_sends, latencies, floor: None })
}

/// Run an echo-like `handler` with `deps` in a dispatcher of its own: the warm-up customers,
/// then the timed ones, both through the echo script.
async fn run_echo_script(
    fake: &FakeTelegram,
    customers: usize,
    handler: UpdateHandler<anyhow::Error>,
    deps: DependencyMap,
) -> anyhow::Result<(Duration, Duration, usize, Vec<Duration>)> {
    let bot = Bot::new(ECHO_TOKEN).set_api_url(fake.api_url().parse()?);
    let mut dispatcher = Dispatcher::builder(bot.clone(), handler).dependencies(deps).build();
    let polls = fake.calls("getupdates");
    // What `dispatch()` listens with, built here to keep its stop token (see `stop_dispatcher`).
    let mut listener = polling_default(bot).await;
    let stop = listener.stop_token();
    let task = tokio::spawn(async move {
        let errors = LoggingErrorHandler::with_custom_text("An error from the update listener");
        dispatcher.dispatch_with_listener(listener, errors).await
    });
    wait_for_polling(fake, polls).await?;
    let measured = async {
        drive(fake, Script::Echo, None, WARM_UP_FIRST_ID, WARM_UP).await?;
        drive(fake, Script::Echo, None, TIMED_FIRST_ID, customers).await
    }
    .await;
    stop_dispatcher(&stop, task).await;
    measured
}

async fn run_guanxi(
    fake: &FakeTelegram,
    backend: Backend,
    url: &str,
    customers: usize,
    staff: usize,
) -> anyhow::Result<Run> {
    let mail_dir = tempfile::Builder::new().prefix("guanxi-bench-mail-").tempdir()?;
    let env: HashMap<&str, String> = HashMap::from([
        ("TELOXIDE_TOKEN", TOKEN.to_owned()),
        ("TELOXIDE_API_URL", fake.api_url()),
        ("DATABASE_URL", url.to_owned()),
        ("GUANXI_MAIL_DIR", mail_dir.path().display().to_string()),
    ]);
    let mut settings = Settings::load_with(None, |k| env.get(k).cloned()).context("bench settings")?;
    // Handling, not pacing: Telegram's limits would cap the run at 30 replies a second.
    settings.rate_limits.messages_per_sec_overall = 10_000;
    settings.rate_limits.messages_per_sec_chat = 10_000;
    settings.rate_limits.messages_per_min_chat = 100_000;
    common::senders_from_env(&mut settings)?;
    let now: DateTime<Utc> = NOW.parse()?;
    let ctx = startup::build_context(settings, Arc::new(FixedClock(now))).await.context("building the app")?;
    for s in 0..staff {
        let id = TelegramUserId(STAFF_FIRST_ID + s as i64);
        services::staff::add(&ctx, id, &format!("客服{s}"), Role::Service, None, None).await?;
    }
    let bot = telegram::build_bot(&ctx.settings, TOKEN);
    let mailer = Mailer::new(&ctx.settings.mail, &ctx.settings.mail_from)?;
    let polls = fake.calls("getupdates");
    let tasks = Tasks { tick_every_minute: false, background_worker: true };
    let running = startup::start(&ctx, bot, mailer, tasks).await.context("starting the app")?;
    let measured = async {
        wait_for_polling(fake, polls).await?;
        drive(fake, Script::Complaint, Some(&ctx), WARM_UP_FIRST_ID, WARM_UP).await?;
        drive(fake, Script::Complaint, Some(&ctx), TIMED_FIRST_ID, customers).await
    }
    .await;
    if let Err(error) = running.stop().await {
        eprintln!("warning: our bot: {error:#}");
    }
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM complaints").fetch_one(ctx.db.pool()).await?;
    let floor = statement_floor(&ctx, customers).await?;
    ctx.db.close().await;
    let (elapsed, cpu, bot_sends, latencies) = measured?;
    ensure!(stored == (WARM_UP + customers) as i64, "{stored} complaints stored, expected {}", WARM_UP + customers);
    Ok(Run {
        round: 0,
        bot: GUANXI,
        database: backend.name(),
        customers,
        elapsed,
        cpu,
        bot_sends,
        latencies,
        floor: Some(floor),
    })
}

/// Wait until the bot has asked for updates at least once more than `before` times.
async fn wait_for_polling(fake: &FakeTelegram, before: usize) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while fake.calls("getupdates") <= before {
        ensure!(Instant::now() < deadline, "the bot did not start polling within 10 s");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Ok(())
}

/// Ask the dispatcher to stop and wait for its task to end.
///
/// Through the listener's stop flag, as `startup` stops ours: teloxide 0.17's `ShutdownToken`
/// signals both the request and the completion with `Notify::notify_waiters`, which wakes only
/// tasks already waiting, so either can be missed (a run once hung with the echo bot still
/// long-polling minutes after the request). The deadline stays, with a warning and an abort.
async fn stop_dispatcher(stop: &StopToken, mut task: tokio::task::JoinHandle<()>) {
    stop.stop();
    if tokio::time::timeout(STOP_WITHIN, &mut task).await.is_err() {
        eprintln!("warning: the echo bot did not stop within {STOP_WITHIN:?} of the request; aborted");
        task.abort();
    }
}

/// Play the script for `customers` chats from `first_id` on, all at once, each waiting for
/// the answer to one update before sending the next. Returns the elapsed time, the process's
/// CPU time, the bot's sends during the run and the per-update latencies.
async fn drive(
    fake: &FakeTelegram,
    script: Script,
    ctx: Option<&Ctx>,
    first_id: i64,
    customers: usize,
) -> anyhow::Result<(Duration, Duration, usize, Vec<Duration>)> {
    let expected = ctx.map(|ctx| expected_prompts(ctx, Locale::ZhCn));
    let users: Vec<TgUser> = (0..customers).map(|i| TgUser::new(first_id + i as i64, "基准客户")).collect();
    let mut step = vec![0usize; customers];
    let mut queued_at = vec![Instant::now(); customers];
    let mut latencies = Vec::with_capacity(customers * STEPS);
    let mut by_step: Vec<Vec<Duration>> = (0..STEPS).map(|_| Vec::with_capacity(customers)).collect();
    let mut sent = fake.subscribe_sent();
    let profiled = first_id == TIMED_FIRST_ID;
    if profiled {
        perf_control("enable")?;
    }
    let started = Instant::now();
    let cpu_before = common::process_cpu()?;
    for (i, user) in users.iter().enumerate() {
        fake.push_text(user, &text_for(0, i));
        queued_at[i] = Instant::now();
    }
    let mut completed = 0;
    let mut bot_sends = 0;
    while completed < customers {
        let msg = match tokio::time::timeout(STALL, sent.recv()).await {
            Ok(Some(msg)) => msg,
            Ok(None) => bail!("the fake stopped"),
            Err(_) => bail!(
                "no answer for {STALL:?}: {completed} of {customers} done; customers per step: {:?}",
                (0..=STEPS).map(|s| step.iter().filter(|&&x| x == s).count()).collect::<Vec<_>>()
            ),
        };
        bot_sends += 1;
        let Some(i) = usize::try_from(msg.chat_id - first_id).ok().filter(|&i| i < customers) else {
            continue; // an alert to staff
        };
        let s = step[i];
        ensure!(s < STEPS, "customer {i} got an answer after the last step: {:?}", msg.text);
        latencies.push(msg.at.saturating_duration_since(queued_at[i]));
        by_step[s].push(msg.at.saturating_duration_since(queued_at[i]));
        check_answer(script, expected.as_deref(), s, i, &msg)?;
        step[i] = s + 1;
        if s + 1 == STEPS {
            completed += 1;
            continue;
        }
        match script {
            // The summary's "submit" button, pressed on the message that carries it.
            Script::Complaint if s + 1 == STEPS - 1 => {
                fake.push_callback(&users[i], msg.message_id, "form:submit");
            }
            _ => {
                fake.push_text(&users[i], &text_for(s + 1, i));
            }
        }
        queued_at[i] = Instant::now();
    }
    let elapsed = started.elapsed();
    let cpu = common::process_cpu()?.saturating_sub(cpu_before);
    if profiled {
        perf_control("disable")?;
    }
    // Where the time goes: the answer latency of each step of the script, on stderr.
    for (s, mut step_latencies) in by_step.into_iter().enumerate() {
        step_latencies.sort();
        let (p50, p99) = (percentile(&step_latencies, 0.5), percentile(&step_latencies, 0.99));
        eprintln!("  step {} ({:?}): answer p50 {}, p99 {}", s + 1, TEXTS[s], ms(p50), ms(p99));
    }
    Ok((elapsed, cpu, bot_sends, latencies))
}

/// Tell `perf record --control fifo:…` (started with `-D -1`, disabled) to sample only the
/// timed runs: `GUANXI_BENCH_PERF_CTL` names its control FIFO. Without it, nothing happens.
/// Opened without blocking: with no `perf` reading the FIFO, the bench fails at once instead
/// of waiting for a reader for ever.
fn perf_control(command: &str) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    /// `O_NONBLOCK` on Linux.
    const NONBLOCK: i32 = 0o4000;
    let Some(fifo) = env_flag("GUANXI_BENCH_PERF_CTL") else { return Ok(()) };
    let mut control = std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(NONBLOCK)
        .open(&fifo)
        .with_context(|| format!("opening {fifo} (is `perf record --control fifo:{fifo}` running?)"))?;
    writeln!(control, "{command}").with_context(|| format!("writing to {fifo}"))?;
    Ok(())
}

fn text_for(step: usize, customer: usize) -> String {
    match step {
        1 => format!("{} {customer}", TEXTS[1]),
        s => TEXTS[s].to_owned(),
    }
}

/// Our bot's exact prompts for the first six steps (zh-CN, the customers' locale).
fn expected_prompts(ctx: &Ctx, locale: Locale) -> Vec<String> {
    [
        keys::FORM_ASK_COMPANY,
        keys::FORM_ASK_ADDRESS,
        keys::FORM_ASK_CONTACT,
        keys::FORM_ASK_PHONE,
        keys::FORM_ASK_DESCRIPTION,
        keys::FORM_ASK_REQUEST,
    ]
    .into_iter()
    .map(|key| ctx.templates.render(locale, key, &[]))
    .collect()
}

/// Is `msg` the answer the script expects at `step`? Anything else (an error message, a
/// reply to the wrong step) fails the run rather than counting.
fn check_answer(
    script: Script,
    prompts: Option<&[String]>,
    step: usize,
    customer: usize,
    msg: &SentMessage,
) -> anyhow::Result<()> {
    let has_button = |data: &str| msg.reply_markup.as_ref().is_some_and(|m| m.to_string().contains(data));
    let ok = match (script, step) {
        (Script::Echo, s) => msg.text == text_for(s, customer),
        (Script::Complaint, s) if s < 6 => prompts.is_some_and(|p| msg.text == p[s]),
        (Script::Complaint, 6) => has_button("\"form:done\""),
        (Script::Complaint, 7) => has_button("\"form:submit\""),
        (Script::Complaint, _) => msg.text.contains("TS-"),
    };
    ensure!(ok, "customer {customer}, step {step}: unexpected answer {:?}", msg.text);
    Ok(())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(index).copied().unwrap_or_default()
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn print_table(runs: &[Run], staff: usize) {
    println!(
        "Rate limits of our bot raised to 10,000/s overall and per chat: this measures update handling, \
         not Telegram pacing. {staff} service staff are alerted of each complaint."
    );
    println!();
    println!(
        "| round | bot | database | customers | updates | bot sends | elapsed | updates/s | complaints/s | \
         answer p50 | answer p99 | answer max | CPU per update |"
    );
    println!("|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for run in runs {
        let mut sorted = run.latencies.clone();
        sorted.sort();
        let complaints = match run.bot {
            GUANXI => format!("{:.1}", run.customers as f64 / run.elapsed.as_secs_f64()),
            _ => "—".to_owned(),
        };
        println!(
            "| {} | {} | {} | {} | {} | {} | {:.2} s | {:.0} | {} | {} | {} | {} | {:.0} µs |",
            run.round,
            run.bot,
            run.database,
            run.customers,
            run.updates(),
            run.bot_sends,
            run.elapsed.as_secs_f64(),
            run.updates_per_sec(),
            complaints,
            ms(percentile(&sorted, 0.5)),
            ms(percentile(&sorted, 0.99)),
            ms(sorted.last().copied().unwrap_or_default()),
            micros(run.cpu) / run.updates() as f64,
        );
    }
    let echoes: Vec<&Run> = runs.iter().filter(|r| r.bot == ECHO).collect();
    let Some(echo) = median_run(&echoes) else { return };
    println!();
    // Each bot and database once, in the order they first ran: the rounds interleave them, so
    // `dedup` alone (which drops only neighbours) printed every verdict once per round.
    let mut groups: Vec<(&str, &str)> = Vec::new();
    for group in runs.iter().filter(|r| r.bot != ECHO).map(|r| (r.bot, r.database)) {
        if !groups.contains(&group) {
            groups.push(group);
        }
    }
    for (bot, database) in groups {
        let group: Vec<&Run> = runs.iter().filter(|r| (r.bot, r.database) == (bot, database)).collect();
        let Some(run) = median_run(&group) else { continue };
        let ratio = echo.updates_per_sec() / run.updates_per_sec();
        let verdict = if ratio <= 2.0 { "within" } else { "NOT within" };
        // Each round's pair met the same machine: their ratios show how far the noise goes.
        let mut paired: Vec<f64> = group
            .iter()
            .filter_map(|r| {
                let e = echoes.iter().find(|e| e.round == r.round)?;
                Some(e.updates_per_sec() / r.updates_per_sec())
            })
            .collect();
        paired.sort_by(f64::total_cmp);
        let within = paired.iter().filter(|&&r| r <= 2.0).count();
        println!(
            "- {bot} on {database}: medians of {} rounds, the echo bot {:.0} and ours {:.0} updates a second: the echo \
             bot handles {ratio:.2}x as many ({verdict} 2x). Round by round {:.2}–{:.2}x, within 2x in {within} of {}.",
            group.len(),
            echo.updates_per_sec(),
            run.updates_per_sec(),
            paired.first().copied().unwrap_or_default(),
            paired.last().copied().unwrap_or_default(),
            paired.len(),
        );
        if let Some(floor) = run.floor {
            let per_update = |r: &Run| r.elapsed / u32::try_from(r.updates()).unwrap_or(u32::MAX);
            println!(
                "  - per update (median runs): echo {:.0} µs, ours {:.0} µs; `SELECT 1` alone takes {:.0} µs a \
                 statement through the pool ({:.0} µs on one held connection), so an update of ours costs as much as \
                 about {:.0} such statements, and the echo bot's as {:.1}",
                micros(per_update(echo)),
                micros(per_update(run)),
                micros(floor.through_pool),
                micros(floor.held_connection),
                micros(per_update(run)) / micros(floor.through_pool),
                micros(per_update(echo)) / micros(floor.through_pool),
            );
        }
    }
}

/// The run of median rate (the lower middle one of an even number).
fn median_run<'a>(runs: &[&'a Run]) -> Option<&'a Run> {
    let mut sorted = runs.to_vec();
    sorted.sort_by(|a, b| a.updates_per_sec().total_cmp(&b.updates_per_sec()));
    sorted.get(sorted.len().saturating_sub(1) / 2).copied()
}
