//! Birthdays (a card on the eve, a greeting on the day) and holiday greetings with small gifts
//! for A-tier customers, as the relationship procedure (客户关系维护方案) asks.
//!
//! Greetings to contacts go out on their day only, at the greeting hour and never in quiet
//! hours: a birthday missed during downtime is greeted only if it is still that day, and the
//! rep is told either way.

use std::collections::HashMap;

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Utc};

use crate::domain::ids::StaffId;
use crate::domain::prc_calendar::Festival;
use crate::locale::Locale;
use crate::notify;
use crate::services::{self, Ctx};
use crate::storage::contacts::{self, GreetingContact};
use crate::storage::outbox::Priority;
use crate::storage::staff::Staff;
use crate::storage::{Tx, app_state, customers, outbox};
use crate::templates::{Key, keys};

const GREETINGS_THROUGH: &str = "greetings_through";
/// How far back a restart still tells reps about birthdays it missed.
const LOOKBACK_DAYS: i64 = 31;

fn festival_key(f: Festival) -> Key {
    match f {
        Festival::NewYear => keys::GREET_NEW_YEAR,
        Festival::SpringFestival => keys::GREET_SPRING_FESTIVAL,
        Festival::Qingming => keys::GREET_QINGMING,
        Festival::LabourDay => keys::GREET_LABOUR_DAY,
        Festival::DragonBoat => keys::GREET_DRAGON_BOAT,
        Festival::MidAutumn => keys::GREET_MID_AUTUMN,
        Festival::NationalDay => keys::GREET_NATIONAL_DAY,
    }
}

fn festival_name(ctx: &Ctx, l: Locale, f: Festival) -> String {
    let key = match f {
        Festival::NewYear => keys::FESTIVAL_NEW_YEAR,
        Festival::SpringFestival => keys::FESTIVAL_SPRING_FESTIVAL,
        Festival::Qingming => keys::FESTIVAL_QINGMING,
        Festival::LabourDay => keys::FESTIVAL_LABOUR_DAY,
        Festival::DragonBoat => keys::FESTIVAL_DRAGON_BOAT,
        Festival::MidAutumn => keys::FESTIVAL_MID_AUTUMN,
        Festival::NationalDay => keys::FESTIVAL_NATIONAL_DAY,
    };
    ctx.templates.render(l, key, &[])
}

fn contact_locale(ctx: &Ctx, c: &GreetingContact) -> Locale {
    c.locale.as_deref().and_then(|l| l.parse().ok()).unwrap_or(ctx.settings.locale)
}

/// The day's greetings, once per local day from the greeting hour (outside quiet hours).
pub(super) async fn on_the_day(
    ctx: &Ctx,
    tx: &mut Tx,
    now: DateTime<Utc>,
    local: NaiveDateTime,
) -> anyhow::Result<usize> {
    let g = &ctx.settings.greetings;
    if local.time() < g.at || ctx.settings.quiet_hours.contains(local.time()) {
        return Ok(0);
    }
    let today = local.date();
    let through = app_state::get(tx, GREETINGS_THROUGH).await?.and_then(|d| d.parse::<NaiveDate>().ok());
    // A fresh installation starts today: it does not report a history it never knew.
    let through = through.unwrap_or(today - chrono::Duration::days(1));
    if through >= today {
        return Ok(0);
    }
    let from = (through + chrono::Duration::days(1)).max(today - chrono::Duration::days(LOOKBACK_DAYS));
    let dir = services::directory::Directory::load(tx).await?;
    let people = contacts::for_greetings(tx).await?;
    let mut sent = 0;
    for c in &people {
        let Some(birthday) = c.birthday else { continue };
        let rep = dir.active(c.owner);
        for day in birthday.between(from, today) {
            if day == today {
                let greeted = match c.telegram_id {
                    Some(chat) => {
                        let l = contact_locale(ctx, c);
                        let text = ctx.templates.render(
                            l,
                            keys::GREET_BIRTHDAY,
                            &[("name", &c.name), ("company", &c.customer_name)],
                        );
                        let key = format!("birthday:greet:{}:{day}", c.contact_id);
                        notify::telegram(tx, &key, chat, &text, None, Priority::Bulk, now).await? > 0
                    }
                    None => false,
                };
                if let Some(rep) = rep {
                    let key = if greeted { keys::BIRTHDAY_TODAY_GREETED } else { keys::BIRTHDAY_TODAY_CALL };
                    sent += tell_rep(ctx, tx, rep, &format!("birthday:today:{}:{day}", c.contact_id), key, c, day, now)
                        .await?;
                }
                sent += usize::from(greeted);
            } else if let Some(rep) = rep {
                // Down on the day: no late greeting, but the rep hears of it.
                if !outbox::exists(tx, &format!("birthday:today:{}:{day}", c.contact_id)).await? {
                    sent += tell_rep(
                        ctx,
                        tx,
                        rep,
                        &format!("birthday:missed:{}:{day}", c.contact_id),
                        keys::BIRTHDAY_MISSED,
                        c,
                        day,
                        now,
                    )
                    .await?;
                }
            }
        }
    }
    for (festival, first_off) in services::calendar::first_days_off(tx, today.year()).await? {
        if first_off != today || !g.festivals.contains(&festival) {
            continue;
        }
        for c in people.iter().filter(|c| c.telegram_id.is_some()) {
            let l = contact_locale(ctx, c);
            let text =
                ctx.templates.render(l, festival_key(festival), &[("name", &c.name), ("company", &c.customer_name)]);
            let key = format!("holiday:greet:{}:{}:{}", festival.key(), today, c.contact_id);
            sent +=
                notify::telegram(tx, &key, c.telegram_id.unwrap_or_default(), &text, None, Priority::Bulk, now).await?;
        }
    }
    app_state::set(tx, GREETINGS_THROUGH, &today.to_string()).await?;
    Ok(sent)
}

#[allow(clippy::too_many_arguments)]
async fn tell_rep(
    ctx: &Ctx,
    tx: &mut Tx,
    rep: &Staff,
    key: &str,
    template: Key,
    c: &GreetingContact,
    day: NaiveDate,
    now: DateTime<Utc>,
) -> anyhow::Result<usize> {
    let l = ctx.locale_of(rep);
    let text = ctx.templates.render(
        l,
        template,
        &[("name", &c.name), ("company", &c.customer_name), ("archive_no", &c.archive_no), ("date", &day.to_string())],
    );
    ctx.remind(tx, key, rep.telegram_id.0, &text, now).await
}

/// In the daily round: birthdays coming up, and the A-tier gift lists before holidays.
pub(super) async fn ahead(
    ctx: &Ctx,
    tx: &mut Tx,
    now: DateTime<Utc>,
    today: NaiveDate,
    staff: &HashMap<StaffId, Staff>,
) -> anyhow::Result<usize> {
    let g = &ctx.settings.greetings;
    let people = contacts::for_greetings(tx).await?;
    let mut sent = 0;
    let soon = today + chrono::Duration::days(g.birthday_ahead_days.into());
    for c in &people {
        let (Some(birthday), Some(rep)) = (c.birthday, c.owner.and_then(|o| staff.get(&o)).filter(|s| s.active)) else {
            continue;
        };
        for day in birthday.between(today + chrono::Duration::days(1), soon) {
            sent += tell_rep(
                ctx,
                tx,
                rep,
                &format!("birthday:ahead:{}:{day}", c.contact_id),
                keys::BIRTHDAY_AHEAD,
                c,
                day,
                now,
            )
            .await?;
        }
    }
    let window_end = today + chrono::Duration::days(g.gift_days_ahead.into());
    let mut upcoming = Vec::new();
    for year in [today.year(), window_end.year()] {
        for (festival, first_off) in services::calendar::first_days_off(tx, year).await? {
            if first_off > today
                && first_off <= window_end
                && g.festivals.contains(&festival)
                && !upcoming.contains(&(festival, first_off))
            {
                upcoming.push((festival, first_off));
            }
        }
    }
    if upcoming.is_empty() {
        return Ok(sent);
    }
    let a_tier = customers::a_tier_by_owner(tx).await?;
    for (festival, first_off) in upcoming {
        for (rep_id, customers) in &a_tier {
            let Some(rep) = staff.get(rep_id).filter(|s| s.active) else { continue };
            let l = ctx.locale_of(rep);
            let list: Vec<String> = customers.iter().map(|c| format!("• {} {}", c.archive_no, c.name)).collect();
            let text = ctx.templates.render(
                l,
                keys::HOLIDAY_GIFTS,
                &[
                    ("festival", &festival_name(ctx, l, festival)),
                    ("date", &first_off.to_string()),
                    ("customers", &list.join("\n")),
                ],
            );
            let key = format!("holiday:gifts:{}:{first_off}:{}", festival.key(), rep_id.0);
            sent += ctx.remind(tx, &key, rep.telegram_id.0, &text, now).await?;
        }
    }
    Ok(sent)
}
