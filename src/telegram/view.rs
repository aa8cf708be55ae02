//! How customers look in a chat: the card, list lines and the inline keyboards.

use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup};

use crate::domain::customer::Tier;
use crate::locale::Locale;
use crate::render;
use crate::storage::contacts::Contact;
use crate::storage::customers::CustomerRecord;
use crate::storage::interactions::Interaction;
use crate::templates::{Templates, keys};

/// The archive card with contacts, latest interactions and next due dates.
pub fn card(
    t: &Templates,
    locale: Locale,
    record: &CustomerRecord,
    owner_name: Option<&str>,
    contacts: &[Contact],
    interactions: &[Interaction],
) -> String {
    let c = &record.customer;
    let f = &c.fields;
    let not_set = t.render(locale, keys::NOT_SET, &[]);
    let mut extra = String::new();
    let optional = [
        (keys::FIELD_ADDRESS, f.address.as_deref()),
        (keys::FIELD_POSTCODE, f.postcode.as_deref()),
        (keys::FIELD_FAX, f.fax.as_deref()),
        (keys::FIELD_EMAIL, f.email.as_deref()),
        (keys::FIELD_WEBSITE, f.website.as_deref()),
        (keys::FIELD_INDUSTRY, f.industry.as_deref()),
        (keys::FIELD_NATURE, f.nature.as_deref()),
        (keys::FIELD_STANDING, f.industry_standing.as_deref()),
        (keys::FIELD_BUSINESS, f.main_business.as_deref()),
        (keys::FIELD_CREDIT, f.credit_rating.as_deref()),
        (keys::FIELD_NOTES, f.notes.as_deref()),
    ];
    for (label, value) in optional {
        if let Some(value) = value {
            extra.push('\n');
            extra.push_str(&t.render(
                locale,
                keys::CARD_FIELD,
                &[("field", &t.render(locale, label, &[])), ("value", value)],
            ));
        }
    }
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
    }
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
    t.render(
        locale,
        keys::CARD,
        &[
            ("archive_no", c.archive_no.as_str()),
            ("name", &c.name),
            ("tier", c.tier.as_str()),
            ("region", f.region.as_deref().unwrap_or(&not_set)),
            ("phone", f.phone.as_deref().unwrap_or(&not_set)),
            ("owner", owner_name.unwrap_or(&not_set)),
            ("created", &c.created_on.to_string()),
            ("next_call", &record.next_call_due.to_string()),
            ("next_visit", &record.next_visit_due.to_string()),
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
