//! The customer archive: cards, touches and the denormalised next due dates.
//!
//! `next_call_due` / `next_visit_due` are written whenever a touch, the tier or the cadence
//! policy changes, so that the planner asks the index "what is due by D?" and its cost grows
//! with the number of due items, not with the size of the archive.

use anyhow::Context;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{AnyConnection, FromRow};

use super::{counters, date_text, epoch, parse_date, parse_opt_date};
use crate::domain::agenda::DueItem;
use crate::domain::cadence::{Action, Touches};
use crate::domain::customer::{CardFields, Customer, Tier};
use crate::domain::ids::{ArchiveNo, CustomerId, StaffId};

/// A customer with its touches and due dates, as the services use it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerRecord {
    pub customer: Customer,
    pub touches: Touches,
    pub next_call_due: NaiveDate,
    pub next_visit_due: NaiveDate,
}

impl CustomerRecord {
    pub fn next_due(&self, action: Action) -> NaiveDate {
        match action {
            Action::Call => self.next_call_due,
            Action::Visit => self.next_visit_due,
        }
    }
}

/// A new archive card; due dates are computed by the caller from the cadence policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCustomer {
    pub name: String,
    pub tier: Tier,
    pub owner: Option<StaffId>,
    pub fields: CardFields,
    pub touches: Touches,
    pub next_call_due: NaiveDate,
    pub next_visit_due: NaiveDate,
}

#[derive(FromRow)]
struct Row {
    id: i64,
    archive_no: String,
    name: String,
    tier: String,
    owner_id: Option<i64>,
    region: Option<String>,
    address: Option<String>,
    postcode: Option<String>,
    phone: Option<String>,
    fax: Option<String>,
    email: Option<String>,
    website: Option<String>,
    industry: Option<String>,
    nature: Option<String>,
    industry_standing: Option<String>,
    main_business: Option<String>,
    founded_on: Option<String>,
    registered_capital: Option<String>,
    main_shareholders: Option<String>,
    bank: Option<String>,
    bank_account: Option<String>,
    employees: Option<i64>,
    credit_rating: Option<String>,
    notes: Option<String>,
    created_on: String,
    last_call_on: Option<String>,
    last_visit_on: Option<String>,
    next_call_due: String,
    next_visit_due: String,
}

const COLUMNS: &str = "id, archive_no, name, tier, owner_id, region, address, postcode, phone, fax, email, \
    website, industry, nature, industry_standing, main_business, founded_on, registered_capital, \
    main_shareholders, bank, bank_account, employees, credit_rating, notes, created_on, last_call_on, \
    last_visit_on, next_call_due, next_visit_due";

impl TryFrom<Row> for CustomerRecord {
    type Error = anyhow::Error;

    fn try_from(r: Row) -> anyhow::Result<Self> {
        let id = CustomerId(r.id);
        let created_on = parse_date(&r.created_on)?;
        Ok(Self {
            customer: Customer {
                id,
                archive_no: r
                    .archive_no
                    .parse()
                    .ok()
                    .with_context(|| format!("stored archive number '{}' is malformed", r.archive_no))?,
                name: r.name,
                tier: r.tier.parse().ok().with_context(|| format!("stored tier '{}' is unknown", r.tier))?,
                owner: r.owner_id.map(StaffId),
                created_on,
                fields: CardFields {
                    region: r.region,
                    address: r.address,
                    postcode: r.postcode,
                    phone: r.phone,
                    fax: r.fax,
                    email: r.email,
                    website: r.website,
                    industry: r.industry,
                    nature: r.nature,
                    industry_standing: r.industry_standing,
                    main_business: r.main_business,
                    founded_on: parse_opt_date(r.founded_on.as_deref())?,
                    registered_capital: r.registered_capital,
                    main_shareholders: r.main_shareholders,
                    bank: r.bank,
                    bank_account: r.bank_account,
                    employees: r.employees,
                    credit_rating: r.credit_rating,
                    notes: r.notes,
                },
            },
            touches: Touches {
                created_on,
                last_call_on: parse_opt_date(r.last_call_on.as_deref())?,
                last_visit_on: parse_opt_date(r.last_visit_on.as_deref())?,
            },
            next_call_due: parse_date(&r.next_call_due)?,
            next_visit_due: parse_date(&r.next_visit_due)?,
        })
    }
}

fn digits(phone: Option<&str>) -> Option<String> {
    phone.map(|p| p.chars().filter(char::is_ascii_digit).collect())
}

/// Insert a card under the next archive number.
pub async fn insert(conn: &mut AnyConnection, new: &NewCustomer, now: DateTime<Utc>) -> anyhow::Result<CustomerRecord> {
    let archive_no = ArchiveNo::from_number(counters::next(&mut *conn, counters::ARCHIVE_NO).await?);
    let f = &new.fields;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO customers (name, tier, owner_id, region, address, postcode, phone, phone_digits, fax, email,
             website, industry, nature, industry_standing, main_business, founded_on, registered_capital,
             main_shareholders, bank, bank_account, employees, credit_rating, notes, created_on, last_call_on,
             last_visit_on, next_call_due, next_visit_due, active, created_at, updated_at, archive_no)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21,
             $22, $23, $24, $25, $26, $27, $28, 1, $29, $29, $30)
         RETURNING id",
    )
    .bind(&new.name)
    .bind(new.tier.as_str())
    .bind(new.owner.map(|o| o.0))
    .bind(f.region.as_deref())
    .bind(f.address.as_deref())
    .bind(f.postcode.as_deref())
    .bind(f.phone.as_deref())
    .bind(digits(f.phone.as_deref()))
    .bind(f.fax.as_deref())
    .bind(f.email.as_deref())
    .bind(f.website.as_deref())
    .bind(f.industry.as_deref())
    .bind(f.nature.as_deref())
    .bind(f.industry_standing.as_deref())
    .bind(f.main_business.as_deref())
    .bind(f.founded_on.map(date_text))
    .bind(f.registered_capital.as_deref())
    .bind(f.main_shareholders.as_deref())
    .bind(f.bank.as_deref())
    .bind(f.bank_account.as_deref())
    .bind(f.employees)
    .bind(f.credit_rating.as_deref())
    .bind(f.notes.as_deref())
    .bind(date_text(new.touches.created_on))
    .bind(new.touches.last_call_on.map(date_text))
    .bind(new.touches.last_visit_on.map(date_text))
    .bind(date_text(new.next_call_due))
    .bind(date_text(new.next_visit_due))
    .bind(epoch(now))
    .bind(archive_no.as_str())
    .fetch_one(&mut *conn)
    .await
    .context("inserting customer")?;
    by_id(conn, CustomerId(id)).await?.context("customer vanished after insert")
}

pub async fn by_id(conn: &mut AnyConnection, id: CustomerId) -> anyhow::Result<Option<CustomerRecord>> {
    let row: Option<Row> =
        sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM customers WHERE id = $1")))
            .bind(id.0)
            .fetch_optional(conn)
            .await
            .context("loading customer")?;
    row.map(CustomerRecord::try_from).transpose()
}

/// Customers a reference names: an archive number exactly; otherwise a name containing it
/// (an exact name match wins over partial ones). At most `limit` results; `owner` narrows the
/// search to one rep's customers.
pub async fn find(
    conn: &mut AnyConnection,
    reference: &str,
    owner: Option<StaffId>,
    limit: i64,
) -> anyhow::Result<Vec<CustomerRecord>> {
    let reference = reference.trim();
    let rows: Vec<Row> = if let Ok(archive_no) = reference.parse::<ArchiveNo>() {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM customers WHERE active = 1 AND archive_no = $1 AND ($2 IS NULL OR owner_id = $2)"
        )))
        .bind(archive_no.as_str())
        .bind(owner.map(|o| o.0))
        .fetch_all(&mut *conn)
        .await
    } else {
        let pattern = format!("%{}%", escape_like(&reference.to_lowercase()));
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM customers
             WHERE active = 1 AND LOWER(name) LIKE $1 ESCAPE '\\' AND ($2 IS NULL OR owner_id = $2)
             ORDER BY CASE WHEN LOWER(name) = $3 THEN 0 ELSE 1 END, name, id LIMIT $4"
        )))
        .bind(pattern)
        .bind(owner.map(|o| o.0))
        .bind(reference.to_lowercase())
        .bind(limit)
        .fetch_all(&mut *conn)
        .await
    }
    .context("searching customers")?;
    let mut found: Vec<CustomerRecord> = rows.into_iter().map(CustomerRecord::try_from).collect::<Result<_, _>>()?;
    if let Some(exact) = found.iter().position(|c| c.customer.name.to_lowercase() == reference.to_lowercase()) {
        let only = found.swap_remove(exact);
        found = vec![only];
    }
    Ok(found)
}

fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

/// One rep's customers, by archive number.
pub async fn by_owner(conn: &mut AnyConnection, owner: StaffId) -> anyhow::Result<Vec<CustomerRecord>> {
    let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM customers WHERE active = 1 AND owner_id = $1 ORDER BY id"
    )))
    .bind(owner.0)
    .fetch_all(conn)
    .await
    .context("listing a rep's customers")?;
    rows.into_iter().map(CustomerRecord::try_from).collect()
}

/// One page of a rep's active customers, by archive number (`/customers`).
pub async fn page_by_owner(
    conn: &mut AnyConnection,
    owner: StaffId,
    offset: u64,
    limit: u32,
) -> anyhow::Result<Vec<CustomerRecord>> {
    let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM customers WHERE active = 1 AND owner_id = $1 ORDER BY id LIMIT $2 OFFSET $3"
    )))
    .bind(owner.0)
    .bind(i64::from(limit))
    .bind(i64::try_from(offset).unwrap_or(i64::MAX))
    .fetch_all(conn)
    .await
    .context("listing a page of a rep's customers")?;
    rows.into_iter().map(CustomerRecord::try_from).collect()
}

/// How many active customers a rep owns.
pub async fn count_by_owner(conn: &mut AnyConnection, owner: StaffId) -> anyhow::Result<u64> {
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM customers WHERE active = 1 AND owner_id = $1")
        .bind(owner.0)
        .fetch_one(conn)
        .await
        .context("counting a rep's customers")?;
    Ok(u64::try_from(count).unwrap_or_default())
}

/// Every active customer, by archive number (for export).
pub async fn all(conn: &mut AnyConnection) -> anyhow::Result<Vec<CustomerRecord>> {
    let rows: Vec<Row> =
        sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM customers WHERE active = 1 ORDER BY id")))
            .fetch_all(conn)
            .await
            .context("listing customers")?;
    rows.into_iter().map(CustomerRecord::try_from).collect()
}

/// Every owed touch due on or before `until`, of customers that have an owner.
pub async fn due_items(
    conn: &mut AnyConnection,
    until: NaiveDate,
    owner: Option<StaffId>,
) -> anyhow::Result<Vec<DueItem>> {
    #[derive(FromRow)]
    struct DueRow {
        id: i64,
        archive_no: String,
        name: String,
        owner_id: i64,
        next_call_due: String,
        next_visit_due: String,
    }
    let until_text = date_text(until);
    let rows: Vec<DueRow> = sqlx::query_as(
        // Two range searches, one per index, rather than `a <= $1 OR b <= $1`: SQLite plans the
        // OR as a full scan (1.2 s at a million customers, see BENCHMARKS.md), the UNION as two
        // index range searches whose cost follows the due items.
        "SELECT id, archive_no, name, owner_id, next_call_due, next_visit_due FROM customers
         WHERE active = 1 AND owner_id IS NOT NULL AND ($2 IS NULL OR owner_id = $2) AND next_call_due <= $1
         UNION
         SELECT id, archive_no, name, owner_id, next_call_due, next_visit_due FROM customers
         WHERE active = 1 AND owner_id IS NOT NULL AND ($2 IS NULL OR owner_id = $2) AND next_visit_due <= $1",
    )
    .bind(&until_text)
    .bind(owner.map(|o| o.0))
    .fetch_all(conn)
    .await
    .context("loading due items")?;
    let mut items = Vec::new();
    for r in rows {
        let customer = CustomerId(r.id);
        let archive_no: ArchiveNo = r
            .archive_no
            .parse()
            .ok()
            .with_context(|| format!("stored archive number '{}' is malformed", r.archive_no))?;
        for (action, due) in [(Action::Call, &r.next_call_due), (Action::Visit, &r.next_visit_due)] {
            let due_on = parse_date(due)?;
            if due_on <= until {
                items.push(DueItem {
                    customer,
                    archive_no: archive_no.clone(),
                    customer_name: r.name.clone(),
                    owner: StaffId(r.owner_id),
                    action,
                    due_on,
                });
            }
        }
    }
    Ok(items)
}

/// Store new touches and the due dates that follow from them.
pub async fn update_touches(
    conn: &mut AnyConnection,
    id: CustomerId,
    touches: &Touches,
    next_call_due: NaiveDate,
    next_visit_due: NaiveDate,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    sqlx::query(
        "UPDATE customers SET last_call_on = $1, last_visit_on = $2, next_call_due = $3, next_visit_due = $4,
             updated_at = $5
         WHERE id = $6",
    )
    .bind(touches.last_call_on.map(date_text))
    .bind(touches.last_visit_on.map(date_text))
    .bind(date_text(next_call_due))
    .bind(date_text(next_visit_due))
    .bind(epoch(now))
    .bind(id.0)
    .execute(conn)
    .await
    .context("updating customer touches")?;
    Ok(())
}

/// Active customers with an owner, for the operator's count and start-up checks.
pub async fn count(conn: &mut AnyConnection) -> anyhow::Result<i64> {
    sqlx::query_scalar("SELECT COUNT(*) FROM customers WHERE active = 1")
        .fetch_one(conn)
        .await
        .context("counting customers")
}

/// Write back the card's name and fields (after a keeper entered new information).
pub async fn update_card(
    conn: &mut AnyConnection,
    id: CustomerId,
    name: &str,
    f: &CardFields,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    sqlx::query(
        "UPDATE customers SET name = $1, region = $2, address = $3, postcode = $4, phone = $5, phone_digits = $6,
             fax = $7, email = $8, website = $9, industry = $10, nature = $11, industry_standing = $12,
             main_business = $13, registered_capital = $14, main_shareholders = $15, bank = $16, bank_account = $17,
             notes = $18, updated_at = $19
         WHERE id = $20",
    )
    .bind(name)
    .bind(f.region.as_deref())
    .bind(f.address.as_deref())
    .bind(f.postcode.as_deref())
    .bind(f.phone.as_deref())
    .bind(digits(f.phone.as_deref()))
    .bind(f.fax.as_deref())
    .bind(f.email.as_deref())
    .bind(f.website.as_deref())
    .bind(f.industry.as_deref())
    .bind(f.nature.as_deref())
    .bind(f.industry_standing.as_deref())
    .bind(f.main_business.as_deref())
    .bind(f.registered_capital.as_deref())
    .bind(f.main_shareholders.as_deref())
    .bind(f.bank.as_deref())
    .bind(f.bank_account.as_deref())
    .bind(f.notes.as_deref())
    .bind(epoch(now))
    .bind(id.0)
    .execute(conn)
    .await
    .context("updating a customer card")?;
    Ok(())
}

/// Change the tier together with the due dates the new tier's cadence gives.
pub async fn set_tier(
    conn: &mut AnyConnection,
    id: CustomerId,
    tier: Tier,
    next_call_due: NaiveDate,
    next_visit_due: NaiveDate,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    sqlx::query(
        "UPDATE customers SET tier = $1, next_call_due = $2, next_visit_due = $3, updated_at = $4 WHERE id = $5",
    )
    .bind(tier.as_str())
    .bind(date_text(next_call_due))
    .bind(date_text(next_visit_due))
    .bind(epoch(now))
    .bind(id.0)
    .execute(conn)
    .await
    .context("changing a customer's tier")?;
    Ok(())
}

/// Record a credit rating with the day it was investigated and the day it expires.
pub async fn set_credit(
    conn: &mut AnyConnection,
    id: CustomerId,
    rating: &str,
    checked_on: NaiveDate,
    expires_on: NaiveDate,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    sqlx::query(
        "UPDATE customers SET credit_rating = $1, credit_checked_on = $2, credit_expires_on = $3, updated_at = $4
         WHERE id = $5",
    )
    .bind(rating)
    .bind(date_text(checked_on))
    .bind(date_text(expires_on))
    .bind(epoch(now))
    .bind(id.0)
    .execute(conn)
    .await
    .context("recording a credit rating")?;
    Ok(())
}

/// A customer whose credit rating has expired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpiredCredit {
    pub customer: CustomerId,
    pub archive_no: String,
    pub name: String,
    pub owner: Option<StaffId>,
    pub expires_on: NaiveDate,
}

/// Active customers whose credit rating expires on or before `on`.
pub async fn credit_expired(conn: &mut AnyConnection, on: NaiveDate) -> anyhow::Result<Vec<ExpiredCredit>> {
    let rows: Vec<(i64, String, String, Option<i64>, String)> = sqlx::query_as(
        "SELECT id, archive_no, name, owner_id, credit_expires_on FROM customers
         WHERE active = 1 AND credit_expires_on IS NOT NULL AND credit_expires_on <= $1 ORDER BY id",
    )
    .bind(date_text(on))
    .fetch_all(conn)
    .await
    .context("finding expired credit ratings")?;
    rows.into_iter()
        .map(|(id, archive_no, name, owner, expires)| {
            Ok(ExpiredCredit {
                customer: CustomerId(id),
                archive_no,
                name,
                owner: owner.map(StaffId),
                expires_on: parse_date(&expires)?,
            })
        })
        .collect()
}

/// An active A-tier customer as the holiday gift list names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedCustomer {
    pub id: CustomerId,
    pub archive_no: String,
    pub name: String,
}

/// Active A-tier customers per owning rep, for the holiday gift lists.
pub async fn a_tier_by_owner(
    conn: &mut AnyConnection,
) -> anyhow::Result<std::collections::BTreeMap<StaffId, Vec<ListedCustomer>>> {
    let rows: Vec<(i64, i64, String, String)> = sqlx::query_as(
        "SELECT owner_id, id, archive_no, name FROM customers
         WHERE active = 1 AND tier = 'A' AND owner_id IS NOT NULL ORDER BY archive_no",
    )
    .fetch_all(conn)
    .await
    .context("listing A-tier customers")?;
    let mut by_owner: std::collections::BTreeMap<StaffId, Vec<ListedCustomer>> = std::collections::BTreeMap::new();
    for (owner, id, archive_no, name) in rows {
        by_owner.entry(StaffId(owner)).or_default().push(ListedCustomer { id: CustomerId(id), archive_no, name });
    }
    Ok(by_owner)
}

/// Mark a customer a prospect (no deal yet) or a customer (a deal was made).
pub async fn set_status(
    conn: &mut AnyConnection,
    id: CustomerId,
    status: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    sqlx::query("UPDATE customers SET status = $1, updated_at = $2 WHERE id = $3")
        .bind(status)
        .bind(epoch(now))
        .bind(id.0)
        .execute(conn)
        .await
        .context("changing a customer's status")?;
    Ok(())
}

pub async fn status(conn: &mut AnyConnection, id: CustomerId) -> anyhow::Result<Option<String>> {
    sqlx::query_scalar("SELECT status FROM customers WHERE id = $1")
        .bind(id.0)
        .fetch_optional(conn)
        .await
        .context("reading a customer's status")
}

/// Active prospects that entered the archive before `before` (local date), by archive number.
pub async fn stale_prospects(
    conn: &mut AnyConnection,
    before: NaiveDate,
) -> anyhow::Result<Vec<(CustomerId, String, String)>> {
    let rows: Vec<(i64, String, String)> = sqlx::query_as(
        "SELECT id, archive_no, name FROM customers
         WHERE active = 1 AND status = 'prospect' AND created_on < $1 ORDER BY archive_no",
    )
    .bind(date_text(before))
    .fetch_all(conn)
    .await
    .context("listing stale prospects")?;
    Ok(rows.into_iter().map(|(id, no, name)| (CustomerId(id), no, name)).collect())
}

/// Delete a prospect's personal data: contacts, interaction notes, every card field but the
/// anonymous ones (tier, region, dates), and the name. The row stays so counts stay right.
pub async fn purge(conn: &mut AnyConnection, id: CustomerId, now: DateTime<Utc>) -> anyhow::Result<()> {
    sqlx::query("DELETE FROM contact_invites WHERE contact_id IN (SELECT id FROM contacts WHERE customer_id = $1)")
        .bind(id.0)
        .execute(&mut *conn)
        .await
        .context("purging contact codes")?;
    sqlx::query("DELETE FROM contacts WHERE customer_id = $1")
        .bind(id.0)
        .execute(&mut *conn)
        .await
        .context("purging contacts")?;
    sqlx::query("UPDATE interactions SET notes = '' WHERE customer_id = $1")
        .bind(id.0)
        .execute(&mut *conn)
        .await
        .context("purging interaction notes")?;
    sqlx::query(
        "UPDATE customers SET name = archive_no, address = NULL, postcode = NULL, phone = NULL, phone_digits = NULL,
             fax = NULL, email = NULL, website = NULL, nature = NULL, industry_standing = NULL, main_business = NULL,
             founded_on = NULL, registered_capital = NULL, main_shareholders = NULL, bank = NULL, bank_account = NULL,
             employees = NULL, credit_rating = NULL, notes = NULL, status = 'purged', active = 0, updated_at = $1
         WHERE id = $2",
    )
    .bind(epoch(now))
    .bind(id.0)
    .execute(conn)
    .await
    .context("purging a prospect")?;
    Ok(())
}

/// Purged prospects (anonymous: only how many).
pub async fn purged_count(conn: &mut AnyConnection) -> anyhow::Result<i64> {
    sqlx::query_scalar("SELECT COUNT(*) FROM customers WHERE status = 'purged'")
        .fetch_one(conn)
        .await
        .context("counting purged prospects")
}

/// The first active customer with exactly this name.
pub async fn id_by_exact_name(conn: &mut AnyConnection, name: &str) -> anyhow::Result<Option<CustomerId>> {
    let id: Option<i64> =
        sqlx::query_scalar("SELECT id FROM customers WHERE active = 1 AND name = $1 ORDER BY id LIMIT 1")
            .bind(name)
            .fetch_optional(conn)
            .await
            .context("finding a customer by name")?;
    Ok(id.map(CustomerId))
}

/// The first active customer whose phone has these digits.
pub async fn id_by_phone_digits(conn: &mut AnyConnection, digits: &str) -> anyhow::Result<Option<CustomerId>> {
    let id: Option<i64> =
        sqlx::query_scalar("SELECT id FROM customers WHERE active = 1 AND phone_digits = $1 ORDER BY id LIMIT 1")
            .bind(digits)
            .fetch_optional(conn)
            .await
            .context("finding a customer by phone")?;
    Ok(id.map(CustomerId))
}

/// [`id_by_exact_name`] for several names in one statement: the first active customer of
/// each name found.
pub async fn ids_by_exact_names(
    conn: &mut AnyConnection,
    names: &[&str],
) -> anyhow::Result<std::collections::HashMap<String, CustomerId>> {
    first_ids_by(conn, "name", names, "finding customers by name").await
}

/// [`id_by_phone_digits`] for several phones in one statement.
pub async fn ids_by_phone_digits(
    conn: &mut AnyConnection,
    digits: &[&str],
) -> anyhow::Result<std::collections::HashMap<String, CustomerId>> {
    first_ids_by(conn, "phone_digits", digits, "finding customers by phone").await
}

/// The first (lowest id) active customer for each of `values` of `column`.
async fn first_ids_by(
    conn: &mut AnyConnection,
    column: &'static str,
    values: &[&str],
    what: &'static str,
) -> anyhow::Result<std::collections::HashMap<String, CustomerId>> {
    if values.is_empty() {
        return Ok(std::collections::HashMap::new());
    }
    let sql = super::positional(
        conn,
        format!(
            "SELECT {column}, MIN(id) FROM customers WHERE active = 1 AND {column} IN ({}) GROUP BY {column}",
            super::params(1, values.len())
        ),
    );
    let mut query = sqlx::query_as::<_, (String, i64)>(sqlx::AssertSqlSafe(sql));
    for value in values {
        query = query.bind(*value);
    }
    let rows = query.fetch_all(conn).await.context(what)?;
    Ok(rows.into_iter().map(|(value, id)| (value, CustomerId(id))).collect())
}
