//! Quiet hours: no message to a person between 21:00 and 08:00 local time (configurable).
//! What falls due then waits for the morning. Replies to someone who is writing to us, and
//! complaint alerts to the staff on duty, are exempt — the caller decides that.

use chrono::{DateTime, NaiveDateTime, NaiveTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};

/// The nightly window in which messages wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "QuietText", into = "QuietText")]
pub struct QuietHours {
    pub from: NaiveTime,
    pub until: NaiveTime,
}

impl Default for QuietHours {
    fn default() -> Self {
        Self {
            from: NaiveTime::from_hms_opt(21, 0, 0).expect("valid"),
            until: NaiveTime::from_hms_opt(8, 0, 0).expect("valid"),
        }
    }
}

impl QuietHours {
    /// Whether a local time of day is inside the window (which may span midnight).
    pub fn contains(&self, t: NaiveTime) -> bool {
        if self.from == self.until {
            return false;
        }
        if self.from < self.until { t >= self.from && t < self.until } else { t >= self.from || t < self.until }
    }

    /// The earliest local moment at or after `local` that is outside the window.
    pub fn next_allowed_local(&self, local: NaiveDateTime) -> NaiveDateTime {
        if !self.contains(local.time()) {
            return local;
        }
        let end_today = local.date().and_time(self.until);
        if end_today > local { end_today } else { (local.date() + chrono::Duration::days(1)).and_time(self.until) }
    }

    /// The same for an instant in a time zone (a DST gap pushes it to the first valid moment).
    pub fn next_allowed<Tz: TimeZone>(&self, now: DateTime<Utc>, tz: &Tz) -> DateTime<Utc> {
        let local = now.with_timezone(tz).naive_local();
        let allowed = self.next_allowed_local(local);
        if allowed == local {
            return now;
        }
        let mut candidate = allowed;
        for _ in 0..4 {
            if let Some(t) = tz.from_local_datetime(&candidate).earliest() {
                return t.to_utc();
            }
            candidate += chrono::Duration::minutes(30);
        }
        now
    }
}

#[derive(Serialize, Deserialize)]
struct QuietText {
    from: String,
    until: String,
}

impl TryFrom<QuietText> for QuietHours {
    type Error = String;
    fn try_from(t: QuietText) -> Result<Self, String> {
        let parse = |s: &str| NaiveTime::parse_from_str(s, "%H:%M").map_err(|_| format!("'{s}' is not HH:MM"));
        Ok(Self { from: parse(&t.from)?, until: parse(&t.until)? })
    }
}

impl From<QuietHours> for QuietText {
    fn from(q: QuietHours) -> Self {
        Self { from: q.from.format("%H:%M").to_string(), until: q.until.format("%H:%M").to_string() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
    }

    #[test]
    fn night_messages_wait_for_eight_oclock() {
        let q = QuietHours::default();
        assert_eq!(q.next_allowed_local(at("2026-11-25 20:59")), at("2026-11-25 20:59"));
        assert_eq!(q.next_allowed_local(at("2026-11-25 21:00")), at("2026-11-26 08:00"));
        assert_eq!(q.next_allowed_local(at("2026-11-26 03:10")), at("2026-11-26 08:00"));
        assert_eq!(q.next_allowed_local(at("2026-11-26 08:00")), at("2026-11-26 08:00"));
    }

    #[test]
    fn a_window_within_one_day_and_an_empty_one() {
        let q = QuietHours {
            from: NaiveTime::from_hms_opt(12, 0, 0).unwrap(),
            until: NaiveTime::from_hms_opt(13, 0, 0).unwrap(),
        };
        assert_eq!(q.next_allowed_local(at("2026-11-25 12:30")), at("2026-11-25 13:00"));
        assert_eq!(q.next_allowed_local(at("2026-11-25 13:30")), at("2026-11-25 13:30"));
        let never = QuietHours { from: q.from, until: q.from };
        assert!(!never.contains(q.from));
    }

    #[test]
    fn instants_are_judged_in_local_time() {
        let q = QuietHours::default();
        let utc = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().to_utc();
        // 22:00 in Shanghai is 14:00 UTC; it waits until 08:00 Shanghai (00:00 UTC).
        assert_eq!(
            q.next_allowed(utc("2026-11-25T14:00:00Z"), &chrono_tz::Asia::Shanghai),
            utc("2026-11-26T00:00:00Z")
        );
        assert_eq!(
            q.next_allowed(utc("2026-11-25T02:00:00Z"), &chrono_tz::Asia::Shanghai),
            utc("2026-11-25T02:00:00Z")
        );
    }
}
