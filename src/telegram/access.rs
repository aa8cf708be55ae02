//! Staff commands about confidentiality: access requests and their decisions, the access log,
//! and handovers of customers between reps.

use super::commands::Command;
use super::reply::Replier;
use crate::domain::ids::{CustomerId, TelegramUserId};
use crate::services::Ctx;
use crate::services::access::{self as service, AccessError, HandoverState};
use crate::services::exports::{self, ExportState};
use crate::storage::customers;
use crate::storage::staff::{self as staff_store, Staff};
use crate::templates::keys;

pub(super) async fn run_command(ctx: &Ctx, reply: &mut Replier, staff: &Staff, command: Command) -> anyhow::Result<()> {
    match command {
        Command::Request { customer, reason } => {
            // Requests are for customers one cannot see yet: search the whole archive.
            let found = {
                let mut conn = ctx.db.pool().acquire().await?;
                customers::find(&mut conn, &customer, None, 2).await?
            };
            let [record] = found.as_slice() else {
                return reply.template(keys::ARCHIVE_AMBIGUOUS, &[("reference", &customer)]).await;
            };
            let seen = {
                let mut conn = ctx.db.pool().acquire().await?;
                service::visibility(ctx, &mut conn, staff, record).await?
            };
            if seen.shows("phone") {
                return reply
                    .template(keys::ACCESS_ALREADY, &[("archive_no", record.customer.archive_no.as_str())])
                    .await;
            }
            let id = service::request(ctx, staff, record, &reason).await?;
            reply.template(keys::ACCESS_REQUEST_SENT, &[("id", &id.to_string())]).await
        }
        Command::Audit(customer) => {
            if !service::may_audit(staff) {
                return reply.template(keys::AUDIT_NOT_ALLOWED, &[]).await;
            }
            let found = super::staff::find(ctx, staff, &customer).await?;
            let [record] = found.as_slice() else {
                return reply.template(keys::ARCHIVE_AMBIGUOUS, &[("reference", &customer)]).await;
            };
            let no = record.customer.archive_no.to_string();
            let since = ctx.now() - chrono::Duration::days(366);
            let entries = match service::audit(ctx, staff, record.customer.id, since).await {
                Ok(entries) => entries,
                Err(AccessError::NotAllowed) => return reply.template(keys::AUDIT_NOT_ALLOWED, &[]).await,
                Err(e) => return Err(anyhow::anyhow!(e)),
            };
            if entries.is_empty() {
                return reply.template(keys::AUDIT_NONE, &[("archive_no", &no)]).await;
            }
            let mut text =
                reply.render(keys::AUDIT_HEADER, &[("archive_no", &no), ("count", &entries.len().to_string())]);
            for e in &entries {
                text.push('\n');
                text.push_str(&reply.render(
                    keys::AUDIT_LINE,
                    &[
                        ("at", &ctx.local_time(e.at)),
                        ("staff", &e.staff_name),
                        ("command", &e.command),
                        ("levels", &e.levels),
                    ],
                ));
            }
            reply.text(&text, None).await
        }
        Command::Handover { from, to, customers: only, leave } => {
            let (from_staff, to_staff) = {
                let mut conn = ctx.db.pool().acquire().await?;
                (
                    staff_store::by_telegram_id(&mut conn, TelegramUserId(from)).await?,
                    staff_store::by_telegram_id(&mut conn, TelegramUserId(to)).await?.filter(|s| s.active),
                )
            };
            let Some(from_staff) = from_staff else {
                return reply.template(keys::HANDOVER_UNKNOWN_STAFF, &[("id", &from.to_string())]).await;
            };
            let Some(to_staff) = to_staff else {
                return reply.template(keys::HANDOVER_UNKNOWN_STAFF, &[("id", &to.to_string())]).await;
            };
            let only = match only {
                None => None,
                Some(refs) => {
                    let mut ids: Vec<CustomerId> = Vec::new();
                    let mut conn = ctx.db.pool().acquire().await?;
                    for r in refs {
                        match customers::find(&mut conn, &r, Some(from_staff.id), 2).await?.as_slice() {
                            [one] => ids.push(one.customer.id),
                            _ => {
                                // The reply takes a connection of its own: give this one back
                                // first, or four of these at once would wait on each other.
                                drop(conn);
                                return reply.template(keys::ARCHIVE_AMBIGUOUS, &[("reference", &r)]).await;
                            }
                        }
                    }
                    Some(ids)
                }
            };
            match service::propose_handover(ctx, staff, &from_staff, &to_staff, only, leave).await {
                Ok((id, moving)) => {
                    reply
                        .template(
                            keys::HANDOVER_PROPOSED,
                            &[
                                ("id", &id.to_string()),
                                ("from", &from_staff.name),
                                ("to", &to_staff.name),
                                ("count", &moving.len().to_string()),
                            ],
                        )
                        .await
                }
                Err(AccessError::NotAllowed) => reply.template(keys::HANDOVER_NOT_ALLOWED, &[]).await,
                Err(AccessError::NotFound) => reply.template(keys::HANDOVER_NOTHING, &[]).await,
                Err(e) => Err(anyhow::anyhow!(e)),
            }
        }
        Command::Deal(customer) => {
            let found = super::staff::find(ctx, staff, &customer).await?;
            let [record] = found.as_slice() else {
                return reply.template(keys::ARCHIVE_AMBIGUOUS, &[("reference", &customer)]).await;
            };
            let no = record.customer.archive_no.to_string();
            if !service::may_edit(ctx, staff, record, crate::domain::access::Level::Internal).await? {
                return reply.template(keys::ACCESS_NO_RIGHT, &[("archive_no", &no)]).await;
            }
            if crate::services::retention::mark_deal(ctx, staff, record.customer.id).await? {
                reply.template(keys::DEAL_DONE, &[("archive_no", &no)]).await
            } else {
                reply.template(keys::DEAL_NOT_PROSPECT, &[("archive_no", &no)]).await
            }
        }
        Command::Export { full: false } => {
            let rows = exports::export_now(ctx, staff, &reply.key_base()).await?;
            reply.template(keys::EXPORT_SENT, &[("rows", &rows.to_string())]).await
        }
        Command::Export { full: true } => {
            let id = exports::request_full(ctx, staff).await?;
            reply.template(keys::EXPORT_REQUESTED, &[("id", &id.to_string())]).await
        }
        _ => reply.template(keys::HELP_HINT, &[]).await,
    }
}

/// `ar:{id}:yes|no` (a request decision) and `ho:{id}:yes|no` (a handover confirmation).
pub(super) async fn on_button(ctx: &Ctx, reply: &mut Replier, staff: &Staff, data: &str) -> anyhow::Result<()> {
    let parts: Vec<&str> = data.split(':').collect();
    let [kind, id, answer] = parts.as_slice() else {
        return reply.template(keys::STALE_BUTTON, &[]).await;
    };
    let (Ok(id), Some(yes)) = (
        id.parse::<i64>(),
        match *answer {
            "yes" => Some(true),
            "no" => Some(false),
            _ => None,
        },
    ) else {
        return reply.template(keys::STALE_BUTTON, &[]).await;
    };
    let ids = id.to_string();
    match *kind {
        "ar" => match service::decide(ctx, staff, id, yes).await {
            Ok(_) => reply.template(keys::ACCESS_DECISION_DONE, &[("id", &ids)]).await,
            Err(AccessError::NotAllowed) => reply.template(keys::ACCESS_NOT_DECIDER, &[]).await,
            Err(AccessError::AlreadyDecided | AccessError::NotFound) => reply.template(keys::ACCESS_DECIDED, &[]).await,
            Err(AccessError::Other(e)) => Err(e),
        },
        "ex" => match exports::decide(ctx, staff, id, yes).await {
            Ok(ExportState::Waiting) => reply.template(keys::EXPORT_WAITING, &[("id", &ids)]).await,
            Ok(ExportState::Sent(rows)) => {
                reply.template(keys::EXPORT_DONE, &[("id", &ids), ("rows", &rows.to_string())]).await
            }
            Ok(ExportState::Denied) => reply.template(keys::ACCESS_DECISION_DONE, &[("id", &ids)]).await,
            Err(AccessError::NotAllowed) => reply.template(keys::HANDOVER_NOT_ALLOWED, &[]).await,
            Err(AccessError::AlreadyDecided | AccessError::NotFound) => reply.template(keys::ACCESS_DECIDED, &[]).await,
            Err(AccessError::Other(e)) => Err(e),
        },
        "pg" => match crate::services::retention::decide(ctx, staff, id, yes).await {
            Ok(count) => reply.template(keys::PURGE_DONE, &[("count", &count.to_string())]).await,
            Err(AccessError::NotAllowed) => reply.template(keys::HANDOVER_NOT_ALLOWED, &[]).await,
            Err(AccessError::AlreadyDecided | AccessError::NotFound) => reply.template(keys::ACCESS_DECIDED, &[]).await,
            Err(AccessError::Other(e)) => Err(e),
        },
        "ho" if !yes => reply.template(keys::ACCESS_DECISION_DONE, &[("id", &ids)]).await,
        "ho" => match service::confirm_handover(ctx, staff, id).await {
            Ok(HandoverState::Waiting) => reply.template(keys::HANDOVER_WAITING, &[("id", &ids)]).await,
            Ok(HandoverState::Done(_)) => reply.template(keys::HANDOVER_DONE, &[("id", &ids)]).await,
            Err(AccessError::NotAllowed) => reply.template(keys::HANDOVER_NOT_ALLOWED, &[]).await,
            Err(AccessError::AlreadyDecided | AccessError::NotFound) => reply.template(keys::ACCESS_DECIDED, &[]).await,
            Err(AccessError::Other(e)) => Err(e),
        },
        _ => reply.template(keys::STALE_BUTTON, &[]).await,
    }
}
