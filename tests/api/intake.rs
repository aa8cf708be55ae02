//! New complaints group-committed (`services::intake`): complaints submitted at the same
//! moment share one transaction, and each still gets what one complaint alone gets.

use guanxi::domain::complaint::Intake;
use guanxi::domain::customer::{CardFields, Tier};
use guanxi::domain::staff::Role;
use guanxi::services::intake::Submission;
use guanxi::storage::complaints::{self as store, ComplaintForm, Origin};
use guanxi::storage::update_io::{DialogueChange, Ending};

use crate::helpers::{TestApp, TgUser, spawn_app_at};

fn form(company: &str, phone: &str) -> ComplaintForm {
    ComplaintForm {
        customer_name: company.into(),
        contact_phone: Some(phone.into()),
        description: "到货有破损".into(),
        request: "补发".into(),
        ..ComplaintForm::default()
    }
}

fn by_customer(app: &TestApp, chat: i64, form: ComplaintForm, draft: Option<&str>) -> Submission {
    Submission {
        origin: Origin {
            intake: Intake::Telegram,
            submitter_chat_id: Some(chat),
            submitter_locale: Some("zh-CN".into()),
            recorded_by: None,
        },
        form,
        attachments: Vec::new(),
        draft_of: draft.map(|state| (chat, state.to_owned())),
        now: app.now(),
    }
}

/// Store `state` as `chat`'s dialogue state, as a handled update would.
async fn store_draft(app: &TestApp, update_id: i64, chat: i64, state: &str) {
    let ending =
        Ending { update_id, now: app.now(), chat, dialogue: DialogueChange::Set(state.into()), replies: Vec::new() };
    app.ctx.update_io.finish(ending).await.unwrap();
}

#[tokio::test]
async fn complaints_submitted_together_are_each_matched_numbered_recorded_and_announced() {
    let app = spawn_app_at("2026-11-25 12:00").await;
    app.add_staff(8001, "客服甲", Role::Service, None, None).await;
    let recorder = app.add_staff(8002, "客服乙", Role::Service, None, None).await;
    let owner = app.add_staff(8300, "销售", Role::Rep, None, None).await;
    let by_name = app.add_customer("长江电子有限公司", Tier::B, &owner).await;
    let phone_fields = CardFields { phone: Some("0571-8888 1234".into()), ..CardFields::default() };
    let by_phone = guanxi::services::customers::create(
        &app.ctx,
        "黄河机械",
        Tier::C,
        Some(owner.id),
        phone_fields,
        None,
        app.now(),
    )
    .await
    .unwrap();
    store_draft(&app, 1, 7003, "\"draft\"").await;

    let intake = &app.ctx.intake;
    let mut by_staff = by_customer(&app, 0, form("外来公司", "13900000000"), None);
    by_staff.origin = Origin {
        intake: Intake::Phone,
        submitter_chat_id: None,
        submitter_locale: None,
        recorded_by: Some(recorder.id),
    };
    // All reach the intake before it runs: one batch.
    let (a, b, c, d, twice) = tokio::join!(
        intake.submit(by_customer(&app, 7001, form("长江电子有限公司", "13800000000"), None)),
        intake.submit(by_customer(&app, 7002, form("黄河", "0571 88881234"), None)),
        intake.submit(by_customer(&app, 7003, form("无名公司", "13700000000"), Some("\"draft\""))),
        intake.submit(by_staff),
        intake.submit(by_customer(&app, 7003, form("无名公司", "13700000000"), Some("\"draft\""))),
    );
    let recorded = [a, b, c, d].map(|r| r.unwrap().expect("recorded"));
    assert!(twice.unwrap().is_none(), "a draft is consumed once, by the first submission");
    // Each customer's acceptance comes back claimed for their update to send; the phone
    // complaint has no customer chat.
    let accepted: Vec<Option<String>> =
        recorded.iter().map(|r| r.acceptance.as_ref().map(|(row, _)| row.recipient.clone())).collect();
    assert_eq!(accepted, [Some("7001".into()), Some("7002".into()), Some("7003".into()), None]);
    let [a, b, c, d] = recorded.map(|r| r.complaint);

    assert_eq!(a.customer_id, Some(by_name.customer.id), "matched by exact name");
    assert_eq!(b.customer_id, Some(by_phone.customer.id), "matched by phone digits");
    assert_eq!((c.customer_id, d.customer_id), (None, None));
    let numbers: Vec<&str> = [&a, &b, &c, &d].iter().map(|c| c.number.as_str()).collect();
    assert_eq!(numbers, ["TS-20261125-0001", "TS-20261125-0002", "TS-20261125-0003", "TS-20261125-0004"]);

    let mut conn = app.ctx.db.pool().acquire().await.unwrap();
    for complaint in [&a, &b, &c, &d] {
        let events = store::events(&mut conn, complaint.id).await.unwrap();
        let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(kinds, ["received"], "{}", complaint.number);
    }
    assert_eq!(store::events(&mut conn, d.id).await.unwrap()[0].actor, "staff");
    drop(conn);
    let keys: Vec<String> = app.outbox().await.into_iter().map(|r| r.idem_key).collect();
    // The customer's acceptance and the alerts to both service staff; the member of staff who
    // recorded the phone complaint is not alerted about their own step.
    for (complaint, chats) in
        [(&a, &[7001, 8001, 8002][..]), (&b, &[7002, 8001, 8002]), (&c, &[7003, 8001, 8002]), (&d, &[8001])]
    {
        for chat in chats {
            let key = format!("complaint:{}:received:{chat}", complaint.number);
            assert!(keys.contains(&key), "{key} missing from {keys:#?}");
        }
    }
    assert!(!keys.contains(&format!("complaint:{}:received:8002", d.number)));
    let sending: Vec<String> =
        app.outbox().await.into_iter().filter(|r| r.status == "sending").map(|r| r.recipient).collect();
    assert_eq!(sending, ["7001", "7002", "7003"], "only the acceptances are claimed");
}

#[tokio::test]
async fn a_batch_whose_drafts_were_all_consumed_records_nothing() {
    let app = spawn_app_at("2026-11-25 12:00").await;
    app.add_staff(8001, "客服甲", Role::Service, None, None).await;
    let gone = by_customer(&app, 7001, form("某公司", "13800000000"), Some("\"never stored\""));
    assert!(app.ctx.intake.submit(gone).await.unwrap().is_none());
    assert!(app.outbox().await.is_empty());
    let mut conn = app.ctx.db.pool().acquire().await.unwrap();
    assert!(store::open(&mut conn).await.unwrap().is_empty());
}

/// The message under which `data` was offered to `chat`, newest first.
fn offered(app: &TestApp, chat: i64, data: &str) -> i32 {
    let sent = app.telegram.sent_to(chat);
    let found = sent
        .iter()
        .rev()
        .find(|m| m.reply_markup.as_ref().is_some_and(|k| k.to_string().contains(&format!("\"{data}\""))));
    found.unwrap_or_else(|| panic!("no button {data} was offered to {chat}: {sent:#?}")).message_id
}

#[tokio::test]
async fn the_customers_own_update_sends_the_acceptance() {
    let app = spawn_app_at("2026-11-25 12:00").await;
    app.add_staff(8001, "客服甲", Role::Service, None, None).await;
    let customer = TgUser::new(6001, "王先生");
    app.say(&customer, "/complain").await;
    for answer in ["某机械公司", "-", "联系人", "13800138000", "质量问题", "退货"] {
        app.say(&customer, answer).await;
    }
    let done = offered(&app, customer.id, "form:done");
    let before = app.telegram.sent_to(customer.id).len();
    app.telegram.push_callback(&customer, done, "form:done");
    app.replies(customer.id, before, 1).await;

    let submit = offered(&app, customer.id, "form:submit");
    let before = app.telegram.sent_to(customer.id).len();
    app.telegram.push_callback(&customer, submit, "form:submit");
    // No sender runs from here on: the acceptance can only come from the update's handler.
    let sent = app.telegram.wait_for_sent_to(customer.id, before + 1).await;
    assert!(sent[before].text.contains("TS-20261125-0001"), "{}", sent[before].text);
    // The alert to staff is left to the senders.
    assert!(app.telegram.sent_to(8001).is_empty());
    assert_eq!(app.deliver().await, 1);
    assert_eq!(app.telegram.sent_to(8001).len(), 1);
}
