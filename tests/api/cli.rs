//! The `guanxi` binary as an operator uses it: exit codes, staff, import/export, tick.

use std::path::Path;
use std::process::Output;

use guanxi::domain::customer::Tier;
use tokio::process::Command;

use crate::helpers::app::{TOKEN, team};
use crate::helpers::db;
use crate::helpers::fake_telegram::FakeTelegram;
use crate::helpers::process::{Env, Guanxi};
use crate::helpers::spawn_app;

async fn guanxi(env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_guanxi"));
    cmd.args(args).env_clear().env("PATH", std::env::var("PATH").unwrap_or_default()).env("GUANXI_LOG", "warn");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().await.expect("the binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test]
async fn invalid_configuration_names_the_key_and_exits_with_2() {
    let database = db::fresh().await;
    let out = guanxi(&[("DATABASE_URL", &database.url), ("GUANXI_TIMEZONE", "Mars/Olympus")], &["migrate"]).await;
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("GUANXI_TIMEZONE") && stderr.contains("Mars/Olympus"), "{stderr}");

    let out = guanxi(&[("DATABASE_URL", &database.url)], &["run"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("TELOXIDE_TOKEN"), "{}", text(&out.stderr));

    let out = guanxi(&[("DATABASE_URL", &database.url)], &["staff", "add", "--telegram-id", "x"]).await;
    assert_eq!(out.status.code(), Some(2));
}

#[tokio::test]
async fn staff_are_added_listed_and_invited_from_the_command_line() {
    let database = db::fresh().await;
    let env = [("DATABASE_URL", database.url.as_str())];
    let out = guanxi(
        &env,
        &[
            "staff",
            "add",
            "--telegram-id",
            "100",
            "--name",
            "管理员",
            "--role",
            "admin",
            "--email",
            "admin@corp.example",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = guanxi(
        &env,
        &["staff", "add", "--telegram-id", "101", "--name", "经理", "--role", "manager", "--manager", "100"],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // Duplicates and unknown managers are bad input.
    let out = guanxi(&env, &["staff", "add", "--telegram-id", "100", "--name", "又是我", "--role", "rep"]).await;
    assert_eq!(out.status.code(), Some(2));
    let out =
        guanxi(&env, &["staff", "add", "--telegram-id", "102", "--name", "新人", "--role", "rep", "--manager", "999"])
            .await;
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("999"));

    let list = text(&guanxi(&env, &["staff", "list"]).await.stdout);
    assert!(list.contains("100\tadmin\t管理员\t\tadmin@corp.example\tyes"), "{list}");
    assert!(list.contains("101\tmanager\t经理\t100\t"), "{list}");

    let out = guanxi(&env, &["staff", "invite", "--role", "rep", "--manager", "101"]).await;
    assert_eq!(out.status.code(), Some(0));
    let code = text(&out.stdout).trim().to_owned();
    assert_eq!(code.len(), 10, "{code}");
}

fn write(dir: &Path, name: &str, body: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, body).unwrap();
    path.display().to_string()
}

#[tokio::test]
async fn a_bad_import_row_is_named_and_nothing_is_imported_then_a_good_file_round_trips() {
    let database = db::fresh().await;
    let env = [("DATABASE_URL", database.url.as_str())];
    guanxi(&env, &["staff", "add", "--telegram-id", "200", "--name", "李", "--role", "rep"]).await;
    let dir = tempfile::tempdir().unwrap();
    let header = "name,tier,region,owner_telegram_id,phone,last_call_on,last_visit_on\n";

    let bad = write(
        dir.path(),
        "bad.csv",
        &format!("{header}甲公司,A,华东,200,13800138000,2026-01-02,\n乙公司,D,华南,200,,,\n"),
    );
    let out = guanxi(&env, &["customers", "import", &bad]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("line 3") && text(&out.stderr).contains("tier"), "{}", text(&out.stderr));
    let bad_date = write(dir.path(), "bad_date.csv", &format!("{header}甲公司,A,华东,200,,2026-13-01,\n"));
    let out = guanxi(&env, &["customers", "import", &bad_date]).await;
    assert!(text(&out.stderr).contains("line 2") && text(&out.stderr).contains("last_call_on"));
    let unknown_owner = write(dir.path(), "owner.csv", &format!("{header}甲公司,A,华东,999,,,\n"));
    assert_eq!(guanxi(&env, &["customers", "import", &unknown_owner]).await.status.code(), Some(2));
    let empty = text(&guanxi(&env, &["customers", "export", "--as", "200"]).await.stdout);
    assert_eq!(empty.lines().count(), 1, "nothing was imported: {empty}");

    let good = write(
        dir.path(),
        "good.csv",
        &format!(
            "{header}\"甲公司, 上海\",B,华东,200,13800138000,2026-01-02,2025-12-01\n乙公司,c,华南,200,,,\n丙公司,A,华北,200,,,\n"
        ),
    );
    let out = guanxi(&env, &["customers", "import", &good]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("imported 3"));
    let exported = guanxi(&env, &["customers", "export", "--as", "200"]).await;
    let export = text(&exported.stdout);
    // The A-tier customer needs the two-approval export.
    assert!(text(&exported.stderr).contains("1 A-tier customers left out"), "{}", text(&exported.stderr));
    let lines: Vec<&str> = export.lines().collect();
    assert_eq!(lines.len(), 3, "{export}");
    assert!(lines[0].starts_with("archive_no,name,tier,region,owner_telegram_id,phone"));
    // B-tier: call a week after the last call, visit three months after the last visit.
    assert!(lines[1].starts_with("KH-000001,\"甲公司, 上海\",B,华东,200,13800138000"), "{}", lines[1]);
    assert!(lines[1].ends_with("2026-01-02,2025-12-01,2026-01-09,2026-03-01"), "{}", lines[1]);
    assert!(lines[2].starts_with("KH-000002,乙公司,C,华南,200,"), "{}", lines[2]);

    // The export is in the access log; the export imports again (into another archive) unchanged.
    let audit = text(&guanxi(&env, &["audit", "--customer", "KH-000001"]).await.stdout);
    assert!(audit.lines().nth(1).is_some_and(|l| l.ends_with("\t200\t李\texport\tpublic,internal")), "{audit}");
    assert!(!text(&guanxi(&env, &["audit", "--customer", "KH-000003"]).await.stdout).contains("export"));
    let other = db::fresh().await;
    let other_env = [("DATABASE_URL", other.url.as_str())];
    guanxi(&other_env, &["staff", "add", "--telegram-id", "200", "--name", "李", "--role", "rep"]).await;
    let exported = write(dir.path(), "export.csv", &export);
    assert_eq!(guanxi(&other_env, &["customers", "import", &exported]).await.status.code(), Some(0));
    let again = text(&guanxi(&other_env, &["customers", "export", "--as", "200"]).await.stdout);
    assert_eq!(again, export);
}

#[tokio::test]
async fn tick_dry_run_prints_and_stores_nothing_while_tick_sends() {
    let app = spawn_app().await;
    let t = team(&app).await;
    app.add_customer("试运行公司", Tier::A, &t.rep).await;
    let telegram = FakeTelegram::start().await;
    let mail_dir = tempfile::tempdir().unwrap();
    let api_url = telegram.api_url();
    let env = [
        ("DATABASE_URL", app.db.url.as_str()),
        ("TELOXIDE_TOKEN", TOKEN),
        ("TELOXIDE_API_URL", api_url.as_str()),
        ("GUANXI_MAIL_DIR", mail_dir.path().to_str().unwrap()),
    ];
    // Thursday 09:30 Beijing time: the digest and the manager's escalation are owed.
    let out = guanxi(&env, &["tick", "--now", "2026-01-08T09:30:00+08:00", "--dry-run"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("2 messages would be sent"), "{stdout}");
    assert!(stdout.contains("试运行公司") && stdout.contains("manager@corp.example"), "{stdout}");
    assert!(app.outbox().await.is_empty(), "a dry run stores nothing");
    assert!(telegram.sent().is_empty());

    let out = guanxi(&env, &["tick", "--now", "2026-01-08T09:30:00+08:00"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("delivered 2"), "{}", text(&out.stdout));
    assert_eq!(telegram.sent_to(t.rep.telegram_id.0).len(), 1);
    // Without SMTP the e-mail is an .eml file in the mail folder.
    let files: Vec<_> = std::fs::read_dir(mail_dir.path()).unwrap().collect();
    assert_eq!(files.len(), 1);
    // Again: nothing new.
    let out = guanxi(&env, &["tick", "--now", "2026-01-08T09:45:00+08:00"]).await;
    assert!(text(&out.stdout).contains("delivered 0"), "{}", text(&out.stdout));
    assert_eq!(telegram.sent().len(), 1);
    // No secret in anything the binary printed.
    for output in [text(&out.stdout), text(&out.stderr)] {
        assert!(!output.contains("TEST-TOKEN"), "{output}");
    }
}

#[tokio::test]
async fn guanxi_run_serves_the_bot_until_sigterm_and_logs_no_secrets() {
    let database = db::fresh().await;
    let telegram = FakeTelegram::start().await;
    let mail_dir = tempfile::tempdir().unwrap();
    let api_url = telegram.api_url();
    let db_env = [("DATABASE_URL", database.url.as_str())];
    let out = guanxi(&db_env, &["staff", "add", "--telegram-id", "300", "--name", "管理员", "--role", "admin"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));

    let env = Env::bare()
        .set("GUANXI_LOG", "debug,hyper=info,reqwest=info")
        .set("DATABASE_URL", &database.url)
        .set("TELOXIDE_TOKEN", TOKEN)
        .set("TELOXIDE_API_URL", &api_url)
        .set("GUANXI_MAIL_DIR", &mail_dir.path().to_string_lossy());
    let mut child = Guanxi::spawn("guanxi run", &env, &["run"]);

    // The production task set: the background worker answers without any help from the test.
    let admin = crate::helpers::TgUser::new(300, "管");
    telegram.push_text(&admin, "/help");
    // On the real clock the admin may also be told, unasked, to import next year's holidays
    // (from December on): look for the answer among what the chat got.
    let answered = async {
        for count in 1.. {
            let got = telegram.wait_for_sent_to(300, count).await;
            if got.iter().any(|m| m.text.contains("/newcustomer")) {
                return;
            }
        }
    };
    if tokio::time::timeout(std::time::Duration::from_secs(8), answered).await.is_err() {
        let _ = child.kill9().await;
        panic!(
            "no answer to /help from guanxi run; the chat got {:#?}\nits log:\n{}",
            telegram.sent_to(300),
            child.stderr()
        );
    }
    assert_eq!(telegram.calls("setMyCommands"), 3, "customer menus (2) and the admin's staff menu");

    // Within the app's own grace for a stop, and a margin.
    let status = child.terminate(guanxi::startup::SHUTDOWN_GRACE + std::time::Duration::from_secs(5)).await;
    let logs = child.stderr();
    assert_eq!(status.code(), Some(0), "{logs}");
    assert!(logs.contains("shutting down"), "{logs}");
    assert!(!logs.contains("TEST-TOKEN"), "the bot token leaked into the logs");
}

#[tokio::test]
async fn duty_departments_and_the_complaint_report_from_the_command_line() {
    let database = db::fresh().await;
    let env = [("DATABASE_URL", database.url.as_str())];
    for (id, name, role) in [("400", "客服", "service"), ("401", "质检主管", "manager")] {
        let out = guanxi(&env, &["staff", "add", "--telegram-id", id, "--name", name, "--role", role]).await;
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    }
    // Departments: a head for quality, a new department, and a bad key.
    let out = guanxi(&env, &["departments", "set", "quality", "--head", "401"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = guanxi(&env, &["departments", "set", "logistics", "--name-zh", "物流部", "--name-en", "Logistics"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(guanxi(&env, &["departments", "set", "Bad Key", "--head", "401"]).await.status.code(), Some(2));
    assert_eq!(guanxi(&env, &["departments", "set", "newdept"]).await.status.code(), Some(2));
    let list = text(&guanxi(&env, &["departments", "list"]).await.stdout);
    assert!(list.contains("quality\t质量管理部\tQuality Management\t401\ttrue"), "{list}");
    assert!(list.contains("logistics\t物流部\tLogistics\t\ttrue"), "{list}");
    assert!(list.contains("service\t客户服务部\tCustomer Service\t\tfalse"), "{list}");

    // The duty roster.
    let out = guanxi(
        &env,
        &[
            "duty",
            "set",
            "--telegram-id",
            "400",
            "--from",
            "2026-11-25T20:00:00+08:00",
            "--until",
            "2026-11-26T08:00:00+08:00",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let at_night = text(&guanxi(&env, &["duty", "list", "--at", "2026-11-26T02:00:00+08:00"]).await.stdout);
    assert_eq!(at_night.trim(), "400\t客服\t2026-11-26 08:00");
    let by_day = text(&guanxi(&env, &["duty", "list", "--at", "2026-11-26T09:00:00+08:00"]).await.stdout);
    assert!(by_day.trim().is_empty(), "{by_day}");
    let backwards = guanxi(
        &env,
        &[
            "duty",
            "set",
            "--telegram-id",
            "400",
            "--from",
            "2026-11-26T08:00:00+08:00",
            "--until",
            "2026-11-25T08:00:00+08:00",
        ],
    )
    .await;
    assert_eq!(backwards.status.code(), Some(2));
    assert_eq!(
        guanxi(&env, &["duty", "set", "--telegram-id", "999", "--until", "2030-01-01T00:00:00Z"]).await.status.code(),
        Some(2)
    );

    // The report for an empty quarter, as text and as CSV; a bad period is bad input.
    let report = text(&guanxi(&env, &["report", "complaints", "--period", "2026-Q4"]).await.stdout);
    assert!(report.contains("客户投诉统计表 2026-Q4") && report.contains("投诉总数：0"), "{report}");
    let csv = text(&guanxi(&env, &["report", "complaints", "--period", "2026-11", "--format", "csv"]).await.stdout);
    assert!(csv.starts_with("section,key,value\nperiod,,2026-11\ntotal,,0\n"), "{csv}");
    assert_eq!(guanxi(&env, &["report", "complaints", "--period", "2026-13"]).await.status.code(), Some(2));
}
