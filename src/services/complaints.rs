//! The complaint procedure carried out: intake, workflow steps with their notifications, the
//! duty roster and the statistics. Every change and every message it causes are committed in
//! one transaction, so a crash can neither lose a notification nor send one for a step that
//! did not happen.

use anyhow::Context;
use chrono::{DateTime, Duration, Utc};
use teloxide::types::InlineKeyboardMarkup;

use super::Ctx;
use super::directory::Directory;
use super::intake::{Recorded, Submission};
use crate::domain::complaint::{Actor, ComplaintNo, Outcome, Status, Step, StepError, format_amount, next_status};
use crate::domain::ids::{CustomerId, StaffId};
use crate::domain::report::{self, Facts, Period, Stats};
use crate::domain::staff::Role;
use crate::locale::Locale;
use crate::notify;
use crate::storage::complaints::{self as store, Attachment, Complaint, ComplaintForm, Origin};
use crate::storage::departments::{self, Department, SERVICE};
use crate::storage::outbox::Priority;
use crate::storage::staff::Staff;
use crate::storage::{Tx, duty};
use crate::telegram::complaint_view as view;
use crate::templates::{Key, keys};

/// Who asks for a step.
#[derive(Debug, Clone, Copy)]
pub enum Who<'a> {
    /// A customer, identified only by the chat they write from.
    Customer {
        chat_id: i64,
    },
    Staff(&'a Staff),
}

/// Why a complaint operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum ComplaintError {
    /// No such complaint — or not one this person may see (never tell which).
    #[error("complaint not found")]
    NotFound,
    #[error(transparent)]
    Step(#[from] StepError),
    /// Someone else moved the complaint on between reading and writing.
    #[error("the complaint changed meanwhile")]
    Conflict,
    #[error("unknown department {0}")]
    UnknownDepartment(String),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl From<sqlx::Error> for ComplaintError {
    fn from(e: sqlx::Error) -> Self {
        Self::Other(e.into())
    }
}

/// What the person asking is, as far as this complaint is concerned.
fn actors(dir: &Directory, who: Who<'_>, c: &Complaint) -> Result<Vec<Actor>, ComplaintError> {
    match who {
        Who::Customer { chat_id } if c.submitter_chat_id == Some(chat_id) => Ok(vec![Actor::Submitter]),
        Who::Customer { .. } => Err(ComplaintError::NotFound),
        Who::Staff(s) => {
            let mut actors = Vec::new();
            if matches!(s.role, Role::Service | Role::Manager | Role::Director | Role::Admin) {
                actors.push(Actor::Service);
            }
            let service_head = dir.department(Some(SERVICE)).and_then(|d| d.head);
            if matches!(s.role, Role::Director | Role::Admin) || service_head == Some(s.id) {
                actors.push(Actor::ServiceManager);
            }
            if dir.department(c.department.as_deref()).and_then(|d| d.head) == Some(s.id) {
                actors.push(Actor::DepartmentHead);
            }
            Ok(actors)
        }
    }
}

fn customer_locale(ctx: &Ctx, c: &Complaint) -> Locale {
    super::stored_locale(c.submitter_locale.as_deref(), &ctx.settings)
}

/// Queues the messages one change causes, all keyed by that change.
struct Notices<'a> {
    ctx: &'a Ctx,
    now: DateTime<Utc>,
    key: String,
    /// The member of staff who caused the change: they get the handler's confirmation
    /// instead of a notification about their own step.
    actor: Option<StaffId>,
    /// The customer caused it: what they are told answers them, so it goes at once even at
    /// night.
    customer_acts: bool,
}

impl Notices<'_> {
    fn is_actor(&self, person: &Staff) -> bool {
        self.actor == Some(person.id)
    }

    /// A message that respects quiet hours (everything but the new-complaint alert, which
    /// goes through [`Self::urgent`]).
    async fn chat(
        &self,
        tx: &mut Tx,
        chat: i64,
        text: &str,
        keyboard: Option<InlineKeyboardMarkup>,
        priority: Priority,
    ) -> anyhow::Result<()> {
        let markup = keyboard.map(|k| serde_json::to_string(&k)).transpose()?;
        let at = self.ctx.polite_time(self.now);
        notify::telegram_at(tx, &format!("{}:{chat}", self.key), chat, text, markup, priority, self.now, at).await?;
        Ok(())
    }

    /// A message that goes out at once, at any hour: complaints reach the staff on duty
    /// around the clock, and a customer who just wrote gets the answer now.
    async fn urgent(
        &self,
        tx: &mut Tx,
        chat: i64,
        text: &str,
        keyboard: Option<InlineKeyboardMarkup>,
    ) -> anyhow::Result<()> {
        let markup = keyboard.map(|k| serde_json::to_string(&k)).transpose()?;
        notify::telegram(tx, &format!("{}:{chat}", self.key), chat, text, markup, Priority::Interactive, self.now)
            .await?;
        Ok(())
    }

    async fn staff(
        &self,
        tx: &mut Tx,
        to: &Staff,
        key: Key,
        vars: &[(&str, &str)],
        keyboard: impl FnOnce(Locale) -> Option<InlineKeyboardMarkup>,
    ) -> anyhow::Result<()> {
        if self.is_actor(to) {
            return Ok(());
        }
        let locale = self.ctx.locale_of(to);
        let text = self.ctx.templates.render(locale, key, vars);
        self.chat(tx, to.telegram_id.0, &text, keyboard(locale), Priority::Interactive).await
    }

    async fn customer(
        &self,
        tx: &mut Tx,
        c: &Complaint,
        key: Key,
        vars: &[(&str, &str)],
        keyboard: impl FnOnce(Locale) -> Option<InlineKeyboardMarkup>,
    ) -> anyhow::Result<()> {
        let Some(chat) = c.submitter_chat_id else { return Ok(()) };
        let locale = customer_locale(self.ctx, c);
        let text = self.ctx.templates.render(locale, key, vars);
        if self.customer_acts {
            self.urgent(tx, chat, &text, keyboard(locale)).await
        } else {
            self.chat(tx, chat, &text, keyboard(locale), Priority::Interactive).await
        }
    }

    async fn email(
        &self,
        tx: &mut Tx,
        to: &[&Staff],
        subject: Key,
        body: Key,
        vars: &[(&str, &str)],
    ) -> anyhow::Result<usize> {
        let mut sent = 0;
        for person in to {
            let Some(address) = person.email.as_deref() else {
                tracing::warn!(staff = person.id.0, "no e-mail address for a complaint escalation");
                continue;
            };
            let locale = self.ctx.locale_of(person);
            let mut vars = vars.to_vec();
            vars.push(("recipient", &person.name));
            let subject = self.ctx.templates.render(locale, subject, &vars);
            let body = self.ctx.templates.render(locale, body, &vars);
            sent += usize::from(
                notify::email(tx, &format!("{}:{address}", self.key), address, &subject, &body, self.now).await?,
            );
        }
        Ok(sent)
    }
}

/// Take a complaint in: number it (sequential per local day, race-free), link it to the
/// archive when name or phone match, record it, acknowledge it to the customer and alert the
/// staff on duty (all customer-service staff when nobody is on duty).
///
/// `draft_of` names the dialogue draft (chat, stored state) the form came from; it is deleted
/// in the same transaction, and `None` is returned when it was already gone (a second press
/// of "submit"), so one form gives one complaint. The customer's acceptance comes back
/// claimed when it can go at once: the caller sends it (see `services::intake`).
pub async fn submit(
    ctx: &Ctx,
    origin: Origin,
    form: ComplaintForm,
    attachments: &[Attachment],
    draft_of: Option<(i64, &str)>,
) -> anyhow::Result<Option<Recorded>> {
    let submission = Submission {
        origin,
        form,
        attachments: attachments.to_vec(),
        draft_of: draft_of.map(|(chat, state)| (chat, state.to_owned())),
        now: ctx.now(),
    };
    // The intake wakes the senders for the notices it leaves them.
    let Some(recorded) = ctx.intake.submit(submission).await? else { return Ok(None) };
    let complaint = &recorded.complaint;
    tracing::info!(
        complaint = %complaint.number,
        intake = %complaint.intake,
        linked = complaint.customer_id.is_some(),
        "complaint received"
    );
    Ok(Some(recorded))
}

/// Load a complaint the way `who` may see it: a customer only their own; staff only when they
/// work on complaints (customer service and above, the responsible department's head) or own
/// the customer it is about — a complaint carries personal data too.
pub async fn load(ctx: &Ctx, number: &ComplaintNo, who: Who<'_>) -> Result<Complaint, ComplaintError> {
    let mut tx = ctx.db.begin().await?;
    let c = store::by_number(&mut tx, number).await?.ok_or(ComplaintError::NotFound)?;
    let allowed = match who {
        Who::Customer { chat_id } => c.submitter_chat_id == Some(chat_id),
        Who::Staff(staff) => {
            let dir = Directory::load(&mut tx).await?;
            let owns = match c.customer_id {
                Some(id) => crate::storage::customers::by_id(&mut tx, id)
                    .await?
                    .is_some_and(|r| r.customer.owner == Some(staff.id)),
                None => false,
            };
            owns || !actors(&dir, who, &c)?.is_empty()
        }
    };
    tx.commit().await.context("reading a complaint")?;
    if allowed { Ok(c) } else { Err(ComplaintError::NotFound) }
}

/// Perform a workflow step for `who`, with everything it causes.
pub async fn perform(ctx: &Ctx, number: &ComplaintNo, who: Who<'_>, step: Step) -> Result<Complaint, ComplaintError> {
    let now = ctx.now();
    let mut tx = ctx.db.begin().await?;
    let mut c = store::by_number(&mut tx, number).await?.ok_or(ComplaintError::NotFound)?;
    let dir = Directory::load(&mut tx).await?;
    let actors = actors(&dir, who, &c)?;
    let before = c.status;
    c.status = next_status(before, &step, &actors)?;
    let staff = match who {
        Who::Staff(s) => Some(s),
        Who::Customer { .. } => None,
    };
    let calendar = super::calendar::work_calendar(&mut tx, ctx.local_date(now)).await?;
    let details = apply(ctx, &mut c, &step, staff, &dir, &calendar, now)?;
    if !store::save(&mut tx, &c, before, now).await? {
        return Err(ComplaintError::Conflict);
    }
    let actor = if staff.is_some() { "staff" } else { "customer" };
    let event = store::add_event(&mut tx, c.id, actor, staff.map(|s| s.id), step.kind(), &details, now).await?;
    let notices = Notices {
        ctx,
        now,
        key: format!("complaint:{number}:e{event}"),
        actor: staff.map(|s| s.id),
        customer_acts: staff.is_none(),
    };
    notify_step(ctx, &mut tx, &notices, &c, &step, &dir, who).await?;
    tx.commit().await.context("committing a complaint step")?;
    ctx.wake_worker.notify_one();
    tracing::info!(complaint = %number, step = step.kind(), from = %before, to = %c.status, "complaint step");
    Ok(c)
}

/// Change the record's fields for `step`; returns the history line's details.
fn apply(
    ctx: &Ctx,
    c: &mut Complaint,
    step: &Step,
    staff: Option<&Staff>,
    dir: &Directory,
    calendar: &crate::domain::calendar::WorkCalendar,
    now: DateTime<Utc>,
) -> Result<String, ComplaintError> {
    let policy = &ctx.settings.complaints;
    let tz = &ctx.settings.timezone;
    Ok(match step {
        Step::Accept => {
            c.first_response_at.get_or_insert(now);
            c.handled_by = staff.map(|s| s.id);
            String::new()
        }
        Step::RejectNotOurFault { explanation } => {
            c.first_response_at.get_or_insert(now);
            c.handled_by = staff.map(|s| s.id);
            c.outcome = Some(Outcome::NotOurFault);
            c.resolution = Some(explanation.trim().to_owned());
            c.closed_at = Some(now);
            explanation.trim().to_owned()
        }
        Step::Assign { department, nature } => {
            let d = dir
                .department(Some(department))
                .filter(|d| d.handles_complaints)
                .ok_or_else(|| ComplaintError::UnknownDepartment(department.clone()))?;
            c.department = Some(d.key.clone());
            c.nature = Some(*nature);
            c.deadline = Some(policy.deadline_on_calendar(*nature, now, calendar, tz));
            format!("{} / {nature}", d.key)
        }
        Step::Report { findings, proposal } => {
            c.findings = Some(findings.trim().to_owned());
            c.proposal = Some(proposal.trim().to_owned());
            proposal.trim().to_owned()
        }
        Step::Approve => String::new(),
        Step::SendBack { reason } => reason.trim().to_owned(),
        Step::Resolve { method, amount_cents, message } => {
            c.method = Some(*method);
            c.amount_cents = *amount_cents;
            c.resolution = Some(message.trim().to_owned());
            c.result_sent_at = Some(now);
            format!("{method} {}", format_amount(*amount_cents))
        }
        Step::CustomerAccepts => {
            c.resolved_at = Some(now);
            String::new()
        }
        Step::CustomerRefuses { reason } => {
            c.reopen_count += 1;
            c.result_sent_at = None;
            c.deadline = c.nature.map(|n| policy.deadline_on_calendar(n, now, calendar, tz));
            reason.trim().to_owned()
        }
        Step::Revisit { rating, comment } => {
            c.satisfaction = Some(*rating);
            c.satisfaction_comment = Some(comment.trim().to_owned()).filter(|s| !s.is_empty());
            c.outcome = Some(Outcome::Resolved);
            c.closed_at = Some(now);
            format!("{rating}/5 {}", comment.trim())
        }
    })
}

/// The people a step concerns and what each is told.
async fn notify_step(
    ctx: &Ctx,
    tx: &mut Tx,
    n: &Notices<'_>,
    c: &Complaint,
    step: &Step,
    dir: &Directory,
    who: Who<'_>,
) -> anyhow::Result<()> {
    let t = &ctx.templates;
    let number = c.number.as_str();
    let deadline = c.deadline.map(|d| ctx.local_time(d)).unwrap_or_default();
    let handlers: Vec<&Staff> = match dir.active(c.handled_by) {
        Some(s) => vec![s],
        None => dir.all_service_staff(),
    };
    let department = dir.department(c.department.as_deref());
    let report_button = |l: Locale| Some(view::staff_actions(t, l, number, &[(keys::BTN_REPORT, "report")]));
    match step {
        Step::Accept => n.customer(tx, c, keys::NOTIFY_ACCEPTED, &[("number", number)], |_| None).await?,
        Step::RejectNotOurFault { explanation } => {
            n.customer(tx, c, keys::NOTIFY_REJECTED, &[("number", number), ("explanation", explanation)], |_| None)
                .await?
        }
        Step::Assign { .. } => {
            let cl = customer_locale(ctx, c);
            let dept = department.map(|d| d.name(cl).to_owned()).unwrap_or_default();
            n.customer(
                tx,
                c,
                keys::NOTIFY_ASSIGNED,
                &[("number", number), ("department", &dept), ("deadline", &deadline)],
                |_| None,
            )
            .await?;
            for head in dir.department_heads(c.department.as_deref()).into_iter().filter(|h| !n.is_actor(h)) {
                let l = ctx.locale_of(head);
                let text = format!(
                    "{}\n{}",
                    t.render(l, keys::HEAD_TASK, &[("number", number), ("deadline", &deadline)]),
                    view::summary(t, l, c, 0)
                );
                n.chat(tx, head.telegram_id.0, &text, report_button(l), Priority::Interactive).await?;
            }
        }
        Step::Report { findings, proposal } => {
            for manager in dir.service_managers().into_iter().filter(|m| !n.is_actor(m)) {
                let l = ctx.locale_of(manager);
                let dept = department.map(|d| d.name(l).to_owned()).unwrap_or_default();
                let keyboard = view::staff_actions(
                    t,
                    l,
                    number,
                    &[(keys::BTN_APPROVE, "approve"), (keys::BTN_SEND_BACK, "sendback")],
                );
                let text = t.render(
                    l,
                    keys::MANAGER_APPROVAL,
                    &[("number", number), ("department", &dept), ("findings", findings), ("proposal", proposal)],
                );
                n.chat(tx, manager.telegram_id.0, &text, Some(keyboard), Priority::Interactive).await?;
            }
        }
        Step::Approve => {
            let proposal = c.proposal.as_deref().unwrap_or_default();
            for person in handlers {
                n.staff(tx, person, keys::SERVICE_SEND_RESULT, &[("number", number), ("proposal", proposal)], |l| {
                    Some(view::staff_actions(t, l, number, &[(keys::BTN_RESOLVE, "resolve")]))
                })
                .await?;
            }
        }
        Step::SendBack { reason } => {
            for head in dir.department_heads(c.department.as_deref()) {
                n.staff(tx, head, keys::HEAD_SENT_BACK, &[("number", number), ("reason", reason)], report_button)
                    .await?;
            }
        }
        Step::Resolve { method, amount_cents, message } => {
            let amount = format_amount(*amount_cents);
            if c.submitter_chat_id.is_some() {
                let cl = customer_locale(ctx, c);
                let method = view::method_label(t, cl, *method);
                n.customer(
                    tx,
                    c,
                    keys::NOTIFY_RESOLUTION,
                    &[("number", number), ("method", &method), ("amount", &amount), ("message", message)],
                    |l| Some(view::answer_keyboard(t, l, "cc", number)),
                )
                .await?;
            } else {
                // A task, not news: the person who sent the resolution gets it too.
                for person in handlers {
                    let l = ctx.locale_of(person);
                    let text = t.render(l, keys::SERVICE_RECORD_ANSWER, &[("number", number), ("message", message)]);
                    let keyboard = view::answer_keyboard(t, l, "cw", number);
                    n.chat(tx, person.telegram_id.0, &text, Some(keyboard), Priority::Interactive).await?;
                }
            }
        }
        Step::CustomerAccepts => {
            n.customer(tx, c, keys::NOTIFY_THANKS_ACCEPTED, &[("number", number)], |_| None).await?;
            for person in handlers {
                n.staff(tx, person, keys::STAFF_CUSTOMER_ACCEPTED, &[("number", number)], |_| None).await?;
            }
        }
        Step::CustomerRefuses { reason } => {
            n.customer(tx, c, keys::NOTIFY_REOPENED, &[("number", number), ("deadline", &deadline)], |_| None).await?;
            let mut told: Vec<StaffId> = Vec::new();
            for head in dir.department_heads(c.department.as_deref()) {
                told.push(head.id);
                n.staff(
                    tx,
                    head,
                    keys::STAFF_CUSTOMER_REFUSED,
                    &[("number", number), ("reason", reason), ("deadline", &deadline)],
                    report_button,
                )
                .await?;
            }
            for person in handlers.into_iter().filter(|p| !told.contains(&p.id)) {
                n.staff(
                    tx,
                    person,
                    keys::STAFF_CUSTOMER_REFUSED,
                    &[("number", number), ("reason", reason), ("deadline", &deadline)],
                    |_| None,
                )
                .await?;
            }
        }
        Step::Revisit { rating, comment } => {
            if matches!(who, Who::Customer { .. }) {
                n.customer(tx, c, keys::REVISIT_THANKS, &[("number", number)], |_| None).await?;
            }
            let rating = rating.to_string();
            for person in handlers {
                n.staff(
                    tx,
                    person,
                    keys::REVISIT_RECORDED,
                    &[("number", number), ("rating", &rating), ("comment", comment)],
                    |_| None,
                )
                .await?;
            }
        }
    }
    Ok(())
}

/// Link a complaint to an archive customer by hand.
pub async fn link(
    ctx: &Ctx,
    number: &ComplaintNo,
    staff: &Staff,
    customer: CustomerId,
) -> Result<Complaint, ComplaintError> {
    let now = ctx.now();
    let mut tx = ctx.db.begin().await?;
    let mut c = store::by_number(&mut tx, number).await?.ok_or(ComplaintError::NotFound)?;
    let dir = Directory::load(&mut tx).await?;
    if !actors(&dir, Who::Staff(staff), &c)?.contains(&Actor::Service) {
        return Err(StepError::NotAllowed { step: "link" }.into());
    }
    c.customer_id = Some(customer);
    if !store::save(&mut tx, &c, c.status, now).await? {
        return Err(ComplaintError::Conflict);
    }
    store::add_event(&mut tx, c.id, "staff", Some(staff.id), "link", &customer.0.to_string(), now).await?;
    tx.commit().await.context("committing a complaint link")?;
    Ok(c)
}

/// Queue what the complaint timers call for at `now` (the planner calls this every tick).
/// Returns how many alarms produced new messages.
pub async fn plan_alarms(ctx: &Ctx, tx: &mut Tx, now: DateTime<Utc>) -> anyhow::Result<usize> {
    use crate::domain::complaint::{Alarm, alarms};
    let open = store::open(tx).await?;
    if open.is_empty() {
        return Ok(0);
    }
    let dir = Directory::load(tx).await?;
    let t = &ctx.templates;
    let mut raised = 0;
    for c in open {
        let number = c.number.as_str();
        let deadline = c.deadline.map(|d| ctx.local_time(d)).unwrap_or_default();
        let received = ctx.local_time(c.received_at);
        for alarm in alarms(&c.timeline(), now, &ctx.settings.complaints) {
            let key = match &alarm {
                Alarm::NoFirstResponse => format!("complaint:{number}:no-first-response"),
                Alarm::DeadlineTomorrow { deadline } => format!("complaint:{number}:tomorrow:{}", deadline.timestamp()),
                Alarm::DeadlinePassed { deadline } => format!("complaint:{number}:overdue:{}", deadline.timestamp()),
                Alarm::AskRevisit => format!("complaint:{number}:revisit-ask"),
                Alarm::RevisitTask => format!("complaint:{number}:revisit-task"),
                Alarm::RevisitOverdue => format!("complaint:{number}:revisit-overdue"),
            };
            let n = Notices { ctx, now, key, actor: None, customer_acts: false };
            let vars = [
                ("number", number),
                ("customer", c.form.customer_name.as_str()),
                ("received", &received),
                ("deadline", &deadline),
            ];
            match alarm {
                Alarm::NoFirstResponse => {
                    raised += n
                        .email(
                            tx,
                            &dir.service_managers(),
                            keys::EMAIL_NO_RESPONSE_SUBJECT,
                            keys::EMAIL_NO_RESPONSE_BODY,
                            &vars,
                        )
                        .await?;
                }
                Alarm::DeadlineTomorrow { .. } => {
                    for head in dir.department_heads(c.department.as_deref()) {
                        n.staff(tx, head, keys::REMINDER_DEADLINE_TOMORROW, &vars, |l| {
                            Some(view::staff_actions(t, l, number, &[(keys::BTN_REPORT, "report")]))
                        })
                        .await?;
                        raised += 1;
                    }
                }
                Alarm::DeadlinePassed { .. } => {
                    let mut to = dir.service_managers();
                    for head in dir.department_heads(c.department.as_deref()) {
                        if let Some(boss) = dir.active(head.manager) {
                            to.push(boss);
                        }
                    }
                    to.sort_by_key(|s| s.id);
                    to.dedup_by_key(|s| s.id);
                    raised += n.email(tx, &to, keys::EMAIL_OVERDUE_SUBJECT, keys::EMAIL_OVERDUE_BODY, &vars).await?;
                }
                Alarm::AskRevisit => {
                    n.customer(tx, &c, keys::REVISIT_ASK, &vars, |_| Some(view::rating_keyboard("cc", number))).await?;
                    store::mark_revisit_asked(tx, c.id, now).await?;
                    raised += 1;
                }
                Alarm::RevisitTask => {
                    let handlers: Vec<&Staff> = match dir.active(c.handled_by) {
                        Some(s) => vec![s],
                        None => dir.all_service_staff(),
                    };
                    let contact = c.form.contact_name.as_deref().unwrap_or_default();
                    let phone = c.form.contact_phone.as_deref().unwrap_or_default();
                    for person in handlers {
                        n.staff(
                            tx,
                            person,
                            keys::REVISIT_TASK,
                            &[
                                ("number", number),
                                ("customer", &c.form.customer_name),
                                ("contact", contact),
                                ("phone", phone),
                            ],
                            |_| Some(view::rating_keyboard("cw", number)),
                        )
                        .await?;
                        raised += 1;
                    }
                }
                Alarm::RevisitOverdue => {
                    raised += n
                        .email(
                            tx,
                            &dir.service_managers(),
                            keys::EMAIL_REVISIT_OVERDUE_SUBJECT,
                            keys::EMAIL_REVISIT_OVERDUE_BODY,
                            &vars,
                        )
                        .await?;
                }
            }
        }
    }
    Ok(raised)
}

/// Put `staff` on duty from `starts` for `hours`.
pub async fn go_on_duty(ctx: &Ctx, staff: StaffId, starts: DateTime<Utc>, hours: u32) -> anyhow::Result<DateTime<Utc>> {
    let ends = starts + Duration::hours(hours.into());
    let mut conn = ctx.db.pool().acquire().await?;
    duty::add(&mut conn, staff, starts, ends, ctx.now()).await?;
    Ok(ends)
}

/// The statistics of complaints received in `period`, with the department names.
pub async fn report(ctx: &Ctx, period: Period) -> anyhow::Result<(Stats, Vec<Department>)> {
    let (from, until) = period.bounds();
    let mut conn = ctx.db.pool().acquire().await?;
    let rows = store::received_between(&mut conn, from, until).await?;
    let departments = departments::all(&mut conn).await?;
    let facts: Vec<Facts> = rows
        .into_iter()
        .map(|(c, tier)| Facts {
            received_at: c.received_at,
            status: c.status,
            outcome: c.outcome,
            department: c.department,
            method: c.method,
            tier,
            amount_cents: c.amount_cents,
            deadline: c.deadline,
            result_sent_at: c.result_sent_at,
            resolved_at: c.resolved_at,
            satisfaction: c.satisfaction,
        })
        .collect();
    Ok((report::compute(&facts, ctx.now()), departments))
}

/// Statuses shown by `/complaints` (everything still needing someone).
pub fn is_open(status: Status) -> bool {
    status != Status::Closed
}
