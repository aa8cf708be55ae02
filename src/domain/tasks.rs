//! Archive tasks: new information to enter, tier changes to apply, credit ratings to
//! re-investigate, the yearly data check. Each has a reminder moment and an escalation moment.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::customer::Tier;

/// What a task is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskKind {
    /// A rep's new information (`/info`): enter it into the archive within 1 day, 2 at most.
    ArchiveUpdate,
    /// A rep proposes another tier; applied when the task is done.
    TierChange,
    /// The credit rating expired: investigate again.
    CreditCheck,
    /// The yearly full data check of a rep's customers.
    DataCheck,
}

impl TaskKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ArchiveUpdate => "archive_update",
            Self::TierChange => "tier_change",
            Self::CreditCheck => "credit_check",
            Self::DataCheck => "data_check",
        }
    }
}

impl FromStr for TaskKind {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        [Self::ArchiveUpdate, Self::TierChange, Self::CreditCheck, Self::DataCheck]
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or(())
    }
}

impl fmt::Display for TaskKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a tier-change task carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TierProposal {
    pub tier: Tier,
}

/// When a task is reminded and escalated, from its creation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskPolicy {
    /// Archive updates: due (and reminded) this many days after the information came in…
    pub update_due_days: u32,
    /// …and escalated to the service manager after this many.
    pub update_escalate_days: u32,
    /// Count those days as working days (holidays and weekends skipped).
    pub update_working_days: bool,
    /// Credit re-investigations: due this many days after the rating expired, then escalated.
    pub credit_due_days: u32,
    /// The yearly data check: due this many days after it is handed out.
    pub data_check_days: u32,
}

impl Default for TaskPolicy {
    fn default() -> Self {
        Self {
            update_due_days: 1,
            update_escalate_days: 2,
            update_working_days: false,
            credit_due_days: 14,
            data_check_days: 30,
        }
    }
}

/// What an open task's clock calls for at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskAlarm {
    Remind,
    Escalate,
}

/// The alarms of an open task with these moments at `now`.
pub fn task_alarms(remind_at: DateTime<Utc>, escalate_at: DateTime<Utc>, now: DateTime<Utc>) -> Vec<TaskAlarm> {
    let mut out = Vec::new();
    if now >= remind_at {
        out.push(TaskAlarm::Remind);
    }
    if now >= escalate_at {
        out.push(TaskAlarm::Escalate);
    }
    out
}

/// Credit reports stay valid for 3 months to a year; ours: 6 months, 3 for A-tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreditPolicy {
    pub a_months: u32,
    pub b_months: u32,
    pub c_months: u32,
}

impl Default for CreditPolicy {
    fn default() -> Self {
        Self { a_months: 3, b_months: 6, c_months: 6 }
    }
}

impl CreditPolicy {
    /// The day a rating investigated on `on` expires for a customer of `tier`.
    pub fn expires(&self, tier: Tier, on: chrono::NaiveDate) -> chrono::NaiveDate {
        let months = match tier {
            Tier::A => self.a_months,
            Tier::B => self.b_months,
            Tier::C => self.c_months,
        };
        on.checked_add_months(chrono::Months::new(months)).unwrap_or(chrono::NaiveDate::MAX)
    }
}

/// The reminder and escalation moments of an archive update that came in at `created`, in
/// calendar days (working days are counted by the caller, who knows the holidays).
pub fn update_moments(p: &TaskPolicy, created: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    (created + Duration::days(p.update_due_days.into()), created + Duration::days(p.update_escalate_days.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    #[test]
    fn new_information_is_reminded_after_one_day_and_escalated_after_two() {
        let created = t("2026-11-25T03:00:00Z");
        let (remind, escalate) = update_moments(&TaskPolicy::default(), created);
        assert!(task_alarms(remind, escalate, t("2026-11-26T02:59:59Z")).is_empty());
        assert_eq!(task_alarms(remind, escalate, t("2026-11-26T03:00:00Z")), [TaskAlarm::Remind]);
        assert_eq!(task_alarms(remind, escalate, t("2026-11-27T03:00:00Z")), [TaskAlarm::Remind, TaskAlarm::Escalate]);
    }

    #[test]
    fn a_tier_credit_expires_sooner() {
        let p = CreditPolicy::default();
        let on: chrono::NaiveDate = "2026-08-31".parse().unwrap();
        assert_eq!(p.expires(Tier::A, on).to_string(), "2026-11-30");
        assert_eq!(p.expires(Tier::B, on).to_string(), "2027-02-28");
        assert_eq!("credit_check".parse::<TaskKind>(), Ok(TaskKind::CreditCheck));
    }
}
