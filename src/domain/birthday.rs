//! Birthdays of customers' contacts: solar (公历) or lunar (农历), converted each year.

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, NaiveDate};

use super::prc_calendar::lunar_to_solar;

/// How a birthday recurs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Birthday {
    /// Month and day of the Gregorian calendar; 29 February falls on 28 February in common years.
    Solar { month: u32, day: u32 },
    /// Month and day of the Chinese lunar calendar (`leap` for a leap month).
    Lunar { month: u8, day: u8, leap: bool },
}

impl Birthday {
    /// The date it falls on in the (lunar) year beginning in solar year `year`.
    pub fn in_year(self, year: i32) -> Option<NaiveDate> {
        match self {
            Self::Solar { month, day } => NaiveDate::from_ymd_opt(year, month, day)
                .or_else(|| (month == 2 && day == 29).then(|| NaiveDate::from_ymd_opt(year, 2, 28)).flatten()),
            Self::Lunar { month, day, leap } => lunar_to_solar(year, month, day, leap),
        }
    }

    /// Every date it falls on in `[from, to]`, in order. A lunar birthday late in the lunar
    /// year falls in January or February of the next solar year, hence the wider search.
    pub fn between(self, from: NaiveDate, to: NaiveDate) -> Vec<NaiveDate> {
        let mut dates: Vec<NaiveDate> =
            (from.year() - 1..=to.year()).filter_map(|y| self.in_year(y)).filter(|d| *d >= from && *d <= to).collect();
        dates.sort();
        dates.dedup();
        dates
    }
}

impl FromStr for Birthday {
    type Err = ();

    /// `1985-02-29`, `02-29` (solar); `农历 8-15`, `农历闰4-10`, `lunar 8-15`, `lunar leap 4-10`.
    fn from_str(s: &str) -> Result<Self, ()> {
        let s = s.trim();
        let lower = s.to_lowercase();
        let lunar_rest = lower.strip_prefix("农历").or_else(|| lower.strip_prefix("lunar"));
        if let Some(rest) = lunar_rest {
            let rest = rest.trim();
            let (leap, rest) = match rest.strip_prefix('闰').or_else(|| rest.strip_prefix("leap")) {
                Some(r) => (true, r.trim()),
                None => (false, rest),
            };
            let (m, d) = rest.split_once(['-', '/', '.']).ok_or(())?;
            let (month, day): (u8, u8) = (m.trim().parse().map_err(|_| ())?, d.trim().parse().map_err(|_| ())?);
            return ((1..=12).contains(&month) && (1..=30).contains(&day))
                .then_some(Self::Lunar { month, day, leap })
                .ok_or(());
        }
        let date = NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .ok()
            .or_else(|| NaiveDate::parse_from_str(&format!("2000-{s}"), "%Y-%m-%d").ok())
            .ok_or(())?;
        Ok(Self::Solar { month: date.month(), day: date.day() })
    }
}

impl fmt::Display for Birthday {
    /// The stored form: `solar:MM-DD`, `lunar:MM-DD`, `lunar:leap:MM-DD`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Solar { month, day } => write!(f, "solar:{month:02}-{day:02}"),
            Self::Lunar { month, day, leap: false } => write!(f, "lunar:{month:02}-{day:02}"),
            Self::Lunar { month, day, leap: true } => write!(f, "lunar:leap:{month:02}-{day:02}"),
        }
    }
}

impl Birthday {
    /// Read the stored form written by `Display`.
    pub fn from_stored(s: &str) -> Option<Self> {
        if let Some(md) = s.strip_prefix("solar:") {
            return format!("2000-{md}")
                .parse::<NaiveDate>()
                .ok()
                .map(|d| Self::Solar { month: d.month(), day: d.day() });
        }
        let (leap, md) = match s.strip_prefix("lunar:leap:") {
            Some(md) => (true, md),
            None => (false, s.strip_prefix("lunar:")?),
        };
        let (m, d) = md.split_once('-')?;
        Some(Self::Lunar { month: m.parse().ok()?, day: d.parse().ok()?, leap })
    }

    /// As people read it: `02-29` or `农历08-15` / `lunar 08-15`.
    pub fn label(&self, chinese: bool) -> String {
        match (self, chinese) {
            (Self::Solar { month, day }, _) => format!("{month:02}-{day:02}"),
            (Self::Lunar { month, day, leap }, true) => {
                format!("农历{}{month:02}-{day:02}", if *leap { "闰" } else { "" })
            }
            (Self::Lunar { month, day, leap }, false) => {
                format!("lunar {}{month:02}-{day:02}", if *leap { "leap " } else { "" })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn the_29th_of_february_falls_on_the_28th_in_common_years() {
        let b: Birthday = "1988-02-29".parse().unwrap();
        assert_eq!(b.in_year(2027), Some(d("2027-02-28")));
        assert_eq!(b.in_year(2028), Some(d("2028-02-29")));
    }

    #[test]
    fn lunar_birthdays_move_each_year() {
        let mid_autumn: Birthday = "农历 8-15".parse().unwrap();
        assert_eq!(mid_autumn.in_year(2026), Some(d("2026-09-25")));
        assert_eq!(mid_autumn.in_year(2027), Some(d("2027-09-15")));
        let lunar_new_year: Birthday = "lunar 1-1".parse().unwrap();
        assert_eq!(lunar_new_year.between(d("2027-01-01"), d("2027-12-31")), [d("2027-02-06")]);
    }

    #[test]
    fn birthdays_parse_and_round_trip_through_storage() {
        for (input, stored) in [
            ("1985-03-07", "solar:03-07"),
            ("03-07", "solar:03-07"),
            ("农历8-15", "lunar:08-15"),
            ("农历闰4-10", "lunar:leap:04-10"),
            ("Lunar leap 4-10", "lunar:leap:04-10"),
        ] {
            let b: Birthday = input.parse().unwrap();
            assert_eq!(b.to_string(), stored, "{input}");
            assert_eq!(Birthday::from_stored(stored), Some(b));
        }
        for bad in ["", "13-01", "02-30", "农历13-1", "lunar 1-31", "tomorrow"] {
            assert!(bad.parse::<Birthday>().is_err(), "{bad}");
        }
        assert_eq!("农历闰4-10".parse::<Birthday>().unwrap().label(true), "农历闰04-10");
    }
}
