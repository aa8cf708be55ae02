//! The PRC working calendar, birthdays (solar, lunar, 29 February, downtime) and holiday
//! greetings, over simulated months.

use guanxi::domain::customer::Tier;
use guanxi::domain::staff::Role;
use tokio::process::Command;

use crate::helpers::app::team;
use crate::helpers::{TestApp, TgUser, spawn_app_at};

fn texts(app: &TestApp, chat: i64, needle: &str) -> Vec<String> {
    app.telegram.sent_to(chat).into_iter().map(|m| m.text).filter(|t| t.contains(needle)).collect()
}

async fn guanxi(database_url: &str, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_guanxi"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", database_url)
        .env("GUANXI_LOG", "warn")
        .output()
        .await
        .expect("the binary runs")
}

/// Link a contact to Telegram the way a rep does it: a code, then the contact's `/start`.
async fn link_contact(app: &TestApp, rep: &TgUser, customer: &str, contact: &str, who: &TgUser) {
    let reply = app.say(rep, &format!("/contactcode {customer} {contact}")).await;
    let code = reply.text.split("关联码：").nth(1).unwrap().split('（').next().unwrap().trim().to_owned();
    let linked = app.say(who, &format!("/start {code}")).await;
    assert!(linked.text.contains("关联成功"), "{}", linked.text);
}

#[tokio::test]
async fn the_2026_schedule_is_official_later_years_are_estimated_until_an_admin_imports_them() {
    let app = spawn_app_at("2026-12-01 09:00").await;
    app.add_staff(9900, "管理员", Role::Admin, None, None).await;
    let url = app.db.url.clone();

    let listed = String::from_utf8(guanxi(&url, &["holidays", "list", "--year", "2026"]).await.stdout).unwrap();
    for line in [
        "2026-01-04\tworkday\t元旦\tnew_year\tno",
        "2026-02-14\tworkday\t春节\tspring_festival\tno",
        "2026-02-15\toff\t春节\tspring_festival\tno",
        "2026-02-28\tworkday\t春节\tspring_festival\tno",
        "2026-05-09\tworkday\t劳动节\tlabour_day\tno",
        "2026-09-20\tworkday\t国庆节\tnational_day\tno",
        "2026-09-25\toff\t中秋节\tmid_autumn\tno",
        "2026-10-07\toff\t国庆节\tnational_day\tno",
        "2026-10-10\tworkday\t国庆节\tnational_day\tno",
    ] {
        assert!(listed.contains(line), "{line} missing from\n{listed}");
    }
    let estimated = String::from_utf8(guanxi(&url, &["holidays", "list", "--year", "2027"]).await.stdout).unwrap();
    assert!(estimated.contains("2027-02-06\toff\t春节\tspring_festival\tyes"), "{estimated}");
    assert!(estimated.contains("2027-09-15\toff\t中秋节\tmid_autumn\tyes"), "{estimated}");

    // From 1 December the administrators are reminded weekly until the schedule is loaded.
    app.tick().await;
    app.tick_at("2026-12-04 09:00").await;
    assert_eq!(texts(&app, 9900, "尚未导入 2027 年").len(), 1);
    app.tick_at("2026-12-07 09:00").await;
    assert_eq!(texts(&app, 9900, "尚未导入 2027 年").len(), 2);

    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "date,name,kind\n2027-01-01,元旦,off\n2027-13-01,春节,off\n").unwrap();
    let out = guanxi(&url, &["holidays", "import", bad.to_str().unwrap()]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("line 3"));
    let good = dir.path().join("2027.csv");
    std::fs::write(
        &good,
        "date,name,kind\n2027-01-01,元旦,off\n2027-02-06,春节,off\n2027-02-07,春节,off\n2027-02-08,春节,off\n2027-02-20,春节,workday\n",
    )
    .unwrap();
    let out = guanxi(&url, &["holidays", "import", good.to_str().unwrap()]).await;
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let official = String::from_utf8(guanxi(&url, &["holidays", "list", "--year", "2027"]).await.stdout).unwrap();
    assert!(official.contains("2027-02-20\tworkday\t春节\tspring_festival\tno"), "{official}");
    assert!(!official.contains("\tyes"), "{official}");
    app.tick_at("2026-12-14 09:00").await;
    assert_eq!(texts(&app, 9900, "尚未导入 2027 年").len(), 2, "no reminder once loaded");
}

#[tokio::test]
async fn a_lunar_birthday_and_the_mid_autumn_and_national_day_greetings() {
    // Sunday 20 September 2026 is a make-up working day (for National Day).
    let app = spawn_app_at("2026-09-20 08:00").await;
    let t = team(&app).await;
    app.add_customer("华东精密", Tier::A, &t.rep).await;
    app.add_customer("华东贸易", Tier::B, &t.rep).await;
    // Key people's personal details of A-tier customers are for managers and above.
    assert!(app.say(&t.rep_user, "/birthday 华东精密 张董 1960-01-01").await.text.contains("无权"));
    let saved = app.say(&t.rep_user, "/birthday 华东贸易 王总 农历8-15").await;
    assert!(saved.text.contains("农历08-15") && saved.text.contains("2026-09-25"), "{}", saved.text);
    let wang = TgUser::new(7777, "王总");
    link_contact(&app, &t.rep_user, "华东贸易", "王总", &wang).await;

    // The round runs on the make-up Sunday: the A-tier gift list for Mid-Autumn (25 Sep).
    app.tick_at("2026-09-20 09:00").await;
    let gifts = texts(&app, 9001, "准备节日礼品");
    assert_eq!(gifts.len(), 1);
    assert!(
        gifts[0].contains("中秋节") && gifts[0].contains("华东精密") && !gifts[0].contains("华东贸易"),
        "{}",
        gifts[0]
    );
    // Three days before the birthday, the card reminder — once.
    app.tick_at("2026-09-21 09:00").await;
    assert!(texts(&app, 9001, "准备贺卡").is_empty());
    app.tick_at("2026-09-22 09:00").await;
    app.tick_at("2026-09-23 09:00").await;
    assert_eq!(texts(&app, 9001, "准备贺卡").len(), 1);
    // 24 Sep: National Day (1 Oct) is within 7 days.
    app.tick_at("2026-09-24 09:00").await;
    assert!(texts(&app, 9001, "准备节日礼品").iter().any(|t| t.contains("国庆节")));

    // 25 Sep, a day off: no digest round, but the greetings go out at 09:00, once.
    app.tick_at("2026-09-25 08:59").await;
    assert!(app.telegram.sent_to(wang.id).iter().all(|m| !m.text.contains("生日快乐")));
    app.tick_at("2026-09-25 09:00").await;
    app.tick_at("2026-09-25 12:00").await;
    assert_eq!(texts(&app, wang.id, "生日快乐").len(), 1);
    assert_eq!(texts(&app, wang.id, "中秋佳节").len(), 1);
    assert_eq!(texts(&app, 9001, "机器人已发送祝福").len(), 1);
    assert!(texts(&app, 9001, "客户联络提醒").iter().all(|t| !t.contains("2026-09-25")), "no round on a holiday");

    app.tick_at("2026-10-01 09:30").await;
    assert_eq!(texts(&app, wang.id, "国庆快乐").len(), 1);
}

#[tokio::test]
async fn february_29th_in_a_common_year_and_birthdays_across_downtime() {
    let mut app = spawn_app_at("2027-02-25 08:00").await;
    let t = team(&app).await;
    app.add_customer("闰年公司", Tier::B, &t.rep).await;
    app.say(&t.rep_user, "/birthday 闰年公司 李经理 1988-02-29").await;
    app.say(&t.rep_user, "/birthday 闰年公司 赵会计 03-03").await;
    app.say(&t.rep_user, "/birthday 闰年公司 钱主任 03-10").await;
    let (li, zhao, qian) = (TgUser::new(7001, "李"), TgUser::new(7002, "赵"), TgUser::new(7003, "钱"));
    link_contact(&app, &t.rep_user, "闰年公司", "李经理", &li).await;
    link_contact(&app, &t.rep_user, "闰年公司", "赵会计", &zhao).await;
    link_contact(&app, &t.rep_user, "闰年公司", "钱主任", &qian).await;
    app.tick_at("2027-02-26 09:00").await;

    // Down over 28 February (the 29th's day in 2027): no late greeting, the rep is told.
    app.set_time("2027-02-27 20:00");
    app.stop().await;
    app.set_time("2027-03-01 10:00");
    app.restart().await;
    app.tick().await;
    assert!(texts(&app, li.id, "生日快乐").is_empty());
    let missed = texts(&app, 9001, "错过了");
    assert_eq!(missed.len(), 1);
    assert!(missed[0].contains("2027-02-28") && missed[0].contains("李经理"), "{}", missed[0]);

    // Down on the morning of 3 March, back at 15:00 the same day: still greeted.
    app.set_time("2027-03-02 20:00");
    app.stop().await;
    app.set_time("2027-03-03 15:00");
    app.restart().await;
    app.tick().await;
    assert_eq!(texts(&app, zhao.id, "生日快乐").len(), 1);
    assert_eq!(texts(&app, 9001, "错过了").len(), 1);

    // Back on the birthday but at 22:00, in quiet hours: not greeted at night, and not the next
    // morning either — the rep is told instead.
    app.set_time("2027-03-09 20:00");
    app.stop().await;
    app.set_time("2027-03-10 22:00");
    app.restart().await;
    app.tick().await;
    app.tick_at("2027-03-11 09:00").await;
    assert!(texts(&app, qian.id, "生日快乐").is_empty());
    assert_eq!(texts(&app, 9001, "错过了").len(), 2);
}
