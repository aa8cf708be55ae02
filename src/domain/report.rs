//! The complaint statistics (客户投诉统计表) for a month, a quarter or a year.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};

use super::complaint::{Method, Outcome, Status};
use super::customer::Tier;

/// A reporting period: `2026-11`, `2026-Q4` or `2026`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Month { year: i32, month: u32 },
    Quarter { year: i32, quarter: u32 },
    Year(i32),
}

impl Period {
    /// The local dates `[first, after_last)` the period covers.
    pub fn bounds(self) -> (NaiveDate, NaiveDate) {
        let first = |y: i32, m: u32| NaiveDate::from_ymd_opt(y, m, 1).expect("valid month");
        let next = |y: i32, m: u32| if m == 12 { first(y + 1, 1) } else { first(y, m + 1) };
        match self {
            Self::Month { year, month } => (first(year, month), next(year, month)),
            Self::Quarter { year, quarter } => {
                let start = (quarter - 1) * 3 + 1;
                (first(year, start), next(year, start + 2))
            }
            Self::Year(year) => (first(year, 1), first(year + 1, 1)),
        }
    }
}

impl FromStr for Period {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        let s = s.trim().to_ascii_uppercase();
        let year = |y: &str| -> Result<i32, ()> {
            let y: i32 = y.parse().map_err(|_| ())?;
            (2000..=2999).contains(&y).then_some(y).ok_or(())
        };
        match s.split_once('-') {
            None => Ok(Self::Year(year(&s)?)),
            Some((y, q)) if q.starts_with('Q') => {
                let quarter: u32 = q[1..].parse().map_err(|_| ())?;
                (1..=4).contains(&quarter).then_some(Self::Quarter { year: year(y)?, quarter }).ok_or(())
            }
            Some((y, m)) => {
                let month: u32 = m.parse().map_err(|_| ())?;
                (1..=12).contains(&month).then_some(Self::Month { year: year(y)?, month }).ok_or(())
            }
        }
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Month { year, month } => write!(f, "{year}-{month:02}"),
            Self::Quarter { year, quarter } => write!(f, "{year}-Q{quarter}"),
            Self::Year(year) => write!(f, "{year}"),
        }
    }
}

/// What the statistics need to know of one complaint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    pub received_at: DateTime<Utc>,
    pub status: Status,
    pub outcome: Option<Outcome>,
    pub department: Option<String>,
    pub method: Option<Method>,
    pub tier: Option<Tier>,
    pub amount_cents: i64,
    pub deadline: Option<DateTime<Utc>>,
    pub result_sent_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub satisfaction: Option<u8>,
}

/// The statistics table.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Stats {
    pub total: usize,
    pub not_our_fault: usize,
    pub open: usize,
    /// Department key → complaints assigned to it.
    pub by_department: BTreeMap<String, usize>,
    /// Handling method → complaints settled that way.
    pub by_method: BTreeMap<Method, usize>,
    /// Tier of the linked customer; `None` for complaints not linked to the archive.
    pub by_tier: BTreeMap<Option<Tier>, usize>,
    /// Total loss (compensation, returns, discounts) in cents.
    pub loss_cents: i64,
    /// Mean hours from receipt to the customer accepting the resolution.
    pub avg_hours_to_resolution: Option<f64>,
    /// Of complaints whose deadline is decided (result sent, or deadline passed by `now`):
    /// the share whose result reached the customer in time.
    pub within_deadline: Option<f64>,
    pub avg_satisfaction: Option<f64>,
}

fn mean(values: impl Iterator<Item = f64>) -> Option<f64> {
    let (sum, n) = values.fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    (n > 0).then(|| sum / n as f64)
}

/// Compute the table as of `now` (which decides whether a running deadline has passed).
pub fn compute(facts: &[Facts], now: DateTime<Utc>) -> Stats {
    let mut s = Stats { total: facts.len(), ..Stats::default() };
    for f in facts {
        if f.outcome == Some(Outcome::NotOurFault) {
            s.not_our_fault += 1;
        }
        if f.status != Status::Closed {
            s.open += 1;
        }
        if let Some(d) = &f.department {
            *s.by_department.entry(d.clone()).or_default() += 1;
        }
        if let Some(m) = f.method {
            *s.by_method.entry(m).or_default() += 1;
        }
        *s.by_tier.entry(f.tier).or_default() += 1;
        s.loss_cents += f.amount_cents;
    }
    s.avg_hours_to_resolution =
        mean(facts.iter().filter_map(|f| f.resolved_at.map(|r| (r - f.received_at).num_minutes() as f64 / 60.0)));
    let decided: Vec<bool> = facts
        .iter()
        .filter_map(|f| {
            let deadline = f.deadline?;
            match f.result_sent_at {
                Some(sent) => Some(sent <= deadline),
                None if now > deadline => Some(false),
                None => None,
            }
        })
        .collect();
    s.within_deadline = mean(decided.iter().map(|ok| if *ok { 1.0 } else { 0.0 }));
    s.avg_satisfaction = mean(facts.iter().filter_map(|f| f.satisfaction.map(f64::from)));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    #[test]
    fn periods_parse_and_bound() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        assert_eq!("2026-11".parse::<Period>().unwrap().bounds(), (d("2026-11-01"), d("2026-12-01")));
        assert_eq!("2026-12".parse::<Period>().unwrap().bounds(), (d("2026-12-01"), d("2027-01-01")));
        assert_eq!("2026-q4".parse::<Period>().unwrap().bounds(), (d("2026-10-01"), d("2027-01-01")));
        assert_eq!("2026-Q1".parse::<Period>().unwrap().bounds(), (d("2026-01-01"), d("2026-04-01")));
        assert_eq!("2026".parse::<Period>().unwrap().bounds(), (d("2026-01-01"), d("2027-01-01")));
        for bad in ["", "26", "2026-13", "2026-Q5", "2026-Q0", "2026-00", "November", "2026-11-01"] {
            assert!(bad.parse::<Period>().is_err(), "{bad}");
        }
        assert_eq!("2026-q4".parse::<Period>().unwrap().to_string(), "2026-Q4");
        assert_eq!(Period::Month { year: 2026, month: 3 }.to_string(), "2026-03");
    }

    #[test]
    fn the_table_counts_sums_and_averages() {
        let base = Facts {
            received_at: t("2026-11-02T00:00:00Z"),
            status: Status::Closed,
            outcome: Some(Outcome::Resolved),
            department: Some("quality".into()),
            method: Some(Method::Return),
            tier: Some(Tier::A),
            amount_cents: 100_000,
            deadline: Some(t("2026-11-05T00:00:00Z")),
            result_sent_at: Some(t("2026-11-04T00:00:00Z")),
            resolved_at: Some(t("2026-11-04T12:00:00Z")),
            satisfaction: Some(4),
        };
        let late = Facts {
            department: Some("production".into()),
            method: Some(Method::Compensation),
            tier: None,
            amount_cents: 50_050,
            result_sent_at: Some(t("2026-11-06T00:00:00Z")),
            resolved_at: Some(t("2026-11-06T00:00:00Z")),
            satisfaction: Some(2),
            ..base.clone()
        };
        let rejected = Facts {
            outcome: Some(Outcome::NotOurFault),
            department: None,
            method: None,
            amount_cents: 0,
            deadline: None,
            result_sent_at: None,
            resolved_at: None,
            satisfaction: None,
            ..base.clone()
        };
        let running = Facts {
            status: Status::Assigned,
            outcome: None,
            method: None,
            amount_cents: 0,
            deadline: Some(t("2026-11-30T00:00:00Z")),
            result_sent_at: None,
            resolved_at: None,
            satisfaction: None,
            ..base.clone()
        };
        let s = compute(&[base, late, rejected, running], t("2026-11-20T00:00:00Z"));
        assert_eq!((s.total, s.not_our_fault, s.open), (4, 1, 1));
        assert_eq!(s.by_department.get("quality"), Some(&2));
        assert_eq!(s.by_department.get("production"), Some(&1));
        assert_eq!(s.by_method.get(&Method::Return), Some(&1));
        assert_eq!(s.by_tier.get(&Some(Tier::A)), Some(&3));
        assert_eq!(s.by_tier.get(&None), Some(&1));
        assert_eq!(s.loss_cents, 150_050);
        assert_eq!(s.avg_hours_to_resolution, Some((60.0 + 96.0) / 2.0));
        assert_eq!(s.within_deadline, Some(0.5), "the running one is not decided yet");
        assert_eq!(s.avg_satisfaction, Some(3.0));
        assert_eq!(compute(&[], t("2026-11-20T00:00:00Z")).within_deadline, None);
    }
}
