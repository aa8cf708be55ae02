//! The bot as staff and strangers meet it, through the fake Bot API.

use guanxi::domain::customer::Tier;
use guanxi::domain::staff::Role;
use serde_json::json;

use crate::helpers::app::team;
use crate::helpers::{TgUser, spawn_app};

fn buttons(markup: &Option<serde_json::Value>) -> Vec<(String, String)> {
    let Some(markup) = markup else { return Vec::new() };
    markup["inline_keyboard"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|row| row.as_array().unwrap().iter())
        .map(|b| (b["text"].as_str().unwrap().to_owned(), b["callback_data"].as_str().unwrap().to_owned()))
        .collect()
}

#[tokio::test]
async fn an_unregistered_user_reads_no_customer_data() {
    let app = spawn_app().await;
    let t = team(&app).await;
    let secret = app.add_customer("机密客户有限公司", Tier::A, &t.rep).await;
    let stranger = TgUser::new(5555, "路人");
    let archive_no = secret.customer.archive_no.to_string();

    let attempts = [
        "/customers".to_owned(),
        format!("/customer {archive_no}"),
        "/customer 机密".to_owned(),
        format!("/call {archive_no} 我是销售"),
        "/due".to_owned(),
        "/newcustomer".to_owned(),
        "你好".to_owned(),
    ];
    for text in &attempts {
        let reply = app.say(&stranger, text).await;
        assert!(reply.text.contains("提交投诉") && reply.reply_markup.is_some(), "{text}: {}", reply.text);
    }
    // A forged button press naming the customer's id changes nothing.
    let reply = app.press(&stranger, 1, &format!("pick:{}", secret.customer.id.0)).await;
    assert!(reply.text.contains("提交投诉"), "{}", reply.text);

    for m in app.telegram.sent_to(stranger.id) {
        assert!(!m.text.contains("机密客户") && !m.text.contains(&archive_no), "leaked: {}", m.text);
    }
    // Nothing was logged in the stranger's name.
    let card = app.say(&t.rep_user, &format!("/customer {archive_no}")).await;
    assert!(card.text.contains("尚无联系记录"), "{}", card.text);
}

#[tokio::test]
async fn an_invitation_code_registers_once_and_expires_after_seven_days() {
    let app = spawn_app().await;
    let t = team(&app).await;
    let invite =
        guanxi::services::staff::invite(&app.ctx, Role::Rep, Some(t.manager.telegram_id), None, None).await.unwrap();

    let newcomer = TgUser::new(7001, "周");
    let replies = app.say_n(&newcomer, &format!("/start {}", invite.code.to_lowercase()), 2).await;
    assert!(replies[0].text.contains("欢迎，周") && replies[0].text.contains("rep"), "{}", replies[0].text);
    assert!(replies[1].text.contains("/customers"), "{}", replies[1].text);
    let reply = app.say(&newcomer, "/customers").await;
    assert!(reply.text.contains("您名下暂无客户"), "{}", reply.text);

    // The same code again, from someone else: refused.
    let other = TgUser::new(7002, "吴");
    assert!(app.say(&other, &format!("/start {}", invite.code)).await.text.contains("已被使用"));
    // A code that never existed, and one that is too old.
    assert!(app.say(&other, "/start ZZZZZZZZZZ").await.text.contains("邀请码无效"));
    let old = guanxi::services::staff::invite(&app.ctx, Role::Service, None, None, None).await.unwrap();
    app.clock.advance(chrono::Duration::days(7) + chrono::Duration::minutes(1));
    assert!(app.say(&other, &format!("/start {}", old.code)).await.text.contains("已过期"));
    // Still a stranger.
    assert!(app.say(&other, "/customers").await.text.contains("本公司员工请发送 /start 邀请码"));
    // The new member's chat got the staff command menu.
    let scoped: Vec<_> =
        app.telegram.requests("setMyCommands").into_iter().filter(|r| r["scope"]["chat_id"] == 7001).collect();
    assert_eq!(scoped.len(), 1);
}

#[tokio::test]
async fn new_customer_dialogue_survives_a_restart_and_validates_each_answer() {
    let mut app = spawn_app().await;
    let t = team(&app).await;
    let rep = &t.rep_user;

    assert!(app.say(rep, "/newcustomer").await.text.contains("客户（公司）名称"));
    let tier_prompt = app.say(rep, "  东方电气集团  ").await;
    let tiers = buttons(&tier_prompt.reply_markup);
    assert_eq!(tiers.iter().map(|(_, d)| d.as_str()).collect::<Vec<_>>(), ["tier:A", "tier:B", "tier:C"]);

    // The process restarts in the middle of the dialogue; the state is in the database.
    app.restart().await;
    let region_prompt = app.press(rep, tier_prompt.message_id, "tier:A").await;
    assert!(region_prompt.text.contains("已选 A 类"), "{}", region_prompt.text);
    assert!(app.say(rep, "西南").await.text.contains("电话"));
    assert!(app.say(rep, "call me maybe").await.text.contains("不像电话号码"));
    assert!(app.say(rep, "028-8888 6666").await.text.contains("地址"));
    assert!(app.say(rep, "-").await.text.contains("联系人"));
    let created = app.say(rep, "王工").await;
    assert!(created.text.contains("已建档：KH-000001 东方电气集团（A类）"), "{}", created.text);
    assert!(created.text.contains("下次电话：2026-01-05"), "{}", created.text);

    let card = app.say(rep, "/customer KH-000001").await;
    for part in ["东方电气集团", "类别：A类", "区域：西南", "电话：028-8888 6666", "负责人：孙销售", "联系人：王工"]
    {
        assert!(card.text.contains(part), "{part} missing from {}", card.text);
    }
    // A stale tier button after the dialogue ended changes nothing.
    assert!(app.press(rep, tier_prompt.message_id, "tier:C").await.text.contains("按钮已失效"));
}

#[tokio::test]
async fn an_ambiguous_reference_asks_which_and_a_forged_choice_is_refused() {
    let app = spawn_app().await;
    let t = team(&app).await;
    let first = app.add_customer("华东机械一厂", Tier::A, &t.rep).await;
    let second = app.add_customer("华东机械二厂", Tier::B, &t.rep).await;
    let elsewhere = app.add_customer("华东机械三厂", Tier::B, &t.manager).await;

    let question = app.say(&t.rep_user, "/call 华东机械 谈妥了价格").await;
    let offered: Vec<String> = buttons(&question.reply_markup).into_iter().map(|(_, d)| d).collect();
    // Reps see only their own customers.
    assert_eq!(offered, [format!("pick:{}", first.customer.id.0), format!("pick:{}", second.customer.id.0)]);

    // A button naming a customer that was not offered (edited callback data) is refused.
    let forged = app.press(&t.rep_user, question.message_id, &format!("pick:{}", elsewhere.customer.id.0)).await;
    assert!(forged.text.contains("按钮已失效"), "{}", forged.text);
    let done = app.press(&t.rep_user, question.message_id, &format!("pick:{}", second.customer.id.0)).await;
    assert!(done.text.contains("已记录与 KH-000002 华东机械二厂 的电话沟通"), "{}", done.text);
    // The choice is spent.
    let again = app.press(&t.rep_user, question.message_id, &format!("pick:{}", first.customer.id.0)).await;
    assert!(again.text.contains("按钮已失效"), "{}", again.text);

    // Matching none says so.
    let none = app.say(&t.rep_user, "/visit 不存在的公司 拜访").await;
    assert!(none.text.contains("没有找到与“不存在的公司”匹配的客户"), "{}", none.text);
}

#[tokio::test]
async fn every_message_gets_an_answer_in_the_users_language() {
    let app = spawn_app().await;
    let t = team(&app).await;
    app.add_customer("Acme Trading", Tier::C, &t.rep).await;
    let zh = &t.rep_user;
    let en = TgUser::new(t.rep.telegram_id.0, "Sun").with_language("en-US");

    assert!(app.say(zh, "/frobnicate").await.text.contains("没有这个命令"));
    let usage = app.say(zh, "/call").await;
    assert!(usage.text.contains("用法：/call") && usage.text.contains("例如"), "{}", usage.text);
    assert!(app.say(zh, "/call Acme").await.text.contains("用法：/call"));
    assert!(app.say(zh, "随便说说").await.text.contains("/help"));
    assert!(app.say(zh, "/cancel").await.text.contains("没有进行中的操作"));

    assert!(app.say(&en, "/frobnicate").await.text.contains("I don't know that command"));
    assert!(app.say(&en, "/visit").await.text.contains("Usage: /visit"));
    let logged = app.say(&en, "/call \"Acme Trading\" confirmed the order").await;
    assert!(logged.text.starts_with("Call with KH-000001 Acme Trading logged."), "{}", logged.text);
    let list = app.say(&en, "/customers").await;
    assert!(list.text.contains("My customers (1)") && list.text.contains("tier C"), "{}", list.text);
    let due = app.say(&en, "/due").await;
    assert!(due.text.contains("Overdue") || due.text.contains("Due today"), "{}", due.text);

    // A photo (no text) is answered too, and Chinese aliases work.
    let before = app.telegram.sent_to(zh.id).len();
    app.telegram.push_raw_update(json!({
        "message": {
            "message_id": 999, "date": 1_767_600_000,
            "chat": { "id": zh.id, "type": "private", "first_name": "孙" },
            "from": { "id": zh.id, "is_bot": false, "first_name": "孙" },
            "photo": [{ "file_id": "AgAD", "file_unique_id": "AQAD", "width": 90, "height": 90 }]
        }
    }));
    let photo_reply = app.replies(zh.id, before, 1).await.remove(0);
    assert!(photo_reply.text.contains("只能处理文字消息"), "{}", photo_reply.text);
    assert!(app.say(zh, "/待办").await.text.contains("客户联络提醒"));
}

#[tokio::test]
async fn a_deactivated_member_of_staff_can_no_longer_use_staff_commands() {
    let app = spawn_app().await;
    let t = team(&app).await;
    app.add_customer("丁公司", Tier::B, &t.rep).await;
    sqlx::query("UPDATE staff SET active = 0 WHERE id = $1").bind(t.rep.id.0).execute(app.ctx.db.pool()).await.unwrap();
    for text in ["/customers", "/customer 丁公司", "/due"] {
        let reply = app.say(&t.rep_user, text).await;
        assert!(reply.text.contains("已停用"), "{text}: {}", reply.text);
    }
}

#[tokio::test]
async fn replies_are_delivered_by_the_background_worker_when_woken() {
    let mut app = spawn_app().await;
    app.stop_tasks().await;
    app.start_with(guanxi::startup::Tasks { tick_every_minute: false, background_worker: true }).await;
    let t = team(&app).await;
    // No manual delivery here: the handler wakes the worker, which sends at once.
    let before = app.telegram.sent_to(t.rep_user.id).len();
    app.telegram.push_text(&t.rep_user, "/help");
    let sent = app.telegram.wait_for_sent_to(t.rep_user.id, before + 1).await;
    assert!(sent.last().unwrap().text.contains("/newcustomer"));
}

#[tokio::test]
async fn a_long_customer_list_is_shown_a_page_at_a_time_and_only_shown_customers_are_logged_as_read() {
    // Arrange: 95 customers, 40 to a page: pages of 40, 40 and 15.
    let app = spawn_app().await;
    let t = team(&app).await;
    for n in 1..=95 {
        app.add_customer(&format!("分页客户{n:03}"), Tier::C, &t.rep).await;
    }
    let lines = |text: &str| text.lines().filter(|l| l.starts_with('•')).map(str::to_owned).collect::<Vec<_>>();

    // Act + assert: the first page, with only a "next" button.
    let first = app.say(&t.rep_user, "/customers").await;
    assert!(first.text.contains("共 95 个") && first.text.contains("第 1/3 页，第 1–40 个"), "{}", first.text);
    let shown = lines(&first.text);
    assert_eq!(shown.len(), 40, "{}", first.text);
    assert!(shown[0].contains("分页客户001") && shown[39].contains("分页客户040"), "{shown:?}");
    assert_eq!(buttons(&first.reply_markup), [("下一页 ▶".to_owned(), "cl:2".to_owned())]);
    assert_eq!(reads_logged(&app).await, 40, "only the shown page was read");

    // The middle page has both buttons; the last has the remainder and only "previous".
    let middle = app.press(&t.rep_user, first.message_id, "cl:2").await;
    assert!(lines(&middle.text)[0].contains("分页客户041"), "{}", middle.text);
    assert_eq!(
        buttons(&middle.reply_markup),
        [("◀ 上一页".to_owned(), "cl:1".to_owned()), ("下一页 ▶".to_owned(), "cl:3".to_owned())]
    );
    let last = app.press(&t.rep_user, middle.message_id, "cl:3").await;
    let shown = lines(&last.text);
    assert_eq!(shown.len(), 15, "{}", last.text);
    assert!(last.text.contains("第 3/3 页，第 81–95 个") && shown[14].contains("分页客户095"), "{}", last.text);
    assert_eq!(buttons(&last.reply_markup), [("◀ 上一页".to_owned(), "cl:2".to_owned())]);
    assert_eq!(reads_logged(&app).await, 95);

    // A page past the end (the list shrank, or the data was forged) shows the last page; data
    // that is no page number is a stale button.
    assert!(app.press(&t.rep_user, last.message_id, "cl:99").await.text.contains("第 3/3 页"));
    assert!(app.press(&t.rep_user, last.message_id, "cl:2x").await.text.contains("按钮已失效"));

    // A short list has no page line and no buttons; in English too.
    let en = TgUser::new(t.rep_user.id, "Sun").with_language("en");
    let other = app.add_staff(7100, "李销售", Role::Rep, Some(t.manager.telegram_id.0), None).await;
    app.add_customer("Short List Ltd", Tier::B, &other).await;
    let other_user = TgUser::new(7100, "Li").with_language("en");
    let short = app.say(&other_user, "/customers").await;
    assert!(short.text.starts_with("My customers (1):\n•"), "{}", short.text);
    assert!(short.reply_markup.is_none(), "{:?}", short.reply_markup);
    let english = app.say(&en, "/customers").await;
    assert!(english.text.contains("Page 1 of 3, customers 1–40:"), "{}", english.text);
    assert_eq!(buttons(&english.reply_markup), [("Next ▶".to_owned(), "cl:2".to_owned())]);
}

/// Distinct customers logged as read through `/customers`.
async fn reads_logged(app: &crate::helpers::TestApp) -> i64 {
    let mut conn = app.ctx.db.pool().acquire().await.expect("connection");
    sqlx::query_scalar("SELECT COUNT(DISTINCT customer_id) FROM access_log WHERE command = '/customers'")
        .fetch_one(&mut *conn)
        .await
        .expect("counting reads")
}
