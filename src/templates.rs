//! Every sentence a person reads comes from `message_templates/{locale}/*.toml`.
//!
//! Code names a [`Key`]; the files hold the words. The files are compiled in, so a fresh
//! binary needs no data directory, and [`Templates::load`] refuses to start when a key the
//! code uses is missing in any locale or the locales disagree on a key's placeholders.

use std::collections::{BTreeSet, HashMap};

use crate::locale::Locale;

/// A template name, e.g. `help.staff`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key(pub &'static str);

const SOURCES: &[(Locale, &str, &str)] = &[
    (Locale::ZhCn, "bot", include_str!("../message_templates/zh-CN/bot.toml")),
    (Locale::ZhCn, "email", include_str!("../message_templates/zh-CN/email.toml")),
    (Locale::ZhCn, "complaints", include_str!("../message_templates/zh-CN/complaints.toml")),
    (Locale::ZhCn, "archive", include_str!("../message_templates/zh-CN/archive.toml")),
    (Locale::ZhCn, "access", include_str!("../message_templates/zh-CN/access.toml")),
    (Locale::En, "bot", include_str!("../message_templates/en/bot.toml")),
    (Locale::En, "email", include_str!("../message_templates/en/email.toml")),
    (Locale::En, "complaints", include_str!("../message_templates/en/complaints.toml")),
    (Locale::En, "archive", include_str!("../message_templates/en/archive.toml")),
    (Locale::En, "access", include_str!("../message_templates/en/access.toml")),
];

/// Why the templates cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("message_templates/{locale}/{file}.toml is not valid TOML: {source}")]
    Syntax { locale: Locale, file: &'static str, source: toml::de::Error },
    #[error("message_templates/{locale}: '{key}' is not text")]
    NotText { locale: Locale, key: String },
    #[error("message_templates/{locale}: missing key '{key}'")]
    Missing { locale: Locale, key: String },
    #[error("message_templates: '{key}' has placeholders {zh:?} in zh-CN but {other:?} in {locale}")]
    PlaceholderMismatch { key: String, locale: Locale, zh: BTreeSet<String>, other: BTreeSet<String> },
}

/// Loaded, checked templates.
#[derive(Debug, Clone)]
pub struct Templates {
    by_locale: HashMap<Locale, HashMap<String, String>>,
}

impl Templates {
    /// Parse the built-in files and check them against every key the code uses.
    pub fn load() -> Result<Self, TemplateError> {
        let mut by_locale: HashMap<Locale, HashMap<String, String>> = HashMap::new();
        for &(locale, file, text) in SOURCES {
            let table: toml::Table =
                toml::from_str(text).map_err(|source| TemplateError::Syntax { locale, file, source })?;
            let entries = by_locale.entry(locale).or_default();
            flatten(locale, file, &toml::Value::Table(table), entries)?;
        }
        let templates = Self { by_locale };
        templates.check()?;
        Ok(templates)
    }

    fn check(&self) -> Result<(), TemplateError> {
        let reference = &self.by_locale[&Locale::ZhCn];
        let mut keys: BTreeSet<&str> = keys::ALL.iter().map(|k| k.0).collect();
        keys.extend(reference.keys().map(String::as_str));
        for locale in Locale::ALL {
            let Some(entries) = self.by_locale.get(&locale) else {
                return Err(TemplateError::Missing { locale, key: "*".into() });
            };
            for key in &keys {
                let text =
                    entries.get(*key).ok_or_else(|| TemplateError::Missing { locale, key: (*key).to_owned() })?;
                let zh = reference
                    .get(*key)
                    .ok_or_else(|| TemplateError::Missing { locale: Locale::ZhCn, key: (*key).to_owned() })?;
                let (zh, other) = (placeholders(zh), placeholders(text));
                if zh != other {
                    return Err(TemplateError::PlaceholderMismatch { key: (*key).to_owned(), locale, zh, other });
                }
            }
            if let Some(extra) = entries.keys().find(|k| !keys.contains(k.as_str())) {
                return Err(TemplateError::Missing { locale: Locale::ZhCn, key: extra.clone() });
            }
        }
        Ok(())
    }

    /// The text of `key` in `locale` with `{name}` placeholders filled from `vars`.
    pub fn render(&self, locale: Locale, key: Key, vars: &[(&str, &str)]) -> String {
        let Some(template) = self.by_locale.get(&locale).and_then(|m| m.get(key.0)) else {
            // Unreachable after `load` checked every key; never panic in front of a user.
            tracing::error!(key = key.0, %locale, "template missing at render time");
            return key.0.to_owned();
        };
        fill(template, vars)
    }

    /// Every key the files define (for the test that renders them all).
    pub fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self.by_locale[&Locale::ZhCn].keys().cloned().collect();
        keys.sort();
        keys
    }

    /// The placeholders of a key (for the test that renders them all).
    pub fn placeholders_of(&self, key: &str) -> BTreeSet<String> {
        self.by_locale[&Locale::ZhCn].get(key).map(|t| placeholders(t)).unwrap_or_default()
    }
}

fn flatten(
    locale: Locale,
    prefix: &str,
    value: &toml::Value,
    out: &mut HashMap<String, String>,
) -> Result<(), TemplateError> {
    match value {
        toml::Value::Table(table) => {
            for (k, v) in table {
                flatten(locale, &format!("{prefix}.{k}"), v, out)?;
            }
            Ok(())
        }
        toml::Value::String(s) => {
            out.insert(prefix.to_owned(), s.trim_end_matches('\n').to_owned());
            Ok(())
        }
        _ => Err(TemplateError::NotText { locale, key: prefix.to_owned() }),
    }
}

/// Names between `{` and `}` (ASCII identifiers only, so JSON-ish text stays literal).
fn placeholders(template: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        let after = &rest[start + 1..];
        match after.find('}') {
            Some(end) if is_name(&after[..end]) => {
                found.insert(after[..end].to_owned());
                rest = &after[end + 1..];
            }
            _ => rest = after,
        }
    }
    found
}

fn is_name(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Replace each `{name}` by its value in one pass, so a value that itself contains `{x}`
/// (user text) is never expanded again.
fn fill(template: &str, vars: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + 64);
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        match after.find('}').map(|end| (&after[..end], end)) {
            Some((name, end)) if is_name(name) => {
                match vars.iter().find(|(k, _)| *k == name) {
                    Some((_, value)) => out.push_str(value),
                    None => {
                        out.push('{');
                        out.push_str(name);
                        out.push('}');
                    }
                }
                rest = &after[end + 1..];
            }
            _ => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

macro_rules! template_keys {
    ($($name:ident = $key:literal;)*) => {
        $(pub const $name: super::Key = super::Key($key);)*
        /// Every key the code uses; checked against the files at start-up.
        pub const ALL: &[super::Key] = &[$($name),*];
    };
}

/// The template keys the code refers to.
pub mod keys {
    template_keys! {
        HELP_STAFF = "bot.help.staff";
        HELP_HINT = "bot.help.unknown_command";
        START_STAFF = "bot.start.staff";
        INVITE_WELCOME = "bot.invite.welcome";
        INVITE_UNKNOWN = "bot.invite.unknown";
        INVITE_USED = "bot.invite.used";
        INVITE_EXPIRED = "bot.invite.expired";
        INVITE_ALREADY_STAFF = "bot.invite.already_staff";
        DEACTIVATED = "bot.staff.deactivated";
        USAGE_CALL = "bot.usage.call";
        USAGE_VISIT = "bot.usage.visit";
        USAGE_CUSTOMER = "bot.usage.customer";
        PICK_WITH_BUTTONS = "bot.customer.pick_with_buttons";
        CANCELLED = "bot.cancel.done";
        INTERNAL_ERROR = "bot.error.internal";
        NOT_TEXT = "bot.error.not_text";
        TOO_LONG = "bot.error.too_long";
        NO_MATCH = "bot.customer.no_match";
        WHICH_CUSTOMER = "bot.customer.which";
        CUSTOMER_LIST_HEADER = "bot.customer.list_header";
        CUSTOMER_LIST_LINE = "bot.customer.list_line";
        CUSTOMER_LIST_EMPTY = "bot.customer.list_empty";
        CUSTOMER_LIST_PAGE = "bot.customer.list_page";
        BTN_LIST_PREVIOUS = "bot.customer.list_previous";
        BTN_LIST_NEXT = "bot.customer.list_next";
        CARD = "bot.customer.card";
        CARD_FIELD = "bot.customer.card_field";
        CARD_CONTACT = "bot.customer.card_contact";
        CARD_INTERACTION = "bot.customer.card_interaction";
        CARD_NO_INTERACTIONS = "bot.customer.card_no_interactions";
        LOGGED_CALL = "bot.log.call";
        LOGGED_VISIT = "bot.log.visit";
        NEW_ASK_NAME = "bot.new_customer.ask_name";
        NEW_ASK_TIER = "bot.new_customer.ask_tier";
        NEW_ASK_REGION = "bot.new_customer.ask_region";
        NEW_ASK_PHONE = "bot.new_customer.ask_phone";
        NEW_ASK_ADDRESS = "bot.new_customer.ask_address";
        NEW_ASK_CONTACT = "bot.new_customer.ask_contact";
        NEW_CREATED = "bot.new_customer.created";
        NEW_BAD_NAME = "bot.new_customer.bad_name";
        NEW_BAD_PHONE = "bot.new_customer.bad_phone";
        NEW_PICK_TIER = "bot.new_customer.pick_tier";
        NOTHING_TO_CANCEL = "bot.cancel.nothing";
        STALE_BUTTON = "bot.error.stale_button";
        DUE_NONE = "bot.due.none";
        DIGEST_HEADER = "bot.digest.header";
        DIGEST_OVERDUE = "bot.digest.overdue_header";
        DIGEST_TODAY = "bot.digest.today_header";
        DIGEST_UPCOMING = "bot.digest.upcoming_header";
        DIGEST_OVERDUE_LINE = "bot.digest.overdue_line";
        DIGEST_LINE = "bot.digest.line";
        ACTION_CALL = "bot.action.call";
        ACTION_VISIT = "bot.action.visit";
        KIND_OTHER = "bot.action.other";
        NOT_SET = "bot.customer.not_set";
        FIELD_ADDRESS = "bot.field.address";
        FIELD_POSTCODE = "bot.field.postcode";
        FIELD_FAX = "bot.field.fax";
        FIELD_EMAIL = "bot.field.email";
        FIELD_WEBSITE = "bot.field.website";
        FIELD_INDUSTRY = "bot.field.industry";
        FIELD_NATURE = "bot.field.nature";
        FIELD_STANDING = "bot.field.standing";
        FIELD_BUSINESS = "bot.field.business";
        FIELD_CREDIT = "bot.field.credit";
        FIELD_NOTES = "bot.field.notes";
        ESCALATION_SUBJECT = "email.escalation.subject";
        ESCALATION_BODY = "email.escalation.body";
        ESCALATION_LINE = "email.escalation.line";
        ESCALATION_LEVEL_MANAGER = "email.escalation.level_manager";
        ESCALATION_LEVEL_DIRECTOR = "email.escalation.level_director";
        ESCALATION_NO_CHAIN = "email.escalation.no_chain";
        COMMAND_HELP = "bot.commands.help";
        COMMAND_CUSTOMERS = "bot.commands.customers";
        COMMAND_CUSTOMER = "bot.commands.customer";
        COMMAND_NEWCUSTOMER = "bot.commands.newcustomer";
        COMMAND_CALL = "bot.commands.call";
        COMMAND_VISIT = "bot.commands.visit";
        COMMAND_DUE = "bot.commands.due";
        COMMAND_CANCEL = "bot.commands.cancel";
        RESTRICTED = "bot.customer.restricted";
        FALLBACK_SUBJECT = "email.fallback.subject";
        FALLBACK_BODY = "email.fallback.body";
        DEAD_LETTER = "bot.delivery.dead_letter";
        PURGE_ASK = "access.purge.ask";
        PURGE_DONE = "access.purge.done";
        DEAL_DONE = "access.deal.done";
        DEAL_NOT_PROSPECT = "access.deal.not_prospect";
        USAGE_DEAL = "bot.usage.deal";
        EXPORT_MARK = "access.export.mark";
        EXPORT_ASK = "access.export.ask";
        EXPORT_DENIED = "access.export.denied";
        EXPORT_SENT = "access.export.sent";
        EXPORT_REQUESTED = "access.export.requested";
        EXPORT_WAITING = "access.export.waiting";
        EXPORT_DONE = "access.export.done";
        USAGE_EXPORT = "bot.usage.export";
        COMMAND_EXPORT = "bot.commands.export";
        BAD_CHARACTERS = "bot.error.bad_characters";
        CARD_CONTACT_BIRTHDAY = "bot.customer.card_contact_birthday";
        FIELD_CAPITAL = "bot.field.capital";
        FIELD_SHAREHOLDERS = "bot.field.shareholders";
        FIELD_BANK = "bot.field.bank";
        FIELD_ACCOUNT = "bot.field.account";
        FIELD_EMPLOYEES = "bot.field.employees";
        BTN_APPROVE_REQUEST = "access.button.approve";
        BTN_DENY_REQUEST = "access.button.deny";
        ACCESS_NO_RIGHT = "access.no_right";
        ACCESS_REQUEST_ASK = "access.request.ask";
        ACCESS_REQUEST_SENT = "access.request.sent";
        ACCESS_ALREADY = "access.request.already";
        ACCESS_GRANTED = "access.request.granted";
        ACCESS_DENIED_BY = "access.request.denied";
        ACCESS_DECIDED = "access.request.decided";
        ACCESS_DECISION_DONE = "access.request.decision_done";
        ACCESS_NOT_DECIDER = "access.request.not_decider";
        AUDIT_HEADER = "access.audit.header";
        AUDIT_LINE = "access.audit.line";
        AUDIT_NONE = "access.audit.none";
        AUDIT_NOT_ALLOWED = "access.audit.not_allowed";
        HANDOVER_PROPOSED = "access.handover.proposed";
        HANDOVER_CONFIRM = "access.handover.confirm";
        HANDOVER_WAITING = "access.handover.waiting";
        HANDOVER_DONE = "access.handover.done";
        HANDOVER_RECEIVED = "access.handover.received";
        HANDOVER_NOT_ALLOWED = "access.handover.not_allowed";
        HANDOVER_NOTHING = "access.handover.nothing";
        HANDOVER_UNKNOWN_STAFF = "access.handover.unknown_staff";
        USAGE_REQUEST = "bot.usage.request";
        USAGE_AUDIT = "bot.usage.audit";
        USAGE_HANDOVER = "bot.usage.handover";
        COMMAND_REQUEST = "bot.commands.request";
        INFO_RECEIVED = "archive.info.received";
        TIER_PROPOSED = "archive.tier.proposed";
        TIER_UNCHANGED = "archive.tier.unchanged";
        ARCHIVE_AMBIGUOUS = "archive.ambiguous";
        TASK_NEW_INFO = "archive.task.new_info";
        TASK_NEW_TIER = "archive.task.new_tier";
        TASK_REMIND = "archive.task.remind";
        TASK_DONE_FOR_REP = "archive.task.done_for_rep";
        TASK_CLOSED = "archive.task.closed";
        TASK_NOT_FOUND = "archive.task.not_found";
        TASK_ALREADY_DONE = "archive.task.already_done";
        TASK_NOT_ALLOWED = "archive.task.not_allowed";
        TASK_BAD_FIELD = "archive.task.bad_field";
        TASK_CREDIT_EXPIRED = "archive.task.credit_expired";
        TASK_DATA_CHECK = "archive.task.data_check";
        TASKS_HEADER = "archive.tasks.header";
        TASKS_LINE = "archive.tasks.line";
        TASKS_NONE = "archive.tasks.none";
        TASK_KIND_UPDATE = "archive.kind.update";
        TASK_KIND_TIER = "archive.kind.tier";
        TASK_KIND_CREDIT = "archive.kind.credit";
        TASK_KIND_DATA_CHECK = "archive.kind.data_check";
        CREDIT_RECORDED = "archive.credit.recorded";
        BIRTHDAY_SAVED = "archive.birthday.saved";
        BIRTHDAY_AHEAD = "archive.birthday.ahead";
        BIRTHDAY_TODAY_GREETED = "archive.birthday.today_greeted";
        BIRTHDAY_TODAY_CALL = "archive.birthday.today_call";
        BIRTHDAY_MISSED = "archive.birthday.missed";
        CONTACT_CODE = "archive.contact.code";
        CONTACT_LINKED = "archive.contact.linked";
        HOLIDAY_GIFTS = "archive.holiday.gifts";
        HOLIDAYS_MISSING = "archive.holiday.missing";
        FESTIVAL_NEW_YEAR = "archive.festival.new_year";
        FESTIVAL_SPRING_FESTIVAL = "archive.festival.spring_festival";
        FESTIVAL_QINGMING = "archive.festival.qingming";
        FESTIVAL_LABOUR_DAY = "archive.festival.labour_day";
        FESTIVAL_DRAGON_BOAT = "archive.festival.dragon_boat";
        FESTIVAL_MID_AUTUMN = "archive.festival.mid_autumn";
        FESTIVAL_NATIONAL_DAY = "archive.festival.national_day";
        GREET_BIRTHDAY = "archive.greet.birthday";
        GREET_NEW_YEAR = "archive.greet.new_year";
        GREET_SPRING_FESTIVAL = "archive.greet.spring_festival";
        GREET_QINGMING = "archive.greet.qingming";
        GREET_LABOUR_DAY = "archive.greet.labour_day";
        GREET_DRAGON_BOAT = "archive.greet.dragon_boat";
        GREET_MID_AUTUMN = "archive.greet.mid_autumn";
        GREET_NATIONAL_DAY = "archive.greet.national_day";
        WEEKLY_LINE = "archive.weekly.line";
        WEEKLY_FIELD = "archive.weekly.field";
        WEEKLY_EMPTY_VALUE = "archive.weekly.empty_value";
        EMAIL_TASK_OVERDUE_SUBJECT = "email.task_overdue.subject";
        EMAIL_TASK_OVERDUE_BODY = "email.task_overdue.body";
        EMAIL_WEEKLY_SUBJECT = "email.weekly.subject";
        EMAIL_WEEKLY_BODY = "email.weekly.body";
        USAGE_INFO = "bot.usage.info";
        USAGE_TIER = "bot.usage.tier";
        USAGE_DONE = "bot.usage.done";
        USAGE_CREDIT = "bot.usage.credit";
        USAGE_BIRTHDAY = "bot.usage.birthday";
        USAGE_CONTACTCODE = "bot.usage.contactcode";
        COMMAND_INFO = "bot.commands.info";
        COMMAND_TASKS = "bot.commands.tasks";
        COMMAND_TIER = "bot.commands.tier";
        COMMAND_CREDIT = "bot.commands.credit";
        COMMAND_BIRTHDAY = "bot.commands.birthday";
        CUSTOMER_MENU = "complaints.customer.menu";
        BTN_COMPLAIN = "complaints.button.complain";
        BTN_MY_COMPLAINTS = "complaints.button.my_complaints";
        BTN_SUBMIT = "complaints.button.submit";
        BTN_CANCEL = "complaints.button.cancel";
        BTN_ATTACHMENTS_DONE = "complaints.button.attachments_done";
        BTN_ACCEPT_RESPONSIBILITY = "complaints.button.accept_responsibility";
        BTN_NOT_OUR_FAULT = "complaints.button.not_our_fault";
        BTN_VIEW = "complaints.button.view";
        BTN_REPORT = "complaints.button.report";
        BTN_APPROVE = "complaints.button.approve";
        BTN_SEND_BACK = "complaints.button.send_back";
        BTN_RESOLVE = "complaints.button.resolve";
        BTN_CUSTOMER_ACCEPTS = "complaints.button.customer_accepts";
        BTN_CUSTOMER_REFUSES = "complaints.button.customer_refuses";
        FORM_ASK_INTAKE = "complaints.form.ask_intake";
        FORM_ASK_COMPANY = "complaints.form.ask_company";
        FORM_ASK_ADDRESS = "complaints.form.ask_address";
        FORM_ASK_CONTACT = "complaints.form.ask_contact";
        FORM_ASK_PHONE = "complaints.form.ask_phone";
        FORM_ASK_DESCRIPTION = "complaints.form.ask_description";
        FORM_ASK_REQUEST = "complaints.form.ask_request";
        FORM_ASK_ATTACHMENTS = "complaints.form.ask_attachments";
        FORM_ATTACHMENT_SAVED = "complaints.form.attachment_saved";
        FORM_TOO_MANY_ATTACHMENTS = "complaints.form.too_many_attachments";
        FORM_ATTACHMENT_KIND = "complaints.form.attachment_kind";
        FORM_TEXT_PLEASE = "complaints.form.text_please";
        FORM_REQUIRED = "complaints.form.required";
        FORM_BAD_PHONE = "complaints.form.bad_phone";
        FORM_USE_BUTTONS = "complaints.form.use_buttons";
        FORM_CONFIRM = "complaints.form.confirm";
        COMPLAINT_SUBMITTED = "complaints.submitted.customer";
        STAFF_RECORDED = "complaints.submitted.staff";
        STATUS_NOT_FOUND = "complaints.status.not_found";
        CUSTOMER_STATUS = "complaints.status.customer";
        STATUS_RECEIVED = "complaints.status.received";
        STATUS_ACCEPTED = "complaints.status.accepted";
        STATUS_ASSIGNED = "complaints.status.assigned";
        STATUS_PROPOSED = "complaints.status.proposed";
        STATUS_APPROVED = "complaints.status.approved";
        STATUS_AWAITING_CUSTOMER = "complaints.status.awaiting_customer";
        STATUS_RESOLVED = "complaints.status.resolved";
        STATUS_CLOSED = "complaints.status.closed";
        MY_COMPLAINTS_HEADER = "complaints.mine.header";
        MY_COMPLAINTS_LINE = "complaints.mine.line";
        MY_COMPLAINTS_NONE = "complaints.mine.none";
        NOTIFY_ACCEPTED = "complaints.notify.accepted";
        NOTIFY_REJECTED = "complaints.notify.rejected";
        NOTIFY_ASSIGNED = "complaints.notify.assigned";
        NOTIFY_RESOLUTION = "complaints.notify.resolution";
        NOTIFY_THANKS_ACCEPTED = "complaints.notify.thanks_accepted";
        NOTIFY_REOPENED = "complaints.notify.reopened";
        REVISIT_ASK = "complaints.revisit.ask";
        REVISIT_THANKS = "complaints.revisit.thanks";
        REVISIT_TASK = "complaints.revisit.task";
        REVISIT_RECORDED = "complaints.revisit.recorded";
        ALERT_NEW_COMPLAINT = "complaints.staff.alert";
        COMPLAINT_SUMMARY = "complaints.staff.summary";
        COMPLAINT_STATE = "complaints.staff.state";
        HEAD_TASK = "complaints.staff.head_task";
        HEAD_SENT_BACK = "complaints.staff.head_sent_back";
        MANAGER_APPROVAL = "complaints.staff.manager_approval";
        SERVICE_SEND_RESULT = "complaints.staff.send_result";
        SERVICE_RECORD_ANSWER = "complaints.staff.record_answer";
        STAFF_CUSTOMER_ACCEPTED = "complaints.staff.customer_accepted";
        STAFF_CUSTOMER_REFUSED = "complaints.staff.customer_refused";
        REMINDER_DEADLINE_TOMORROW = "complaints.staff.reminder_tomorrow";
        ACTOR_CUSTOMER = "complaints.staff.actor_customer";
        ACTOR_SYSTEM = "complaints.staff.actor_system";
        ASK_EXPLANATION = "complaints.ask.explanation";
        ASK_DEPARTMENT = "complaints.ask.department";
        ASK_NATURE = "complaints.ask.nature";
        ASK_FINDINGS = "complaints.ask.findings";
        ASK_PROPOSAL = "complaints.ask.proposal";
        ASK_SEND_BACK_REASON = "complaints.ask.send_back_reason";
        ASK_METHOD = "complaints.ask.method";
        ASK_AMOUNT = "complaints.ask.amount";
        BAD_AMOUNT = "complaints.ask.bad_amount";
        ASK_RESOLUTION_MESSAGE = "complaints.ask.resolution_message";
        ASK_REFUSAL_REASON = "complaints.ask.refusal_reason";
        ASK_REVISIT_COMMENT = "complaints.ask.revisit_comment";
        STEP_DONE = "complaints.step.done";
        STEP_ILLEGAL = "complaints.step.illegal";
        STEP_NOT_ALLOWED = "complaints.step.not_allowed";
        STEP_INVALID = "complaints.step.invalid";
        STEP_CONFLICT = "complaints.step.conflict";
        COMPLAINT_NOT_FOUND = "complaints.step.not_found";
        COMPLAINTS_HEADER = "complaints.list.header";
        COMPLAINTS_LINE = "complaints.list.line";
        COMPLAINTS_NONE = "complaints.list.none";
        LINKED = "complaints.link.done";
        LINK_NEEDS_ONE = "complaints.link.needs_one";
        DUTY_ON = "complaints.duty.on";
        DUTY_OFF = "complaints.duty.off";
        DUTY_NONE = "complaints.duty.none";
        DUTY_HEADER = "complaints.duty.header";
        DUTY_LINE = "complaints.duty.line";
        INTAKE_TELEGRAM = "complaints.intake.telegram";
        INTAKE_PHONE = "complaints.intake.phone";
        INTAKE_EMAIL = "complaints.intake.email";
        INTAKE_ON_SITE = "complaints.intake.on_site";
        INTAKE_OTHER = "complaints.intake.other";
        NATURE_URGENT = "complaints.nature.urgent";
        NATURE_NORMAL = "complaints.nature.normal";
        NATURE_COMPLEX = "complaints.nature.complex";
        METHOD_COMPENSATION = "complaints.method.compensation";
        METHOD_RETURN = "complaints.method.return";
        METHOD_DISCOUNT = "complaints.method.discount";
        METHOD_OTHER = "complaints.method.other";
        EVENT_RECEIVED = "complaints.event.received";
        EVENT_ACCEPT = "complaints.event.accept";
        EVENT_REJECT = "complaints.event.reject";
        EVENT_ASSIGN = "complaints.event.assign";
        EVENT_REPORT = "complaints.event.report";
        EVENT_APPROVE = "complaints.event.approve";
        EVENT_SEND_BACK = "complaints.event.send_back";
        EVENT_RESOLVE = "complaints.event.resolve";
        EVENT_CUSTOMER_ACCEPTS = "complaints.event.customer_accepts";
        EVENT_CUSTOMER_REFUSES = "complaints.event.customer_refuses";
        EVENT_REVISIT = "complaints.event.revisit";
        EVENT_LINK = "complaints.event.link";
        EVENT_OTHER = "complaints.event.other";
        REPORT_TEXT = "complaints.report.text";
        REPORT_COUNT_LINE = "complaints.report.count_line";
        REPORT_NONE = "complaints.report.none";
        REPORT_TIER = "complaints.report.tier";
        REPORT_NOT_LINKED = "complaints.report.not_linked";
        REPORT_NOT_ALLOWED = "complaints.report.not_allowed";
        USAGE_STATUS = "bot.usage.status";
        USAGE_COMPLAINT = "bot.usage.complaint";
        USAGE_LINK = "bot.usage.link";
        USAGE_DUTY = "bot.usage.duty";
        USAGE_REPORT = "bot.usage.report";
        USAGE_REVISIT = "bot.usage.revisit";
        EMAIL_NO_RESPONSE_SUBJECT = "email.complaint_no_response.subject";
        EMAIL_NO_RESPONSE_BODY = "email.complaint_no_response.body";
        EMAIL_OVERDUE_SUBJECT = "email.complaint_overdue.subject";
        EMAIL_OVERDUE_BODY = "email.complaint_overdue.body";
        EMAIL_REVISIT_OVERDUE_SUBJECT = "email.revisit_overdue.subject";
        EMAIL_REVISIT_OVERDUE_BODY = "email.revisit_overdue.body";
        COMMAND_COMPLAIN = "bot.commands.complain";
        COMMAND_STATUS = "bot.commands.status";
        COMMAND_MYCOMPLAINTS = "bot.commands.mycomplaints";
        COMMAND_NEWCOMPLAINT = "bot.commands.newcomplaint";
        COMMAND_COMPLAINTS = "bot.commands.complaints";
        COMMAND_COMPLAINT = "bot.commands.complaint";
        COMMAND_DUTY = "bot.commands.duty";
        COMMAND_REPORT = "bot.commands.report";
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_filled_once_and_user_braces_survive() {
        assert_eq!(fill("你好，{name}！", &[("name", "{name}")]), "你好，{name}！");
        assert_eq!(fill("{a}{b}", &[("a", "1"), ("b", "2")]), "12");
        assert_eq!(fill("json {\"x\": 1} {missing}", &[]), "json {\"x\": 1} {missing}");
        assert_eq!(placeholders("{a} {b_2} { c } {}"), BTreeSet::from(["a".into(), "b_2".into()]));
    }
}
