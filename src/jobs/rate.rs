//! Telegram's flood limits, kept on our side: at most N messages a second overall, and per
//! chat at most M a second and K a minute. A 429 from Telegram pauses every send until its
//! `retry_after` has passed.
//!
//! teloxide's Throttle adaptor does the same, but it batches its queue every 250 ms, which
//! made every reply wait a quarter of a second; this limiter sends at once when the budget
//! allows and waits exactly as long as the limits require when it does not.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::config::RateLimits;

const SECOND: Duration = Duration::from_secs(1);
const MINUTE: Duration = Duration::from_secs(60);

#[derive(Debug)]
struct Windows {
    overall: VecDeque<Instant>,
    per_chat: HashMap<i64, VecDeque<Instant>>,
    paused_until: Option<Instant>,
}

/// Paces sends to stay within the limits.
#[derive(Debug)]
pub struct Limiter {
    limits: RateLimits,
    windows: Mutex<Windows>,
}

impl Limiter {
    pub fn new(limits: RateLimits) -> Self {
        Self {
            limits,
            windows: Mutex::new(Windows { overall: VecDeque::new(), per_chat: HashMap::new(), paused_until: None }),
        }
    }

    /// Wait until a message to `chat` may go out, and count it.
    pub async fn acquire(&self, chat: i64) {
        loop {
            let wait = {
                let mut w = self.windows.lock().await;
                let now = Instant::now();
                match self.wait_needed(&mut w, chat, now) {
                    None => {
                        w.overall.push_back(now);
                        w.per_chat.entry(chat).or_default().push_back(now);
                        return;
                    }
                    Some(until) => until,
                }
            };
            tokio::time::sleep_until(wait).await;
        }
    }

    /// Telegram said "too many requests": nobody sends until `after` has passed.
    pub async fn pause(&self, after: Duration) {
        let mut w = self.windows.lock().await;
        let until = Instant::now() + after;
        w.paused_until = Some(w.paused_until.map_or(until, |p| p.max(until)));
    }

    /// When the next send to `chat` may happen, or `None` for now. Forgets old timestamps.
    fn wait_needed(&self, w: &mut Windows, chat: i64, now: Instant) -> Option<Instant> {
        if let Some(until) = w.paused_until {
            if until > now {
                return Some(until);
            }
            w.paused_until = None;
        }
        while w.overall.front().is_some_and(|t| now.duration_since(*t) >= SECOND) {
            w.overall.pop_front();
        }
        if w.overall.len() >= self.limits.messages_per_sec_overall as usize {
            return w.overall.front().map(|t| *t + SECOND);
        }
        let sent = w.per_chat.entry(chat).or_default();
        while sent.front().is_some_and(|t| now.duration_since(*t) >= MINUTE) {
            sent.pop_front();
        }
        if sent.len() >= self.limits.messages_per_min_chat as usize {
            return sent.front().map(|t| *t + MINUTE);
        }
        let last_second = sent.iter().filter(|t| now.duration_since(**t) < SECOND).count();
        if last_second >= self.limits.messages_per_sec_chat as usize {
            return sent.iter().find(|t| now.duration_since(**t) < SECOND).map(|t| *t + SECOND);
        }
        if sent.is_empty() {
            w.per_chat.remove(&chat);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(overall: u32, chat_sec: u32, chat_min: u32) -> RateLimits {
        RateLimits {
            messages_per_sec_overall: overall,
            messages_per_sec_chat: chat_sec,
            messages_per_min_chat: chat_min,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn one_chat_gets_one_message_a_second() {
        let limiter = Limiter::new(limits(30, 1, 20));
        let start = Instant::now();
        for _ in 0..3 {
            limiter.acquire(1).await;
        }
        assert_eq!(start.elapsed(), Duration::from_secs(2));
        // Another chat is not held up by the first one's budget.
        let other = Instant::now();
        limiter.acquire(2).await;
        assert_eq!(other.elapsed(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn the_overall_budget_is_shared_by_all_chats() {
        let limiter = Limiter::new(limits(30, 1, 20));
        let start = Instant::now();
        for chat in 0..90 {
            limiter.acquire(chat).await;
        }
        assert_eq!(start.elapsed(), Duration::from_secs(2), "90 messages at 30 a second");
    }

    #[tokio::test(start_paused = true)]
    async fn twenty_a_minute_per_chat_and_a_pause_on_429() {
        let limiter = Limiter::new(limits(30, 30, 20));
        let start = Instant::now();
        for _ in 0..21 {
            limiter.acquire(7).await;
        }
        assert_eq!(start.elapsed(), Duration::from_secs(60));
        limiter.pause(Duration::from_secs(5)).await;
        let paused = Instant::now();
        limiter.acquire(8).await;
        assert_eq!(paused.elapsed(), Duration::from_secs(5));
    }
}
