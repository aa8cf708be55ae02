//! Customer archive operations.

use anyhow::Context;
use chrono::{DateTime, Utc};

use super::Ctx;
use crate::domain::cadence::{Action, Touches, next_dues};
use crate::domain::customer::{CardFields, Tier};
use crate::domain::ids::{CustomerId, StaffId};
use crate::storage::app_state;
use crate::storage::contacts::{self, Contact};
use crate::storage::customers::{self as store, CustomerRecord, NewCustomer};
use crate::storage::interactions::{self, NewInteraction, Source};

/// Create a customer; due dates follow from the touches given (none for a brand-new one, so
/// everything is due from the day of creation).
pub async fn create(
    ctx: &Ctx,
    name: &str,
    tier: Tier,
    owner: Option<StaffId>,
    fields: CardFields,
    contact: Option<Contact>,
    now: DateTime<Utc>,
) -> anyhow::Result<CustomerRecord> {
    let touches = Touches { created_on: ctx.local_date(now), last_call_on: None, last_visit_on: None };
    let mut tx = ctx.db.begin().await?;
    let record = insert_with_touches(ctx, &mut tx, name, tier, owner, fields, touches, now).await?;
    if let Some(contact) = contact {
        contacts::insert(&mut tx, record.customer.id, &contact, now).await?;
    }
    tx.commit().await.context("committing new customer")?;
    Ok(record)
}

/// Insert inside a caller's transaction (the CSV import inserts many at once).
#[allow(clippy::too_many_arguments)]
pub async fn insert_with_touches(
    ctx: &Ctx,
    conn: &mut sqlx::AnyConnection,
    name: &str,
    tier: Tier,
    owner: Option<StaffId>,
    fields: CardFields,
    touches: Touches,
    now: DateTime<Utc>,
) -> anyhow::Result<CustomerRecord> {
    let (next_call_due, next_visit_due) = next_dues(&ctx.settings.cadence, tier, &touches);
    let new = NewCustomer { name: name.to_owned(), tier, owner, fields, touches, next_call_due, next_visit_due };
    store::insert(conn, &new, now).await
}

/// Log a call or visit and move the due dates on. Returns the customer as it is afterwards.
pub async fn log_touch(
    ctx: &Ctx,
    customer: CustomerId,
    staff: StaffId,
    action: Action,
    notes: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<CustomerRecord>> {
    let mut tx = ctx.db.begin().await?;
    let Some(mut record) = store::by_id(&mut tx, customer).await? else {
        return Ok(None);
    };
    let today = ctx.local_date(now);
    record.touches.record(action, today);
    let (call_due, visit_due) = next_dues(&ctx.settings.cadence, record.customer.tier, &record.touches);
    store::update_touches(&mut tx, customer, &record.touches, call_due, visit_due, now).await?;
    let interaction = NewInteraction {
        customer,
        staff: Some(staff),
        kind: action.as_str().to_owned(),
        occurred_at: now,
        occurred_on: today,
        notes: notes.to_owned(),
        source: Source::Bot,
    };
    interactions::insert(&mut tx, &interaction, now).await?;
    tx.commit().await.context("committing interaction")?;
    record.next_call_due = call_due;
    record.next_visit_due = visit_due;
    Ok(Some(record))
}

/// When the cadence table in the configuration changed since the due dates were stored,
/// recompute every customer's due dates. Returns how many customers were updated.
pub async fn reconcile_cadence_policy(ctx: &Ctx) -> anyhow::Result<usize> {
    let fingerprint = ctx.settings.cadence.fingerprint();
    let mut tx = ctx.db.begin().await?;
    let stored = app_state::get(&mut tx, app_state::CADENCE_FINGERPRINT).await?;
    if stored.as_deref() == Some(fingerprint.as_str()) {
        return Ok(0);
    }
    let mut updated = 0;
    // The first start stores the fingerprint of an empty archive; later changes recompute.
    if stored.is_some() {
        let now = ctx.now();
        for record in store::all(&mut tx).await? {
            let (call, visit) = next_dues(&ctx.settings.cadence, record.customer.tier, &record.touches);
            if (call, visit) != (record.next_call_due, record.next_visit_due) {
                store::update_touches(&mut tx, record.customer.id, &record.touches, call, visit, now).await?;
                updated += 1;
            }
        }
    }
    app_state::set(&mut tx, app_state::CADENCE_FINGERPRINT, &fingerprint).await?;
    tx.commit().await.context("committing recomputed due dates")?;
    if updated > 0 {
        tracing::info!(updated, policy = %fingerprint, "cadence policy changed: due dates recomputed");
    }
    Ok(updated)
}
