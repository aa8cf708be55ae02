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

/// The complaint statistics as a chat message or a text report.
pub fn complaint_report(
    t: &Templates,
    locale: Locale,
    period: crate::domain::report::Period,
    stats: &crate::domain::report::Stats,
    departments: &[crate::storage::departments::Department],
) -> String {
    use crate::telegram::complaint_view::method_label;
    let none = t.render(locale, keys::REPORT_NONE, &[]);
    let line = |label: &str, count: usize| {
        t.render(locale, keys::REPORT_COUNT_LINE, &[("label", label), ("count", &count.to_string())])
    };
    let lines = |items: Vec<String>| if items.is_empty() { none.clone() } else { items.join("\n") };
    let by_department = lines(
        stats
            .by_department
            .iter()
            .map(|(key, n)| {
                let name = departments.iter().find(|d| &d.key == key).map(|d| d.name(locale).to_owned());
                line(&name.unwrap_or_else(|| key.clone()), *n)
            })
            .collect(),
    );
    let by_method = lines(stats.by_method.iter().map(|(m, n)| line(&method_label(t, locale, *m), *n)).collect());
    let by_tier = lines(
        stats
            .by_tier
            .iter()
            .map(|(tier, n)| match tier {
                Some(tier) => line(&t.render(locale, keys::REPORT_TIER, &[("tier", tier.as_str())]), *n),
                None => line(&t.render(locale, keys::REPORT_NOT_LINKED, &[]), *n),
            })
            .collect(),
    );
    let or_none = |v: Option<String>| v.unwrap_or_else(|| none.clone());
    t.render(
        locale,
        keys::REPORT_TEXT,
        &[
            ("period", &period.to_string()),
            ("total", &stats.total.to_string()),
            ("not_our_fault", &stats.not_our_fault.to_string()),
            ("open", &stats.open.to_string()),
            ("by_department", &by_department),
            ("by_method", &by_method),
            ("by_tier", &by_tier),
            ("loss", &crate::domain::complaint::format_amount(stats.loss_cents)),
            ("avg_hours", &or_none(stats.avg_hours_to_resolution.map(|h| format!("{h:.1}")))),
            ("within_deadline", &or_none(stats.within_deadline.map(|s| format!("{:.0}%", s * 100.0)))),
            ("satisfaction", &or_none(stats.avg_satisfaction.map(|s| format!("{s:.2}")))),
        ],
    )
}

/// The statistics as CSV rows `section,key,value` (for spreadsheets).
pub fn complaint_report_csv(
    period: crate::domain::report::Period,
    stats: &crate::domain::report::Stats,
) -> anyhow::Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(["section", "key", "value"])?;
    let p = period.to_string();
    w.write_record(["period", "", &p])?;
    w.write_record(["total", "", &stats.total.to_string()])?;
    w.write_record(["not_our_fault", "", &stats.not_our_fault.to_string()])?;
    w.write_record(["open", "", &stats.open.to_string()])?;
    for (key, n) in &stats.by_department {
        w.write_record(["department", key, &n.to_string()])?;
    }
    for (m, n) in &stats.by_method {
        w.write_record(["method", m.as_str(), &n.to_string()])?;
    }
    for (tier, n) in &stats.by_tier {
        w.write_record(["tier", tier.map(|t| t.as_str()).unwrap_or("none"), &n.to_string()])?;
    }
    w.write_record(["loss_cny", "", &format!("{}.{:02}", stats.loss_cents / 100, stats.loss_cents % 100)])?;
    let opt = |v: Option<f64>, digits: usize| v.map(|v| format!("{v:.digits$}")).unwrap_or_default();
    w.write_record(["avg_hours_to_resolution", "", &opt(stats.avg_hours_to_resolution, 1)])?;
    w.write_record(["within_deadline_share", "", &opt(stats.within_deadline, 3)])?;
    w.write_record(["avg_satisfaction", "", &opt(stats.avg_satisfaction, 2)])?;
    Ok(String::from_utf8(w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::complaint::Method;
    use crate::domain::report::{Period, Stats};

    #[test]
    fn the_csv_report_lists_every_figure() {
        let mut stats = Stats { total: 3, not_our_fault: 1, open: 1, loss_cents: 120_050, ..Stats::default() };
        stats.by_department.insert("quality".into(), 2);
        stats.by_method.insert(Method::Return, 1);
        stats.by_tier.insert(Some(crate::domain::customer::Tier::A), 2);
        stats.by_tier.insert(None, 1);
        stats.within_deadline = Some(0.5);
        stats.avg_satisfaction = Some(4.0);
        let csv = complaint_report_csv("2026-Q4".parse::<Period>().unwrap(), &stats).unwrap();
        assert_eq!(
            csv,
            "section,key,value\nperiod,,2026-Q4\ntotal,,3\nnot_our_fault,,1\nopen,,1\ndepartment,quality,2\n\
             method,return,1\ntier,none,1\ntier,A,2\nloss_cny,,1200.50\navg_hours_to_resolution,,\n\
             within_deadline_share,,0.500\navg_satisfaction,,4.00\n"
        );
    }
}
