//! Telegram's flood limits as a schedule of send slots, shared by every sender of every
//! instance through the database (`storage::send_gate`).
//!
//! A sender books a slot before it sends and sends at that slot. Slots of the whole bot are
//! `overall_spacing` apart, slots of one chat `chat_spacing` apart, and a group chat gets at
//! most `per_minute` slots in a minute (Telegram's rule for groups; the caller passes no
//! minute budget for private chats). Booking is first come, first served: a person waiting for
//! a reply is claimed before bulk rows (the outbox orders by priority) and then waits at most
//! for the few slots already booked by other senders, never behind a whole burst.
//!
//! Why spacing instead of "30 in any second": requests reach Telegram with some jitter, so
//! thirty sends bunched at the end of one second and thirty at the start of the next would
//! look like sixty. Slots spaced `(1 s + JITTER_ALLOWANCE_US) / limit` apart put at most `limit`
//! sends in any 1.06 s at our end: a send may reach Telegram up to 60 ms earlier, relative to
//! the send `limit` slots before it, than the schedule says (a sender woken up to 25 ms late
//! for the earlier slot, the requests' own jitter) and it still makes no `limit + 1` in a
//! second. At the default 30/s that is 28.3 messages a second, every second.
//!
//! Why that allowance: on slots 1,071 ms per 30 apart, the shortest time 31 consecutive sends
//! took at the fake Bot API was 1,067–1,069 ms in the delivery bench and 1,056 ms in the
//! two-instance burst test in a debug build amid the whole test suite (15 ms of jitter). On
//! the new slots that test met 10–28 ms in six runs of the suite, and the bench 23 ms with two
//! busy loops beside it: the allowance is twice the most seen.
//! Until 2026-12-07 the slots were `1 s / (limit - 2)` apart: an allowance of 71 ms, and 28.00
//! a second, which was the schedule's ceiling as well as the rate a burst is to keep. A single
//! stall of the database (0.4 s in six minutes) put a burst below it. At 28.3 a second a burst
//! of 10,000 messages absorbs 3.8 s of such stalls and still averages 28 (BENCHMARKS.md).
//!
//! This module is pure: the state of the gates and `now` in, the decision out.

use crate::config::RateLimits;

const SECOND_US: i64 = 1_000_000;
const MINUTE_US: i64 = 60 * SECOND_US;

/// How much earlier than its slot, relative to the send `limit` slots before, a send may
/// reach Telegram without making one too many in a second (see the module's doc).
pub const JITTER_ALLOWANCE_US: i64 = 60_000;

/// A gate booked further ahead than this was booked by a clock that has since jumped back
/// (or by an absurd `retry_after`): it is reset instead of stalling every sender.
pub const MAX_AHEAD_US: i64 = 10 * MINUTE_US;

/// Slot spacing derived from the configured limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pace {
    pub overall_spacing_us: i64,
    pub chat_spacing_us: i64,
    pub per_minute: i64,
}

impl Pace {
    pub fn from_limits(limits: RateLimits) -> Self {
        let overall = i64::from(limits.messages_per_sec_overall.max(1));
        let per_chat = i64::from(limits.messages_per_sec_chat.max(1));
        Self {
            overall_spacing_us: div_ceil(SECOND_US + JITTER_ALLOWANCE_US, overall),
            // 5 % slack per chat for the same reason as above.
            chat_spacing_us: div_ceil(SECOND_US * 105 / 100, per_chat),
            per_minute: i64::from(limits.messages_per_min_chat.max(1)),
        }
    }
}

/// One gate as stored: the earliest free slot and, for chats, the current minute's count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Gate {
    pub next_at: i64,
    pub window_start: i64,
    pub window_count: i64,
}

/// What a booking attempt decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Booking {
    /// Send at this instant (µs); the gates are to be stored as returned.
    At { slot: i64, overall: Gate, chat: Gate },
    /// The chat has no slot before this instant; put the message back and send others.
    ChatBusyUntil(i64),
}

/// Book the next slot for a message to one chat.
pub fn book(pace: &Pace, overall: Gate, chat: Gate, now: i64) -> Booking {
    let overall_next = sane(overall.next_at, now);
    let chat_next = sane(chat.next_at, now);
    let slot = now.max(overall_next);
    if chat_next > slot {
        return Booking::ChatBusyUntil(chat_next);
    }
    let window_open = chat.window_start > slot - MINUTE_US && chat.window_start <= slot;
    if window_open && chat.window_count >= pace.per_minute {
        return Booking::ChatBusyUntil(chat.window_start + MINUTE_US);
    }
    let (window_start, window_count) = if window_open { (chat.window_start, chat.window_count + 1) } else { (slot, 1) };
    Booking::At {
        slot,
        overall: Gate { next_at: slot + pace.overall_spacing_us, ..overall },
        chat: Gate { next_at: slot + pace.chat_spacing_us, window_start, window_count },
    }
}

/// Telegram answered 429: no slot before `until`.
pub fn pause(overall: Gate, now: i64, until: i64) -> Gate {
    Gate { next_at: sane(overall.next_at, now).max(until.min(now + MAX_AHEAD_US)), ..overall }
}

fn div_ceil(a: i64, b: i64) -> i64 {
    (a + b - 1) / b
}

fn sane(next_at: i64, now: i64) -> i64 {
    if next_at > now + MAX_AHEAD_US { now } else { next_at }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn telegram() -> Pace {
        Pace::from_limits(RateLimits::default())
    }

    /// Books `n` messages round-robin over `chats`, sending each at its slot as soon as allowed.
    fn schedule(pace: &Pace, n: usize, chats: i64) -> Vec<(i64, i64)> {
        let mut overall = Gate::default();
        let mut gates = std::collections::HashMap::new();
        let mut now = 0;
        let mut sent = Vec::new();
        let mut chat = 0;
        while sent.len() < n {
            let g = gates.entry(chat).or_insert_with(Gate::default);
            match book(pace, overall, *g, now) {
                Booking::At { slot, overall: o, chat: c } => {
                    overall = o;
                    *g = c;
                    sent.push((slot, chat));
                    now = slot;
                    chat = (chat + 1) % chats;
                }
                Booking::ChatBusyUntil(t) => now = t,
            }
        }
        sent
    }

    fn most_in_any_second(times: &[i64]) -> usize {
        times.iter().map(|t| times.iter().filter(|u| **u >= *t && **u < t + SECOND_US).count()).max().unwrap_or(0)
    }

    #[test]
    fn the_default_limits_give_28_3_a_second_overall_and_one_a_second_per_chat() {
        let pace = telegram();
        let sent = schedule(&pace, 600, 100);
        let times: Vec<i64> = sent.iter().map(|(t, _)| *t).collect();
        assert_eq!(most_in_any_second(&times), 29);
        let span = (times[times.len() - 1] - times[0]) as f64 / 1e6;
        let rate = (times.len() - 1) as f64 / span;
        assert!(rate > 28.25 && rate <= 28.31, "{rate} a second");
        // 31 sends take the second plus the allowance: that much jitter makes no 31st in a second.
        let shortest_31 = times.windows(31).map(|w| w[30] - w[0]).min().unwrap();
        assert!(shortest_31 >= SECOND_US + JITTER_ALLOWANCE_US, "{shortest_31} µs");
        for chat in 0..100 {
            let mine: Vec<i64> = sent.iter().filter(|(_, c)| *c == chat).map(|(t, _)| *t).collect();
            assert!(mine.windows(2).all(|w| w[1] - w[0] >= SECOND_US), "chat {chat}: {mine:?}");
        }
    }

    #[test]
    fn one_chat_gets_at_most_its_minute_budget() {
        let pace = Pace { overall_spacing_us: 1, chat_spacing_us: 1, per_minute: 20 };
        let sent = schedule(&pace, 41, 1);
        let times: Vec<i64> = sent.iter().map(|(t, _)| *t).collect();
        assert!(times[19] < MINUTE_US && times[20] >= MINUTE_US, "{times:?}");
        assert!(times[40] >= 2 * MINUTE_US);
    }

    #[test]
    fn a_busy_chat_is_reported_not_waited_for() {
        let pace = telegram();
        let Booking::At { chat, .. } = book(&pace, Gate::default(), Gate::default(), 0) else { panic!() };
        assert_eq!(book(&pace, Gate::default(), chat, 10), Booking::ChatBusyUntil(1_050_000));
    }

    #[test]
    fn a_429_pauses_everyone_and_a_clock_jump_back_does_not_stall() {
        let pace = telegram();
        let paused = pause(Gate::default(), 0, 5 * SECOND_US);
        let Booking::At { slot, .. } = book(&pace, paused, Gate::default(), 0) else { panic!() };
        assert_eq!(slot, 5 * SECOND_US);
        // The wall clock went back an hour after the gate was booked: not an hour of silence.
        let booked = Gate { next_at: 3_600 * SECOND_US + 10, ..Gate::default() };
        let Booking::At { slot, .. } = book(&pace, booked, booked, 0) else { panic!() };
        assert_eq!(slot, 0);
    }
}
