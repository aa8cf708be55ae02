//! Working days and the daily moment at which reminders go out.
//!
//! For now a working day is Monday to Friday. The calendar keeps a table of exceptions
//! (statutory holidays off, make-up Saturdays on) so that the PRC calendar can be loaded into
//! it without changing any caller.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, Weekday};

/// Whether a specific date is worked, overriding the weekday rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DayKind {
    Off,
    Working,
}

/// Which days are working days.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WorkCalendar {
    exceptions: BTreeMap<NaiveDate, DayKind>,
}

impl WorkCalendar {
    pub fn with_exceptions(exceptions: impl IntoIterator<Item = (NaiveDate, DayKind)>) -> Self {
        Self { exceptions: exceptions.into_iter().collect() }
    }

    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        match self.exceptions.get(&date) {
            Some(DayKind::Working) => true,
            Some(DayKind::Off) => false,
            None => !matches!(date.weekday(), Weekday::Sat | Weekday::Sun),
        }
    }

    /// The date `n` working days after `date` (holidays and weekends skipped, make-up
    /// Saturdays counted). `n == 0` is `date` itself.
    pub fn add_working_days(&self, date: NaiveDate, n: u32) -> NaiveDate {
        let mut d = date;
        let mut left = n;
        // A year of holidays cannot hold more than a few hundred non-working days in a row;
        // the bound keeps a corrupt table from looping forever.
        let mut guard = 0;
        while left > 0 && guard < 10_000 {
            d += chrono::Duration::days(1);
            guard += 1;
            if self.is_working_day(d) {
                left -= 1;
            }
        }
        d
    }
}

/// The local date whose daily round (digest and escalations) is due at `local_now`, if any:
/// on a working day, from `at` on. Later ticks the same day return the same date, which is
/// what makes the round idempotent and lets a late start catch up.
pub fn daily_round_due(calendar: &WorkCalendar, local_now: NaiveDateTime, at: NaiveTime) -> Option<NaiveDate> {
    let today = local_now.date();
    (calendar.is_working_day(today) && local_now.time() >= at).then_some(today)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn weekends_are_off_unless_listed_as_working() {
        let cal = WorkCalendar::with_exceptions([(d("2026-10-01"), DayKind::Off), (d("2026-09-27"), DayKind::Working)]);
        assert!(cal.is_working_day(d("2026-11-23"))); // Monday
        assert!(!cal.is_working_day(d("2026-11-28"))); // Saturday
        assert!(!cal.is_working_day(d("2026-10-01"))); // Thursday, holiday
        assert!(cal.is_working_day(d("2026-09-27"))); // Sunday, make-up day
    }

    #[test]
    fn working_days_skip_holidays_and_count_make_up_saturdays() {
        let cal = WorkCalendar::with_exceptions([
            (d("2026-10-01"), DayKind::Off),
            (d("2026-10-02"), DayKind::Off),
            (d("2026-10-10"), DayKind::Working),
        ]);
        // Wednesday 30 Sep + 1 working day: Thursday and Friday are off, so Monday.
        assert_eq!(cal.add_working_days(d("2026-09-30"), 1), d("2026-10-05"));
        // Friday 9 Oct + 1: the make-up Saturday.
        assert_eq!(cal.add_working_days(d("2026-10-09"), 1), d("2026-10-10"));
        assert_eq!(cal.add_working_days(d("2026-10-09"), 0), d("2026-10-09"));
    }

    #[test]
    fn the_round_is_due_from_nine_on_working_days() {
        let cal = WorkCalendar::default();
        let nine = NaiveTime::from_hms_opt(9, 0, 0).unwrap();
        let at = |s: &str| s.parse::<NaiveDateTime>().unwrap();
        assert_eq!(daily_round_due(&cal, at("2026-11-23T08:59:59"), nine), None);
        assert_eq!(daily_round_due(&cal, at("2026-11-23T09:00:00"), nine), Some(d("2026-11-23")));
        assert_eq!(daily_round_due(&cal, at("2026-11-23T23:00:00"), nine), Some(d("2026-11-23")));
        assert_eq!(daily_round_due(&cal, at("2026-11-28T10:00:00"), nine), None);
    }
}
