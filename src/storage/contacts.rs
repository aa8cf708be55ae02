//! Contacts of a customer (客户负责人及联系人): who we talk to there.

use anyhow::Context;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{AnyConnection, FromRow};

use super::{date_text, epoch, parse_opt_date};
use crate::domain::birthday::Birthday;
use crate::domain::ids::{CustomerId, StaffId};

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Contact {
    /// 0 until stored.
    pub id: i64,
    pub name: String,
    pub position: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub birthday: Option<NaiveDate>,
    pub education: Option<String>,
    pub hobbies: Option<String>,
    pub family: Option<String>,
    pub notes: Option<String>,
    /// How the birthday recurs (solar or lunar month and day).
    pub birthday_spec: Option<Birthday>,
    /// Set once the contact joined the bot with a code from their rep.
    pub telegram_id: Option<i64>,
    pub locale: Option<String>,
}

#[derive(FromRow)]
struct Row {
    id: i64,
    name: String,
    position: Option<String>,
    phone: Option<String>,
    email: Option<String>,
    birthday: Option<String>,
    education: Option<String>,
    hobbies: Option<String>,
    family: Option<String>,
    notes: Option<String>,
    birthday_spec: Option<String>,
    telegram_id: Option<i64>,
    locale: Option<String>,
}

impl TryFrom<Row> for Contact {
    type Error = anyhow::Error;
    fn try_from(r: Row) -> anyhow::Result<Self> {
        Ok(Contact {
            id: r.id,
            name: r.name,
            position: r.position,
            phone: r.phone,
            email: r.email,
            birthday: parse_opt_date(r.birthday.as_deref())?,
            education: r.education,
            hobbies: r.hobbies,
            family: r.family,
            notes: r.notes,
            birthday_spec: r.birthday_spec.as_deref().and_then(Birthday::from_stored),
            telegram_id: r.telegram_id,
            locale: r.locale,
        })
    }
}

const COLUMNS: &str =
    "id, name, position, phone, email, birthday, education, hobbies, family, notes, birthday_spec, telegram_id, locale";

pub async fn insert(
    conn: &mut AnyConnection,
    customer: CustomerId,
    c: &Contact,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO contacts (customer_id, name, position, phone, email, birthday, education, hobbies, family, notes,
             created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(customer.0)
    .bind(&c.name)
    .bind(c.position.as_deref())
    .bind(c.phone.as_deref())
    .bind(c.email.as_deref())
    .bind(c.birthday.map(date_text))
    .bind(c.education.as_deref())
    .bind(c.hobbies.as_deref())
    .bind(c.family.as_deref())
    .bind(c.notes.as_deref())
    .bind(epoch(now))
    .execute(conn)
    .await
    .context("inserting contact")?;
    Ok(())
}

pub async fn of_customer(conn: &mut AnyConnection, customer: CustomerId) -> anyhow::Result<Vec<Contact>> {
    let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM contacts WHERE customer_id = $1 ORDER BY id"
    )))
    .bind(customer.0)
    .fetch_all(conn)
    .await
    .context("loading contacts")?;
    rows.into_iter().map(Contact::try_from).collect()
}

pub async fn by_id(conn: &mut AnyConnection, id: i64) -> anyhow::Result<Option<(CustomerId, Contact)>> {
    #[derive(FromRow)]
    struct WithCustomer {
        #[sqlx(flatten)]
        contact: Row,
        customer_id: i64,
    }
    let row: Option<WithCustomer> =
        sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS}, customer_id FROM contacts WHERE id = $1")))
            .bind(id)
            .fetch_optional(conn)
            .await
            .context("loading a contact")?;
    row.map(|r| Ok((CustomerId(r.customer_id), Contact::try_from(r.contact)?))).transpose()
}

/// Change a contact's recurring birthday (and the full date when the year is known).
pub async fn set_birthday(
    conn: &mut AnyConnection,
    id: i64,
    spec: &Birthday,
    full: Option<NaiveDate>,
) -> anyhow::Result<()> {
    sqlx::query("UPDATE contacts SET birthday_spec = $1, birthday = $2 WHERE id = $3")
        .bind(spec.to_string())
        .bind(full.map(date_text))
        .bind(id)
        .execute(conn)
        .await
        .context("storing a birthday")?;
    Ok(())
}

/// Link a contact to the Telegram user who redeemed their code.
pub async fn link_telegram(conn: &mut AnyConnection, id: i64, telegram_id: i64, locale: &str) -> anyhow::Result<()> {
    // A Telegram account belongs to one contact: moving it frees the old link first.
    sqlx::query("UPDATE contacts SET telegram_id = NULL WHERE telegram_id = $1 AND id <> $2")
        .bind(telegram_id)
        .bind(id)
        .execute(&mut *conn)
        .await
        .context("unlinking a Telegram account")?;
    sqlx::query("UPDATE contacts SET telegram_id = $1, locale = $2 WHERE id = $3")
        .bind(telegram_id)
        .bind(locale)
        .bind(id)
        .execute(conn)
        .await
        .context("linking a contact to Telegram")?;
    Ok(())
}

/// A contact whose birthday or holiday greeting the planner considers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GreetingContact {
    pub contact_id: i64,
    pub name: String,
    pub customer: CustomerId,
    pub customer_name: String,
    pub archive_no: String,
    pub tier: String,
    pub owner: Option<StaffId>,
    pub birthday: Option<Birthday>,
    pub telegram_id: Option<i64>,
    pub locale: Option<String>,
}

/// Contacts of active customers that have a birthday or a Telegram link.
pub async fn for_greetings(conn: &mut AnyConnection) -> anyhow::Result<Vec<GreetingContact>> {
    #[derive(FromRow)]
    struct G {
        id: i64,
        name: String,
        customer_id: i64,
        customer_name: String,
        archive_no: String,
        tier: String,
        owner_id: Option<i64>,
        birthday_spec: Option<String>,
        telegram_id: Option<i64>,
        locale: Option<String>,
    }
    let rows: Vec<G> = sqlx::query_as(
        "SELECT k.id, k.name, c.id AS customer_id, c.name AS customer_name, c.archive_no, c.tier, c.owner_id,
                k.birthday_spec, k.telegram_id, k.locale
         FROM contacts k JOIN customers c ON c.id = k.customer_id
         WHERE c.active = 1 AND (k.birthday_spec IS NOT NULL OR k.telegram_id IS NOT NULL)
         ORDER BY k.id",
    )
    .fetch_all(conn)
    .await
    .context("loading contacts for greetings")?;
    Ok(rows
        .into_iter()
        .map(|r| GreetingContact {
            contact_id: r.id,
            name: r.name,
            customer: CustomerId(r.customer_id),
            customer_name: r.customer_name,
            archive_no: r.archive_no,
            tier: r.tier,
            owner: r.owner_id.map(StaffId),
            birthday: r.birthday_spec.as_deref().and_then(Birthday::from_stored),
            telegram_id: r.telegram_id,
            locale: r.locale,
        })
        .collect())
}

/// One-time codes that link a contact to Telegram.
pub async fn add_invite(
    conn: &mut AnyConnection,
    code: &str,
    contact_id: i64,
    by: StaffId,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    sqlx::query("INSERT INTO contact_invites (code, contact_id, created_by, created_at) VALUES ($1, $2, $3, $4)")
        .bind(code)
        .bind(contact_id)
        .bind(by.0)
        .bind(epoch(now))
        .execute(conn)
        .await
        .context("storing a contact code")?;
    Ok(())
}

/// The contact a code links, when it was issued, and whether it was used already.
pub async fn find_invite(conn: &mut AnyConnection, code: &str) -> anyhow::Result<Option<(i64, DateTime<Utc>, bool)>> {
    let row: Option<(i64, i64, Option<i64>)> =
        sqlx::query_as("SELECT contact_id, created_at, used_at FROM contact_invites WHERE code = $1")
            .bind(code)
            .fetch_optional(conn)
            .await
            .context("loading a contact code")?;
    Ok(row.map(|(contact, created, used)| (contact, super::from_epoch(created), used.is_some())))
}

pub async fn use_invite(conn: &mut AnyConnection, code: &str, now: DateTime<Utc>) -> anyhow::Result<bool> {
    let done = sqlx::query("UPDATE contact_invites SET used_at = $1 WHERE code = $2 AND used_at IS NULL")
        .bind(epoch(now))
        .bind(code)
        .execute(conn)
        .await
        .context("redeeming a contact code")?;
    Ok(done.rows_affected() == 1)
}

/// The contact linked to a Telegram user, if any.
pub async fn by_telegram(conn: &mut AnyConnection, telegram_id: i64) -> anyhow::Result<Option<Contact>> {
    let row: Option<Row> =
        sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM contacts WHERE telegram_id = $1")))
            .bind(telegram_id)
            .fetch_optional(conn)
            .await
            .context("loading a contact by Telegram id")?;
    row.map(Contact::try_from).transpose()
}
