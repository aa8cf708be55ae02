//! China's calendar: the statutory holiday schedule, the festivals we greet customers on, and
//! lunar birthdays.
//!
//! Reminders must follow the PRC working calendar, not the weekday rule: statutory days off move
//! the work to make-up working days (调休), often a Saturday or a Sunday. Greetings follow the
//! festivals, three of which follow the lunar calendar and one (清明) a solar term, and many
//! customers keep their birthday by the lunar calendar too.
//!
//! The astronomy and the State Council's schedules come from the crate `tyme4rs`. Its statutory
//! table (`LegalHoliday`) is compiled from the yearly notices and, in tyme4rs 1.5, ends with 2026.
//! For a later year [`schedule`] falls back to an estimate from the lunar calendar: the days that
//! the law (《全国年节及纪念日放假办法》) makes statutory, without the bridges and make-up days that
//! only the yearly notice fixes. An admin is expected to import the official schedule once the
//! State Council publishes it, each winter for the following year.
//!
//! Everything here is a pure function of its arguments, like the rest of `domain`.

use std::ops::RangeInclusive;
use std::str::FromStr;

use chrono::{Datelike, Days, NaiveDate};
use tyme4rs::tyme::Culture;
use tyme4rs::tyme::holiday::LegalHoliday;
use tyme4rs::tyme::lunar::{LunarDay, LunarMonth, LunarYear};
use tyme4rs::tyme::solar::{SolarDay, SolarTerm};

use crate::domain::calendar::DayKind;

/// The years this module answers for. tyme4rs panics, rather than erring, on some dates it cannot
/// represent (a lunar year near its upper bound spills into an invalid solar year), and its
/// calendar far from the present is extrapolated astronomy. These years hold every customer's
/// birthday and every schedule we will need.
const YEARS: RangeInclusive<i32> = 1900..=2200;

/// The holidays the company greets customers on (a configurable list uses these keys).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Festival {
    NewYear,
    SpringFestival,
    Qingming,
    LabourDay,
    DragonBoat,
    MidAutumn,
    NationalDay,
}

impl Festival {
    /// In calendar order, which is also the order of precedence when two share a day.
    pub const ALL: [Festival; 7] = [
        Festival::NewYear,
        Festival::SpringFestival,
        Festival::Qingming,
        Festival::LabourDay,
        Festival::DragonBoat,
        Festival::MidAutumn,
        Festival::NationalDay,
    ];

    /// The key used in configuration; the same spelling as the serde form.
    pub fn key(self) -> &'static str {
        match self {
            Festival::NewYear => "new_year",
            Festival::SpringFestival => "spring_festival",
            Festival::Qingming => "qingming",
            Festival::LabourDay => "labour_day",
            Festival::DragonBoat => "dragon_boat",
            Festival::MidAutumn => "mid_autumn",
            Festival::NationalDay => "national_day",
        }
    }

    /// The name the State Council's notices (and tyme4rs) use, so official days map back to it.
    pub fn name_zh(self) -> &'static str {
        match self {
            Festival::NewYear => "元旦",
            Festival::SpringFestival => "春节",
            Festival::Qingming => "清明节",
            Festival::LabourDay => "劳动节",
            Festival::DragonBoat => "端午节",
            Festival::MidAutumn => "中秋节",
            Festival::NationalDay => "国庆节",
        }
    }
}

impl FromStr for Festival {
    type Err = ();

    /// Admins write either the configuration key or the Chinese name.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Festival::ALL.into_iter().find(|f| f.key() == s || f.name_zh() == s).ok_or(())
    }
}

/// One day of the statutory schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HolidayDay {
    pub date: NaiveDate,
    /// Off (放假) or Working (调休上班).
    pub kind: DayKind,
    /// Chinese name of the holiday it belongs to, e.g. "春节", as the schedule names it.
    pub name: String,
    pub festival: Option<Festival>,
    /// True when computed by us, not taken from the official schedule.
    pub estimated: bool,
}

/// The official schedule of `year` as tyme4rs knows it (off days and make-up working days), or
/// None when tyme4rs has no official data for that year.
///
/// A year counts as known when its 1 January is in the table: 元旦 is always a day off, and the
/// check keeps the make-up days of late December (which belong to the next 元旦) from passing
/// for a whole year's schedule. Days are those dated in `year`, in date order.
///
/// It takes milliseconds (tyme4rs compiles a regex for each lookup in its table): load a year into a
/// `WorkCalendar` once rather than asking per date.
pub fn official_schedule(year: i32) -> Option<Vec<HolidayDay>> {
    if !YEARS.contains(&year) {
        return None;
    }
    let mut holiday = SolarDay::new(year as isize, 1, 1).ok()?.get_legal_holiday()?;
    let mut days = Vec::new();
    loop {
        let day = holiday.get_day();
        if day.get_year() != year as isize {
            break;
        }
        days.push(official_day(&holiday)?);
        match holiday.next(1) {
            Some(next) => holiday = next,
            None => break,
        }
    }
    Some(days)
}

fn official_day(holiday: &LegalHoliday) -> Option<HolidayDay> {
    let name = holiday.get_name();
    Some(HolidayDay {
        date: naive(&holiday.get_day())?,
        kind: if holiday.is_work() { DayKind::Working } else { DayKind::Off },
        festival: festival_of_official_name(&name),
        name,
        estimated: false,
    })
}

/// Years when 中秋 fell within the 国庆 break were announced as one holiday, "国庆中秋"; it is the
/// National Day break, so it is tagged as such. Holidays we do not greet on (抗战胜利日 in 2015)
/// have no tag.
fn festival_of_official_name(name: &str) -> Option<Festival> {
    match name {
        "国庆中秋" => Some(Festival::NationalDay),
        other => other.parse().ok(),
    }
}

/// The day a festival falls on in `year` (元旦 1 Jan; 春节 lunar 1/1; 清明 the solar term;
/// 劳动节 1 May; 端午 lunar 5/5; 中秋 lunar 8/15; 国庆 1 Oct). None only if out of range.
pub fn festival_date(festival: Festival, year: i32) -> Option<NaiveDate> {
    if !YEARS.contains(&year) {
        return None;
    }
    match festival {
        Festival::NewYear => NaiveDate::from_ymd_opt(year, 1, 1),
        Festival::SpringFestival => lunar_to_solar(year, 1, 1, false),
        // The day of the 清明 solar term, in China's time zone, is the holiday by law.
        Festival::Qingming => naive(&SolarTerm::from_name(year as isize, "清明").get_solar_day()),
        Festival::LabourDay => NaiveDate::from_ymd_opt(year, 5, 1),
        Festival::DragonBoat => lunar_to_solar(year, 5, 5, false),
        Festival::MidAutumn => lunar_to_solar(year, 8, 15, false),
        Festival::NationalDay => NaiveDate::from_ymd_opt(year, 10, 1),
    }
}

/// The days the law itself makes statutory for a festival (the 2024 revision of
/// 《全国年节及纪念日放假办法》, in force since 2025): certain to be off whatever the yearly notice
/// adds, so an estimate that omits them would send reminders on a day nobody works.
fn statutory_days(festival: Festival, year: i32) -> Vec<NaiveDate> {
    let Some(day) = festival_date(festival, year) else {
        return Vec::new();
    };
    let (before, count) = match festival {
        // 除夕 and 初一 to 初三.
        Festival::SpringFestival => (1, 4),
        Festival::LabourDay => (0, 2),
        Festival::NationalDay => (0, 3),
        _ => (0, 1),
    };
    let Some(first) = day.checked_sub_days(Days::new(before)) else {
        return Vec::new();
    };
    first.iter_days().take(count).collect()
}

/// For a year without an official schedule: each festival's own statutory days off,
/// `estimated: true`, no make-up days (the State Council publishes those each winter).
///
/// When two festivals claim one day (中秋 on 1–3 October), it goes to the festival whose own date
/// it is, then to the first in [`Festival::ALL`], so that each date appears once, as in the
/// official schedule.
pub fn estimated_schedule(year: i32) -> Vec<HolidayDay> {
    let mut days: std::collections::BTreeMap<NaiveDate, Festival> = Festival::ALL
        .into_iter()
        .rev()
        .filter_map(|festival| Some((festival_date(festival, year)?, festival)))
        .collect();
    for festival in Festival::ALL {
        for date in statutory_days(festival, year) {
            days.entry(date).or_insert(festival);
        }
    }
    days.into_iter()
        .map(|(date, festival)| HolidayDay {
            date,
            kind: DayKind::Off,
            name: festival.name_zh().to_string(),
            festival: Some(festival),
            estimated: true,
        })
        .collect()
}

/// The official schedule if known, otherwise the estimate.
pub fn schedule(year: i32) -> Vec<HolidayDay> {
    official_schedule(year).unwrap_or_else(|| estimated_schedule(year))
}

/// The solar date of a lunar birthday (month 1–12, day 1–30, `leap` for a leap month) in the
/// lunar year that begins in solar year `year`. A 30th in a 29-day month falls on the 29th; a
/// leap month the year does not have falls on the ordinary month. None if out of range.
///
/// Both fallbacks are the custom: a birthday is kept every year, so it moves to the nearest day
/// the month has rather than being skipped.
pub fn lunar_to_solar(year: i32, month: u8, day: u8, leap: bool) -> Option<NaiveDate> {
    if !YEARS.contains(&year) || !(1..=12).contains(&month) || !(1..=30).contains(&day) {
        return None;
    }
    let lunar_year = LunarYear::new(year as isize).ok()?;
    let ordinary = isize::from(month);
    // tyme4rs numbers a leap month negatively.
    let month = if leap && lunar_year.get_leap_month() == usize::from(month) { -ordinary } else { ordinary };
    let day = usize::from(day).min(LunarMonth::new(year as isize, month).ok()?.get_day_count());
    naive(&LunarDay::new(year as isize, month, day).ok()?.get_solar_day())
}

/// The next solar date on or after `from` on which a lunar birthday (month, day, leap) falls.
pub fn next_lunar_birthday(from: NaiveDate, month: u8, day: u8, leap: bool) -> Option<NaiveDate> {
    // The lunar year that began the previous January may still be running (its 12th month
    // reaches into February), and the next one always falls after `from`.
    (from.year() - 1..=from.year() + 1).filter_map(|year| lunar_to_solar(year, month, day, leap)).find(|d| *d >= from)
}

fn naive(day: &SolarDay) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(i32::try_from(day.get_year()).ok()?, day.get_month() as u32, day.get_day() as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn festival_keys_names_and_serde_agree() {
        for festival in Festival::ALL {
            assert_eq!(festival.key().parse(), Ok(festival));
            assert_eq!(festival.name_zh().parse(), Ok(festival));
            assert_eq!(serde_json::to_string(&festival).unwrap(), format!("\"{}\"", festival.key()));
        }
        assert_eq!("christmas".parse::<Festival>(), Err(()));
        assert_eq!("".parse::<Festival>(), Err(()));
    }

    #[test]
    fn the_2026_official_schedule_is_the_state_councils() {
        use DayKind::{Off, Working};
        use Festival::*;
        #[rustfmt::skip]
        let expected: &[(&str, DayKind, &str, Festival)] = &[
            ("2026-01-01", Off, "元旦", NewYear),
            ("2026-01-02", Off, "元旦", NewYear),
            ("2026-01-03", Off, "元旦", NewYear),
            ("2026-01-04", Working, "元旦", NewYear),
            ("2026-02-14", Working, "春节", SpringFestival),
            ("2026-02-15", Off, "春节", SpringFestival),
            ("2026-02-16", Off, "春节", SpringFestival),
            ("2026-02-17", Off, "春节", SpringFestival),
            ("2026-02-18", Off, "春节", SpringFestival),
            ("2026-02-19", Off, "春节", SpringFestival),
            ("2026-02-20", Off, "春节", SpringFestival),
            ("2026-02-21", Off, "春节", SpringFestival),
            ("2026-02-22", Off, "春节", SpringFestival),
            ("2026-02-23", Off, "春节", SpringFestival),
            ("2026-02-28", Working, "春节", SpringFestival),
            ("2026-04-04", Off, "清明节", Qingming),
            ("2026-04-05", Off, "清明节", Qingming),
            ("2026-04-06", Off, "清明节", Qingming),
            ("2026-05-01", Off, "劳动节", LabourDay),
            ("2026-05-02", Off, "劳动节", LabourDay),
            ("2026-05-03", Off, "劳动节", LabourDay),
            ("2026-05-04", Off, "劳动节", LabourDay),
            ("2026-05-05", Off, "劳动节", LabourDay),
            ("2026-05-09", Working, "劳动节", LabourDay),
            ("2026-06-19", Off, "端午节", DragonBoat),
            ("2026-06-20", Off, "端午节", DragonBoat),
            ("2026-06-21", Off, "端午节", DragonBoat),
            ("2026-09-20", Working, "国庆节", NationalDay),
            ("2026-09-25", Off, "中秋节", MidAutumn),
            ("2026-09-26", Off, "中秋节", MidAutumn),
            ("2026-09-27", Off, "中秋节", MidAutumn),
            ("2026-10-01", Off, "国庆节", NationalDay),
            ("2026-10-02", Off, "国庆节", NationalDay),
            ("2026-10-03", Off, "国庆节", NationalDay),
            ("2026-10-04", Off, "国庆节", NationalDay),
            ("2026-10-05", Off, "国庆节", NationalDay),
            ("2026-10-06", Off, "国庆节", NationalDay),
            ("2026-10-07", Off, "国庆节", NationalDay),
            ("2026-10-10", Working, "国庆节", NationalDay),
        ];
        let expected: Vec<HolidayDay> = expected
            .iter()
            .map(|&(date, kind, name, festival)| HolidayDay {
                date: d(date),
                kind,
                name: name.to_string(),
                festival: Some(festival),
                estimated: false,
            })
            .collect();
        assert_eq!(official_schedule(2026), Some(expected.clone()));
        assert_eq!(schedule(2026), expected);
    }

    #[test]
    fn a_combined_break_is_tagged_national_day_and_a_one_off_holiday_is_untagged() {
        let y2025 = official_schedule(2025).unwrap();
        let oct_6 = y2025.iter().find(|h| h.date == d("2025-10-06")).unwrap();
        assert_eq!(
            (oct_6.name.as_str(), oct_6.festival, oct_6.kind),
            ("国庆中秋", Some(Festival::NationalDay), DayKind::Off)
        );
        let y2015 = official_schedule(2015).unwrap();
        let sep_3 = y2015.iter().find(|h| h.date == d("2015-09-03")).unwrap();
        assert_eq!((sep_3.name.as_str(), sep_3.festival), ("抗战胜利日", None));
    }

    #[test]
    fn festival_dates_2027_to_2030() {
        let cases = [
            (Festival::SpringFestival, 2027, "2027-02-06"),
            (Festival::SpringFestival, 2028, "2028-01-26"),
            (Festival::SpringFestival, 2029, "2029-02-13"),
            (Festival::SpringFestival, 2030, "2030-02-03"),
            (Festival::MidAutumn, 2027, "2027-09-15"),
            (Festival::MidAutumn, 2028, "2028-10-03"),
            (Festival::MidAutumn, 2029, "2029-09-22"),
            (Festival::MidAutumn, 2030, "2030-09-12"),
            (Festival::Qingming, 2027, "2027-04-05"),
            (Festival::DragonBoat, 2027, "2027-06-09"),
            (Festival::NewYear, 2027, "2027-01-01"),
            (Festival::LabourDay, 2027, "2027-05-01"),
            (Festival::NationalDay, 2027, "2027-10-01"),
            // Years with official data agree with it.
            (Festival::Qingming, 2026, "2026-04-05"),
            (Festival::DragonBoat, 2026, "2026-06-19"),
            (Festival::MidAutumn, 2026, "2026-09-25"),
            (Festival::SpringFestival, 2026, "2026-02-17"),
        ];
        for (festival, year, expected) in cases {
            assert_eq!(festival_date(festival, year), Some(d(expected)), "{festival:?} {year}");
        }
        assert_eq!(festival_date(Festival::NewYear, 1899), None);
        assert_eq!(festival_date(Festival::MidAutumn, 2201), None);
    }

    #[test]
    fn qingming_falls_on_4_or_5_april_through_2100() {
        for year in 2000..=2100 {
            let date = festival_date(Festival::Qingming, year).unwrap();
            assert_eq!(date.month(), 4, "{year}");
            assert!((4..=5).contains(&date.day()), "{year}: {date}");
        }
    }

    #[test]
    fn the_year_2027_has_no_official_schedule_so_it_is_estimated() {
        assert_eq!(official_schedule(2027), None);
        let estimate = schedule(2027);
        assert_eq!(estimate, estimated_schedule(2027));
        assert!(estimate.iter().all(|h| h.estimated && h.kind == DayKind::Off && h.festival.is_some()));
        let days: Vec<(NaiveDate, Festival)> = estimate.iter().map(|h| (h.date, h.festival.unwrap())).collect();
        use Festival::*;
        assert_eq!(
            days,
            [
                (d("2027-01-01"), NewYear),
                (d("2027-02-05"), SpringFestival), // 除夕
                (d("2027-02-06"), SpringFestival),
                (d("2027-02-07"), SpringFestival),
                (d("2027-02-08"), SpringFestival),
                (d("2027-04-05"), Qingming),
                (d("2027-05-01"), LabourDay),
                (d("2027-05-02"), LabourDay),
                (d("2027-06-09"), DragonBoat),
                (d("2027-09-15"), MidAutumn),
                (d("2027-10-01"), NationalDay),
                (d("2027-10-02"), NationalDay),
                (d("2027-10-03"), NationalDay),
            ]
        );
        assert!(estimate.iter().all(|h| h.name == h.festival.unwrap().name_zh()));
    }

    #[test]
    fn an_estimate_lists_each_day_once_when_festivals_collide() {
        // 中秋 2028 is 3 October, a statutory day of 国庆 too.
        let estimate = estimated_schedule(2028);
        let oct_3: Vec<_> = estimate.iter().filter(|h| h.date == d("2028-10-03")).collect();
        assert_eq!(oct_3.len(), 1);
        assert_eq!(oct_3[0].festival, Some(Festival::MidAutumn));
        // The 13 statutory days, one of them shared.
        assert_eq!(estimate.len(), 12);
        assert!(estimate.windows(2).all(|w| w[0].date < w[1].date));
    }

    #[test]
    fn years_before_the_table_have_no_official_schedule() {
        // tyme4rs's table opens with the make-up days of late December 2001 for 元旦 2002.
        assert_eq!(official_schedule(2001), None);
        assert!(official_schedule(2002).is_some());
        assert_eq!(official_schedule(1899), None);
    }

    #[test]
    fn lunar_birthdays() {
        assert_eq!(lunar_to_solar(2026, 8, 15, false), Some(d("2026-09-25")));
        assert_eq!(lunar_to_solar(2027, 1, 1, false), Some(d("2027-02-06")));
        // The 12th month of a lunar year ends in the next solar year.
        assert_eq!(lunar_to_solar(2026, 12, 1, false).map(|d| d.year()), Some(2027));
    }

    #[test]
    fn a_30th_in_a_29_day_month_falls_on_the_29th() {
        // Lunar 2026/8 runs from 11 September to 9 October: 29 days, so 八月三十 is kept on 八月廿九.
        assert_eq!(LunarMonth::from_ym(2026, 8).get_day_count(), 29);
        assert_eq!(lunar_to_solar(2026, 8, 29, false), Some(d("2026-10-09")));
        assert_eq!(lunar_to_solar(2026, 8, 30, false), Some(d("2026-10-09")));
        // 九月 has 30 days, and its 30th is a day of its own.
        assert_eq!(lunar_to_solar(2026, 9, 30, false), Some(d("2026-11-08")));
    }

    #[test]
    fn a_leap_month_the_year_lacks_falls_on_the_ordinary_month() {
        // 2025 has a leap 6th month, 2026 none.
        assert_eq!(LunarYear::from_year(2025).get_leap_month(), 6);
        assert_eq!(LunarYear::from_year(2026).get_leap_month(), 0);
        assert_eq!(lunar_to_solar(2026, 6, 10, true), lunar_to_solar(2026, 6, 10, false));
        // In 2025 the leap month is a month later than the ordinary one.
        assert_eq!(lunar_to_solar(2025, 6, 1, false), Some(d("2025-06-25")));
        assert_eq!(lunar_to_solar(2025, 6, 1, true), Some(d("2025-07-25")));
        // A leap flag on a month that is not the leap one is ignored too.
        assert_eq!(lunar_to_solar(2025, 5, 1, true), lunar_to_solar(2025, 5, 1, false));
    }

    #[test]
    fn the_next_lunar_birthday() {
        // 中秋 2026 is 25 September.
        assert_eq!(next_lunar_birthday(d("2026-09-01"), 8, 15, false), Some(d("2026-09-25")));
        assert_eq!(next_lunar_birthday(d("2026-09-25"), 8, 15, false), Some(d("2026-09-25")));
        assert_eq!(next_lunar_birthday(d("2026-09-26"), 8, 15, false), Some(d("2027-09-15")));
        // Late in the lunar year that began the previous solar year: 腊月廿三 of lunar 2025.
        let little_new_year = lunar_to_solar(2025, 12, 23, false).unwrap();
        assert_eq!(little_new_year.year(), 2026);
        assert_eq!(next_lunar_birthday(d("2026-01-01"), 12, 23, false), Some(little_new_year));
    }

    #[test]
    fn out_of_range_input_is_none() {
        assert_eq!(lunar_to_solar(2026, 13, 1, false), None);
        assert_eq!(lunar_to_solar(2026, 0, 1, false), None);
        assert_eq!(lunar_to_solar(2026, 1, 31, false), None);
        assert_eq!(lunar_to_solar(2026, 1, 0, false), None);
        assert_eq!(lunar_to_solar(1899, 1, 1, false), None);
        assert_eq!(lunar_to_solar(2201, 1, 1, false), None);
        assert_eq!(lunar_to_solar(i32::MAX, 1, 1, false), None);
        assert_eq!(next_lunar_birthday(d("2026-01-01"), 13, 1, false), None);
        assert_eq!(next_lunar_birthday(d("2026-01-01"), 1, 31, false), None);
        assert_eq!(next_lunar_birthday(d("2026-01-01"), 1, 0, false), None);
        assert_eq!(next_lunar_birthday(NaiveDate::MAX, 1, 1, false), None);
        assert_eq!(official_schedule(i32::MIN), None);
        assert!(estimated_schedule(i32::MAX).is_empty());
    }

    proptest! {
        #[test]
        fn lunar_to_solar_round_trips(year in 2000..=2100i32, month in 0..=14u8, day in 0..=32u8, leap: bool) {
            let Some(date) = lunar_to_solar(year, month, day, leap) else {
                prop_assert!(!(1..=12).contains(&month) || !(1..=30).contains(&day));
                return Ok(());
            };
            let back = SolarDay::from_ymd(date.year() as isize, date.month() as usize, date.day() as usize)
                .get_lunar_day();
            let back_month = back.get_lunar_month();
            prop_assert_eq!(back_month.get_year(), year as isize);
            prop_assert_eq!(back_month.get_month(), usize::from(month));
            let year_has_leap = LunarYear::from_year(year as isize).get_leap_month() == usize::from(month);
            prop_assert_eq!(back_month.is_leap(), leap && year_has_leap);
            prop_assert!(
                back.get_day() == usize::from(day) || (day == 30 && back.get_day() == 29),
                "lunar {}/{}/{} came back as day {}", year, month, day, back.get_day()
            );
        }
    }
}
