//! CSV import and export of the customer archive.
//!
//! Import is all or nothing: the first bad row stops it with its line number and nothing is
//! stored. Export writes the columns import reads (plus the archive number and due dates,
//! which import ignores), so an export can seed another instance.

use std::collections::HashMap;
use std::io::{Read, Write};

use anyhow::Context;
use chrono::NaiveDate;

use super::Ctx;
use crate::domain::cadence::{Action, Touches};
use crate::domain::customer::{CardFields, CustomerName, EmailAddress, Phone, Tier, optional_text};
use crate::domain::ids::TelegramUserId;
use crate::storage::customers;
use crate::storage::interactions::{self, NewInteraction, Source};
use crate::storage::staff as staff_store;

const REQUIRED: &[&str] = &["name", "tier", "region", "owner_telegram_id", "phone", "last_call_on", "last_visit_on"];
const OPTIONAL: &[&str] = &["address", "email", "website", "industry", "notes", "status"];
/// Columns export writes that import recomputes instead of reading.
const IGNORED: &[&str] = &["archive_no", "next_call_due", "next_visit_due"];

/// What went wrong with an import, naming the line (1 is the header).
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("line {line}: {message}")]
    Row { line: u64, message: String },
    #[error("header: {0}")]
    Header(String),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

fn row_error(line: u64, message: impl Into<String>) -> ImportError {
    ImportError::Row { line, message: message.into() }
}

/// Import customers; returns how many were created.
pub async fn import_csv(ctx: &Ctx, input: impl Read) -> Result<usize, ImportError> {
    let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).flexible(false).from_reader(input);
    let headers = reader.headers().map_err(|e| ImportError::Header(e.to_string()))?.clone();
    let index: HashMap<String, usize> = headers.iter().enumerate().map(|(i, h)| (h.to_ascii_lowercase(), i)).collect();
    if let Some(missing) = REQUIRED.iter().find(|c| !index.contains_key(**c)) {
        return Err(ImportError::Header(format!("missing column '{missing}' (required: {})", REQUIRED.join(","))));
    }
    if let Some(unknown) = index.keys().find(|c| {
        let c = c.as_str();
        !REQUIRED.contains(&c) && !OPTIONAL.contains(&c) && !IGNORED.contains(&c)
    }) {
        return Err(ImportError::Header(format!("unknown column '{unknown}'")));
    }

    let now = ctx.now();
    let today = ctx.local_date(now);
    let mut tx = ctx.db.begin().await?;
    let mut owners = HashMap::new();
    let mut created = 0;
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map(|p| p.line()).unwrap_or(0);
            row_error(line, format!("not valid CSV: {e}"))
        })?;
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        let get = |col: &str| index.get(col).and_then(|&i| record.get(i)).unwrap_or("");
        let name = CustomerName::parse(get("name")).map_err(|e| row_error(line, format!("name: {e}")))?;
        let tier: Tier =
            get("tier").parse().map_err(|_| row_error(line, format!("tier: '{}' is not A, B or C", get("tier"))))?;
        let owner_text = get("owner_telegram_id");
        let owner_tg: i64 = owner_text
            .parse()
            .map_err(|_| row_error(line, format!("owner_telegram_id: '{owner_text}' is not a number")))?;
        let owner = match owners.get(&owner_tg) {
            Some(id) => *id,
            None => {
                let staff = staff_store::by_telegram_id(&mut tx, TelegramUserId(owner_tg))
                    .await?
                    .filter(|s| s.active)
                    .ok_or_else(|| {
                        row_error(line, format!("owner_telegram_id: no active staff member has id {owner_tg}"))
                    })?;
                owners.insert(owner_tg, staff.id);
                staff.id
            }
        };
        let phone = match optional_text(get("phone")) {
            Some(p) => Some(Phone::parse(&p).map_err(|e| row_error(line, format!("phone: {e}")))?.as_str().to_owned()),
            None => None,
        };
        let email = match optional_text(get("email")) {
            Some(e) => {
                Some(EmailAddress::parse(&e).map_err(|e| row_error(line, format!("email: {e}")))?.as_str().to_owned())
            }
            None => None,
        };
        let date = |col: &str| -> Result<Option<NaiveDate>, ImportError> {
            let Some(text) = optional_text(get(col)) else { return Ok(None) };
            let d = NaiveDate::parse_from_str(&text, "%Y-%m-%d")
                .map_err(|_| row_error(line, format!("{col}: '{text}' is not a date YYYY-MM-DD")))?;
            if d > today {
                return Err(row_error(line, format!("{col}: {d} is in the future")));
            }
            Ok(Some(d))
        };
        let touches =
            Touches { created_on: today, last_call_on: date("last_call_on")?, last_visit_on: date("last_visit_on")? };
        let fields = CardFields {
            region: optional_text(get("region")),
            phone,
            email,
            address: optional_text(get("address")),
            website: optional_text(get("website")),
            industry: optional_text(get("industry")),
            notes: optional_text(get("notes")),
            ..CardFields::default()
        };
        let status = match optional_text(get("status")).as_deref() {
            None | Some("customer") => None,
            Some("prospect") => Some("prospect"),
            Some(other) => return Err(row_error(line, format!("status: '{other}' is neither customer nor prospect"))),
        };
        let customer =
            super::customers::insert_with_touches(ctx, &mut tx, name.as_str(), tier, Some(owner), fields, touches, now)
                .await?;
        if let Some(status) = status {
            customers::set_status(&mut tx, customer.customer.id, status, now).await?;
        }
        for (action, on) in [(Action::Call, touches.last_call_on), (Action::Visit, touches.last_visit_on)] {
            if let Some(on) = on {
                let occurred_at = on.and_hms_opt(12, 0, 0).map(|t| t.and_utc()).unwrap_or(now);
                let interaction = NewInteraction {
                    customer: customer.customer.id,
                    staff: Some(owner),
                    kind: action.as_str().to_owned(),
                    occurred_at,
                    occurred_on: on,
                    notes: String::new(),
                    source: Source::Import,
                };
                interactions::insert(&mut tx, &interaction, now).await?;
            }
        }
        created += 1;
    }
    tx.commit().await.context("committing import")?;
    Ok(created)
}

/// What an export wrote and what it left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exported {
    pub rows: usize,
    /// A-tier customers the person could read but that need the two-approval export.
    pub a_tier_left_out: usize,
}

/// Write, as CSV, every active customer `staff` may read — except A-tier customers, whose
/// export needs two approvals (客户数据管理制度). Every exported row is in the access log.
pub async fn export_csv(ctx: &Ctx, staff: &crate::storage::staff::Staff, out: impl Write) -> anyhow::Result<Exported> {
    export(ctx, staff, false, out).await
}

/// The export behind `export_csv`; with `approved` (two approvals given) A-tier customers and
/// the confidential columns the person may read are included too.
pub async fn export(
    ctx: &Ctx,
    staff: &crate::storage::staff::Staff,
    approved: bool,
    out: impl Write,
) -> anyhow::Result<Exported> {
    let mut conn = ctx.db.pool().acquire().await.context("connecting")?;
    let mut records = Vec::new();
    let mut a_tier_left_out = 0;
    for record in customers::all(&mut conn).await? {
        let seen = super::access::visibility(ctx, &mut conn, staff, &record).await?;
        if !seen.any() {
            continue;
        }
        if record.customer.tier == Tier::A && !approved {
            a_tier_left_out += 1;
            continue;
        }
        records.push((record, seen));
    }
    drop(conn);
    let (command, levels) =
        if approved { ("export (approved)", "public,internal,confidential") } else { ("export", "public,internal") };
    let ids: Vec<_> = records.iter().map(|(r, _)| r.customer.id).collect();
    super::access::log_list(ctx, staff, &ids, levels, command).await?;
    let mut conn = ctx.db.pool().acquire().await.context("connecting")?;
    let staff: HashMap<_, _> =
        staff_store::list(&mut conn).await?.into_iter().map(|s| (s.id, s.telegram_id.0)).collect();
    let mut writer = csv::Writer::from_writer(out);
    let mut header = vec![
        "archive_no",
        "name",
        "tier",
        "region",
        "owner_telegram_id",
        "phone",
        "address",
        "email",
        "website",
        "industry",
        "notes",
        "last_call_on",
        "last_visit_on",
        "next_call_due",
        "next_visit_due",
    ];
    if approved {
        header.extend(["registered_capital", "main_shareholders", "bank", "bank_account", "credit_rating"]);
    }
    writer.write_record(&header)?;
    let text = |d: Option<NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
    for (r, seen) in &records {
        let c = &r.customer;
        let f = &c.fields;
        let owner = c.owner.and_then(|o| staff.get(&o)).map(|t| t.to_string()).unwrap_or_default();
        let mut row = vec![
            c.archive_no.to_string(),
            c.name.clone(),
            c.tier.to_string(),
            f.region.clone().unwrap_or_default(),
            owner,
            f.phone.clone().unwrap_or_default(),
            f.address.clone().unwrap_or_default(),
            f.email.clone().unwrap_or_default(),
            f.website.clone().unwrap_or_default(),
            f.industry.clone().unwrap_or_default(),
            f.notes.clone().unwrap_or_default(),
            text(r.touches.last_call_on),
            text(r.touches.last_visit_on),
            r.next_call_due.to_string(),
            r.next_visit_due.to_string(),
        ];
        if approved {
            // Even approved, a column is filled only where the person may read it.
            let secret = |field: &str, value: &Option<String>| {
                if seen.shows(field) { value.clone().unwrap_or_default() } else { String::new() }
            };
            row.extend([
                secret("capital", &f.registered_capital),
                secret("shareholders", &f.main_shareholders),
                secret("bank", &f.bank),
                secret("account", &f.bank_account),
                secret("credit", &f.credit_rating),
            ]);
        }
        writer.write_record(&row)?;
    }
    writer.flush().context("writing CSV")?;
    Ok(Exported { rows: records.len(), a_tier_left_out })
}
