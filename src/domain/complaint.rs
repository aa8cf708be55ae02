//! The complaint procedure (客户投诉处理方案) as a state machine and a set of timers.
//!
//! A complaint is received at any hour, its responsibility judged (not the company's fault:
//! explained and closed; otherwise accepted), assigned to a responsible department with a
//! handling deadline from its nature, investigated, its resolution approved by the service
//! manager, sent to the customer, accepted (or reopened), revisited within a week for the
//! customer's satisfaction, and closed. Every step is checked here; storage and the bot only
//! carry it out.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// The acceptance number (受理编号): `TS-YYYYMMDD-NNNN`, sequential per local day.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ComplaintNo(String);

impl ComplaintNo {
    pub fn new(day: NaiveDate, seq: i64) -> Self {
        Self(format!("TS-{}-{seq:04}", day.format("%Y%m%d")))
    }

    /// The counter that numbers complaints received on `day`.
    pub fn counter_name(day: NaiveDate) -> String {
        format!("complaint:{}", day.format("%Y%m%d"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for ComplaintNo {
    type Err = ();

    /// Accepts `TS-20261125-0007` in any case, with or without dashes.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let compact: String = s.trim().to_ascii_uppercase().chars().filter(|c| *c != '-').collect();
        let rest = compact.strip_prefix("TS").ok_or(())?;
        if rest.len() < 9 || !rest.bytes().all(|b| b.is_ascii_digit()) {
            return Err(());
        }
        let (date, seq) = rest.split_at(8);
        let day = NaiveDate::parse_from_str(date, "%Y%m%d").map_err(|_| ())?;
        let seq: i64 = seq.parse().map_err(|_| ())?;
        if seq == 0 || seq > 99_999 {
            return Err(());
        }
        Ok(Self::new(day, seq))
    }
}

impl fmt::Display for ComplaintNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

macro_rules! named_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$(Self::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text),+ }
            }
        }

        impl FromStr for $name {
            type Err = ();
            fn from_str(s: &str) -> Result<Self, ()> {
                match s { $($text => Ok(Self::$variant),)+ _ => Err(()) }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

named_enum! {
    /// How the complaint reached us (投诉方式).
    Intake { Telegram = "telegram", Phone = "phone", Email = "email", OnSite = "on_site", Other = "other" }
}

named_enum! {
    /// The nature that sets the handling deadline.
    Nature { Urgent = "urgent", Normal = "normal", Complex = "complex" }
}

named_enum! {
    /// How a complaint was settled (处理方式: 赔偿, 退货, 折价, 其他).
    Method { Compensation = "compensation", Return = "return", Discount = "discount", Other = "other" }
}

named_enum! {
    /// Where a complaint stands.
    Status {
        /// Submitted; nobody has judged it yet.
        Received = "received",
        /// The company's responsibility; no department yet.
        Accepted = "accepted",
        /// A department investigates; the deadline runs.
        Assigned = "assigned",
        /// The department proposed a resolution; the service manager decides.
        Proposed = "proposed",
        /// Approved; customer service sends it to the customer.
        Approved = "approved",
        /// The customer has the resolution and accepts or refuses it.
        AwaitingCustomer = "awaiting_customer",
        /// Accepted by the customer; the revisit is owed.
        Resolved = "resolved",
        Closed = "closed",
    }
}

impl Status {
    /// Statuses in which the handling deadline runs (the result is not with the customer yet).
    pub fn deadline_runs(self) -> bool {
        matches!(self, Self::Assigned | Self::Proposed | Self::Approved)
    }
}

named_enum! {
    /// Why a closed complaint was closed.
    Outcome { NotOurFault = "not_our_fault", Resolved = "resolved" }
}

/// A step of the workflow, as someone asks for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum Step {
    /// Responsibility judged: the company's (accepted) or not (explained and closed).
    Accept,
    RejectNotOurFault {
        explanation: String,
    },
    Assign {
        department: String,
        nature: Nature,
    },
    Report {
        findings: String,
        proposal: String,
    },
    Approve,
    SendBack {
        reason: String,
    },
    Resolve {
        method: Method,
        amount_cents: i64,
        message: String,
    },
    CustomerAccepts,
    CustomerRefuses {
        reason: String,
    },
    Revisit {
        rating: u8,
        comment: String,
    },
}

impl Step {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Accept => "accept",
            Self::RejectNotOurFault { .. } => "reject",
            Self::Assign { .. } => "assign",
            Self::Report { .. } => "report",
            Self::Approve => "approve",
            Self::SendBack { .. } => "send_back",
            Self::Resolve { .. } => "resolve",
            Self::CustomerAccepts => "customer_accepts",
            Self::CustomerRefuses { .. } => "customer_refuses",
            Self::Revisit { .. } => "revisit",
        }
    }
}

/// Who asks for a step, as far as the procedure cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    /// The customer who submitted it, in the chat they submitted from.
    Submitter,
    /// Customer-service staff (or anyone above them: managers, directors, admins).
    Service,
    /// The head of the department the complaint is assigned to.
    DepartmentHead,
    /// The service manager (head of customer service), a director or an admin.
    ServiceManager,
}

/// Why a step was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StepError {
    #[error("a complaint in status {status} cannot take step {step}")]
    IllegalTransition { status: Status, step: &'static str },
    #[error("step {step} is not for this person")]
    NotAllowed { step: &'static str },
    #[error("invalid input: {0}")]
    Invalid(&'static str),
}

/// The status after `step`, if the procedure allows it from `status` for `actors` (everything
/// the person asking is, e.g. service staff who also head a department).
pub fn next_status(status: Status, step: &Step, actors: &[Actor]) -> Result<Status, StepError> {
    use Status::*;
    let kind = step.kind();
    let illegal = || StepError::IllegalTransition { status, step: kind };
    let (from, to, allowed): (&[Status], Status, &[Actor]) = match step {
        Step::Accept => (&[Received], Accepted, &[Actor::Service, Actor::ServiceManager]),
        Step::RejectNotOurFault { explanation } => {
            if explanation.trim().is_empty() {
                return Err(StepError::Invalid("explanation"));
            }
            (&[Received], Closed, &[Actor::Service, Actor::ServiceManager])
        }
        Step::Assign { department, .. } => {
            if department.trim().is_empty() {
                return Err(StepError::Invalid("department"));
            }
            (&[Accepted], Assigned, &[Actor::Service, Actor::ServiceManager])
        }
        Step::Report { findings, proposal } => {
            if findings.trim().is_empty() || proposal.trim().is_empty() {
                return Err(StepError::Invalid("findings"));
            }
            (&[Assigned], Proposed, &[Actor::DepartmentHead, Actor::ServiceManager])
        }
        Step::Approve => (&[Proposed], Approved, &[Actor::ServiceManager]),
        Step::SendBack { .. } => (&[Proposed], Assigned, &[Actor::ServiceManager]),
        Step::Resolve { amount_cents, message, .. } => {
            if *amount_cents < 0 {
                return Err(StepError::Invalid("amount"));
            }
            if message.trim().is_empty() {
                return Err(StepError::Invalid("message"));
            }
            (&[Approved], AwaitingCustomer, &[Actor::Service, Actor::ServiceManager])
        }
        // Customer service records the answer of a customer who is not on Telegram.
        Step::CustomerAccepts => {
            (&[AwaitingCustomer], Resolved, &[Actor::Submitter, Actor::Service, Actor::ServiceManager])
        }
        Step::CustomerRefuses { .. } => {
            (&[AwaitingCustomer], Assigned, &[Actor::Submitter, Actor::Service, Actor::ServiceManager])
        }
        Step::Revisit { rating, .. } => {
            if !(1..=5).contains(rating) {
                return Err(StepError::Invalid("rating"));
            }
            (&[Resolved], Closed, &[Actor::Submitter, Actor::Service, Actor::ServiceManager])
        }
    };
    if !from.contains(&status) {
        return Err(illegal());
    }
    if !actors.iter().any(|a| allowed.contains(a)) {
        return Err(StepError::NotAllowed { step: kind });
    }
    Ok(to)
}

/// How long each nature may take, and the other timers of the procedure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComplaintPolicy {
    pub urgent_days: u32,
    pub normal_days: u32,
    pub complex_days: u32,
    /// No first response (judgement) within this many minutes → e-mail the service manager.
    pub first_response_minutes: u32,
    /// Hours after resolution at which the bot asks the customer for the revisit.
    pub revisit_ask_after_hours: u32,
    /// Days the customer has to answer before a person takes over the revisit.
    pub revisit_answer_days: u32,
    /// Days after resolution by which the revisit must be done (一周内回访).
    pub revisit_within_days: u32,
    /// Count handling deadlines in working days (holidays and weekends skipped).
    #[serde(default)]
    pub deadline_in_working_days: bool,
}

impl Default for ComplaintPolicy {
    fn default() -> Self {
        Self {
            urgent_days: 1,
            normal_days: 3,
            complex_days: 7,
            first_response_minutes: 120,
            revisit_ask_after_hours: 24,
            revisit_answer_days: 2,
            revisit_within_days: 7,
            deadline_in_working_days: false,
        }
    }
}

impl ComplaintPolicy {
    pub fn days(&self, nature: Nature) -> u32 {
        match nature {
            Nature::Urgent => self.urgent_days,
            Nature::Normal => self.normal_days,
            Nature::Complex => self.complex_days,
        }
    }

    /// The handling deadline for a complaint of `nature` assigned (or reopened) at `from`, in
    /// calendar days (see [`Self::deadline_on_calendar`] for working days).
    pub fn deadline(&self, nature: Nature, from: DateTime<Utc>) -> DateTime<Utc> {
        from + Duration::days(self.days(nature).into())
    }

    /// The deadline as configured: calendar days, or working days of `calendar` counted in
    /// the local time zone `tz` (same time of day, N working days later).
    pub fn deadline_on_calendar<Tz: chrono::TimeZone>(
        &self,
        nature: Nature,
        from: DateTime<Utc>,
        calendar: &super::calendar::WorkCalendar,
        tz: &Tz,
    ) -> DateTime<Utc> {
        if !self.deadline_in_working_days {
            return self.deadline(nature, from);
        }
        let local = from.with_timezone(tz).naive_local();
        let day = calendar.add_working_days(local.date(), self.days(nature));
        tz.from_local_datetime(&day.and_time(local.time()))
            .earliest()
            .map(|t| t.to_utc())
            .unwrap_or_else(|| self.deadline(nature, from))
    }
}

/// The timing facts of one complaint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timeline {
    pub status: Status,
    pub received_at: DateTime<Utc>,
    pub deadline: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub revisit_asked_at: Option<DateTime<Utc>>,
    /// Whether the customer can be asked in Telegram.
    pub customer_in_chat: bool,
}

/// Something a complaint's timers call for at `now`. Each carries what makes it unique, so the
/// outbox key of its message can be derived from it (one per deadline, per complaint).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Alarm {
    /// Nobody judged it in time.
    NoFirstResponse,
    /// One day before the handling deadline: remind the department head.
    DeadlineTomorrow { deadline: DateTime<Utc> },
    /// The handling deadline passed with the result not yet with the customer.
    DeadlinePassed { deadline: DateTime<Utc> },
    /// Time to ask the customer for the revisit.
    AskRevisit,
    /// The customer cannot be asked or did not answer: a person must call.
    RevisitTask,
    /// A week after resolution and no revisit: e-mail the service manager.
    RevisitOverdue,
}

/// What the complaint's timers call for at `now` (possibly several after downtime).
pub fn alarms(t: &Timeline, now: DateTime<Utc>, p: &ComplaintPolicy) -> Vec<Alarm> {
    let mut out = Vec::new();
    if t.status == Status::Received && now >= t.received_at + Duration::minutes(p.first_response_minutes.into()) {
        out.push(Alarm::NoFirstResponse);
    }
    if let (true, Some(deadline)) = (t.status.deadline_runs(), t.deadline) {
        if now >= deadline {
            out.push(Alarm::DeadlinePassed { deadline });
        } else if now >= deadline - Duration::days(1) {
            out.push(Alarm::DeadlineTomorrow { deadline });
        }
    }
    if let (Status::Resolved, Some(resolved)) = (t.status, t.resolved_at) {
        let ask_at = resolved + Duration::hours(p.revisit_ask_after_hours.into());
        if now >= ask_at {
            match (t.customer_in_chat, t.revisit_asked_at) {
                (true, None) => out.push(Alarm::AskRevisit),
                (true, Some(asked)) if now >= asked + Duration::days(p.revisit_answer_days.into()) => {
                    out.push(Alarm::RevisitTask)
                }
                (false, _) => out.push(Alarm::RevisitTask),
                _ => {}
            }
        }
        if now >= resolved + Duration::days(p.revisit_within_days.into()) {
            out.push(Alarm::RevisitOverdue);
        }
    }
    out
}

/// Parse an amount of money as people type it (`1200`, `1,200.50`, `¥88`); in cents (分).
pub fn parse_amount(input: &str) -> Option<i64> {
    let cleaned: String =
        input.trim().trim_start_matches(['¥', '￥']).trim_end_matches('元').chars().filter(|c| *c != ',').collect();
    let cleaned = cleaned.trim();
    if cleaned == "-" || cleaned.is_empty() {
        return Some(0);
    }
    let (whole, fraction) = cleaned.split_once('.').unwrap_or((cleaned, ""));
    if whole.is_empty() || whole.len() > 12 || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if fraction.len() > 2 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let cents = format!("{fraction:0<2}");
    Some(whole.parse::<i64>().ok()? * 100 + cents.parse::<i64>().ok()?)
}

/// `1234567` cents → `12,345.67`.
pub fn format_amount(cents: i64) -> String {
    let whole = (cents / 100).to_string();
    let mut grouped = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{grouped}.{:02}", cents % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    #[test]
    fn numbers_are_per_day_and_parse_back() {
        let day = NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();
        let no = ComplaintNo::new(day, 7);
        assert_eq!(no.as_str(), "TS-20261125-0007");
        assert_eq!("ts-20261125-0007".parse::<ComplaintNo>(), Ok(no.clone()));
        assert_eq!("TS202611250007".parse::<ComplaintNo>(), Ok(no));
        assert_eq!(ComplaintNo::new(day, 12345).as_str(), "TS-20261125-12345");
        for bad in ["", "TS-", "TS-20261340-0001", "TS-20261125-0000", "XX-20261125-0001", "TS-2026-11"] {
            assert!(bad.parse::<ComplaintNo>().is_err(), "{bad}");
        }
    }

    #[test]
    fn the_happy_path_walks_every_status() {
        use Actor::*;
        let steps: [(Step, &[Actor], Status); 7] = [
            (Step::Accept, &[Service], Status::Accepted),
            (Step::Assign { department: "quality".into(), nature: Nature::Normal }, &[Service], Status::Assigned),
            (
                Step::Report { findings: "批次问题".into(), proposal: "退货".into() },
                &[DepartmentHead],
                Status::Proposed,
            ),
            (Step::Approve, &[ServiceManager], Status::Approved),
            (
                Step::Resolve { method: Method::Return, amount_cents: 120_000, message: "全额退货".into() },
                &[Service],
                Status::AwaitingCustomer,
            ),
            (Step::CustomerAccepts, &[Submitter], Status::Resolved),
            (Step::Revisit { rating: 5, comment: "满意".into() }, &[Submitter], Status::Closed),
        ];
        let mut status = Status::Received;
        for (step, actors, expected) in steps {
            status = next_status(status, &step, actors).unwrap();
            assert_eq!(status, expected);
        }
    }

    #[test]
    fn illegal_steps_and_wrong_people_are_refused() {
        use Actor::*;
        assert_eq!(
            next_status(Status::Received, &Step::Approve, &[ServiceManager]),
            Err(StepError::IllegalTransition { status: Status::Received, step: "approve" })
        );
        assert_eq!(
            next_status(Status::Proposed, &Step::Approve, &[Service]),
            Err(StepError::NotAllowed { step: "approve" })
        );
        assert_eq!(
            next_status(Status::Received, &Step::Accept, &[Submitter]),
            Err(StepError::NotAllowed { step: "accept" })
        );
        let reject = Step::RejectNotOurFault { explanation: "  ".into() };
        assert_eq!(next_status(Status::Received, &reject, &[Service]), Err(StepError::Invalid("explanation")));
        assert!(
            next_status(Status::Resolved, &Step::Revisit { rating: 6, comment: String::new() }, &[Submitter]).is_err()
        );
        // Not satisfied reopens it; the department works on it again.
        assert_eq!(
            next_status(Status::AwaitingCustomer, &Step::CustomerRefuses { reason: "太少".into() }, &[Submitter]),
            Ok(Status::Assigned)
        );
        assert_eq!(
            next_status(Status::Closed, &Step::CustomerRefuses { reason: String::new() }, &[Submitter]),
            Err(StepError::IllegalTransition { status: Status::Closed, step: "customer_refuses" })
        );
    }

    #[test]
    fn timers_fire_in_order() {
        let p = ComplaintPolicy::default();
        let received = t("2026-11-25T02:00:00Z");
        let mut c = Timeline {
            status: Status::Received,
            received_at: received,
            deadline: None,
            resolved_at: None,
            revisit_asked_at: None,
            customer_in_chat: true,
        };
        assert!(alarms(&c, received + Duration::minutes(119), &p).is_empty());
        assert_eq!(alarms(&c, received + Duration::minutes(120), &p), [Alarm::NoFirstResponse]);

        let deadline = p.deadline(Nature::Normal, received);
        assert_eq!(deadline, t("2026-11-28T02:00:00Z"));
        c.status = Status::Assigned;
        c.deadline = Some(deadline);
        assert!(alarms(&c, t("2026-11-27T01:59:59Z"), &p).is_empty());
        assert_eq!(alarms(&c, t("2026-11-27T02:00:00Z"), &p), [Alarm::DeadlineTomorrow { deadline }]);
        assert_eq!(alarms(&c, t("2026-11-28T02:00:00Z"), &p), [Alarm::DeadlinePassed { deadline }]);
        c.status = Status::AwaitingCustomer;
        assert!(alarms(&c, t("2026-12-01T00:00:00Z"), &p).is_empty(), "the result is with the customer");

        let resolved = t("2026-11-28T00:00:00Z");
        c.status = Status::Resolved;
        c.resolved_at = Some(resolved);
        assert!(alarms(&c, resolved + Duration::hours(23), &p).is_empty());
        assert_eq!(alarms(&c, resolved + Duration::hours(24), &p), [Alarm::AskRevisit]);
        c.revisit_asked_at = Some(resolved + Duration::hours(24));
        assert!(alarms(&c, resolved + Duration::hours(71), &p).is_empty());
        assert_eq!(alarms(&c, resolved + Duration::hours(72), &p), [Alarm::RevisitTask]);
        assert_eq!(alarms(&c, resolved + Duration::days(7), &p), [Alarm::RevisitTask, Alarm::RevisitOverdue]);

        c.customer_in_chat = false;
        c.revisit_asked_at = None;
        assert_eq!(alarms(&c, resolved + Duration::hours(24), &p), [Alarm::RevisitTask]);
    }

    #[test]
    fn deadlines_in_working_days_skip_the_holiday() {
        use super::super::calendar::{DayKind, WorkCalendar};
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        let cal = WorkCalendar::with_exceptions((1..=7).map(|n| (d(&format!("2026-10-0{n}")), DayKind::Off)));
        let p = ComplaintPolicy { deadline_in_working_days: true, ..ComplaintPolicy::default() };
        // Wednesday 30 Sep 10:00 Beijing + 3 working days: 8, 9, then 12 Oct (the 10th is not a
        // make-up day in this calendar).
        let from = t("2026-09-30T02:00:00Z");
        assert_eq!(
            p.deadline_on_calendar(Nature::Normal, from, &cal, &chrono_tz::Asia::Shanghai),
            t("2026-10-12T02:00:00Z")
        );
        let calendar_days = ComplaintPolicy::default();
        assert_eq!(
            calendar_days.deadline_on_calendar(Nature::Normal, from, &cal, &chrono_tz::Asia::Shanghai),
            t("2026-10-03T02:00:00Z")
        );
    }

    #[test]
    fn amounts_parse_as_people_type_them() {
        assert_eq!(parse_amount("1200"), Some(120_000));
        assert_eq!(parse_amount("¥1,200.5"), Some(120_050));
        assert_eq!(parse_amount("88元"), Some(8_800));
        assert_eq!(parse_amount("-"), Some(0));
        for bad in ["abc", "1.234", "-5", "1e3", "12.3.4"] {
            assert_eq!(parse_amount(bad), None, "{bad}");
        }
        assert_eq!(format_amount(123_456_789), "1,234,567.89");
        assert_eq!(format_amount(5), "0.05");
    }
}
