//! The complaint procedure end to end: customers and staff through the fake Bot API, e-mails
//! through the SMTP sink, timers through simulated days.

use chrono::Duration;
use guanxi::domain::complaint::{ComplaintNo, Intake, Status};
use guanxi::domain::customer::Tier;
use guanxi::domain::staff::Role;
use guanxi::storage::complaints::{self as store, ComplaintForm, Origin};
use guanxi::storage::departments::{self, Department};
use guanxi::storage::staff::Staff;
use serde_json::json;

use crate::helpers::fake_telegram::SentMessage;
use crate::helpers::{TestApp, TgUser, spawn_app_at};

const SERVICE_MANAGER_EMAIL: &str = "service.manager@corp.example";
const QUALITY_DIRECTOR_EMAIL: &str = "quality.director@corp.example";

struct Cast {
    s1: TgUser,
    s2: TgUser,
    manager: TgUser,
    head: TgUser,
    customer: TgUser,
}

/// Two service staff, the service manager (head of customer service), the head of quality
/// (reporting to a director), and a customer who is not staff.
async fn cast(app: &TestApp) -> Cast {
    app.add_staff(8030, "质量总监", Role::Director, None, Some(QUALITY_DIRECTOR_EMAIL)).await;
    let head = app.add_staff(8020, "质量经理", Role::Manager, Some(8030), None).await;
    let manager = app.add_staff(8010, "客服经理", Role::Manager, None, Some(SERVICE_MANAGER_EMAIL)).await;
    app.add_staff(8001, "客服甲", Role::Service, Some(8010), None).await;
    app.add_staff(8002, "客服乙", Role::Service, Some(8010), None).await;
    set_head(app, "service", &manager).await;
    set_head(app, "quality", &head).await;
    Cast {
        s1: TgUser::new(8001, "甲"),
        s2: TgUser::new(8002, "乙"),
        manager: TgUser::new(8010, "经理"),
        head: TgUser::new(8020, "质量"),
        customer: TgUser::new(6001, "王先生"),
    }
}

async fn set_head(app: &TestApp, key: &str, head: &Staff) {
    let mut conn = app.ctx.db.pool().acquire().await.unwrap();
    let mut d: Department = departments::get(&mut conn, key).await.unwrap().unwrap();
    d.head = Some(head.id);
    departments::upsert(&mut conn, &d).await.unwrap();
}

/// The newest message to `chat` that offers a button with `data`; panics if none does.
fn offered(app: &TestApp, chat: i64, data: &str) -> i32 {
    let found = app
        .telegram
        .sent_to(chat)
        .into_iter()
        .rev()
        .find(|m| m.reply_markup.as_ref().is_some_and(|k| k.to_string().contains(&format!("\"{data}\""))));
    found
        .unwrap_or_else(|| panic!("no button {data} was offered to {chat}: {:#?}", app.telegram.sent_to(chat)))
        .message_id
}

/// Press a button that was offered; returns the `n` replies.
async fn press(app: &TestApp, user: &TgUser, data: &str, n: usize) -> Vec<SentMessage> {
    let message_id = offered(app, user.id, data);
    let before = app.telegram.sent_to(user.id).len();
    app.telegram.push_callback(user, message_id, data);
    app.replies(user.id, before, n).await
}

fn send_photo(app: &TestApp, user: &TgUser) {
    app.telegram.push_raw_update(json!({
        "message": {
            "message_id": 5000, "date": 1_767_600_000,
            "chat": { "id": user.id, "type": "private", "first_name": user.first_name },
            "from": { "id": user.id, "is_bot": false, "first_name": user.first_name },
            "photo": [
                { "file_id": "small-photo", "file_unique_id": "s1", "width": 90, "height": 90 },
                { "file_id": "large-photo", "file_unique_id": "l1", "width": 1280, "height": 960 }
            ]
        }
    }));
}

/// A customer files a complaint through the whole form; returns its number.
async fn file_complaint(app: &TestApp, who: &TgUser, company: &str) -> ComplaintNo {
    assert!(app.say(who, "/complain").await.text.contains("客户（公司）名称"));
    assert!(app.say(who, company).await.text.contains("营业地址"));
    assert!(app.say(who, "-").await.text.contains("联系人"));
    assert!(app.say(who, "王建国").await.text.contains("联系电话"));
    assert!(app.say(who, "没有号码").await.text.contains("不像电话号码"));
    assert!(app.say(who, "139 0000 1111").await.text.contains("事件经过"));
    assert!(app.say(who, "   ").await.text.contains("必须填写"));
    assert!(app.say(who, "上周到货的轴承有 30 件尺寸超差").await.text.contains("投诉要求"));
    assert!(app.say(who, "退货并补发合格品").await.text.contains("照片或文件"));
    let before = app.telegram.sent_to(who.id).len();
    send_photo(app, who);
    assert!(app.replies(who.id, before, 1).await[0].text.contains("第 1 个附件"));
    let summary = press(app, who, "form:done", 1).await.remove(0);
    assert!(summary.text.contains("附件：1 个") && summary.text.contains(company), "{}", summary.text);
    let ack = press(app, who, "form:submit", 1).await.remove(0);
    assert!(ack.text.contains("受理编号："), "{}", ack.text);
    let number = ack.text.split("受理编号：").nth(1).unwrap().lines().next().unwrap().trim();
    number.parse().unwrap()
}

async fn complaint(app: &TestApp, number: &ComplaintNo) -> store::Complaint {
    let mut conn = app.ctx.db.pool().acquire().await.unwrap();
    store::by_number(&mut conn, number).await.unwrap().unwrap()
}

fn last_text(app: &TestApp, chat: i64) -> String {
    app.telegram.sent_to(chat).pop().map(|m| m.text).unwrap_or_default()
}

/// The staff's alerts of a new complaint go out by themselves: the intake wakes the senders
/// for them. The senders' poll is an hour away here, so nothing else would.
#[tokio::test]
async fn a_new_complaints_alerts_are_sent_by_the_senders_it_wakes_without_waiting_for_their_poll() {
    let mut app = spawn_app_at("2026-11-25 10:00").await;
    app.restart_with(|settings| settings.worker_poll_secs = 3600).await;
    app.stop_tasks().await;
    app.start_with(guanxi::startup::Tasks { tick_every_minute: false, background_worker: true }).await;
    let c = cast(&app).await;
    let origin = Origin { intake: Intake::Phone, submitter_chat_id: None, submitter_locale: None, recorded_by: None };
    let form = ComplaintForm {
        customer_name: "华东精密机械".into(),
        address: None,
        contact_name: None,
        contact_phone: None,
        description: "电话投诉：到货延迟".into(),
        request: "尽快发货".into(),
    };
    let recorded = guanxi::services::complaints::submit(&app.ctx, origin, form, &[], None).await.unwrap();
    let number = recorded.expect("recorded").complaint.number;

    for staff in [&c.s1, &c.s2] {
        let alert = app.telegram.wait_for_sent_to(staff.id, 1).await.remove(0);
        assert!(alert.text.contains(number.as_str()), "{}", alert.text);
    }
}

#[tokio::test]
async fn a_complaint_filed_at_night_reaches_the_staff_on_duty_at_once_with_its_number() {
    // Arrange: 02:30 on a Wednesday night; only 客服甲 is on duty.
    let app = spawn_app_at("2026-11-25 02:00").await;
    let c = cast(&app).await;
    let reply = app.say(&c.s1, "/duty on 8").await;
    assert!(reply.text.contains("至 2026-11-25 10:00"), "{}", reply.text);
    let listed = app.say(&c.s2, "/duty").await;
    assert!(listed.text.contains("客服甲"), "{}", listed.text);
    let archive =
        app.add_customer("华东精密机械", Tier::A, &app.add_staff(8100, "销售", Role::Rep, None, None).await).await;
    app.set_time("2026-11-25 02:30");

    // Act
    let number = file_complaint(&app, &c.customer, "华东精密机械").await;

    // Assert: numbered for the local day, linked to the archive by name, photo kept by file_id.
    assert_eq!(number.as_str(), "TS-20261125-0001");
    let stored = complaint(&app, &number).await;
    assert_eq!(stored.customer_id, Some(archive.customer.id));
    assert_eq!(stored.status, Status::Received);
    let mut conn = app.ctx.db.pool().acquire().await.unwrap();
    let files = store::attachments(&mut conn, stored.id).await.unwrap();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].file_id, "large-photo");
    drop(conn);
    // The on-duty member is alerted at once, with the buttons to judge it; the other is not.
    let alert = app.telegram.sent_to(c.s1.id).pop().unwrap();
    assert!(alert.text.contains("新投诉") && alert.text.contains("尺寸超差") && alert.text.contains("139 0000 1111"));
    offered(&app, c.s1.id, &format!("cw:{number}:accept"));
    offered(&app, c.s1.id, &format!("cw:{number}:reject"));
    assert!(!app.telegram.sent_to(c.s2.id).iter().any(|m| m.text.contains("新投诉")));
    // The customer sees it; another customer cannot.
    let status = app.say(&c.customer, &format!("/status {number}")).await;
    assert!(status.text.contains("已受理，待判断责任"), "{}", status.text);
    let other = TgUser::new(6002, "李女士");
    let denied = app.say(&other, &format!("/status {number}")).await;
    assert!(denied.text.contains("没有找到您名下的投诉"), "{}", denied.text);
    let mine = app.say(&c.customer, "/mycomplaints").await;
    assert!(mine.text.contains(number.as_str()));
}

#[tokio::test]
async fn with_nobody_on_duty_every_service_member_is_alerted() {
    let app = spawn_app_at("2026-11-25 14:00").await;
    let c = cast(&app).await;
    let number = file_complaint(&app, &c.customer, "西部建材").await;
    for member in [&c.s1, &c.s2] {
        offered(&app, member.id, &format!("cw:{number}:accept"));
    }
    // Not linked: no archive customer has that name or phone.
    assert_eq!(complaint(&app, &number).await.customer_id, None);
}

#[tokio::test]
async fn a_complaint_goes_through_every_step_to_a_revisit_and_the_statistics() {
    let app = spawn_app_at("2026-11-02 10:00").await;
    let c = cast(&app).await;
    let number = file_complaint(&app, &c.customer, "东方轴承").await;
    let n = number.as_str();

    // Responsibility: ours. The customer hears it; 客服甲 chooses the department and nature.
    let replies = press(&app, &c.s1, &format!("cw:{n}:accept"), 2).await;
    assert!(replies[0].text.contains("当前状态：属我方责任"), "{}", replies[0].text);
    assert!(last_text(&app, c.customer.id).contains("已正式受理"));
    press(&app, &c.s1, &format!("cw:{n}:dept:quality"), 1).await;
    let done = press(&app, &c.s1, &format!("cw:{n}:assign:quality:normal"), 1).await.remove(0);
    assert!(done.text.contains("处理中"), "{}", done.text);
    app.deliver().await;
    let told = last_text(&app, c.customer.id);
    assert!(told.contains("质量管理部") && told.contains("2026-11-05 10:00"), "{told}");
    assert!(last_text(&app, c.head.id).contains("请调查处理投诉"));

    // The department reports; the service manager sends it back once, then approves.
    press(&app, &c.head, &format!("cw:{n}:report"), 1).await;
    assert!(app.say(&c.head, "热处理炉温控失灵").await.text.contains("处理方案"));
    assert!(app.say(&c.head, "折价 10%").await.text.contains("处理方案审核中"));
    app.deliver().await;
    assert!(last_text(&app, c.manager.id).contains("热处理炉温控失灵"));
    press(&app, &c.manager, &format!("cw:{n}:sendback"), 1).await;
    app.say(&c.manager, "客户要求退货，方案应为退货").await;
    app.deliver().await;
    assert!(last_text(&app, c.head.id).contains("被退回"));
    press(&app, &c.head, &format!("cw:{n}:report"), 1).await;
    app.say(&c.head, "热处理炉温控失灵").await;
    app.say(&c.head, "全部退货并补发").await;
    press(&app, &c.manager, &format!("cw:{n}:approve"), 1).await;
    app.deliver().await;
    assert!(last_text(&app, c.s1.id).contains("已批准"));

    // Customer service sends the resolution; the customer is not satisfied the first time.
    press(&app, &c.s1, &format!("cw:{n}:resolve"), 1).await;
    press(&app, &c.s1, &format!("cw:{n}:method:return"), 1).await;
    assert!(app.say(&c.s1, "一千二").await.text.contains("金额格式不对"));
    assert!(app.say(&c.s1, "1,200.50").await.text.contains("处理结果说明"));
    app.say(&c.s1, "30 件全部退货，补发合格品，运费由我方承担。").await;
    app.deliver().await;
    let resolution = app.telegram.sent_to(c.customer.id).pop().unwrap();
    assert!(resolution.text.contains("退货") && resolution.text.contains("¥1,200.50"), "{}", resolution.text);
    let asked = press(&app, &c.customer, &format!("cc:{n}:no"), 1).await.remove(0);
    assert!(asked.text.contains("不满意的原因"));
    app.set_time("2026-11-04 09:00");
    let reopened = app.say(&c.customer, "补发太慢").await;
    assert!(reopened.text.contains("重新处理") && reopened.text.contains("2026-11-07 09:00"), "{}", reopened.text);
    app.deliver().await;
    assert!(last_text(&app, c.head.id).contains("补发太慢"));
    assert_eq!(complaint(&app, &number).await.reopen_count, 1);

    // Second round: accepted.
    press(&app, &c.head, &format!("cw:{n}:report"), 1).await;
    app.say(&c.head, "加急补发").await;
    app.say(&c.head, "退货并加急补发").await;
    press(&app, &c.manager, &format!("cw:{n}:approve"), 1).await;
    press(&app, &c.s1, &format!("cw:{n}:resolve"), 1).await;
    press(&app, &c.s1, &format!("cw:{n}:method:return"), 1).await;
    app.say(&c.s1, "1200.50").await;
    app.say(&c.s1, "已加急补发，明日到货。").await;
    app.set_time("2026-11-05 08:00");
    let thanks = press(&app, &c.customer, &format!("cc:{n}:yes"), 1).await.remove(0);
    assert!(thanks.text.contains("一周内回访"), "{}", thanks.text);
    assert_eq!(complaint(&app, &number).await.status, Status::Resolved);

    // The revisit: the bot asks a day later; the customer rates 4 and comments.
    app.tick_at("2026-11-05 20:00").await;
    assert!(!last_text(&app, c.customer.id).contains("打分"), "not before 24 hours");
    app.tick_at("2026-11-06 08:00").await;
    assert!(last_text(&app, c.customer.id).contains("打分"));
    app.tick_at("2026-11-06 08:05").await;
    let asked_twice = app.telegram.sent_to(c.customer.id).iter().filter(|m| m.text.contains("打分")).count();
    assert_eq!(asked_twice, 1, "asked once");
    press(&app, &c.customer, &format!("cc:{n}:rate4"), 1).await;
    assert!(app.say(&c.customer, "处理及时").await.text.contains("感谢您对投诉"));
    let closed = complaint(&app, &number).await;
    assert_eq!((closed.status, closed.satisfaction), (Status::Closed, Some(4)));

    // The history shows every step with who did it; the statistics count it.
    let card = app.say(&c.manager, &format!("/complaint {n}")).await;
    for line in [
        "受理登记",
        "判定我方责任",
        "分派处理部门",
        "退回处理方案",
        "客户不满意，重新处理",
        "客户接受处理结果",
        "回访",
        "客服甲",
        "质量经理",
    ] {
        assert!(card.text.contains(line), "{line} missing from {}", card.text);
    }
    let report = app.say(&c.manager, "/report complaints 2026-11").await;
    for part in ["投诉总数：1", "质量管理部：1", "退货：1", "¥1,200.50", "平均满意度：4.00", "期限内处理比例：100%"]
    {
        assert!(report.text.contains(part), "{part} missing from {}", report.text);
    }
    let status = app.say(&c.customer, &format!("/status {n}")).await;
    assert!(status.text.contains("已结案"));
}

#[tokio::test]
async fn not_our_fault_is_explained_and_illegal_or_unauthorised_steps_are_refused() {
    let app = spawn_app_at("2026-11-25 09:00").await;
    let c = cast(&app).await;
    let rep = app.add_staff(8200, "销售员", Role::Rep, None, None).await;
    let rep_user = TgUser::new(rep.telegram_id.0, "销");
    let number = file_complaint(&app, &c.customer, "南方贸易").await;
    let n = number.as_str();

    // A rep cannot judge complaints, even with a forged button.
    app.telegram.push_callback(&rep_user, 1, &format!("cw:{n}:accept"));
    let refused = app.replies(rep_user.id, 0, 1).await.remove(0);
    assert!(refused.text.contains("无权"), "{}", refused.text);
    // Approving before anything was proposed: illegal.
    let early = app.say(&c.manager, &format!("/complaint {n}")).await;
    assert!(!early.reply_markup.as_ref().unwrap().to_string().contains("approve"));
    app.telegram.push_callback(&c.manager, early.message_id, &format!("cw:{n}:approve"));
    let illegal = app.replies(c.manager.id, app.telegram.sent_to(c.manager.id).len(), 1).await.remove(0);
    assert!(illegal.text.contains("不能进行这一步"), "{}", illegal.text);

    press(&app, &c.s2, &format!("cw:{n}:reject"), 1).await;
    let done = app.say(&c.s2, "货物签收时完好，损坏发生在客户仓库搬运中。").await;
    assert!(done.text.contains("已结案"), "{}", done.text);
    app.deliver().await;
    assert!(
        last_text(&app, c.customer.id).contains("不属于我方责任") && last_text(&app, c.customer.id).contains("搬运")
    );
    // Too late to accept now.
    let late = press(&app, &c.s1, &format!("cw:{n}:accept"), 1).await.remove(0);
    assert!(late.text.contains("当前为“已结案”"), "{}", late.text);
    // The customer's own buttons for someone else's complaint do nothing.
    let stranger = TgUser::new(6099, "路人");
    app.telegram.push_callback(&stranger, 1, &format!("cc:{n}:yes"));
    assert!(app.replies(stranger.id, 0, 1).await[0].text.contains("按钮已失效"));
    let c2 = complaint(&app, &number).await;
    assert_eq!((c2.status, c2.outcome), (Status::Closed, Some(guanxi::domain::complaint::Outcome::NotOurFault)));
}

#[tokio::test]
async fn timers_escalate_once_and_a_deadline_passed_during_downtime_is_escalated_after_it() {
    let mut app = spawn_app_at("2026-11-23 09:00").await;
    let c = cast(&app).await;
    let number = file_complaint(&app, &c.customer, "北方重工").await;
    let n = number.as_str();

    // Nobody judges it for two hours: the service manager gets one e-mail.
    app.tick_at("2026-11-23 10:59").await;
    assert!(app.smtp.messages().is_empty());
    app.tick_at("2026-11-23 11:00").await;
    app.tick_at("2026-11-23 11:30").await;
    let mails = app.smtp.messages_to(SERVICE_MANAGER_EMAIL);
    assert_eq!(mails.len(), 1);
    assert!(mails[0].subject.contains("投诉未及时响应") && mails[0].body.contains(n));

    // Accepted and assigned as urgent (1 day) at 11:30.
    press(&app, &c.s1, &format!("cw:{n}:accept"), 2).await;
    press(&app, &c.s1, &format!("cw:{n}:dept:quality"), 1).await;
    press(&app, &c.s1, &format!("cw:{n}:assign:quality:urgent"), 1).await;
    // The reminder the day before goes to the department head, once.
    app.tick_at("2026-11-23 12:00").await;
    app.tick_at("2026-11-23 13:00").await;
    let reminders = app.telegram.sent_to(c.head.id).into_iter().filter(|m| m.text.contains("剩余不到一天")).count();
    assert_eq!(reminders, 1);

    // Down from 14:00 until two days later; the deadline (24 Nov 11:30) passes meanwhile.
    app.set_time("2026-11-23 14:00");
    app.stop().await;
    app.set_time("2026-11-25 08:00");
    app.restart().await;
    app.tick().await;
    app.tick_at("2026-11-25 08:30").await;
    let overdue_to_manager: Vec<_> =
        app.smtp.messages_to(SERVICE_MANAGER_EMAIL).into_iter().filter(|m| m.subject.contains("超期")).collect();
    let overdue_to_director = app.smtp.messages_to(QUALITY_DIRECTOR_EMAIL);
    assert_eq!((overdue_to_manager.len(), overdue_to_director.len()), (1, 1));
    assert!(overdue_to_director[0].body.contains("2026-11-24 11:30"), "{}", overdue_to_director[0].body);
    let reminders = app.telegram.sent_to(c.head.id).into_iter().filter(|m| m.text.contains("剩余不到一天")).count();
    assert_eq!(reminders, 1, "no stale reminder after the deadline");
}

#[tokio::test]
async fn staff_record_a_phone_complaint_and_the_revisit_becomes_a_task_then_an_escalation() {
    let app = spawn_app_at("2026-11-25 10:00").await;
    let c = cast(&app).await;

    // 客服甲 records a complaint that came by phone.
    let ask = app.say(&c.s1, "/newcomplaint").await;
    assert!(ask.text.contains("什么方式"));
    press(&app, &c.s1, "intake:phone", 1).await;
    for answer in ["中原机电", "郑州市高新区", "赵工", "0371-6666 8888", "电机异响", "更换电机"] {
        app.say(&c.s1, answer).await;
    }
    press(&app, &c.s1, "form:done", 1).await;
    let recorded = press(&app, &c.s1, "form:submit", 1).await.remove(0);
    assert!(recorded.text.contains("已登记投诉 TS-20261125-0001"), "{}", recorded.text);
    let number: ComplaintNo = "TS-20261125-0001".parse().unwrap();
    let n = number.as_str();
    app.deliver().await;
    // The recorder is not alerted about their own entry; the colleague is.
    assert!(!app.telegram.sent_to(c.s1.id).iter().any(|m| m.text.contains("新投诉")));
    let alert = app.telegram.sent_to(c.s2.id).pop().unwrap();
    assert!(alert.text.contains("电话投诉") && alert.text.contains("中原机电"));

    // Through to the resolution; the customer is not on Telegram, so staff record the answer.
    let card = app.say(&c.s1, &format!("/complaint {n}")).await;
    assert!(card.text.contains("电话投诉") && card.text.contains("受理登记"), "{}", card.text);
    press(&app, &c.s1, &format!("cw:{n}:accept"), 2).await;
    press(&app, &c.s1, &format!("cw:{n}:dept:quality"), 1).await;
    press(&app, &c.s1, &format!("cw:{n}:assign:quality:complex"), 1).await;
    press(&app, &c.head, &format!("cw:{n}:report"), 1).await;
    app.say(&c.head, "轴承装配不当").await;
    app.say(&c.head, "上门更换电机").await;
    press(&app, &c.manager, &format!("cw:{n}:approve"), 1).await;
    press(&app, &c.s1, &format!("cw:{n}:resolve"), 1).await;
    press(&app, &c.s1, &format!("cw:{n}:method:other"), 1).await;
    app.say(&c.s1, "0").await;
    app.say(&c.s1, "已安排工程师上门更换。").await;
    app.deliver().await;
    assert!(app.telegram.sent_to(c.s1.id).iter().any(|m| m.text.contains("不在 Telegram 上")));
    press(&app, &c.s1, &format!("cw:{n}:yes"), 1).await;
    assert_eq!(complaint(&app, &number).await.status, Status::Resolved);

    // A day later the revisit is a task for 客服甲 (nobody to ask in the chat)…
    app.tick_at("2026-11-26 10:00").await;
    assert!(last_text(&app, c.s1.id).contains("请回访投诉"));
    // …nobody does it within the week: the service manager hears of it, once.
    app.tick_at("2026-12-02 10:00").await;
    app.tick_at("2026-12-02 11:00").await;
    let mails: Vec<_> =
        app.smtp.messages_to(SERVICE_MANAGER_EMAIL).into_iter().filter(|m| m.subject.contains("回访超期")).collect();
    assert_eq!(mails.len(), 1);
    // Then the call is made and recorded by command.
    let done = app.say(&c.s1, &format!("/revisit {n} 5 工程师很专业")).await;
    assert!(done.text.contains("已结案"), "{}", done.text);
    assert_eq!(complaint(&app, &number).await.satisfaction, Some(5));
}

#[tokio::test]
async fn fifty_customers_submitting_at_the_same_moment_get_fifty_distinct_numbers() {
    let app = spawn_app_at("2026-11-25 12:00").await;
    cast(&app).await;
    let customers: Vec<TgUser> = (0..50).map(|i| TgUser::new(70_000 + i, &format!("客户{i}"))).collect();
    // Everyone fills the form up to the confirmation…
    for (i, who) in customers.iter().enumerate() {
        app.say(who, "/complain").await;
        for answer in [
            format!("同时公司{i}"),
            "-".into(),
            "联系人".into(),
            "13800138000".into(),
            "质量问题".into(),
            "退货".into(),
        ] {
            app.say(who, &answer).await;
        }
        press(&app, who, "form:done", 1).await;
    }
    // …and all press "submit" at once.
    let before: Vec<usize> = customers.iter().map(|c| app.telegram.sent_to(c.id).len()).collect();
    for who in &customers {
        let message_id = offered(&app, who.id, "form:submit");
        app.telegram.push_callback(who, message_id, "form:submit");
    }
    let mut numbers = Vec::new();
    for (who, before) in customers.iter().zip(before) {
        let ack = app.replies(who.id, before, 1).await.remove(0);
        numbers.push(ack.text.split("受理编号：").nth(1).unwrap().lines().next().unwrap().trim().to_owned());
    }
    numbers.sort();
    numbers.dedup();
    assert_eq!(numbers.len(), 50);
    let expected: Vec<String> = (1..=50).map(|i| format!("TS-20261125-{i:04}")).collect();
    assert_eq!(numbers, expected);
    let mut conn = app.ctx.db.pool().acquire().await.unwrap();
    assert_eq!(store::open(&mut conn).await.unwrap().len(), 50);
}

#[tokio::test]
async fn a_double_press_of_submit_files_one_complaint() {
    let app = spawn_app_at("2026-11-25 12:00").await;
    let c = cast(&app).await;
    app.say(&c.customer, "/complain").await;
    for answer in ["双击公司", "-", "联系人", "13800138000", "质量问题", "退货"] {
        app.say(&c.customer, answer).await;
    }
    press(&app, &c.customer, "form:done", 1).await;
    let message_id = offered(&app, c.customer.id, "form:submit");
    let before = app.telegram.sent_to(c.customer.id).len();
    app.telegram.push_callback(&c.customer, message_id, "form:submit");
    app.telegram.push_callback(&c.customer, message_id, "form:submit");
    let replies = app.replies(c.customer.id, before, 2).await;
    assert_eq!(replies.iter().filter(|m| m.text.contains("受理编号")).count(), 1);
    assert_eq!(replies.iter().filter(|m| m.text.contains("按钮已失效")).count(), 1);
}

#[tokio::test]
async fn staff_link_a_complaint_to_the_archive_by_hand() {
    let app = spawn_app_at("2026-11-25 12:00").await;
    let c = cast(&app).await;
    let owner = app.add_staff(8300, "销售", Role::Rep, None, None).await;
    let archived = app.add_customer("长江电子有限公司", Tier::B, &owner).await;
    let number = file_complaint(&app, &c.customer, "长江电子").await;
    assert_eq!(complaint(&app, &number).await.customer_id, None, "not the exact name");
    let reply = app.say(&c.s1, &format!("/link {number} {}", archived.customer.archive_no)).await;
    assert!(reply.text.contains("已关联客户档案 KH-000001"), "{}", reply.text);
    assert_eq!(complaint(&app, &number).await.customer_id, Some(archived.customer.id));
    let _ = Duration::zero();
}

#[tokio::test]
async fn a_rep_who_does_not_own_the_customer_cannot_read_a_complaint() {
    let app = spawn_app_at("2026-11-25 12:00").await;
    let c = cast(&app).await;
    let rep = app.add_staff(8400, "别的销售", Role::Rep, None, None).await;
    let number = file_complaint(&app, &c.customer, "无关公司").await;
    let rep_user = TgUser::new(rep.telegram_id.0, "别");
    let reply = app.say(&rep_user, &format!("/complaint {number}")).await;
    assert!(reply.text.contains("没有找到投诉"), "{}", reply.text);
    assert!(!reply.text.contains("139 0000 1111"));
    // Customer service can.
    assert!(app.say(&c.s1, &format!("/complaint {number}")).await.text.contains("139 0000 1111"));
}
