//! How complaints look in a chat: labels, summaries, the staff card, and the buttons of each
//! workflow step. Button data is `cw:{number}:{action}` for staff, `cc:{number}:{action}` for
//! the customer; handlers check every press against the complaint's state and the presser.

use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup};

use crate::domain::complaint::{Intake, Method, Nature, Status, format_amount};
use crate::locale::Locale;
use crate::storage::complaints::{Complaint, Event};
use crate::storage::departments::Department;
use crate::templates::{Key, Templates, keys};

pub fn status_label(t: &Templates, l: Locale, s: Status) -> String {
    let key = match s {
        Status::Received => keys::STATUS_RECEIVED,
        Status::Accepted => keys::STATUS_ACCEPTED,
        Status::Assigned => keys::STATUS_ASSIGNED,
        Status::Proposed => keys::STATUS_PROPOSED,
        Status::Approved => keys::STATUS_APPROVED,
        Status::AwaitingCustomer => keys::STATUS_AWAITING_CUSTOMER,
        Status::Resolved => keys::STATUS_RESOLVED,
        Status::Closed => keys::STATUS_CLOSED,
    };
    t.render(l, key, &[])
}

pub fn intake_label(t: &Templates, l: Locale, i: Intake) -> String {
    let key = match i {
        Intake::Telegram => keys::INTAKE_TELEGRAM,
        Intake::Phone => keys::INTAKE_PHONE,
        Intake::Email => keys::INTAKE_EMAIL,
        Intake::OnSite => keys::INTAKE_ON_SITE,
        Intake::Other => keys::INTAKE_OTHER,
    };
    t.render(l, key, &[])
}

pub fn nature_label(t: &Templates, l: Locale, n: Nature, days: u32) -> String {
    let key = match n {
        Nature::Urgent => keys::NATURE_URGENT,
        Nature::Normal => keys::NATURE_NORMAL,
        Nature::Complex => keys::NATURE_COMPLEX,
    };
    t.render(l, key, &[("days", &days.to_string())])
}

pub fn method_label(t: &Templates, l: Locale, m: Method) -> String {
    let key = match m {
        Method::Compensation => keys::METHOD_COMPENSATION,
        Method::Return => keys::METHOD_RETURN,
        Method::Discount => keys::METHOD_DISCOUNT,
        Method::Other => keys::METHOD_OTHER,
    };
    t.render(l, key, &[])
}

fn event_label(t: &Templates, l: Locale, kind: &str) -> String {
    let key = match kind {
        "received" => keys::EVENT_RECEIVED,
        "accept" => keys::EVENT_ACCEPT,
        "reject" => keys::EVENT_REJECT,
        "assign" => keys::EVENT_ASSIGN,
        "report" => keys::EVENT_REPORT,
        "approve" => keys::EVENT_APPROVE,
        "send_back" => keys::EVENT_SEND_BACK,
        "resolve" => keys::EVENT_RESOLVE,
        "customer_accepts" => keys::EVENT_CUSTOMER_ACCEPTS,
        "customer_refuses" => keys::EVENT_CUSTOMER_REFUSES,
        "revisit" => keys::EVENT_REVISIT,
        "link" => keys::EVENT_LINK,
        _ => keys::EVENT_OTHER,
    };
    t.render(l, key, &[("kind", kind)])
}

/// The record form's fields, as every staff message about a complaint starts.
pub fn summary(t: &Templates, l: Locale, c: &Complaint, attachments: usize) -> String {
    let f = &c.form;
    let none = t.render(l, keys::NOT_SET, &[]);
    t.render(
        l,
        keys::COMPLAINT_SUMMARY,
        &[
            ("number", c.number.as_str()),
            ("customer", &f.customer_name),
            ("address", f.address.as_deref().unwrap_or(&none)),
            ("contact", f.contact_name.as_deref().unwrap_or(&none)),
            ("phone", f.contact_phone.as_deref().unwrap_or(&none)),
            ("description", &f.description),
            ("request", &f.request),
            ("intake", &intake_label(t, l, c.intake)),
            ("attachments", &attachments.to_string()),
        ],
    )
}

/// The full card for staff: form, state, deadline, resolution, satisfaction and history.
pub fn staff_card(
    t: &Templates,
    l: Locale,
    c: &Complaint,
    department: Option<&Department>,
    attachments: usize,
    events: &[Event],
    time: impl Fn(chrono::DateTime<chrono::Utc>) -> String,
) -> String {
    let none = t.render(l, keys::NOT_SET, &[]);
    let mut text = summary(t, l, c, attachments);
    text.push('\n');
    text.push_str(&t.render(
        l,
        keys::COMPLAINT_STATE,
        &[
            ("status", &status_label(t, l, c.status)),
            ("department", department.map(|d| d.name(l)).unwrap_or(&none)),
            ("deadline", &c.deadline.map(&time).unwrap_or_else(|| none.clone())),
            ("method", &c.method.map(|m| method_label(t, l, m)).unwrap_or_else(|| none.clone())),
            ("amount", &format_amount(c.amount_cents)),
            ("satisfaction", &c.satisfaction.map(|s| format!("{s}/5")).unwrap_or_else(|| none.clone())),
        ],
    ));
    for e in events {
        text.push('\n');
        let who = e.actor_name.clone().unwrap_or_else(|| match e.actor.as_str() {
            "customer" => t.render(l, keys::ACTOR_CUSTOMER, &[]),
            _ => t.render(l, keys::ACTOR_SYSTEM, &[]),
        });
        let mut line = format!("• {} {} — {}", time(e.at), who, event_label(t, l, &e.kind));
        if !e.details.is_empty() {
            line.push_str(": ");
            line.push_str(&e.details);
        }
        text.push_str(&line);
    }
    text
}

/// What the customer sees for `/status`.
pub fn customer_status(
    t: &Templates,
    l: Locale,
    c: &Complaint,
    department: Option<&Department>,
    time: impl Fn(chrono::DateTime<chrono::Utc>) -> String,
) -> String {
    let none = t.render(l, keys::NOT_SET, &[]);
    t.render(
        l,
        keys::CUSTOMER_STATUS,
        &[
            ("number", c.number.as_str()),
            ("received", &time(c.received_at)),
            ("status", &status_label(t, l, c.status)),
            ("department", department.map(|d| d.name(l)).unwrap_or(&none)),
            ("deadline", &c.deadline.map(&time).unwrap_or_else(|| none.clone())),
        ],
    )
}

fn button(t: &Templates, l: Locale, key: Key, data: String) -> InlineKeyboardButton {
    InlineKeyboardButton::callback(t.render(l, key, &[]), data)
}

/// Staff actions on `number`, one row each.
pub fn staff_actions(t: &Templates, l: Locale, number: &str, actions: &[(Key, &str)]) -> InlineKeyboardMarkup {
    InlineKeyboardMarkup::new(actions.iter().map(|(key, action)| [button(t, l, *key, format!("cw:{number}:{action}"))]))
}

/// The new-complaint alert: judge it, or look at it first.
pub fn alert_keyboard(t: &Templates, l: Locale, number: &str) -> InlineKeyboardMarkup {
    staff_actions(
        t,
        l,
        number,
        &[(keys::BTN_ACCEPT_RESPONSIBILITY, "accept"), (keys::BTN_NOT_OUR_FAULT, "reject"), (keys::BTN_VIEW, "view")],
    )
}

pub fn departments_keyboard(l: Locale, number: &str, departments: &[Department]) -> InlineKeyboardMarkup {
    InlineKeyboardMarkup::new(
        departments
            .iter()
            .filter(|d| d.handles_complaints)
            .map(|d| [InlineKeyboardButton::callback(d.name(l).to_owned(), format!("cw:{number}:dept:{}", d.key))]),
    )
}

/// The nature (and so the deadline) for an assignment to `department`.
pub fn nature_keyboard_for(
    t: &Templates,
    l: Locale,
    number: &str,
    department: &str,
    policy: &crate::domain::complaint::ComplaintPolicy,
) -> InlineKeyboardMarkup {
    let days = [
        (Nature::Urgent, policy.urgent_days),
        (Nature::Normal, policy.normal_days),
        (Nature::Complex, policy.complex_days),
    ];
    InlineKeyboardMarkup::new(days.map(|(n, d)| {
        [InlineKeyboardButton::callback(nature_label(t, l, n, d), format!("cw:{number}:assign:{department}:{n}"))]
    }))
}

pub fn method_keyboard(t: &Templates, l: Locale, number: &str) -> InlineKeyboardMarkup {
    InlineKeyboardMarkup::new(
        Method::ALL
            .iter()
            .map(|m| [InlineKeyboardButton::callback(method_label(t, l, *m), format!("cw:{number}:method:{m}"))]),
    )
}

/// Ratings 1–5 in one row; `prefix` is `cc` (the customer) or `cw` (staff recording a call).
pub fn rating_keyboard(prefix: &str, number: &str) -> InlineKeyboardMarkup {
    InlineKeyboardMarkup::new([(1..=5)
        .map(|n| InlineKeyboardButton::callback("⭐".repeat(n), format!("{prefix}:{number}:rate{n}")))
        .collect::<Vec<_>>()])
}

/// The customer's answer to a resolution.
pub fn answer_keyboard(t: &Templates, l: Locale, prefix: &str, number: &str) -> InlineKeyboardMarkup {
    InlineKeyboardMarkup::new([[
        button(t, l, keys::BTN_CUSTOMER_ACCEPTS, format!("{prefix}:{number}:yes")),
        button(t, l, keys::BTN_CUSTOMER_REFUSES, format!("{prefix}:{number}:no")),
    ]])
}

/// The customer menu shown to anyone who is not staff.
pub fn customer_menu(t: &Templates, l: Locale) -> InlineKeyboardMarkup {
    InlineKeyboardMarkup::new([
        [button(t, l, keys::BTN_COMPLAIN, "menu:complain".into())],
        [button(t, l, keys::BTN_MY_COMPLAINTS, "menu:mine".into())],
    ])
}

pub fn form_confirm_keyboard(t: &Templates, l: Locale) -> InlineKeyboardMarkup {
    InlineKeyboardMarkup::new([[
        button(t, l, keys::BTN_SUBMIT, "form:submit".into()),
        button(t, l, keys::BTN_CANCEL, "form:cancel".into()),
    ]])
}

pub fn attachments_keyboard(t: &Templates, l: Locale) -> InlineKeyboardMarkup {
    InlineKeyboardMarkup::new([[button(t, l, keys::BTN_ATTACHMENTS_DONE, "form:done".into())]])
}

pub fn intake_keyboard(t: &Templates, l: Locale) -> InlineKeyboardMarkup {
    InlineKeyboardMarkup::new(
        [Intake::Phone, Intake::Email, Intake::OnSite, Intake::Other]
            .map(|i| [InlineKeyboardButton::callback(intake_label(t, l, i), format!("intake:{i}"))]),
    )
}
