//! An in-process fake of the Telegram Bot API, served over real HTTP on
//! `127.0.0.1`.
//!
//! The bot under test talks to it through an unmodified `teloxide::Bot` whose
//! API URL points here, so the whole stack (serialisation, HTTP, teloxide's
//! response parsing, long polling) is exercised exactly as in production; only
//! Telegram itself is replaced. The JSON shapes returned were checked against
//! the serde definitions in teloxide-core 0.13 (`Me`, `Message`, `Chat`,
//! `CallbackQuery`, `Update`, `WebhookInfo`, `TelegramResponse`).
//!
//! Tests drive the conversation with [`FakeTelegram::push_text`] /
//! [`FakeTelegram::push_callback`] and observe the bot through
//! [`FakeTelegram::sent`], [`FakeTelegram::wait_for_sent_to`] and friends.
//!
//! Two optional modes make it behave more like the real service; both are off
//! unless a test turns them on, and then apply to `sendMessage` and
//! `sendDocument`:
//! - [`FakeTelegram::enforce_limits`]: Telegram's flood limits, checked over a
//!   sliding 1 s window on the real clock; a send over the limit is answered
//!   with HTTP 429 and `retry_after` = 1 and counted
//!   ([`FakeTelegram::too_many_requests`]).
//! - [`FakeTelegram::set_latency`]: every answer is held back for a while, as
//!   a network round trip to Telegram would.
//!
//! Every recorded send carries the real-clock instant it was accepted
//! ([`SentMessage::at`]), so tests can check the rate the bot sent at.
//!
//! Benches include this file too (`#[path = "../tests/api/helpers/fake_telegram.rs"]`),
//! and follow the bot's replies through [`FakeTelegram::subscribe_sent`]
//! instead of polling the whole log.

// Every test binary that includes this helper uses a different subset of it.
#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use serde_json::{Map, Value, json};
use tokio::sync::Notify;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio::time::Instant;

/// User id of the fake bot (what `getMe` reports and what `from` says on
/// every message the bot sends).
pub const BOT_ID: i64 = 7_000_000_001;
/// Username of the fake bot, as reported by `getMe`.
pub const BOT_USERNAME: &str = "guanxi_test_bot";

/// Upper bound for a `getUpdates` long poll. Real Telegram holds the request
/// for up to `timeout` seconds; the fake caps that so a bot shutting down in a
/// test never waits long for its in-flight poll to return.
const MAX_LONG_POLL: Duration = Duration::from_millis(200);
/// How long the `wait_for_*` helpers wait before failing the test.
const WAIT_TIMEOUT: Duration = Duration::from_secs(10);
/// Update ids start well apart from message ids so the two are never confused
/// when reading a failing test's output.
const FIRST_UPDATE_ID: i64 = 1_000;
/// The window Telegram's flood limits are counted over.
const LIMIT_WINDOW: Duration = Duration::from_secs(1);
/// What a 429 from the limits mode tells the bot to wait, in seconds (what
/// Telegram says for a short burst).
const LIMIT_RETRY_AFTER_SECS: u32 = 1;

/// A Telegram user that "talks" to the bot in a private chat (chat id == user
/// id, as in real Telegram).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TgUser {
    pub id: i64,
    pub first_name: String,
    pub language_code: Option<String>,
}

impl TgUser {
    pub fn new(id: i64, first_name: &str) -> Self {
        Self { id, first_name: first_name.to_owned(), language_code: None }
    }

    /// Same user with a Telegram client language (teloxide exposes it as
    /// `User::language_code`, which drives locale selection).
    pub fn with_language(mut self, language_code: &str) -> Self {
        self.language_code = Some(language_code.to_owned());
        self
    }
}

/// One successful `sendMessage` call.
#[derive(Clone, Debug, PartialEq)]
pub struct SentMessage {
    pub chat_id: i64,
    pub message_id: i32,
    pub text: String,
    /// Exactly what the bot sent as `reply_markup` (inline or reply keyboard).
    pub reply_markup: Option<Value>,
    /// When the fake accepted it, on the real clock (not tokio's, which a
    /// test may pause): what Telegram's flood limits are counted against.
    pub at: std::time::Instant,
}

/// One `editMessageText` / `editMessageReplyMarkup` call on a chat message.
#[derive(Clone, Debug, PartialEq)]
pub struct EditedMessage {
    /// `"editmessagetext"` or `"editmessagereplymarkup"`.
    pub method: String,
    pub chat_id: i64,
    pub message_id: i32,
    /// New text; `None` for `editMessageReplyMarkup`.
    pub text: Option<String>,
    /// New markup; `None` means the keyboard was removed.
    pub reply_markup: Option<Value>,
}

/// One successful `sendDocument` call.
#[derive(Clone, Debug, PartialEq)]
pub struct SentDocument {
    pub chat_id: i64,
    pub caption: Option<String>,
    /// File name of the uploaded part, when the document was uploaded.
    pub file_name: Option<String>,
    /// Size in bytes of the uploaded part (0 when sent by file id / URL).
    pub size: usize,
    /// When the fake accepted it, on the real clock.
    pub at: std::time::Instant,
}

/// Handle to a running fake Telegram server. Cheap to clone; all clones share
/// the same server and recorded state.
#[derive(Clone)]
pub struct FakeTelegram {
    inner: Arc<Inner>,
}

struct Inner {
    addr: SocketAddr,
    state: Mutex<Recorded>,
    /// Signalled whenever an update is queued (wakes long polls).
    update_queued: Notify,
    /// Signalled whenever a `sendMessage` succeeds (wakes `wait_for_sent_to`).
    message_sent: Notify,
}

/// A stored chat message, so callbacks and edits can refer back to it.
#[derive(Clone)]
struct StoredMessage {
    text: String,
    reply_markup: Option<Value>,
}

struct FailPlan {
    remaining: usize,
    status: u16,
    retry_after_secs: Option<u32>,
}

/// Telegram's flood limits as the fake enforces them: the instants of the
/// successful sends of the last second, overall and per chat.
struct Limits {
    overall_per_sec: usize,
    per_chat_per_sec: usize,
    overall: VecDeque<std::time::Instant>,
    per_chat: HashMap<i64, VecDeque<std::time::Instant>>,
}

impl Limits {
    fn new(overall_per_sec: u32, per_chat_per_sec: u32) -> Self {
        assert!(overall_per_sec > 0 && per_chat_per_sec > 0, "Telegram's limits are at least 1 a second");
        Self {
            overall_per_sec: overall_per_sec as usize,
            per_chat_per_sec: per_chat_per_sec as usize,
            overall: VecDeque::new(),
            per_chat: HashMap::new(),
        }
    }

    /// Whether a send to `chat_id` at `now` stays within the limits; if it
    /// does, it is counted. A refused send is not: Telegram counts what it
    /// delivered.
    fn admit(&mut self, chat_id: i64, now: std::time::Instant) -> Result<(), &'static str> {
        let recent = |t: &std::time::Instant| now.saturating_duration_since(*t) < LIMIT_WINDOW;
        while self.overall.front().is_some_and(|t| !recent(t)) {
            self.overall.pop_front();
        }
        if self.per_chat.len() > 4096 {
            // Forget chats that have been quiet for a second (a bench talks to thousands).
            self.per_chat.retain(|_, sent| sent.back().is_some_and(recent));
        }
        let chat = self.per_chat.entry(chat_id).or_default();
        while chat.front().is_some_and(|t| !recent(t)) {
            chat.pop_front();
        }
        if self.overall.len() >= self.overall_per_sec {
            return Err("overall");
        }
        if chat.len() >= self.per_chat_per_sec {
            return Err("per chat");
        }
        chat.push_back(now);
        self.overall.push_back(now);
        Ok(())
    }
}

struct Recorded {
    next_update_id: i64,
    next_message_id: i32,
    next_callback_id: u64,
    queue: VecDeque<Value>,
    sent: Vec<SentMessage>,
    messages: HashMap<(i64, i32), StoredMessage>,
    user_names: HashMap<i64, String>,
    my_commands: Vec<(Option<String>, Value)>,
    callback_answers: Vec<Value>,
    edits: Vec<EditedMessage>,
    documents: Vec<SentDocument>,
    /// Every request received: lower-cased method name and its parameters.
    requests: Vec<(String, Value)>,
    fail_plan: Option<FailPlan>,
    /// Telegram's flood limits, when enforced.
    limits: Option<Limits>,
    /// Each send refused with 429 by `limits`: the chat and which limit it broke.
    refused: Vec<(i64, &'static str)>,
    /// How long each `sendMessage` / `sendDocument` answer is held back.
    latency: Option<Duration>,
    /// Who gets a copy of each successful `sendMessage`.
    subscribers: Vec<UnboundedSender<SentMessage>>,
}

impl Recorded {
    fn new() -> Self {
        Self {
            next_update_id: FIRST_UPDATE_ID,
            next_message_id: 1,
            next_callback_id: 1,
            queue: VecDeque::new(),
            sent: Vec::new(),
            messages: HashMap::new(),
            user_names: HashMap::new(),
            my_commands: Vec::new(),
            callback_answers: Vec::new(),
            edits: Vec::new(),
            documents: Vec::new(),
            requests: Vec::new(),
            fail_plan: None,
            limits: None,
            refused: Vec::new(),
            latency: None,
            subscribers: Vec::new(),
        }
    }

    /// Applies the flood limits, if enforced, to a send to `chat_id` now:
    /// `Some(answer)` is the 429 to give instead of sending.
    fn over_limit(&mut self, chat_id: i64) -> Option<Response> {
        let limits = self.limits.as_mut()?;
        let Err(limit) = limits.admit(chat_id, std::time::Instant::now()) else {
            return None;
        };
        self.refused.push((chat_id, limit));
        let retry_after = Some(LIMIT_RETRY_AFTER_SECS);
        Some(error_reply(429, &description_for(429, retry_after), retry_after))
    }

    fn take_message_id(&mut self) -> i32 {
        let id = self.next_message_id;
        self.next_message_id += 1;
        id
    }

    fn enqueue(&mut self, mut update: Value) -> i64 {
        let id = self.next_update_id;
        self.next_update_id += 1;
        match update.as_object_mut() {
            Some(obj) => {
                obj.insert("update_id".to_owned(), json!(id));
            }
            None => panic!("a Telegram update must be a JSON object, got {update}"),
        }
        self.queue.push_back(update);
        id
    }

    /// Applies `getUpdates`' `offset` semantics: a positive offset confirms
    /// (forgets) every update with a smaller id; a negative one keeps only the
    /// last `-offset` updates (teloxide uses `-1` to drop pending updates).
    fn confirm(&mut self, offset: i64) {
        if offset > 0 {
            self.queue.retain(|u| update_id(u) >= offset);
        } else if offset < 0 {
            let keep = usize::try_from(offset.unsigned_abs()).unwrap_or(usize::MAX);
            while self.queue.len() > keep {
                self.queue.pop_front();
            }
        }
    }

    fn chat_json(&self, chat_id: i64) -> Value {
        if chat_id < 0 {
            json!({ "id": chat_id, "type": "group", "title": "Guanxi test group" })
        } else {
            let first_name = self.user_names.get(&chat_id).map_or("Tester", String::as_str);
            json!({ "id": chat_id, "type": "private", "first_name": first_name })
        }
    }

    /// A text `Message` as Telegram returns it. `reply_markup` is only echoed
    /// when it is an inline keyboard: teloxide's `Message::reply_markup` is an
    /// `InlineKeyboardMarkup`, and Telegram never echoes reply keyboards.
    fn text_message_json(
        &self,
        chat_id: i64,
        message_id: i32,
        from: &Value,
        text: &str,
        reply_markup: Option<&Value>,
    ) -> Value {
        let mut msg = json!({
            "message_id": message_id,
            "date": unix_now(),
            "chat": self.chat_json(chat_id),
            "from": from,
            "text": text,
        });
        if let Some(markup) = reply_markup.filter(|m| m.get("inline_keyboard").is_some()) {
            msg["reply_markup"] = markup.clone();
        }
        msg
    }
}

impl FakeTelegram {
    /// Binds `127.0.0.1:0` and serves the fake API on a background task of the
    /// current tokio runtime (so it lives exactly as long as the test).
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind fake Telegram listener");
        let addr = listener.local_addr().expect("fake Telegram local address");
        let fake = Self {
            inner: Arc::new(Inner {
                addr,
                state: Mutex::new(Recorded::new()),
                update_queued: Notify::new(),
                message_sent: Notify::new(),
            }),
        };
        let app = Router::new()
            .route("/{bot}/{method}", any(handle))
            .fallback(|| async { error_reply(404, "Not Found", None) })
            // Documents are uploaded through here; don't cap them at axum's 2 MB.
            .layer(DefaultBodyLimit::disable())
            .with_state(fake.clone());
        tokio::spawn(async move {
            axum::serve(listener, app).await.expect("fake Telegram server failed");
        });
        fake
    }

    /// Base URL to give to `Bot::set_api_url` (parse it with `reqwest::Url` /
    /// `url::Url`); teloxide appends `bot{token}/{Method}`.
    pub fn api_url(&self) -> String {
        format!("http://{}/", self.inner.addr)
    }

    /// Queues a private-chat text message from `from` (chat id == user id).
    /// A leading `/command` gets a `bot_command` entity, as Telegram does.
    /// Returns the update id.
    pub fn push_text(&self, from: &TgUser, text: &str) -> i64 {
        let id = {
            let mut st = self.lock();
            st.user_names.insert(from.id, from.first_name.clone());
            let message_id = st.take_message_id();
            let mut msg = st.text_message_json(from.id, message_id, &user_json(from), text, None);
            if text.starts_with('/') {
                let command = text.split_whitespace().next().unwrap_or(text);
                msg["entities"] = json!([{
                    "type": "bot_command",
                    "offset": 0,
                    // Telegram measures entities in UTF-16 code units.
                    "length": command.encode_utf16().count(),
                }]);
            }
            st.messages.insert((from.id, message_id), StoredMessage { text: text.to_owned(), reply_markup: None });
            st.enqueue(json!({ "message": msg }))
        };
        self.inner.update_queued.notify_waiters();
        id
    }

    /// Queues a callback query (inline button press with `data`) from `from`
    /// on message `message_id` of their private chat. The attached `message`
    /// carries the text and inline keyboard the bot last gave that message, so
    /// teloxide sees a regular (accessible) message. Returns the update id.
    pub fn push_callback(&self, from: &TgUser, message_id: i32, data: &str) -> i64 {
        let id = {
            let mut st = self.lock();
            st.user_names.insert(from.id, from.first_name.clone());
            let stored = st.messages.get(&(from.id, message_id)).cloned();
            let (text, markup) = stored.map_or((String::new(), None), |m| (m.text, m.reply_markup));
            let message = st.text_message_json(from.id, message_id, &bot_user_json(), &text, markup.as_ref());
            let callback_id = st.next_callback_id;
            st.next_callback_id += 1;
            st.enqueue(json!({
                "callback_query": {
                    "id": format!("cbq-{callback_id}"),
                    "from": user_json(from),
                    "message": message,
                    "chat_instance": format!("chat-instance-{}", from.id),
                    "data": data,
                }
            }))
        };
        self.inner.update_queued.notify_waiters();
        id
    }

    /// Queues an arbitrary update object; its `update_id` is assigned (and
    /// overwritten if present). Returns the update id.
    pub fn push_raw_update(&self, update: Value) -> i64 {
        let id = self.lock().enqueue(update);
        self.inner.update_queued.notify_waiters();
        id
    }

    /// Every successful `sendMessage`, in order.
    pub fn sent(&self) -> Vec<SentMessage> {
        self.lock().sent.clone()
    }

    /// Every successful `sendMessage` to `chat_id`, in order.
    pub fn sent_to(&self, chat_id: i64) -> Vec<SentMessage> {
        self.lock().sent.iter().filter(|m| m.chat_id == chat_id).cloned().collect()
    }

    /// Waits until at least `count` messages were sent to `chat_id` and
    /// returns all of them. Panics (showing what did arrive) after 10 s.
    pub async fn wait_for_sent_to(&self, chat_id: i64, count: usize) -> Vec<SentMessage> {
        let deadline = Instant::now() + WAIT_TIMEOUT;
        let got = wait_until(&self.inner.message_sent, deadline, || {
            let msgs = self.sent_to(chat_id);
            (msgs.len() >= count).then_some(msgs)
        })
        .await;
        match got {
            Some(msgs) => msgs,
            None => panic!(
                "timed out after {WAIT_TIMEOUT:?} waiting for {count} message(s) to chat {chat_id}; \
                 that chat got {:#?}\nall sent: {:#?}",
                self.sent_to(chat_id),
                self.sent()
            ),
        }
    }

    /// Updates queued and not yet confirmed by a later `getUpdates` offset.
    pub fn pending_updates(&self) -> usize {
        self.lock().queue.len()
    }

    /// `(language_code, commands)` for each `setMyCommands` call, in order.
    pub fn my_commands(&self) -> Vec<(Option<String>, Value)> {
        self.lock().my_commands.clone()
    }

    /// Parameters of each `answerCallbackQuery` call, in order.
    pub fn callback_answers(&self) -> Vec<Value> {
        self.lock().callback_answers.clone()
    }

    /// Each `editMessageText` / `editMessageReplyMarkup` call, in order.
    pub fn edits(&self) -> Vec<EditedMessage> {
        self.lock().edits.clone()
    }

    /// Each `sendDocument` call, in order.
    pub fn documents(&self) -> Vec<SentDocument> {
        self.lock().documents.clone()
    }

    /// Number of calls of `method` (case-insensitive), failed ones included.
    pub fn calls(&self, method: &str) -> usize {
        self.lock().requests.iter().filter(|(m, _)| m.eq_ignore_ascii_case(method)).count()
    }

    /// Parameters of every call of `method` (case-insensitive), in order —
    /// the generic log for methods without a dedicated accessor.
    pub fn requests(&self, method: &str) -> Vec<Value> {
        self.lock().requests.iter().filter(|(m, _)| m.eq_ignore_ascii_case(method)).map(|(_, p)| p.clone()).collect()
    }

    /// Fault injection for delivery tests: the next `n` `sendMessage` calls
    /// fail with HTTP status and `error_code` `status`. When
    /// `retry_after_secs` is given the answer carries
    /// `parameters.retry_after`, which teloxide surfaces as
    /// `RequestError::RetryAfter`. The description is the one Telegram uses
    /// for that status, so e.g. 403 becomes `ApiError::BotBlocked`.
    ///
    /// Beware: teloxide sleeps 10 s before reading any 5xx answer
    /// (`DELAY_ON_SERVER_ERROR` in teloxide-core), so a 5xx here costs the
    /// bot 10 s per failed call.
    pub fn fail_next_sends(&self, n: usize, status: u16, retry_after_secs: Option<u32>) {
        self.lock().fail_plan = (n > 0).then_some(FailPlan { remaining: n, status, retry_after_secs });
    }

    /// Forgets recorded `sendMessage`s (messages stay known for callbacks).
    pub fn clear_sent(&self) {
        self.lock().sent.clear();
    }

    /// From now on, answer a `sendMessage` / `sendDocument` with HTTP 429
    /// (`parameters.retry_after` = 1, as Telegram does) when it would make
    /// more than `overall_per_sec` successful sends, or more than
    /// `per_chat_per_sec` to its chat, within any 1 s on the real clock.
    /// Refused sends are not recorded as sent; they are counted by
    /// [`Self::too_many_requests`]. A `fail_next_sends` plan still comes first.
    /// Telegram's own limits are `enforce_limits(30, 1)`.
    pub fn enforce_limits(&self, overall_per_sec: u32, per_chat_per_sec: u32) {
        self.lock().limits = Some(Limits::new(overall_per_sec, per_chat_per_sec));
    }

    /// How many sends [`Self::enforce_limits`] refused with 429.
    pub fn too_many_requests(&self) -> usize {
        self.lock().refused.len()
    }

    /// The sends refused with 429: each chat and which limit it broke ("overall", "per chat").
    pub fn refused(&self) -> Vec<(i64, &'static str)> {
        self.lock().refused.clone()
    }

    /// Hold back every `sendMessage` / `sendDocument` answer (429s included)
    /// by `latency`, as a network round trip to Telegram would. The send is
    /// recorded (and counted against the limits) when it arrives; only the
    /// answer is late. `Duration::ZERO` turns it off.
    pub fn set_latency(&self, latency: Duration) {
        self.lock().latency = (!latency.is_zero()).then_some(latency);
    }

    /// The most successful sends (`sendMessage` and `sendDocument`) the fake
    /// accepted within any 1 s: `(overall, to one chat)`. With
    /// [`Self::enforce_limits`] on, neither exceeds the limits given.
    pub fn peak_sends_per_sec(&self) -> (usize, usize) {
        let all = self.successful_sends();
        let overall = peak_in_window(all.iter().map(|(at, _)| *at));
        let mut by_chat: HashMap<i64, Vec<std::time::Instant>> = HashMap::new();
        for (at, chat) in all {
            by_chat.entry(chat).or_default().push(at);
        }
        let per_chat = by_chat.into_values().map(|times| peak_in_window(times.into_iter())).max().unwrap_or(0);
        (overall, per_chat)
    }

    /// The shortest time in which `sends` (at least 2) consecutive successful
    /// sends (`sendMessage` and `sendDocument`) arrived, or `None` with fewer
    /// sends. With `sends` one more than the overall limit a second, this is
    /// how close a run came to a 429: at or above 1 s it stayed within the
    /// limit, and what exceeds 1 s is the jitter it could still have absorbed.
    /// (The busiest second only says how many sends, not how near the next was.)
    pub fn shortest_span(&self, sends: usize) -> Option<Duration> {
        let all: Vec<std::time::Instant> = self.successful_sends().into_iter().map(|(at, _)| at).collect();
        all.windows(sends.max(2)).map(|w| w[w.len() - 1] - w[0]).min()
    }

    /// Every successful send (`sendMessage` and `sendDocument`) as `(when, chat)`, in time order.
    fn successful_sends(&self) -> Vec<(std::time::Instant, i64)> {
        let st = self.lock();
        let mut all: Vec<(std::time::Instant, i64)> = st.sent.iter().map(|m| (m.at, m.chat_id)).collect();
        all.extend(st.documents.iter().map(|d| (d.at, d.chat_id)));
        drop(st);
        all.sort_by_key(|(at, _)| *at);
        all
    }

    /// A copy of every successful `sendMessage` from now on, as it happens.
    /// Cheaper than [`Self::wait_for_sent_to`] when many chats are followed at
    /// once (benches); dropping the receiver unsubscribes.
    pub fn subscribe_sent(&self) -> UnboundedReceiver<SentMessage> {
        let (tx, rx) = unbounded_channel();
        self.lock().subscribers.push(tx);
        rx
    }

    /// The simulated round trip of a send's answer ([`Self::set_latency`]).
    async fn hold_back(&self) {
        let latency = self.lock().latency;
        if let Some(latency) = latency {
            tokio::time::sleep(latency).await;
        }
    }

    fn lock(&self) -> MutexGuard<'_, Recorded> {
        // A panicking test thread must not hide the recorded state from others.
        self.inner.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    async fn get_updates(&self, params: &Value) -> Response {
        if let Some(offset) = int_param(params, "offset") {
            self.lock().confirm(offset);
        }
        let limit = int_param(params, "limit").filter(|l| (1..=100).contains(l)).unwrap_or(100);
        let limit = usize::try_from(limit).unwrap_or(100);
        let timeout = u64::try_from(int_param(params, "timeout").unwrap_or(0)).unwrap_or(0);
        let deadline = Instant::now() + Duration::from_secs(timeout).min(MAX_LONG_POLL);
        let batch = wait_until(&self.inner.update_queued, deadline, || {
            let st = self.lock();
            (!st.queue.is_empty()).then(|| st.queue.iter().take(limit).cloned().collect())
        })
        .await
        .unwrap_or_default();
        ok(Value::Array(batch))
    }

    fn send_message(&self, params: &Value) -> Response {
        let mut st = self.lock();
        if let Some(plan) = st.fail_plan.as_mut() {
            let (status, retry_after) = (plan.status, plan.retry_after_secs);
            plan.remaining = plan.remaining.saturating_sub(1);
            if plan.remaining == 0 {
                st.fail_plan = None;
            }
            return error_reply(status, &description_for(status, retry_after), retry_after);
        }
        let chat_id = int_param(params, "chat_id").unwrap_or(0);
        if let Some(refused) = st.over_limit(chat_id) {
            return refused;
        }
        let text = str_param(params, "text").unwrap_or_default();
        let reply_markup = json_param(params, "reply_markup");
        let message_id = st.take_message_id();
        let msg = st.text_message_json(chat_id, message_id, &bot_user_json(), &text, reply_markup.as_ref());
        st.messages
            .insert((chat_id, message_id), StoredMessage { text: text.clone(), reply_markup: reply_markup.clone() });
        let sent = SentMessage { chat_id, message_id, text, reply_markup, at: std::time::Instant::now() };
        if !st.subscribers.is_empty() {
            st.subscribers.retain(|s| s.send(sent.clone()).is_ok());
        }
        st.sent.push(sent);
        drop(st);
        self.inner.message_sent.notify_waiters();
        ok(msg)
    }

    fn edit_message(&self, method: &str, params: &Value) -> Response {
        // Edits of inline-mode messages return `true`, not a `Message`.
        if params.get("inline_message_id").is_some() {
            return ok(Value::Bool(true));
        }
        let mut st = self.lock();
        let chat_id = int_param(params, "chat_id").unwrap_or(0);
        let message_id = int_param(params, "message_id").and_then(|id| i32::try_from(id).ok()).unwrap_or(0);
        let new_text = (method == "editmessagetext").then(|| str_param(params, "text").unwrap_or_default());
        let reply_markup = json_param(params, "reply_markup");
        let previous = st.messages.get(&(chat_id, message_id)).cloned();
        let text = new_text.clone().or_else(|| previous.map(|m| m.text)).unwrap_or_default();
        st.messages
            .insert((chat_id, message_id), StoredMessage { text: text.clone(), reply_markup: reply_markup.clone() });
        st.edits.push(EditedMessage {
            method: method.to_owned(),
            chat_id,
            message_id,
            text: new_text,
            reply_markup: reply_markup.clone(),
        });
        let mut msg = st.text_message_json(chat_id, message_id, &bot_user_json(), &text, reply_markup.as_ref());
        msg["edit_date"] = json!(unix_now());
        ok(msg)
    }

    fn send_document(&self, params: &Value) -> Response {
        let mut st = self.lock();
        let chat_id = int_param(params, "chat_id").unwrap_or(0);
        if let Some(refused) = st.over_limit(chat_id) {
            return refused;
        }
        let caption = str_param(params, "caption");
        let upload = params.get("document").filter(|d| d.is_object());
        let file_name = upload.and_then(|d| d.get("file_name")).and_then(Value::as_str).map(str::to_owned);
        let size = upload
            .and_then(|d| d.get("size"))
            .and_then(Value::as_u64)
            .and_then(|s| usize::try_from(s).ok())
            .unwrap_or(0);
        let message_id = st.take_message_id();
        let at = std::time::Instant::now();
        st.documents.push(SentDocument { chat_id, caption: caption.clone(), file_name: file_name.clone(), size, at });
        let mut msg = json!({
            "message_id": message_id,
            "date": unix_now(),
            "chat": st.chat_json(chat_id),
            "from": bot_user_json(),
            "document": {
                "file_id": format!("document-{message_id}"),
                "file_unique_id": format!("unique-document-{message_id}"),
                "file_size": size,
            },
        });
        if let Some(name) = file_name {
            msg["document"]["file_name"] = json!(name);
        }
        if let Some(caption) = caption {
            msg["caption"] = json!(caption);
        }
        ok(msg)
    }
}

/// The single route: `/{bot<token>}/{method}`, any HTTP verb.
async fn handle(
    State(fake): State<FakeTelegram>,
    Path((bot, method)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !bot.starts_with("bot") {
        return error_reply(404, "Not Found", None);
    }
    let params = parse_params(&headers, query.as_deref(), &body);
    // Telegram matches method names case-insensitively; teloxide sends
    // `SendMessage`, the docs say `sendMessage`.
    let method = method.to_ascii_lowercase();
    fake.lock().requests.push((method.clone(), params.clone()));
    match method.as_str() {
        "getme" => ok(me_json()),
        "getupdates" => fake.get_updates(&params).await,
        // teloxide's polling asks for this before deleting a webhook.
        "getwebhookinfo" => ok(json!({
            "url": "",
            "has_custom_certificate": false,
            "pending_update_count": fake.pending_updates(),
        })),
        "deletewebhook" => {
            if bool_param(&params, "drop_pending_updates") {
                fake.lock().queue.clear();
            }
            ok(Value::Bool(true))
        }
        "setmycommands" => {
            let commands = json_param(&params, "commands").unwrap_or_else(|| json!([]));
            let language = str_param(&params, "language_code").filter(|l| !l.is_empty());
            fake.lock().my_commands.push((language, commands));
            ok(Value::Bool(true))
        }
        "getmycommands" => {
            let language = str_param(&params, "language_code").filter(|l| !l.is_empty());
            let commands = fake
                .lock()
                .my_commands
                .iter()
                .rev()
                .find(|(l, _)| *l == language)
                .map_or_else(|| json!([]), |(_, c)| c.clone());
            ok(commands)
        }
        "sendmessage" => {
            let answer = fake.send_message(&params);
            fake.hold_back().await;
            answer
        }
        "answercallbackquery" => {
            fake.lock().callback_answers.push(params);
            ok(Value::Bool(true))
        }
        "editmessagetext" | "editmessagereplymarkup" => fake.edit_message(&method, &params),
        "senddocument" => {
            let answer = fake.send_document(&params);
            fake.hold_back().await;
            answer
        }
        _ => ok(Value::Bool(true)),
    }
}

fn ok(result: Value) -> Response {
    let mut body = Map::new();
    body.insert("ok".to_owned(), Value::Bool(true));
    body.insert("result".to_owned(), result);
    (StatusCode::OK, axum::Json(Value::Object(body))).into_response()
}

/// A Telegram error answer. `parameters` is only present when there is
/// something in it: teloxide deserialises it as a `ResponseParameters` enum,
/// so an empty object would make the whole answer unparseable.
fn error_reply(status: u16, description: &str, retry_after: Option<u32>) -> Response {
    let mut body = json!({ "ok": false, "error_code": status, "description": description });
    if let Some(secs) = retry_after {
        body["parameters"] = json!({ "retry_after": secs });
    }
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    (status, axum::Json(body)).into_response()
}

/// Telegram's usual description per status, chosen so teloxide's `ApiError`
/// parser maps them to the variants the bot will meet in production.
fn description_for(status: u16, retry_after: Option<u32>) -> String {
    match status {
        400 => "Bad Request: chat not found".to_owned(),
        401 => "Unauthorized".to_owned(),
        403 => "Forbidden: bot was blocked by the user".to_owned(),
        429 => format!("Too Many Requests: retry after {}", retry_after.unwrap_or(1)),
        500..=599 => "Internal Server Error".to_owned(),
        _ => format!("Error {status}"),
    }
}

fn me_json() -> Value {
    let mut me = bot_user_json();
    let obj = me.as_object_mut().expect("bot user is an object");
    // Fields teloxide's `Me` requires on top of `User`.
    obj.insert("can_join_groups".to_owned(), json!(true));
    obj.insert("can_read_all_group_messages".to_owned(), json!(false));
    obj.insert("supports_inline_queries".to_owned(), json!(false));
    obj.insert("can_connect_to_business".to_owned(), json!(false));
    obj.insert("has_main_web_app".to_owned(), json!(false));
    me
}

fn bot_user_json() -> Value {
    json!({
        "id": BOT_ID,
        "is_bot": true,
        "first_name": "Guanxi Test",
        "username": BOT_USERNAME,
    })
}

fn user_json(user: &TgUser) -> Value {
    let mut json = json!({ "id": user.id, "is_bot": false, "first_name": user.first_name });
    if let Some(lang) = &user.language_code {
        json["language_code"] = json!(lang);
    }
    json
}

fn update_id(update: &Value) -> i64 {
    update.get("update_id").and_then(Value::as_i64).unwrap_or(0)
}

/// The most instants (sorted) that fall within any one [`LIMIT_WINDOW`].
fn peak_in_window(sorted: impl Iterator<Item = std::time::Instant>) -> usize {
    let mut window = VecDeque::new();
    let mut peak = 0;
    for at in sorted {
        while window.front().is_some_and(|t: &std::time::Instant| at.saturating_duration_since(*t) >= LIMIT_WINDOW) {
            window.pop_front();
        }
        window.push_back(at);
        peak = peak.max(window.len());
    }
    peak
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(1, |d| d.as_secs())
}

/// Waits on `notify` until `check` yields a value or `deadline` passes (then
/// one last check). The `Notified` future is enabled *before* checking, so a
/// notification between the check and the wait cannot be lost.
async fn wait_until<T>(notify: &Notify, deadline: Instant, mut check: impl FnMut() -> Option<T>) -> Option<T> {
    loop {
        let mut notified = std::pin::pin!(notify.notified());
        notified.as_mut().enable();
        if let Some(value) = check() {
            return Some(value);
        }
        if tokio::time::timeout_at(deadline, notified).await.is_err() {
            return check();
        }
    }
}

/// Collects request parameters from the query string and the body (JSON,
/// urlencoded form or multipart form) into one JSON object. Form values stay
/// strings; the `*_param` helpers accept both representations.
fn parse_params(headers: &HeaderMap, query: Option<&str>, body: &[u8]) -> Value {
    let mut params = Map::new();
    if let Some(query) = query {
        for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
            params.insert(k.into_owned(), Value::String(v.into_owned()));
        }
    }
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let mime = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    match mime.as_str() {
        "application/x-www-form-urlencoded" => {
            for (k, v) in url::form_urlencoded::parse(body) {
                params.insert(k.into_owned(), Value::String(v.into_owned()));
            }
        }
        "multipart/form-data" => {
            if let Some(boundary) = mime_param(content_type, "boundary") {
                params.extend(parse_multipart(body, &boundary));
            }
        }
        _ => {
            if let Ok(Value::Object(obj)) = serde_json::from_slice::<Value>(body) {
                params.extend(obj);
            }
        }
    }
    Value::Object(params)
}

/// Minimal `multipart/form-data` reader (axum's `multipart` feature is not
/// enabled). Text parts become strings; file parts become
/// `{"file_name": .., "size": ..}` since tests only care that a file came.
fn parse_multipart(body: &[u8], boundary: &str) -> Map<String, Value> {
    let delimiter = format!("--{boundary}");
    let mut fields = Map::new();
    for part in split_bytes(body, delimiter.as_bytes()).into_iter().skip(1) {
        if part.starts_with(b"--") {
            break; // closing delimiter
        }
        let part = part.strip_prefix(b"\r\n").unwrap_or(part);
        let part = part.strip_suffix(b"\r\n").unwrap_or(part);
        let Some(split) = find_bytes(part, b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&part[..split]);
        let content = &part[split + 4..];
        let Some(disposition) = head.split("\r\n").find(|l| l.to_ascii_lowercase().starts_with("content-disposition:"))
        else {
            continue;
        };
        let Some(name) = mime_param(disposition, "name") else {
            continue;
        };
        let value = match mime_param(disposition, "filename") {
            Some(file_name) => json!({ "file_name": file_name, "size": content.len() }),
            None => Value::String(String::from_utf8_lossy(content).into_owned()),
        };
        fields.insert(name, value);
    }
    // teloxide uploads files as a separately named part and sets the field
    // itself to `attach://<part name>`; fold the file back into the field.
    let attachments: Vec<(String, String)> = fields
        .iter()
        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.strip_prefix("attach://")?.to_owned())))
        .collect();
    for (field, part) in attachments {
        if let Some(file) = fields.remove(&part) {
            fields.insert(field, file);
        }
    }
    fields
}

/// Value of `key=value` / `key="value"` among the `;`-separated parameters of
/// a header value.
fn mime_param(header_value: &str, key: &str) -> Option<String> {
    header_value.split(';').skip(1).find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        k.trim().eq_ignore_ascii_case(key).then(|| v.trim().trim_matches('"').to_owned())
    })
}

fn find_bytes(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn split_bytes<'a>(mut haystack: &'a [u8], delimiter: &[u8]) -> Vec<&'a [u8]> {
    let mut pieces = Vec::new();
    while let Some(at) = find_bytes(haystack, delimiter) {
        pieces.push(&haystack[..at]);
        haystack = &haystack[at + delimiter.len()..];
    }
    pieces.push(haystack);
    pieces
}

fn int_param(params: &Value, key: &str) -> Option<i64> {
    match params.get(key)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn str_param(params: &Value, key: &str) -> Option<String> {
    match params.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

fn bool_param(params: &Value, key: &str) -> bool {
    match params.get(key) {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s == "true",
        _ => false,
    }
}

/// A structured parameter: a JSON object/array as sent in JSON bodies, or the
/// JSON-encoded string form used by urlencoded and multipart requests.
fn json_param(params: &Value, key: &str) -> Option<Value> {
    match params.get(key)? {
        v @ (Value::Object(_) | Value::Array(_)) => Some(v.clone()),
        Value::String(s) => serde_json::from_str(s).ok(),
        _ => None,
    }
}
