//! How customers look in a chat: the card, list lines and the inline keyboards.

use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup};

use crate::domain::customer::Tier;
use crate::domain::page::Page;
use crate::locale::Locale;
use crate::render;
use crate::services::access::Visibility;
use crate::storage::contacts::Contact;
use crate::storage::customers::CustomerRecord;
use crate::storage::interactions::Interaction;
use crate::templates::{Templates, keys};

/// The archive card with contacts, latest interactions and next due dates — only the fields
/// `seen` allows; a hidden field is marked as restricted rather than silently missing.
#[allow(clippy::too_many_arguments)]
pub fn card(
    t: &Templates,
    locale: Locale,
    record: &CustomerRecord,
    owner_name: Option<&str>,
    contacts: &[Contact],
    interactions: &[Interaction],
    seen: &Visibility,
) -> String {
    let c = &record.customer;
    let f = &c.fields;
    let not_set = t.render(locale, keys::NOT_SET, &[]);
    let restricted = t.render(locale, keys::RESTRICTED, &[]);
    let shown = |field: &str, value: Option<&str>| -> String {
        if seen.shows(field) { value.unwrap_or(&not_set).to_owned() } else { restricted.clone() }
    };
    let mut extra = String::new();
    let employees = f.employees.map(|e| e.to_string());
    let optional = [
        ("address", keys::FIELD_ADDRESS, f.address.as_deref()),
        ("postcode", keys::FIELD_POSTCODE, f.postcode.as_deref()),
        ("fax", keys::FIELD_FAX, f.fax.as_deref()),
        ("email", keys::FIELD_EMAIL, f.email.as_deref()),
        ("website", keys::FIELD_WEBSITE, f.website.as_deref()),
        ("industry", keys::FIELD_INDUSTRY, f.industry.as_deref()),
        ("nature", keys::FIELD_NATURE, f.nature.as_deref()),
        ("standing", keys::FIELD_STANDING, f.industry_standing.as_deref()),
        ("business", keys::FIELD_BUSINESS, f.main_business.as_deref()),
        ("capital", keys::FIELD_CAPITAL, f.registered_capital.as_deref()),
        ("shareholders", keys::FIELD_SHAREHOLDERS, f.main_shareholders.as_deref()),
        ("bank", keys::FIELD_BANK, f.bank.as_deref()),
        ("account", keys::FIELD_ACCOUNT, f.bank_account.as_deref()),
        ("employees", keys::FIELD_EMPLOYEES, employees.as_deref()),
        ("credit", keys::FIELD_CREDIT, f.credit_rating.as_deref()),
        ("notes", keys::FIELD_NOTES, f.notes.as_deref()),
    ];
    for (field, label, value) in optional {
        if value.is_some() && seen.shows(field) {
            extra.push('\n');
            extra.push_str(&t.render(
                locale,
                keys::CARD_FIELD,
                &[("field", &t.render(locale, label, &[])), ("value", value.unwrap_or_default())],
            ));
        }
    }
    if seen.shows("contacts") {
        for contact in contacts {
            extra.push('\n');
            extra.push_str(&t.render(
                locale,
                keys::CARD_CONTACT,
                &[
                    ("name", &contact.name),
                    ("position", contact.position.as_deref().unwrap_or("")),
                    ("phone", contact.phone.as_deref().unwrap_or("")),
                ],
            ));
            if let (true, Some(b)) = (seen.shows("contact_personal"), contact.birthday_spec) {
                let birthday = b.label(locale == Locale::ZhCn);
                extra.push_str(&t.render(locale, keys::CARD_CONTACT_BIRTHDAY, &[("birthday", &birthday)]));
            }
        }
    }
    if seen.shows("interactions") {
        if interactions.is_empty() {
            extra.push('\n');
            extra.push_str(&t.render(locale, keys::CARD_NO_INTERACTIONS, &[]));
        }
        for i in interactions {
            extra.push('\n');
            extra.push_str(&t.render(
                locale,
                keys::CARD_INTERACTION,
                &[
                    ("date", &i.occurred_on.to_string()),
                    ("kind", &render::kind_label(t, locale, &i.kind)),
                    ("staff", i.staff_name.as_deref().unwrap_or("")),
                    ("notes", &i.notes),
                ],
            ));
        }
    }
    let (next_call, next_visit) = (record.next_call_due.to_string(), record.next_visit_due.to_string());
    t.render(
        locale,
        keys::CARD,
        &[
            ("archive_no", c.archive_no.as_str()),
            ("name", &c.name),
            ("tier", c.tier.as_str()),
            ("region", &shown("region", f.region.as_deref())),
            ("phone", &shown("phone", f.phone.as_deref())),
            ("owner", &shown("owner", owner_name)),
            ("created", &shown("due", Some(&c.created_on.to_string()))),
            ("next_call", &shown("due", Some(&next_call))),
            ("next_visit", &shown("due", Some(&next_visit))),
            ("details", &extra),
        ],
    )
}

/// One line of `/customers`.
pub fn list_line(t: &Templates, locale: Locale, record: &CustomerRecord) -> String {
    let c = &record.customer;
    t.render(
        locale,
        keys::CUSTOMER_LIST_LINE,
        &[
            ("archive_no", c.archive_no.as_str()),
            ("name", &c.name),
            ("tier", c.tier.as_str()),
            ("next_call", &record.next_call_due.to_string()),
            ("next_visit", &record.next_visit_due.to_string()),
        ],
    )
}

/// Tier buttons for `/newcustomer`.
pub fn tier_keyboard() -> InlineKeyboardMarkup {
    InlineKeyboardMarkup::new([Tier::ALL.map(|t| InlineKeyboardButton::callback(t.as_str(), format!("tier:{t}")))])
}

/// One button per candidate customer.
pub fn pick_keyboard(candidates: &[CustomerRecord]) -> InlineKeyboardMarkup {
    InlineKeyboardMarkup::new(candidates.iter().map(|r| {
        [InlineKeyboardButton::callback(
            format!("{} {}", r.customer.archive_no, r.customer.name),
            format!("pick:{}", r.customer.id.0),
        )]
    }))
}

/// Two buttons, approve and deny, with data `{prefix}:yes` / `{prefix}:no`.
pub fn yes_no_keyboard(t: &Templates, locale: Locale, prefix: &str) -> InlineKeyboardMarkup {
    InlineKeyboardMarkup::new([[
        InlineKeyboardButton::callback(t.render(locale, keys::BTN_APPROVE_REQUEST, &[]), format!("{prefix}:yes")),
        InlineKeyboardButton::callback(t.render(locale, keys::BTN_DENY_REQUEST, &[]), format!("{prefix}:no")),
    ]])
}

/// "Previous" and "next" buttons under one page of a list (`<prefix>:<page>`); none when the
/// list fits on one page.
pub fn page_keyboard(t: &Templates, locale: Locale, prefix: &str, page: &Page) -> Option<InlineKeyboardMarkup> {
    let buttons: Vec<InlineKeyboardButton> =
        [(page.previous(), keys::BTN_LIST_PREVIOUS), (page.next(), keys::BTN_LIST_NEXT)]
            .into_iter()
            .filter_map(|(target, label)| {
                target.map(|n| InlineKeyboardButton::callback(t.render(locale, label, &[]), format!("{prefix}:{n}")))
            })
            .collect();
    (!buttons.is_empty()).then(|| InlineKeyboardMarkup::new([buttons]))
}
