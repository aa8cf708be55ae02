//! Keeping the archive current: new information and tier changes through the 1-day/2-day
//! ladder, credit re-checks, the weekly update digest and quiet hours.

use guanxi::domain::customer::Tier;
use guanxi::domain::staff::Role;
use guanxi::storage::departments::{self, Department};

use crate::helpers::app::{MANAGER_EMAIL, team};
use crate::helpers::{TestApp, TgUser, spawn_app_at};

const SERVICE_MANAGER_EMAIL: &str = "service.manager@corp.example";
const KEEPER_EMAIL: &str = "keeper@corp.example";

/// The usual team plus an archive keeper (customer service) and the service manager.
async fn keepers(app: &TestApp) -> TgUser {
    let manager = app.add_staff(8510, "客服经理", Role::Manager, None, Some(SERVICE_MANAGER_EMAIL)).await;
    app.add_staff(8501, "档案员", Role::Service, Some(8510), Some(KEEPER_EMAIL)).await;
    let mut conn = app.ctx.db.pool().acquire().await.unwrap();
    let mut d: Department = departments::get(&mut conn, "service").await.unwrap().unwrap();
    d.head = Some(manager.id);
    departments::upsert(&mut conn, &d).await.unwrap();
    TgUser::new(8501, "档案员")
}

fn texts(app: &TestApp, chat: i64, needle: &str) -> Vec<String> {
    app.telegram.sent_to(chat).into_iter().map(|m| m.text).filter(|t| t.contains(needle)).collect()
}

#[tokio::test]
async fn new_information_is_entered_within_a_day_or_escalated_after_two() {
    let app = spawn_app_at("2026-11-23 10:00").await;
    let t = team(&app).await;
    let keeper = keepers(&app).await;
    let customer = app.add_customer("华东精密", Tier::B, &t.rep).await;
    let no = customer.customer.archive_no.to_string();

    let reply = app.say(&t.rep_user, &format!("/info {no} 新采购经理李明，电话 13912345678")).await;
    assert!(reply.text.contains("任务 #1") && reply.text.contains("2026-11-24 10:00"), "{}", reply.text);
    app.deliver().await;
    assert_eq!(texts(&app, keeper.id, "新信息待建档 #1").len(), 1);

    // Nothing before a day has passed; then one reminder; after two days one e-mail.
    app.tick_at("2026-11-24 09:59").await;
    assert!(texts(&app, keeper.id, "尚未完成").is_empty());
    app.tick_at("2026-11-24 10:00").await;
    app.tick_at("2026-11-24 16:00").await;
    assert_eq!(texts(&app, keeper.id, "尚未完成").len(), 1, "one reminder");
    app.tick_at("2026-11-25 10:00").await;
    app.tick_at("2026-11-25 11:00").await;
    let mails = app.smtp.messages_to(SERVICE_MANAGER_EMAIL);
    assert_eq!(mails.len(), 1);
    assert!(mails[0].subject.contains("档案任务超期") && mails[0].body.contains("李明"));

    // The keeper enters it: fields by name, validated; the rep hears it is done.
    let bad = app.say(&keeper, "/done 1 电话=打电话").await;
    assert!(bad.text.contains("“phone”的值不正确"), "{}", bad.text);
    let done = app.say(&keeper, "/done 1 电话=139 1234 5678；备注=新采购经理李明").await;
    assert!(done.text.contains("任务 #1 已完成") && done.text.contains("phone=139 1234 5678"), "{}", done.text);
    app.deliver().await;
    assert_eq!(texts(&app, t.rep.telegram_id.0, "已由档案员完成").len(), 1);
    assert!(app.say(&keeper, "/done 1").await.text.contains("已经完成"));
    let card = app.say(&t.rep_user, &format!("/customer {no}")).await;
    assert!(card.text.contains("电话：139 1234 5678") && card.text.contains("新采购经理李明"), "{}", card.text);
    // A rep cannot close archive tasks.
    app.say(&t.rep_user, &format!("/info {no} 搬迁到新厂址")).await;
    assert!(app.say(&t.rep_user, "/done 2 地址=新厂址").await.text.contains("不由您处理"));

    // Monday: the week's changes by e-mail to the service team, grouped by rep, fields marked.
    app.tick_at("2026-11-30 09:00").await;
    let weekly = app.smtp.messages_to(KEEPER_EMAIL);
    assert_eq!(weekly.len(), 1);
    let body = &weekly[0].body;
    assert!(weekly[0].subject.contains("客户档案周报"), "{}", weekly[0].subject);
    assert!(
        body.contains("孙销售")
            && body.contains("【电话】")
            && body.contains("139 1234 5678")
            && body.contains("【备注】"),
        "{body}"
    );
    assert_eq!(app.smtp.messages_to(SERVICE_MANAGER_EMAIL).iter().filter(|m| m.subject.contains("周报")).count(), 1);
}

#[tokio::test]
async fn a_tier_change_applies_its_cadence_at_once() {
    let app = spawn_app_at("2026-11-23 10:00").await;
    let t = team(&app).await;
    let keeper = keepers(&app).await;
    app.add_customer("西部建材", Tier::C, &t.rep).await;
    let call = app.say(&t.rep_user, "/call 西部建材 介绍新品").await;
    assert!(call.text.contains("下次电话：2026-12-07"), "C tier: a fortnight; {}", call.text);

    assert!(app.say(&t.rep_user, "/tier 西部建材 C").await.text.contains("已经是 C 类"));
    let asked = app.say(&t.rep_user, "/tier 西部建材 A 年采购额已超 500 万").await;
    assert!(asked.text.contains("任务 #1") && asked.text.contains("A 类"), "{}", asked.text);
    let done = app.say(&keeper, "/done 1").await;
    assert!(done.text.contains("tier=A"), "{}", done.text);
    let card = app.say(&t.rep_user, "/customer 西部建材").await;
    assert!(card.text.contains("类别：A类") && card.text.contains("下次电话：2026-11-30"), "{}", card.text);
}

#[tokio::test]
async fn an_expired_credit_rating_becomes_a_task_and_is_escalated_when_late() {
    let app = spawn_app_at("2026-08-31 10:00").await;
    let t = team(&app).await;
    let keeper = keepers(&app).await;
    app.add_customer("信用公司", Tier::A, &t.rep).await;
    // A-tier credit data is for managers and above: the rep may not record it.
    let refused = app.say(&t.rep_user, "/credit 信用公司 AA").await;
    assert!(refused.text.contains("无权"), "{}", refused.text);
    let manager = TgUser::new(9002, "钱");
    let reply = app.say(&manager, "/credit 信用公司 AA").await;
    assert!(reply.text.contains("有效期至 2026-11-30"), "A tier: 3 months; {}", reply.text);

    app.tick_at("2026-11-27 09:00").await;
    assert!(texts(&app, t.rep.telegram_id.0, "信用评级已到期").is_empty());
    app.tick_at("2026-11-30 09:00").await;
    assert_eq!(texts(&app, t.rep.telegram_id.0, "信用评级已到期").len(), 1);
    assert_eq!(texts(&app, keeper.id, "信用评级已到期").len(), 1);
    app.tick_at("2026-12-01 09:00").await;
    assert_eq!(texts(&app, t.rep.telegram_id.0, "信用评级已到期").len(), 1, "one task per expiry");
    // Not re-investigated within 14 days: the rep's manager hears of it, once.
    app.tick_at("2026-12-14 09:00").await;
    app.tick_at("2026-12-15 09:00").await;
    let mails: Vec<_> =
        app.smtp.messages_to(MANAGER_EMAIL).into_iter().filter(|m| m.subject.contains("档案任务超期")).collect();
    assert_eq!(mails.len(), 1);
    // A new rating closes the task.
    app.say(&manager, "/credit 信用公司 A").await;
    let open = app.say(&keeper, "/tasks").await;
    assert!(open.text.contains("没有待办任务"), "{}", open.text);
}

#[tokio::test]
async fn quiet_hours_hold_reminders_until_morning_but_not_answers() {
    let app = spawn_app_at("2026-11-23 22:30").await;
    let t = team(&app).await;
    let keeper = keepers(&app).await;
    app.add_customer("夜间公司", Tier::B, &t.rep).await;
    // The rep gets the answer at once; the keeper's task waits for 08:00.
    let reply = app.say(&t.rep_user, "/info 夜间公司 客户更换了开户行").await;
    assert!(reply.text.contains("任务 #1"));
    app.set_time("2026-11-24 07:59");
    app.deliver().await;
    assert!(texts(&app, keeper.id, "新信息待建档").is_empty());
    app.set_time("2026-11-24 08:00");
    app.deliver().await;
    assert_eq!(texts(&app, keeper.id, "新信息待建档").len(), 1);
}

#[tokio::test]
async fn archive_updates_can_be_counted_in_working_days() {
    let mut app = spawn_app_at("2026-11-27 10:00").await;
    app.restart_with(|s| s.tasks.update_working_days = true).await;
    let t = team(&app).await;
    keepers(&app).await;
    app.add_customer("周五公司", Tier::B, &t.rep).await;
    // Friday + 1 working day is Monday.
    let reply = app.say(&t.rep_user, "/info 周五公司 新地址").await;
    assert!(reply.text.contains("2026-11-30 10:00"), "{}", reply.text);
}
