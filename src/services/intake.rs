//! New complaints, group-committed (see `storage::group_commit`): the complaints submitted at
//! the same moment are recorded in one transaction, with one statement for each kind of write
//! whatever their number.
//!
//! Why: each complaint takes the next number of the day's counter, and that row stays locked
//! until the transaction commits (on SQLite, the one connection is held). Recorded one by one,
//! every complaint being submitted waited for all the round trips of the ones before it: in the
//! updates bench, 200 customers pressing "submit" at once were answered after 200–450 ms at
//! p50, against 45–70 ms for every other step. Together they take the counter once, advanced
//! by their number, and the numbers stay gapless: a batch that fails is rolled back whole, and
//! each of its complaints is then tried alone.
//!
//! What one complaint gets is unchanged (see `services::complaints::submit`): its form's draft
//! consumed, the archive customer matched, its number, its record and "received" event, the
//! customer's acceptance and the alerts to the staff on duty (or all service staff), queued
//! in the same transaction. The acceptance is also claimed there with its send slot, as an
//! update's first reply is (`storage::update_io`), for the customer's own update to send it
//! at once instead of leaving it to the outbox senders.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use anyhow::Context;
use chrono::{DateTime, Utc};
use tokio::sync::Notify;

use super::directory::Directory;
use crate::config::Settings;
use crate::domain::complaint::ComplaintNo;
use crate::domain::customer::Phone;
use crate::domain::ids::CustomerId;
use crate::locale::Locale;
use crate::notify;
use crate::storage::complaints::{self as store, Attachment, Complaint, ComplaintForm, NewComplaint, NewEvent, Origin};
use crate::storage::delivery_io::{self, ClaimedRow, SendNow};
use crate::storage::group_commit::{Connection, GroupCommit};
use crate::storage::outbox::{NewMessage, Priority};
use crate::storage::staff::Staff;
use crate::storage::{Backend, Db, begin_on, counters, dialogues, duty};
use crate::telegram::complaint_view as view;
use crate::templates::{Templates, keys};

/// The intake's task; cheap to clone.
#[derive(Debug, Clone)]
pub struct IntakeIo {
    submissions: GroupCommit<Submission, Option<Recorded>>,
}

/// A complaint recorded.
#[derive(Debug)]
pub struct Recorded {
    pub complaint: Complaint,
    /// The customer's acceptance, claimed for the caller to send
    /// (`telegram::reply::Replier::send_after`); `None` when there is no customer chat, or
    /// when the chat has an earlier message waiting or no free slot (the senders send it).
    pub acceptance: Option<ClaimedRow>,
}

/// A complaint form submitted.
#[derive(Debug, Clone)]
pub struct Submission {
    pub origin: Origin,
    pub form: ComplaintForm,
    pub attachments: Vec<Attachment>,
    /// The dialogue draft (chat, stored state) the form came from: consumed with the record,
    /// so that a second press of "submit" finds it gone.
    pub draft_of: Option<(i64, String)>,
    pub now: DateTime<Utc>,
}

/// What the notices are written with, and whom to tell of those left to the senders.
#[derive(Debug, Clone)]
struct Writing {
    templates: Arc<Templates>,
    settings: Arc<Settings>,
    send_now: SendNow,
    /// The outbox senders' wake-up (`Ctx::wake_worker`).
    wake_senders: Arc<Notify>,
}

impl IntakeIo {
    /// Start the task (it needs a running tokio runtime); it ends when the last clone of this
    /// is dropped. `wake_senders` is the outbox senders' wake-up, for the notices each batch
    /// leaves to them.
    pub fn start(db: &Db, templates: Arc<Templates>, settings: Arc<Settings>, wake_senders: Arc<Notify>) -> Self {
        let writing = Writing { send_now: crate::jobs::worker::send_now(&settings), templates, settings, wake_senders };
        Self {
            submissions: GroupCommit::start(db, "recording new complaints", move |backend, conn, submissions| {
                record_many(backend, conn, submissions, writing.clone())
            }),
        }
    }

    /// Record a complaint; `None` when its draft was consumed already.
    pub async fn submit(&self, submission: Submission) -> anyhow::Result<Option<Recorded>> {
        self.submissions.run(submission).await
    }
}

/// A batch in one transaction: the drafts consumed, then the reads the notices need (the
/// customer matches, the directory, the duty roster), then the day's counter advanced once
/// for all, the records, their events and their notices, one statement each. Once it is
/// committed, one sender is woken for each chat with notices left to the senders.
///
/// Why a wake-up a chat and a batch, not one a complaint: a chat's messages go one at a
/// time, so a second sender woken for the same chat finds nothing to claim, and asks again
/// when the next slot opens, both for nothing. Every complaint alerts the same staff, so a
/// wave of complaints woke a sender each, and nearly all of them found the staff's chats
/// busy with the alert before.
async fn record_many(
    backend: Backend,
    mut conn: Connection,
    submissions: Vec<Submission>,
    writing: Writing,
) -> anyhow::Result<Vec<Option<Recorded>>> {
    let Some(now) = submissions.iter().map(|s| s.now).max() else { return Ok(Vec::new()) };
    let mut tx = begin_on(&mut conn, backend).await?;
    let drafts: Vec<(usize, (i64, &str))> = submissions
        .iter()
        .enumerate()
        .filter_map(|(i, s)| s.draft_of.as_ref().map(|(chat, state)| (i, (*chat, state.as_str()))))
        .collect();
    let states: Vec<(i64, &str)> = drafts.iter().map(|(_, draft)| *draft).collect();
    let mut live = vec![true; submissions.len()];
    for ((i, _), taken) in drafts.iter().zip(dialogues::take_many(&mut tx, &states).await?) {
        live[*i] = taken;
    }
    let recorded: Vec<&Submission> = submissions.iter().zip(&live).filter(|(_, live)| **live).map(|(s, _)| s).collect();
    if recorded.is_empty() {
        tx.commit().await.context("committing consumed drafts")?;
        return Ok(submissions.iter().map(|_| None).collect());
    }
    let customers = match_customers(&mut tx, &recorded).await?;
    let dir = Directory::load(&mut tx).await?;
    let on_duty = duty::on_duty(&mut tx, now).await?;
    let numbers = take_numbers(&mut tx, &writing.settings, &recorded).await?;
    let new: Vec<NewComplaint> = recorded
        .iter()
        .zip(&numbers)
        .zip(&customers)
        .map(|((s, (number, received_on)), customer)| NewComplaint {
            number,
            received_on: *received_on,
            origin: &s.origin,
            customer: *customer,
            form: &s.form,
        })
        .collect();
    let complaints = store::insert_many(&mut tx, &new, now).await?;
    let mut events = Vec::with_capacity(recorded.len());
    let mut notices = Vec::new();
    let mut acceptances = Vec::with_capacity(recorded.len());
    for (s, complaint) in recorded.iter().zip(&complaints) {
        for a in &s.attachments {
            store::add_attachment(&mut tx, complaint.id, a).await?;
        }
        let (actor, details) = match s.origin.recorded_by {
            Some(_) => ("staff", s.origin.intake.as_str()),
            None => ("customer", ""),
        };
        events.push(NewEvent {
            complaint_id: complaint.id,
            actor,
            actor_staff: s.origin.recorded_by,
            kind: "received",
            details,
        });
        let acceptance = writing.acceptance(complaint, s);
        acceptances.push(acceptance.first().map(|m| m.key.clone()));
        notices.extend(acceptance);
        notices.extend(writing.alerts(complaint, s, &dir, &on_duty)?);
    }
    store::add_events(&mut tx, &events, now).await?;
    // Each acceptance's first part goes at once; the rest, and the staff's alerts, through the
    // senders.
    let first_parts: HashSet<&str> = acceptances.iter().flatten().map(String::as_str).collect();
    let mut claimed = delivery_io::enqueue_to_send_now(
        &mut tx,
        backend,
        &notices,
        |m| first_parts.contains(m.key.as_str()),
        now,
        writing.send_now,
    )
    .await
    .context("queueing new complaints' notices")?;
    tx.commit().await.context("committing new complaints")?;
    for _ in 0..delivery_io::chats_left_pending(&notices, &claimed) {
        writing.wake_senders.notify_one();
    }
    let mut recorded = complaints
        .into_iter()
        .zip(acceptances)
        .map(|(complaint, key)| Recorded { complaint, acceptance: key.and_then(|key| claimed.remove(&key)) });
    Ok(live.into_iter().map(|live| if live { recorded.next() } else { None }).collect())
}

/// Each complaint's archive customer: the first active one of exactly its name, else of the
/// same phone digits.
async fn match_customers(
    conn: &mut sqlx::AnyConnection,
    submissions: &[&Submission],
) -> anyhow::Result<Vec<Option<CustomerId>>> {
    let names: Vec<&str> = submissions.iter().map(|s| s.form.customer_name.trim()).collect();
    let by_name = crate::storage::customers::ids_by_exact_names(conn, &names).await?;
    let digits: Vec<Option<String>> = submissions
        .iter()
        .zip(&names)
        .map(|(s, name)| {
            let phone = s.form.contact_phone.as_deref().filter(|_| !by_name.contains_key(*name))?;
            Phone::parse(phone).ok().map(|p| p.digits())
        })
        .collect();
    let wanted: Vec<&str> = digits.iter().flatten().map(String::as_str).collect();
    let by_phone = crate::storage::customers::ids_by_phone_digits(conn, &wanted).await?;
    Ok(names
        .iter()
        .zip(&digits)
        .map(|(name, digits)| {
            by_name.get(*name).copied().or_else(|| digits.as_ref().and_then(|d| by_phone.get(d).copied()))
        })
        .collect())
}

/// The complaints' numbers, in order: for each day received (normally one), the day's counter
/// advanced once by the number of complaints of that day.
async fn take_numbers(
    conn: &mut sqlx::AnyConnection,
    settings: &Settings,
    submissions: &[&Submission],
) -> anyhow::Result<Vec<(ComplaintNo, chrono::NaiveDate)>> {
    let days: Vec<chrono::NaiveDate> =
        submissions.iter().map(|s| s.now.with_timezone(&settings.timezone).date_naive()).collect();
    let mut next: HashMap<chrono::NaiveDate, i64> = HashMap::new();
    for day in &days {
        if next.contains_key(day) {
            continue;
        }
        let count = i64::try_from(days.iter().filter(|d| *d == day).count()).unwrap_or(i64::MAX);
        let last = counters::advance(conn, &ComplaintNo::counter_name(*day), count).await?;
        next.insert(*day, last - count + 1);
    }
    Ok(days
        .into_iter()
        .map(|day| {
            let seq = next.get_mut(&day).map(|n| std::mem::replace(n, *n + 1)).unwrap_or(1);
            (ComplaintNo::new(day, seq), day)
        })
        .collect())
}

impl Writing {
    /// The customer's acceptance of a new complaint (they just wrote, so at once, at any
    /// hour); none when the complaint came without a customer chat.
    fn acceptance(&self, complaint: &Complaint, s: &Submission) -> Vec<NewMessage> {
        let Some(chat) = complaint.submitter_chat_id else { return Vec::new() };
        let locale = super::stored_locale(complaint.submitter_locale.as_deref(), &self.settings);
        let hours = self.settings.complaints.first_response_minutes.div_ceil(60).to_string();
        let text = self.templates.render(
            locale,
            keys::COMPLAINT_SUBMITTED,
            &[("number", complaint.number.as_str()), ("hours", &hours)],
        );
        urgent(complaint, chat, &text, None, s.now)
    }

    /// An alert of a new complaint to each member of staff on duty, or to all service staff
    /// when nobody is, at any hour; never to the member of staff who recorded it.
    fn alerts(
        &self,
        complaint: &Complaint,
        s: &Submission,
        dir: &Directory,
        on_duty: &[(crate::domain::ids::StaffId, DateTime<Utc>)],
    ) -> anyhow::Result<Vec<NewMessage>> {
        let mut alerted: Vec<&Staff> = on_duty.iter().filter_map(|(id, _)| dir.active(Some(*id))).collect();
        if alerted.is_empty() {
            alerted = dir.all_service_staff();
        }
        alerted.retain(|person| s.origin.recorded_by != Some(person.id));
        let mut messages = Vec::new();
        for person in alerted {
            let locale: Locale = super::stored_locale(person.locale.as_deref(), &self.settings);
            let text = format!(
                "{}\n{}",
                self.templates.render(locale, keys::ALERT_NEW_COMPLAINT, &[]),
                view::summary(&self.templates, locale, complaint, s.attachments.len())
            );
            let keyboard =
                serde_json::to_string(&view::alert_keyboard(&self.templates, locale, complaint.number.as_str()))?;
            messages.extend(urgent(complaint, person.telegram_id.0, &text, Some(keyboard), s.now));
        }
        Ok(messages)
    }
}

/// A new complaint's message to `chat`, interactive and due at once, keyed by the complaint
/// and the chat.
fn urgent(complaint: &Complaint, chat: i64, text: &str, markup: Option<String>, now: DateTime<Utc>) -> Vec<NewMessage> {
    let key = format!("complaint:{}:received:{chat}", complaint.number);
    notify::telegram_parts(&key, chat, text, markup, Priority::Interactive, now)
}
