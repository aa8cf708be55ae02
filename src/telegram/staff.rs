//! Staff commands about the customer archive: lists, cards, logging touches, new customers.

use super::commands::Command;
use super::dialogue::{NewCustomerDraft, Purpose, State, Step};
use super::reply::Replier;
use super::view;
use crate::domain::agenda::Agenda;
use crate::domain::cadence::Action;
use crate::domain::customer::{CardFields, CustomerName, Phone, Tier, optional_text};
use crate::domain::ids::CustomerId;
use crate::domain::page::Page;
use crate::render;
use crate::services::{self, Ctx};
use crate::storage::contacts::{self, Contact};
use crate::storage::customers::{self, CustomerRecord};
use crate::storage::interactions;
use crate::storage::staff::{self as staff_store, Staff};
use crate::templates::keys;

/// The callback prefix of `/customers` page buttons: `cl:<page>`.
pub(super) const LIST_BUTTON: &str = "cl";

/// How many customers a reference may match before we ask the person to be more specific.
const MAX_CANDIDATES: i64 = 8;

pub(super) async fn run_command(ctx: &Ctx, reply: &mut Replier, staff: &Staff, command: Command) -> anyhow::Result<()> {
    match command {
        Command::Start(Some(_)) => reply.template(keys::INVITE_ALREADY_STAFF, &[]).await,
        Command::Start(None) => {
            reply.template(keys::START_STAFF, &[("name", &staff.name)]).await?;
            reply.template(keys::HELP_STAFF, &[]).await
        }
        Command::Help => reply.template(keys::HELP_STAFF, &[]).await,
        Command::Cancel => {
            if reply.state().is_some() {
                reply.clear_state();
                reply.template(keys::CANCELLED, &[]).await
            } else {
                reply.template(keys::NOTHING_TO_CANCEL, &[]).await
            }
        }
        Command::Customers => list_customers(ctx, reply, staff, 1).await,
        Command::Customer(reference) => {
            let found = find(ctx, staff, &reference).await?;
            match found.as_slice() {
                [] => reply.template(keys::NO_MATCH, &[("reference", &reference)]).await,
                [one] => show_card(ctx, reply, staff, one.customer.id).await,
                many => ask_which(reply, Purpose::Card, many).await,
            }
        }
        Command::NewCustomer => {
            reply.set_state(&State::NewCustomer(NewCustomerDraft::start()));
            reply.template(keys::NEW_ASK_NAME, &[]).await
        }
        Command::Log { action, customer, notes } => {
            let found = find(ctx, staff, &customer).await?;
            match found.as_slice() {
                [] => reply.template(keys::NO_MATCH, &[("reference", &customer)]).await,
                [one] => log_touch(ctx, reply, staff, one.customer.id, action, &notes).await,
                many => ask_which(reply, Purpose::Log { action, notes }, many).await,
            }
        }
        Command::Due => show_due(ctx, reply, staff).await,
        // Routed elsewhere by the handler; listed so a new command cannot be forgotten here.
        Command::Complain
        | Command::Status(_)
        | Command::MyComplaints
        | Command::NewComplaint
        | Command::Complaints
        | Command::Complaint(_)
        | Command::Link { .. }
        | Command::Duty(_)
        | Command::Report { .. }
        | Command::Revisit { .. }
        | Command::Info { .. }
        | Command::Tier { .. }
        | Command::Tasks
        | Command::Done { .. }
        | Command::Credit { .. }
        | Command::Birthday { .. }
        | Command::ContactCode { .. }
        | Command::Request { .. }
        | Command::Audit(_)
        | Command::Handover { .. }
        | Command::Export { .. }
        | Command::Deal(_) => reply.template(keys::HELP_HINT, &[]).await,
    }
}

/// The customers a reference names that this person may see at all (their own, or every
/// one for customer service and managers, or one granted to them today). A rep's own
/// customers come first, so others' matches can never crowd them out.
pub(super) async fn find(ctx: &Ctx, staff: &Staff, reference: &str) -> anyhow::Result<Vec<CustomerRecord>> {
    let mut conn = ctx.db.pool().acquire().await?;
    let mut visible = if staff.role == crate::domain::staff::Role::Rep {
        customers::find(&mut conn, reference, Some(staff.id), MAX_CANDIDATES).await?
    } else {
        Vec::new()
    };
    for record in customers::find(&mut conn, reference, None, 50).await? {
        if visible.len() as i64 >= MAX_CANDIDATES {
            break;
        }
        if visible.iter().any(|v| v.customer.id == record.customer.id) {
            continue;
        }
        if services::access::visibility(ctx, &mut conn, staff, &record).await?.any() {
            visible.push(record);
        }
    }
    Ok(visible)
}

async fn ask_which(reply: &mut Replier, purpose: Purpose, candidates: &[CustomerRecord]) -> anyhow::Result<()> {
    let ids = candidates.iter().map(|c| c.customer.id.0).collect();
    reply.set_state(&State::PickCustomer { purpose, candidates: ids });
    let text = reply.render(keys::WHICH_CUSTOMER, &[("count", &candidates.len().to_string())]);
    reply.text(&text, Some(view::pick_keyboard(candidates))).await
}

async fn log_touch(
    ctx: &Ctx,
    reply: &mut Replier,
    staff: &Staff,
    customer: CustomerId,
    action: Action,
    notes: &str,
) -> anyhow::Result<()> {
    let current = {
        let mut conn = ctx.db.pool().acquire().await?;
        customers::by_id(&mut conn, customer).await?
    };
    let Some(current) = current else { return reply.template(keys::STALE_BUTTON, &[]).await };
    if !services::access::may_edit(ctx, staff, &current, crate::domain::access::Level::Internal).await? {
        return reply.template(keys::ACCESS_NO_RIGHT, &[("archive_no", current.customer.archive_no.as_str())]).await;
    }
    let Some(record) = services::customers::log_touch(ctx, customer, staff.id, action, notes, ctx.now()).await? else {
        return reply.template(keys::STALE_BUTTON, &[]).await;
    };
    let key = match action {
        Action::Call => keys::LOGGED_CALL,
        Action::Visit => keys::LOGGED_VISIT,
    };
    reply
        .template(
            key,
            &[
                ("archive_no", record.customer.archive_no.as_str()),
                ("name", &record.customer.name),
                ("next_call", &record.next_call_due.to_string()),
                ("next_visit", &record.next_visit_due.to_string()),
            ],
        )
        .await
}

async fn show_card(ctx: &Ctx, reply: &mut Replier, staff: &Staff, id: CustomerId) -> anyhow::Result<()> {
    let record = {
        let mut conn = ctx.db.pool().acquire().await?;
        customers::by_id(&mut conn, id).await?
    };
    let Some(record) = record else {
        return reply.template(keys::STALE_BUTTON, &[]).await;
    };
    // Decide and log the read before anything of the card is loaded.
    let seen = services::access::read(ctx, staff, &record, "/customer").await?;
    if !seen.any() {
        return reply.template(keys::ACCESS_NO_RIGHT, &[("archive_no", record.customer.archive_no.as_str())]).await;
    }
    let mut conn = ctx.db.pool().acquire().await?;
    let owner = match record.customer.owner {
        Some(owner) => staff_store::by_id(&mut conn, owner).await?.map(|s| s.name),
        None => None,
    };
    let contacts = contacts::of_customer(&mut conn, id).await?;
    let latest = interactions::latest(&mut conn, id, 5).await?;
    drop(conn);
    let text = view::card(&ctx.templates, reply.locale, &record, owner.as_deref(), &contacts, &latest, &seen);
    reply.text(&text, None).await
}

/// Customers per `/customers` page: about 40 lines stay well inside Telegram's 4,096
/// characters with long company names.
const CUSTOMERS_PER_PAGE: u32 = 40;

/// One page of the rep's customers; only the customers shown are logged as read.
async fn list_customers(ctx: &Ctx, reply: &mut Replier, staff: &Staff, requested: u32) -> anyhow::Result<()> {
    let (page, total, records) = {
        let mut conn = ctx.db.pool().acquire().await?;
        let total = customers::count_by_owner(&mut conn, staff.id).await?;
        let page = Page::of(total, CUSTOMERS_PER_PAGE, requested);
        let records = customers::page_by_owner(&mut conn, staff.id, page.offset(), page.per_page).await?;
        (page, total, records)
    };
    if records.is_empty() {
        return reply.template(keys::CUSTOMER_LIST_EMPTY, &[]).await;
    }
    let ids: Vec<CustomerId> = records.iter().map(|r| r.customer.id).collect();
    services::access::log_list(ctx, staff, &ids, "public,internal", "/customers").await?;
    let mut text = reply.render(keys::CUSTOMER_LIST_HEADER, &[("count", &total.to_string())]);
    if page.pages > 1 {
        let first = page.offset() + 1;
        let last = page.offset() + records.len() as u64;
        text.push('\n');
        text.push_str(&reply.render(
            keys::CUSTOMER_LIST_PAGE,
            &[
                ("page", &page.number.to_string()),
                ("pages", &page.pages.to_string()),
                ("first", &first.to_string()),
                ("last", &last.to_string()),
            ],
        ));
    }
    for record in &records {
        text.push('\n');
        text.push_str(&view::list_line(&ctx.templates, reply.locale, record));
    }
    let keyboard = view::page_keyboard(&ctx.templates, reply.locale, LIST_BUTTON, &page);
    reply.text(&text, keyboard).await
}

async fn show_due(ctx: &Ctx, reply: &mut Replier, staff: &Staff) -> anyhow::Result<()> {
    let today = ctx.local_date(ctx.now());
    let days = ctx.settings.upcoming_days;
    let items = {
        let mut conn = ctx.db.pool().acquire().await?;
        customers::due_items(&mut conn, today + chrono::Duration::days(days.into()), Some(staff.id)).await?
    };
    let mut ids: Vec<CustomerId> = items.iter().map(|i| i.customer).collect();
    ids.dedup();
    services::access::log_list(ctx, staff, &ids, "public,internal", "/due").await?;
    let agenda = Agenda::build(items, today, days);
    if agenda.is_empty() {
        return reply.template(keys::DUE_NONE, &[("days", &days.to_string())]).await;
    }
    let text = render::agenda(&ctx.templates, reply.locale, &agenda, today, days);
    reply.text(&text, None).await
}

/// One answer in the `/newcustomer` dialogue.
pub(super) async fn new_customer_step(
    ctx: &Ctx,
    reply: &mut Replier,
    staff: &Staff,
    mut draft: NewCustomerDraft,
    text: &str,
) -> anyhow::Result<()> {
    match draft.step {
        Step::Name => match CustomerName::parse(text) {
            Ok(name) => {
                draft.name = Some(name.as_str().to_owned());
                draft.step = Step::Tier;
                reply.set_state(&State::NewCustomer(draft));
                let prompt = reply.render(keys::NEW_ASK_TIER, &[]);
                reply.text(&prompt, Some(view::tier_keyboard())).await
            }
            Err(_) => reply.template(keys::NEW_BAD_NAME, &[]).await,
        },
        Step::Tier => match text.parse::<Tier>() {
            Ok(tier) => choose_tier(reply, draft, tier).await,
            Err(()) => {
                let prompt = reply.render(keys::NEW_PICK_TIER, &[]);
                reply.text(&prompt, Some(view::tier_keyboard())).await
            }
        },
        Step::Region => {
            draft.region = optional_text(text);
            draft.step = Step::Phone;
            reply.set_state(&State::NewCustomer(draft));
            reply.template(keys::NEW_ASK_PHONE, &[]).await
        }
        Step::Phone => {
            draft.phone = match optional_text(text) {
                None => None,
                Some(p) => match Phone::parse(&p) {
                    Ok(phone) => Some(phone.as_str().to_owned()),
                    Err(_) => return reply.template(keys::NEW_BAD_PHONE, &[]).await,
                },
            };
            draft.step = Step::Address;
            reply.set_state(&State::NewCustomer(draft));
            reply.template(keys::NEW_ASK_ADDRESS, &[]).await
        }
        Step::Address => {
            draft.address = optional_text(text);
            draft.step = Step::Contact;
            reply.set_state(&State::NewCustomer(draft));
            reply.template(keys::NEW_ASK_CONTACT, &[]).await
        }
        Step::Contact => {
            let contact = optional_text(text).map(|name| Contact { name, ..Contact::default() });
            let (Some(name), Some(tier)) = (draft.name.clone(), draft.tier) else {
                // A draft can only get here with both set; start over rather than guess.
                reply.clear_state();
                return reply.template(keys::NEW_ASK_NAME, &[]).await;
            };
            let fields = CardFields {
                region: draft.region,
                phone: draft.phone,
                address: draft.address,
                ..CardFields::default()
            };
            let record =
                services::customers::create(ctx, &name, tier, Some(staff.id), fields, contact, ctx.now()).await?;
            reply.clear_state();
            tracing::info!(customer = record.customer.id.0, staff = staff.id.0, "customer created through the bot");
            reply
                .template(
                    keys::NEW_CREATED,
                    &[
                        ("archive_no", record.customer.archive_no.as_str()),
                        ("name", &record.customer.name),
                        ("tier", record.customer.tier.as_str()),
                        ("next_call", &record.next_call_due.to_string()),
                        ("next_visit", &record.next_visit_due.to_string()),
                    ],
                )
                .await
        }
    }
}

async fn choose_tier(reply: &mut Replier, mut draft: NewCustomerDraft, tier: Tier) -> anyhow::Result<()> {
    draft.tier = Some(tier);
    draft.step = Step::Region;
    reply.set_state(&State::NewCustomer(draft));
    reply.template(keys::NEW_ASK_REGION, &[("tier", tier.as_str())]).await
}

/// The archive's buttons: a tier in `/newcustomer`, a customer among several matches.
pub(super) async fn on_button(
    ctx: &Ctx,
    reply: &mut Replier,
    staff: &Staff,
    data: &str,
    state: Option<State>,
) -> anyhow::Result<()> {
    match (data.split_once(':'), state) {
        (Some(("tier", letter)), Some(State::NewCustomer(draft))) if draft.step == Step::Tier => match letter.parse() {
            Ok(tier) => choose_tier(reply, draft, tier).await,
            Err(()) => reply.template(keys::STALE_BUTTON, &[]).await,
        },
        // A page button works whatever the dialogue state: it only reads.
        (Some((LIST_BUTTON, page)), _) => match page.parse::<u32>() {
            Ok(page) => list_customers(ctx, reply, staff, page).await,
            Err(_) => reply.template(keys::STALE_BUTTON, &[]).await,
        },
        (Some(("pick", id)), Some(State::PickCustomer { purpose, candidates })) => {
            let Some(id) = id.parse::<i64>().ok().filter(|id| candidates.contains(id)) else {
                return reply.template(keys::STALE_BUTTON, &[]).await;
            };
            reply.clear_state();
            match purpose {
                Purpose::Card => show_card(ctx, reply, staff, CustomerId(id)).await,
                Purpose::Log { action, notes } => log_touch(ctx, reply, staff, CustomerId(id), action, &notes).await,
            }
        }
        _ => reply.template(keys::STALE_BUTTON, &[]).await,
    }
}
