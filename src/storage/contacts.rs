//! Contacts of a customer (客户负责人及联系人): who we talk to there.

use anyhow::Context;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{AnyConnection, FromRow};

use super::{date_text, epoch, parse_opt_date};
use crate::domain::ids::CustomerId;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Contact {
    pub name: String,
    pub position: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub birthday: Option<NaiveDate>,
    pub education: Option<String>,
    pub hobbies: Option<String>,
    pub family: Option<String>,
    pub notes: Option<String>,
}

#[derive(FromRow)]
struct Row {
    name: String,
    position: Option<String>,
    phone: Option<String>,
    email: Option<String>,
    birthday: Option<String>,
    education: Option<String>,
    hobbies: Option<String>,
    family: Option<String>,
    notes: Option<String>,
}

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
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT name, position, phone, email, birthday, education, hobbies, family, notes
         FROM contacts WHERE customer_id = $1 ORDER BY id",
    )
    .bind(customer.0)
    .fetch_all(conn)
    .await
    .context("loading contacts")?;
    rows.into_iter()
        .map(|r| {
            Ok(Contact {
                name: r.name,
                position: r.position,
                phone: r.phone,
                email: r.email,
                birthday: parse_opt_date(r.birthday.as_deref())?,
                education: r.education,
                hobbies: r.hobbies,
                family: r.family,
                notes: r.notes,
            })
        })
        .collect()
}
