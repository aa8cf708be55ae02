//! The complaint record form (客户投诉记录单) as a dialogue: company, address, contact person
//! and phone, what happened, what the customer asks for, attachments, then a summary to
//! confirm. Customers fill it for themselves; staff fill it for a complaint that came by phone,
//! e-mail or in person, choosing the method first.

use super::complaint_view as view;
use super::dialogue::{FormDraft, FormStep, State};
use super::handlers::Input;
use super::reply::Replier;
use crate::domain::complaint::Intake;
use crate::domain::customer::{Phone, optional_text};
use crate::services::Ctx;
use crate::services::complaints as service;
use crate::storage::complaints::Origin;
use crate::storage::staff::Staff;
use crate::templates::{Key, keys};

/// Longest free text we take in one answer (Telegram's own message limit).
const MAX_TEXT_CHARS: usize = 4096;
/// Attachments kept per complaint.
const MAX_ATTACHMENTS: usize = 10;

fn prompt(step: FormStep) -> Key {
    match step {
        FormStep::Intake => keys::FORM_ASK_INTAKE,
        FormStep::Company => keys::FORM_ASK_COMPANY,
        FormStep::Address => keys::FORM_ASK_ADDRESS,
        FormStep::Contact => keys::FORM_ASK_CONTACT,
        FormStep::Phone => keys::FORM_ASK_PHONE,
        FormStep::Description => keys::FORM_ASK_DESCRIPTION,
        FormStep::Request => keys::FORM_ASK_REQUEST,
        FormStep::Attachments => keys::FORM_ASK_ATTACHMENTS,
        FormStep::Confirm => keys::FORM_CONFIRM,
    }
}

/// Begin (or begin again) the form.
pub(super) async fn start(ctx: &Ctx, reply: &mut Replier, draft: FormDraft) -> anyhow::Result<()> {
    ask(ctx, reply, draft).await
}

/// Store the draft and ask its current question, with the buttons that step has.
async fn ask(ctx: &Ctx, reply: &mut Replier, draft: FormDraft) -> anyhow::Result<()> {
    let t = &ctx.templates;
    let l = reply.locale;
    let (text, keyboard) = match draft.step {
        FormStep::Intake => (reply.render(prompt(draft.step), &[]), Some(view::intake_keyboard(t, l))),
        FormStep::Attachments => (
            reply.render(prompt(draft.step), &[("max", &MAX_ATTACHMENTS.to_string())]),
            Some(view::attachments_keyboard(t, l)),
        ),
        FormStep::Confirm => {
            let f = &draft.form;
            let none = reply.render(keys::NOT_SET, &[]);
            let text = reply.render(
                keys::FORM_CONFIRM,
                &[
                    ("customer", &f.customer_name),
                    ("address", f.address.as_deref().unwrap_or(&none)),
                    ("contact", f.contact_name.as_deref().unwrap_or(&none)),
                    ("phone", f.contact_phone.as_deref().unwrap_or(&none)),
                    ("description", &f.description),
                    ("request", &f.request),
                    ("attachments", &draft.attachments.len().to_string()),
                ],
            );
            (text, Some(view::form_confirm_keyboard(t, l)))
        }
        step => (reply.render(prompt(step), &[]), None),
    };
    reply.set_state(&State::ComplaintForm(draft));
    reply.text(&text, keyboard).await
}

/// One answer to the form.
pub(super) async fn step(ctx: &Ctx, reply: &mut Replier, mut draft: FormDraft, input: Input) -> anyhow::Result<()> {
    if draft.step == FormStep::Attachments {
        return match input {
            Input::File(file) if draft.attachments.len() < MAX_ATTACHMENTS => {
                draft.attachments.push(file);
                let count = draft.attachments.len().to_string();
                reply.set_state(&State::ComplaintForm(draft));
                let text = reply.render(keys::FORM_ATTACHMENT_SAVED, &[("count", &count)]);
                reply.text(&text, Some(view::attachments_keyboard(&ctx.templates, reply.locale))).await
            }
            Input::File(_) => {
                reply.template(keys::FORM_TOO_MANY_ATTACHMENTS, &[("max", &MAX_ATTACHMENTS.to_string())]).await
            }
            // Any text ends the attachments step ("done", "-", or nothing to add).
            Input::Text(_) => {
                draft.step = FormStep::Confirm;
                ask(ctx, reply, draft).await
            }
            Input::Unsupported => reply.template(keys::FORM_ATTACHMENT_KIND, &[]).await,
        };
    }
    let Input::Text(text) = input else {
        return reply.template(keys::FORM_TEXT_PLEASE, &[]).await;
    };
    if text.chars().count() > MAX_TEXT_CHARS {
        return reply.template(keys::TOO_LONG, &[]).await;
    }
    let required = |text: &str| (!text.trim().is_empty()).then(|| text.trim().to_owned());
    match draft.step {
        FormStep::Intake | FormStep::Confirm => {
            let key = if draft.step == FormStep::Intake { keys::FORM_ASK_INTAKE } else { keys::FORM_USE_BUTTONS };
            return reply.template(key, &[]).await;
        }
        FormStep::Company => match required(&text) {
            Some(name) => {
                draft.form.customer_name = name;
                draft.step = FormStep::Address;
            }
            None => return reply.template(keys::FORM_REQUIRED, &[]).await,
        },
        FormStep::Address => {
            draft.form.address = optional_text(&text);
            draft.step = FormStep::Contact;
        }
        FormStep::Contact => match required(&text) {
            Some(name) => {
                draft.form.contact_name = Some(name);
                draft.step = FormStep::Phone;
            }
            None => return reply.template(keys::FORM_REQUIRED, &[]).await,
        },
        FormStep::Phone => match Phone::parse(&text) {
            Ok(phone) => {
                draft.form.contact_phone = Some(phone.as_str().to_owned());
                draft.step = FormStep::Description;
            }
            Err(_) => return reply.template(keys::FORM_BAD_PHONE, &[]).await,
        },
        FormStep::Description => match required(&text) {
            Some(description) => {
                draft.form.description = description;
                draft.step = FormStep::Request;
            }
            None => return reply.template(keys::FORM_REQUIRED, &[]).await,
        },
        FormStep::Request => match required(&text) {
            Some(request) => {
                draft.form.request = request;
                draft.step = FormStep::Attachments;
            }
            None => return reply.template(keys::FORM_REQUIRED, &[]).await,
        },
        FormStep::Attachments => unreachable!("handled above"),
    }
    ask(ctx, reply, draft).await
}

/// The form's buttons: the intake method (staff), attachments done, submit, cancel.
pub(super) async fn on_button(
    ctx: &Ctx,
    reply: &mut Replier,
    recorder: Option<&Staff>,
    chat_id: i64,
    data: &str,
    state: Option<State>,
) -> anyhow::Result<()> {
    let Some(State::ComplaintForm(mut draft)) = state else {
        return reply.template(keys::STALE_BUTTON, &[]).await;
    };
    let draft_json = State::ComplaintForm(draft.clone()).to_json();
    match (data, draft.step) {
        (d, FormStep::Intake) if d.starts_with("intake:") && recorder.is_some() => {
            match d["intake:".len()..].parse::<Intake>() {
                Ok(intake) if intake != Intake::Telegram => {
                    draft.intake = intake;
                    draft.step = FormStep::Company;
                    ask(ctx, reply, draft).await
                }
                _ => reply.template(keys::STALE_BUTTON, &[]).await,
            }
        }
        ("form:done", FormStep::Attachments) => {
            draft.step = FormStep::Confirm;
            ask(ctx, reply, draft).await
        }
        ("form:cancel", _) => {
            reply.clear_state();
            reply.template(keys::CANCELLED, &[]).await
        }
        ("form:submit", FormStep::Confirm) => {
            let origin = match recorder {
                Some(staff) => Origin {
                    intake: draft.intake,
                    submitter_chat_id: None,
                    submitter_locale: None,
                    recorded_by: Some(staff.id),
                },
                None => Origin {
                    intake: Intake::Telegram,
                    submitter_chat_id: Some(chat_id),
                    submitter_locale: Some(reply.locale.as_str().to_owned()),
                    recorded_by: None,
                },
            };
            // The draft is consumed in the same transaction that records the complaint: a double
            // press finds it gone, and a failure keeps it for another try.
            let draft_of = Some((chat_id, draft_json.as_str()));
            match service::submit(ctx, origin, draft.form, &draft.attachments, draft_of).await? {
                Some(recorded) => {
                    if let Some(acceptance) = recorded.acceptance {
                        reply.send_after(acceptance);
                    }
                    match recorder {
                        Some(_) => {
                            let number = recorded.complaint.number;
                            reply.template(keys::STAFF_RECORDED, &[("number", number.as_str())]).await
                        }
                        None => Ok(()),
                    }
                }
                None => reply.template(keys::STALE_BUTTON, &[]).await,
            }
        }
        _ => reply.template(keys::STALE_BUTTON, &[]).await,
    }
}
