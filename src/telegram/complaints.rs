//! Staff working complaints: the card and its action buttons, the texts a step needs, the
//! duty roster, links to the archive, revisits by phone and the statistics.

use super::commands::{Command, DutyCommand};
use super::complaint_view as view;
use super::dialogue::{FormDraft, InputPurpose, State};
use super::form;
use super::reply::Replier;
use crate::domain::complaint::{ComplaintNo, Method, Nature, Status, Step, StepError, parse_amount};
use crate::domain::report::Period;
use crate::render;
use crate::services::Ctx;
use crate::services::complaints::{self as service, ComplaintError, Who};
use crate::storage::complaints::{self as store, Complaint};
use crate::storage::staff::Staff;
use crate::storage::{customers, departments, duty, staff as staff_store};
use crate::templates::{Key, keys};

pub(super) async fn run_command(ctx: &Ctx, reply: &mut Replier, staff: &Staff, command: Command) -> anyhow::Result<()> {
    match command {
        Command::NewComplaint => form::start(ctx, reply, FormDraft::for_staff()).await,
        Command::Complaints => list_open(ctx, reply, staff).await,
        Command::Complaint(number) => match number.parse::<ComplaintNo>() {
            Ok(number) => show(ctx, reply, staff, &number).await,
            Err(()) => reply.template(keys::COMPLAINT_NOT_FOUND, &[("number", &number)]).await,
        },
        Command::Link { complaint, customer } => link(ctx, reply, staff, &complaint, &customer).await,
        Command::Duty(duty_command) => duty_roster(ctx, reply, staff, duty_command).await,
        Command::Report { period } => report(ctx, reply, staff, &period).await,
        Command::Revisit { complaint, rating, comment } => match complaint.parse::<ComplaintNo>() {
            Ok(number) => {
                perform_and_confirm(ctx, reply, Who::Staff(staff), &number, Step::Revisit { rating, comment }, true)
                    .await
                    .map(drop)
            }
            Err(()) => reply.template(keys::COMPLAINT_NOT_FOUND, &[("number", &complaint)]).await,
        },
        _ => reply.template(keys::HELP_HINT, &[]).await,
    }
}

/// Reply to a refused step in words the person can act on.
async fn explain_error(reply: &mut Replier, number: &ComplaintNo, error: ComplaintError) -> anyhow::Result<()> {
    let n = number.as_str();
    match error {
        ComplaintError::NotFound => reply.template(keys::COMPLAINT_NOT_FOUND, &[("number", n)]).await,
        ComplaintError::Step(StepError::IllegalTransition { status, .. }) => {
            let status = view::status_label(&reply.ctx().templates, reply.locale, status);
            reply.template(keys::STEP_ILLEGAL, &[("number", n), ("status", &status)]).await
        }
        ComplaintError::Step(StepError::NotAllowed { .. }) => {
            reply.template(keys::STEP_NOT_ALLOWED, &[("number", n)]).await
        }
        ComplaintError::Step(StepError::Invalid(_)) => reply.template(keys::STEP_INVALID, &[]).await,
        ComplaintError::Conflict => reply.template(keys::STEP_CONFLICT, &[("number", n)]).await,
        ComplaintError::UnknownDepartment(_) => reply.template(keys::STALE_BUTTON, &[]).await,
        ComplaintError::Other(e) => Err(e),
    }
}

/// Perform a step and tell the person it is done (staff: with the new status).
pub(super) async fn perform_and_confirm(
    ctx: &Ctx,
    reply: &mut Replier,
    who: Who<'_>,
    number: &ComplaintNo,
    step: Step,
    confirm: bool,
) -> anyhow::Result<Option<Complaint>> {
    match service::perform(ctx, number, who, step).await {
        Ok(c) => {
            if confirm {
                let status = view::status_label(&ctx.templates, reply.locale, c.status);
                reply.template(keys::STEP_DONE, &[("number", number.as_str()), ("status", &status)]).await?;
            }
            Ok(Some(c))
        }
        Err(error) => {
            explain_error(reply, number, error).await?;
            Ok(None)
        }
    }
}

/// Wait for a text for `purpose` and ask for it.
pub(super) async fn ask_text(reply: &mut Replier, number: &ComplaintNo, purpose: InputPurpose) -> anyhow::Result<()> {
    let key = match &purpose {
        InputPurpose::Explanation => keys::ASK_EXPLANATION,
        InputPurpose::Findings => keys::ASK_FINDINGS,
        InputPurpose::Proposal { .. } => keys::ASK_PROPOSAL,
        InputPurpose::SendBackReason => keys::ASK_SEND_BACK_REASON,
        InputPurpose::Amount { .. } => keys::ASK_AMOUNT,
        InputPurpose::Message { .. } => keys::ASK_RESOLUTION_MESSAGE,
        InputPurpose::RefusalReason => keys::ASK_REFUSAL_REASON,
        InputPurpose::RevisitComment { .. } => keys::ASK_REVISIT_COMMENT,
    };
    reply.set_state(&State::ComplaintInput { number: number.to_string(), purpose });
    reply.template(key, &[("number", number.as_str())]).await
}

/// A text answering what a step asked for.
pub(super) async fn text_input(
    ctx: &Ctx,
    reply: &mut Replier,
    who: Who<'_>,
    number: &str,
    purpose: InputPurpose,
    text: &str,
) -> anyhow::Result<()> {
    let Ok(number) = number.parse::<ComplaintNo>() else {
        reply.clear_state();
        return reply.template(keys::STALE_BUTTON, &[]).await;
    };
    let text = text.trim();
    let is_staff = matches!(who, Who::Staff(_));
    let step = match purpose {
        InputPurpose::Explanation => Step::RejectNotOurFault { explanation: text.to_owned() },
        InputPurpose::Findings => {
            if text.is_empty() {
                return reply.template(keys::FORM_REQUIRED, &[]).await;
            }
            return ask_text(reply, &number, InputPurpose::Proposal { findings: text.to_owned() }).await;
        }
        InputPurpose::Proposal { findings } => Step::Report { findings, proposal: text.to_owned() },
        InputPurpose::SendBackReason => Step::SendBack { reason: text.to_owned() },
        InputPurpose::Amount { method } => {
            let Some(amount_cents) = parse_amount(text) else {
                return reply.template(keys::BAD_AMOUNT, &[]).await;
            };
            return ask_text(reply, &number, InputPurpose::Message { method, amount_cents }).await;
        }
        InputPurpose::Message { method, amount_cents } => {
            Step::Resolve { method, amount_cents, message: text.to_owned() }
        }
        InputPurpose::RefusalReason => Step::CustomerRefuses { reason: text.to_owned() },
        InputPurpose::RevisitComment { rating } => {
            let comment = crate::domain::customer::optional_text(text).unwrap_or_default();
            Step::Revisit { rating, comment }
        }
    };
    if text.is_empty() {
        return reply.template(keys::FORM_REQUIRED, &[]).await;
    }
    reply.clear_state();
    perform_and_confirm(ctx, reply, who, &number, step, is_staff).await.map(drop)
}

/// `cw:{number}:{action}` pressed by staff.
pub(super) async fn on_button(ctx: &Ctx, reply: &mut Replier, staff: &Staff, rest: &str) -> anyhow::Result<()> {
    let mut parts = rest.splitn(4, ':');
    let (Some(number), Some(action)) = (parts.next(), parts.next()) else {
        return reply.template(keys::STALE_BUTTON, &[]).await;
    };
    let (arg, arg2) = (parts.next(), parts.next());
    let Ok(number) = number.parse::<ComplaintNo>() else {
        return reply.template(keys::STALE_BUTTON, &[]).await;
    };
    let who = Who::Staff(staff);
    match (action, arg, arg2) {
        ("view", None, None) => show(ctx, reply, staff, &number).await,
        ("accept", None, None) => {
            if let Some(c) = perform_and_confirm(ctx, reply, who, &number, Step::Accept, true).await? {
                ask_department(ctx, reply, &c).await?;
            }
            Ok(())
        }
        ("reject", None, None) => {
            guarded(ctx, reply, staff, &number, Status::Received, InputPurpose::Explanation).await
        }
        ("dept", Some(department), None) => {
            // Only a department we have: a forged key would be echoed into the next buttons'
            // data, and Telegram refuses a whole message whose button data is over 64 bytes.
            let known = {
                let mut conn = ctx.db.pool().acquire().await?;
                departments::get(&mut conn, department).await?.is_some()
            };
            if !known {
                return reply.template(keys::STALE_BUTTON, &[]).await;
            }
            let keyboard = view::nature_keyboard_for(
                &ctx.templates,
                reply.locale,
                number.as_str(),
                department,
                &ctx.settings.complaints,
            );
            let text = reply.render(keys::ASK_NATURE, &[("number", number.as_str())]);
            reply.text(&text, Some(keyboard)).await
        }
        ("assign", Some(department), Some(nature)) => match nature.parse::<Nature>() {
            Ok(nature) => {
                let step = Step::Assign { department: department.to_owned(), nature };
                perform_and_confirm(ctx, reply, who, &number, step, true).await.map(drop)
            }
            Err(()) => reply.template(keys::STALE_BUTTON, &[]).await,
        },
        ("report", None, None) => guarded(ctx, reply, staff, &number, Status::Assigned, InputPurpose::Findings).await,
        ("approve", None, None) => perform_and_confirm(ctx, reply, who, &number, Step::Approve, true).await.map(drop),
        ("sendback", None, None) => {
            guarded(ctx, reply, staff, &number, Status::Proposed, InputPurpose::SendBackReason).await
        }
        ("resolve", None, None) => {
            let c = match service::load(ctx, &number, who).await {
                Ok(c) if c.status == Status::Approved => c,
                Ok(c) => {
                    return explain_error(
                        reply,
                        &number,
                        StepError::IllegalTransition { status: c.status, step: "resolve" }.into(),
                    )
                    .await;
                }
                Err(e) => return explain_error(reply, &number, e).await,
            };
            let text = reply.render(keys::ASK_METHOD, &[("number", c.number.as_str())]);
            reply.text(&text, Some(view::method_keyboard(&ctx.templates, reply.locale, number.as_str()))).await
        }
        ("method", Some(method), None) => match method.parse::<Method>() {
            Ok(method) => guarded(ctx, reply, staff, &number, Status::Approved, InputPurpose::Amount { method }).await,
            Err(()) => reply.template(keys::STALE_BUTTON, &[]).await,
        },
        // A customer who is not on Telegram answered by phone; staff record it.
        ("yes", None, None) => {
            perform_and_confirm(ctx, reply, who, &number, Step::CustomerAccepts, true).await.map(drop)
        }
        ("no", None, None) => {
            guarded(ctx, reply, staff, &number, Status::AwaitingCustomer, InputPurpose::RefusalReason).await
        }
        (rate, None, None) if rate.starts_with("rate") => match rate[4..].parse::<u8>() {
            Ok(rating @ 1..=5) => {
                guarded(ctx, reply, staff, &number, Status::Resolved, InputPurpose::RevisitComment { rating }).await
            }
            _ => reply.template(keys::STALE_BUTTON, &[]).await,
        },
        _ => reply.template(keys::STALE_BUTTON, &[]).await,
    }
}

/// Ask for a step's text only if the complaint is where that step can start; otherwise say why
/// not at once instead of after the person typed it all.
async fn guarded(
    ctx: &Ctx,
    reply: &mut Replier,
    staff: &Staff,
    number: &ComplaintNo,
    expected: Status,
    purpose: InputPurpose,
) -> anyhow::Result<()> {
    match service::load(ctx, number, Who::Staff(staff)).await {
        Ok(c) if c.status == expected => ask_text(reply, number, purpose).await,
        Ok(c) => {
            explain_error(reply, number, StepError::IllegalTransition { status: c.status, step: "input" }.into()).await
        }
        Err(e) => explain_error(reply, number, e).await,
    }
}

async fn ask_department(ctx: &Ctx, reply: &mut Replier, c: &Complaint) -> anyhow::Result<()> {
    let all = {
        let mut conn = ctx.db.pool().acquire().await?;
        departments::all(&mut conn).await?
    };
    let text = reply.render(keys::ASK_DEPARTMENT, &[("number", c.number.as_str())]);
    reply.text(&text, Some(view::departments_keyboard(reply.locale, c.number.as_str(), &all))).await
}

/// The card, its history, and the buttons for what this person can do next.
async fn show(ctx: &Ctx, reply: &mut Replier, staff: &Staff, number: &ComplaintNo) -> anyhow::Result<()> {
    let c = match service::load(ctx, number, Who::Staff(staff)).await {
        Ok(c) => c,
        Err(e) => return explain_error(reply, number, e).await,
    };
    let (department, events, attachments) = {
        let mut conn = ctx.db.pool().acquire().await?;
        let department = match c.department.as_deref() {
            Some(key) => departments::get(&mut conn, key).await?,
            None => None,
        };
        (department, store::events(&mut conn, c.id).await?, store::attachments(&mut conn, c.id).await?.len())
    };
    let text = view::staff_card(&ctx.templates, reply.locale, &c, department.as_ref(), attachments, &events, |t| {
        ctx.local_time(t)
    });
    let actions: &[(Key, &str)] = match c.status {
        Status::Received => &[(keys::BTN_ACCEPT_RESPONSIBILITY, "accept"), (keys::BTN_NOT_OUR_FAULT, "reject")],
        Status::Assigned => &[(keys::BTN_REPORT, "report")],
        Status::Proposed => &[(keys::BTN_APPROVE, "approve"), (keys::BTN_SEND_BACK, "sendback")],
        Status::Approved => &[(keys::BTN_RESOLVE, "resolve")],
        Status::AwaitingCustomer if c.submitter_chat_id.is_none() => {
            &[(keys::BTN_CUSTOMER_ACCEPTS, "yes"), (keys::BTN_CUSTOMER_REFUSES, "no")]
        }
        _ => &[],
    };
    let keyboard = match c.status {
        Status::Accepted => {
            let all = {
                let mut conn = ctx.db.pool().acquire().await?;
                departments::all(&mut conn).await?
            };
            Some(view::departments_keyboard(reply.locale, number.as_str(), &all))
        }
        Status::Resolved => Some(view::rating_keyboard("cw", number.as_str())),
        _ if actions.is_empty() => None,
        _ => Some(view::staff_actions(&ctx.templates, reply.locale, number.as_str(), actions)),
    };
    reply.text(&text, keyboard).await
}

async fn list_open(ctx: &Ctx, reply: &mut Replier, staff: &Staff) -> anyhow::Result<()> {
    let (open, all_departments) = {
        let mut conn = ctx.db.pool().acquire().await?;
        (store::open(&mut conn).await?, departments::all(&mut conn).await?)
    };
    let headed: Vec<&str> =
        all_departments.iter().filter(|d| d.head == Some(staff.id)).map(|d| d.key.as_str()).collect();
    let sees_all = matches!(
        staff.role,
        crate::domain::staff::Role::Service
            | crate::domain::staff::Role::Manager
            | crate::domain::staff::Role::Director
            | crate::domain::staff::Role::Admin
    );
    let mine: Vec<&Complaint> =
        open.iter().filter(|c| sees_all || c.department.as_deref().is_some_and(|d| headed.contains(&d))).collect();
    if mine.is_empty() {
        return reply.template(keys::COMPLAINTS_NONE, &[]).await;
    }
    let mut text = reply.render(keys::COMPLAINTS_HEADER, &[("count", &mine.len().to_string())]);
    for c in mine {
        text.push('\n');
        text.push_str(&reply.render(
            keys::COMPLAINTS_LINE,
            &[
                ("number", c.number.as_str()),
                ("customer", &c.form.customer_name),
                ("status", &view::status_label(&ctx.templates, reply.locale, c.status)),
                ("deadline", &c.deadline.map(|d| ctx.local_time(d)).unwrap_or_default()),
            ],
        ));
    }
    reply.text(&text, None).await
}

async fn link(ctx: &Ctx, reply: &mut Replier, staff: &Staff, complaint: &str, customer: &str) -> anyhow::Result<()> {
    let Ok(number) = complaint.parse::<ComplaintNo>() else {
        return reply.template(keys::COMPLAINT_NOT_FOUND, &[("number", complaint)]).await;
    };
    let found = {
        let mut conn = ctx.db.pool().acquire().await?;
        customers::find(&mut conn, customer, None, 2).await?
    };
    let [target] = found.as_slice() else {
        return reply.template(keys::LINK_NEEDS_ONE, &[("reference", customer)]).await;
    };
    match service::link(ctx, &number, staff, target.customer.id).await {
        Ok(_) => {
            reply
                .template(
                    keys::LINKED,
                    &[
                        ("number", number.as_str()),
                        ("archive_no", target.customer.archive_no.as_str()),
                        ("name", &target.customer.name),
                    ],
                )
                .await
        }
        Err(e) => explain_error(reply, &number, e).await,
    }
}

async fn duty_roster(ctx: &Ctx, reply: &mut Replier, staff: &Staff, command: DutyCommand) -> anyhow::Result<()> {
    let now = ctx.now();
    match command {
        DutyCommand::On { hours } => {
            let ends = service::go_on_duty(ctx, staff.id, now, hours).await?;
            reply.template(keys::DUTY_ON, &[("until", &ctx.local_time(ends))]).await
        }
        DutyCommand::Off => {
            let mut conn = ctx.db.pool().acquire().await?;
            duty::end_current(&mut conn, staff.id, now).await?;
            drop(conn);
            reply.template(keys::DUTY_OFF, &[]).await
        }
        DutyCommand::Show => {
            let (on_duty, everyone) = {
                let mut conn = ctx.db.pool().acquire().await?;
                (duty::on_duty(&mut conn, now).await?, staff_store::list(&mut conn).await?)
            };
            if on_duty.is_empty() {
                return reply.template(keys::DUTY_NONE, &[]).await;
            }
            let mut text = reply.render(keys::DUTY_HEADER, &[]);
            for (id, until) in on_duty {
                let name = everyone.iter().find(|s| s.id == id).map(|s| s.name.as_str()).unwrap_or("?");
                text.push('\n');
                text.push_str(&reply.render(keys::DUTY_LINE, &[("name", name), ("until", &ctx.local_time(until))]));
            }
            reply.text(&text, None).await
        }
    }
}

async fn report(ctx: &Ctx, reply: &mut Replier, staff: &Staff, period: &str) -> anyhow::Result<()> {
    if staff.role == crate::domain::staff::Role::Rep {
        return reply.template(keys::REPORT_NOT_ALLOWED, &[]).await;
    }
    let Ok(period) = period.parse::<Period>() else {
        return reply.template(keys::USAGE_REPORT, &[]).await;
    };
    let (stats, departments) = service::report(ctx, period).await?;
    // The report's rows are aggregates of customer data: its reading is logged too.
    {
        let mut conn = ctx.db.pool().acquire().await?;
        crate::storage::access::log_read(
            &mut conn,
            staff.id,
            None,
            "internal",
            &format!("/report complaints {period}"),
            ctx.now(),
        )
        .await?;
    }
    let text = render::complaint_report(&ctx.templates, reply.locale, period, &stats, &departments);
    reply.text(&text, None).await
}
