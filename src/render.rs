//! Rendering domain values into template text, shared by the bot, the planner and e-mails.

use chrono::NaiveDate;

use crate::domain::agenda::{Agenda, DueItem};
use crate::domain::cadence::Action;
use crate::domain::escalation::Level;
use crate::locale::Locale;
use crate::templates::{Templates, keys};

pub fn action_label(t: &Templates, locale: Locale, action: Action) -> String {
    match action {
        Action::Call => t.render(locale, keys::ACTION_CALL, &[]),
        Action::Visit => t.render(locale, keys::ACTION_VISIT, &[]),
    }
}

/// Label for a stored interaction kind (`call`, `visit`, or anything else).
pub fn kind_label(t: &Templates, locale: Locale, kind: &str) -> String {
    match kind.parse::<Action>() {
        Ok(action) => action_label(t, locale, action),
        Err(()) => t.render(locale, keys::KIND_OTHER, &[("kind", kind)]),
    }
}

/// An agenda as a chat message: a header, then overdue, due today and upcoming sections.
pub fn agenda(t: &Templates, locale: Locale, agenda: &Agenda, today: NaiveDate, upcoming_days: u32) -> String {
    let mut out = t.render(locale, keys::DIGEST_HEADER, &[("date", &today.to_string())]);
    let line = |item: &DueItem| {
        t.render(
            locale,
            keys::DIGEST_LINE,
            &[
                ("archive_no", item.archive_no.as_str()),
                ("name", &item.customer_name),
                ("action", &action_label(t, locale, item.action)),
                ("due", &item.due_on.to_string()),
            ],
        )
    };
    if !agenda.overdue.is_empty() {
        out.push_str("\n\n");
        out.push_str(&t.render(locale, keys::DIGEST_OVERDUE, &[("count", &agenda.overdue.len().to_string())]));
        for item in &agenda.overdue {
            out.push('\n');
            out.push_str(&t.render(
                locale,
                keys::DIGEST_OVERDUE_LINE,
                &[
                    ("archive_no", item.archive_no.as_str()),
                    ("name", &item.customer_name),
                    ("action", &action_label(t, locale, item.action)),
                    ("due", &item.due_on.to_string()),
                    ("days", &item.days_overdue(today).to_string()),
                ],
            ));
        }
    }
    if !agenda.due_today.is_empty() {
        out.push_str("\n\n");
        out.push_str(&t.render(locale, keys::DIGEST_TODAY, &[("count", &agenda.due_today.len().to_string())]));
        for item in &agenda.due_today {
            out.push('\n');
            out.push_str(&line(item));
        }
    }
    if !agenda.upcoming.is_empty() {
        out.push_str("\n\n");
        out.push_str(&t.render(
            locale,
            keys::DIGEST_UPCOMING,
            &[("count", &agenda.upcoming.len().to_string()), ("days", &upcoming_days.to_string())],
        ));
        for item in &agenda.upcoming {
            out.push('\n');
            out.push_str(&line(item));
        }
    }
    out
}

/// One escalated item inside an escalation e-mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EscalatedItem {
    pub item: DueItem,
    pub level: Level,
    pub days_overdue: i64,
    pub rep_name: String,
    /// Set when the item went to this recipient only because the chain had nobody at that level.
    pub no_chain: bool,
}

/// Subject and body of the e-mail listing all items newly escalated to one recipient.
pub fn escalation_email(
    t: &Templates,
    locale: Locale,
    recipient_name: &str,
    items: &[EscalatedItem],
    today: NaiveDate,
) -> (String, String) {
    let subject = t.render(
        locale,
        keys::ESCALATION_SUBJECT,
        &[("count", &items.len().to_string()), ("date", &today.to_string())],
    );
    let lines: Vec<String> = items
        .iter()
        .map(|e| {
            let level = match e.level {
                Level::Manager => t.render(locale, keys::ESCALATION_LEVEL_MANAGER, &[]),
                Level::Director => t.render(locale, keys::ESCALATION_LEVEL_DIRECTOR, &[]),
            };
            let mut line = t.render(
                locale,
                keys::ESCALATION_LINE,
                &[
                    ("archive_no", e.item.archive_no.as_str()),
                    ("name", &e.item.customer_name),
                    ("action", &action_label(t, locale, e.item.action)),
                    ("due", &e.item.due_on.to_string()),
                    ("days", &e.days_overdue.to_string()),
                    ("rep", &e.rep_name),
                    ("level", &level),
                ],
            );
            if e.no_chain {
                line.push(' ');
                line.push_str(&t.render(locale, keys::ESCALATION_NO_CHAIN, &[]));
            }
            line
        })
        .collect();
    let body = t.render(
        locale,
        keys::ESCALATION_BODY,
        &[("recipient", recipient_name), ("date", &today.to_string()), ("items", &lines.join("\n"))],
    );
    (subject, body)
}
