//! Tiered cadences, daily digests and e-mail escalation across simulated weeks and months.

use chrono::{Datelike, Duration, NaiveDate, Weekday};
use guanxi::domain::customer::Tier;
use guanxi::domain::staff::Role;
use guanxi::jobs::planner;

use crate::helpers::app::{DIRECTOR_EMAIL, MANAGER_EMAIL, team};
use crate::helpers::fake_telegram::SentMessage;
use crate::helpers::{TestApp, spawn_app, spawn_app_at};

fn digests(app: &TestApp, chat: i64) -> Vec<SentMessage> {
    app.telegram.sent_to(chat).into_iter().filter(|m| m.text.contains("客户联络提醒")).collect()
}

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

/// The State Council's 2026 schedule, written out here rather than taken from the code
/// under test: the Spring Festival break (15–23 Feb) and its make-up Saturdays (14 and 28 Feb)
/// fall inside the simulated quarter.
fn is_working_day_2026(d: NaiveDate) -> bool {
    let off = ["2026-02-16", "2026-02-17", "2026-02-18", "2026-02-19", "2026-02-20", "2026-02-23"];
    let make_up = ["2026-02-14", "2026-02-28"];
    if make_up.contains(&d.to_string().as_str()) {
        return true;
    }
    !off.contains(&d.to_string().as_str()) && !matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
}

/// Tick at 09:00 and 15:00 each day from `from` to `to` inclusive, running `act` at 10:00.
async fn run_days<F>(app: &TestApp, from: NaiveDate, to: NaiveDate, mut act: F)
where
    F: AsyncFnMut(&TestApp, NaiveDate),
{
    let mut d = from;
    while d <= to {
        app.tick_at(&format!("{d} 09:00")).await;
        app.set_time(&format!("{d} 10:00"));
        act(app, d).await;
        app.tick_at(&format!("{d} 15:00")).await;
        d += Duration::days(1);
    }
}

#[tokio::test]
async fn an_a_tier_customer_across_three_months_gets_exactly_the_expected_digests_and_escalations() {
    // Arrange: Monday 2026-01-05; an A-tier customer created before the first round.
    let app = spawn_app().await;
    let t = team(&app).await;
    let customer = app.add_customer("华东精密机械有限公司", Tier::A, &t.rep).await;
    let reference = customer.customer.archive_no.to_string();

    // Act: the rep visits on day one, calls every Monday in January (and 2 February), then
    // stops calling; visits again on 9 March (4 days after the visit fell due) and calls on
    // the three Mondays after that.
    let visits = [day("2026-01-05"), day("2026-03-09")];
    let calls = [
        day("2026-01-12"),
        day("2026-01-19"),
        day("2026-01-26"),
        day("2026-02-02"),
        day("2026-03-16"),
        day("2026-03-23"),
        day("2026-03-30"),
    ];
    run_days(&app, day("2026-01-05"), day("2026-04-03"), async |app: &TestApp, d: NaiveDate| {
        if visits.contains(&d) {
            let reply = app.say(&t.rep_user, &format!("/visit {reference} 拜访采购总监")).await;
            assert!(reply.text.contains("已记录"), "{}", reply.text);
        }
        if calls.contains(&d) {
            let reply = app.say(&t.rep_user, &format!("/call {reference} 例行电话")).await;
            assert!(reply.text.contains("已记录"), "{}", reply.text);
        }
        // The yearly data check (15 January) arrives with the round; the rep does it.
        if d == day("2026-01-15") {
            assert!(app.telegram.sent_to(9001).iter().any(|m| m.text.contains("年度客户资料全面核查")));
            let reply = app.say(&t.rep_user, "/done 1").await;
            assert!(reply.text.contains("任务 #1 已完成"), "{}", reply.text);
        }
    })
    .await;

    // Assert: the data check was handed out once, though every round of its month-long
    // window looked for it.
    let data_checks = app.telegram.sent_to(9001).iter().filter(|m| m.text.contains("年度客户资料全面核查")).count();
    assert_eq!(data_checks, 1);

    // One digest per working day of the PRC calendar (the weekly call is always within
    // the 7-day horizon): none at weekends or in the Spring Festival break, one on each make-up
    // Saturday, none twice.
    let digests = digests(&app, t.rep.telegram_id.0);
    let mut working_days = Vec::new();
    let mut d = day("2026-01-05");
    while d <= day("2026-04-03") {
        if is_working_day_2026(d) {
            working_days.push(d.to_string());
        }
        d += Duration::days(1);
    }
    assert_eq!(working_days.len(), 61);
    let digest_days: Vec<String> =
        digests.iter().map(|m| m.text.split_whitespace().nth(1).unwrap().to_owned()).collect();
    assert_eq!(digest_days, working_days);

    // The first digest lists both touches as due today; on 12 February the unmade call is
    // three days overdue.
    assert!(digests[0].text.contains("今天应办（2）"), "{}", digests[0].text);
    let feb12 = digests.iter().find(|m| m.text.contains("2026-02-12")).unwrap();
    assert!(feb12.text.contains("应于 2026-02-09，已逾期 3 天"), "{}", feb12.text);

    // Exactly two escalation e-mails: the call due 9 February reaches the manager after two
    // days' grace (12 Feb) and the director after seven — at the first round after that, on
    // 24 Feb, the Spring Festival break having no round. The late visit (4 days) stays within
    // its 7-day grace.
    let mails = app.smtp.messages();
    assert_eq!(mails.len(), 2, "{mails:#?}");
    let to_manager = app.smtp.messages_to(MANAGER_EMAIL);
    let to_director = app.smtp.messages_to(DIRECTOR_EMAIL);
    assert_eq!((to_manager.len(), to_director.len()), (1, 1));
    assert!(to_manager[0].subject.contains("2026-02-12"), "{}", to_manager[0].subject);
    assert!(to_manager[0].body.contains(&reference) && to_manager[0].body.contains("已逾期 3 天"));
    assert!(to_manager[0].body.contains("孙销售") && to_manager[0].body.contains("一级升级"));
    assert!(to_director[0].subject.contains("2026-02-24"), "{}", to_director[0].subject);
    assert!(to_director[0].body.contains("已逾期 15 天") && to_director[0].body.contains("二级升级"));
}

#[tokio::test]
async fn a_call_resets_the_call_cadence_and_a_visit_resets_both() {
    let app = spawn_app().await;
    let t = team(&app).await;
    app.add_customer("扬子贸易", Tier::B, &t.rep).await;

    // Tuesday: a call moves only the call (B tier: weekly); the visit stays due today.
    app.set_time("2026-01-06 10:00");
    let reply = app.say(&t.rep_user, "/call 扬子贸易 询问库存").await;
    assert!(reply.text.contains("下次电话：2026-01-13；下次拜访：2026-01-05"), "{}", reply.text);

    // Thursday: a visit moves both — the call a week from the visit, the visit 3 months on.
    app.set_time("2026-01-08 16:00");
    let reply = app.say(&t.rep_user, "/visit 扬子贸易 参观工厂").await;
    assert!(reply.text.contains("下次电话：2026-01-15；下次拜访：2026-04-08"), "{}", reply.text);

    // The card shows both interactions, newest first, and the new due dates.
    let card = app.say(&t.rep_user, "/customer 扬子贸易").await;
    assert!(card.text.contains("下次电话：2026-01-15") && card.text.contains("下次拜访：2026-04-08"), "{}", card.text);
    let visit_at = card.text.find("参观工厂").unwrap();
    let call_at = card.text.find("询问库存").unwrap();
    assert!(visit_at < call_at, "{}", card.text);

    // And the planner agrees: on Friday nothing is due, so only upcoming items show.
    app.tick_at("2026-01-09 09:00").await;
    let digest = digests(&app, 9001).pop().expect("a digest with the upcoming call");
    assert!(!digest.text.contains("已逾期") && !digest.text.contains("今天应办"), "{}", digest.text);
    assert!(digest.text.contains("2026-01-15"), "{}", digest.text);
}

#[tokio::test]
async fn c_tier_calls_fortnightly_and_month_ends_clamp() {
    let app = spawn_app_at("2026-10-30 08:00").await;
    let t = team(&app).await;
    app.add_customer("西部建材", Tier::C, &t.rep).await;
    app.set_time("2026-10-31 11:00");
    // A Saturday visit on 31 October: the next visit 4 months on clamps to 28 February,
    // the next call comes two weeks on.
    let reply = app.say(&t.rep_user, "/visit 西部建材 年终拜访").await;
    assert!(reply.text.contains("下次电话：2026-11-14；下次拜访：2027-02-28"), "{}", reply.text);
}

#[tokio::test]
async fn a_restart_between_ticks_sends_nothing_twice_and_loses_nothing() {
    let mut app = spawn_app().await;
    let t = team(&app).await;
    app.add_customer("甲公司", Tier::A, &t.rep).await;
    app.tick_at("2026-01-05 09:00").await;
    assert_eq!(digests(&app, 9001).len(), 1);

    // Thursday 09:00: the planner queues the digest and the manager's escalation, then the
    // process dies before the worker delivers anything.
    app.set_time("2026-01-08 09:00");
    app.stop().await;
    let ctx = app.other_process().await;
    let report = planner::plan(&ctx, app.now()).await.unwrap();
    assert_eq!((report.digests, report.escalation_emails), (1, 1));
    ctx.db.close().await;
    assert_eq!(digests(&app, 9001).len(), 1, "nothing delivered before the crash");

    // A new process: later ticks the same day deliver each owed message exactly once.
    app.restart().await;
    app.tick_at("2026-01-08 09:01").await;
    app.tick_at("2026-01-08 12:00").await;
    app.restart().await;
    app.tick_at("2026-01-08 17:00").await;
    assert_eq!(digests(&app, 9001).len(), 2);
    assert_eq!(app.smtp.messages_to(MANAGER_EMAIL).len(), 1);
    assert!(app.outbox().await.iter().all(|r| r.status == "sent"));
}

#[tokio::test]
async fn a_message_claimed_by_a_worker_that_died_is_sent_once_after_its_lease() {
    let mut app = spawn_app().await;
    let t = team(&app).await;
    app.add_customer("乙公司", Tier::B, &t.rep).await;
    app.set_time("2026-01-05 09:00");
    app.stop().await;
    let ctx = app.other_process().await;
    planner::plan(&ctx, app.now()).await.unwrap();
    // A worker claims the digest and dies before sending it.
    let mut conn = ctx.db.pool().acquire().await.unwrap();
    let claimed = guanxi::storage::outbox::claim(&mut conn, ctx.db.backend(), app.now(), guanxi::jobs::worker::LEASE)
        .await
        .unwrap()
        .expect("the digest is claimable");
    assert!(claimed.key.starts_with("digest:"));
    drop(conn);
    ctx.db.close().await;

    app.restart().await;
    app.tick_at("2026-01-05 09:01").await;
    assert_eq!(digests(&app, 9001).len(), 0, "still leased to the dead worker");
    app.tick_at("2026-01-05 09:03").await;
    assert_eq!(digests(&app, 9001).len(), 1, "re-sent once the lease ran out");
    app.tick_at("2026-01-05 09:30").await;
    assert_eq!(digests(&app, 9001).len(), 1);
}

#[tokio::test]
async fn catch_up_after_five_days_down_sends_each_owed_item_once() {
    let mut app = spawn_app().await;
    let t = team(&app).await;
    let a = app.add_customer("丙公司", Tier::A, &t.rep).await;
    let c = app.add_customer("丁公司", Tier::C, &t.rep).await;
    app.tick_at("2026-01-05 09:00").await;
    assert_eq!(digests(&app, 9001).len(), 1);

    // Down from Tuesday to Saturday; back on Sunday (no round at weekends).
    app.stop().await;
    app.set_time("2026-01-11 20:00");
    app.restart().await;
    app.tick().await;
    assert_eq!(digests(&app, 9001).len(), 1);
    assert!(app.smtp.messages().is_empty());

    // Monday 09:00: one digest for today (not one per missed day) and the escalations that
    // came due while down — 7 days overdue: both calls reach the manager, nobody the director.
    let report = app.tick_at("2026-01-12 09:00").await;
    assert_eq!(report.digests, 1);
    assert_eq!(report.escalated_items, 2);
    app.tick_at("2026-01-12 09:05").await;
    app.tick_at("2026-01-12 18:00").await;
    let digests = digests(&app, 9001);
    assert_eq!(digests.len(), 2);
    assert!(digests[1].text.contains("2026-01-12") && digests[1].text.contains("已逾期 7 天"));
    let mails = app.smtp.messages();
    assert_eq!(mails.len(), 1, "one e-mail listing both items: {mails:#?}");
    assert_eq!(mails[0].to, vec![MANAGER_EMAIL.to_owned()]);
    for record in [&a, &c] {
        assert!(mails[0].body.contains(record.customer.archive_no.as_str()), "{}", mails[0].body);
    }
    // Tuesday: the calls are 8 days overdue — the director now, once.
    app.tick_at("2026-01-13 09:00").await;
    app.tick_at("2026-01-13 10:00").await;
    assert_eq!(app.smtp.messages_to(DIRECTOR_EMAIL).len(), 1);
    assert_eq!(app.smtp.messages_to(MANAGER_EMAIL).len(), 2, "both visits (8 days) reach the manager");
}

#[tokio::test]
async fn a_changed_cadence_policy_recomputes_stored_due_dates_at_start() {
    let mut app = spawn_app().await;
    let t = team(&app).await;
    app.add_customer("戊公司", Tier::C, &t.rep).await;
    app.set_time("2026-01-06 10:00");
    let reply = app.say(&t.rep_user, "/call 戊公司 首次联系").await;
    assert!(reply.text.contains("下次电话：2026-01-20"), "{}", reply.text);

    // The company decides C-tier customers get a call every 10 days.
    app.restart_with(|s| s.cadence.c.call = guanxi::domain::cadence::Interval::Days(10)).await;
    let card = app.say(&t.rep_user, "/customer 戊公司").await;
    assert!(card.text.contains("下次电话：2026-01-16"), "{}", card.text);
}

#[tokio::test]
async fn a_rep_without_a_manager_is_escalated_to_the_administrators() {
    let app = spawn_app().await;
    app.add_staff(9100, "系统管理员", Role::Admin, None, Some("admin@corp.example")).await;
    let lone = app.add_staff(9101, "独立销售", Role::Rep, None, None).await;
    let customer = app.add_customer("己公司", Tier::A, &lone).await;
    app.tick_at("2026-01-08 09:00").await;
    let mails = app.smtp.messages_to("admin@corp.example");
    assert_eq!(mails.len(), 1);
    assert!(mails[0].body.contains(customer.customer.archive_no.as_str()) && mails[0].body.contains("管理员"));
}

#[tokio::test]
async fn a_reps_digest_follows_the_language_of_their_telegram_client() {
    // Arrange: a rep whose client is set to English, then back to Chinese.
    let app = spawn_app().await;
    let t = team(&app).await;
    app.add_customer("甲公司", Tier::A, &t.rep).await;
    let english = crate::helpers::TgUser::new(t.rep_user.id, "Sun").with_language("en");
    let chinese = crate::helpers::TgUser::new(t.rep_user.id, "孙").with_language("zh-hans");

    // Act + assert: the pushed digest is in the language the rep last wrote in.
    app.say(&english, "/help").await;
    app.say(&english, "/due").await; // the same language again: nothing to store
    app.tick_at("2026-01-05 09:00").await;
    let first = app.telegram.sent_to(t.rep_user.id).into_iter().last().expect("a digest");
    assert!(first.text.contains("Customer reminders for 2026-01-05"), "{}", first.text);

    app.say(&chinese, "/help").await;
    app.tick_at("2026-01-06 09:00").await;
    assert_eq!(digests(&app, t.rep_user.id).len(), 1, "the second day's digest is in Chinese");
}
