//! Customer data is a company secret: rights by role, tier and field level; every read logged;
//! access requests; handovers; hostile input.

use guanxi::domain::customer::{CardFields, Tier};
use guanxi::domain::staff::Role;
use guanxi::storage::departments::{self, Department};

use crate::helpers::app::team;
use crate::helpers::{TestApp, TgUser, spawn_app_at};

struct Office {
    rep: TgUser,
    other_rep: TgUser,
    service: TgUser,
    manager: TgUser,
    service_manager: TgUser,
}

/// The usual team (rep 9001 under manager 9002 under director 9003), a second rep 9004 under
/// the same manager, a customer-service clerk 9005 and the service manager 9006.
async fn office(app: &TestApp) -> Office {
    let t = team(app).await;
    app.add_staff(9004, "周销售", Role::Rep, Some(9002), None).await;
    let sm = app.add_staff(9006, "吴客服经理", Role::Manager, None, Some("sm@corp.example")).await;
    app.add_staff(9005, "郑客服", Role::Service, Some(9006), None).await;
    let mut conn = app.ctx.db.pool().acquire().await.unwrap();
    let mut d: Department = departments::get(&mut conn, "service").await.unwrap().unwrap();
    d.head = Some(sm.id);
    departments::upsert(&mut conn, &d).await.unwrap();
    Office {
        rep: t.rep_user,
        other_rep: TgUser::new(9004, "周"),
        service: TgUser::new(9005, "郑"),
        manager: TgUser::new(9002, "钱"),
        service_manager: TgUser::new(9006, "吴"),
    }
}

async fn customer_with_secrets(app: &TestApp, name: &str, tier: Tier) -> String {
    let owner = {
        let mut conn = app.ctx.db.pool().acquire().await.unwrap();
        guanxi::storage::staff::by_telegram_id(&mut conn, guanxi::domain::ids::TelegramUserId(9001))
            .await
            .unwrap()
            .unwrap()
    };
    let fields = CardFields {
        phone: Some("021-6888 1234".into()),
        registered_capital: Some("5000万元".into()),
        bank_account: Some("6222 0000 1111".into()),
        credit_rating: Some("AAA".into()),
        ..CardFields::default()
    };
    let record = guanxi::services::customers::create(&app.ctx, name, tier, Some(owner.id), fields, None, app.now())
        .await
        .unwrap();
    record.customer.archive_no.to_string()
}

#[tokio::test]
async fn each_role_sees_what_the_rules_allow_and_every_read_is_logged() {
    let app = spawn_app_at("2026-11-25 10:00").await;
    let o = office(&app).await;
    let a = customer_with_secrets(&app, "甲级客户", Tier::A).await;
    let b = customer_with_secrets(&app, "乙级客户", Tier::B).await;

    // The owning rep: operational fields of both, confidential ones only below A-tier.
    let card = app.say(&o.rep, &format!("/customer {a}")).await;
    assert!(card.text.contains("021-6888 1234"), "{}", card.text);
    assert!(
        !card.text.contains("AAA") && !card.text.contains("5000万元") && !card.text.contains("6222"),
        "{}",
        card.text
    );
    let card = app.say(&o.rep, &format!("/customer {b}")).await;
    assert!(card.text.contains("AAA") && card.text.contains("5000万元"), "{}", card.text);
    // Another rep: nothing at all, not even that it exists.
    for text in [format!("/customer {a}"), format!("/call {a} 打个电话"), "/customer 甲级".to_owned()] {
        let reply = app.say(&o.other_rep, &text).await;
        assert!(reply.text.contains("没有找到"), "{text}: {}", reply.text);
    }
    // Customer service: operational data of all; A-tier confidential data stays hidden.
    let card = app.say(&o.service, &format!("/customer {a}")).await;
    assert!(card.text.contains("021-6888 1234") && !card.text.contains("AAA"), "{}", card.text);
    // Managers and above: everything.
    let card = app.say(&o.manager, &format!("/customer {a}")).await;
    assert!(card.text.contains("AAA") && card.text.contains("6222 0000 1111"), "{}", card.text);

    // The log: who, which levels, which command; only managers may read it.
    assert!(app.say(&o.rep, &format!("/audit {a}")).await.text.contains("仅供经理"));
    let audit = app.say(&o.manager, &format!("/audit {a}")).await;
    assert!(audit.text.contains("孙销售 /customer（public,internal）"), "{}", audit.text);
    assert!(audit.text.contains("郑客服 /customer（public,internal）"), "{}", audit.text);
    assert!(audit.text.contains("钱经理 /customer（public,internal,confidential）"), "{}", audit.text);
    assert!(!audit.text.contains("周销售"), "a refused look reads nothing: {}", audit.text);
    app.say(&o.rep, "/customers").await;
    app.tick_at("2026-11-25 11:00").await;
    let audit = app.say(&o.manager, &format!("/audit {b}")).await;
    assert!(audit.text.contains("孙销售 /customers"), "{}", audit.text);
    assert!(audit.text.contains("孙销售 digest"), "pushed lists are reads too: {}", audit.text);
}

#[tokio::test]
async fn a_request_grants_read_access_until_the_end_of_the_day() {
    let app = spawn_app_at("2026-11-25 10:00").await;
    let o = office(&app).await;
    let a = customer_with_secrets(&app, "甲级客户", Tier::A).await;

    let sent = app.say(&o.other_rep, &format!("/request {a} 替孙销售跟进展会订单")).await;
    assert!(sent.text.contains("申请 #1"), "{}", sent.text);
    app.deliver().await;
    let ask = app.telegram.sent_to(o.service_manager.id).pop().unwrap();
    assert!(ask.text.contains("周销售") && ask.text.contains("替孙销售跟进展会订单"), "{}", ask.text);
    // Only the service manager decides, and only once.
    app.telegram.push_callback(&o.other_rep, ask.message_id, "ar:1:yes");
    assert!(
        app.replies(o.other_rep.id, app.telegram.sent_to(o.other_rep.id).len(), 1).await[0]
            .text
            .contains("只有客户服务部经理")
    );
    app.telegram.push_callback(&o.service_manager, ask.message_id, "ar:1:yes");
    app.replies(o.service_manager.id, app.telegram.sent_to(o.service_manager.id).len(), 1).await;
    app.deliver().await;
    let granted = app.telegram.sent_to(o.other_rep.id).pop().unwrap();
    assert!(
        granted.text.contains("已由吴客服经理批准") && granted.text.contains("2026-11-26 00:00"),
        "{}",
        granted.text
    );
    app.telegram.push_callback(&o.service_manager, ask.message_id, "ar:1:no");
    assert!(
        app.replies(o.service_manager.id, app.telegram.sent_to(o.service_manager.id).len(), 1).await[0]
            .text
            .contains("已处理过")
    );

    // Read, not edit; never A-tier confidential data.
    let card = app.say(&o.other_rep, &format!("/customer {a}")).await;
    assert!(card.text.contains("021-6888 1234") && !card.text.contains("AAA"), "{}", card.text);
    assert!(app.say(&o.other_rep, &format!("/call {a} 跟进")).await.text.contains("无权"));
    // The next day it is gone.
    app.set_time("2026-11-26 08:00");
    assert!(app.say(&o.other_rep, &format!("/customer {a}")).await.text.contains("没有找到"));
}

#[tokio::test]
async fn a_handover_confirmed_by_both_heads_moves_customers_and_their_reminders() {
    let app = spawn_app_at("2026-11-25 10:00").await;
    let o = office(&app).await;
    let a = customer_with_secrets(&app, "甲级客户", Tier::A).await;
    let b = customer_with_secrets(&app, "乙级客户", Tier::B).await;

    // A rep cannot start one; a manager can.
    assert!(app.say(&o.rep, "/handover 9001 9004 all").await.text.contains("不能发起"));
    let proposed = app.say(&o.manager, "/handover 9001 9004 all leave").await;
    assert!(proposed.text.contains("交接 #1") && proposed.text.contains("2 个客户"), "{}", proposed.text);
    app.deliver().await;
    // Asked: the department head (the rep's manager) and the service head; nobody else.
    for head in [&o.manager, &o.service_manager] {
        assert!(
            app.telegram
                .sent_to(head.id)
                .iter()
                .any(|m| m.text.contains("客户交接 #1") && m.text.contains("未完成任务 0 项"))
        );
    }
    assert!(!app.telegram.sent_to(o.service.id).iter().any(|m| m.text.contains("客户交接")));
    app.telegram.push_callback(&o.service, 1, "ho:1:yes");
    assert!(app.replies(o.service.id, 0, 1).await[0].text.contains("不能发起或确认"));

    let first = app.telegram.sent_to(o.manager.id).into_iter().rev().find(|m| m.text.contains("客户交接 #1")).unwrap();
    app.telegram.push_callback(&o.manager, first.message_id, "ho:1:yes");
    assert!(
        app.replies(o.manager.id, app.telegram.sent_to(o.manager.id).len(), 1).await[0].text.contains("等待另一位")
    );
    // Until both confirm, nothing moves.
    assert!(app.say(&o.other_rep, &format!("/customer {b}")).await.text.contains("没有找到"));
    let second =
        app.telegram.sent_to(o.service_manager.id).into_iter().rev().find(|m| m.text.contains("客户交接 #1")).unwrap();
    app.telegram.push_callback(&o.service_manager, second.message_id, "ho:1:yes");
    assert!(
        app.replies(o.service_manager.id, app.telegram.sent_to(o.service_manager.id).len(), 1).await[0]
            .text
            .contains("已完成")
    );
    app.deliver().await;
    assert!(app.telegram.sent_to(o.other_rep.id).iter().any(|m| m.text.contains("已交接给您") && m.text.contains(&a)));

    // The new owner has them (A-tier operational data included); the old one is deactivated.
    let card = app.say(&o.other_rep, &format!("/customer {a}")).await;
    assert!(card.text.contains("负责人：周销售"), "{}", card.text);
    assert!(app.say(&o.rep, "/customers").await.text.contains("已停用"));
    // Tomorrow's digest goes to the new owner.
    app.tick_at("2026-11-26 09:00").await;
    assert!(app.telegram.sent_to(o.other_rep.id).iter().any(|m| m.text.contains("客户联络提醒")));
    assert!(!app.telegram.sent_to(o.rep.id).iter().any(|m| m.text.contains("客户联络提醒")));
    // Each reassignment is recorded, with who confirmed it last.
    let mut conn = app.ctx.db.pool().acquire().await.unwrap();
    let changes =
        guanxi::storage::changes::between(&mut conn, app.now() - chrono::Duration::days(2), app.now()).await.unwrap();
    let moved: Vec<_> = changes.iter().filter(|c| c.field == "owner").collect();
    assert_eq!(moved.len(), 2);
    assert!(moved.iter().all(|c| c.old_value.as_deref() == Some("孙销售") && c.new_value.as_deref() == Some("周销售")));
    assert!(moved.iter().any(|c| c.archive_no == b));
}

#[tokio::test]
async fn hostile_input_is_answered_and_stored_verbatim() {
    let app = spawn_app_at("2026-11-25 10:00").await;
    let o = office(&app).await;
    let b = customer_with_secrets(&app, "乙级客户", Tier::B).await;
    let nasty = [
        "'; DROP TABLE customers; --",
        "Robert\u{7}\u{1b}[31m控制字符\u{8}结束",
        "<b>html</b> *markdown* _v2_ [link](http://x) {name} \\",
        "مرحبا بالعالم \u{202e} right-to-left 🎉👨\u{200d}👩\u{200d}👧",
    ];
    for (i, notes) in nasty.iter().enumerate() {
        let reply = app.say(&o.rep, &format!("/call {b} {notes}")).await;
        assert!(reply.text.contains("已记录与"), "{i}: {}", reply.text);
    }
    // A 4096-character note is accepted and kept whole; the card splits rather than truncates.
    let long = "长".repeat(4000);
    assert!(app.say(&o.rep, &format!("/visit {b} {long}")).await.text.contains("已记录对"));
    // NUL cannot be stored by PostgreSQL: the message is refused whole, with a reason.
    let refused = app.say(&o.rep, &format!("/call {b} 带\u{0}空字符")).await;
    assert!(refused.text.contains("无法保存"), "{}", refused.text);
    let mut conn = app.ctx.db.pool().acquire().await.unwrap();
    let record = guanxi::storage::customers::find(&mut conn, &b, None, 1).await.unwrap().remove(0);
    let stored = guanxi::storage::interactions::latest(&mut conn, record.customer.id, 10).await.unwrap();
    drop(conn);
    assert_eq!(stored[0].notes, long);
    for notes in nasty {
        assert!(stored.iter().any(|i| i.notes == notes), "{notes:?} not stored verbatim");
    }
    assert_eq!(app.say(&o.rep, "/customers").await.text.matches("KH-").count(), 1, "the table is still there");
    // A 4096-character message that is not a command still gets an answer.
    assert!(app.say(&o.rep, &"字".repeat(4096)).await.text.contains("/help"));
    let _ = &o.service;
}

#[tokio::test]
async fn exports_go_only_to_the_requester_and_a_tier_needs_two_approvals() {
    let app = spawn_app_at("2026-11-25 10:00").await;
    let o = office(&app).await;
    let a = customer_with_secrets(&app, "甲级客户", Tier::A).await;
    let b = customer_with_secrets(&app, "乙级客户", Tier::B).await;
    {
        let director = {
            let mut conn = app.ctx.db.pool().acquire().await.unwrap();
            guanxi::storage::staff::by_telegram_id(&mut conn, guanxi::domain::ids::TelegramUserId(9003))
                .await
                .unwrap()
                .unwrap()
        };
        let mut conn = app.ctx.db.pool().acquire().await.unwrap();
        let mut marketing: Department = departments::get(&mut conn, "marketing").await.unwrap().unwrap();
        marketing.head = Some(director.id);
        departments::upsert(&mut conn, &marketing).await.unwrap();
    }

    // At once: operational data of what the rep may read, without A-tier customers.
    let sent = app.say(&o.rep, "/export").await;
    assert!(sent.text.contains("已导出 1 个客户"), "{}", sent.text);
    let body = last_export(&app).await;
    assert!(body.starts_with("# 客户资料导出，导出人 孙销售（9001），时间 2026-11-25 10:00"), "{body}");
    assert!(body.contains(&b) && !body.contains(&a) && !body.contains("AAA"), "{body}");
    let documents = app.telegram.documents();
    assert_eq!(documents.len(), 1);
    assert_eq!(documents[0].chat_id, 9001);
    assert!(documents[0].file_name.as_deref().unwrap().starts_with("customers-9001-20261125-1000"));

    // With A-tier data: the department head and the marketing director must both approve.
    assert!(app.say(&o.rep, "/export full").await.text.contains("导出申请 #1"));
    app.deliver().await;
    let director = TgUser::new(9003, "赵");
    for approver in [&o.manager, &director] {
        assert!(app.telegram.sent_to(approver.id).iter().any(|m| m.text.contains("导出申请 #1")));
    }
    app.telegram.push_callback(&o.service, 1, "ex:1:yes");
    assert!(app.replies(o.service.id, 0, 1).await[0].text.contains("不能"));
    let before = app.telegram.sent_to(o.manager.id).len();
    app.telegram.push_callback(&o.manager, 1, "ex:1:yes");
    assert!(app.replies(o.manager.id, before, 1).await[0].text.contains("等待另一位"));
    assert_eq!(app.telegram.documents().len(), 1, "not before both approved");
    let before = app.telegram.sent_to(director.id).len();
    app.telegram.push_callback(&director, 1, "ex:1:yes");
    assert!(app.replies(director.id, before, 1).await[0].text.contains("已获两人批准"));
    app.deliver().await;
    let documents = app.telegram.documents();
    assert_eq!(documents.len(), 2);
    assert_eq!(documents[1].chat_id, 9001, "the file goes to the requester only");
    let body = last_export(&app).await;
    assert!(body.contains(&a) && body.contains("credit_rating"), "{body}");
    // Even approved, the rep's file carries no A-tier confidential value they may not read;
    // the B-tier ones they keep are there.
    assert_eq!(body.matches("AAA").count(), 1, "{body}");
    let audit = app.say(&o.manager, &format!("/audit {a}")).await;
    assert!(audit.text.contains("export (approved)"), "{}", audit.text);
}

async fn last_export(app: &TestApp) -> String {
    app.outbox()
        .await
        .into_iter()
        .rev()
        .find(|r| r.idem_key.starts_with("export:"))
        .map(|r| r.body)
        .expect("an export file")
}

#[tokio::test]
async fn prospects_without_a_deal_are_purged_after_approval_keeping_only_counts() {
    let app = spawn_app_at("2026-01-05 10:00").await;
    let o = office(&app).await;
    let csv = "name,tier,region,owner_telegram_id,phone,last_call_on,last_visit_on,status\n\
               沉睡公司,C,华北,9001,13800000001,,,prospect\n\
               转化公司,C,华北,9001,13800000002,,,prospect\n\
               老客户,B,华北,9001,13800000003,,,customer\n";
    assert_eq!(guanxi::services::import::import_csv(&app.ctx, csv.as_bytes()).await.unwrap(), 3);
    app.say(&o.rep, "/birthday 沉睡公司 刘经理 05-20").await;

    // Not a year yet: no list.
    app.tick_at("2027-01-04 09:00").await;
    assert!(!app.telegram.sent_to(o.manager.id).iter().any(|m| m.text.contains("潜在客户清理")));
    // The first round of February: both prospects are listed for the managers, once.
    app.tick_at("2027-02-01 09:00").await;
    app.tick_at("2027-02-02 09:00").await;
    let asks: Vec<_> =
        app.telegram.sent_to(o.manager.id).into_iter().filter(|m| m.text.contains("潜在客户清理")).collect();
    assert_eq!(asks.len(), 1);
    assert!(
        asks[0].text.contains("沉睡公司") && asks[0].text.contains("转化公司") && !asks[0].text.contains("老客户"),
        "{}",
        asks[0].text
    );
    // One of them makes a deal before the decision and is kept.
    assert!(app.say(&o.rep, "/deal 转化公司").await.text.contains("已成交"));
    assert!(app.say(&o.rep, "/deal 老客户").await.text.contains("不是潜在客户"));
    // (January's look found nothing: list #1 is empty.) A rep cannot approve; a manager can, once.
    app.telegram.push_callback(&o.rep, asks[0].message_id, "pg:2:yes");
    assert!(app.replies(o.rep.id, app.telegram.sent_to(o.rep.id).len(), 1).await[0].text.contains("不能"));
    let before = app.telegram.sent_to(o.manager.id).len();
    app.telegram.push_callback(&o.manager, asks[0].message_id, "pg:2:yes");
    assert!(app.replies(o.manager.id, before, 1).await[0].text.contains("删除了 1 个"));
    let before = app.telegram.sent_to(o.service_manager.id).len();
    app.telegram.push_callback(&o.service_manager, 1, "pg:2:yes");
    assert!(app.replies(o.service_manager.id, before, 1).await[0].text.contains("已处理过"));

    // The personal data is gone; the count remains.
    assert!(app.say(&o.manager, "/customer 沉睡公司").await.text.contains("没有找到"));
    assert!(app.say(&o.manager, "/customer 转化公司").await.text.contains("13800000002"));
    let mut conn = app.ctx.db.pool().acquire().await.unwrap();
    assert_eq!(guanxi::storage::customers::purged_count(&mut conn).await.unwrap(), 1);
    let purged =
        guanxi::storage::customers::by_id(&mut conn, guanxi::domain::ids::CustomerId(1)).await.unwrap().unwrap();
    assert_eq!((purged.customer.name.as_str(), purged.customer.fields.phone.as_deref()), ("KH-000001", None));
    assert!(guanxi::storage::contacts::of_customer(&mut conn, purged.customer.id).await.unwrap().is_empty());
}
