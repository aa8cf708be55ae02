//! How often each tier must be called and visited, and when the next touch is due.
//!
//! The defaults are the ABC table of the customer archive procedure (客户档案分类管理表):
//! A — a call every week, a visit every 2 months; B — a call every week, a visit every 3
//! months; C — a call every 2 weeks, a visit every 4 months. The intervals are data, so a
//! company can change them in `guanxi.toml` without touching code.

use std::fmt;
use std::str::FromStr;

use chrono::{Days, Months, NaiveDate};
use serde::{Deserialize, Serialize};

use super::customer::Tier;

/// A touch the procedures ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Call,
    Visit,
}

impl Action {
    pub const ALL: [Action; 2] = [Self::Call, Self::Visit];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Call => "call",
            Self::Visit => "visit",
        }
    }
}

impl FromStr for Action {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "call" => Ok(Self::Call),
            "visit" => Ok(Self::Visit),
            _ => Err(()),
        }
    }
}

/// A cadence interval: whole days, or calendar months (the 31st clamps to the month's end).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Interval {
    Days(u32),
    Months(u32),
}

impl Interval {
    /// The date one interval after `date`.
    ///
    /// Saturates at the end of chrono's calendar rather than panicking on absurd input.
    pub fn after(self, date: NaiveDate) -> NaiveDate {
        match self {
            Self::Days(n) => date.checked_add_days(Days::new(n.into())),
            Self::Months(n) => date.checked_add_months(Months::new(n)),
        }
        .unwrap_or(NaiveDate::MAX)
    }
}

impl FromStr for Interval {
    type Err = String;

    /// `7d`, `2w` (14 days) or `3m` (calendar months); at least one unit.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let bad = || format!("'{s}' is not an interval like 7d, 2w or 3m");
        let (number, unit) = s.split_at(s.len().saturating_sub(1));
        let n: u32 = number.parse().map_err(|_| bad())?;
        if n == 0 || n > 3660 {
            return Err(bad());
        }
        match unit {
            "d" => Ok(Self::Days(n)),
            "w" => Ok(Self::Days(n * 7)),
            "m" => Ok(Self::Months(n)),
            _ => Err(bad()),
        }
    }
}

impl TryFrom<String> for Interval {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Interval> for String {
    fn from(i: Interval) -> Self {
        i.to_string()
    }
}

impl fmt::Display for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Days(n) => write!(f, "{n}d"),
            Self::Months(n) => write!(f, "{n}m"),
        }
    }
}

/// Call and visit intervals of one tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TierCadence {
    pub call: Interval,
    pub visit: Interval,
}

/// The tier × action table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CadencePolicy {
    #[serde(rename = "A")]
    pub a: TierCadence,
    #[serde(rename = "B")]
    pub b: TierCadence,
    #[serde(rename = "C")]
    pub c: TierCadence,
}

impl Default for CadencePolicy {
    fn default() -> Self {
        Self {
            a: TierCadence { call: Interval::Days(7), visit: Interval::Months(2) },
            b: TierCadence { call: Interval::Days(7), visit: Interval::Months(3) },
            c: TierCadence { call: Interval::Days(14), visit: Interval::Months(4) },
        }
    }
}

impl CadencePolicy {
    pub fn interval(&self, tier: Tier, action: Action) -> Interval {
        let cadence = match tier {
            Tier::A => self.a,
            Tier::B => self.b,
            Tier::C => self.c,
        };
        match action {
            Action::Call => cadence.call,
            Action::Visit => cadence.visit,
        }
    }

    /// A stable text form; stored so that a changed policy triggers recomputing due dates.
    pub fn fingerprint(&self) -> String {
        Tier::ALL
            .iter()
            .map(|&t| format!("{t}:{}/{}", self.interval(t, Action::Call), self.interval(t, Action::Visit)))
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// The last touches of a customer, as local calendar dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Touches {
    pub created_on: NaiveDate,
    pub last_call_on: Option<NaiveDate>,
    pub last_visit_on: Option<NaiveDate>,
}

impl Touches {
    /// The touch that counts for `action`: a visit also satisfies the call cadence.
    pub fn last_for(&self, action: Action) -> Option<NaiveDate> {
        match action {
            Action::Call => self.last_call_on.max(self.last_visit_on),
            Action::Visit => self.last_visit_on,
        }
    }

    /// Record a touch on `on`; an older touch logged late never moves the last one back.
    pub fn record(&mut self, action: Action, on: NaiveDate) {
        let slot = match action {
            Action::Call => &mut self.last_call_on,
            Action::Visit => &mut self.last_visit_on,
        };
        *slot = (*slot).max(Some(on));
    }
}

/// When `action` is next due: one interval after the last touch that counts, or the day the
/// customer was created when there was none yet.
pub fn next_due(policy: &CadencePolicy, tier: Tier, touches: &Touches, action: Action) -> NaiveDate {
    match touches.last_for(action) {
        Some(last) => policy.interval(tier, action).after(last),
        None => touches.created_on,
    }
}

/// Both due dates at once (call, visit).
pub fn next_dues(policy: &CadencePolicy, tier: Tier, touches: &Touches) -> (NaiveDate, NaiveDate) {
    (next_due(policy, tier, touches, Action::Call), next_due(policy, tier, touches, Action::Visit))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn default_table_matches_the_procedure() {
        let p = CadencePolicy::default();
        assert_eq!(p.interval(Tier::A, Action::Call), Interval::Days(7));
        assert_eq!(p.interval(Tier::A, Action::Visit), Interval::Months(2));
        assert_eq!(p.interval(Tier::B, Action::Call), Interval::Days(7));
        assert_eq!(p.interval(Tier::B, Action::Visit), Interval::Months(3));
        assert_eq!(p.interval(Tier::C, Action::Call), Interval::Days(14));
        assert_eq!(p.interval(Tier::C, Action::Visit), Interval::Months(4));
    }

    #[test]
    fn month_intervals_clamp_to_the_end_of_the_month() {
        assert_eq!(Interval::Months(1).after(d("2026-01-31")), d("2026-02-28"));
        assert_eq!(Interval::Months(1).after(d("2028-01-31")), d("2028-02-29"));
        assert_eq!(Interval::Months(2).after(d("2026-12-31")), d("2027-02-28"));
        assert_eq!(Interval::Months(4).after(d("2026-10-31")), d("2027-02-28"));
    }

    #[test]
    fn a_new_customer_is_due_from_the_day_it_is_created() {
        let t = Touches { created_on: d("2026-11-02"), last_call_on: None, last_visit_on: None };
        let p = CadencePolicy::default();
        assert_eq!(next_dues(&p, Tier::A, &t), (d("2026-11-02"), d("2026-11-02")));
    }

    #[test]
    fn a_visit_also_satisfies_the_call_cadence() {
        let p = CadencePolicy::default();
        let t = Touches {
            created_on: d("2026-01-01"),
            last_call_on: Some(d("2026-11-02")),
            last_visit_on: Some(d("2026-11-05")),
        };
        assert_eq!(next_due(&p, Tier::A, &t, Action::Call), d("2026-11-12"));
        assert_eq!(next_due(&p, Tier::A, &t, Action::Visit), d("2027-01-05"));
    }

    #[test]
    fn intervals_parse_and_print() {
        assert_eq!("7d".parse(), Ok(Interval::Days(7)));
        assert_eq!("2w".parse(), Ok(Interval::Days(14)));
        assert_eq!("3m".parse(), Ok(Interval::Months(3)));
        for bad in ["", "d", "0d", "7", "7y", "-1d", "99999d"] {
            assert!(bad.parse::<Interval>().is_err(), "{bad}");
        }
        assert_eq!(Interval::Months(3).to_string(), "3m");
        assert_eq!(CadencePolicy::default().fingerprint(), "A:7d/2m,B:7d/3m,C:14d/4m");
    }

    fn date() -> impl Strategy<Value = NaiveDate> {
        (0i64..20_000).prop_map(|n| d("2000-01-01") + chrono::Duration::days(n))
    }

    fn tier() -> impl Strategy<Value = Tier> {
        prop_oneof![Just(Tier::A), Just(Tier::B), Just(Tier::C)]
    }

    fn action() -> impl Strategy<Value = Action> {
        prop_oneof![Just(Action::Call), Just(Action::Visit)]
    }

    fn touches() -> impl Strategy<Value = Touches> {
        (date(), proptest::option::of(date()), proptest::option::of(date()))
            .prop_map(|(created_on, last_call_on, last_visit_on)| Touches { created_on, last_call_on, last_visit_on })
    }

    proptest! {
        #[test]
        fn logging_a_touch_never_makes_anything_more_overdue(
            t in touches(), tier in tier(), logged in action(), offset in 0i64..5_000
        ) {
            // Touches are logged on or after the day the customer entered the archive.
            let on = t.created_on + chrono::Duration::days(offset);
            let p = CadencePolicy::default();
            let mut after = t;
            after.record(logged, on);
            for a in Action::ALL {
                prop_assert!(next_due(&p, tier, &after, a) >= next_due(&p, tier, &t, a));
            }
        }

        #[test]
        fn a_due_date_never_precedes_the_last_touch(t in touches(), tier in tier(), a in action()) {
            let due = next_due(&CadencePolicy::default(), tier, &t, a);
            if let Some(last) = t.last_for(a) {
                prop_assert!(due > last);
            }
        }

        #[test]
        fn month_steps_land_in_the_right_month(start in date(), n in 1u32..24) {
            let due = Interval::Months(n).after(start);
            let months = |x: NaiveDate| chrono::Datelike::year(&x) * 12 + chrono::Datelike::month0(&x) as i32;
            prop_assert_eq!(months(due) - months(start), n as i32);
            prop_assert!(chrono::Datelike::day(&due) <= chrono::Datelike::day(&start));
        }
    }
}
